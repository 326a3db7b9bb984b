package oci

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"oras.land/oras-go/v2/registry/remote/auth"
)

// Credentials for a plain-HTTP registry that is not on this machine come
// with one loud warning naming the host; loopback and TLS registries, and
// anonymous access, give none.
func TestWarnPlainCredentials(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	secret := func(context.Context, string) (auth.Credential, error) {
		return auth.Credential{Username: "u", Password: "s3cret"}, nil
	}
	anonymous := func(context.Context, string) (auth.Credential, error) { return auth.EmptyCredential, nil }
	for _, tt := range []struct {
		base  string
		plain bool
		cred  auth.CredentialFunc
		warn  bool
	}{
		{"http://registry.example:5000", false, secret, true},
		{"registry.example:5000", true, secret, true},
		{"registry.example:5000", false, secret, false},
		{"http://127.0.0.1:5000", false, secret, false},
		{"http://localhost:5000", true, secret, false},
		{"http://registry.example:5000", false, anonymous, false},
	} {
		buf.Reset()
		r, err := New(tt.base, "", Options{PlainHTTP: tt.plain, Credential: tt.cred})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := r.client.Credential(context.Background(), r.host); err != nil {
				t.Fatal(err)
			}
		}
		out := buf.String()
		if got := strings.Count(out, "SENDING CREDENTIALS OVER PLAIN HTTP"); got != map[bool]int{true: 1, false: 0}[tt.warn] {
			t.Errorf("%s (plain %v): %d warnings:\n%s", tt.base, tt.plain, got, out)
		}
		if strings.Contains(out, "s3cret") {
			t.Errorf("the warning repeats the password: %s", out)
		}
		if tt.warn && !strings.Contains(out, "host=registry.example:5000") {
			t.Errorf("the warning does not name the host: %s", out)
		}
	}
}
