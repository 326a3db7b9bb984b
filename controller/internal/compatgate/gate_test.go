package compatgate_test

import (
	"context"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/compat"
	"github.com/ocmgo/ocm/controller/internal/compatgate"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, func(ctrl.Manager) error { return nil }))
}

const spec = `version: v1alpha1
compatibilities:
- tag: gpu
  weight: 100
  rules:
  - name: gpu-driver
    matchFeatures:
    - feature: kernel.loadedmodule
      matchExpressions:
        nvidia: {op: Exists}
  - name: kernel
    matchFeatures:
    - feature: kernel.version
      matchExpressions:
        major: {op: Ge, value: ["6"]}
`

func node(t *testing.T, c client.Client, name, kernel string, lbls map[string]string) {
	t.Helper()
	ctx := context.Background()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}}
	if err := c.Create(ctx, n); err != nil {
		t.Fatal(err)
	}
	n.Status.NodeInfo.KernelVersion = kernel
	if err := c.Status().Update(ctx, n); err != nil {
		t.Fatal(err)
	}
}

func nodeFeature(t *testing.T, c client.Client, ns, nodeName, features string) {
	t.Helper()
	var f map[string]any
	if err := yaml.Unmarshal([]byte(features), &f); err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"features": f}}}
	u.SetGroupVersionKind(compatgate.NodeFeatureGVK)
	u.SetNamespace(ns)
	u.SetName(nodeName + "-features")
	u.SetLabels(map[string]string{compatgate.NodeNameLabel: nodeName})
	if err := c.Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
}

func TestNodesFromNodeFeatures(t *testing.T) {
	ctx := context.Background()
	c := testenv.ClusterClient(t)
	// Before NFD is installed: kernel versions from the kubelet only.
	node(t, c, "gpu-1", "6.8.0-45-generic", map[string]string{"pool": "gpu"})
	node(t, c, "gpu-2", "6.8.0-45-generic", map[string]string{"pool": "gpu"})
	node(t, c, "cpu-1", "5.15.0-100-generic", map[string]string{"pool": "cpu"})
	nodes, discovered, err := compatgate.Nodes(ctx, c, nil)
	if err != nil || !discovered || len(nodes) != 3 {
		t.Fatalf("without NFD: %d nodes, discovered %v, %v", len(nodes), discovered, err)
	}
	s, err := compat.Parse([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	specs := []compat.NamedSpec{{Name: "resource app-compat", Spec: s}}
	res, err := compat.EvaluateNodes(specs, nodes, compat.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Compatible) != 0 || !strings.Contains(res.Summary(), "kernel.loadedmodule.nvidia Exists [] (observed: feature not discovered)") {
		t.Fatalf("without NFD: %s", res.Summary())
	}

	testenv.InstallNodeFeatureCRD(t, c)
	ns := testenv.Namespace(t)
	// Two NodeFeature objects for gpu-1 are merged; gpu-2 and cpu-1 have one.
	nodeFeature(t, c, ns, "gpu-1", `flags: {kernel.loadedmodule: {elements: {nvidia: {}}}}`)
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"features": map[string]any{
		"attributes": map[string]any{"kernel.version": map[string]any{"elements": map[string]any{"full": "6.8.0-45-generic", "major": "6", "minor": "8"}}},
	}}}}
	u.SetGroupVersionKind(compatgate.NodeFeatureGVK)
	u.SetNamespace(ns)
	u.SetName("gpu-1-kernel")
	u.SetLabels(map[string]string{compatgate.NodeNameLabel: "gpu-1"})
	if err := c.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	nodeFeature(t, c, ns, "gpu-2", `{flags: {kernel.loadedmodule: {elements: {nvidia: {}}}}, attributes: {kernel.version: {elements: {full: 6.8.0-45-generic, major: "6", minor: "8"}}}}`)
	nodeFeature(t, c, ns, "cpu-1", `{flags: {kernel.loadedmodule: {elements: {overlay: {}}}}, attributes: {kernel.version: {elements: {full: 5.15.0-100-generic, major: "5", minor: "15"}}}}`)

	nodes, _, err = compatgate.Nodes(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err = compat.EvaluateNodes(specs, nodes, compat.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Compatible, ",") != "gpu-1,gpu-2" || len(res.Profiles) != 2 {
		t.Fatalf("with NFD: compatible %v, %d profiles: %s", res.Compatible, len(res.Profiles), res.Summary())
	}
	// The node selector narrows the check.
	nodes, _, err = compatgate.Nodes(ctx, c, map[string]string{"pool": "cpu"})
	if err != nil || len(nodes) != 1 {
		t.Fatalf("selector: %d nodes, %v", len(nodes), err)
	}
	res, _ = compat.EvaluateNodes(specs, nodes, compat.Options{})
	if !strings.Contains(res.Summary(), "0/1 nodes match") || !strings.Contains(res.Summary(), "rule gpu-driver") {
		t.Fatalf("cpu pool: %s", res.Summary())
	}
}
