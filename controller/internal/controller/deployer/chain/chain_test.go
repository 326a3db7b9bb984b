// Package chain runs the Deployer behind the real Repository, Component and
// Resource reconcilers: a version bump in the registry flows through the
// whole chain into the cluster.
package chain

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
	"github.com/ocmgo/ocm/controller/internal/setup"
)

// metricsAddr is where the manager serves /metrics; logs collects what
// the reconcilers log.
var (
	metricsAddr string
	logs        syncBuffer
)

func TestMain(m *testing.M) {
	cacheDir, err := os.MkdirTemp("", "deployer-cache-")
	if err != nil {
		panic(err)
	}
	metricsAddr = freeAddr()
	code := testenv.MainWith(m, testenv.Options{MetricsAddr: metricsAddr, Log: &logs}, func(mgr ctrl.Manager) error {
		return setup.All(mgr, setup.Options{DeployerCacheDir: cacheDir})
	})

	os.RemoveAll(cacheDir)
	os.Exit(code)
}

func manifests(ns string, names ...string) []byte {
	var out []byte
	for _, n := range names {
		out = fmt.Appendf(out, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\n---\n", n, ns)
	}
	return out
}

func exists(ns, name string) error {
	return testenv.Current.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &corev1.ConfigMap{})
}

func TestVersionBumpThroughTheChain(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	const comp = "acme.org/chain"
	push := func(version string, names ...string) {
		testenv.Push(t, host, testenv.CV{Name: comp, Version: version, Resources: []testenv.Resource{
			{Name: "manifests", Version: version, Type: "kubernetes-manifest", Data: manifests(ns, names...), MediaType: "application/x-yaml"},
		}})
	}
	push("1.0.0", "cm-x", "cm-y")
	objs := []client.Object{
		&v1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}, Spec: v1alpha1.RepositorySpec{
			RepositorySpec: &apiextensionsv1.JSON{Raw: fmt.Appendf(nil, `{"type":"OCIRegistry","baseUrl":"http://%s"}`, host)}, Interval: metav1.Duration{Duration: time.Hour},
		}},
		&v1alpha1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Spec: v1alpha1.ComponentSpec{
			RepositoryRef: v1alpha1.LocalObjectReference{Name: "repo"}, Component: comp, Semver: ">=1.0.0", Interval: metav1.Duration{Duration: time.Hour},
		}},
		&v1alpha1.Resource{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "manifests"}, Spec: v1alpha1.ResourceSpec{
			ComponentRef: v1alpha1.LocalObjectReference{Name: "app"},
			Resource:     v1alpha1.ResourceID{ByReference: &v1alpha1.ResourceReference{Resource: v1alpha1.Identity{"name": "manifests"}}},
		}},
		&v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "chain-" + ns}, Spec: v1alpha1.DeployerSpec{ResourceRef: v1alpha1.ObjectKey{Namespace: ns, Name: "manifests"}}},
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		// Say where the chain stopped.
		for _, o := range objs {
			co := o.(interface {
				client.Object
				v1alpha1.ConditionedObject
			})
			if err := c.Get(ctx, client.ObjectKeyFromObject(co), co); err == nil {
				t.Logf("%T %s: %+v", co, co.GetName(), co.GetConditions())
			}
		}
	})
	start := time.Now()
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 60*time.Second, func() error {
		if err := exists(ns, "cm-x"); err != nil {
			return err
		}
		return exists(ns, "cm-y")
	})
	t.Logf("from creating Repository/Component/Resource/Deployer to applied objects: %s", time.Since(start).Round(time.Millisecond))

	// Bump: 1.1.0 drops y. The Component polls at its interval; a reconcile
	// request (as `flux reconcile` sends) stands in for the interval here.
	push("1.1.0", "cm-x", "cm-z")
	start = time.Now()
	cobj := &v1alpha1.Component{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "app"}, cobj); err != nil {
		t.Fatal(err)
	}
	cobj.Annotations = map[string]string{"reconcile.delivery.ocm.software/requestedAt": time.Now().String()}
	if err := c.Update(ctx, cobj); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, func() error {
		if err := exists(ns, "cm-z"); err != nil {
			return err
		}
		if err := exists(ns, "cm-y"); !apierrors.IsNotFound(err) {
			return fmt.Errorf("y not pruned yet (%v)", err)
		}
		return nil
	})
	t.Logf("reconcile latency, Component version bump (reconcile request) to v1.1.0 applied and pruned: %s", time.Since(start).Round(time.Millisecond))
	d := objs[3].(*v1alpha1.Deployer)
	testenv.Eventually(t, 10*time.Second, func() error {
		return testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})
	if err := c.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := exists(ns, "cm-x"); !apierrors.IsNotFound(err) {
			return fmt.Errorf("x not pruned on deletion (%v)", err)
		}
		return nil
	})
}

// chain creates Repository, Component (semver >=1.0.0), Resource and
// Deployer for comp's "manifests" resource in the registry at host.
func chain(t *testing.T, ns, host, comp string) *v1alpha1.Deployer {
	t.Helper()
	ctx := context.Background()
	c := testenv.Current.Client
	d := &v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "chain-" + ns}, Spec: v1alpha1.DeployerSpec{ResourceRef: v1alpha1.ObjectKey{Namespace: ns, Name: "manifests"}}}
	objs := []client.Object{
		&v1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}, Spec: v1alpha1.RepositorySpec{
			RepositorySpec: &apiextensionsv1.JSON{Raw: fmt.Appendf(nil, `{"type":"OCIRegistry","baseUrl":"http://%s"}`, host)}, Interval: metav1.Duration{Duration: time.Hour},
		}},
		&v1alpha1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Spec: v1alpha1.ComponentSpec{
			RepositoryRef: v1alpha1.LocalObjectReference{Name: "repo"}, Component: comp, Semver: ">=1.0.0", Interval: metav1.Duration{Duration: time.Hour},
		}},
		&v1alpha1.Resource{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "manifests"}, Spec: v1alpha1.ResourceSpec{
			ComponentRef: v1alpha1.LocalObjectReference{Name: "app"},
			Resource:     v1alpha1.ResourceID{ByReference: &v1alpha1.ResourceReference{Resource: v1alpha1.Identity{"name": "manifests"}}},
		}},
		d,
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, o := range objs {
				co := o.(interface {
					client.Object
					v1alpha1.ConditionedObject
				})
				if err := c.Get(ctx, client.ObjectKeyFromObject(co), co); err == nil {
					t.Logf("%T %s: %+v", co, co.GetName(), co.GetConditions())
				}
			}
		}
		_ = c.Delete(ctx, d)
	})
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// requestReconcile asks the Component to look for new versions now, as
// `flux reconcile` does, instead of waiting for its interval.
func requestReconcile(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	c := testenv.Current.Client
	cobj := &v1alpha1.Component{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "app"}, cobj); err != nil {
		t.Fatal(err)
	}
	cobj.Annotations = map[string]string{"reconcile.delivery.ocm.software/requestedAt": time.Now().String()}
	if err := c.Update(ctx, cobj); err != nil {
		t.Fatal(err)
	}
}

// While a newer version is refused (its content was tampered with), the
// Deployer keeps serving the version it applied last: an edit of a
// deployed object is reverted, a deleted one comes back, and the HeldBack
// condition says why. A good version after that is applied as usual.
func TestLastGoodVersionServedWhileNewerRefused(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	const comp = "acme.org/held"
	cm := func(name, value string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  value: %s\n---\n", name, ns, value)
	}
	push := func(version, data, tampered string) {
		r := testenv.Resource{Name: "manifests", Version: version, Type: "kubernetes-manifest", Data: []byte(data), MediaType: "application/x-yaml"}
		if tampered != "" {
			r.Tampered = []byte(tampered)
		}
		testenv.Push(t, host, testenv.CV{Name: comp, Version: version, Resources: []testenv.Resource{r}})
	}
	value := func(name string) (string, error) {
		var o corev1.ConfigMap
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &o); err != nil {
			return "", err
		}
		return o.Data["value"], nil
	}
	push("1.0.0", cm("cm-a", "one")+cm("cm-b", "one"), "")
	d := chain(t, ns, host, comp)
	testenv.Eventually(t, 60*time.Second, func() error {
		return testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})

	// 1.1.0 records the digest of good manifests, but the registry holds
	// others: the Resource refuses it.
	push("1.1.0", cm("cm-a", "two"), cm("cm-a", "evil")+cm("cm-evil", "evil"))
	requestReconcile(t, ns)
	testenv.Eventually(t, 60*time.Second, func() error {
		if err := testenv.WantCondition(ctx, d, v1alpha1.HeldBackCondition, metav1.ConditionTrue, v1alpha1.ResourceIsNotAvailable); err != nil {
			return err
		}
		held, _ := testenv.Condition(ctx, d, v1alpha1.HeldBackCondition)
		for _, want := range []string{"1.1.0", "digest mismatch", "serving the last applied version 1.0.0 of " + comp + ":1.0.0"} {
			if !strings.Contains(held.Message, want) {
				return fmt.Errorf("HeldBack message %q lacks %q", held.Message, want)
			}
		}
		return nil
	})

	// Drift on the version still served is corrected.
	var a corev1.ConfigMap
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "cm-a"}, &a); err != nil {
		t.Fatal(err)
	}
	a.Data["value"] = "edited"
	if err := c.Update(ctx, &a); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cm-b"}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	testenv.Eventually(t, 10*time.Second, func() error {
		if v, err := value("cm-a"); err != nil || v != "one" {
			return fmt.Errorf("cm-a value %q (%v)", v, err)
		}
		if v, err := value("cm-b"); err != nil || v != "one" {
			return fmt.Errorf("cm-b value %q (%v)", v, err)
		}
		return nil
	})
	t.Logf("drift reverted while 1.1.0 is refused, in %s", time.Since(start).Round(time.Millisecond))
	if _, err := value("cm-evil"); !apierrors.IsNotFound(err) {
		t.Fatalf("tampered content applied: %v", err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
		t.Fatal(err)
	}
	if l := d.Status.LastApplied; l == nil || l.Component.Version != "1.0.0" || l.Resource.Name != "manifests" || l.Resource.Digest == nil {
		t.Fatalf("lastApplied %+v", l)
	}

	// A good 1.2.0 replaces it (cm-b pruned) and clears HeldBack.
	push("1.2.0", cm("cm-a", "three"), "")
	requestReconcile(t, ns)
	testenv.Eventually(t, 60*time.Second, func() error {
		if err := testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason); err != nil {
			return err
		}
		if v, err := value("cm-a"); err != nil || v != "three" {
			return fmt.Errorf("cm-a value %q (%v)", v, err)
		}
		if _, err := value("cm-b"); !apierrors.IsNotFound(err) {
			return fmt.Errorf("cm-b not pruned (%v)", err)
		}
		return nil
	})
	if held, err := testenv.Condition(ctx, d, v1alpha1.HeldBackCondition); err == nil {
		t.Fatalf("HeldBack still set: %+v", held)
	}
}
