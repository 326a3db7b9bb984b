package sigstore_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/sigstoretest"
	"github.com/ocmgo/ocm/signing/sigstore"
)

func verifyConfig(issuer, identity string) sigstore.VerifyConfig {
	return sigstore.VerifyConfig{Type: sigstore.VerifyConfigType + "/v1alpha1", CertificateOIDCIssuer: issuer, CertificateIdentity: identity}
}

// TestRejections: every way a keyless signature must fail, each with the
// message that names why.
func TestRejections(t *testing.T) {
	st := sigstoretest.Shared(t)
	tr, err := sigstore.ParseTrustedRoot(st.TrustedRootJSON)
	if err != nil {
		t.Fatal(err)
	}
	d := digestOf("rejections")
	sig, err := stackSigner(t, st, st.SigningConfig, "alice@example.com").Sign(d)
	if err != nil {
		t.Fatal(err)
	}
	sigTSA, err := stackSigner(t, st, st.SigningConfigTSA, "alice@example.com").Sign(d)
	if err != nil {
		t.Fatal(err)
	}
	otherCA := otherCATrustedRoot(t, st)
	noTS := stripTimestamps(t, sig)
	tampered := tamperSignature(t, sig)
	thr := 2

	for _, tc := range []struct {
		name string
		v    sigstore.Verifier
		d    descriptor.DigestSpec
		sig  descriptor.SignatureSpec
		want []string
		is   error
	}{
		{"wrong identity", sigstore.Verifier{Config: verifyConfig(st.Issuer.URL, "mallory@example.com"), TrustedRoot: tr}, d, sig,
			[]string{"mallory@example.com", "alice@example.com", "signed by identity alice@example.com"}, nil},
		{"wrong identity regexp", sigstore.Verifier{Config: sigstore.VerifyConfig{Type: sigstore.VerifyConfigType, CertificateOIDCIssuer: st.Issuer.URL, CertificateIdentityRegexp: `^bob@`}, TrustedRoot: tr}, d, sig,
			[]string{"^bob@", "alice@example.com"}, nil},
		{"wrong issuer", sigstore.Verifier{Config: verifyConfig("https://issuer.example.com", "alice@example.com"), TrustedRoot: tr}, d, sig,
			[]string{"https://issuer.example.com", st.Issuer.URL}, nil},
		{"certificate from another CA", sigstore.Verifier{Config: verifyConfig(st.Issuer.URL, "alice@example.com"), TrustedRoot: otherCA}, d, sig,
			[]string{"certificate"}, nil},
		{"bundle for a different digest", sigstore.Verifier{Config: verifyConfig(st.Issuer.URL, "alice@example.com"), TrustedRoot: tr}, digestOf("another descriptor"), sig,
			[]string{"signature"}, nil},
		{"tampered signature", sigstore.Verifier{Config: verifyConfig(st.Issuer.URL, "alice@example.com"), TrustedRoot: tr}, d, tampered,
			[]string{"inclusion"}, nil},
		{"tampered signature, no log", sigstore.Verifier{Config: sigstore.VerifyConfig{Type: sigstore.VerifyConfigType, CertificateOIDCIssuer: st.Issuer.URL, CertificateIdentity: "alice@example.com", PrivateInfrastructure: true}, TrustedRoot: tr}, d, tamperSignature(t, sigTSA),
			[]string{"signed timestamps"}, nil},
		{"no timestamp and no log entry", sigstore.Verifier{Config: sigstore.VerifyConfig{Type: sigstore.VerifyConfigType, CertificateOIDCIssuer: st.Issuer.URL, CertificateIdentity: "alice@example.com", PrivateInfrastructure: true}, TrustedRoot: tr}, d, noTS,
			[]string{"timestamp"}, nil},
		{"log entry required", sigstore.Verifier{Config: verifyConfig(st.Issuer.URL, "alice@example.com"), TrustedRoot: tr}, d, noTS,
			[]string{"transparency log"}, nil},
		{"timestamp threshold", sigstore.Verifier{Config: sigstore.VerifyConfig{Type: sigstore.VerifyConfigType, CertificateOIDCIssuer: st.Issuer.URL, CertificateIdentity: "alice@example.com", TimestampThreshold: &thr}, TrustedRoot: tr}, d, sig,
			[]string{"timestamp"}, nil},
		{"missing trusted root", sigstore.Verifier{Config: verifyConfig(st.Issuer.URL, "alice@example.com")}, d, sig,
			[]string{"no trusted root"}, sigstore.ErrNoTrustedRoot},
		{"no identity constraint", sigstore.Verifier{Config: sigstore.VerifyConfig{Type: sigstore.VerifyConfigType, CertificateOIDCIssuer: st.Issuer.URL}, TrustedRoot: tr}, d, sig,
			[]string{"identity constraint"}, nil},
		{"foreign algorithm", sigstore.Verifier{Config: verifyConfig(st.Issuer.URL, "alice@example.com"), TrustedRoot: tr}, d, descriptor.SignatureSpec{Algorithm: "RSASSA-PSS", MediaType: sig.MediaType, Value: sig.Value},
			[]string{`"RSASSA-PSS"`}, sigstore.ErrUnknownAlgorithm},
		{"wrong media type", sigstore.Verifier{Config: verifyConfig(st.Issuer.URL, "alice@example.com"), TrustedRoot: tr}, d, descriptor.SignatureSpec{Algorithm: sig.Algorithm, MediaType: "application/json", Value: sig.Value},
			[]string{`"application/json"`}, nil},
		{"not base64", sigstore.Verifier{Config: verifyConfig(st.Issuer.URL, "alice@example.com"), TrustedRoot: tr}, d, descriptor.SignatureSpec{Algorithm: sig.Algorithm, MediaType: sig.MediaType, Value: "%%%"},
			[]string{"base64"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.Verify(tc.d, tc.sig)
			if err == nil {
				t.Fatal("verified")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

// TestExpiredCertificate: a certificate that had expired when the
// timestamp authority saw the signature fails, although the timestamp
// itself is valid; a valid one from the same CA passes (the control).
func TestExpiredCertificate(t *testing.T) {
	st := sigstoretest.Shared(t)
	ca := newTestCA(t)
	tsaChain := trustedRootTSA(t, st)
	trJSON, err := sigstoretest.TrustedRoot("http://ca.test", []*x509.Certificate{ca.cert}, st.TSAURL, tsaChain, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := sigstore.ParseTrustedRoot(trJSON)
	if err != nil {
		t.Fatal(err)
	}
	d := digestOf("expired")
	cfg := sigstore.VerifyConfig{Type: sigstore.VerifyConfigType, CertificateOIDCIssuer: "https://issuer.test", CertificateIdentity: "alice@example.com", PrivateInfrastructure: true}
	for _, tc := range []struct {
		name                string
		notBefore, notAfter time.Time
		ok                  bool
	}{
		{"valid", time.Now().Add(-time.Minute), time.Now().Add(10 * time.Minute), true},
		{"expired", time.Now().Add(-30 * time.Minute), time.Now().Add(-20 * time.Minute), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kp, err := sign.NewEphemeralKeypair(nil)
			if err != nil {
				t.Fatal(err)
			}
			b, err := sign.Bundle(&sign.PlainData{Data: mustHex(t, d.Value)}, kp, sign.BundleOptions{
				CertificateProvider:  certFunc(func(kp sign.Keypair) []byte { return ca.issue(t, kp, tc.notBefore, tc.notAfter) }),
				TimestampAuthorities: []*sign.TimestampAuthority{sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: st.TSAURL})},
			})
			if err != nil {
				t.Fatal(err)
			}
			data, err := protojson.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			sig := descriptor.SignatureSpec{Algorithm: sigstore.Algorithm, MediaType: sigstore.MediaType, Value: base64.StdEncoding.EncodeToString(data)}
			id, err := (&sigstore.Verifier{Config: cfg, TrustedRoot: tr}).Verify(d, sig)
			switch {
			case tc.ok && err != nil:
				t.Fatal(err)
			case tc.ok && (id.Subject != "alice@example.com" || id.Issuer != "https://issuer.test"):
				t.Fatalf("identity %+v", id)
			case !tc.ok && err == nil:
				t.Fatal("an expired certificate verified")
			case !tc.ok && (!strings.Contains(err.Error(), "leaf certificate") || !strings.Contains(err.Error(), "certificate valid "+tc.notBefore.UTC().Format(time.RFC3339))):
				t.Fatalf("error %q does not name the certificate and its validity", err)
			}
		})
	}
}

type certFunc func(kp sign.Keypair) []byte

func (f certFunc) GetCertificate(_ context.Context, kp sign.Keypair, _ *sign.CertificateProviderOptions) ([]byte, error) {
	return f(kp), nil
}

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other-ca", Organization: []string{"ocm-test"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

// issue makes a Fulcio-like code-signing certificate for the keypair's key
// (email SAN, issuer extension 1.3.6.1.4.1.57264.1.8).
func (ca *testCA) issue(t *testing.T, kp sign.Keypair, notBefore, notAfter time.Time) []byte {
	t.Helper()
	issuer, _ := asn1.Marshal("https://issuer.test")
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), NotBefore: notBefore, NotAfter: notAfter,
		EmailAddresses: []string{"alice@example.com"}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuer}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, kp.GetPublicKey(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// otherCATrustedRoot is the stack's trusted root with the Fulcio CA
// replaced by an unrelated one.
func otherCATrustedRoot(t *testing.T, st *sigstoretest.Stack) root.TrustedMaterial {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(st.TrustedRootJSON, &doc); err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t)
	doc["certificateAuthorities"].([]any)[0].(map[string]any)["certChain"] = map[string]any{"certificates": []any{map[string]string{"rawBytes": base64.StdEncoding.EncodeToString(ca.cert.Raw)}}}
	data, _ := json.Marshal(doc)
	tr, err := sigstore.ParseTrustedRoot(data)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func trustedRootTSA(t *testing.T, st *sigstoretest.Stack) []*x509.Certificate {
	t.Helper()
	tr, err := root.NewTrustedRootFromJSON(st.TrustedRootJSON)
	if err != nil {
		t.Fatal(err)
	}
	var out []*x509.Certificate
	for _, ta := range tr.TimestampingAuthorities() {
		sta := ta.(*root.SigstoreTimestampingAuthority)
		out = append(out, sta.Leaf)
		out = append(out, sta.Intermediates...)
		out = append(out, sta.Root)
	}
	return out
}

// editBundle decodes the bundle of sig, lets edit change its JSON form and
// returns the re-encoded signature.
func editBundle(t *testing.T, sig descriptor.SignatureSpec, edit func(map[string]any)) descriptor.SignatureSpec {
	t.Helper()
	data, err := base64.StdEncoding.DecodeString(sig.Value)
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	edit(b)
	data, _ = json.Marshal(b)
	sig.Value = base64.StdEncoding.EncodeToString(data)
	return sig
}

func stripTimestamps(t *testing.T, sig descriptor.SignatureSpec) descriptor.SignatureSpec {
	return editBundle(t, sig, func(b map[string]any) {
		vm := b["verificationMaterial"].(map[string]any)
		delete(vm, "timestampVerificationData")
		delete(vm, "tlogEntries")
	})
}

func tamperSignature(t *testing.T, sig descriptor.SignatureSpec) descriptor.SignatureSpec {
	return editBundle(t, sig, func(b map[string]any) {
		ms := b["messageSignature"].(map[string]any)
		raw, _ := base64.StdEncoding.DecodeString(ms["signature"].(string))
		raw[len(raw)/2] ^= 0xff
		ms["signature"] = base64.StdEncoding.EncodeToString(raw)
	})
}
