package deployer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
)

func chartTgz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n]))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Values come from ConfigMaps and Secrets (in order) and inline values,
// merged deeply over the chart's; .Capabilities are the cluster's; a chart
// with an install hook is refused naming it until hooks: Skip.
func TestDeployerHelmValuesCapabilitiesHooks(t *testing.T) {
	ctx := context.Background()
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	const comp = "acme.org/helmvalues"
	chart := chartTgz(t, map[string]string{
		"demo/Chart.yaml":  "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
		"demo/values.yaml": "greeting: hello\ndb: {host: localhost, port: 5432}\ntier: dev\n",
		"demo/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n" +
			"  greeting: {{ .Values.greeting }}\n  db: \"{{ .Values.db.host }}:{{ .Values.db.port }}\"\n  tier: {{ .Values.tier }}\n" +
			"  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  apps: {{ .Capabilities.APIVersions.Has \"apps/v1\" | quote }}\n" +
			"  crd: {{ .Capabilities.APIVersions.Has \"delivery.ocm.software/v1alpha1\" | quote }}\n",
		"demo/templates/migrate.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install\n",
	})
	testenv.Push(t, host, testenv.CV{Name: comp, Version: "0.1.0", Resources: []testenv.Resource{
		{Name: "chart", Version: "0.1.0", Type: "helmChart", Data: chart, MediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip"},
	}})
	markResolved(t, ns, "chart", host, comp, "0.1.0", "chart")
	c := testenv.Current.Client
	if err := c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "values"}, Data: map[string]string{"values.yaml": "db: {host: db.internal}\ntier: staging\n"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "secret-values"}, Data: map[string][]byte{"prod.yaml": []byte("db: {port: 6432}\n")}}); err != nil {
		t.Fatal(err)
	}
	d := &v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "hv-" + ns}, Spec: v1alpha1.DeployerSpec{
		ResourceRef: v1alpha1.ObjectKey{Namespace: ns, Name: "chart"},
		Helm: &v1alpha1.HelmRendering{
			ValuesFrom: []v1alpha1.HelmValuesReference{
				{Kind: "ConfigMap", Name: "values"},
				{Kind: "Secret", Name: "secret-values", ValuesKey: "prod.yaml"},
				{Kind: "ConfigMap", Name: "absent", Optional: true},
			},
			Values: &apiextensionsv1.JSON{Raw: []byte(`{"tier":"prod"}`)},
		},
	}}
	if err := c.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(ctx, d) })
	// The default hook policy refuses the pre-install hook, naming it.
	testenv.Eventually(t, 30*time.Second, func() error {
		return readyMessage(ctx, d, metav1.ConditionFalse, "ConfigMap migrate (demo/templates/migrate.yaml, [pre-install])")
	})
	if _, err := getCM(ns, "hv-"+ns+"-cm"); err == nil {
		t.Fatal("a chart with a refused hook was applied")
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
		t.Fatal(err)
	}
	d.Spec.Helm.Hooks = v1alpha1.HelmHooksSkip
	if err := c.Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionTrue, "")
	})
	cm, err := getCM(ns, "hv-"+ns+"-cm")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"greeting": "hello", "db": "db.internal:6432", "tier": "prod", "apps": "true", "crd": "true"}
	for k, v := range want {
		if cm.Data[k] != v {
			t.Errorf("%s = %q, want %q (data %v)", k, cm.Data[k], v, cm.Data)
		}
	}
	if !strings.HasPrefix(cm.Data["kube"], "v1.") || cm.Data["kube"] == "v1.20.0" {
		t.Errorf(".Capabilities.KubeVersion %q is not the cluster's", cm.Data["kube"])
	}
	if _, err := getCM(ns, "migrate"); err == nil {
		t.Error("the skipped hook was applied")
	}
	// A missing, non-optional values source is named.
	if err := c.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
		t.Fatal(err)
	}
	d.Spec.Helm.ValuesFrom = append(d.Spec.Helm.ValuesFrom, v1alpha1.HelmValuesReference{Kind: "Secret", Name: "nope"})
	if err := c.Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		return readyMessage(ctx, d, metav1.ConditionFalse, "spec.helm.valuesFrom[3]: reading Secret "+ns+"/nope")
	})
}

// readyMessage wants d's Ready condition with status st and a message
// containing msg, for d's current generation.
func readyMessage(ctx context.Context, d *v1alpha1.Deployer, st metav1.ConditionStatus, msg string) error {
	if err := testenv.Current.Client.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
		return err
	}
	cond := apimeta.FindStatusCondition(d.Status.Conditions, v1alpha1.ReadyCondition)
	if cond == nil || cond.Status != st || cond.ObservedGeneration != d.Generation || !strings.Contains(cond.Message, msg) {
		return fmt.Errorf("ready condition %+v, want %s with %q", cond, st, msg)
	}
	return nil
}
