// Package chart holds the Helm chart of the controller; its test renders
// the chart with the Helm SDK as `helm template` does and checks every
// manifest against the Kubernetes types.
package chart

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
)

func load(t *testing.T) *chartv2.Chart {
	t.Helper()
	c, err := loader.LoadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func render(t *testing.T, c *chartv2.Chart, vals map[string]any) []*unstructured.Unstructured {
	t.Helper()
	top, err := chartutil.ToRenderValues(c, vals, common.ReleaseOptions{Name: "ocm", Namespace: "ocm-system", IsInstall: true, Revision: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(c, top)
	if err != nil {
		t.Fatal(err)
	}
	_, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	for _, m := range manifests {
		d := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(m.Content), 4096)
		for {
			var obj map[string]any
			if err := d.Decode(&obj); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatalf("%s: %v", m.Name, err)
			}
			if len(obj) > 0 {
				out = append(out, &unstructured.Unstructured{Object: obj})
			}
		}
	}
	return out
}

// checkTyped converts each object into its Go type, refusing unknown
// fields, so a typo in a template fails here rather than at install time.
func checkTyped(t *testing.T, objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	byKey := map[string]*unstructured.Unstructured{}
	for _, u := range objs {
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			t.Fatalf("manifest without apiVersion/kind/metadata.name: %v", u.Object)
		}
		key := u.GetKind() + "/" + u.GetName()
		if _, dup := byKey[key]; dup {
			t.Fatalf("%s rendered twice", key)
		}
		byKey[key] = u
		typed, err := scheme.New(u.GroupVersionKind())
		if err != nil {
			if u.GetKind() == "ServiceMonitor" {
				continue // a CRD of the Prometheus operator, not in the scheme
			}
			t.Fatalf("%s: %v", key, err)
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, typed, true); err != nil {
			t.Errorf("%s: %v", key, err)
		}
	}
	return byKey
}

func TestChartRendersValidManifests(t *testing.T) {
	c := load(t)
	objs := checkTyped(t, render(t, c, nil))
	for _, want := range []string{
		"Deployment/ocm-ocm-controller", "ServiceAccount/ocm-ocm-controller", "Service/ocm-ocm-controller-metrics",
		"ClusterRole/ocm-ocm-controller-manager", "ClusterRoleBinding/ocm-ocm-controller-manager",
		"Role/ocm-ocm-controller-leader-election",
	} {
		if objs[want] == nil {
			t.Errorf("missing %s", want)
		}
	}
	// Deny by default: nothing lets Deployers apply anything.
	for key := range objs {
		if strings.Contains(key, "-deployer") {
			t.Errorf("default values render %s", key)
		}
	}
	d := objs["Deployment/ocm-ocm-controller"]
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(containers) != 1 {
		t.Fatalf("containers: %v", containers)
	}
	ctr := containers[0].(map[string]any)
	for _, probe := range []string{"livenessProbe", "readinessProbe"} {
		if ctr[probe] == nil {
			t.Errorf("manager has no %s", probe)
		}
	}
	args := strings.Join(toStrings(ctr["args"]), " ")
	for _, want := range []string{"--leader-elect=true", "--metrics-bind-address=:8080", "--resource-controller-concurrency=4"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	env := map[string]string{}
	for _, e := range ctr["env"].([]any) {
		em := e.(map[string]any)
		env[em["name"].(string)], _ = em["value"].(string)
	}
	if env["OCM_DEPLOYER_CACHE_MAX_BYTES"] != "2147483648" || env["OCM_DEPLOYER_CACHE_DIR"] != "/cache" {
		t.Errorf("deployer cache env %v", env)
	}
	// The manager role must not grant anything beyond its own API, config
	// reads, record ConfigMaps and events; wide rights live in the optional deployer role.
	mgr := objs["ClusterRole/ocm-ocm-controller-manager"]
	rules, _, _ := unstructured.NestedSlice(mgr.Object, "rules")
	for _, r := range rules {
		rm := r.(map[string]any)
		for _, g := range toStrings(rm["apiGroups"]) {
			if g == "*" {
				t.Errorf("manager role grants all API groups: %v", rm)
			}
		}
		if g := toStrings(rm["apiGroups"]); len(g) == 1 && g[0] == "" {
			impersonation := slices.Equal(toStrings(rm["resources"]), []string{"serviceaccounts"}) && slices.Equal(toStrings(rm["verbs"]), []string{"impersonate"})
			// Delivery records a registry refuses: new ConfigMaps, never
			// changes to existing ones.
			records := slices.Equal(toStrings(rm["resources"]), []string{"configmaps"}) && slices.Equal(toStrings(rm["verbs"]), []string{"create"})
			for _, v := range toStrings(rm["verbs"]) {
				if v != "get" && v != "list" && v != "watch" && !impersonation && !records {
					t.Errorf("manager role may do more than read core objects: %v", rm)
				}
			}
		}
	}

	// Deployer rights are granted explicitly, cluster-wide or per namespace.
	grant := []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"configmaps"}, "verbs": []any{"get", "create", "patch"}}}
	objs = checkTyped(t, render(t, c, map[string]any{"deployer": map[string]any{"rbac": map[string]any{
		"rules":      grant,
		"namespaced": []any{map[string]any{"namespace": "team-a", "rules": grant}},
	}}}))
	for _, want := range []string{"ClusterRole/ocm-ocm-controller-deployer", "ClusterRoleBinding/ocm-ocm-controller-deployer", "Role/ocm-ocm-controller-deployer", "RoleBinding/ocm-ocm-controller-deployer"} {
		if objs[want] == nil || (strings.HasPrefix(want, "Role") && objs[want].GetNamespace() != "team-a") {
			t.Errorf("missing %s (have %v)", want, slices.Sorted(maps.Keys(objs)))
		}
	}

	// Values switch optional parts.
	objs = checkTyped(t, render(t, c, map[string]any{
		"leaderElection": map[string]any{"enabled": false},
		"deployer":       map[string]any{"rbac": map[string]any{"create": false}},
		"metrics":        map[string]any{"port": 0},
	}))
	for _, gone := range []string{"Role/ocm-ocm-controller-leader-election", "ClusterRole/ocm-ocm-controller-deployer", "Service/ocm-ocm-controller-metrics"} {
		if objs[gone] != nil {
			t.Errorf("%s rendered although disabled", gone)
		}
	}
}

// managerArgs renders the chart with vals and returns the manager's args.
func managerArgs(t *testing.T, vals map[string]any) []string {
	t.Helper()
	objs := checkTyped(t, render(t, load(t), vals))
	containers, _, _ := unstructured.NestedSlice(objs["Deployment/ocm-ocm-controller"].Object, "spec", "template", "spec", "containers")
	if len(containers) != 1 {
		t.Fatalf("containers: %v", containers)
	}
	return toStrings(containers[0].(map[string]any)["args"])
}

// HTTP timeouts reach the manager as flags only when set; the defaults are
// the manager's own.
func TestChartHTTPTimeouts(t *testing.T) {
	for _, a := range managerArgs(t, nil) {
		if strings.HasPrefix(a, "--http-") {
			t.Errorf("default values render %s", a)
		}
	}
	args := strings.Join(managerArgs(t, map[string]any{"httpTimeouts": map[string]any{"dial": "5s", "responseHeader": "20s", "idleBody": "2m"}}), " ")
	for _, want := range []string{"--http-dial-timeout=5s", "--http-response-header-timeout=20s", "--http-idle-body-timeout=2m"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	if strings.Contains(args, "--http-tls-handshake-timeout") {
		t.Errorf("args %q set an unset timeout", args)
	}
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// TestChartCRDsMatchGenerated keeps chart/crds byte-equal to the generated
// CRDs (refresh with: cp config/crd/bases/*.yaml chart/crds/).
func TestChartCRDsMatchGenerated(t *testing.T) {
	c := load(t)
	generated, err := filepath.Glob("../config/crd/bases/*.yaml")
	if err != nil || len(generated) == 0 {
		t.Fatalf("no generated CRDs: %v", err)
	}
	inChart := map[string][]byte{}
	for _, crd := range c.CRDObjects() {
		inChart[filepath.Base(crd.Name)] = crd.File.Data
	}
	if len(inChart) != len(generated) {
		t.Errorf("chart has %d CRDs, config/crd/bases %d", len(inChart), len(generated))
	}
	for _, g := range generated {
		want, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := inChart[filepath.Base(g)]
		if !ok || !bytes.Equal(got, want) {
			t.Errorf("chart/crds/%s differs from %s (cp config/crd/bases/*.yaml chart/crds/)", filepath.Base(g), g)
			continue
		}
		// And each is a valid CRD.
		var crd apiextensionsv1.CustomResourceDefinition
		u := map[string]any{}
		if err := utilyaml.Unmarshal(got, &u); err != nil {
			t.Fatal(err)
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u, &crd, true); err != nil {
			t.Errorf("%s: %v", g, err)
		}
		if crd.Spec.Group != "delivery.ocm.software" {
			t.Errorf("%s: group %q", g, crd.Spec.Group)
		}
	}
}

// TestKustomizeBase builds config/default as `kubectl apply -k` would and
// checks its objects the same way, and that its CRD copies are current.
func TestKustomizeBase(t *testing.T) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), "../config/default")
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range m.Resources() {
		// Through JSON: Map() holds Go ints, which unstructured cannot copy.
		raw, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		obj := map[string]any{}
		if err := utilyaml.Unmarshal(raw, &obj); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, &unstructured.Unstructured{Object: obj})
	}
	byKey := checkTyped(t, objs)
	d := byKey["Deployment/ocm-controller"]
	if d == nil || d.GetNamespace() != "ocm-system" {
		t.Fatalf("deployment missing or not in ocm-system: %v", d)
	}
	ctrs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if img := ctrs[0].(map[string]any)["image"]; img != "ghcr.io/ocmgo/ocm-controller:0.1.0" {
		t.Errorf("image %v", img)
	}
	generated, _ := filepath.Glob("../config/crd/bases/*.yaml")
	for _, g := range generated {
		want, _ := os.ReadFile(g)
		got, err := os.ReadFile(filepath.Join("../config/default/crds", filepath.Base(g)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("config/default/crds/%s differs from %s (cp config/crd/bases/*.yaml config/default/crds/)", filepath.Base(g), g)
		}
	}
}

// kustomizeObjects builds config/default.
func kustomizeObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "../config/default")
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range m.Resources() {
		js, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		o := map[string]any{}
		if err := utilyaml.Unmarshal(js, &o); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, &unstructured.Unstructured{Object: o})
	}
	return objs
}

// Leader election works under the shipped RBAC: the lease is kept in the
// namespace of the leader-election Role (--leader-election-namespace),
// and that Role lets it record its core/v1 events.
func TestLeaderElectionRBAC(t *testing.T) {
	for name, objs := range map[string][]*unstructured.Unstructured{"chart": render(t, load(t), nil), "config/default": kustomizeObjects(t)} {
		var role, deploy *unstructured.Unstructured
		for _, o := range objs {
			switch {
			case o.GetKind() == "Role" && strings.HasSuffix(o.GetName(), "-leader-election"):
				role = o
			case o.GetKind() == "Deployment":
				deploy = o
			}
		}
		if role == nil || deploy == nil {
			t.Fatalf("%s: leader-election Role %v, Deployment %v", name, role != nil, deploy != nil)
		}
		got := rbacGrants([]*unstructured.Unstructured{role})
		for _, g := range []string{"coordination.k8s.io/leases/update", "coordination.k8s.io/leases/create", "/events/create", "/events/patch"} {
			if !got[g] {
				t.Errorf("%s: leader-election Role lacks %s", name, g)
			}
		}
		ctrs, _, _ := unstructured.NestedSlice(deploy.Object, "spec", "template", "spec", "containers")
		args := toStrings(ctrs[0].(map[string]any)["args"])
		if want := "--leader-election-namespace=" + role.GetNamespace(); !slices.Contains(args, want) {
			t.Errorf("%s: args %v lack %s", name, args, want)
		}
	}
}

// TestSamplesAreValid decodes config/samples strictly into the API types.
func TestSamplesAreValid(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../config/samples/*.yaml")
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			obj := map[string]any{}
			if err := d.Decode(&obj); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			u := &unstructured.Unstructured{Object: obj}
			typed, err := scheme.New(u.GroupVersionKind())
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj, typed, true); err != nil {
				t.Errorf("%s: %v", f, err)
			}
			n++
		}
	}
	if n < 3 {
		t.Fatalf("only %d sample objects", n)
	}
}

// rbacGrants lists "group/resource/verb" of every rule of the roles among objs.
func rbacGrants(objs []*unstructured.Unstructured) map[string]bool {
	out := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() != "ClusterRole" && o.GetKind() != "Role" || strings.HasSuffix(o.GetName(), "-deployer") {
			continue
		}
		rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
		for _, r := range rules {
			rm := r.(map[string]any)
			for _, g := range toStrings(rm["apiGroups"]) {
				for _, res := range toStrings(rm["resources"]) {
					for _, v := range toStrings(rm["verbs"]) {
						out[g+"/"+res+"/"+v] = true
					}
				}
			}
		}
	}
	return out
}

// The hand-written roles of the chart and the kustomize base grant what the
// reconcilers' kubebuilder markers ask for (config/rbac/role.yaml,
// generated by hack/generate.sh): a new marker without a role change fails.
func TestRolesCoverGeneratedRBAC(t *testing.T) {
	raw, err := os.ReadFile("../config/rbac/role.yaml")
	if err != nil {
		t.Fatal(err)
	}
	obj := map[string]any{}
	if err := utilyaml.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	want := rbacGrants([]*unstructured.Unstructured{{Object: obj}})
	if len(want) == 0 {
		t.Fatal("no rules in config/rbac/role.yaml")
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), "../config/default")
	if err != nil {
		t.Fatal(err)
	}
	var kobjs []*unstructured.Unstructured
	for _, r := range m.Resources() {
		js, _ := r.MarshalJSON()
		o := map[string]any{}
		if err := utilyaml.Unmarshal(js, &o); err != nil {
			t.Fatal(err)
		}
		kobjs = append(kobjs, &unstructured.Unstructured{Object: o})
	}
	for name, objs := range map[string][]*unstructured.Unstructured{"chart": render(t, load(t), nil), "config/default": kobjs} {
		got := rbacGrants(objs)
		for g := range want {
			if !got[g] {
				t.Errorf("%s: the manager's roles lack %s, which a reconciler's RBAC marker needs", name, g)
			}
		}
	}
}
