package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
)

// Signatures made with algorithms we cannot verify are reported as such by
// verify cv and download --verify, before any key is looked up: without a
// key the message is about the algorithm, not a missing key.
func TestVerifyUnsupportedSignatureAlgorithm(t *testing.T) {
	for _, alg := range []string{"GPG", "X-Unknown"} {
		t.Run(alg, func(t *testing.T) {
			archive := testutil.InteropCTF(t, testutil.Dir)
			sgReplace(t, archive, lib, "0.3.1+build.7", func(cd *descriptor.Descriptor) {
				for i := range cd.Signatures {
					if cd.Signatures[i].Name == "release" {
						cd.Signatures[i].Signature.Algorithm = alg
					}
				}
			})
			want := "unsupported signature algorithm " + alg + " (signature release)"
			ref := archive + "//" + lib + ":0.3.1+build.7"
			_, _, err := run(t, "--config", emptyConfig(t), "verify", "cv", ref, "--signature", "release")
			if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "no public key") {
				t.Fatalf("verify cv: got %v, want %q", err, want)
			}
			out := filepath.Join(t.TempDir(), "notes")
			_, _, err = run(t, "--config", emptyConfig(t), "download", "resource", ref, "--identity", "name=notes", "--output", out, "--verify", "--signature", "release")
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("download --verify: got %v, want %q", err, want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatal("output written although the signature could not be verified")
			}
		})
	}
}

// A signature that claims a Sigstore algorithm but carries an RSA value is
// refused by its media type, before any trusted root is looked up.
func TestVerifySigstoreAlgorithmWithForeignMediaType(t *testing.T) {
	for _, alg := range []string{"sigstore", "Sigstore/v1alpha1"} {
		t.Run(alg, func(t *testing.T) {
			archive := testutil.InteropCTF(t, testutil.Dir)
			sgReplace(t, archive, lib, "0.3.1+build.7", func(cd *descriptor.Descriptor) {
				for i := range cd.Signatures {
					if cd.Signatures[i].Name == "release" {
						cd.Signatures[i].Signature.Algorithm = alg
					}
				}
			})
			want := `signature media type "application/vnd.ocm.signature.rsa" is not the Sigstore bundle's`
			ref := archive + "//" + lib + ":0.3.1+build.7"
			_, _, err := run(t, "--config", emptyConfig(t), "verify", "cv", ref, "--signature", "release")
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("verify cv: got %v, want %q", err, want)
			}
			out := filepath.Join(t.TempDir(), "notes")
			_, _, err = run(t, "--config", emptyConfig(t), "download", "resource", ref, "--identity", "name=notes", "--output", out, "--verify", "--signature", "release")
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("download --verify: got %v, want %q", err, want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatal("output written although the signature could not be verified")
			}
		})
	}
}
