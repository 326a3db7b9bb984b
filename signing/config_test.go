package signing

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/descriptor"
)

// keyConfig is a configuration with one RSA/v1alpha1 consumer for
// signature "sig" and algorithm RSASSA-PSS holding props.
func keyConfig(t *testing.T, props map[string]string) *config.Config {
	t.Helper()
	doc := map[string]any{
		"type": config.GenericType,
		"configurations": []any{map[string]any{
			"type": "credentials.config.ocm.software",
			"consumers": []any{map[string]any{
				"identity":    map[string]string{"type": KeyType, "algorithm": AlgorithmRSAPSS, "signature": "sig"},
				"credentials": []any{map[string]any{"type": "Credentials/v1", "properties": props}},
			}},
		}},
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := config.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return &config.Config{Entries: entries, Files: []string{"test.ocmconfig"}}
}

func certPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func TestTrustKeys(t *testing.T) {
	p := getPKI(t)
	d := randomDigest(t, "SHA-256")
	pubDER, err := x509.MarshalPKIXPublicKey(&p.leafKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	leafPub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	plain := descriptor.Signature{Name: "sig", Signature: mustSign(t, Signer{Algorithm: AlgorithmRSAPSS, Key: p.leafKey}, d)}
	chained := descriptor.Signature{Name: "sig", Signature: mustSign(t, Signer{Algorithm: AlgorithmRSAPSS, Key: p.leafKey, Chain: []*x509.Certificate{p.leaf, p.inter}}, d)}
	other := plain
	other.Name = "other"

	for _, tt := range []struct {
		name  string
		trust Trust
		sig   descriptor.Signature
		want  string // "" verifies; "no key": ErrNoPublicKey; else an error substring
	}{
		{"one key for every signature", Trust{PEM: leafPub, PEMSource: "key.pub"}, other, ""},
		{"CA certificate as trust root", Trust{PEM: certPEM(p.root)}, chained, ""},
		{"unrelated CA", Trust{PEM: certPEM(p.otherRoot)}, chained, "not trusted"},
		{"certificate's key for a plain signature", Trust{PEM: certPEM(p.leaf)}, plain, ""},
		{"named key", Trust{Named: map[string][]byte{"sig": leafPub}}, plain, ""},
		{"no named key for the signature", Trust{Named: map[string][]byte{"sig": leafPub}}, other, "no key"},
		{"named material that is no key", Trust{Named: map[string][]byte{"sig": []byte("junk")}}, plain, "public key for signature"},
		{"configured public key", Trust{Config: keyConfig(t, map[string]string{config.PropPublicKeyPEM: string(leafPub)})}, plain, ""},
		{"configured CA", Trust{Config: keyConfig(t, map[string]string{config.PropPublicKeyPEM: string(certPEM(p.root))})}, chained, ""},
		{"configuration without the signature", Trust{Config: keyConfig(t, map[string]string{config.PropPublicKeyPEM: string(leafPub)})}, other, "config files read: test.ocmconfig"},
		{"nothing configured", Trust{}, plain, "no key"},
		{"system roots alone for a PEM signature", Trust{SystemRoots: true}, chained, "not trusted"},
		{"system roots do not verify plain signatures", Trust{SystemRoots: true}, plain, "no key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := tt.trust.Keys()(tt.sig)
			if err == nil {
				err = Verify(d, tt.sig.Signature, opts)
			}
			switch {
			case tt.want == "":
				if err != nil {
					t.Fatalf("want verified, got %v", err)
				}
			case tt.want == "no key":
				if !errors.Is(err, ErrNoPublicKey) || !strings.Contains(err.Error(), tt.sig.Name) {
					t.Fatalf("want ErrNoPublicKey naming %q, got %v", tt.sig.Name, err)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("want error %q, got %v", tt.want, err)
				}
			}
		})
	}
	opts, err := Trust{PEM: certPEM(p.root), SystemRoots: true}.Keys()(chained)
	if err != nil || !opts.UseSystemRoots || opts.Roots == nil {
		t.Errorf("configured roots with SystemRoots: %+v, %v; want both", opts, err)
	}
}

func TestSignerFromConfig(t *testing.T) {
	p := getPKI(t)
	d := randomDigest(t, "SHA-256")
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(p.leafKey)})
	pss := config.SignerConfig{SignatureAlgorithm: AlgorithmRSAPSS, SignatureEncodingPolicy: "Plain"}
	withPEM := config.SignerConfig{SignatureAlgorithm: AlgorithmRSAPSS, SignatureEncodingPolicy: "PEM"}

	for _, tt := range []struct {
		name  string
		props map[string]string
		sc    config.SignerConfig
		sig   string
		want  string // "" signs and verifies; "no key": ErrNoPrivateKey
	}{
		{"plain", map[string]string{config.PropPrivateKeyPEM: string(keyPEM)}, pss, "sig", ""},
		{"PEM with chain", map[string]string{config.PropPrivateKeyPEM: string(keyPEM), config.PropPublicKeyPEM: string(certPEM(p.leaf, p.inter))}, withPEM, "sig", ""},
		{"PEM without chain", map[string]string{config.PropPrivateKeyPEM: string(keyPEM)}, withPEM, "sig", "needs a certificate chain"},
		{"other signature name", map[string]string{config.PropPrivateKeyPEM: string(keyPEM)}, pss, "release", "no key"},
		{"other algorithm", map[string]string{config.PropPrivateKeyPEM: string(keyPEM)}, config.SignerConfig{SignatureAlgorithm: AlgorithmRSAPKCS1v15}, "sig", "no key"},
		{"unknown algorithm", map[string]string{config.PropPrivateKeyPEM: string(keyPEM)}, config.SignerConfig{SignatureAlgorithm: "ECDSA"}, "sig", `signatureAlgorithm "ECDSA"`},
		{"not a key", map[string]string{config.PropPrivateKeyPEM: "junk"}, pss, "sig", "private key for signature"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := SignerFromConfig(keyConfig(t, tt.props), tt.sig, tt.sc)
			switch tt.want {
			case "":
				if err != nil {
					t.Fatal(err)
				}
				spec, err := s.Sign(d)
				if err != nil {
					t.Fatal(err)
				}
				opts := VerifyOptions{PublicKey: &p.leafKey.PublicKey}
				if tt.sc.SignatureEncodingPolicy == "PEM" {
					opts = VerifyOptions{Roots: p.rootPool}
				}
				if err := Verify(d, spec, opts); err != nil {
					t.Fatalf("signature does not verify: %v", err)
				}
			case "no key":
				if !errors.Is(err, ErrNoPrivateKey) || !strings.Contains(err.Error(), "config files read: test.ocmconfig") {
					t.Fatalf("want ErrNoPrivateKey naming the files read, got %v", err)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("want error %q, got %v", tt.want, err)
				}
			}
		})
	}
}
