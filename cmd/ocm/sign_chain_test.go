package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/signing"
)

// sgPKI is a root CA -> intermediate -> leaf hierarchy made at test time,
// with leaf variants for the negative cases and an unrelated root.
type sgPKI struct {
	root, inter, otherRoot *x509.Certificate
	leaf                   *x509.Certificate // codeSigning + digitalSignature, valid now
	leafNoCodeSigning      *x509.Certificate // serverAuth only
	leafExpired            *x509.Certificate // expired yesterday
	leafNoEKU              *x509.Certificate // no extended key usage extension at all
	leafKeyEncipherment    *x509.Certificate // codeSigning, but key usage without digitalSignature
	leafKey                *rsa.PrivateKey
}

func sgCert(t testing.TB, tmpl, parent *x509.Certificate, pub *rsa.PublicKey, signer *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sgNewPKI(t testing.TB) *sgPKI {
	t.Helper()
	now := time.Now()
	rootKey, interKey, leafKey, otherKey := sgKey(t, sgKeyRoot), sgKey(t, sgKeyInter), sgKey(t, sgKeyLeaf), sgKey(t, sgKeyOtherRoot)
	ca := func(serial int64, cn string) *x509.Certificate {
		return &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"ocm test"}},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		}
	}
	p := &sgPKI{leafKey: leafKey}
	rootTmpl := ca(1, "ocm test root CA")
	p.root = sgCert(t, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	otherTmpl := ca(2, "ocm other root CA")
	p.otherRoot = sgCert(t, otherTmpl, otherTmpl, &otherKey.PublicKey, otherKey)
	interTmpl := ca(3, "ocm test intermediate CA")
	interTmpl.MaxPathLen, interTmpl.MaxPathLenZero = 0, true
	p.inter = sgCert(t, interTmpl, p.root, &interKey.PublicKey, rootKey)
	leaf := func(serial int64, cn string, ku x509.KeyUsage, eku []x509.ExtKeyUsage, notBefore, notAfter time.Time) *x509.Certificate {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"ocm test"}},
			NotBefore: notBefore, NotAfter: notAfter,
			KeyUsage: ku, ExtKeyUsage: eku,
		}
		return sgCert(t, tmpl, p.inter, &leafKey.PublicKey, interKey)
	}
	codeSigning := []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	valid, until := now.Add(-time.Hour), now.Add(24*time.Hour)
	p.leaf = leaf(10, "ocm signer", x509.KeyUsageDigitalSignature, codeSigning, valid, until)
	p.leafNoCodeSigning = leaf(11, "ocm signer without code signing", x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, valid, until)
	p.leafExpired = leaf(12, "ocm expired signer", x509.KeyUsageDigitalSignature, codeSigning, now.Add(-72*time.Hour), now.Add(-24*time.Hour))
	p.leafNoEKU = leaf(13, "ocm signer without extended key usage", x509.KeyUsageDigitalSignature, nil, valid, until)
	p.leafKeyEncipherment = leaf(14, "ocm signer for encipherment", x509.KeyUsageKeyEncipherment, codeSigning, valid, until)
	return p
}

func sgCertsPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

const sgChainConstructor = `components:
- name: example.com/chain/app
  version: 2.0.0
  provider:
    name: example.com
  resources:
  - name: readme
    type: plainText
    version: 2.0.0
    input:
      type: file
      path: readme.txt
      mediaType: text/plain
`

// Certificate chains: the CLI signs with the PEM encoding policy and a
// leaf + intermediate chain from the credentials; a verifier configured with
// only the root CA accepts it (also for a leaf without an extended key usage
// extension), and rejects another root, a leaf whose extended key usages
// lack code signing and an expired leaf.
func TestSignCertificateChain(t *testing.T) {
	p := sgNewPKI(t)
	const comp = "example.com/chain/app:2.0.0"
	base := sgBuild(t, sgChainConstructor, map[string]string{"readme.txt": "chain test\n"}, "ctf")

	tests := []struct {
		name      string
		algorithm string
		leaf      *x509.Certificate
		root      *x509.Certificate // configured for verification
		wantErr   []string          // empty: must verify
	}{
		{"pss", signing.AlgorithmRSAPSS, p.leaf, p.root, nil},
		{"pkcs1", signing.AlgorithmRSAPKCS1v15, p.leaf, p.root, nil},
		{"other root", signing.AlgorithmRSAPSS, p.leaf, p.otherRoot, []string{`signature "chain"`, `certificate chain of signing certificate "CN=ocm signer,O=ocm test" is not trusted`}},
		{"leaf without code signing", signing.AlgorithmRSAPSS, p.leafNoCodeSigning, p.root, []string{`signature "chain"`, `signing certificate "CN=ocm signer without code signing,O=ocm test" does not allow code signing: its extended key usage is`, "not codeSigning"}},
		// No extended key usage extension: any purpose (RFC 5280, Go, the reference).
		{"leaf without extended key usage", signing.AlgorithmRSAPSS, p.leafNoEKU, p.root, nil},
		{"leaf without digital signature", signing.AlgorithmRSAPSS, p.leafKeyEncipherment, p.root, []string{`signature "chain"`, `signing certificate "CN=ocm signer for encipherment,O=ocm test" does not allow digital signatures`}},
	}
	// An expired leaf is refused when signing (a verifier would reject the
	// signature), and the archive keeps no signature.
	t.Run("expired leaf", func(t *testing.T) {
		dir := t.TempDir()
		archive := filepath.Join(dir, "ctf")
		testutil.CopyDir(t, base, archive)
		keyFile := filepath.Join(dir, "leaf.priv")
		testutil.WriteFile(t, keyFile, sgPrivatePEM(p.leafKey), 0o600)
		chainFile := filepath.Join(dir, "chain.pem")
		testutil.WriteFile(t, chainFile, sgCertsPEM(p.leafExpired, p.inter), 0o644)
		signCfg := sgConfig(t, filepath.Join(dir, "sign.ocmconfig"),
			[]sgCred{{Signature: "chain", Algorithm: signing.AlgorithmRSAPSS, Props: map[string]string{"private_key_pem_file": keyFile, "public_key_pem_file": chainFile}}},
			[]sgSigner{{Signature: "chain", Algorithm: signing.AlgorithmRSAPSS, Encoding: "PEM"}})
		_, _, err := run(t, "--config", signCfg, "sign", "cv", archive+"//"+comp, "--signature", "chain")
		if err == nil || !strings.Contains(err.Error(), `signing certificate "CN=ocm expired signer,O=ocm test" expired on`) {
			t.Fatalf("sign with an expired leaf: %v", err)
		}
		if cd := sgGetCV(t, archive+"//"+comp); len(cd.Signatures) != 0 {
			t.Fatalf("signatures written: %+v", cd.Signatures)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			archive := filepath.Join(dir, "ctf")
			testutil.CopyDir(t, base, archive)
			keyFile := filepath.Join(dir, "leaf.priv")
			testutil.WriteFile(t, keyFile, sgPrivatePEM(p.leafKey), 0o600)
			chainFile := filepath.Join(dir, "chain.pem")
			testutil.WriteFile(t, chainFile, sgCertsPEM(tt.leaf, p.inter), 0o644)
			signCfg := sgConfig(t, filepath.Join(dir, "sign.ocmconfig"),
				[]sgCred{{Signature: "chain", Algorithm: tt.algorithm, Props: map[string]string{"private_key_pem_file": keyFile, "public_key_pem_file": chainFile}}},
				[]sgSigner{{Signature: "chain", Algorithm: tt.algorithm, Encoding: "PEM"}})
			out, stderr, err := run(t, "--config", signCfg, "sign", "cv", archive+"//"+comp, "--signature", "chain")
			if err != nil {
				t.Fatalf("sign: %v\n%s%s", err, out, stderr)
			}
			sig := sgSignature(t, sgGetCV(t, archive+"//"+comp), "chain")
			if sig.Signature.MediaType != signing.MediaTypePEM || sig.Signature.Algorithm != tt.algorithm {
				t.Fatalf("signature %+v: want %s with media type %s", sig.Signature, tt.algorithm, signing.MediaTypePEM)
			}
			// The value is the SIGNATURE block and the chain, leaf first, without the root.
			if n := strings.Count(sig.Signature.Value, "-----BEGIN CERTIFICATE-----"); n != 2 ||
				!strings.HasPrefix(sig.Signature.Value, "-----BEGIN SIGNATURE-----") ||
				!strings.Contains(sig.Signature.Value, string(sgCertsPEM(tt.leaf, p.inter))) {
				t.Fatalf("PEM signature does not carry leaf and intermediate (%d certificates):\n%s", n, sig.Signature.Value)
			}

			verifyCfg := sgConfig(t, filepath.Join(dir, "verify.ocmconfig"),
				[]sgCred{{Signature: "chain", Algorithm: tt.algorithm, Props: map[string]string{"public_key_pem": string(sgCertsPEM(tt.root))}}}, nil)
			out, stderr, err = run(t, "--config", verifyCfg, "verify", "cv", archive+"//"+comp)
			wantErr := tt.wantErr
			// The same through --public-key with the root certificate file.
			rootFile := filepath.Join(dir, "root.pem")
			testutil.WriteFile(t, rootFile, sgCertsPEM(tt.root), 0o644)
			_, _, errFlag := run(t, "verify", "cv", archive+"//"+comp, "--public-key", rootFile)
			if (errFlag == nil) != (err == nil) {
				t.Fatalf("--public-key with the root gives %v, the configured root %v", errFlag, err)
			}
			if len(wantErr) == 0 {
				if err != nil {
					t.Fatalf("verify with the root CA: %v\n%s%s", err, out, stderr)
				}
				if rows := sgVerifyLines(t, out); rows[0][1] != "signature chain ("+tt.algorithm+")" || rows[0][2] != "verified" {
					t.Fatalf("first line %q\n%s", rows[0], out)
				}
				return
			}
			if err == nil {
				t.Fatalf("verification succeeded, want an error with %q\n%s", wantErr, out)
			}
			t.Logf("rejected: %v", err)
			if missing := sgContainsAll(err.Error(), wantErr...); missing != "" {
				t.Fatalf("error does not contain %q:\n%v", missing, err)
			}
			if !strings.Contains(out, "FAILED") {
				t.Fatalf("no FAILED line in the table:\n%s", out)
			}
		})
	}
}

// A PEM signature the reference CLI made with a chain whose leaf has no
// extended key usage extension (testdata/ref-noeku) verifies here against
// its root, through --public-key and through the configured credentials;
// another root is refused.
func TestVerifyReferenceNoEKUChain(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(dir, "ctf.tar")
	data, err := os.ReadFile(filepath.Join("testdata", "ref-noeku", "ctf.tar"))
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, archive, data, 0o644)
	root := filepath.Join("testdata", "ref-noeku", "root.pem")
	const ref = "example.com/interop/noeku:1.0.0"
	out, stderr, err := run(t, "verify", "cv", archive+"//"+ref, "--public-key", root)
	if err != nil || !strings.Contains(out, "signature noeku (RSASSA-PSS)  verified") {
		t.Fatalf("verify with the root: %v\n%s%s", err, out, stderr)
	}
	cfg := sgConfig(t, filepath.Join(dir, "verify.ocmconfig"),
		[]sgCred{{Signature: "noeku", Algorithm: signing.AlgorithmRSAPSS, Props: map[string]string{"public_key_pem_file": root}}}, nil)
	if out, stderr, err := run(t, "--config", cfg, "verify", "cv", archive+"//"+ref); err != nil {
		t.Fatalf("verify with the configured root: %v\n%s%s", err, out, stderr)
	}
	other := filepath.Join(dir, "other.pem")
	testutil.WriteFile(t, other, sgCertsPEM(sgNewPKI(t).otherRoot), 0o644)
	_, _, err = run(t, "verify", "cv", archive+"//"+ref, "--public-key", other)
	if err == nil || !strings.Contains(err.Error(), `certificate chain of signing certificate "CN=interop signer without EKU,O=ocm interop" is not trusted`) {
		t.Fatalf("verify with another root: %v", err)
	}
}
