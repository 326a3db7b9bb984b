package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/signing"
)

// --dry-run prints the signature and leaves the archive byte-identical;
// signing a second time under the same name fails (changing nothing) unless
// --force, which replaces that signature and keeps the others. In every
// archive form.
func TestSignDryRunAndForce(t *testing.T) {
	const comp = "example.com/chain/app:2.0.0"
	dir := t.TempDir()
	priv, pub := sgKeyFiles(t, dir, "plain", sgKey(t, sgKeyPlain))
	cfg := sgConfig(t, filepath.Join(dir, "sign.ocmconfig"), []sgCred{
		{Signature: "default", Algorithm: signing.AlgorithmRSAPSS, Props: map[string]string{"private_key_pem_file": priv}},
		{Signature: "default", Algorithm: signing.AlgorithmRSAPKCS1v15, Props: map[string]string{"private_key_pem_file": priv}},
		{Signature: "other", Algorithm: signing.AlgorithmRSAPSS, Props: map[string]string{"private_key_pem_file": priv}},
	}, nil)
	pkcs1Spec := filepath.Join(dir, "pkcs1.yaml")
	testutil.WriteFile(t, pkcs1Spec, []byte("type: RSASigningConfiguration/v1alpha1\nsignatureAlgorithm: RSASSA-PKCS1-V1_5\n"), 0o644)

	for _, form := range []string{"ctf", "ctf.tar", "ctf.tgz"} {
		t.Run(form, func(t *testing.T) {
			archive := sgBuild(t, sgChainConstructor, map[string]string{"readme.txt": "dry run\n"}, form)
			ref := archive + "//" + comp
			sign := func(args ...string) (string, string, error) {
				return run(t, append([]string{"--config", cfg, "sign", "cv", ref}, args...)...)
			}
			unchanged := func(what string, before map[string]string) {
				t.Helper()
				if d := testutil.DiffSnapshots(before, testutil.Snapshot(t, archive, nil)); d != "" {
					t.Fatalf("%s changed the archive: %s", what, d)
				}
			}

			// Dry run, in both output formats: the signature is printed, nothing is written.
			before := testutil.Snapshot(t, archive, nil)
			for _, format := range []string{"yaml", "json"} {
				out, stderr, err := sign("--dry-run", "-o", format)
				if err != nil {
					t.Fatalf("dry-run: %v\n%s", err, stderr)
				}
				var sig descriptor.Signature
				if format == "json" {
					err = json.Unmarshal([]byte(out), &sig)
				} else {
					err = yaml.Unmarshal([]byte(out), &sig)
				}
				if err != nil || sig.Name != "default" || sig.Signature.Algorithm != signing.AlgorithmRSAPSS || sig.Signature.Value == "" {
					t.Fatalf("dry-run -o %s printed no signature (%v):\n%s", format, err, out)
				}
				unchanged("sign --dry-run -o "+format, before)
			}
			if _, _, err := run(t, "verify", "cv", ref, "--public-key", pub); err == nil || !strings.Contains(err.Error(), "is not signed") {
				t.Fatalf("after a dry run: want 'is not signed', got %v", err)
			}

			// Sign "default" and "other".
			for _, name := range []string{"default", "other"} {
				if _, stderr, err := sign("--signature", name); err != nil {
					t.Fatalf("sign %s: %v\n%s", name, err, stderr)
				}
			}
			first := sgGetCV(t, ref)
			oldDefault, oldOther := sgSignature(t, first, "default"), sgSignature(t, first, "other")

			// A second signature of the same name fails and changes nothing,
			// also as a dry run.
			before = testutil.Snapshot(t, archive, nil)
			for _, args := range [][]string{{}, {"--dry-run"}, {"--hash", "SHA-512"}} {
				_, _, err := sign(args...)
				if err == nil || !strings.Contains(err.Error(), `already has a signature named "default" (use --force to replace it)`) {
					t.Fatalf("signing again %v: want an 'already has a signature' error, got %v", args, err)
				}
				unchanged("a refused second signature", before)
			}
			// A dry run with --force prints the replacement but writes nothing.
			if _, _, err := sign("--force", "--dry-run"); err != nil {
				t.Fatal(err)
			}
			unchanged("sign --force --dry-run", before)

			// --force replaces "default" (now PKCS#1 v1.5, SHA-512) in place and keeps "other".
			out, stderr, err := sign("--force", "--hash", "SHA-512", "--signer-spec", pkcs1Spec)
			if err != nil {
				t.Fatalf("sign --force: %v\n%s", err, stderr)
			}
			cd := sgGetCV(t, ref)
			if len(cd.Signatures) != 2 || cd.Signatures[0].Name != "default" || cd.Signatures[1].Name != "other" {
				t.Fatalf("signatures after --force: %+v", cd.Signatures)
			}
			newDefault := sgSignature(t, cd, "default")
			if newDefault.Digest.HashAlgorithm != "SHA-512" || newDefault.Signature.Algorithm != signing.AlgorithmRSAPKCS1v15 ||
				newDefault.Signature.Value == oldDefault.Signature.Value || !strings.Contains(out, newDefault.Signature.Value) {
				t.Fatalf("default was not replaced: old %+v, new %+v", oldDefault, newDefault)
			}
			if got := sgSignature(t, cd, "other"); got != oldOther {
				t.Fatalf("other changed: %+v -> %+v", oldOther, got)
			}
			vout, stderr, err := run(t, "verify", "cv", ref, "--public-key", pub)
			if err != nil {
				t.Fatalf("verify after --force: %v\n%s%s", err, vout, stderr)
			}
			rows := sgVerifyLines(t, vout)
			if rows[0][1] != "signature default (RSASSA-PKCS1-V1_5)" || rows[0][2] != "verified" ||
				rows[1][1] != "signature other (RSASSA-PSS)" || rows[1][2] != "verified" {
				t.Fatalf("verify output:\n%s", vout)
			}
		})
	}
}
