package deployer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
	"github.com/ocmgo/ocm/controller/internal/deploy"
	"github.com/ocmgo/ocm/controller/internal/resolve"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ocimap"
)

func TestMain(m *testing.M) {
	cacheDir, err := os.MkdirTemp("", "deployer-cache-")
	if err != nil {
		panic(err)
	}
	code := testenv.Main(m, func(mgr ctrl.Manager) error {
		return (&Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), CacheDir: cacheDir, CacheMaxBytes: 64 << 20}).SetupWithManager(mgr)
	})
	os.RemoveAll(cacheDir)
	os.Exit(code)
}

func cms(ns string, names ...string) []byte {
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  version: %q\n---\n", n, ns, n)
	}
	return b.Bytes()
}

// markResolved sets a Resource's status as the Resource reconciler does once it
// resolved (and verified) component:version in the registry at host: the
// component digest recomputed now, the resource by name.
func markResolved(t *testing.T, ns, name, host, component, version, resName string) {
	t.Helper()
	resolved(t, ns, name, host, component, version, resName)()
}

// resolved reads component:version now and returns a function that
// records it in the Resource's status (see markResolved).
func resolved(t *testing.T, ns, name, host, component, version, resName string) func() {
	t.Helper()
	ctx := context.Background()
	c := testenv.Current.Client
	res := &v1alpha1.Resource{}
	err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, res)
	if apierrors.IsNotFound(err) {
		res = &v1alpha1.Resource{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: v1alpha1.ResourceSpec{
				ComponentRef: v1alpha1.LocalObjectReference{Name: "component"},
				Resource:     v1alpha1.ResourceID{ByReference: &v1alpha1.ResourceReference{Resource: v1alpha1.Identity{"name": resName}}},
			},
		}
		if err := c.Create(ctx, res); err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	repoSpec := []byte(fmt.Sprintf(`{"type":"OCIRegistry","baseUrl":"http://%s"}`, host))
	repo, err := repository.Open(ctx, reference.Repository{Type: reference.TypeOCI, BaseURL: "http://" + host})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	g, err := resolve.CheckGraph(ctx, repo, component, version)
	if err != nil {
		t.Fatal(err)
	}
	dg, err := resolve.DigestOf(g.Root.Digested, resolve.DefaultNormalisation, resolve.DefaultHash)
	if err != nil {
		t.Fatal(err)
	}
	idx := g.Root.Digested.Component.SelectResources(descriptor.Identity{"name": resName})
	if len(idx) != 1 {
		t.Fatalf("resource %s: %v", resName, idx)
	}
	info, err := resolve.ResourceInfo(&g.Root.Digested.Component.Resources[idx[0]])
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		res.Status.Resource = info
		res.Status.Component = &v1alpha1.ComponentInfo{RepositorySpec: &apiextensionsv1.JSON{Raw: repoSpec}, Component: component, Version: version, Digest: dg}
		res.Status.ObservedGeneration = res.Generation
		apimeta.SetStatusCondition(&res.Status.Conditions, metav1.Condition{Type: v1alpha1.ReadyCondition, Status: metav1.ConditionTrue, Reason: v1alpha1.SucceededReason, Message: version, ObservedGeneration: res.Generation})
		if err := c.Status().Update(ctx, res); err != nil {
			t.Fatal(err)
		}
	}
}

func getCM(ns, name string) (*corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{}
	err := testenv.Current.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, cm)
	return cm, err
}

func wantGone(ns, name string) error {
	if _, err := getCM(ns, name); !apierrors.IsNotFound(err) {
		return fmt.Errorf("configmap %s/%s still exists (%v)", ns, name, err)
	}
	return nil
}

func TestDeployerLifecycle(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	const comp = "acme.org/app"
	testenv.Push(t, host, testenv.CV{Name: comp, Version: "1.0.0", Resources: []testenv.Resource{
		{Name: "manifests", Version: "1.0.0", Type: "kubernetes-manifest", Data: cms(ns, "a", "b"), MediaType: "application/x-yaml"},
	}})
	markResolved(t, ns, "app", host, comp, "1.0.0", "manifests")

	d := &v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "lifecycle-" + ns}, Spec: v1alpha1.DeployerSpec{ResourceRef: v1alpha1.ObjectKey{Namespace: ns, Name: "app"}}}
	if err := c.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})
	if len(d.Status.Deployed) != 2 || d.Status.Deployed[0].Name != "a" || d.Status.Deployed[0].UID == "" {
		t.Fatalf("deployed %+v", d.Status.Deployed)
	}
	id := deploy.ApplySetID(d.Name, "", v1alpha1.KindDeployer, v1alpha1.GroupVersion.Group)
	if d.Labels[deploy.LabelApplySetID] != id || d.Annotations[deploy.AnnotationApplySetGroupKinds] != "ConfigMap" || d.Annotations[deploy.AnnotationApplySetAdditionalNSes] != ns {
		t.Errorf("parent metadata: labels %v annotations %v", d.Labels, d.Annotations)
	}
	for _, f := range []string{v1alpha1.DeployerApplySetPruneFinalizer, v1alpha1.DeployerWatchFinalizer} {
		if !controllerHas(d.Finalizers, f) {
			t.Errorf("finalizer %s missing: %v", f, d.Finalizers)
		}
	}
	a, err := getCM(ns, "a")
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{
		deploy.LabelApplySetPartOf: id, labelManagedBy: managerName, labelName: "app", labelVersion: "1.0.0", labelPartOf: d.Name,
	}
	for k, v := range wantLabels {
		if a.Labels[k] != v {
			t.Errorf("label %s=%q, want %q", k, a.Labels[k], v)
		}
	}
	if a.Annotations[annComponentName] != comp || a.Annotations[annComponentVer] != "1.0.0" || a.Annotations[annDigestPrefix+"value"] == "" {
		t.Errorf("annotations %v", a.Annotations)
	}
	if len(a.OwnerReferences) != 1 || a.OwnerReferences[0].UID != d.UID {
		t.Errorf("owner references %v", a.OwnerReferences)
	}

	// Drift: an edit and a deletion are undone through the informers.
	a.Data["version"] = "edited"
	if err := c.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "b"}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	testenv.Eventually(t, 30*time.Second, func() error {
		a, err := getCM(ns, "a")
		if err != nil || a.Data["version"] != "a" {
			return fmt.Errorf("a not restored: %v %v", err, a.Data)
		}
		_, err = getCM(ns, "b")
		return err
	})
	t.Logf("drift (edit + delete) corrected in %s", time.Since(start).Round(time.Millisecond))

	// v2 drops b: it is pruned; the latency is from the Resource status change.
	testenv.Push(t, host, testenv.CV{Name: comp, Version: "2.0.0", Resources: []testenv.Resource{
		{Name: "manifests", Version: "2.0.0", Type: "kubernetes-manifest", Data: cms(ns, "a", "c"), MediaType: "application/x-yaml"},
	}})
	start = time.Now()
	markResolved(t, ns, "app", host, comp, "2.0.0", "manifests")
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := wantGone(ns, "b"); err != nil {
			return err
		}
		_, err := getCM(ns, "c")
		return err
	})
	t.Logf("reconcile latency, Resource status change to v2 applied and pruned: %s", time.Since(start).Round(time.Millisecond))
	testenv.Eventually(t, 10*time.Second, func() error {
		return testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})

	// v3 is tampered: the descriptor records the digest of other content
	// than the blob holds. Nothing of it may be applied.
	pushTampered(t, host, comp, "3.0.0", cms(ns, "a", "evil"), cms(ns, "a", "d"))
	markResolved(t, ns, "app", host, comp, "3.0.0", "manifests")
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionFalse, v1alpha1.VerificationFailedReason)
	})
	testenv.Consistently(t, 2*time.Second, func() error {
		for _, n := range []string{"evil", "d"} {
			if err := wantGone(ns, n); err != nil {
				return err
			}
		}
		_, err := getCM(ns, "c") // v2's objects stay
		return err
	})

	// Deletion prunes everything the Deployer applied.
	if err := c.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		for _, n := range []string{"a", "c"} {
			if err := wantGone(ns, n); err != nil {
				return err
			}
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(d), &v1alpha1.Deployer{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("deployer still there: %v", err)
		}
		return nil
	})
}

// TestDeployerTamperedDescriptor: the tag was moved to other content after
// the Component verified it; the Deployer refuses the descriptor.
func TestDeployerTamperedDescriptor(t *testing.T) {
	ctx := context.Background()
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	const comp = "acme.org/swap"
	testenv.Push(t, host, testenv.CV{Name: comp, Version: "1.0.0", Resources: []testenv.Resource{
		{Name: "manifests", Version: "1.0.0", Data: cms(ns, "good"), MediaType: "application/x-yaml"},
	}})
	markResolved(t, ns, "swap", host, comp, "1.0.0", "manifests")
	testenv.Push(t, host, testenv.CV{Name: comp, Version: "1.0.0", Resources: []testenv.Resource{
		{Name: "manifests", Version: "1.0.0", Data: cms(ns, "swapped"), MediaType: "application/x-yaml"},
	}})
	// Keep the Resource's recorded resource digest consistent with the
	// swapped descriptor, so only the component digest can catch it.
	d := &v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "swap-" + ns}, Spec: v1alpha1.DeployerSpec{ResourceRef: v1alpha1.ObjectKey{Namespace: ns, Name: "swap"}}}
	res := &v1alpha1.Resource{}
	if err := testenv.Current.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "swap"}, res); err != nil {
		t.Fatal(err)
	}
	res.Status.Resource.Digest = nil
	if err := testenv.Current.Client.Status().Update(ctx, res); err != nil {
		t.Fatal(err)
	}
	if err := testenv.Current.Client.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionFalse, v1alpha1.VerificationFailedReason)
	})
	if c, _ := testenv.Condition(ctx, d, v1alpha1.StalledCondition); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("a verification failure must stall: %v", c)
	}
	for _, n := range []string{"good", "swapped"} {
		if err := wantGone(ns, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := testenv.Current.Client.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
}

// A newer version the Deployer itself refuses (its descriptor is not the
// one the Component verified) is held back: the Deployer stays on the
// version it applied last, re-creates a deleted object of it, and says why
// in HeldBack; nothing of the refused version is applied.
func TestDeployerRefusedVersionServesLastApplied(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	const comp = "acme.org/hold"
	push := func(version string, names ...string) {
		testenv.Push(t, host, testenv.CV{Name: comp, Version: version, Resources: []testenv.Resource{
			{Name: "manifests", Version: version, Data: cms(ns, names...), MediaType: "application/x-yaml"},
		}})
	}
	push("1.0.0", "keep-a", "keep-b")
	markResolved(t, ns, "hold", host, comp, "1.0.0", "manifests")
	d := &v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "hold-" + ns}, Spec: v1alpha1.DeployerSpec{ResourceRef: v1alpha1.ObjectKey{Namespace: ns, Name: "hold"}}}
	if err := c.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(ctx, d) })
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})

	// 1.1.0 is resolved, and its tag moved to other content before the
	// Deployer reads it.
	push("1.1.0", "new-c")
	record := resolved(t, ns, "hold", host, comp, "1.1.0", "manifests")
	push("1.1.0", "evil")
	record()
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionFalse, v1alpha1.VerificationFailedReason); err != nil {
			return err
		}
		return testenv.WantCondition(ctx, d, v1alpha1.HeldBackCondition, metav1.ConditionTrue, v1alpha1.VerificationFailedReason)
	})
	held, _ := testenv.Condition(ctx, d, v1alpha1.HeldBackCondition)
	for _, want := range []string{comp + ":1.1.0", "serving the last applied version 1.0.0 of " + comp + ":1.0.0 (2 objects)"} {
		if !strings.Contains(held.Message, want) {
			t.Errorf("HeldBack message %q lacks %q", held.Message, want)
		}
	}
	if err := c.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "keep-b"}}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		_, err := getCM(ns, "keep-b")
		return err
	})
	for _, n := range []string{"new-c", "evil"} {
		if err := wantGone(ns, n); err != nil {
			t.Fatal(err)
		}
	}
	if d.Status.LastApplied == nil || d.Status.LastApplied.Component.Version != "1.0.0" {
		t.Fatalf("lastApplied %+v", d.Status.LastApplied)
	}
}

// Two Deployers claiming one object: the second reports the conflict and
// leaves the object to the first.
func TestDeployerConflict(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	for _, comp := range []string{"acme.org/first", "acme.org/second"} {
		testenv.Push(t, host, testenv.CV{Name: comp, Version: "1.0.0", Resources: []testenv.Resource{
			{Name: "manifests", Version: "1.0.0", Data: cms(ns, "shared", "own-"+comp[len("acme.org/"):]), MediaType: "application/x-yaml"},
		}})
	}
	markResolved(t, ns, "first", host, "acme.org/first", "1.0.0", "manifests")
	markResolved(t, ns, "second", host, "acme.org/second", "1.0.0", "manifests")
	first := &v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "first-" + ns}, Spec: v1alpha1.DeployerSpec{ResourceRef: v1alpha1.ObjectKey{Namespace: ns, Name: "first"}}}
	if err := c.Create(ctx, first); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(ctx, first) })
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, first, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})
	second := &v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "second-" + ns}, Spec: v1alpha1.DeployerSpec{ResourceRef: v1alpha1.ObjectKey{Namespace: ns, Name: "second"}}}
	if err := c.Create(ctx, second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(ctx, second) })
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, second, v1alpha1.StalledCondition, metav1.ConditionTrue, v1alpha1.ObjectConflictReason)
	})
	cond, _ := testenv.Condition(ctx, second, v1alpha1.ReadyCondition)
	if want := "ConfigMap/" + ns + "/shared already belongs to Deployer " + first.Name; !strings.Contains(cond.Message, want) {
		t.Errorf("Ready message %q lacks %q", cond.Message, want)
	}
	cm, err := getCM(ns, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if owner := metav1.GetControllerOf(cm); owner == nil || owner.Name != first.Name {
		t.Fatalf("shared is controlled by %+v, want %s", owner, first.Name)
	}
}

// TestDeployerHelmChart deploys a packaged chart natively: rendered in the
// controller, CRDs first, then applied like manifests.
func TestDeployerHelmChart(t *testing.T) {
	ctx := context.Background()
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	const comp = "acme.org/chart"
	chart := tgz(t, map[string]string{
		"demo/Chart.yaml":          "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
		"demo/values.yaml":         "greeting: hello\n",
		"demo/templates/cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting }}\n",
		"demo/templates/NOTES.txt": "installed",
	})
	testenv.Push(t, host, testenv.CV{Name: comp, Version: "0.1.0", Resources: []testenv.Resource{
		{Name: "chart", Version: "0.1.0", Type: "helmChart", Data: chart, MediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip"},
	}})
	markResolved(t, ns, "chart", host, comp, "0.1.0", "chart")
	d := &v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "helm-" + ns}, Spec: v1alpha1.DeployerSpec{ResourceRef: v1alpha1.ObjectKey{Namespace: ns, Name: "chart"}}}
	if err := testenv.Current.Client.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionTrue, "")
	})
	// Release name is the Deployer, namespace the Resource's.
	cm, err := getCM(ns, d.Name+"-cm")
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["greeting"] != "hello" {
		t.Fatalf("data %v", cm.Data)
	}
	if err := testenv.Current.Client.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
}

func tgz(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range []string{"demo/Chart.yaml", "demo/values.yaml", "demo/templates/cm.yaml", "demo/templates/NOTES.txt"} {
		body := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// pushTampered stores a version whose resource digest is that of claimed
// while its local blob holds actual.
func pushTampered(t *testing.T, host, component, version string, actual, claimed []byte) {
	t.Helper()
	ctx := context.Background()
	reg := testenv.Registry(t, host)
	desc, err := reg.PushBlob(ctx, ocimap.RepositoryName(component), "application/x-yaml", bytes.NewReader(actual))
	if err != nil {
		t.Fatal(err)
	}
	acc, err := descriptor.NewTyped(descriptor.LocalBlobAccess{Type: "localBlob/v1", LocalReference: desc.Digest.String(), MediaType: "application/x-yaml"})
	if err != nil {
		t.Fatal(err)
	}
	cd := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: descriptor.SchemaVersion}}
	cd.Component.Name, cd.Component.Version, cd.Component.Provider = component, version, "acme.org"
	cd.Component.RepositoryContexts = []descriptor.Typed{}
	cd.Component.Sources = []descriptor.Source{}
	cd.Component.References = []descriptor.Reference{}
	r := descriptor.Resource{Type: "kubernetes-manifest", Relation: "local", Access: &acc,
		Digest: &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "genericBlobDigest/v1", Value: digest.FromBytes(claimed).Encoded()}}
	r.Name, r.Version = "manifests", version
	cd.Component.Resources = []descriptor.Resource{r}
	blobs := []ocimap.LocalBlob{{Descriptor: desc, Artifacts: []ocimap.ArtifactRef{{Kind: "resource", Identity: map[string]string{"name": "manifests", "version": version}}}}}
	if _, err := ocimap.NewWriter(reg).AddComponentVersion(ctx, cd, blobs); err != nil {
		t.Fatal(err)
	}
}

func controllerHas(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// TestDeployerSuspend: a suspended Deployer neither applies a new version
// nor prunes; resuming catches up.
func TestDeployerSuspend(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	const comp = "acme.org/suspend"
	testenv.Push(t, host, testenv.CV{Name: comp, Version: "1.0.0", Resources: []testenv.Resource{
		{Name: "manifests", Version: "1.0.0", Data: cms(ns, "one"), MediaType: "application/x-yaml"},
	}})
	markResolved(t, ns, "app", host, comp, "1.0.0", "manifests")
	d := &v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "suspend-" + ns}, Spec: v1alpha1.DeployerSpec{ResourceRef: v1alpha1.ObjectKey{Namespace: ns, Name: "app"}}}
	if err := c.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionTrue, "")
	})
	d.Spec.Suspend = true
	if err := c.Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
			return err
		}
		if d.Status.ObservedGeneration != d.Generation {
			return fmt.Errorf("suspension not observed")
		}
		return nil
	})
	testenv.Push(t, host, testenv.CV{Name: comp, Version: "2.0.0", Resources: []testenv.Resource{
		{Name: "manifests", Version: "2.0.0", Data: cms(ns, "two"), MediaType: "application/x-yaml"},
	}})
	markResolved(t, ns, "app", host, comp, "2.0.0", "manifests")
	testenv.Consistently(t, 2*time.Second, func() error {
		if _, err := getCM(ns, "one"); err != nil {
			return fmt.Errorf("pruned while suspended: %w", err)
		}
		return wantGone(ns, "two")
	})
	d.Spec.Suspend = false
	if err := c.Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if _, err := getCM(ns, "two"); err != nil {
			return err
		}
		return wantGone(ns, "one")
	})
	if err := c.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
}
