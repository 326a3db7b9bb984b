package deploy

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
)

// TestMain runs the package's tests against envtest (assets from
// KUBEBUILDER_ASSETS or built and cached by hack/envtest-assets.sh); with
// -short only the tests that need no cluster run.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() || testenv.Fuzzing() {
		os.Exit(m.Run()) // FuzzDecodeManifests needs no cluster
	}
	os.Exit(testenv.Main(m, func(ctrl.Manager) error { return nil }))
}

type fixture struct {
	applier *Applier
	kube    kubernetes.Interface
	dyn     dynamic.Interface
	parent  Parent
}

func newFixture(t *testing.T, ns string) *fixture {
	t.Helper()
	if testenv.Current == nil {
		t.Skip("needs envtest, which -short leaves out")
	}
	restCfg := testenv.Current.Config
	ctx := context.Background()
	hc, err := rest.HTTPClientFor(restCfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(restCfg, hc)
	if err != nil {
		t.Fatal(err)
	}
	kube := kubernetes.NewForConfigOrDie(restCfg)
	dyn := dynamic.NewForConfigOrDie(restCfg)
	for _, n := range []string{ns, ns + "-b"} {
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	// A ConfigMap is one of the parent kinds KEP-3659 allows without a CRD label.
	if _, err := kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "parent"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return &fixture{
		applier: &Applier{
			Dynamic: dyn, Metadata: metadata.NewForConfigOrDie(restCfg), Mapper: mapper,
			FieldManager: "deployer.delivery.ocm.software/test", Tooling: "deployer.delivery.ocm.software/v1",
		},
		kube: kube, dyn: dyn,
		parent: Parent{APIVersion: "v1", Kind: "ConfigMap", Name: "parent", Namespace: ns},
	}
}

func decodeString(t *testing.T, s string) SliceSource {
	t.Helper()
	var out SliceSource
	if err := DecodeManifests(strings.NewReader(s), "", func(u *unstructured.Unstructured) error { out = append(out, u); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func cm(name, ns, val string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  k: %q\n---\n", name, ns, val)
}

func TestApplySetApplyAndPrune(t *testing.T) {
	f := newFixture(t, "as1")
	ctx := context.Background()
	widget := "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 3\n---\n"
	// Source order puts instances before their CRD and namespace: the
	// applier must still create the CRD and Namespace first.
	v1 := decodeString(t, widget+cm("a", "as1", "1")+cm("b", "as1-new", "1")+"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: as1-new\n---\n"+testCRD)
	stamp := func(u *unstructured.Unstructured) {
		l := u.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l["app.kubernetes.io/managed-by"] = "deployer.delivery.ocm.software"
		u.SetLabels(l)
	}
	res, err := f.applier.Apply(ctx, f.parent, v1, ApplyOptions{Mutate: stamp, DefaultNamespace: "as1-b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 5 || len(res.Pruned) != 0 {
		t.Fatalf("applied %v, pruned %v", res.Applied, res.Pruned)
	}
	for _, r := range res.Applied {
		if r.UID == "" {
			t.Errorf("%s has no UID", r)
		}
	}
	if res.Applied[0].Kind != "Widget" || res.Applied[0].Namespace != "as1-b" {
		t.Errorf("deployed list must keep source order and default the namespace: %v", res.Applied[0])
	}

	id := ApplySetID("parent", "as1", "ConfigMap", "")
	p, err := f.kube.CoreV1().ConfigMaps("as1").Get(ctx, "parent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Labels[LabelApplySetID] != id {
		t.Errorf("parent id label %q, want %q", p.Labels[LabelApplySetID], id)
	}
	wantAnn := map[string]string{
		AnnotationApplySetTooling:        "deployer.delivery.ocm.software/v1",
		AnnotationApplySetGroupKinds:     "ConfigMap,CustomResourceDefinition.apiextensions.k8s.io,Namespace,Widget.example.com",
		AnnotationApplySetAdditionalNSes: "as1-b,as1-new",
	}
	for k, v := range wantAnn {
		if p.Annotations[k] != v {
			t.Errorf("parent annotation %s=%q, want %q", k, p.Annotations[k], v)
		}
	}
	b, err := f.kube.CoreV1().ConfigMaps("as1-new").Get(ctx, "b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Labels[LabelApplySetPartOf] != id || b.Labels["app.kubernetes.io/managed-by"] != "deployer.delivery.ocm.software" {
		t.Errorf("child labels %v", b.Labels)
	}
	if mf := b.ManagedFields; len(mf) != 1 || mf[0].Manager != f.applier.FieldManager || mf[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("managed fields %+v", mf)
	}

	// v2 drops ConfigMap b and the Widget: both are pruned, the rest stays.
	v2 := decodeString(t, cm("a", "as1", "2")+"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: as1-new\n---\n"+testCRD)
	res, err = f.applier.Apply(ctx, f.parent, v2, ApplyOptions{Mutate: stamp, DefaultNamespace: "as1-b"})
	if err != nil {
		t.Fatal(err)
	}
	var pruned []string
	for _, r := range res.Pruned {
		pruned = append(pruned, r.String())
	}
	if strings.Join(pruned, ",") != "ConfigMap/as1-new/b,Widget/as1-b/w1" {
		t.Fatalf("pruned %v", pruned)
	}
	if _, err := f.kube.CoreV1().ConfigMaps("as1-new").Get(ctx, "b", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("b still exists: %v", err)
	}
	a, err := f.kube.CoreV1().ConfigMaps("as1").Get(ctx, "a", metav1.GetOptions{})
	if err != nil || a.Data["k"] != "2" {
		t.Fatalf("a not updated: %v %v", err, a)
	}
	p, _ = f.kube.CoreV1().ConfigMaps("as1").Get(ctx, "parent", metav1.GetOptions{})
	if got := p.Annotations[AnnotationApplySetGroupKinds]; got != "ConfigMap,CustomResourceDefinition.apiextensions.k8s.io,Namespace" {
		t.Errorf("group kinds after prune %q", got)
	}
	// Left: a in the parent's own namespace (implicit) and cluster-scoped kinds.
	if got := p.Annotations[AnnotationApplySetAdditionalNSes]; got != "" {
		t.Errorf("namespaces after prune %q", got)
	}

	// An object outside the set with the same kind is never pruned.
	if _, err := f.kube.CoreV1().ConfigMaps("as1").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "foreign"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Prune (the deployer's deletion) removes every member and nothing else.
	pr, err := f.applier.Prune(ctx, f.parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(pr) != 3 {
		t.Fatalf("prune all removed %v", pr)
	}
	if _, err := f.kube.CoreV1().ConfigMaps("as1").Get(ctx, "foreign", metav1.GetOptions{}); err != nil {
		t.Fatalf("foreign object touched: %v", err)
	}
}

func TestApplySetNoPruneWhenAnApplyFails(t *testing.T) {
	f := newFixture(t, "as2")
	ctx := context.Background()
	if _, err := f.applier.Apply(ctx, f.parent, decodeString(t, cm("a", "as2", "1")+cm("b", "as2", "1")), ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	// b is gone from v2, but v2 also holds an object the apiserver rejects.
	v2 := decodeString(t, cm("a", "as2", "2")+cm("Invalid_Name", "as2", "x"))
	_, err := f.applier.Apply(ctx, f.parent, v2, ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "Invalid_Name") {
		t.Fatalf("error %v, want the rejected object named", err)
	}
	if _, err := f.kube.CoreV1().ConfigMaps("as2").Get(ctx, "b", metav1.GetOptions{}); err != nil {
		t.Fatalf("b was pruned although an apply failed: %v", err)
	}
}

func TestApplySetCorrectsDrift(t *testing.T) {
	f := newFixture(t, "as3")
	ctx := context.Background()
	src := decodeString(t, cm("a", "as3", "desired"))
	if _, err := f.applier.Apply(ctx, f.parent, src, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	// Someone edits the object with another manager.
	a, _ := f.kube.CoreV1().ConfigMaps("as3").Get(ctx, "a", metav1.GetOptions{})
	a.Data["k"] = "drifted"
	if _, err := f.kube.CoreV1().ConfigMaps("as3").Update(ctx, a, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.applier.Apply(ctx, f.parent, src, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	a, _ = f.kube.CoreV1().ConfigMaps("as3").Get(ctx, "a", metav1.GetOptions{})
	if a.Data["k"] != "desired" {
		t.Fatalf("drift not corrected: %q", a.Data["k"])
	}
}

func TestApplySetRefusesForeignTooling(t *testing.T) {
	f := newFixture(t, "as4")
	ctx := context.Background()
	p, _ := f.kube.CoreV1().ConfigMaps("as4").Get(ctx, "parent", metav1.GetOptions{})
	p.Annotations = map[string]string{AnnotationApplySetTooling: "kubectl/v1.37"}
	if _, err := f.kube.CoreV1().ConfigMaps("as4").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := f.applier.Apply(ctx, f.parent, decodeString(t, cm("a", "as4", "1")), ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "kubectl/v1.37") {
		t.Fatalf("error %v, want a tooling conflict", err)
	}
}

func TestApplySetID(t *testing.T) {
	// Value computed independently: printf 'name.ns.Kind.group' | openssl dgst -sha256 -binary | openssl base64 -A | tr -d '=' | tr '/+' '_-'
	got := ApplySetID("name", "ns", "Kind", "group")
	if !strings.HasPrefix(got, "applyset-") || !strings.HasSuffix(got, "-v1") || strings.ContainsAny(got, "+/=") || len(got) != len("applyset-")+43+len("-v1") {
		t.Fatalf("id %q is not applyset-<43 base64url chars>-v1", got)
	}
	if got != "applyset-"+"usJ79QmVx4FA-5DOzyW6pSvRDlJ7RCOeWfvD0J1ajdw"+"-v1" {
		t.Fatalf("id %q", got)
	}
}

// TestApplyLargeBundle applies a 50 MiB bundle of ConfigMaps from disk
// while sampling the heap: decoding and applying stream, so the heap stays
// far below the bundle's decoded size.
func TestApplyLargeBundle(t *testing.T) {
	f := newFixture(t, "big")
	ctx := context.Background()
	const (
		objects = 520
		perObj  = 100 << 10 // 520 x ~100 KiB: just over 50 MiB
	)
	p := filepath.Join(t.TempDir(), "bundle.yaml")
	fh, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(fh)
	chunk := strings.Repeat("x", 1000)
	for i := range objects {
		fmt.Fprintf(w, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big-%d\ndata:\n", i)
		for j := range perObj / 1000 {
			fmt.Fprintf(w, "  k%d: %s%d\n", j, chunk, i)
		}
		w.WriteString("---\n")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	fi, _ := os.Stat(p)
	if fi.Size() < 50<<20 {
		t.Fatalf("bundle has only %d bytes", fi.Size())
	}
	src, format, err := Open(p, Options{})
	if err != nil || format != FormatManifests {
		t.Fatal(err, format)
	}

	stopHeap := testenv.SampleHeap()
	start := time.Now()
	res, err := f.applier.Apply(ctx, f.parent, src, ApplyOptions{DefaultNamespace: "big"})
	elapsed := time.Since(start)
	heap := stopHeap()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != objects {
		t.Fatalf("applied %d objects", len(res.Applied))
	}
	t.Logf("50 MiB bundle (%d bytes, %d ConfigMaps): applied in %s; HeapInuse before %.1f MiB, peak %.1f MiB",
		fi.Size(), objects, elapsed.Round(time.Millisecond), testenv.MiB(heap.Base), testenv.MiB(heap.Peak))
	if heap.Peak >= 150<<20 {
		t.Fatalf("peak HeapInuse %.1f MiB, want < 150 MiB", testenv.MiB(heap.Peak))
	}
	got, err := f.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace("big").Get(ctx, "big-519", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v, _, _ := unstructured.NestedString(got.Object, "data", "k99"); v != chunk+"519" {
		t.Fatalf("content of the last object differs")
	}
}
