package signing

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocmgo/ocm/descriptor"
)

// testPKI is a root CA -> intermediate CA -> leaf chain built with
// crypto/x509, plus an unrelated root and an unrelated key. The keys are
// generated once per test binary because RSA key generation under -race
// is slow.
type testPKI struct {
	now time.Time

	rootKey, interKey, leafKey, otherKey *rsa.PrivateKey

	root, inter, leaf *x509.Certificate // leaf: codeSigning + digitalSignature, valid for 1h
	otherRoot         *x509.Certificate // an unrelated self-signed CA (otherKey)

	leafNoCodeSigning *x509.Certificate // EKU serverAuth only, signed by inter
	leafNoEKU         *x509.Certificate // no ExtendedKeyUsage extension (x509 reads that as "any")
	leafNoDigitalSig  *x509.Certificate // codeSigning, KeyUsage keyEncipherment only
	leafSelfSigned    *x509.Certificate // self-signed, codeSigning, leafKey
	leafExpired       *x509.Certificate // NotAfter in the past

	rootPool, otherRootPool *x509.CertPool
}

var (
	pkiOnce sync.Once
	pkiVal  *testPKI
	pkiErr  error
)

func getPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() { pkiVal, pkiErr = buildPKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pkiVal
}

var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

func buildPKI() (*testPKI, error) {
	p := &testPKI{now: time.Now().Truncate(time.Second)}
	keys := make([]*rsa.PrivateKey, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = rsa.GenerateKey(rand.Reader, 2048) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	p.rootKey, p.interKey, p.leafKey, p.otherKey = keys[0], keys[1], keys[2], keys[3]

	var err error
	ca := func(cn string) *x509.Certificate {
		return &x509.Certificate{
			Subject:               pkix.Name{CommonName: cn, Organization: []string{"OCM Go Test"}},
			NotBefore:             p.now.Add(-time.Hour),
			NotAfter:              p.now.Add(24 * time.Hour),
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		}
	}
	if p.root, err = makeCert(ca("Test Root CA"), nil, &p.rootKey.PublicKey, p.rootKey); err != nil {
		return nil, err
	}
	interTmpl := ca("Test Intermediate CA, Signing")
	interTmpl.Subject.OrganizationalUnit = []string{"Signing"}
	if p.inter, err = makeCert(interTmpl, p.root, &p.interKey.PublicKey, p.rootKey); err != nil {
		return nil, err
	}
	if p.otherRoot, err = makeCert(ca("Unrelated Root CA"), nil, &p.otherKey.PublicKey, p.otherKey); err != nil {
		return nil, err
	}

	leaf := func() *x509.Certificate {
		return &x509.Certificate{
			Subject: pkix.Name{
				CommonName:         "release signer",
				Organization:       []string{"OCM Go Test"},
				OrganizationalUnit: []string{"build", "release+sign"},
				Country:            []string{"DE"},
				ExtraNames:         []pkix.AttributeTypeAndValue{{Type: oidEmailAddress, Value: "signer@example.com"}},
			},
			NotBefore:             p.now.Add(-time.Hour),
			NotAfter:              p.now.Add(time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
			BasicConstraintsValid: true,
		}
	}
	if p.leaf, err = makeCert(leaf(), p.inter, &p.leafKey.PublicKey, p.interKey); err != nil {
		return nil, err
	}
	tmpl := leaf()
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	if p.leafNoCodeSigning, err = makeCert(tmpl, p.inter, &p.leafKey.PublicKey, p.interKey); err != nil {
		return nil, err
	}
	tmpl = leaf()
	tmpl.ExtKeyUsage = nil
	if p.leafNoEKU, err = makeCert(tmpl, p.inter, &p.leafKey.PublicKey, p.interKey); err != nil {
		return nil, err
	}
	tmpl = leaf()
	tmpl.KeyUsage = x509.KeyUsageKeyEncipherment
	if p.leafNoDigitalSig, err = makeCert(tmpl, p.inter, &p.leafKey.PublicKey, p.interKey); err != nil {
		return nil, err
	}
	tmpl = leaf()
	if p.leafSelfSigned, err = makeCert(tmpl, nil, &p.leafKey.PublicKey, p.leafKey); err != nil {
		return nil, err
	}
	tmpl = leaf()
	tmpl.NotBefore, tmpl.NotAfter = p.now.Add(-48*time.Hour), p.now.Add(-24*time.Hour)
	if p.leafExpired, err = makeCert(tmpl, p.inter, &p.leafKey.PublicKey, p.interKey); err != nil {
		return nil, err
	}

	p.rootPool = x509.NewCertPool()
	p.rootPool.AddCert(p.root)
	p.otherRootPool = x509.NewCertPool()
	p.otherRootPool.AddCert(p.otherRoot)
	return p, nil
}

var serial atomic.Int64

// makeCert signs tmpl with signer. If parent is nil, the certificate is
// self-signed. It returns the certificate parsed back from DER, as a
// verifier would see it.
func makeCert(tmpl, parent *x509.Certificate, pub *rsa.PublicKey, signer *rsa.PrivateKey) (*x509.Certificate, error) {
	tmpl.SerialNumber = big.NewInt(1000 + serial.Add(1))
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// randomDigest returns a descriptor digest of the right length for hashAlg.
func randomDigest(t testing.TB, hashAlg string) descriptor.DigestSpec {
	t.Helper()
	n := map[string]int{"SHA-256": 32, "SHA-512": 64, "sha256": 32, "sha512": 64}[hashAlg]
	if n == 0 {
		t.Fatalf("no size for %s", hashAlg)
	}
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return descriptor.DigestSpec{HashAlgorithm: hashAlg, NormalisationAlgorithm: "jsonNormalisation/v4alpha1", Value: hex.EncodeToString(b)}
}

// flipHex changes the hex digit at i into a different digit, so that the
// decoded bytes change (unlike a change of letter case).
func flipHex(s string, i int) string {
	b := []byte(s)
	if b[i] == '0' {
		b[i] = '1'
	} else {
		b[i] = '0'
	}
	return string(b)
}

func mustSign(t testing.TB, s Signer, d descriptor.DigestSpec) descriptor.SignatureSpec {
	t.Helper()
	sig, err := s.Sign(d)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return sig
}
