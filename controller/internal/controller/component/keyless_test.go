package component

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
	"github.com/ocmgo/ocm/controller/internal/resolve"
	"github.com/ocmgo/ocm/internal/sigstoretest"
	"github.com/ocmgo/ocm/signing/sigstore"
)

// A keyless (Sigstore) signature verifies inside the cluster with the
// trusted root and the identity/issuer policy from a Secret, offline; the
// Ready message names the signer. A policy for another identity, and a
// Secret without a policy, are refused.
func TestVerifyKeylessFromSecret(t *testing.T) {
	st := sigstoretest.Shared(t)
	f := setup(t)
	f.push(t, "1.0.0", nil)
	services, err := root.NewSigningConfigFromPath(st.SigningConfig)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Sign(t, f.host, app, "1.0.0", "keyless", &sigstore.Signer{Services: services, Token: st.Token(t, "alice@example.com")})

	policy := func(identity string) []byte {
		return []byte("type: SigstoreVerificationConfiguration/v1alpha1\ncertificateIdentity: " + identity + "\ncertificateOIDCIssuer: " + st.Issuer.URL + "\n")
	}
	f.secret(t, "sigstore", map[string][]byte{"keyless": st.TrustedRootJSON, "keyless" + resolve.KeylessVerificationSuffix: policy("alice@example.com")})
	comp := f.component(t, "app", ">=1", time.Minute, func(s *v1alpha1.ComponentSpec) {
		s.Verify = []v1alpha1.Verification{{Signature: "keyless", SecretRef: &v1alpha1.LocalObjectReference{Name: "sigstore"}}}
	})
	waitReady(t, comp, "1.0.0")
	if msg := readyMessage(t, comp); !strings.Contains(msg, "keyless signed by identity alice@example.com, issuer "+st.Issuer.URL) {
		t.Errorf("Ready message %q does not name the signer", msg)
	}
	if d := comp.Status.Component.Digest; d == nil || d.Value != storedSignatureDigest(t, f.host, "1.0.0", "keyless") {
		t.Fatalf("digest %+v is not the signed digest", d)
	}

	f.secret(t, "mallory", map[string][]byte{"keyless": st.TrustedRootJSON, "keyless" + resolve.KeylessVerificationSuffix: policy("mallory@example.com")})
	wrong := f.component(t, "wrong-identity", ">=1", time.Minute, func(s *v1alpha1.ComponentSpec) {
		s.Verify = []v1alpha1.Verification{{Signature: "keyless", SecretRef: &v1alpha1.LocalObjectReference{Name: "mallory"}}}
	})
	waitFailed(t, wrong, v1alpha1.VerificationFailedReason, `signature "keyless"`, "mallory@example.com")
	if wrong.Status.Component.Version != "" {
		t.Errorf("a version that failed verification was published: %+v", wrong.Status.Component)
	}

	f.secret(t, "no-policy", map[string][]byte{"keyless": st.TrustedRootJSON})
	nopolicy := f.component(t, "no-policy", ">=1", time.Minute, func(s *v1alpha1.ComponentSpec) {
		s.Verify = []v1alpha1.Verification{{Signature: "keyless", SecretRef: &v1alpha1.LocalObjectReference{Name: "no-policy"}}}
	})
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := testenv.WantCondition(context.Background(), nopolicy, v1alpha1.ReadyCondition, metav1.ConditionFalse, v1alpha1.GetComponentVersionFailedReason); err != nil {
			return err
		}
		if msg := readyMessage(t, nopolicy); !strings.Contains(msg, "keyless"+resolve.KeylessVerificationSuffix) {
			return fmt.Errorf("Ready message %q does not name the missing policy", msg)
		}
		return nil
	})
}
