package sigstore_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ocmgo/ocm/signing/sigstore"
)

// TestBundleIdentity: the signer identity is the first email, else the
// first URI SAN; the issuer comes from the V2 extension (DER UTF8String),
// else the V1 one (raw bytes), as the reference reads them.
func TestBundleIdentity(t *testing.T) {
	v2, _ := asn1.Marshal("https://v2.example.com")
	ext := func(oid int, v []byte) pkix.Extension {
		return pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, oid}, Value: v}
	}
	spiffe, _ := url.Parse("spiffe://example.com/ci")
	for _, tc := range []struct {
		name            string
		emails          []string
		uris            []*url.URL
		exts            []pkix.Extension
		subject, issuer string
		err             string
	}{
		{"email and V2 issuer", []string{"a@example.com", "b@example.com"}, nil, []pkix.Extension{ext(1, []byte("https://v1.example.com")), ext(8, v2)}, "a@example.com", "https://v2.example.com", ""},
		{"URI and V1 issuer", nil, []*url.URL{spiffe}, []pkix.Extension{ext(1, []byte("https://v1.example.com"))}, "spiffe://example.com/ci", "https://v1.example.com", ""},
		{"no issuer", []string{"a@example.com"}, nil, nil, "", "", "names no OIDC issuer"},
		{"malformed V2 issuer", []string{"a@example.com"}, nil, []pkix.Extension{ext(8, []byte{0xff})}, "", "", "issuer extension 1.3.6.1.4.1.57264.1.8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Minute),
				EmailAddresses: tc.emails, URIs: tc.uris, ExtraExtensions: tc.exts}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(map[string]any{"verificationMaterial": map[string]any{"certificate": map[string]string{"rawBytes": base64.StdEncoding.EncodeToString(der)}}})
			id, err := sigstore.BundleIdentity(base64.StdEncoding.EncodeToString(b))
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want %q", err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err == "" && (id.Subject != tc.subject || id.Issuer != tc.issuer):
				t.Fatalf("identity %+v", id)
			}
		})
	}
}
