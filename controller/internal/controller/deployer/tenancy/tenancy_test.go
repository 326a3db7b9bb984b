// Package tenancy runs the Deployer as the Helm chart installs it: as the
// chart's ServiceAccount under the chart's RBAC with default values, so
// that what a Deployer may write is what the cluster's RBAC says.
package tenancy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/deployer"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
	"github.com/ocmgo/ocm/controller/internal/resolve"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
)

const releaseNS, managerSA = "ocm-system", "ocm-ocm-controller"

// logs collects what the reconcilers log.
var logs syncBuffer

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMain(m *testing.M) {
	cacheDir, err := os.MkdirTemp("", "deployer-cache-")
	if err != nil {
		panic(err)
	}
	code := testenv.MainWith(m, testenv.Options{ManagerConfig: asChartInstallsIt, Log: &logs}, func(mgr ctrl.Manager) error {
		return (&deployer.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), CacheDir: cacheDir}).SetupWithManager(mgr)
	})
	os.RemoveAll(cacheDir)
	os.Exit(code)
}

// asChartInstallsIt renders the chart with default values, creates its
// ServiceAccount and RBAC objects, and returns a config that impersonates
// the ServiceAccount.
func asChartInstallsIt(admin *rest.Config) (*rest.Config, error) {
	_, file, _, _ := runtime.Caller(0)
	c, err := loader.LoadDir(filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "chart"))
	if err != nil {
		return nil, err
	}
	top, err := chartutil.ToRenderValues(c, nil, common.ReleaseOptions{Name: "ocm", Namespace: releaseNS, IsInstall: true, Revision: 1}, nil)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(c, top)
	if err != nil {
		return nil, err
	}
	_, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, err
	}
	cl, err := client.New(admin, client.Options{})
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: releaseNS}}); err != nil {
		return nil, err
	}
	n := 0
	for _, m := range manifests {
		d := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(m.Content), 4096)
		for {
			var obj map[string]any
			if err := d.Decode(&obj); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("%s: %w", m.Name, err)
			}
			u := &unstructured.Unstructured{Object: obj}
			switch u.GetKind() {
			case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
				if err := cl.Create(ctx, u); err != nil {
					return nil, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
				}
				n++
			}
		}
	}
	if n < 5 {
		return nil, fmt.Errorf("only %d RBAC objects in the chart", n)
	}
	cfg := rest.CopyConfig(admin)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + releaseNS + ":" + managerSA}
	return cfg, nil
}

func manifest(kind, ns, name string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: %s\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  x: \"1\"\n---\n", kind, name, ns)
}

// resolved creates a Resource in ns with the status its reconciler writes
// once it resolved component:version (pushed with the manifests) in the
// registry at host.
func resolved(t *testing.T, ns, name, host, component, manifests string) {
	t.Helper()
	ctx := context.Background()
	c := testenv.Current.Client
	testenv.Push(t, host, testenv.CV{Name: component, Version: "1.0.0", Resources: []testenv.Resource{
		{Name: "manifests", Version: "1.0.0", Data: []byte(manifests), MediaType: "application/x-yaml"},
	}})
	res := &v1alpha1.Resource{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1alpha1.ResourceSpec{
		ComponentRef: v1alpha1.LocalObjectReference{Name: "component"},
		Resource:     v1alpha1.ResourceID{ByReference: &v1alpha1.ResourceReference{Resource: v1alpha1.Identity{"name": "manifests"}}},
	}}
	if err := c.Create(ctx, res); err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Open(ctx, reference.Repository{Type: reference.TypeOCI, BaseURL: "http://" + host})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	g, err := resolve.CheckGraph(ctx, repo, component, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	dg, err := resolve.DigestOf(g.Root.Digested, resolve.DefaultNormalisation, resolve.DefaultHash)
	if err != nil {
		t.Fatal(err)
	}
	idx := g.Root.Digested.Component.SelectResources(descriptor.Identity{"name": "manifests"})
	info, err := resolve.ResourceInfo(&g.Root.Digested.Component.Resources[idx[0]])
	if err != nil {
		t.Fatal(err)
	}
	res.Status.Resource = info
	res.Status.Component = &v1alpha1.ComponentInfo{RepositorySpec: &apiextensionsv1.JSON{Raw: fmt.Appendf(nil, `{"type":"OCIRegistry","baseUrl":"http://%s"}`, host)}, Component: component, Version: "1.0.0", Digest: dg}
	apimeta.SetStatusCondition(&res.Status.Conditions, metav1.Condition{Type: v1alpha1.ReadyCondition, Status: metav1.ConditionTrue, Reason: v1alpha1.SucceededReason, Message: "resolved", ObservedGeneration: res.Generation})
	res.Status.ObservedGeneration = res.Generation
	if err := c.Status().Update(ctx, res); err != nil {
		t.Fatal(err)
	}
}

func newDeployer(t *testing.T, ns, resource, sa string) *v1alpha1.Deployer {
	t.Helper()
	d := &v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: resource + "-" + ns}, Spec: v1alpha1.DeployerSpec{
		ResourceRef: v1alpha1.ObjectKey{Namespace: ns, Name: resource}, ServiceAccountName: sa,
	}}
	if err := testenv.Current.Client.Create(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testenv.Current.Client.Delete(context.Background(), d) })
	return d
}

func wantRefused(t *testing.T, d *v1alpha1.Deployer, parts ...string) {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionFalse, v1alpha1.ApplyFailed)
	})
	c, _ := testenv.Condition(ctx, d, v1alpha1.ReadyCondition)
	for _, p := range parts {
		if !strings.Contains(c.Message, p) {
			t.Errorf("Ready message %q lacks %q", c.Message, p)
		}
	}
}

func absent(t *testing.T, ns, name string) {
	t.Helper()
	err := testenv.Current.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &corev1.ConfigMap{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("configmap %s/%s: %v (want not found)", ns, name, err)
	}
}

// With the chart's default values the manager may apply nothing.
func TestChartDefaultsDenyEverything(t *testing.T) {
	ns := testenv.Namespace(t)
	resolved(t, ns, "app", testenv.StartRegistry(t), "acme.org/denied", manifest("ConfigMap", ns, "denied"))
	d := newDeployer(t, ns, "app", "")
	wantRefused(t, d, "forbidden", "system:serviceaccount:"+releaseNS+":"+managerSA)
	absent(t, ns, "denied")
}

// A Deployer bound to a ServiceAccount with rights in its own namespace
// applies there, and cannot write into another namespace.
func TestServiceAccountConfinesDeployer(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns, other := testenv.Namespace(t), testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	for _, o := range []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant"}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant"}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"},
		}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "tenant"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "tenant", Namespace: ns}}},
	} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	resolved(t, ns, "own", host, "acme.org/own", manifest("ConfigMap", ns, "mine"))
	own := newDeployer(t, ns, "own", "tenant")
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, own, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "mine"}, &corev1.ConfigMap{}); err != nil {
		t.Fatal(err)
	}
	// The manager itself may not watch ConfigMaps: no informer that
	// would fail forever, and the log says drift waits for the interval.
	lines := regexp.MustCompile(`.*"msg":"drift is corrected at the interval only.*`).FindAllString(logs.String(), -1)
	if len(lines) == 0 || !strings.Contains(lines[0], `"resource":"/v1, Resource=configmaps"`) {
		t.Errorf("no log line says ConfigMap drift waits for the interval: %v", lines)
	}

	resolved(t, ns, "foreign", host, "acme.org/foreign", manifest("ConfigMap", other, "intruder"))
	foreign := newDeployer(t, ns, "foreign", "tenant")
	wantRefused(t, foreign, "forbidden", "system:serviceaccount:"+ns+":tenant", other)
	absent(t, other, "intruder")
}
