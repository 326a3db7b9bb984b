package component

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/oci"
	"github.com/ocmgo/ocm/signing"
)

const app = "acme.org/app"

// fixture is a namespace with a Repository (Ready) over a fresh registry.
type fixture struct {
	ns, host string
}

func setup(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	f := fixture{ns: testenv.Namespace(t), host: testenv.StartRegistry(t)}
	repo := &v1alpha1.Repository{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "repo"},
		Spec: v1alpha1.RepositorySpec{
			RepositorySpec: &apiextensionsv1.JSON{Raw: []byte(fmt.Sprintf(`{"type":"OCIRegistry","baseUrl":"http://%s"}`, f.host))},
			Interval:       metav1.Duration{Duration: time.Minute},
		},
	}
	if err := testenv.Current.Client.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f fixture) push(t *testing.T, version string, labels map[string]any) {
	t.Helper()
	testenv.Push(t, f.host, testenv.CV{Name: app, Version: version, Labels: labels, Resources: []testenv.Resource{
		{Name: "config", Version: version, Data: []byte("config of " + version + "\n")},
	}})
}

func (f fixture) component(t *testing.T, name, semver string, interval time.Duration, mutate func(*v1alpha1.ComponentSpec)) *v1alpha1.Component {
	t.Helper()
	comp := &v1alpha1.Component{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name},
		Spec: v1alpha1.ComponentSpec{
			RepositoryRef: v1alpha1.LocalObjectReference{Name: "repo"}, Component: app, Semver: semver,
			Interval: metav1.Duration{Duration: interval},
		},
	}
	if mutate != nil {
		mutate(&comp.Spec)
	}
	if err := testenv.Current.Client.Create(context.Background(), comp); err != nil {
		t.Fatal(err)
	}
	return comp
}

func (f fixture) secret(t *testing.T, name string, data map[string][]byte) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name}, Data: data}
	if err := testenv.Current.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func waitReady(t *testing.T, comp *v1alpha1.Component, version string) {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := testenv.WantCondition(ctx, comp, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason); err != nil {
			return err
		}
		if comp.Status.Component.Version != version {
			return fmt.Errorf("resolved %q, want %q", comp.Status.Component.Version, version)
		}
		return nil
	})
}

func waitFailed(t *testing.T, comp *v1alpha1.Component, reason string, msgParts ...string) *metav1.Condition {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := testenv.WantCondition(ctx, comp, v1alpha1.ReadyCondition, metav1.ConditionFalse, reason); err != nil {
			return err
		}
		return testenv.WantCondition(ctx, comp, v1alpha1.StalledCondition, metav1.ConditionTrue, reason)
	})
	c, err := testenv.Condition(ctx, comp, v1alpha1.ReadyCondition)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range msgParts {
		if !strings.Contains(c.Message, p) {
			t.Errorf("Ready message %q does not contain %q", c.Message, p)
		}
	}
	return c
}

// storedSignatureDigest reads the signature's digest from the registry.
func storedSignatureDigest(t *testing.T, host, version, name string) string {
	t.Helper()
	reg, err := oci.New(host, "", oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cd, err := repository.FromStore(reg, "test", nil).GetComponentVersion(context.Background(), app, version)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cd.Signatures {
		if s.Name == name {
			return s.Digest.Value
		}
	}
	t.Fatalf("no signature %q", name)
	return ""
}

// An RSASSA-PSS signature verifies with the public key from a Secret; the
// published digest is the signed one; a new version is picked up at the
// next interval.
func TestVerifyPSSAndFollowNewVersion(t *testing.T) {
	f := setup(t)
	key, pub := testenv.KeyPair(t)
	f.push(t, "1.0.0", nil)
	testenv.Sign(t, f.host, app, "1.0.0", "acme", signing.Signer{Algorithm: signing.AlgorithmRSAPSS, Key: key})
	f.secret(t, "keys", map[string][]byte{"acme": pub})
	comp := f.component(t, "app", ">=1.0.0", 2*time.Second, func(s *v1alpha1.ComponentSpec) {
		s.Verify = []v1alpha1.Verification{{Signature: "acme", SecretRef: &v1alpha1.LocalObjectReference{Name: "keys"}}}
	})
	waitReady(t, comp, "1.0.0")
	d := comp.Status.Component.Digest
	if d == nil || d.Value != storedSignatureDigest(t, f.host, "1.0.0", "acme") {
		t.Fatalf("digest %+v is not the signed digest", d)
	}
	if comp.Status.Component.RepositorySpec == nil || !strings.Contains(string(comp.Status.Component.RepositorySpec.Raw), f.host) {
		t.Fatalf("repositorySpec %v", comp.Status.Component.RepositorySpec)
	}
	if !strings.Contains(readyMessage(t, comp), "acme") {
		t.Errorf("Ready message %q does not name the verified signature", readyMessage(t, comp))
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		var evs eventsv1.EventList
		if err := testenv.Current.Client.List(context.Background(), &evs, client.InNamespace(f.ns)); err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.Regarding.Kind == "Component" && e.Regarding.Name == "app" && e.Reason == v1alpha1.SucceededReason && e.Type == corev1.EventTypeNormal {
				return nil
			}
		}
		return fmt.Errorf("no Succeeded event for the Component among %d events", len(evs.Items))
	})

	f.push(t, "1.1.0", nil)
	testenv.Sign(t, f.host, app, "1.1.0", "acme", signing.Signer{Algorithm: signing.AlgorithmRSAPSS, Key: key})
	start := time.Now()
	waitReady(t, comp, "1.1.0")
	t.Logf("version bump picked up after %s (interval 2s)", time.Since(start).Round(time.Millisecond))
	if comp.Status.Component.Digest.Value != storedSignatureDigest(t, f.host, "1.1.0", "acme") {
		t.Fatal("digest not updated with the version")
	}
}

func readyMessage(t *testing.T, comp *v1alpha1.Component) string {
	t.Helper()
	c, err := testenv.Condition(context.Background(), comp, v1alpha1.ReadyCondition)
	if err != nil {
		t.Fatal(err)
	}
	return c.Message
}

// An RSASSA-PKCS1-V1_5 signature verifies with an inline, base64-encoded key.
func TestVerifyPKCS1InlineKey(t *testing.T) {
	f := setup(t)
	key, pub := testenv.KeyPair(t)
	f.push(t, "1.0.0", nil)
	testenv.Sign(t, f.host, app, "1.0.0", "legacy", signing.Signer{Algorithm: signing.AlgorithmRSAPKCS1v15, Key: key})
	comp := f.component(t, "app", "1.x", time.Minute, func(s *v1alpha1.ComponentSpec) {
		s.Verify = []v1alpha1.Verification{{Signature: "legacy", Value: base64.StdEncoding.EncodeToString(pub)}}
	})
	waitReady(t, comp, "1.0.0")
}

// A PEM signature carrying a certificate chain verifies against the root CA
// from a Secret, for both algorithms.
func TestVerifyCertificateChainAgainstCA(t *testing.T) {
	for _, alg := range []string{signing.AlgorithmRSAPSS, signing.AlgorithmRSAPKCS1v15} {
		t.Run(alg, func(t *testing.T) {
			f := setup(t)
			signer, rootPEM := testenv.CertChain(t, alg)
			f.push(t, "1.0.0", nil)
			testenv.Sign(t, f.host, app, "1.0.0", "chain", signer)
			f.secret(t, "ca", map[string][]byte{"chain": rootPEM})
			comp := f.component(t, "app", ">=1", time.Minute, func(s *v1alpha1.ComponentSpec) {
				s.Verify = []v1alpha1.Verification{{Signature: "chain", SecretRef: &v1alpha1.LocalObjectReference{Name: "ca"}}}
			})
			waitReady(t, comp, "1.0.0")

			// A CA that did not issue the chain is refused.
			_, otherRoot := testenv.CertChain(t, alg)
			f.secret(t, "other-ca", map[string][]byte{"chain": otherRoot})
			wrong := f.component(t, "wrong-ca", ">=1", time.Minute, func(s *v1alpha1.ComponentSpec) {
				s.Verify = []v1alpha1.Verification{{Signature: "chain", SecretRef: &v1alpha1.LocalObjectReference{Name: "other-ca"}}}
			})
			waitFailed(t, wrong, v1alpha1.VerificationFailedReason, `signature "chain"`)
		})
	}
}

// A signature made with another key fails with a reason and a message
// naming the signature; a signature name the version lacks likewise.
func TestBadSignature(t *testing.T) {
	f := setup(t)
	key, _ := testenv.KeyPair(t)
	_, otherPub := testenv.KeyPair(t)
	f.push(t, "1.0.0", nil)
	testenv.Sign(t, f.host, app, "1.0.0", "acme", signing.Signer{Algorithm: signing.AlgorithmRSAPSS, Key: key})
	f.secret(t, "keys", map[string][]byte{"acme": otherPub, "absent": otherPub})
	comp := f.component(t, "app", ">=1", time.Minute, func(s *v1alpha1.ComponentSpec) {
		s.Verify = []v1alpha1.Verification{{Signature: "acme", SecretRef: &v1alpha1.LocalObjectReference{Name: "keys"}}}
	})
	waitFailed(t, comp, v1alpha1.VerificationFailedReason, `signature "acme"`)
	if comp.Status.Component.Version != "" {
		t.Errorf("a version that failed verification was published: %+v", comp.Status.Component)
	}
	absent := f.component(t, "absent", ">=1", time.Minute, func(s *v1alpha1.ComponentSpec) {
		s.Verify = []v1alpha1.Verification{{Signature: "absent", SecretRef: &v1alpha1.LocalObjectReference{Name: "keys"}}}
	})
	waitFailed(t, absent, v1alpha1.VerificationFailedReason, `"absent"`)
}

// Deny (the default) keeps the current version when the constraint now
// selects a lower one; Enforce goes down.
func TestDowngradeDenied(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	f := setup(t)
	f.push(t, "1.0.0", nil)
	f.push(t, "1.1.0", nil)
	comp := f.component(t, "app", ">=1.0.0", time.Minute, nil)
	waitReady(t, comp, "1.1.0")
	if comp.Spec.DowngradePolicy != v1alpha1.DowngradePolicyDeny {
		t.Errorf("default downgradePolicy %q", comp.Spec.DowngradePolicy)
	}
	comp.Spec.Semver = "<1.1.0"
	if err := c.Update(ctx, comp); err != nil {
		t.Fatal(err)
	}
	waitFailed(t, comp, v1alpha1.DowngradeDeniedReason, "1.1.0", "1.0.0")
	if comp.Status.Component.Version != "1.1.0" {
		t.Fatalf("status moved to %q", comp.Status.Component.Version)
	}
	comp.Spec.DowngradePolicy = v1alpha1.DowngradePolicyEnforce
	if err := c.Update(ctx, comp); err != nil {
		t.Fatal(err)
	}
	waitReady(t, comp, "1.0.0")
}

// Allow goes down as far as the current version's downgrade label permits.
func TestDowngradeAllowedByLabel(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	f := setup(t)
	f.push(t, "1.0.0", nil)
	f.push(t, "1.1.0", nil)
	f.push(t, "1.2.0", map[string]any{v1alpha1.DowngradePolicyLabel: ">=1.1.0"})
	comp := f.component(t, "app", ">=1.0.0", time.Minute, func(s *v1alpha1.ComponentSpec) { s.DowngradePolicy = v1alpha1.DowngradePolicyAllow })
	waitReady(t, comp, "1.2.0")
	comp.Spec.Semver = "<1.2.0"
	if err := c.Update(ctx, comp); err != nil {
		t.Fatal(err)
	}
	waitReady(t, comp, "1.1.0")
	// 1.1.0 carries no label: going further down is refused.
	comp.Spec.Semver = "<1.1.0"
	if err := c.Update(ctx, comp); err != nil {
		t.Fatal(err)
	}
	waitFailed(t, comp, v1alpha1.DowngradeDeniedReason, v1alpha1.DowngradePolicyLabel)
}

// semver and semverFilter together select the version; nothing matching
// stalls with NoMatchingVersion.
func TestSemverFilter(t *testing.T) {
	f := setup(t)
	for _, v := range []string{"1.0.0", "1.1.0-rc.1", "1.1.0-rc.2", "2.0.0"} {
		f.push(t, v, nil)
	}
	comp := f.component(t, "rc", ">=1.0.0-0 <2", time.Minute, func(s *v1alpha1.ComponentSpec) { s.SemverFilter = `-rc\.` })
	waitReady(t, comp, "1.1.0-rc.2")
	none := f.component(t, "none", ">=3", time.Minute, nil)
	waitFailed(t, none, v1alpha1.NoMatchingVersionReason, ">=3")
}

// An unsigned version without verify entries resolves, with a digest.
func TestUnsigned(t *testing.T) {
	f := setup(t)
	f.push(t, "0.1.0", nil)
	comp := f.component(t, "app", "*", time.Minute, nil)
	waitReady(t, comp, "0.1.0")
	if d := comp.Status.Component.Digest; d == nil || d.Value == "" || d.NormalisationAlgorithm != "jsonNormalisation/v4alpha1" {
		t.Fatalf("digest %+v", d)
	}
}

// A suspended Component does not follow new versions until resumed.
func TestSuspend(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	f := setup(t)
	f.push(t, "1.0.0", nil)
	comp := f.component(t, "app", ">=1", time.Second, nil)
	waitReady(t, comp, "1.0.0")
	comp.Spec.Suspend = true
	if err := c.Update(ctx, comp); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(comp), comp); err != nil {
			return err
		}
		if comp.Status.ObservedGeneration != comp.Generation {
			return fmt.Errorf("suspension not observed yet")
		}
		return nil
	})
	f.push(t, "1.1.0", nil)
	testenv.Consistently(t, 3*time.Second, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(comp), comp); err != nil {
			return err
		}
		if comp.Status.Component.Version != "1.0.0" {
			return fmt.Errorf("suspended component moved to %s", comp.Status.Component.Version)
		}
		return nil
	})
	comp.Spec.Suspend = false
	if err := c.Update(ctx, comp); err != nil {
		t.Fatal(err)
	}
	waitReady(t, comp, "1.1.0")
}

// Deleting a Component that a Resource references waits for the Resource.
func TestDeletionWaitsForResource(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	f := setup(t)
	f.push(t, "1.0.0", nil)
	comp := f.component(t, "app", ">=1", time.Minute, nil)
	waitReady(t, comp, "1.0.0")
	res := &v1alpha1.Resource{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "config"},
		Spec: v1alpha1.ResourceSpec{
			ComponentRef: v1alpha1.LocalObjectReference{Name: "app"},
			Resource:     v1alpha1.ResourceID{ByReference: &v1alpha1.ResourceReference{Resource: v1alpha1.Identity{"name": "config"}}},
		},
	}
	if err := c.Create(ctx, res); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, comp); err != nil {
		t.Fatal(err)
	}
	waitFailed(t, comp, v1alpha1.DeletionBlockedReason, "Resource "+f.ns+"/config")
	if err := c.Delete(ctx, res); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(comp), comp); !apierrors.IsNotFound(err) {
			return fmt.Errorf("component still there: %v", err)
		}
		return nil
	})
}
