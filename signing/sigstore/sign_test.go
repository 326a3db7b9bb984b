package sigstore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/sigstoretest"
	"github.com/ocmgo/ocm/signing/sigstore"
)

func digestOf(s string) descriptor.DigestSpec {
	sum := sha256.Sum256([]byte(s))
	return descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "jsonNormalisation/v4alpha1", Value: hex.EncodeToString(sum[:])}
}

func stackSigner(t *testing.T, st *sigstoretest.Stack, signingConfig, email string) *sigstore.Signer {
	t.Helper()
	sc, err := root.NewSigningConfigFromPath(signingConfig)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := sigstore.ParseTrustedRoot(st.TrustedRootJSON)
	if err != nil {
		t.Fatal(err)
	}
	return &sigstore.Signer{Services: sc, Token: st.Token(t, email), TrustedRoot: tr}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	st := sigstoretest.Shared(t)
	t.Logf("stack started in %s", st.Startup)
	tr, err := sigstore.ParseTrustedRoot(st.TrustedRootJSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, config string }{{"tsa+rekor", st.SigningConfig}, {"tsa only", st.SigningConfigTSA}} {
		t.Run(tc.name, func(t *testing.T) {
			d := digestOf(tc.name)
			sig, err := stackSigner(t, st, tc.config, "alice@example.com").Sign(d)
			if err != nil {
				t.Fatal(err)
			}
			if sig.Algorithm != sigstore.Algorithm || sig.MediaType != sigstore.MediaType {
				t.Fatalf("signature %+v", sig)
			}
			cfg := sigstore.VerifyConfig{Type: "SigstoreVerificationConfiguration/v1alpha1", CertificateIdentity: "alice@example.com", CertificateOIDCIssuer: st.Issuer.URL}
			if tc.config == st.SigningConfigTSA {
				cfg.PrivateInfrastructure = true
			}
			id, err := (&sigstore.Verifier{Config: cfg, TrustedRoot: tr}).Verify(d, sig)
			if err != nil {
				t.Fatal(err)
			}
			if id.Subject != "alice@example.com" || id.Issuer != st.Issuer.URL {
				t.Fatalf("identity %+v", id)
			}
		})
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
