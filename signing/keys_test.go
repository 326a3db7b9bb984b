package signing

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"
)

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParseKeys(t *testing.T) {
	p := getPKI(t)
	key := p.leafKey
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pkix, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	ecPKCS8, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	ecPKIX, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ecCertDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: p.leaf.SerialNumber, NotBefore: p.now, NotAfter: p.now.Add(time.Hour)}, p.inter, &ecKey.PublicKey, p.interKey)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPKCS8, err := x509.MarshalPKCS8PrivateKey(edKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1Priv := pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	leafPEM := pemOf("CERTIFICATE", p.leaf.Raw)
	chainPEM := append(append([]byte(nil), leafPEM...), pemOf("CERTIFICATE", p.inter.Raw)...)
	broken := pemOf("RSA PRIVATE KEY", []byte("this is not DER but it is long enough to be recognisable"))

	privCases := []struct {
		name string
		data []byte
		want string // "" = key must equal p.leafKey
	}{
		{"PKCS#1", pkcs1Priv, ""},
		{"PKCS#8", pemOf("PRIVATE KEY", pkcs8), ""},
		{"PKCS#1 with a certificate and comments", append(append([]byte("comment\n"), leafPEM...), pkcs1Priv...), ""},
		{"EC PRIVATE KEY", pemOf("EC PRIVATE KEY", ecDER), "only RSA keys are supported"},
		{"PKCS#8 EC", pemOf("PRIVATE KEY", ecPKCS8), "only RSA keys are supported"},
		{"PKCS#8 Ed25519", pemOf("PRIVATE KEY", edPKCS8), "only RSA keys are supported"},
		{"encrypted PKCS#8", pemOf("ENCRYPTED PRIVATE KEY", pkcs8), "encrypted"},
		{"two keys", append(append([]byte(nil), pkcs1Priv...), pkcs1Priv...), "more than one private key"},
		{"public key only", pemOf("PUBLIC KEY", pkix), "no RSA private key"},
		{"broken DER", broken, "parsing PKCS#1 private key"},
		{"garbage", []byte("garbage"), "no PEM data"},
		{"empty", nil, "no PEM data"},
	}
	for _, c := range privCases {
		t.Run("private/"+c.name, func(t *testing.T) {
			k, err := ParsePrivateKey(c.data)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !k.Equal(key) {
					t.Fatal("parsed a different key")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if strings.Contains(c.want, "only RSA") && !errors.Is(err, ErrNotRSA) {
				t.Errorf("error does not wrap ErrNotRSA: %v", err)
			}
			assertNoKeyMaterial(t, err, c.data)
		})
	}

	pubCases := []struct {
		name  string
		data  []byte
		certs int
		want  string
	}{
		{"PKCS#1", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&key.PublicKey)), 0, ""},
		{"PKIX", pemOf("PUBLIC KEY", pkix), 0, ""},
		{"certificate", leafPEM, 1, ""},
		{"chain", chainPEM, 2, ""},
		{"key and its certificate", append(pemOf("PUBLIC KEY", pkix), leafPEM...), 1, ""},
		{"key and another certificate", append(pemOf("PUBLIC KEY", pkix), pemOf("CERTIFICATE", p.inter.Raw)...), 0, "is not the key of certificate"},
		{"PKIX EC", pemOf("PUBLIC KEY", ecPKIX), 0, "only RSA keys are supported"},
		{"EC certificate", pemOf("CERTIFICATE", ecCertDER), 0, "only RSA keys are supported"},
		{"private key only", pkcs1Priv, 0, "no RSA public key"},
		{"broken certificate", pemOf("CERTIFICATE", []byte("junk junk junk junk junk junk")), 0, "parsing certificate 1"},
		{"garbage", []byte("-----BEGIN PUBLIC KEY-----\nnot base64\n"), 0, "no PEM data"},
	}
	for _, c := range pubCases {
		t.Run("public/"+c.name, func(t *testing.T) {
			k, certs, err := ParsePublicKey(c.data)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !k.Equal(&key.PublicKey) {
					t.Fatal("parsed a different key")
				}
				if len(certs) != c.certs {
					t.Fatalf("%d certificates, want %d", len(certs), c.certs)
				}
				if c.certs > 0 && !certs[0].Equal(p.leaf) {
					t.Fatal("first certificate is not the leaf")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			assertNoKeyMaterial(t, err, c.data)
		})
	}

	certs, err := ParseCertificates(append([]byte("subject=...\n"), chainPEM...))
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 2 || !certs[0].Equal(p.leaf) || !certs[1].Equal(p.inter) {
		t.Fatalf("ParseCertificates: wrong certificates or order")
	}
	if _, err := ParseCertificates(pemOf("PUBLIC KEY", pkix)); err == nil || !strings.Contains(err.Error(), "no CERTIFICATE") {
		t.Fatalf("ParseCertificates without certificates: %v", err)
	}
	if _, err := ParseCertificates([]byte("garbage")); err == nil {
		t.Fatal("ParseCertificates accepted garbage")
	}
}

// assertNoKeyMaterial checks that an error does not repeat any part of the
// PEM payload.
func assertNoKeyMaterial(t *testing.T, err error, data []byte) {
	t.Helper()
	for rest := data; ; {
		b, r := pem.Decode(rest)
		if b == nil {
			return
		}
		rest = r
		body := strings.Join(strings.Split(string(pem.EncodeToMemory(&pem.Block{Type: "X", Bytes: b.Bytes})), "\n")[1:], "")
		for i := 0; i+16 <= len(body); i += 16 {
			if strings.Contains(err.Error(), body[i:i+16]) {
				t.Fatalf("error repeats key material: %v", err)
			}
		}
		if len(b.Bytes) >= 8 && strings.Contains(err.Error(), string(b.Bytes[:8])) {
			t.Fatalf("error repeats raw key bytes: %v", err)
		}
	}
}

func TestGenerateKeyPair(t *testing.T) {
	if _, _, err := GenerateKeyPair(1024); err == nil {
		t.Fatal("1024-bit key accepted")
	}
	privPEM, pubPEM, err := GenerateKeyPair(2048)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(privPEM), "-----BEGIN RSA PRIVATE KEY-----") || !strings.HasPrefix(string(pubPEM), "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("unexpected PEM types:\n%s", pubPEM)
	}
	priv, err := ParsePrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	if priv.N.BitLen() != 2048 {
		t.Fatalf("key has %d bits", priv.N.BitLen())
	}
	pub, _, err := ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(&priv.PublicKey) {
		t.Fatal("public key does not belong to the private key")
	}
	d := randomDigest(t, "SHA-256")
	sig := mustSign(t, Signer{Algorithm: AlgorithmRSAPSS, Key: priv}, d)
	if err := Verify(d, sig, VerifyOptions{PublicKey: pub}); err != nil {
		t.Fatal(err)
	}
	_, pub2PEM, err := GenerateKeyPair(2048)
	if err != nil {
		t.Fatal(err)
	}
	pub2, _, err := ParsePublicKey(pub2PEM)
	if err != nil {
		t.Fatal(err)
	}
	if pub2.Equal(pub) {
		t.Fatal("two generated keys are equal")
	}
	if err := Verify(d, sig, VerifyOptions{PublicKey: pub2}); err == nil {
		t.Fatal("verified with another generated key")
	}
}
