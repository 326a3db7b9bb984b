package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/registry/remote"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
)

// readyTimeout bounds each wait for a chain to become Ready; generous,
// because the machine running CI may be busy.
const readyTimeout = 2 * time.Minute

const deliveryGroup = "delivery.ocm.software"

// example is one example's files copied into a temporary directory, with
// __NAMESPACE__ and __REGISTRY__ set in its YAML files (charts excepted:
// they are Helm templates).
type example struct {
	t        *testing.T
	dir      string
	ns, host string
}

func newExample(t *testing.T, name string) *example {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}
	if err := admin.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	e := &example{t: t, dir: t.TempDir(), ns: ns.Name, host: testenv.StartRegistry(t)}
	src := filepath.Join("testdata", name)
	r := strings.NewReplacer("__NAMESPACE__", e.ns, "__REGISTRY__", e.host)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(e.dir, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !slices.Contains(strings.Split(filepath.ToSlash(rel), "/"), "chart") {
			data = []byte(r.Replace(string(data)))
		}
		return os.WriteFile(out, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("manager log (last 60 lines):\n%s", manager.tail(60))
		}
	})
	return e
}

// ocm runs the CLI in the example's directory.
func (e *example) ocm(args ...string) string {
	e.t.Helper()
	cmd := exec.Command(ocmBin, args...)
	cmd.Dir = e.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "OCM_CONFIG_PATH=/nonexistent")
	if err := cmd.Run(); err != nil {
		e.t.Fatalf("ocm %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// publish builds the constructor's components into a CTF and transfers
// root:version with its resources into the example's registry (under
// path, if not empty).
func (e *example) publish(constructor, root, version, path string) time.Duration {
	e.t.Helper()
	start := time.Now()
	ctf := filepath.Join(e.dir, "ctf-"+version)
	e.ocm("add", "cv", "-c", constructor, "-r", ctf)
	e.ocm("transfer", "cv", "--recursive", "--copy-resources", ctf+"//"+root+":"+version, strings.TrimSuffix(e.host+"/"+path, "/"))
	return time.Since(start)
}

// apply creates the objects of a manifest file as `kubectl create -f`
// does, and deletes them when the test ends (Deployers first, so that
// they prune what they applied while their Resources still exist).
func (e *example) apply(file string) []*unstructured.Unstructured {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(e.dir, file))
	if err != nil {
		e.t.Fatal(err)
	}
	objs, err := decodeAll(data)
	if err != nil {
		e.t.Fatalf("%s: %v", file, err)
	}
	ctx := context.Background()
	for _, o := range objs {
		if err := admin.Create(ctx, o); err != nil {
			e.t.Fatalf("%s: %s %s: %v", file, o.GetKind(), o.GetName(), err)
		}
	}
	e.t.Cleanup(func() {
		for _, kind := range []string{"Deployer", ""} {
			for _, o := range objs {
				if (kind == "") == (o.GetKind() == "Deployer") {
					continue
				}
				if err := admin.Delete(ctx, o); err != nil && !apierrors.IsNotFound(err) {
					e.t.Errorf("deleting %s %s: %v", o.GetKind(), o.GetName(), err)
				}
			}
		}
	})
	return objs
}

// waitReady waits until every delivery.ocm.software object among objs is
// Ready for its current generation, and returns how long that took.
func (e *example) waitReady(objs []*unstructured.Unstructured) time.Duration {
	e.t.Helper()
	start := time.Now()
	ctx := context.Background()
	for _, o := range objs {
		if o.GroupVersionKind().Group != deliveryGroup {
			continue
		}
		if err := poll(readyTimeout, func() error { return ready(ctx, o) }); err != nil {
			e.t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	return time.Since(start)
}

// ready reads o and returns nil when its Ready condition is True for its
// generation.
func ready(ctx context.Context, o *unstructured.Unstructured) error {
	if err := admin.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
		return err
	}
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["type"] != "Ready" {
			continue
		}
		gen, _ := cm["observedGeneration"].(int64)
		if cm["status"] == "True" && gen == o.GetGeneration() {
			return nil
		}
		return fmt.Errorf("Ready=%v (%v) for generation %d of %d: %v", cm["status"], cm["reason"], gen, o.GetGeneration(), cm["message"])
	}
	return fmt.Errorf("no Ready condition yet (conditions %v)", conds)
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// get reads the object apiVersion/kind ns/name (ns empty: cluster-scoped).
func get(apiVersion, kind, ns, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	err := admin.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)
	return u, err
}

// wantApplied checks that the Deployer d applied each of the objects (as
// "apiVersion kind name" in ns) as members of its ApplySet, and returns
// them by "kind/name".
func (e *example) wantApplied(d *unstructured.Unstructured, ns string, objs ...string) map[string]*unstructured.Unstructured {
	e.t.Helper()
	id := d.GetLabels()["applyset.kubernetes.io/id"]
	if !strings.HasPrefix(id, "applyset-") {
		e.t.Fatalf("Deployer %s is no ApplySet parent: labels %v", d.GetName(), d.GetLabels())
	}
	out := map[string]*unstructured.Unstructured{}
	for _, spec := range objs {
		f := strings.Fields(spec)
		u, err := get(f[0], f[1], ns, f[2])
		if err != nil {
			e.t.Fatalf("%s not applied: %v", spec, err)
		}
		if got := u.GetLabels()["applyset.kubernetes.io/part-of"]; got != id {
			e.t.Errorf("%s: part-of %q, want the Deployer's ApplySet %q", spec, got, id)
		}
		out[f[1]+"/"+f[2]] = u
	}
	deployed, _, _ := unstructured.NestedSlice(d.Object, "status", "deployed")
	if len(deployed) != len(objs) {
		e.t.Errorf("Deployer %s status.deployed lists %d objects, want %d: %v", d.GetName(), len(deployed), len(objs), deployed)
	}
	return out
}

// wantPullable checks that additional status coordinates name content
// the registry serves, as `oras manifest fetch` or `oras blob fetch` with
// registry/repository@digest would.
func (e *example) wantPullable(what string, coords map[string]any) {
	e.t.Helper()
	registry, _ := coords["registry"].(string)
	repository, _ := coords["repository"].(string)
	dg, _ := coords["digest"].(string)
	if registry != e.host || repository == "" || digest.Digest(dg).Validate() != nil {
		e.t.Fatalf("%s: coordinates %v, want registry %s, a repository and a digest", what, coords, e.host)
	}
	repo, err := remote.NewRepository(registry + "/" + repository)
	if err != nil {
		e.t.Fatal(err)
	}
	repo.PlainHTTP = true
	ctx := context.Background()
	desc, err := repo.Manifests().Resolve(ctx, dg)
	if err != nil {
		if desc, err = repo.Blobs().Resolve(ctx, dg); err != nil {
			e.t.Fatalf("%s: %s/%s@%s is neither a manifest nor a blob in the registry: %v", what, registry, repository, dg, err)
		}
	}
	if desc.Digest.String() != dg {
		e.t.Fatalf("%s: resolved %s, want %s", what, desc.Digest, dg)
	}
}

func additional(t *testing.T, o *unstructured.Unstructured) map[string]any {
	t.Helper()
	add, ok, _ := unstructured.NestedMap(o.Object, "status", "additional")
	if !ok {
		t.Fatalf("%s %s has no status.additional: %v", o.GetKind(), o.GetName(), o.Object["status"])
	}
	return add
}

// k8s-manifest-simple: a plain manifest bundle (a Service and a
// Deployment without namespaces) is applied as one ApplySet, into
// "default" as the reference does.
func TestK8sManifestSimple(t *testing.T) {
	t.Parallel()
	e := newExample(t, "k8s-manifest-simple")
	pub := e.publish("component-constructor.yaml", "ocm.software/examples/k8s-manifest-simple", "1.0.0", "")
	objs := e.apply("bootstrap.yaml")
	took := e.waitReady(objs)
	t.Logf("published in %s; Repository, Component, Resource and Deployer Ready %s after applying", pub.Round(time.Millisecond), took.Round(time.Millisecond))
	d := find(objs, "Deployer", "k8s-manifest-simple-"+e.ns)
	// Without namespaces in the manifests, they land in "default".
	name := "greeter-" + e.ns
	got := e.wantApplied(d, metav1.NamespaceDefault, "v1 Service "+name, "apps/v1 Deployment "+name)
	ports, _, _ := unstructured.NestedSlice(got["Service/"+name].Object, "spec", "ports")
	if len(ports) != 1 {
		t.Errorf("Service %s ports %v", name, ports)
	}
}

// applyset-pruning: version 1.0.0 applies two services; moving the
// Component to 2.0.0, which has only one, prunes the other's Service and
// Deployment and updates the one that stays.
func TestApplySetPruning(t *testing.T) {
	t.Parallel()
	e := newExample(t, "applyset-pruning")
	const name = "ocm.software/examples/applyset-pruning"
	e.publish("component-constructor.yaml", name, "1.0.0", "")
	chain := e.apply("bootstrap.yaml")
	e.waitReady(chain)
	deployer := e.apply("bootstrap-deployer.yaml")
	took := e.waitReady(deployer)
	t.Logf("1.0.0 applied %s after creating the Deployer", took.Round(time.Millisecond))
	all := []string{"v1 Service catalog", "apps/v1 Deployment catalog", "v1 Service catalog-search", "apps/v1 Deployment catalog-search"}
	e.wantApplied(deployer[0], e.ns, all...)

	e.publish("component-constructor-2.yaml", name, "2.0.0", "")
	start := time.Now()
	comp := find(chain, "Component", "applyset-pruning-component")
	patch := []byte(`{"spec":{"semver":"2.0.0"}}`)
	if err := admin.Patch(context.Background(), comp, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := poll(readyTimeout, func() error {
		for _, kind := range []string{"Service", "Deployment"} {
			apiVersion := map[string]string{"Service": "v1", "Deployment": "apps/v1"}[kind]
			if _, err := get(apiVersion, kind, e.ns, "catalog-search"); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s catalog-search not pruned yet (%v)", kind, err)
			}
		}
		dep, err := get("apps/v1", "Deployment", e.ns, "catalog")
		if err != nil {
			return err
		}
		ctrs, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
		if img := ctrs[0].(map[string]any)["image"]; img != "registry.example/catalog:2.0.0" {
			return fmt.Errorf("Deployment catalog runs %v", img)
		}
		// The Deployer's status records the new version and its objects.
		if err := ready(ctx, deployer[0]); err != nil {
			return err
		}
		v, _, _ := unstructured.NestedString(deployer[0].Object, "status", "lastApplied", "component", "version")
		deployed, _, _ := unstructured.NestedSlice(deployer[0].Object, "status", "deployed")
		if v != "2.0.0" || len(deployed) != 2 {
			return fmt.Errorf("Deployer status: lastApplied %q, %d objects deployed", v, len(deployed))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("2.0.0 applied and 1.0.0's leftovers pruned %s after moving the Component", time.Since(start).Round(time.Millisecond))
	e.wantApplied(deployer[0], e.ns, all[:2]...)
	// The manager's log says what it did, with counts.
	if err := poll(10*time.Second, func() error {
		if !manager.logContains(`"msg":"applied"`, `"name":"`+deployer[0].GetName()+`"`, `"version":"2.0.0"`, `"applied":2`, `"pruned":2`) {
			return errors.New("no log line says 2.0.0 applied 2 objects and pruned 2")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// helm-simple: the component's kro graph is delivered as data; the
// Resource its first node creates exposes the chart's OCI coordinates in
// status.additional (toOCI() of a local blob), which the registry serves;
// and the chart, handed to a Deployer where the graph hands it to Flux,
// is rendered with its values and applied.
func TestHelmSimple(t *testing.T) {
	t.Parallel()
	e := newExample(t, "helm-simple")
	pub := e.publish("component-constructor.yaml", "ocm.software/examples/helm-simple", "1.0.0", "")
	objs := e.apply("bootstrap.yaml")
	took := e.waitReady(objs)
	t.Logf("published in %s; graph delivered %s after applying", pub.Round(time.Millisecond), took.Round(time.Millisecond))
	rgd := e.wantApplied(find(objs, "Deployer", "helm-simple-rgd-"+e.ns), "", "kro.run/v1alpha1 ResourceGraphDefinition helm-simple-"+e.ns)["ResourceGraphDefinition/helm-simple-"+e.ns]
	if kind, _, _ := unstructured.NestedString(rgd.Object, "spec", "schema", "kind"); kind != "HelmSimple" {
		t.Errorf("RGD schema kind %q", kind)
	}
	if nodes, _, _ := unstructured.NestedSlice(rgd.Object, "spec", "resources"); len(nodes) != 3 {
		t.Errorf("RGD has %d resources, want 3", len(nodes))
	}

	inst := e.apply("instance.yaml")
	took = e.waitReady(inst)
	t.Logf("chart resolved and rendered %s after creating the graph's objects", took.Round(time.Millisecond))
	res := find(inst, "Resource", "helm-simple-resource-chart")
	coords := additional(t, res)
	if tag, ok := coords["tag"]; !ok || tag != "" {
		t.Errorf("tag of a local blob: %v (present %v), want empty", tag, ok)
	}
	e.wantPullable("helm-resource", coords)

	release := "helm-simple-" + e.ns
	got := e.wantApplied(find(inst, "Deployer", release), e.ns, "apps/v1 Deployment "+release, "v1 Service "+release)
	ctrs, _, _ := unstructured.NestedSlice(got["Deployment/"+release].Object, "spec", "template", "spec", "containers")
	if len(ctrs) != 1 || ctrs[0].(map[string]any)["image"] != "registry.example/hello-web:1.0.0" {
		t.Errorf("rendered containers %v", ctrs)
	}
}

// writeImageLayout writes a one-layer OCI image layout into dir.
func writeImageLayout(t *testing.T, dir, tag string) {
	t.Helper()
	ctx := context.Background()
	store, err := oci.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	push := func(mt string, data []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(data), Size: int64(len(data))}
		if err := store.Push(ctx, d, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cfg := push(ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux"}`))
	layer := push(ocispec.MediaTypeImageLayer, []byte(dir+" "+tag))
	m, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{layer}})
	if err := store.Tag(ctx, push(ocispec.MediaTypeImageManifest, m), tag); err != nil {
		t.Fatal(err)
	}
}

// The sovereign scenario: the product (notes and postgres, each an image
// and a chart) is built, signed with RSA-PSS, carried through a .tgz into
// an isolated registry; the bootstrap verifies the product and delivers
// its kro graph; the Resources the graph's instance creates resolve every
// chart and image, through the product's references, to coordinates
// (toOCI()) the registry serves.
func TestSovereignGraph(t *testing.T) {
	t.Parallel()
	e := newExample(t, "sovereign")
	ctx := context.Background()
	start := time.Now()
	writeImageLayout(t, filepath.Join(e.dir, "notes", "image"), "1.0.0")
	writeImageLayout(t, filepath.Join(e.dir, "postgres", "image"), "16.4")
	priv, pub := filepath.Join(e.dir, "key.priv"), filepath.Join(e.dir, "key.pub")
	e.ocm("create", "rsakeypair", priv, pub)
	cfg := filepath.Join(e.dir, ".ocmconfig")
	if err := os.WriteFile(cfg, []byte(`type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: RSA/v1alpha1, algorithm: RSASSA-PSS, signature: default}
    credentials:
    - type: Credentials/v1
      properties: {private_key_pem_file: `+priv+`}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	const product = "acme.org/sovereign/product:1.0.0"
	ctf := filepath.Join(e.dir, "ctf")
	e.ocm("add", "cv", "-c", "component-constructor.yaml", "-r", ctf)
	e.ocm("--config", cfg, "sign", "cv", ctf+"//"+product)
	tgz := filepath.Join(e.dir, "airgap.tgz")
	e.ocm("transfer", "cv", "--recursive", "--copy-resources", ctf+"//"+product, tgz)
	e.ocm("transfer", "cv", "--recursive", "ctf::"+tgz+"//"+product, e.host+"/sovereign")
	t.Logf("product built, signed and carried into the isolated registry in %s", time.Since(start).Round(time.Millisecond))

	pubPEM, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	key := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "acme-signing-key"}, Data: map[string][]byte{"default": pubPEM}}
	if err := admin.Create(ctx, key); err != nil {
		t.Fatal(err)
	}
	objs := e.apply("bootstrap.yaml")
	took := e.waitReady(objs)
	t.Logf("product verified and graph delivered %s after applying the bootstrap", took.Round(time.Millisecond))
	rgdName := "sovereign-product-" + e.ns
	rgd := e.wantApplied(find(objs, "Deployer", rgdName), "", "kro.run/v1alpha1 ResourceGraphDefinition "+rgdName)["ResourceGraphDefinition/"+rgdName]
	if kind, _, _ := unstructured.NestedString(rgd.Object, "spec", "schema", "kind"); kind != "SovereignProduct" {
		t.Errorf("RGD schema kind %q", kind)
	}
	comp := find(objs, "Component", "sovereign-product-component")
	if msg := conditionMessage(comp, "Ready"); !strings.Contains(msg, "signature(s) default and content verified") {
		t.Errorf("Component Ready message does not say the signature was verified: %q", msg)
	}

	inst := e.apply("instance.yaml")
	took = e.waitReady(inst)
	t.Logf("the graph's 4 toOCI() Resources Ready %s after creating them", took.Round(time.Millisecond))
	for _, o := range inst {
		if o.GetKind() != "Resource" {
			continue
		}
		oci, ok := additional(t, o)["oci"].(map[string]any)
		if !ok {
			t.Fatalf("%s: status.additional.oci is %v", o.GetName(), additional(t, o))
		}
		if repo, _ := oci["repository"].(string); !strings.HasPrefix(repo, "sovereign/") {
			t.Errorf("%s: repository %q is not under the isolated registry's path", o.GetName(), repo)
		}
		e.wantPullable(o.GetName(), oci)
	}
}

func conditionMessage(o *unstructured.Unstructured, typ string) string {
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conds {
		if cm, _ := c.(map[string]any); cm["type"] == typ {
			s, _ := cm["message"].(string)
			return s
		}
	}
	return ""
}

// The manager serves its metrics on the port given by the chart's
// --metrics-bind-address (moved to a free one), with reconcile durations
// per kind once an example reconciled.
func TestMetricsServed(t *testing.T) {
	e := newExample(t, "k8s-manifest-simple")
	e.publish("component-constructor.yaml", "ocm.software/examples/k8s-manifest-simple", "1.0.0", "")
	e.waitReady(e.apply("bootstrap.yaml"))
	resp, err := http.Get("http://" + manager.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s %v", resp.Status, err)
	}
	for _, kind := range []string{"Repository", "Component", "Resource", "Deployer"} {
		want := fmt.Sprintf(`gotk_reconcile_duration_seconds_count{kind="%s"`, kind)
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
