package integrity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/repository/ocimap"
	"github.com/ocmgo/ocm/signing"
)

// igRewriteSignatures edits the stored signatures of component:version, as a
// foreign tool (GPG, sigstore) would have written them.
func igRewriteSignatures(t *testing.T, archive, component, version string, edit func([]descriptor.Signature)) {
	t.Helper()
	ctx := context.Background()
	w, err := ctf.OpenWritable(archive, ctf.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	cv, err := ocimap.New(w, "test archive").GetComponentVersion(ctx, component, version)
	if err != nil {
		t.Fatal(err)
	}
	cd := *cv.Descriptor
	cd.Signatures = append([]descriptor.Signature(nil), cd.Signatures...)
	edit(cd.Signatures)
	if _, err := ocimap.NewWriter(w).ReplaceDescriptor(ctx, cv, &cd); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// Algorithms this implementation cannot verify are named as such before
// any key is looked up: the key lookup here fails the test if it is called.
func TestVerifyUnsupportedAlgorithmBeforeKeyLookup(t *testing.T) {
	key := igKey(t)
	for _, alg := range []string{"GPG", "sigstore", "Sigstore/v1alpha1", "ECDSA-P256-unknown"} {
		t.Run(alg, func(t *testing.T) {
			archive := igBuild(t, igChain())
			if _, err := igSign(t, archive, "example.com/ig/a", "1.0.0", SignOptions{Name: "foreign", Signer: signing.Signer{Algorithm: signing.AlgorithmRSAPSS, Key: key}}); err != nil {
				t.Fatal(err)
			}
			igRewriteSignatures(t, archive, "example.com/ig/a", "1.0.0", func(s []descriptor.Signature) { s[0].Signature.Algorithm = alg })
			lookups := 0
			keys := func(descriptor.Signature) (signing.VerifyOptions, error) {
				lookups++
				return signing.VerifyOptions{}, errors.New("key lookup must not happen")
			}
			res, err := Verify(context.Background(), igOpen(t, archive), "example.com/ig/a", "1.0.0", VerifyOptions{Keys: keys})
			if err == nil || res == nil {
				t.Fatalf("verify %s: err %v, result %v; want both", alg, err, res)
			}
			want := "unsupported signature algorithm " + alg + " (signature foreign)"
			if !errors.Is(err, signing.ErrUnsupportedAlgorithm) || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q: want errors.Is ErrUnsupportedAlgorithm and %q", err, want)
			}
			var ue *signing.UnsupportedAlgorithmError
			if !errors.As(res.Signatures[0].Err, &ue) || ue.Algorithm != alg || ue.Signature != "foreign" {
				t.Fatalf("signature result %+v", res.Signatures[0])
			}
			if lookups != 0 {
				t.Fatalf("key looked up %d times before the algorithm was checked", lookups)
			}
		})
	}
}

// Verify fails closed: every failed check (signature, content, reference
// digest) comes back as a non-nil error, with the detailed result beside it.
func TestVerifyFailsClosed(t *testing.T) {
	key := igKey(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer := SignOptions{Signer: signing.Signer{Algorithm: signing.AlgorithmRSAPSS, Key: key}}
	cases := []struct {
		name   string
		key    *rsa.PrivateKey
		tamper bool
		want   string
	}{
		{"wrong key", other, false, "does not verify"},
		{"tampered content", key, true, "content digest (localReference"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			archive := igBuild(t, igChain())
			if _, err := igSign(t, archive, "example.com/ig/a", "1.0.0", signer); err != nil {
				t.Fatal(err)
			}
			if c.tamper {
				p := filepath.Join(archive, "blobs", "sha256."+digest.FromBytes([]byte("c data")).Encoded())
				if err := os.WriteFile(p, []byte("c DATA"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res, err := Verify(context.Background(), igOpen(t, archive), "example.com/ig/a", "1.0.0", VerifyOptions{Content: true, Keys: igKeys(c.key)})
			if err == nil {
				t.Fatalf("%s: Verify returned no error", c.name)
			}
			if res == nil || res.Err != err || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%s: err %v, result %+v; want %q with the result", c.name, err, res, c.want)
			}
			if len(res.Versions) == 0 || len(res.Signatures) != 1 {
				t.Fatalf("%s: details missing: %+v", c.name, res)
			}
		})
	}
}
