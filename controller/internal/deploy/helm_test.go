package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const testCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`

// testChart is a small chart: a CRD in crds/, templates using values and
// release data, a hook, a partial and NOTES.txt.
func testChart(t *testing.T, gz bool, extra ...tarEntry) []byte {
	entries := []tarEntry{
		{name: "demo/Chart.yaml", body: "apiVersion: v2\nname: demo\nversion: 0.1.0\n"},
		{name: "demo/values.yaml", body: "greeting: hello\nreplicas: 2\nextra: true\n"},
		{name: "demo/crds/widget.yaml", body: testCRD},
		{name: "demo/templates/_helpers.tpl", body: `{{- define "demo.name" -}}{{ .Release.Name }}-demo{{- end -}}`},
		{name: "demo/templates/cm.yaml", body: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"demo.name\" . }}\n  namespace: {{ .Release.Namespace }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n"},
		{name: "demo/templates/extra.yaml", body: "{{- if .Values.extra }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n{{- end }}\n"},
		{name: "demo/templates/ns.yaml", body: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ .Release.Name }}-ns\n"},
		{name: "demo/templates/hook.yaml", body: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: test\n  annotations:\n    helm.sh/hook: test\nspec:\n  containers: []\n"},
		{name: "demo/templates/NOTES.txt", body: "thanks for installing {{ .Release.Name }}"},
	}
	return makeTar(t, gz, append(entries, extra...)...)
}

func TestRenderChartTgz(t *testing.T) {
	p := writeFile(t, "chart.tgz", testChart(t, true))
	src, format, err := Open(p, Options{Helm: HelmOptions{ReleaseName: "rel", Namespace: "apps"}})
	if err != nil {
		t.Fatal(err)
	}
	if format != FormatHelmChart {
		t.Fatalf("format %q", format)
	}
	var objs []*unstructured.Unstructured
	if err := src.Each(context.Background(), func(u *unstructured.Unstructured) error { objs = append(objs, u); return nil }); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	// CRDs first, then Helm's install order (Namespace before ConfigMap); the test hook is left out.
	want := "CustomResourceDefinition/widgets.example.com,Namespace/rel-ns,ConfigMap/rel-demo,ConfigMap/extra"
	if strings.Join(got, ",") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	cm := objs[2]
	if cm.GetNamespace() != "apps" {
		t.Errorf("namespace %q, want the release namespace", cm.GetNamespace())
	}
	if v, _, _ := unstructured.NestedString(cm.Object, "data", "greeting"); v != "hello" {
		t.Errorf("greeting %q", v)
	}

	// Values override the chart's defaults.
	src, _, err = Open(p, Options{Helm: HelmOptions{ReleaseName: "rel", Values: map[string]any{"extra": false, "greeting": "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	got = names(t, src)
	if strings.Join(got, ",") != "CustomResourceDefinition/widgets.example.com,Namespace/rel-ns,ConfigMap/rel-demo" {
		t.Fatalf("with values: %v", got)
	}
}

func TestRenderChartErrors(t *testing.T) {
	bad := testChart(t, true, tarEntry{name: "demo/templates/bad.yaml", body: "{{ .Values.nope.deeper }}"})
	src, _, err := Open(writeFile(t, "bad.tgz", bad), Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = src.Each(context.Background(), func(*unstructured.Unstructured) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "rendering") {
		t.Fatalf("error %v, want a rendering error", err)
	}
}

// ociLayoutTar builds what the library's download writes for a native Helm
// artifact with extraction disabled: an OCI image layout tar.
func ociLayoutTar(t *testing.T, chart []byte, layerMediaType string) []byte {
	t.Helper()
	cfg := []byte(`{"name":"demo","version":"0.1.0"}`)
	layer := ocispec.Descriptor{MediaType: layerMediaType, Digest: digest.FromBytes(chart), Size: int64(len(chart))}
	m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{MediaType: "application/vnd.cncf.helm.config.v1+json", Digest: digest.FromBytes(cfg), Size: int64(len(cfg))},
		Layers: []ocispec.Descriptor{layer}}
	mb, _ := json.Marshal(m)
	md := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mb), Size: int64(len(mb))}
	ib, _ := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{md}})
	blob := func(d digest.Digest) string { return "blobs/sha256/" + d.Encoded() }
	return makeTar(t, false,
		tarEntry{name: blob(digest.FromBytes(cfg)), body: string(cfg)},
		tarEntry{name: blob(layer.Digest), body: string(chart)},
		tarEntry{name: blob(md.Digest), body: string(mb)},
		tarEntry{name: "index.json", body: string(ib)},
		tarEntry{name: "oci-layout", body: `{"imageLayoutVersion":"1.0.0"}`},
	)
}

func TestRenderChartOCILayout(t *testing.T) {
	p := writeFile(t, "layout.tar", ociLayoutTar(t, testChart(t, true), helmChartLayerMediaType))
	src, format, err := Open(p, Options{Helm: HelmOptions{ReleaseName: "rel"}})
	if err != nil {
		t.Fatal(err)
	}
	if format != FormatOCILayout {
		t.Fatalf("format %q", format)
	}
	if got := names(t, src); len(got) != 4 || got[0] != "CustomResourceDefinition/widgets.example.com" {
		t.Fatalf("got %v", got)
	}

	p = writeFile(t, "image.tar", ociLayoutTar(t, []byte("not a chart"), "application/vnd.oci.image.layer.v1.tar+gzip"))
	src, _, err = Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Each(context.Background(), func(*unstructured.Unstructured) error { return nil }); err == nil || !strings.Contains(err.Error(), "no Helm chart") {
		t.Fatalf("error %v, want 'no Helm chart'", err)
	}
}

// Hooks other than test hooks are refused, naming them, unless skipped;
// .Capabilities come from the options (the cluster's).
func TestRenderChartHooksAndCapabilities(t *testing.T) {
	withHook := testChart(t, true,
		tarEntry{name: "demo/templates/migrate.yaml", body: "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\nspec: {}\n"},
		tarEntry{name: "demo/templates/caps.yaml", body: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caps\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  widgets: {{ .Capabilities.APIVersions.Has \"example.com/v1/Widget\" | quote }}\n"})
	p := writeFile(t, "hooks.tgz", withHook)
	src, _, err := Open(p, Options{Helm: HelmOptions{ReleaseName: "rel"}})
	if err != nil {
		t.Fatal(err)
	}
	err = src.Each(context.Background(), func(*unstructured.Unstructured) error { return nil })
	if !errors.Is(err, ErrHooks) || !strings.Contains(err.Error(), "Job migrate (demo/templates/migrate.yaml, [pre-install pre-upgrade])") || strings.Contains(err.Error(), "Pod test") {
		t.Fatalf("chart with a pre-install hook: %v", err)
	}
	src, _, err = Open(p, Options{Helm: HelmOptions{ReleaseName: "rel", SkipHooks: true, KubeVersion: "v1.37.2", APIVersions: []string{"v1", "example.com/v1", "example.com/v1/Widget"}}})
	if err != nil {
		t.Fatal(err)
	}
	var caps *unstructured.Unstructured
	if err := src.Each(context.Background(), func(u *unstructured.Unstructured) error {
		if u.GetKind() == "Job" {
			t.Errorf("skipped hook rendered: %s", u.GetName())
		}
		if u.GetName() == "caps" {
			caps = u
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	data, _, _ := unstructured.NestedStringMap(caps.Object, "data")
	if data["kube"] != "v1.37.2" || data["widgets"] != "true" {
		t.Fatalf(".Capabilities: %v", data)
	}
}
