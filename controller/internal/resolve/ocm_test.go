package resolve

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/cel-go/common/types"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/descriptor"
)

// TestParseImageReference runs the library's image reference table
// (reference/testdata/image-references.json, also run by the library's own
// tests and thereby the CLI): the controller reports the same coordinates
// the CLI resolves.
func TestParseImageReference(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "reference", "testdata", "image-references.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		In, Registry, Repository, Tag, Digest, String, Error string
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 10 {
		t.Fatalf("only %d cases in the shared table", len(cases))
	}
	for _, c := range cases {
		got, err := ParseImageReference(c.In)
		if c.Error != "" {
			if err == nil || !strings.Contains(err.Error(), c.Error) {
				t.Errorf("%q: %+v, %v; want error %q", c.In, got, err, c.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.In, err)
			continue
		}
		want := v1alpha1.OCIArtifactInfo{Registry: c.Registry, Repository: c.Repository, Tag: c.Tag, Digest: c.Digest, Reference: c.String}
		if want.Reference == "" {
			want.Reference = c.In
		}
		if *got != want {
			t.Errorf("%q: %+v, want %+v", c.In, *got, want)
		}
	}
}

func TestSelectResource(t *testing.T) {
	cd := &descriptor.Descriptor{}
	add := func(name, version, typ string, labels string) {
		r := descriptor.Resource{Type: typ}
		r.Name, r.Version = name, version
		if labels != "" {
			n, v, _ := strings.Cut(labels, "=")
			r.Labels = []descriptor.Label{{Name: n, Value: []byte(v)}}
		}
		cd.Component.Resources = append(cd.Component.Resources, r)
	}
	add("chart", "1.0.0", "helmChart", `purpose="deploy"`)
	add("chart", "2.0.0", "helmChart", `purpose="deploy"`)
	add("image", "1.0.0", "ociImage", `tier=1`)
	sel := func(s v1alpha1.ResourceSelector) v1alpha1.ResourceID { return v1alpha1.ResourceID{BySelector: &s} }
	ref := func(id map[string]string) v1alpha1.ResourceID {
		return v1alpha1.ResourceID{ByReference: &v1alpha1.ResourceReference{Resource: id}}
	}
	for _, tt := range []struct {
		id   v1alpha1.ResourceID
		want int
		err  string
	}{
		{id: ref(map[string]string{"name": "image"}), want: 2},
		{id: ref(map[string]string{"name": "chart", "version": "2.0.0"}), want: 1},
		{id: ref(map[string]string{"name": "chart"}), err: "2 resources"},
		{id: ref(map[string]string{"name": "nope"}), err: "not found"},
		{id: sel(v1alpha1.ResourceSelector{MatchLabels: map[string]string{"tier": "1"}}), want: 2},
		{id: sel(v1alpha1.ResourceSelector{MatchLabels: map[string]string{"purpose": "deploy"}, MatchIdentity: map[string]string{"version": "1.0.0"}}), want: 0},
		{id: sel(v1alpha1.ResourceSelector{Type: "helmChart"}), err: "make the selection unique"},
		{id: sel(v1alpha1.ResourceSelector{MatchLabels: map[string]string{"tier": "2"}}), err: "not found"},
	} {
		got, err := SelectResource(cd, tt.id)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%+v: %d, %v; want error %q", tt.id, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%+v: %d, %v; want %d", tt.id, got, err, tt.want)
		}
	}
}

func newClient(t *testing.T, objs ...runtime.Object) client.Reader {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(s).WithRuntimeObjects(objs...).Build()
}

// Propagation: an OCM object entry contributes what that object propagates;
// DoNotPropagate entries stay with their object; no entries inherit from the
// parent.
func TestEffectiveConfig(t *testing.T) {
	ctx := context.Background()
	repo := &v1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "repo"}}
	repo.Status.EffectiveOCMConfig = []v1alpha1.OCMConfiguration{
		{APIVersion: "v1", Kind: "Secret", Name: "shared", Namespace: "ns", Policy: v1alpha1.ConfigurationPolicyPropagate},
		{APIVersion: "v1", Kind: "Secret", Name: "private", Namespace: "ns", Policy: v1alpha1.ConfigurationPolicyDoNotPropagate},
	}
	c := newClient(t, repo)

	inherit := &v1alpha1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "inherit"}}
	got, err := EffectiveConfig(ctx, c, inherit, repo)
	if err != nil || len(got) != 1 || got[0].Name != "shared" {
		t.Fatalf("inherited %+v, %v", got, err)
	}

	explicit := &v1alpha1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "explicit"}}
	explicit.Spec.OCMConfig = []v1alpha1.OCMConfiguration{
		{Kind: "ConfigMap", Name: "settings"},
		{APIVersion: "delivery.ocm.software/v1alpha1", Kind: "Repository", Name: "repo", Policy: v1alpha1.ConfigurationPolicyDoNotPropagate},
		{Kind: "Secret", Name: "shared", Namespace: "ns"},
	}
	got, err = EffectiveConfig(ctx, c, explicit, repo)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Kind != "ConfigMap" || got[0].Namespace != "ns" || got[0].Policy != v1alpha1.ConfigurationPolicyPropagate ||
		got[1].Name != "shared" || got[1].Policy != v1alpha1.ConfigurationPolicyDoNotPropagate {
		t.Fatalf("effective %+v", got)
	}

	missing := &v1alpha1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "missing"}}
	missing.Spec.OCMConfig = []v1alpha1.OCMConfiguration{{APIVersion: "delivery.ocm.software/v1alpha1", Kind: "Component", Name: "nope"}}
	if _, err := EffectiveConfig(ctx, c, missing, repo); err == nil {
		t.Fatal("a missing referenced object is an error")
	}
}

// Secrets contribute .ocmconfig and .dockerconfigjson; values never appear
// in errors.
func TestLoadConfig(t *testing.T) {
	ctx := context.Background()
	ocmconfig := `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: OCIRegistry, hostname: ghcr.io}
    credentials:
    - type: Credentials/v1
      properties: {username: ocm-user, password: ocm-secret}
`
	docker := `{"auths":{"https://registry.example:5000/v1/":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("dock:er-secret")) + `"}}}`
	c := newClient(t,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "ocm"}, Data: map[string][]byte{".ocmconfig": []byte(ocmconfig)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "docker"}, Data: map[string][]byte{".dockerconfigjson": []byte(docker)}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "empty"}, Data: map[string]string{"other": "x"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "broken"}, Data: map[string][]byte{".dockerconfigjson": []byte(`{"auths":{"h":{"auth":"!!secret!!"}}}`)}},
	)
	cfg, err := LoadConfig(ctx, c, []v1alpha1.OCMConfiguration{{Kind: "Secret", Name: "ocm", Namespace: "ns"}, {Kind: "Secret", Name: "docker", Namespace: "ns"}})
	if err != nil {
		t.Fatal(err)
	}
	creds, ok, err := cfg.Credentials(map[string]string{"type": "OCIRegistry", "hostname": "ghcr.io"})
	if err != nil || !ok || creds.Get("password") != "ocm-secret" {
		t.Fatalf("ghcr.io credentials: %v %v", ok, err)
	}
	creds, ok, err = cfg.Credentials(map[string]string{"type": "OCIRegistry", "hostname": "registry.example", "port": "5000"})
	if err != nil || !ok || creds.Get("username") != "dock" || creds.Get("password") != "er-secret" {
		t.Fatalf("docker credentials: %v %v", ok, err)
	}
	_, err = LoadConfig(ctx, c, []v1alpha1.OCMConfiguration{{Kind: "ConfigMap", Name: "empty", Namespace: "ns"}})
	if err == nil || !strings.Contains(err.Error(), "none of the keys") {
		t.Fatalf("ConfigMap without configuration: %v", err)
	}
	_, err = LoadConfig(ctx, c, []v1alpha1.OCMConfiguration{{Kind: "Secret", Name: "broken", Namespace: "ns"}})
	if err == nil || strings.Contains(err.Error(), "secret!!") {
		t.Fatalf("broken docker config: %v", err)
	}
}

func TestAdditionalStatusFields(t *testing.T) {
	res := &v1alpha1.ResourceInfo{Name: "image", Access: apiextensionsv1.JSON{Raw: []byte(`{"type":"ociArtifact","imageReference":"ghcr.io/acme/app:1.0@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}`)}}
	comp := &v1alpha1.ComponentInfo{Component: "acme.org/app", Version: "1.0.0"}
	spec := &apiextensionsv1.JSON{Raw: []byte(`{"url":"'oci://' + resource.access.toOCI().registry + '/' + resource.access.toOCI().repository","d":{"digest":"resource.access.toOCI().digest","n":"size(component.version)"},"s":"'nginx'.toOCI().repository"}`)}
	got, err := AdditionalStatusFields(spec, res, comp)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"d":{"digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","n":5},"s":"library/nginx","url":"oci://ghcr.io/acme/app"}`
	if string(got.Raw) != want {
		t.Fatalf("%s, want %s", got.Raw, want)
	}
	for _, bad := range []string{`{"x":"resource.("}`, `{"x":"resource.nope.toOCI()"}`, `{"x":1}`} {
		if _, err := AdditionalStatusFields(&apiextensionsv1.JSON{Raw: []byte(bad)}, res, comp); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// toOCI() as the reference computes it: image references and OCI artifact
// accesses parsed; local blobs located in the OCI registry of the
// component version (subPath, component-descriptors/<name>, the
// localReference as digest); clear errors otherwise.
func TestToOCI(t *testing.T) {
	const hex = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	comp := func(spec string) *v1alpha1.ComponentInfo {
		return &v1alpha1.ComponentInfo{Component: "acme.org/app", Version: "1.0.0", RepositorySpec: &apiextensionsv1.JSON{Raw: []byte(spec)}}
	}
	oci := comp(`{"type":"OCIRegistry","baseUrl":"http://127.0.0.1:5000","subPath":"team/ocm"}`)
	for _, tc := range []struct {
		name, expr string
		comp       *v1alpha1.ComponentInfo
		want       map[string]string
		err        string
	}{
		{name: "local blob", expr: `{"type":"localBlob","localReference":"sha256:` + hex + `","mediaType":"application/x-tar"}`, comp: oci,
			want: map[string]string{"host": "127.0.0.1:5000", "registry": "127.0.0.1:5000", "repository": "team/ocm/component-descriptors/acme.org/app", "tag": "", "digest": "sha256:" + hex, "reference": "sha256:" + hex}},
		{name: "local blob, archive form and versioned type", expr: `{"type":"localBlob/v1","localReference":"sha256.` + hex + `"}`, comp: comp(`{"type":"OCIRegistry/v1","baseUrl":"ghcr.io"}`),
			want: map[string]string{"host": "ghcr.io", "registry": "ghcr.io", "repository": "component-descriptors/acme.org/app", "tag": "", "digest": "sha256:" + hex, "reference": "sha256:" + hex}},
		{name: "oci artifact access", expr: `{"type":"OCIImage/v1","imageReference":"ghcr.io/acme/app:1.0@sha256:` + hex + `"}`,
			want: map[string]string{"host": "ghcr.io", "registry": "ghcr.io", "repository": "acme/app", "tag": "1.0", "digest": "sha256:" + hex, "reference": "1.0@sha256:" + hex}},
		{name: "untyped imageReference", expr: `{"imageReference":"ghcr.io/acme/app:1.0"}`,
			want: map[string]string{"host": "ghcr.io", "registry": "ghcr.io", "repository": "acme/app", "tag": "1.0", "digest": "", "reference": "1.0"}},
		{name: "string", expr: `"ghcr.io/acme/app:2.0"`,
			want: map[string]string{"host": "ghcr.io", "registry": "ghcr.io", "repository": "acme/app", "tag": "2.0", "digest": "", "reference": "2.0"}},
		{name: "local blob in a CTF", expr: `{"type":"localBlob","localReference":"sha256:` + hex + `"}`, comp: comp(`{"type":"CommonTransportFormat","filePath":"/x"}`), err: "no OCI coordinates"},
		{name: "local blob without repository", expr: `{"type":"localBlob","localReference":"sha256:` + hex + `"}`, err: "repository is not known"},
		{name: "local blob, bad reference", expr: `{"type":"localBlob","localReference":"nope"}`, comp: oci, err: "not a digest"},
		{name: "other access", expr: `{"type":"helm","helmRepository":"https://charts.example","helmChart":"x:1"}`, err: `access type "helm"`},
		{name: "list", expr: `[1]`, err: "want an access object or a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tc.expr), &v); err != nil {
				t.Fatal(err)
			}
			got, err := ToOCI(types.DefaultTypeAdapter.NativeToValue(v), tc.comp)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Fatalf("%v\nwant %v", got, tc.want)
			}
		})
	}
	// Both call forms of the reference work in expressions.
	res := &v1alpha1.ResourceInfo{Access: apiextensionsv1.JSON{Raw: []byte(`{"type":"localBlob","localReference":"sha256:` + hex + `"}`)}}
	got, err := AdditionalStatusFields(&apiextensionsv1.JSON{Raw: []byte(`{"a":"resource.access.toOCI().repository","b":"toOCI(resource.access).digest"}`)}, res, oci)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"team/ocm/component-descriptors/acme.org/app","b":"sha256:` + hex + `"}`; string(got.Raw) != want {
		t.Fatalf("%s, want %s", got.Raw, want)
	}
}
