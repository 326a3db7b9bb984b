package main

import (
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/signing"
)

const sgRoundTripConstructor = `components:
- name: example.com/rt/app
  version: 1.0.0
  provider:
    name: example.com
  labels:
  - name: example.com/purpose
    value: {stage: round-trip, level: 3}
    signing: true
  - name: example.com/unsigned
    value: free
  resources:
  - name: text
    type: plainText
    version: 1.0.0
    input:
      type: file
      path: text.txt
      mediaType: text/plain
  - name: blob
    type: blob
    version: 1.0.0
    extraIdentity:
      arch: arm64
    input:
      type: utf8
      text: "hello blob"
  componentReferences:
  - name: lib
    componentName: example.com/rt/lib
    version: 0.1.0
- name: example.com/rt/lib
  version: 0.1.0
  provider:
    name: example.com
  resources:
  - name: data
    type: blob
    version: 0.1.0
    input:
      type: file
      path: lib.bin
      mediaType: application/octet-stream
`

// Every algorithm × hash × normalisation we write round-trips: signed by
// the CLI (one signature name per combination) on a component built by
// `ocm add cv`, each verifies on its own and all together, and OpenSSL
// accepts the hex signatures over the raw digest.
func TestSignRoundTripAllCombinations(t *testing.T) {
	const ref = "example.com/rt/app:1.0.0"
	archive := sgBuild(t, sgRoundTripConstructor, map[string]string{"text.txt": "some text\n", "lib.bin": "\x00\x01\x02binary\xff"}, "ctf")
	dir := t.TempDir()
	key := sgKey(t, sgKeyPlain)
	priv, pub := sgKeyFiles(t, dir, "plain", key)

	type combo struct{ name, algorithm, hash, norm string }
	var combos []combo
	var creds []sgCred
	var signers []sgSigner
	for _, alg := range []string{signing.AlgorithmRSAPSS, signing.AlgorithmRSAPKCS1v15} {
		for _, h := range []string{normalisation.SHA256, normalisation.SHA512} {
			for _, n := range []string{normalisation.JSONv4alpha1, normalisation.JSONv3, normalisation.JSONv2, normalisation.JSONv1} {
				c := combo{strings.ToLower(alg + "-" + h + "-" + strings.TrimPrefix(n, "jsonNormalisation/")), alg, h, n}
				combos = append(combos, c)
				creds = append(creds, sgCred{Signature: c.name, Algorithm: alg, Props: map[string]string{"private_key_pem_file": priv}})
				signers = append(signers, sgSigner{Signature: c.name, Algorithm: alg})
			}
		}
	}
	cfg := sgConfig(t, filepath.Join(dir, "sign.ocmconfig"), creds, signers)

	for _, c := range combos {
		out, stderr, err := run(t, "--config", cfg, "sign", "cv", archive+"//"+ref, "--signature", c.name, "--hash", c.hash, "--normalisation", c.norm)
		if err != nil {
			t.Fatalf("sign %s: %v\n%s%s", c.name, err, out, stderr)
		}
	}

	cd := sgGetCV(t, archive+"//"+ref)
	if len(cd.Signatures) != len(combos) {
		t.Fatalf("%d signatures, want %d", len(cd.Signatures), len(combos))
	}
	for _, c := range combos {
		t.Run(c.name, func(t *testing.T) {
			sig := sgSignature(t, cd, c.name)
			wantType := map[string]string{signing.AlgorithmRSAPSS: signing.MediaTypeRSAPSS, signing.AlgorithmRSAPKCS1v15: signing.MediaTypeRSA}[c.algorithm]
			if sig.Digest.HashAlgorithm != c.hash || sig.Digest.NormalisationAlgorithm != c.norm ||
				sig.Signature.Algorithm != c.algorithm || sig.Signature.MediaType != wantType {
				t.Fatalf("signature %+v, want %s/%s/%s/%s", sig, c.algorithm, c.hash, c.norm, wantType)
			}
			// The signed digest is the descriptor's normalised digest.
			d, err := normalisation.Digest(cd, c.norm, c.hash)
			if err != nil {
				t.Fatal(err)
			}
			if d.Value != sig.Digest.Value {
				t.Fatalf("signed digest %s, descriptor normalises to %s", sig.Digest.Value, d.Value)
			}
			out, stderr, err := run(t, "verify", "cv", archive+"//"+ref, "--signature", c.name, "--public-key", pub)
			if err != nil {
				t.Fatalf("verify: %v\n%s%s", err, out, stderr)
			}
			rows := sgVerifyLines(t, out)
			if len(rows) == 0 || rows[0][1] != "signature "+c.name+" ("+c.algorithm+")" || rows[0][2] != "verified" {
				t.Fatalf("verify output:\n%s", out)
			}
		})
	}

	// All at once (no --signature), through a config consumer per name.
	var verifyCreds []sgCred
	for _, c := range combos {
		verifyCreds = append(verifyCreds, sgCred{Signature: c.name, Algorithm: c.algorithm, Props: map[string]string{"public_key_pem_file": pub}})
	}
	vcfg := sgConfig(t, filepath.Join(dir, "verify.ocmconfig"), verifyCreds, nil)
	out, stderr, err := run(t, "--config", vcfg, "verify", "cv", archive+"//"+ref)
	if err != nil {
		t.Fatalf("verify all: %v\n%s%s", err, out, stderr)
	}
	verified := 0
	for _, r := range sgVerifyLines(t, out) {
		if strings.HasPrefix(r[1], "signature ") && r[2] == "verified" {
			verified++
		}
	}
	if verified != len(combos) {
		t.Fatalf("%d signatures verified, want %d:\n%s", verified, len(combos), out)
	}

	t.Run("openssl", func(t *testing.T) {
		openssl, err := exec.LookPath("openssl")
		if err != nil {
			t.Skip("openssl not installed")
		}
		odir := t.TempDir()
		for _, c := range combos {
			sig := sgSignature(t, cd, c.name)
			rawDigest, err := hex.DecodeString(sig.Digest.Value)
			if err != nil {
				t.Fatal(err)
			}
			rawSig, err := hex.DecodeString(sig.Signature.Value)
			if err != nil {
				t.Fatalf("%s: signature value is not hex: %v", c.name, err)
			}
			digestFile, sigFile := filepath.Join(odir, c.name+".digest"), filepath.Join(odir, c.name+".sig")
			testutil.WriteFile(t, digestFile, rawDigest, 0o644)
			testutil.WriteFile(t, sigFile, rawSig, 0o644)
			verify := func(digestFile string) (string, error) {
				args := []string{"pkeyutl", "-verify", "-pubin", "-inkey", pub, "-in", digestFile, "-sigfile", sigFile,
					"-pkeyopt", "digest:" + strings.ToLower(strings.ReplaceAll(c.hash, "-", ""))}
				if c.algorithm == signing.AlgorithmRSAPSS {
					args = append(args, "-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:auto")
				} else {
					args = append(args, "-pkeyopt", "rsa_padding_mode:pkcs1")
				}
				out, err := exec.Command(openssl, args...).CombinedOutput()
				return string(out), err
			}
			if out, err := verify(digestFile); err != nil || !strings.Contains(out, "Signature Verified Successfully") {
				t.Errorf("%s: openssl rejects the signature: %v\n%s", c.name, err, out)
			}
			// Negative control: another digest is rejected.
			rawDigest[0] ^= 1
			other := filepath.Join(odir, c.name+".other")
			if err := os.WriteFile(other, rawDigest, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := verify(other); err == nil {
				t.Errorf("%s: openssl accepted the signature for another digest:\n%s", c.name, out)
			}
		}
	})
}
