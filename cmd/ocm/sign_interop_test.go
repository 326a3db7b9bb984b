package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/signing"
)

// The reference CLI's signatures in the shared interop archive verify: lib's
// "release" (PKCS#1 v1.5) and app's "default" (PSS), in every archive form,
// with --public-key and with a credentials consumer naming the key file; and
// they are rejected under another key, with a non-zero exit code.
func TestSignInteropReferenceSignaturesVerify(t *testing.T) {
	pub := filepath.Join(testutil.InteropDir(t), "public-key.pem")
	keyDir := t.TempDir()
	otherPriv, otherPub := filepath.Join(keyDir, "other.priv"), filepath.Join(keyDir, "other.pub")
	if out, _, err := run(t, "create", "rsakeypair", otherPriv, otherPub); err != nil || !strings.Contains(out, "created RSA key pair") {
		t.Fatalf("create rsakeypair: %v\n%s", err, out)
	}

	sigs := []struct {
		component, signature, algorithm string
	}{
		{lib + ":0.3.1+build.7", "release", signing.AlgorithmRSAPKCS1v15},
		{app + ":1.2.0", "default", signing.AlgorithmRSAPSS},
	}
	// One config naming the reference key for both signatures, one naming the other key.
	configFor := func(name, keyFile string) string {
		var creds []sgCred
		for _, s := range sigs {
			creds = append(creds, sgCred{Signature: s.signature, Algorithm: s.algorithm, Props: map[string]string{"public_key_pem_file": keyFile}})
		}
		return sgConfig(t, filepath.Join(keyDir, name), creds, nil)
	}
	goodConfig := configFor("good.ocmconfig", pub)
	badConfig := configFor("bad.ocmconfig", otherPub)
	// Relative key files resolve against the config file's directory.
	relDir := filepath.Join(keyDir, "rel")
	data, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, filepath.Join(relDir, "reference-key.pem"), data, 0o644)
	otherData, err := os.ReadFile(otherPub)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, filepath.Join(relDir, "other-key.pem"), otherData, 0o644)
	relGood := configFor("rel/good.ocmconfig", "reference-key.pem")
	relBad := configFor("rel/bad.ocmconfig", "other-key.pem")

	keyModes := []struct {
		name      string
		good, bad []string // extra arguments
	}{
		{"public-key", []string{"--public-key", pub}, []string{"--public-key", otherPub}},
		{"ocmconfig", []string{"--config", goodConfig}, []string{"--config", badConfig}},
		{"ocmconfig relative", []string{"--config", relGood}, []string{"--config", relBad}},
	}
	for _, f := range testutil.Formats {
		archive := testutil.InteropCTF(t, f)
		for _, s := range sigs {
			for _, km := range keyModes {
				t.Run(string(f)+"/"+s.signature+"/"+km.name, func(t *testing.T) {
					ref := archive + "//" + s.component
					// The interop image lives on ghcr.io, out of reach: offline.
					args := append([]string{"verify", "cv", ref, "--signature", s.signature, "--external-content=false"}, km.good...)
					out, stderr, err := run(t, args...)
					if err != nil {
						t.Fatalf("verify: %v\n%s%s", err, out, stderr)
					}
					rows := sgVerifyLines(t, out)
					want := [3]string{s.component, "signature " + s.signature + " (" + s.algorithm + ")", "verified"}
					if rows[0] != want {
						t.Fatalf("first line %q, want %q\n%s", rows[0], want, out)
					}
					for _, r := range rows[1:] {
						if r[2] != "ok" && r[2] != "not checked" {
							t.Fatalf("line %q is not ok\n%s", r, out)
						}
					}

					// Another key: rejected, exit code 1, the signature named.
					args = append([]string{"verify", "cv", ref, "--signature", s.signature}, km.bad...)
					combined, code := runBinary(t, args...)
					if code == 0 {
						t.Fatalf("verification under another key succeeded:\n%s", combined)
					}
					wantErr := `signature "` + s.signature + `": ` + s.algorithm + ` signature over the SHA-256 digest does not verify`
					if !strings.Contains(combined, wantErr) || !strings.Contains(combined, "FAILED") {
						t.Fatalf("exit %d; want output with %q and a FAILED line:\n%s", code, wantErr, combined)
					}
				})
			}
		}
	}
}
