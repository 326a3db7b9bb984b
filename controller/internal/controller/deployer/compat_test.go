package deployer

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/compat"
	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/compatgate"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
)

const gpuSpec = `version: v1alpha1
compatibilities:
- tag: gpu
  weight: 100
  rules:
  - name: gpu-driver
    matchFeatures:
    - feature: kernel.loadedmodule
      matchExpressions:
        nvidia: {op: Exists}
`

func setNodeFeature(t *testing.T, c client.Client, ns, node string, modules ...string) {
	t.Helper()
	ctx := context.Background()
	elems := map[string]any{}
	for _, m := range modules {
		elems[m] = map[string]any{}
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(compatgate.NodeFeatureGVK)
	err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: node}, u)
	create := err != nil
	u.SetGroupVersionKind(compatgate.NodeFeatureGVK)
	u.SetNamespace(ns)
	u.SetName(node)
	u.SetLabels(map[string]string{compatgate.NodeNameLabel: node})
	u.Object["spec"] = map[string]any{"features": map[string]any{
		"flags":      map[string]any{"kernel.loadedmodule": map[string]any{"elements": elems}},
		"attributes": map[string]any{"kernel.version": map[string]any{"elements": map[string]any{"full": "6.8.0", "major": "6", "minor": "8"}}},
	}}
	if create {
		err = c.Create(ctx, u)
	} else {
		err = c.Update(ctx, u)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Enforce blocks the apply while no node matches and applies once one
// does; Warn applies anyway and reports the mismatch.
func TestDeployerCompatibilityGate(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	cc := testenv.ClusterClient(t)
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	testenv.InstallNodeFeatureCRD(t, cc)
	for _, n := range []string{"gate-gpu-1", "gate-cpu-1"} {
		if err := cc.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"gate-test": ns}}}); err != nil {
			t.Fatal(err)
		}
	}
	// Two profiles, neither with the driver loaded.
	setNodeFeature(t, cc, ns, "gate-gpu-1", "overlay", "i915")
	setNodeFeature(t, cc, ns, "gate-cpu-1", "overlay")

	const comp = "acme.org/gpu-app"
	testenv.Push(t, host, testenv.CV{Name: comp, Version: "1.0.0", Resources: []testenv.Resource{
		{Name: "manifests", Version: "1.0.0", Type: "kubernetes-manifest", Data: cms(ns, "gpu-a"), MediaType: "application/x-yaml"},
		{Name: "image", Version: "1.0.0", Type: "ociImage", Data: []byte("not really an image")},
		{Name: "image-compat", Version: "1.0.0", Type: compat.ResourceType, Data: []byte(gpuSpec), MediaType: compat.SpecMediaType,
			Labels: map[string]any{compat.SubjectLabel: map[string]string{"name": "image"}}},
	}})
	markResolved(t, ns, "gpu-app", host, comp, "1.0.0", "manifests")

	sel := map[string]string{"gate-test": ns}
	enforce := &v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "enforce-" + ns}, Spec: v1alpha1.DeployerSpec{
		ResourceRef:   v1alpha1.ObjectKey{Namespace: ns, Name: "gpu-app"},
		Compatibility: &v1alpha1.Compatibility{Policy: v1alpha1.CompatibilityPolicyEnforce, NodeSelector: sel},
	}}
	if err := c.Create(ctx, enforce); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := testenv.WantCondition(ctx, enforce, v1alpha1.ReadyCondition, metav1.ConditionFalse, compatgate.ReasonIncompatibleCluster); err != nil {
			return err
		}
		return testenv.WantCondition(ctx, enforce, compatgate.ConditionType, metav1.ConditionFalse, compatgate.ReasonNoCompatibleNode)
	})
	cond := apimeta.FindStatusCondition(enforce.Status.Conditions, compatgate.ConditionType)
	if !strings.Contains(cond.Message, "0/2 nodes match") || !strings.Contains(cond.Message, "rule gpu-driver: kernel.loadedmodule.nvidia Exists") || !strings.Contains(cond.Message, "observed: absent") {
		t.Fatalf("Compatible message: %s", cond.Message)
	}
	if _, err := getCM(ns, "gpu-a"); err == nil {
		t.Fatal("Enforce applied the resource although no node matches")
	}

	// Warn applies and says why it should not have.
	warn := &v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "warn-" + ns}, Spec: v1alpha1.DeployerSpec{
		ResourceRef:   v1alpha1.ObjectKey{Namespace: ns, Name: "gpu-app"},
		Compatibility: &v1alpha1.Compatibility{Policy: v1alpha1.CompatibilityPolicyWarn, NodeSelector: sel},
	}}
	if err := c.Create(ctx, warn); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := testenv.WantCondition(ctx, warn, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason); err != nil {
			return err
		}
		return testenv.WantCondition(ctx, warn, compatgate.ConditionType, metav1.ConditionFalse, compatgate.ReasonNoCompatibleNode)
	})
	// Warn's apply created the ConfigMap; delete both Deployers' effects
	// by removing Warn, so Enforce's apply is seen on its own.
	if err := c.Delete(ctx, warn); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error { return wantGone(ns, "gpu-a") })

	// The driver gets loaded on the GPU node: the NodeFeature watch
	// re-evaluates and Enforce applies.
	start := time.Now()
	setNodeFeature(t, cc, ns, "gate-gpu-1", "overlay", "i915", "nvidia")
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := testenv.WantCondition(ctx, enforce, compatgate.ConditionType, metav1.ConditionTrue, compatgate.ReasonCompatibleNodesFound); err != nil {
			return err
		}
		return testenv.WantCondition(ctx, enforce, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})
	t.Logf("NodeFeature change → applied in %s", time.Since(start).Round(time.Millisecond))
	if _, err := getCM(ns, "gpu-a"); err != nil {
		t.Fatalf("not applied after a node matched: %v", err)
	}
	cond = apimeta.FindStatusCondition(enforce.Status.Conditions, compatgate.ConditionType)
	if !strings.Contains(cond.Message, "1/2 nodes match") {
		t.Fatalf("Compatible message: %s", cond.Message)
	}
}
