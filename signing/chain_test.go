package signing

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ocmgo/ocm/descriptor"
)

func TestVerifyChain(t *testing.T) {
	p := getPKI(t)
	d := randomDigest(t, "SHA-256")
	sign := func(alg string, chain ...*x509.Certificate) descriptor.SignatureSpec {
		// Signed while the leaf was valid: what verification sees later.
		signedAt := func() time.Time { return chain[0].NotBefore.Add(time.Second) }
		return mustSign(t, Signer{Algorithm: alg, Key: p.leafKey, Chain: chain, Now: signedAt}, d)
	}
	// Signing itself refuses a leaf outside its validity.
	for _, tc := range []struct {
		name string
		now  time.Time
		want string
	}{
		{"expired", p.leafExpired.NotAfter.Add(time.Minute), "expired on"},
		{"not yet valid", p.leafExpired.NotBefore.Add(-time.Minute), "is not valid yet"},
	} {
		_, err := Signer{Algorithm: AlgorithmRSAPSS, Key: p.leafKey, Chain: []*x509.Certificate{p.leafExpired, p.inter}, Now: func() time.Time { return tc.now }}.Sign(d)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("sign with a leaf that is %s: %v", tc.name, err)
		}
	}
	good := sign(AlgorithmRSAPSS, p.leaf, p.inter)
	roots := VerifyOptions{Roots: p.rootPool}
	if err := Verify(d, good, roots); err != nil {
		t.Fatalf("control: %v", err)
	}

	interPool := x509.NewCertPool()
	interPool.AddCert(p.inter)

	type tc struct {
		name string
		sig  descriptor.SignatureSpec
		opts VerifyOptions
		want string // "" = must verify
	}
	cases := []tc{
		{"root configured, intermediate in PEM", good, roots, ""},
		{"PKCS1 with chain", sign(AlgorithmRSAPKCS1v15, p.leaf, p.inter), roots, ""},
		{"intermediate from options", sign(AlgorithmRSAPSS, p.leaf), VerifyOptions{Roots: p.rootPool, Intermediates: interPool}, ""},
		{"intermediate missing", sign(AlgorithmRSAPSS, p.leaf), roots, "not trusted"},
		{"only an unrelated root", good, VerifyOptions{Roots: p.otherRootPool}, "not trusted"},
		{"system roots only", good, VerifyOptions{UseSystemRoots: true}, "not trusted"},
		{"unrelated root plus system roots", good, VerifyOptions{Roots: p.otherRootPool, UseSystemRoots: true}, "system roots"},
		{"root embedded, unrelated root configured", sign(AlgorithmRSAPSS, p.leaf, p.inter, p.root), VerifyOptions{Roots: p.otherRootPool}, "not trusted"},
		{"root embedded, right root configured", sign(AlgorithmRSAPSS, p.leaf, p.inter, p.root), roots, ""},
		{"no trust configured", good, VerifyOptions{}, "nothing to verify a PEM signature against"},
		{"intermediates alone are no trust", good, VerifyOptions{Intermediates: interPool}, "nothing to verify"},
		{"leaf with EKU serverAuth only", sign(AlgorithmRSAPSS, p.leafNoCodeSigning, p.inter), roots, "does not allow code signing: its extended key usage is serverAuth, not codeSigning"},
		// RFC 5280 4.2.1.12, as Go's x509 and the reference read it: no
		// extended key usage extension means any purpose.
		{"leaf without extended key usage", sign(AlgorithmRSAPSS, p.leafNoEKU, p.inter), roots, ""},
		{"leaf without digitalSignature", sign(AlgorithmRSAPSS, p.leafNoDigitalSig, p.inter), roots, "does not allow digital signatures"},
		{"expired leaf", good, VerifyOptions{Roots: p.rootPool, CurrentTime: p.now.Add(2 * time.Hour)}, "expired"},
		{"leaf not yet valid", good, VerifyOptions{Roots: p.rootPool, CurrentTime: p.now.Add(-2 * time.Hour)}, "not trusted"},
		{"expired leaf certificate", sign(AlgorithmRSAPSS, p.leafExpired, p.inter), roots, "expired"},
		{"self-signed leaf, no roots", sign(AlgorithmRSAPSS, p.leafSelfSigned), VerifyOptions{}, "nothing to verify"},
		{"self-signed leaf, unrelated root", sign(AlgorithmRSAPSS, p.leafSelfSigned), VerifyOptions{Roots: p.otherRootPool}, "not trusted"},
		{"self-signed leaf, system roots", sign(AlgorithmRSAPSS, p.leafSelfSigned), VerifyOptions{UseSystemRoots: true}, "not trusted"},
		{"public key instead of roots", good, VerifyOptions{PublicKey: &p.leafKey.PublicKey}, ""},
		{"public key and roots", good, VerifyOptions{PublicKey: &p.leafKey.PublicKey, Roots: p.rootPool}, ""},
		{"public key of another key", good, VerifyOptions{PublicKey: &p.otherKey.PublicKey}, "not the key of the signing certificate"},
		{"right roots, wrong public key", good, VerifyOptions{PublicKey: &p.otherKey.PublicKey, Roots: p.rootPool}, "not the key of the signing certificate"},
		{"public key, chain not trusted", good, VerifyOptions{PublicKey: &p.leafKey.PublicKey, Roots: p.otherRootPool}, "not trusted"},
	}

	// The algorithm header must agree with the declared algorithm, both
	// ways round.
	mismatch := good
	mismatch.Algorithm = AlgorithmRSAPKCS1v15
	cases = append(cases, tc{"declared algorithm differs from PEM header", mismatch, roots, `says "RSASSA-PSS", but the signature's algorithm is "RSASSA-PKCS1-V1_5"`})
	rewritten := good
	rewritten.Value = strings.Replace(good.Value, "Signature Algorithm: RSASSA-PSS", "Signature Algorithm: RSASSA-PKCS1-V1_5", 1)
	cases = append(cases, tc{"PEM header rewritten", rewritten, roots, "says"})
	// A signature from the leaf key, wrapped with a certificate for
	// another key.
	swapped := good
	swapped.Value = reencode(t, good.Value, func(blocks []*pem.Block) []*pem.Block {
		blocks[1] = &pem.Block{Type: "CERTIFICATE", Bytes: p.inter.Raw}
		return blocks
	})
	cases = append(cases, tc{"leaf replaced by the intermediate", swapped, VerifyOptions{Roots: p.rootPool}, "does not allow digital signatures"})
	noHeader := good
	noHeader.Value = reencode(t, good.Value, func(blocks []*pem.Block) []*pem.Block {
		blocks[0].Headers = nil
		return blocks
	})
	cases = append(cases, tc{"no algorithm header (V1 allows it)", noHeader, roots, ""})
	noChain := good
	noChain.Value = reencode(t, good.Value, func(blocks []*pem.Block) []*pem.Block { return blocks[:1] })
	noChain.Issuer = ""
	cases = append(cases,
		tc{"no chain, public key", noChain, VerifyOptions{PublicKey: &p.leafKey.PublicKey}, ""},
		tc{"no chain, roots only", noChain, roots, "carries no certificate chain"},
		tc{"no chain, issuer set", func() descriptor.SignatureSpec { s := noChain; s.Issuer = "x"; return s }(), VerifyOptions{PublicKey: &p.leafKey.PublicKey}, "cannot be checked"},
	)
	flipped := good
	flipped.Value = reencode(t, good.Value, func(blocks []*pem.Block) []*pem.Block {
		blocks[0].Bytes[10] ^= 1
		return blocks
	})
	cases = append(cases, tc{"signature bit flipped", flipped, roots, "does not verify"})
	for _, bad := range []struct{ name, value, want string }{
		{"empty value", "", "empty"},
		{"not PEM", "hello", "outside PEM blocks"},
		{"text before the signature", "x\n" + good.Value, "outside PEM blocks"},
		{"text after the chain", good.Value + "trailer", "outside PEM blocks"},
		{"certificate first", good.Value[strings.Index(good.Value, "-----BEGIN CERTIFICATE"):], "must start with a SIGNATURE block"},
		{"two signatures", good.Value + good.Value[:strings.Index(good.Value, "-----BEGIN CERTIFICATE")], `only CERTIFICATE blocks`},
		{"malformed certificate block", strings.Replace(good.Value, "-----END CERTIFICATE-----", "-----END CERTIFICATX-----", 1), "malformed PEM block"},
		{"garbage certificate", good.Value + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})), "certificate 3"},
		{"hex value under the PEM media type", hexOf(t, d, p), "outside PEM blocks"},
	} {
		s := good
		s.Value = bad.value
		cases = append(cases, tc{bad.name, s, roots, bad.want})
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Verify(d, c.sig, c.opts)
			if c.want == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestVerifyChainTooLong(t *testing.T) {
	p := getPKI(t)
	d := randomDigest(t, "SHA-256")
	chain := []*x509.Certificate{p.leaf}
	for range maxChainCertificates {
		chain = append(chain, p.inter)
	}
	if _, err := (Signer{Algorithm: AlgorithmRSAPSS, Key: p.leafKey, Chain: chain}).Sign(d); err == nil {
		t.Fatal("Sign accepted an overlong chain")
	}
	sig := mustSign(t, Signer{Algorithm: AlgorithmRSAPSS, Key: p.leafKey, Chain: chain[:2]}, d)
	for range maxChainCertificates {
		sig.Value += string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.inter.Raw}))
	}
	if err := Verify(d, sig, VerifyOptions{Roots: getPKI(t).rootPool}); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("got %v", err)
	}
}

func TestIssuer(t *testing.T) {
	p := getPKI(t)
	d := randomDigest(t, "SHA-512")
	base := mustSign(t, Signer{Algorithm: AlgorithmRSAPKCS1v15, Key: p.leafKey, Chain: []*x509.Certificate{p.leaf, p.inter}}, d)
	t.Logf("leaf subject: %s", p.leaf.Subject)
	t.Logf("leaf issuer:  %s", p.leaf.Issuer)
	cases := []struct {
		issuer string
		ok     bool
	}{
		{"", true},
		{p.leaf.Subject.String(), true}, // what Sign writes (V1)
		{p.leaf.Issuer.String(), true},  // V2's rule
		{"release signer", true},        // bare CN of the subject
		{"  release signer ", true},
		{"Test Intermediate CA, Signing", true}, // bare CN of the issuer (no '=', so the comma is no separator)
		// The same DN written differently: other order, other grouping,
		// lower-case types, escapes, OIDs and #hex BER values.
		{"C=DE, o=OCM Go Test, OU=release\\+sign + OU=build, CN=release signer, emailAddress=signer@example.com", true},
		{"CN=release signer;OU=build;OU=release\\2Bsign;O=OCM Go Test;C=DE;1.2.840.113549.1.9.1=#16127369676e6572406578616d706c652e636f6d", true},
		{"OID.2.5.4.3=release signer,OU=build,OU=\"release+sign\",O=OCM Go Test,C=DE,E=signer@example.com", true},
		{"CN=Test Intermediate CA\\, Signing,OU=Signing,O=OCM Go Test", true},
		{"cn = Test Intermediate CA\\2C Signing , ou=Signing , o=OCM Go Test", true},
		// Not the leaf's subject or issuer.
		{"CN=someone else", false},
		{"someone else", false},
		{"Test Root CA", false},
		{p.root.Subject.String(), false},
		{"CN=release signer", false},                                     // a DN must be complete
		{"CN=release signer,O=OCM Go Test,OU=build,C=DE", false},         // still missing attributes
		{p.leaf.Subject.String() + ",L=Berlin", false},                   // an extra attribute
		{strings.Replace(p.leaf.Subject.String(), "DE", "de", 1), false}, // values compare exactly
		{"CN=Test Intermediate CA, Signing,OU=Signing,O=OCM Go Test", false},
		// Not a DN at all.
		{"CN=a,,O=b", false},
		{"CN=a,", false},
		{"XX=a", false},
		{"CN=a\\", false},
		{"CN=\"a", false},
		{"CN=#zz", false},
		{"=a", false},
	}
	for _, c := range cases {
		t.Run(c.issuer, func(t *testing.T) {
			sig := base
			sig.Issuer = c.issuer
			err := Verify(d, sig, VerifyOptions{Roots: p.rootPool})
			if c.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !c.ok && err == nil {
				t.Fatal("verified")
			}
			if !c.ok && strings.Contains(err.Error(), "matches neither") &&
				!(strings.Contains(err.Error(), fmt.Sprintf("%q", p.leaf.Subject)) && strings.Contains(err.Error(), fmt.Sprintf("%q", p.leaf.Issuer))) {
				t.Errorf("error does not name subject and issuer: %v", err)
			}
		})
	}
	// The same checks apply when the public key, not the chain, is trusted.
	sig := base
	sig.Issuer = "CN=someone else"
	if err := Verify(d, sig, VerifyOptions{PublicKey: &p.leafKey.PublicKey}); err == nil || !strings.Contains(err.Error(), "matches neither") {
		t.Fatalf("got %v", err)
	}
}

// TestDNRoundTrip checks that whatever Go writes as a certificate's subject
// (which is what Sign puts into issuer) parses back into the same name,
// special characters included.
func TestDNRoundTrip(t *testing.T) {
	p := getPKI(t)
	for _, cn := range []string{
		`plain`, `a,b`, `a+b`, `a"b`, `a\b`, `a<b>`, `a;b`, `#lead`, ` lead`, `trail `, `mid  dle`, `Grüße 🙂`, `a=b`, `x/y`,
	} {
		tmpl := &x509.Certificate{NotBefore: p.now, NotAfter: p.now.Add(time.Hour)}
		tmpl.Subject.CommonName = cn
		tmpl.Subject.Organization = []string{"O, Inc.", "+second"}
		tmpl.Subject.Locality = []string{"L"}
		c, err := makeCert(tmpl, nil, &p.leafKey.PublicKey, p.leafKey)
		if err != nil {
			t.Fatal(err)
		}
		m, err := parseIssuer(c.Subject.String())
		if err != nil {
			t.Fatalf("%q: %v", c.Subject.String(), err)
		}
		if !m.matches(c.Subject) {
			t.Errorf("%q does not match its own certificate (parsed %q)", c.Subject.String(), m.attributes)
		}
		if m.matches(p.leaf.Subject) {
			t.Errorf("%q matches an unrelated certificate", c.Subject.String())
		}
	}
}

func reencode(t *testing.T, value string, f func([]*pem.Block) []*pem.Block) string {
	t.Helper()
	var blocks []*pem.Block
	rest := []byte(value)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		b.Bytes = append([]byte(nil), b.Bytes...)
		blocks = append(blocks, b)
	}
	var out []byte
	for _, b := range f(blocks) {
		out = append(out, pem.EncodeToMemory(b)...)
	}
	return string(out)
}

func hexOf(t *testing.T, d descriptor.DigestSpec, p *testPKI) string {
	return mustSign(t, Signer{Algorithm: AlgorithmRSAPSS, Key: p.leafKey}, d).Value
}
