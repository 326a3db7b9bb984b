package sigstore_test

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/signing/sigstore"
)

func TestParseConfigs(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		verify    bool
		err       string
	}{
		{"sign minimal", "type: SigstoreSigningConfiguration/v1alpha1\nsigningConfig: sc.json\n", false, ""},
		{"sign unversioned", "type: SigstoreSigningConfiguration\n", false, ""},
		{"sign legacy algorithm", "type: SigstoreSigningConfiguration/v1alpha1\nsignatureAlgorithm: sigstore\n", false, ""},
		{"sign other algorithm", "type: SigstoreSigningConfiguration/v1alpha1\nsignatureAlgorithm: RSASSA-PSS\n", false, "unknown sigstore algorithm"},
		{"sign relative issuer", "type: SigstoreSigningConfiguration/v1alpha1\nissuer: accounts.example.com\n", false, "must be absolute"},
		{"sign wrong type", "type: RSASigningConfiguration/v1alpha1\n", false, "is not SigstoreSigningConfiguration/v1alpha1"},
		{"sign unknown field", "type: SigstoreSigningConfiguration/v1alpha1\nsigningconfg: x\n", false, "unknown field"},
		{"verify exact", "type: SigstoreVerificationConfiguration/v1alpha1\ncertificateOIDCIssuer: https://issuer.example.com\ncertificateIdentity: a@example.com\n", true, ""},
		{"verify regexp", "type: SigstoreVerificationConfiguration/v1alpha1\ncertificateOIDCIssuerRegexp: ^https://\ncertificateIdentityRegexp: '@example\\.com$'\n", true, ""},
		{"verify thresholds", "type: SigstoreVerificationConfiguration/v1alpha1\ncertificateOIDCIssuer: https://i.example.com\ncertificateIdentity: a\ntransparencyLogThreshold: 0\ntimestampThreshold: 1\n", true, ""},
		{"verify negative threshold", "type: SigstoreVerificationConfiguration/v1alpha1\ncertificateOIDCIssuer: https://i.example.com\ncertificateIdentity: a\ntimestampThreshold: -1\n", true, "timestampThreshold must not be negative"},
		{"verify no issuer", "type: SigstoreVerificationConfiguration/v1alpha1\ncertificateIdentity: a@example.com\n", true, "issuer constraint"},
		{"verify no identity", "type: SigstoreVerificationConfiguration/v1alpha1\ncertificateOIDCIssuer: https://issuer.example.com\n", true, "identity constraint"},
		{"verify bad regexp", "type: SigstoreVerificationConfiguration/v1alpha1\ncertificateOIDCIssuer: https://i.example.com\ncertificateIdentityRegexp: '('\n", true, "certificateIdentityRegexp: invalid regexp"},
		{"verify issuer with query", "type: SigstoreVerificationConfiguration/v1alpha1\ncertificateOIDCIssuer: https://i.example.com/?a=b\ncertificateIdentity: a\n", true, "query"},
		{"verify wrong version", "type: SigstoreVerificationConfiguration/v2\ncertificateOIDCIssuer: https://i.example.com\ncertificateIdentity: a\n", true, "is not SigstoreVerificationConfiguration/v1alpha1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.verify {
				_, err = sigstore.ParseVerifyConfig([]byte(tc.doc))
			} else {
				_, err = sigstore.ParseSignConfig([]byte(tc.doc))
			}
			switch {
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
}

// TestFromConfig: token and trusted root come from .ocmconfig credentials
// (inline or file, relative to the config file), the environment variable
// wins for the token, and missing material is a typed error naming the
// consumer identity to configure.
func TestFromConfig(t *testing.T) {
	dir := t.TempDir()
	scPath := filepath.Join(dir, "signing_config.json")
	os.WriteFile(scPath, []byte(`{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json","caUrls":[{"url":"https://fulcio.example.com","majorApiVersion":1,"validFor":{"start":"2020-01-01T00:00:00Z"}}],"tsaUrls":[{"url":"https://tsa.example.com/api/v1/timestamp","majorApiVersion":1,"validFor":{"start":"2020-01-01T00:00:00Z"}}],"tsaConfig":{"selector":"ANY"},"rekorTlogConfig":{"selector":"ANY"}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "token.jwt"), []byte("file-token\n"), 0o600)
	cfgPath := filepath.Join(dir, ".ocmconfig")
	os.WriteFile(cfgPath, []byte(`type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: SigstoreSigner/v1alpha1, signature: inline}
    credentials: [{type: OIDCIdentityToken/v1alpha1, token: inline-token}]
  - identity: {type: SigstoreSigner/v1alpha1, signature: file, issuer: "https://issuer.example.com"}
    credentials: [{type: OIDCIdentityToken/v1alpha1, tokenFile: token.jwt}]
  - identity: {type: SigstoreVerifier/v1alpha1, signature: inline}
    credentials: [{type: TrustedRoot/v1alpha1, trustedRootJSON: '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}'}]
  - identity: {type: SigstoreVerifier/v1alpha1, signature: broken}
    credentials: [{type: TrustedRoot/v1alpha1, trustedRootJSON: 'not json'}]
`), 0o644)
	cfg, err := config.Load([]string{cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	sc := sigstore.SignConfig{Type: sigstore.SignConfigType, SigningConfig: scPath}
	t.Setenv(sigstore.EnvIDToken, "")

	s, err := sigstore.SignerFromConfig(cfg, "inline", sc)
	if err != nil || s.Token != "inline-token" || s.TrustedRoot == nil {
		t.Fatalf("inline: %+v %v", s, err)
	}
	scIssuer := sc
	scIssuer.Issuer = "https://issuer.example.com"
	if s, err = sigstore.SignerFromConfig(cfg, "file", scIssuer); err != nil || s.Token != "file-token" {
		t.Fatalf("file: %+v %v", s, err)
	}
	// The issuer is part of the consumer identity, as in the reference.
	if _, err = sigstore.SignerFromConfig(cfg, "file", sc); !errors.Is(err, sigstore.ErrNoToken) || !strings.Contains(err.Error(), "type=SigstoreSigner/v1alpha1, signature=file") {
		t.Fatalf("no token: %v", err)
	}
	t.Setenv(sigstore.EnvIDToken, "env-token")
	if s, err = sigstore.SignerFromConfig(cfg, "inline", sc); err != nil || s.Token != "env-token" {
		t.Fatalf("env: %+v %v", s, err)
	}
	if _, err = sigstore.SignerFromConfig(cfg, "inline", sigstore.SignConfig{Type: sigstore.SignConfigType}); !errors.Is(err, sigstore.ErrNoSigningConfig) {
		t.Fatalf("no signing config: %v", err)
	}
	if _, err = sigstore.TrustedRootFromConfig(cfg, "other"); !errors.Is(err, sigstore.ErrNoTrustedRoot) || !strings.Contains(err.Error(), "type=SigstoreVerifier/v1alpha1, signature=other") {
		t.Fatalf("no trusted root: %v", err)
	}
	if _, err = sigstore.TrustedRootFromConfig(cfg, "broken"); err == nil || !strings.Contains(err.Error(), cfgPath) {
		t.Fatalf("broken trusted root: %v", err)
	}
}

// FuzzBundle: untrusted signature values never panic the verifier or the
// identity reader.
func FuzzBundle(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"certificate":{"rawBytes":"AAAA"}},"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"AAAA"},"signature":"AAAA"}}`)))
	f.Add("e30=")
	f.Add("")
	tr, err := sigstore.ParseTrustedRoot([]byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`))
	if err != nil {
		f.Fatal(err)
	}
	v := &sigstore.Verifier{Config: sigstore.VerifyConfig{Type: sigstore.VerifyConfigType, CertificateOIDCIssuer: "https://i.example.com", CertificateIdentity: "a"}, TrustedRoot: tr}
	d := digestOf("fuzz")
	f.Fuzz(func(t *testing.T, value string) {
		sigstore.BundleIdentity(value)
		if _, err := v.Verify(d, descriptor.SignatureSpec{Algorithm: sigstore.Algorithm, MediaType: sigstore.MediaType, Value: value}); err == nil {
			t.Fatalf("verified %q against an empty trusted root", value)
		}
	})
}
