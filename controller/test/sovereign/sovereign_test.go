// Package sovereign runs the sovereign delivery scenario end to end, without
// docker or kind: a product referencing two services (a Helm chart, plain
// manifests, an OCI image layout) is built with `ocm add cv`, signed with
// RSA-PSS, carried through a .tgz archive into an isolated registry, and a
// Repository/Component/Resource/Deployer chain in the envtest cluster
// verifies and applies it; a new version prunes what left the chart, and a
// tampered version is refused with nothing applied.
package sovereign

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"oras.land/oras-go/v2/content/oci"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
	"github.com/ocmgo/ocm/controller/internal/setup"
)

var ocmBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sovereign-")
	if err != nil {
		panic(err)
	}
	// The CLI from this checkout: what users run to build and carry the product.
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	ocmBin = filepath.Join(dir, "ocm")
	if out, err := exec.Command("go", "build", "-C", root, "-o", ocmBin, "./cmd/ocm").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building ocm: %v\n%s", err, out)
		os.Exit(1)
	}
	code := testenv.Main(m, func(mgr ctrl.Manager) error {
		return setup.All(mgr, setup.Options{DeployerCacheDir: filepath.Join(dir, "cache")})
	})

	os.RemoveAll(dir)
	os.Exit(code)
}

func ocmRun(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(ocmBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "OCM_CONFIG_PATH=/nonexistent", "SOURCE_DATE_EPOCH=1700000000")
	if err := cmd.Run(); err != nil {
		t.Fatalf("ocm %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// imageLayout writes a one-layer OCI image layout (the notes service image).
func imageLayout(t *testing.T, dir, tag string) {
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
	layer := push(ocispec.MediaTypeImageLayer, []byte("notes service binary "+tag))
	m, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{layer}})
	if err := store.Tag(ctx, push(ocispec.MediaTypeImageManifest, m), tag); err != nil {
		t.Fatal(err)
	}
}

// product writes the constructor of product, notes and postgres in version
// v into dir: the notes chart renders one ConfigMap per name in charts.
func product(t *testing.T, dir, ns, v string, charts []string, pgExtra string) string {
	t.Helper()
	write(t, filepath.Join(dir, "chart", "Chart.yaml"), "apiVersion: v2\nname: notes\nversion: "+v+"\nappVersion: "+v+"\n")
	write(t, filepath.Join(dir, "chart", "values.yaml"), "replicas: 2\n")
	os.RemoveAll(filepath.Join(dir, "chart", "templates"))
	for _, n := range charts {
		write(t, filepath.Join(dir, "chart", "templates", n+".yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "+n+"\ndata:\n  replicas: {{ .Values.replicas | quote }}\n  release: {{ .Release.Name }}\n")
	}
	write(t, filepath.Join(dir, "postgres.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: postgres-config\n  namespace: "+ns+"\ndata:\n  version: \""+v+"\"\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: postgres\n  namespace: "+ns+"\nspec:\n  ports:\n  - port: 5432\n"+pgExtra)
	imageLayout(t, filepath.Join(dir, "image"), v)
	cons := filepath.Join(dir, "component-constructor.yaml")
	write(t, cons, `components:
- name: acme.org/sovereign/notes
  version: `+v+`
  provider: {name: acme.org}
  resources:
  - name: helm-chart
    type: helmChart
    input: {type: helm, path: chart}
  - name: image
    type: ociImage
    input: {type: ociImageLayout, path: image}
- name: acme.org/sovereign/postgres
  version: `+v+`
  provider: {name: acme.org}
  resources:
  - name: manifests
    type: kubernetes-manifest
    input: {type: file, path: postgres.yaml, mediaType: application/x-yaml}
- name: acme.org/sovereign/product
  version: `+v+`
  provider: {name: acme.org}
  componentReferences:
  - {name: notes, componentName: acme.org/sovereign/notes, version: `+v+`}
  - {name: postgres, componentName: acme.org/sovereign/postgres, version: `+v+`}
`)
	return cons
}

// deliver builds version v, signs the product, carries it through a .tgz
// into the registry at host.
func deliver(t *testing.T, cfg, host, ns, v string, charts []string, pgExtra string) {
	t.Helper()
	dir := t.TempDir()
	cons := product(t, dir, ns, v, charts, pgExtra)
	ctf := filepath.Join(dir, "ctf")
	ocmRun(t, "add", "cv", "-c", cons, "-r", ctf)
	ocmRun(t, "--config", cfg, "sign", "cv", ctf+"//acme.org/sovereign/product:"+v)
	tgz := filepath.Join(dir, "airgap.tgz")
	ocmRun(t, "transfer", "cv", "--recursive", "--copy-resources", ctf+"//acme.org/sovereign/product:"+v, tgz)
	ocmRun(t, "transfer", "cv", "--recursive", "ctf::"+tgz+"//acme.org/sovereign/product:"+v, host+"/sovereign")
}

func cm(ns, name string) error {
	return testenv.Current.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &corev1.ConfigMap{})
}

func TestSovereignDelivery(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t) // the isolated registry

	keys := t.TempDir()
	priv, pub := filepath.Join(keys, "key.priv"), filepath.Join(keys, "key.pub")
	ocmRun(t, "create", "rsakeypair", priv, pub)
	cfg := filepath.Join(keys, ".ocmconfig")
	write(t, cfg, `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: RSA/v1alpha1, algorithm: RSASSA-PSS, signature: default}
    credentials:
    - type: Credentials/v1
      properties: {private_key_pem_file: `+priv+`}
`)
	deliver(t, cfg, host, ns, "1.0.0", []string{"notes-config", "notes-legacy"}, "")

	pubPEM, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	objs := []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "signing-key"}, Data: map[string][]byte{"default": pubPEM}},
		&v1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "isolated"}, Spec: v1alpha1.RepositorySpec{
			RepositorySpec: &apiextensionsv1.JSON{Raw: fmt.Appendf(nil, `{"type":"OCIRegistry","baseUrl":"http://%s/sovereign"}`, host)}, Interval: metav1.Duration{Duration: time.Hour},
		}},
		&v1alpha1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "product"}, Spec: v1alpha1.ComponentSpec{
			RepositoryRef: v1alpha1.LocalObjectReference{Name: "isolated"}, Component: "acme.org/sovereign/product", Semver: ">=1.0.0",
			Verify:   []v1alpha1.Verification{{Signature: "default", SecretRef: &v1alpha1.LocalObjectReference{Name: "signing-key"}}},
			Interval: metav1.Duration{Duration: time.Hour},
		}},
		&v1alpha1.Resource{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "notes-chart"}, Spec: v1alpha1.ResourceSpec{
			ComponentRef: v1alpha1.LocalObjectReference{Name: "product"},
			Resource: v1alpha1.ResourceID{ByReference: &v1alpha1.ResourceReference{
				Resource: v1alpha1.Identity{"name": "helm-chart"}, ReferencePath: []v1alpha1.Identity{{"name": "notes"}},
			}},
		}},
		&v1alpha1.Resource{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "postgres-manifests"}, Spec: v1alpha1.ResourceSpec{
			ComponentRef: v1alpha1.LocalObjectReference{Name: "product"},
			Resource: v1alpha1.ResourceID{ByReference: &v1alpha1.ResourceReference{
				Resource: v1alpha1.Identity{"name": "manifests"}, ReferencePath: []v1alpha1.Identity{{"name": "postgres"}},
			}},
		}},
		&v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "notes-" + ns}, Spec: v1alpha1.DeployerSpec{ResourceRef: v1alpha1.ObjectKey{Namespace: ns, Name: "notes-chart"}}},
		&v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "postgres-" + ns}, Spec: v1alpha1.DeployerSpec{ResourceRef: v1alpha1.ObjectKey{Namespace: ns, Name: "postgres-manifests"}}},
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, o := range objs {
			if co, ok := o.(interface {
				client.Object
				v1alpha1.ConditionedObject
			}); ok && c.Get(ctx, client.ObjectKeyFromObject(co), co) == nil {
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
	testenv.Eventually(t, 90*time.Second, func() error {
		for _, n := range []string{"notes-config", "notes-legacy", "postgres-config"} {
			if err := cm(ns, n); err != nil {
				return err
			}
		}
		return nil
	})
	t.Logf("1.0.0 verified and applied %s after creating the objects", time.Since(start).Round(time.Millisecond))

	// The applied objects belong to their Deployer's ApplySet, and the chart
	// was rendered with its values.
	notes := objs[5].(*v1alpha1.Deployer)
	if err := c.Get(ctx, client.ObjectKeyFromObject(notes), notes); err != nil {
		t.Fatal(err)
	}
	id := notes.GetLabels()["applyset.kubernetes.io/id"]
	if !strings.HasPrefix(id, "applyset-") || notes.GetAnnotations()["applyset.kubernetes.io/tooling"] == "" || !strings.Contains(notes.GetAnnotations()["applyset.kubernetes.io/contains-group-kinds"], "ConfigMap") {
		t.Fatalf("Deployer is no ApplySet parent: labels %v annotations %v", notes.GetLabels(), notes.GetAnnotations())
	}
	cfgMap := &corev1.ConfigMap{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "notes-config"}, cfgMap); err != nil {
		t.Fatal(err)
	}
	if cfgMap.Labels["applyset.kubernetes.io/part-of"] != id || cfgMap.Data["replicas"] != "2" || cfgMap.Labels["app.kubernetes.io/managed-by"] == "" {
		t.Fatalf("notes-config: labels %v data %v", cfgMap.Labels, cfgMap.Data)
	}
	svc := &corev1.Service{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "postgres"}, svc); err != nil {
		t.Fatalf("postgres service: %v", err)
	}

	// 1.1.0 drops notes-legacy from the chart: it is pruned.
	deliver(t, cfg, host, ns, "1.1.0", []string{"notes-config"}, "")
	bump(t, ns)
	testenv.Eventually(t, 60*time.Second, func() error {
		if err := cm(ns, "notes-legacy"); !apierrors.IsNotFound(err) {
			return fmt.Errorf("notes-legacy not pruned yet (%v)", err)
		}
		pg := &corev1.ConfigMap{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "postgres-config"}, pg); err != nil || pg.Data["version"] != "1.1.0" {
			return fmt.Errorf("postgres-config not at 1.1.0: %v %v", pg.Data, err)
		}
		return nil
	})

	// 1.2.0 is signed, then postgres 1.2.0 is replaced in the registry by
	// content the signature does not cover: the Component refuses it and
	// nothing of 1.2.0 is applied.
	deliver(t, cfg, host, ns, "1.2.0", []string{"notes-config", "notes-new"}, "")
	evil := t.TempDir()
	cons := product(t, evil, ns, "1.2.0", []string{"notes-config", "notes-new"}, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: backdoor\n  namespace: "+ns+"\n")
	ocmRun(t, "add", "cv", "-c", cons, "-r", filepath.Join(evil, "ctf"))
	ocmRun(t, "transfer", "cv", "--existing", "replace", filepath.Join(evil, "ctf")+"//acme.org/sovereign/postgres:1.2.0", host+"/sovereign")
	bump(t, ns)
	comp := objs[2].(*v1alpha1.Component)
	testenv.Eventually(t, 60*time.Second, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(comp), comp); err != nil {
			return err
		}
		ready := apimeta.FindStatusCondition(comp.Status.Conditions, v1alpha1.ReadyCondition)
		if ready == nil || ready.Status != metav1.ConditionFalse || !strings.Contains(ready.Message, "1.2.0") {
			return fmt.Errorf("Component not refusing 1.2.0 yet: %+v", ready)
		}
		return nil
	})
	t.Logf("tampered 1.2.0 refused: %s", apimeta.FindStatusCondition(comp.Status.Conditions, v1alpha1.ReadyCondition).Message)
	testenv.Consistently(t, 3*time.Second, func() error {
		for _, n := range []string{"backdoor", "notes-new"} {
			if err := cm(ns, n); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s applied from a tampered version (%v)", n, err)
			}
		}
		return nil
	})
	if comp.Status.Component.Version != "1.1.0" {
		t.Fatalf("Component moved to %s", comp.Status.Component.Version)
	}
}

// bump asks the Component to look for new versions now (its interval is
// an hour), as `flux reconcile` would.
func bump(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	c := testenv.Current.Client
	obj := &v1alpha1.Component{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "product"}, obj); err != nil {
		t.Fatal(err)
	}
	if obj.Annotations == nil {
		obj.Annotations = map[string]string{}
	}
	obj.Annotations["reconcile.delivery.ocm.software/requestedAt"] = time.Now().Format(time.RFC3339Nano)
	if err := c.Update(ctx, obj); err != nil {
		t.Fatal(err)
	}
}
