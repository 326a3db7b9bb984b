package signing

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
)

// referenceSignature reads one signature that the reference CLI (OCM v2)
// wrote into the interop fixtures.
func referenceSignature(t *testing.T, file, name string) descriptor.Signature {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.InteropDir(t), file))
	if err != nil {
		t.Fatal(err)
	}
	// `ocm get cv -o yaml` writes a list of descriptors.
	var ds []descriptor.Descriptor
	if err := yaml.Unmarshal(data, &ds); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(ds) != 1 {
		t.Fatalf("%s: %d descriptors, want 1", file, len(ds))
	}
	for _, s := range ds[0].Signatures {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("%s: no signature %q", file, name)
	return descriptor.Signature{}
}

func TestVerifyReferenceSignatures(t *testing.T) {
	pubPEM, err := os.ReadFile(filepath.Join(testutil.InteropDir(t), "public-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pub, certs, err := ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 0 {
		t.Fatalf("public-key.pem: unexpected certificates")
	}
	_, otherPubPEM, err := GenerateKeyPair(2048)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _, err := ParsePublicKey(otherPubPEM)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		file, name, algorithm, mediaType, digest string
	}{
		{"lib.descriptor.yaml", "release", AlgorithmRSAPKCS1v15, MediaTypeRSA, "a6f7a4eb5b4dc1fd061b5da0c1b5171f9d6cfa0898823667d8f534df6798f647"},
		{"app.descriptor.yaml", "default", AlgorithmRSAPSS, MediaTypeRSAPSS, "0e620fa8ae2390bd21cf081c6812cb06734ed8d8830564c2e8db6ecbc95c818b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := referenceSignature(t, c.file, c.name)
			if s.Digest.Value != c.digest || s.Digest.HashAlgorithm != "SHA-256" {
				t.Fatalf("fixture digest %s/%s, want SHA-256/%s", s.Digest.HashAlgorithm, s.Digest.Value, c.digest)
			}
			if s.Signature.Algorithm != c.algorithm || s.Signature.MediaType != c.mediaType {
				t.Fatalf("fixture signature %s/%s, want %s/%s", s.Signature.Algorithm, s.Signature.MediaType, c.algorithm, c.mediaType)
			}
			if err := Verify(s.Digest, s.Signature, VerifyOptions{PublicKey: pub}); err != nil {
				t.Fatalf("reference signature does not verify: %v", err)
			}

			for _, i := range []int{0, 31, len(s.Digest.Value) - 1} {
				d := s.Digest
				d.Value = flipHex(d.Value, i)
				if err := Verify(d, s.Signature, VerifyOptions{PublicKey: pub}); err == nil {
					t.Errorf("digest with hex digit %d flipped: verified", i)
				}
			}
			for _, i := range []int{0, 100, len(s.Signature.Value) - 1} {
				sig := s.Signature
				sig.Value = flipHex(sig.Value, i)
				if err := Verify(s.Digest, sig, VerifyOptions{PublicKey: pub}); err == nil {
					t.Errorf("signature with hex digit %d flipped: verified", i)
				}
			}
			err := Verify(s.Digest, s.Signature, VerifyOptions{PublicKey: otherPub})
			if err == nil {
				t.Fatal("verified under an unrelated key")
			}
			if !strings.Contains(err.Error(), "does not verify") {
				t.Errorf("unexpected error: %v", err)
			}

			// The other algorithm under its own media type must not accept it.
			sig := s.Signature
			if sig.Algorithm == AlgorithmRSAPSS {
				sig.Algorithm, sig.MediaType = AlgorithmRSAPKCS1v15, MediaTypeRSA
			} else {
				sig.Algorithm, sig.MediaType = AlgorithmRSAPSS, MediaTypeRSAPSS
			}
			if err := Verify(s.Digest, sig, VerifyOptions{PublicKey: pub}); err == nil {
				t.Error("verified as the other RSA algorithm")
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	p := getPKI(t)
	for _, alg := range []string{AlgorithmRSAPSS, AlgorithmRSAPKCS1v15} {
		for _, hashAlg := range []string{"SHA-256", "SHA-512"} {
			for _, form := range []string{"hex", "pem"} {
				t.Run(alg+"/"+hashAlg+"/"+form, func(t *testing.T) {
					t.Parallel()
					d := randomDigest(t, hashAlg)
					s := Signer{Algorithm: alg, Key: p.leafKey}
					opts := VerifyOptions{PublicKey: &p.leafKey.PublicKey}
					wantMedia := map[string]string{AlgorithmRSAPSS: MediaTypeRSAPSS, AlgorithmRSAPKCS1v15: MediaTypeRSA}[alg]
					if form == "pem" {
						s.Chain = []*x509.Certificate{p.leaf, p.inter}
						opts = VerifyOptions{Roots: p.rootPool}
						wantMedia = MediaTypePEM
					}
					sig := mustSign(t, s, d)
					if sig.Algorithm != alg || sig.MediaType != wantMedia {
						t.Fatalf("got %s/%s, want %s/%s", sig.Algorithm, sig.MediaType, alg, wantMedia)
					}
					if form == "hex" {
						if sig.Issuer != "" {
							t.Errorf("hex signature has issuer %q", sig.Issuer)
						}
						if raw, err := hex.DecodeString(sig.Value); err != nil || len(raw) != 256 {
							t.Fatalf("value is not 256 bytes of hex: %v", err)
						}
					} else {
						if sig.Issuer != "" {
							t.Errorf("PEM signature has issuer %q; it is left empty for OCM v1 and v2 verifiers alike", sig.Issuer)
						}
						if !strings.HasPrefix(sig.Value, "-----BEGIN SIGNATURE-----\nSignature Algorithm: "+alg+"\n") ||
							strings.Count(sig.Value, "-----BEGIN CERTIFICATE-----") != 2 {
							t.Fatalf("unexpected PEM layout:\n%s", sig.Value)
						}
					}
					if err := Verify(d, sig, opts); err != nil {
						t.Fatalf("Verify: %v", err)
					}
					if alg == AlgorithmRSAPSS && form == "hex" {
						// Sign uses the maximum salt length, as rsa.SignPSS(..., nil)
						// in OCM v1/v2 does: key bytes - hash bytes - 2.
						raw, _ := hex.DecodeString(sig.Value)
						h, digest, _ := digestBytes(d)
						maxSalt := (p.leafKey.N.BitLen()+7)/8 - 2 - h.Size()
						if err := rsa.VerifyPSS(&p.leafKey.PublicKey, h, digest, raw, &rsa.PSSOptions{SaltLength: maxSalt}); err != nil {
							t.Errorf("PSS salt is not the maximum length (%d): %v", maxSalt, err)
						}
					}
					// The legacy hash spelling names the same hash.
					legacy := d
					legacy.HashAlgorithm = strings.ToLower(strings.ReplaceAll(hashAlg, "-", ""))
					if err := Verify(legacy, sig, opts); err != nil {
						t.Fatalf("Verify with %s: %v", legacy.HashAlgorithm, err)
					}
					// Negative controls: another digest, the other hash.
					if err := Verify(randomDigest(t, hashAlg), sig, opts); err == nil {
						t.Error("verified against another digest")
					}
					other := d
					if hashAlg == "SHA-256" {
						other.HashAlgorithm = "SHA-512"
					} else {
						other.HashAlgorithm = "SHA-256"
					}
					if err := Verify(other, sig, opts); err == nil || !strings.Contains(err.Error(), "digest value has") {
						t.Errorf("digest of the wrong length for %s: %v", other.HashAlgorithm, err)
					}
				})
			}
		}
	}
}

func TestSignErrors(t *testing.T) {
	p := getPKI(t)
	d := randomDigest(t, "SHA-256")
	cases := []struct {
		name string
		s    Signer
		d    descriptor.DigestSpec
		want string
	}{
		{"unknown algorithm", Signer{Algorithm: "RSASSA-PSS-XXX", Key: p.leafKey}, d, "unsupported signature algorithm"},
		{"no algorithm", Signer{Key: p.leafKey}, d, "algorithm is missing"},
		{"no key", Signer{Algorithm: AlgorithmRSAPSS}, d, "no private key"},
		{"unknown hash", Signer{Algorithm: AlgorithmRSAPSS, Key: p.leafKey}, descriptor.DigestSpec{HashAlgorithm: "MD5", Value: d.Value}, "unsupported hash"},
		{"short digest", Signer{Algorithm: AlgorithmRSAPSS, Key: p.leafKey}, descriptor.DigestSpec{HashAlgorithm: "SHA-256", Value: d.Value[:62]}, "digest value has 31 bytes"},
		{"long digest", Signer{Algorithm: AlgorithmRSAPSS, Key: p.leafKey}, descriptor.DigestSpec{HashAlgorithm: "SHA-256", Value: d.Value + "00"}, "digest value has 33 bytes"},
		{"not hex", Signer{Algorithm: AlgorithmRSAPSS, Key: p.leafKey}, descriptor.DigestSpec{HashAlgorithm: "SHA-256", Value: "zz" + d.Value[2:]}, "not hex"},
		{"chain for another key", Signer{Algorithm: AlgorithmRSAPSS, Key: p.leafKey, Chain: []*x509.Certificate{p.inter}}, d, "does not certify the signing key"},
		{"nil certificate", Signer{Algorithm: AlgorithmRSAPSS, Key: p.leafKey, Chain: []*x509.Certificate{p.leaf, nil}}, d, "certificate 1 of the chain is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.s.Sign(c.d)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestVerifyPlainErrors(t *testing.T) {
	p := getPKI(t)
	d := randomDigest(t, "SHA-256")
	pss := mustSign(t, Signer{Algorithm: AlgorithmRSAPSS, Key: p.leafKey}, d)
	pkcs := mustSign(t, Signer{Algorithm: AlgorithmRSAPKCS1v15, Key: p.leafKey}, d)
	opts := VerifyOptions{PublicKey: &p.leafKey.PublicKey}
	for _, sig := range []descriptor.SignatureSpec{pss, pkcs} {
		if err := Verify(d, sig, opts); err != nil {
			t.Fatalf("control: %v", err)
		}
	}
	with := func(s descriptor.SignatureSpec, f func(*descriptor.SignatureSpec)) descriptor.SignatureSpec {
		f(&s)
		return s
	}
	cases := []struct {
		name string
		d    descriptor.DigestSpec
		sig  descriptor.SignatureSpec
		opts VerifyOptions
		want string
	}{
		{"PSS under the PKCS1 media type", d, with(pss, func(s *descriptor.SignatureSpec) { s.MediaType = MediaTypeRSA }), opts, "does not belong to algorithm RSASSA-PSS"},
		{"PKCS1 under the PSS media type", d, with(pkcs, func(s *descriptor.SignatureSpec) { s.MediaType = MediaTypeRSAPSS }), opts, "does not belong to algorithm RSASSA-PKCS1-V1_5"},
		{"unknown media type", d, with(pss, func(s *descriptor.SignatureSpec) { s.MediaType = "application/octet-stream" }), opts, "unsupported signature media type"},
		{"unknown algorithm", d, with(pss, func(s *descriptor.SignatureSpec) { s.Algorithm = "RSASSA-PSS2" }), opts, "unsupported signature algorithm"},
		{"sigstore", d, with(pss, func(s *descriptor.SignatureSpec) { s.Algorithm = "sigstore" }), opts, "unsupported signature algorithm"},
		{"no public key", d, pss, VerifyOptions{Roots: p.rootPool}, "a public key is needed"},
		{"issuer on a plain signature", d, with(pss, func(s *descriptor.SignatureSpec) { s.Issuer = "CN=x" }), opts, "cannot be checked"},
		{"empty value", d, with(pss, func(s *descriptor.SignatureSpec) { s.Value = "" }), opts, "empty"},
		{"value not hex", d, with(pss, func(s *descriptor.SignatureSpec) { s.Value = "x" + s.Value[1:] }), opts, "not hex"},
		{"value truncated", d, with(pss, func(s *descriptor.SignatureSpec) { s.Value = s.Value[:len(s.Value)-2] }), opts, "does not verify"},
		{"unknown hash", descriptor.DigestSpec{HashAlgorithm: "SHA-384", Value: strings.Repeat("00", 48)}, pss, opts, "unsupported hash"},
		{"missing hash", descriptor.DigestSpec{Value: d.Value}, pss, opts, "unsupported hash"},
		{"digest too short", descriptor.DigestSpec{HashAlgorithm: "SHA-256", Value: d.Value[:40]}, pss, opts, "digest value has 20 bytes"},
		{"digest not hex", descriptor.DigestSpec{HashAlgorithm: "SHA-256", Value: d.Value[:63] + "g"}, pss, opts, "digest value is not hex"},
		{"other key", d, pss, VerifyOptions{PublicKey: &p.otherKey.PublicKey}, "does not verify"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Verify(c.d, c.sig, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}
