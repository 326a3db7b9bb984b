package resource

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository/ocimap"
)

const app = "acme.org/app"

type fixture struct{ ns, host string }

// setup creates a namespace with a Repository over a fresh registry.
func setup(t *testing.T) fixture {
	t.Helper()
	f := fixture{ns: testenv.Namespace(t), host: testenv.StartRegistry(t)}
	repo := &v1alpha1.Repository{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "repo"},
		Spec: v1alpha1.RepositorySpec{
			RepositorySpec: &apiextensionsv1.JSON{Raw: []byte(fmt.Sprintf(`{"type":"OCIRegistry","baseUrl":"http://%s"}`, f.host))},
			Interval:       metav1.Duration{Duration: time.Minute},
		},
	}
	if err := testenv.Current.Client.Create(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f fixture) component(t *testing.T, name, semver string, interval time.Duration) {
	t.Helper()
	comp := &v1alpha1.Component{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name},
		Spec: v1alpha1.ComponentSpec{
			RepositoryRef: v1alpha1.LocalObjectReference{Name: "repo"}, Component: app, Semver: semver,
			Interval: metav1.Duration{Duration: interval},
		},
	}
	if err := testenv.Current.Client.Create(context.Background(), comp); err != nil {
		t.Fatal(err)
	}
}

func (f fixture) resource(t *testing.T, name string, id v1alpha1.ResourceID, mutate func(*v1alpha1.ResourceSpec)) *v1alpha1.Resource {
	t.Helper()
	res := &v1alpha1.Resource{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name},
		Spec:       v1alpha1.ResourceSpec{ComponentRef: v1alpha1.LocalObjectReference{Name: "app"}, Resource: id},
	}
	if mutate != nil {
		mutate(&res.Spec)
	}
	if err := testenv.Current.Client.Create(context.Background(), res); err != nil {
		t.Fatal(err)
	}
	return res
}

func byName(name string, path ...string) v1alpha1.ResourceID {
	ref := &v1alpha1.ResourceReference{Resource: v1alpha1.Identity{"name": name}}
	for _, p := range path {
		ref.ReferencePath = append(ref.ReferencePath, v1alpha1.Identity{"name": p})
	}
	return v1alpha1.ResourceID{ByReference: ref}
}

func waitReady(t *testing.T, res *v1alpha1.Resource) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(context.Background(), res, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})
}

func waitStalled(t *testing.T, res *v1alpha1.Resource, reason string, msgParts ...string) {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := testenv.WantCondition(ctx, res, v1alpha1.ReadyCondition, metav1.ConditionFalse, reason); err != nil {
			return err
		}
		return testenv.WantCondition(ctx, res, v1alpha1.StalledCondition, metav1.ConditionTrue, reason)
	})
	c, _ := testenv.Condition(ctx, res, v1alpha1.ReadyCondition)
	for _, p := range msgParts {
		if !strings.Contains(c.Message, p) {
			t.Errorf("Ready message %q does not contain %q", c.Message, p)
		}
	}
}

// ociResource is an ociArtifact resource for an image in the test registry.
func ociResource(t *testing.T, host, name, repo, tag string, recorded digest.Digest) testenv.Resource {
	t.Helper()
	acc, err := descriptor.NewTyped(map[string]string{"type": "ociArtifact", "imageReference": host + "/" + repo + ":" + tag})
	if err != nil {
		t.Fatal(err)
	}
	return testenv.Resource{
		Name: name, Version: tag, Type: "ociImage", Access: &acc,
		Digest: &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "ociArtifactDigest/v1", Value: recorded.Encoded()},
	}
}

// A local blob resolves by identity with its content verified; an OCI image
// resource publishes its registry, repository, tag and digest after its
// manifest and blobs were checked against the recorded digest.
func TestByReference(t *testing.T) {
	f := setup(t)
	img := testenv.PushImage(t, f.host, "acme/podinfo", "6.0.0", []byte("layer")).Digest
	local := testenv.PushImage(t, f.host, ocimap.RepositoryName(app), "", []byte("local layer"))
	testenv.Push(t, f.host, testenv.CV{Name: app, Version: "1.0.0", Resources: []testenv.Resource{
		{Name: "config", Version: "1.0.0", Data: []byte("key: value\n"), Labels: map[string]any{"acme.org/kind": "config"}},
		ociResource(t, f.host, "image", "acme/podinfo", "6.0.0", img),
		{Name: "local-image", Version: "1.0.0", Type: "ociImage", Artifact: &local},
	}})
	f.component(t, "app", "1.x", time.Minute)

	cfg := f.resource(t, "config", byName("config"), func(s *v1alpha1.ResourceSpec) {
		s.AdditionalStatusFields = &apiextensionsv1.JSON{Raw: []byte(`{"oci":"resource.access.toOCI()","digestValue":"resource.digest.value"}`)}
	})
	waitReady(t, cfg)
	r := cfg.Status.Resource
	if r == nil || r.Name != "config" || r.Type != "plainText" || r.Version != "1.0.0" || r.Digest == nil ||
		r.Digest.HashAlgorithm != "SHA-256" || r.Digest.NormalisationAlgorithm != "genericBlobDigest/v1" || len(r.Digest.Value) != 64 {
		t.Fatalf("status.resource %+v", r)
	}
	// toOCI() of a local blob names it in the component's registry, where
	// an OCI client pulls exactly the content.
	var additional struct {
		OCI         map[string]string `json:"oci"`
		DigestValue string            `json:"digestValue"`
	}
	if err := json.Unmarshal(cfg.Status.Additional.Raw, &additional); err != nil {
		t.Fatal(err)
	}
	if additional.DigestValue != r.Digest.Value {
		t.Errorf("resource.digest.value %q, want %q", additional.DigestValue, r.Digest.Value)
	}
	blobDigest := "sha256:" + r.Digest.Value
	wantOCI := map[string]string{"host": f.host, "registry": f.host, "repository": ocimap.RepositoryName(app), "tag": "", "digest": blobDigest, "reference": blobDigest}
	if !maps.Equal(additional.OCI, wantOCI) {
		t.Errorf("toOCI() of a local blob %v, want %v", additional.OCI, wantOCI)
	}
	if got := pullBlob(t, additional.OCI["registry"], additional.OCI["repository"], additional.OCI["digest"]); string(got) != "key: value\n" {
		t.Errorf("pulled %q from the toOCI() coordinates", got)
	}
	var access map[string]any
	if err := json.Unmarshal(r.Access.Raw, &access); err != nil || access["localReference"] == nil {
		t.Fatalf("access %s (%v)", r.Access.Raw, err)
	}
	if len(r.Labels) != 1 || r.Labels[0].Name != "acme.org/kind" {
		t.Fatalf("labels %+v", r.Labels)
	}
	if cfg.Status.OCIArtifact != nil {
		t.Errorf("plain blob published as OCI artifact: %+v", cfg.Status.OCIArtifact)
	}
	if c := cfg.Status.Component; c == nil || c.Component != app || c.Version != "1.0.0" || c.Digest == nil {
		t.Fatalf("status.component %+v", c)
	}

	image := f.resource(t, "image", byName("image"), func(s *v1alpha1.ResourceSpec) {
		s.AdditionalStatusFields = &apiextensionsv1.JSON{Raw: []byte(`{"registry":"resource.access.toOCI().registry","oci":{"tag":"resource.access.toOCI().tag","component":"component.component + ':' + component.version"}}`)}
	})
	waitReady(t, image)
	wantAdditional := `{"oci":{"component":"acme.org/app:1.0.0","tag":"6.0.0"},"registry":"` + f.host + `"}`
	if image.Status.Additional == nil || string(image.Status.Additional.Raw) != wantAdditional {
		t.Errorf("status.additional %v, want %s", image.Status.Additional, wantAdditional)
	}
	// An image stored with the component version is published by digest
	// in the component's repository.
	localImage := f.resource(t, "local-image", byName("local-image"), func(s *v1alpha1.ResourceSpec) {
		s.AdditionalStatusFields = &apiextensionsv1.JSON{Raw: []byte(`{"ref":"toOCI(resource.access).registry + '/' + toOCI(resource.access).repository + '@' + toOCI(resource.access).digest"}`)}
	})
	waitReady(t, localImage)
	wantLocal := v1alpha1.OCIArtifactInfo{Registry: f.host, Repository: ocimap.RepositoryName(app), Digest: local.Digest.String(),
		Reference: f.host + "/" + ocimap.RepositoryName(app) + "@" + local.Digest.String()}
	if o := localImage.Status.OCIArtifact; o == nil || *o != wantLocal {
		t.Fatalf("ociArtifact %+v, want %+v", o, wantLocal)
	}
	if want := `{"ref":"` + wantLocal.Reference + `"}`; localImage.Status.Additional == nil || string(localImage.Status.Additional.Raw) != want {
		t.Errorf("status.additional %v, want %s", localImage.Status.Additional, want)
	}

	badCEL := f.resource(t, "bad-cel", byName("config"), func(s *v1alpha1.ResourceSpec) {
		s.AdditionalStatusFields = &apiextensionsv1.JSON{Raw: []byte(`{"x":"resource.labels.toOCI().registry"}`)}
	})
	waitStalled(t, badCEL, v1alpha1.InvalidSpecReason, "additionalStatusFields.x", "toOCI")
	o := image.Status.OCIArtifact
	want := v1alpha1.OCIArtifactInfo{Registry: f.host, Repository: "acme/podinfo", Tag: "6.0.0", Reference: f.host + "/acme/podinfo:6.0.0"}
	if o == nil || *o != want {
		t.Fatalf("ociArtifact %+v, want %+v", o, want)
	}
}

// pullBlob fetches a blob by digest with oras, as a user of the published
// coordinates would.
func pullBlob(t *testing.T, registry, repository, dg string) []byte {
	t.Helper()
	repo, err := remote.NewRepository(registry + "/" + repository)
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	ctx := context.Background()
	desc, err := repo.Blobs().Resolve(ctx, dg)
	if err != nil {
		t.Fatalf("resolving %s/%s@%s: %v", registry, repository, dg, err)
	}
	data, err := content.FetchAll(ctx, repo.Blobs(), desc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Follows component references: the resource of a referenced version is
// resolved, and status.component names that version.
func TestReferencePath(t *testing.T) {
	f := setup(t)
	testenv.Push(t, f.host, testenv.CV{Name: "acme.org/backend", Version: "2.0.0", Resources: []testenv.Resource{
		{Name: "manifests", Version: "2.0.0", Data: []byte("kind: ConfigMap\n")},
	}})
	testenv.Push(t, f.host, testenv.CV{Name: app, Version: "1.0.0", References: []testenv.Reference{
		{Name: "backend", Component: "acme.org/backend", Version: "2.0.0"},
	}})
	f.component(t, "app", ">=1", time.Minute)
	res := f.resource(t, "manifests", byName("manifests", "backend"), nil)
	waitReady(t, res)
	if c := res.Status.Component; c.Component != "acme.org/backend" || c.Version != "2.0.0" || c.Digest == nil {
		t.Fatalf("status.component %+v", c)
	}
	missing := f.resource(t, "missing", byName("manifests", "frontend"), nil)
	waitStalled(t, missing, v1alpha1.GetReferenceFailedReason, "frontend")
}

// bySelector picks the one resource matching labels and type; a selector
// matching several resources is refused.
func TestBySelector(t *testing.T) {
	f := setup(t)
	testenv.Push(t, f.host, testenv.CV{Name: app, Version: "1.0.0", Resources: []testenv.Resource{
		{Name: "chart", Version: "1.0.0", Type: "helmChart", Data: []byte("chart"), Labels: map[string]any{"acme.org/purpose": "deploy", "acme.org/tier": 1}},
		{Name: "docs", Version: "1.0.0", Data: []byte("docs"), Labels: map[string]any{"acme.org/purpose": "docs"}},
		{Name: "notes", Version: "1.0.0", Data: []byte("notes")},
	}})
	f.component(t, "app", ">=1", time.Minute)
	sel := func(s v1alpha1.ResourceSelector) v1alpha1.ResourceID { return v1alpha1.ResourceID{BySelector: &s} }

	deploy := f.resource(t, "deploy", sel(v1alpha1.ResourceSelector{MatchLabels: map[string]string{"acme.org/purpose": "deploy", "acme.org/tier": "1"}}), nil)
	waitReady(t, deploy)
	if deploy.Status.Resource.Name != "chart" {
		t.Fatalf("selected %q", deploy.Status.Resource.Name)
	}
	typed := f.resource(t, "typed", sel(v1alpha1.ResourceSelector{Type: "helmChart", MatchIdentity: map[string]string{"version": "1.0.0"}}), nil)
	waitReady(t, typed)
	if typed.Status.Resource.Name != "chart" {
		t.Fatalf("selected %q", typed.Status.Resource.Name)
	}
	ambiguous := f.resource(t, "ambiguous", sel(v1alpha1.ResourceSelector{Type: "plainText"}), nil)
	waitStalled(t, ambiguous, v1alpha1.GetResourceFailedReason, "name=docs", "name=notes", "unique")
	none := f.resource(t, "none", sel(v1alpha1.ResourceSelector{MatchLabels: map[string]string{"acme.org/purpose": "test"}}), nil)
	waitStalled(t, none, v1alpha1.GetResourceFailedReason, "not found")
}

// A resource whose content does not match its recorded digest fails
// verification (policy Always) and is published with policy Never.
func TestTamperedDigest(t *testing.T) {
	f := setup(t)
	testenv.PushImage(t, f.host, "acme/podinfo", "6.0.0", []byte("layer"))
	testenv.Push(t, f.host, testenv.CV{Name: app, Version: "1.0.0", Resources: []testenv.Resource{
		ociResource(t, f.host, "image", "acme/podinfo", "6.0.0", digest.FromString("something else")),
	}})
	f.component(t, "app", ">=1", time.Minute)
	always := f.resource(t, "always", byName("image"), nil)
	waitStalled(t, always, v1alpha1.VerificationFailedReason, "digest mismatch", "resource image")
	if always.Status.Resource != nil {
		t.Errorf("unverified resource published: %+v", always.Status.Resource)
	}
	never := f.resource(t, "never", byName("image"), func(s *v1alpha1.ResourceSpec) { s.VerificationPolicy = v1alpha1.VerificationPolicyNever })
	waitReady(t, never)
}

// A new component version moves the Resource along.
func TestFollowsComponentVersion(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	push := func(v string) {
		testenv.Push(t, f.host, testenv.CV{Name: app, Version: v, Resources: []testenv.Resource{{Name: "config", Version: v, Data: []byte(v)}}})
	}
	push("1.0.0")
	f.component(t, "app", ">=1", time.Second)
	res := f.resource(t, "config", byName("config"), nil)
	waitReady(t, res)
	push("1.1.0")
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := testenv.WantCondition(ctx, res, v1alpha1.ReadyCondition, metav1.ConditionTrue, ""); err != nil {
			return err
		}
		if res.Status.Resource.Version != "1.1.0" || res.Status.Component.Version != "1.1.0" {
			return fmt.Errorf("resource %s of component %s", res.Status.Resource.Version, res.Status.Component.Version)
		}
		return nil
	})
}

// A Resource waits for its Component; a suspended one is left alone.
func TestWaitingAndSuspend(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	f := setup(t)
	res := f.resource(t, "config", byName("config"), nil)
	testenv.Eventually(t, 20*time.Second, func() error {
		return testenv.WantCondition(ctx, res, v1alpha1.ReconcilingCondition, metav1.ConditionTrue, v1alpha1.ReferenceNotReadyReason)
	})
	res.Spec.Suspend = true
	if err := c.Update(ctx, res); err != nil {
		t.Fatal(err)
	}
	testenv.Push(t, f.host, testenv.CV{Name: app, Version: "1.0.0", Resources: []testenv.Resource{{Name: "config", Version: "1.0.0", Data: []byte("x")}}})
	f.component(t, "app", ">=1", time.Minute)
	testenv.Consistently(t, 3*time.Second, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(res), res); err != nil {
			return err
		}
		if res.Status.Resource != nil {
			return fmt.Errorf("suspended resource was resolved")
		}
		return nil
	})
	res.Spec.Suspend = false
	if err := c.Update(ctx, res); err != nil {
		t.Fatal(err)
	}
	waitReady(t, res)
}

// Deleting a Resource that a Deployer references waits for the Deployer.
func TestDeletionWaitsForDeployer(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	f := setup(t)
	testenv.Push(t, f.host, testenv.CV{Name: app, Version: "1.0.0", Resources: []testenv.Resource{{Name: "config", Version: "1.0.0", Data: []byte("x")}}})
	f.component(t, "app", ">=1", time.Minute)
	res := f.resource(t, "config", byName("config"), nil)
	waitReady(t, res)
	dep := &v1alpha1.Deployer{
		ObjectMeta: metav1.ObjectMeta{Name: "deploy-" + f.ns},
		Spec:       v1alpha1.DeployerSpec{ResourceRef: v1alpha1.ObjectKey{Namespace: f.ns, Name: "config"}},
	}
	if err := c.Create(ctx, dep); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, res); err != nil {
		t.Fatal(err)
	}
	waitStalled(t, res, v1alpha1.DeletionBlockedReason, "Deployer "+dep.Name)
	if err := c.Delete(ctx, dep); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(res), res); !apierrors.IsNotFound(err) {
			return fmt.Errorf("resource still there: %v", err)
		}
		return nil
	})
}

// A version re-pushed under the same tag after the Component verified it
// is not served: the Resource waits (ComponentDriftResolutionInProgress)
// until the Component has resolved the new content.
func TestComponentDrift(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	f := setup(t)
	push := func(content string) {
		testenv.Push(t, f.host, testenv.CV{Name: app, Version: "1.0.0", Resources: []testenv.Resource{{Name: "config", Version: "1.0.0", Data: []byte(content)}}})
	}
	push("original")
	f.component(t, "app", ">=1", time.Hour)
	res := f.resource(t, "config", byName("config"), func(s *v1alpha1.ResourceSpec) { s.Interval = metav1.Duration{Duration: time.Second} })
	waitReady(t, res)
	digestBefore := *res.Status.Resource.Digest

	push("replaced")
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, res, v1alpha1.ReadyCondition, metav1.ConditionFalse, v1alpha1.ComponentDriftResolutionInProgress)
	})
	if *res.Status.Resource.Digest != digestBefore {
		t.Fatalf("drifted content published: %+v", res.Status.Resource.Digest)
	}

	// The Component re-resolves (here on request instead of its interval).
	comp := &v1alpha1.Component{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: "app"}, comp); err != nil {
		t.Fatal(err)
	}
	comp.Annotations = map[string]string{"reconcile.delivery.ocm.software/requestedAt": time.Now().String()}
	if err := c.Update(ctx, comp); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := testenv.WantCondition(ctx, res, v1alpha1.ReadyCondition, metav1.ConditionTrue, ""); err != nil {
			return err
		}
		if *res.Status.Resource.Digest == digestBefore {
			return fmt.Errorf("digest not updated")
		}
		return nil
	})
}

// Content the controller cannot read (here a Helm repository access) keeps
// its recorded digest, and the Ready message says it was not verified.
func TestUnreadableContentTrusted(t *testing.T) {
	f := setup(t)
	acc, err := descriptor.NewTyped(map[string]string{"type": "helm/v1", "helmRepository": "https://charts.example.org", "helmChart": "podinfo:6.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Push(t, f.host, testenv.CV{Name: app, Version: "1.0.0", Resources: []testenv.Resource{{
		Name: "chart", Version: "6.0.0", Type: "helmChart", Access: &acc,
		Digest: &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "genericBlobDigest/v1", Value: digest.FromString("chart").Encoded()},
	}}})
	f.component(t, "app", ">=1", time.Minute)
	res := f.resource(t, "chart", byName("chart"), nil)
	waitReady(t, res)
	c, _ := testenv.Condition(context.Background(), res, v1alpha1.ReadyCondition)
	if !strings.Contains(c.Message, "content not verified") || !strings.Contains(c.Message, "helm/v1") {
		t.Fatalf("Ready message %q", c.Message)
	}
	if res.Status.OCIArtifact != nil {
		t.Fatalf("helm access published as OCI artifact: %+v", res.Status.OCIArtifact)
	}
}
