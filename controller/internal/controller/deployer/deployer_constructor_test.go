package deployer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ocmgo/ocm/constructor"
	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
)

// TestDeployerConstructedComponent builds a component as `ocm add cv`
// does, with a Helm chart directory (a native OCI Helm artifact) and a
// directory of manifests (a tgz), and deploys both: the formats the
// library writes are the ones the deployer decodes.
func TestDeployerConstructedComponent(t *testing.T) {
	ctx := context.Background()
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.2.3\n")
	write("chart/values.yaml", "replicas: 2\n")
	write("chart/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  replicas: {{ .Values.replicas | quote }}\n")
	write("manifests/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-dir\n  namespace: "+ns+"\n")
	write("component-constructor.yaml", `components:
- name: acme.org/constructed
  version: 1.0.0
  provider: {name: acme.org}
  resources:
  - name: chart
    type: helmChart
    input: {type: helm, path: ./chart}
  - name: manifests
    type: kubernetes-manifests
    input: {type: dir, path: ./manifests, compress: true}
`)
	spec, err := constructor.Load(filepath.Join(dir, "component-constructor.yaml"), constructor.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := constructor.Build(ctx, spec, testenv.Registry(t, host), constructor.BuildOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, res := range []string{"chart", "manifests"} {
		markResolved(t, ns, res, host, "acme.org/constructed", "1.0.0", res)
		d := &v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: res + "-" + ns}, Spec: v1alpha1.DeployerSpec{ResourceRef: v1alpha1.ObjectKey{Namespace: ns, Name: res}}}
		if err := testenv.Current.Client.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 30*time.Second, func() error {
			return testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
		})
		t.Cleanup(func() { _ = testenv.Current.Client.Delete(ctx, d) })
	}
	cm := &corev1.ConfigMap{}
	if err := testenv.Current.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web-config"}, cm); err != nil {
		t.Fatalf("chart not deployed into the release namespace: %v", err)
	}
	if cm.Data["replicas"] != "2" {
		t.Fatalf("chart values not rendered: %v", cm.Data)
	}
	if err := testenv.Current.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "from-dir"}, cm); err != nil {
		t.Fatalf("manifest tgz not deployed: %v", err)
	}
}
