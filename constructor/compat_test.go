package constructor

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/compat"
)

const compatTestSpec = `version: v1alpha1
compatibilities:
- rules:
  - name: gpu
    matchFeatures:
    - feature: pci.device
      matchExpressions: {vendor: {op: In, value: ["10de"]}}   # a comment, kept
`

func TestCompatSugar(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "spec.yaml"), compatTestSpec, 0o644)
	file := filepath.Join(dir, "component-constructor.yaml")
	writeFile(t, file, `components:
- name: example.com/a
  version: 1.0.0
  provider: {name: p}
  resources:
  - name: img
    type: ociImage
    extraIdentity: {arch: amd64}
    access: {type: OCIImage, imageReference: "r/img:1"}
    compatibility: {file: spec.yaml}
  - name: other
    type: ociImage
    version: 2.0.0
    access: {type: OCIImage, imageReference: "r/other:1"}
    compatibility:
      spec:
        version: v1alpha1
        compatibilities:
        - rules: [{name: "price $$5 ${NAME}", matchFeatures: [{feature: kernel.version, matchExpressions: {major: {op: Ge, value: ["5"]}}}]}]
  - name: text
    type: plainText
    input: {type: utf8, text: "costs $$1"}
`, 0o644)
	spec, err := Load(file, LoadOptions{Env: envMap(map[string]string{"NAME": "x$y"})})
	if err != nil {
		t.Fatal(err)
	}
	res := spec.Components[0].Resources
	if len(res) != 5 {
		t.Fatalf("%d resources", len(res))
	}
	// The constructor's own resources keep their positions and values.
	if res[2].Name != "text" || res[2].Where() != file+": components[0].resources[2]" {
		t.Fatalf("resource 2: %s %s", res[2].Name, res[2].Where())
	}
	c, err := res[2].OpenInput(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(readContent(t, c)); got != "costs $1" {
		t.Fatalf("utf8 text %q", got)
	}
	g := res[3]
	if g.Name != "img-compat" || g.Type != compat.ResourceType || g.Relation != "local" || g.ExtraIdentity["arch"] != "amd64" || g.Version != "1.0.0" {
		t.Fatalf("generated: %+v", g.ElementMeta)
	}
	var subject map[string]string
	if len(g.Labels) != 1 || g.Labels[0].Name != compat.SubjectLabel || !bool(g.Labels[0].Signing) || json.Unmarshal(g.Labels[0].Value, &subject) != nil || subject["name"] != "img" || subject["arch"] != "amd64" {
		t.Fatalf("label: %+v", g.Labels)
	}
	c, err = g.openContent(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(readContent(t, c)); got != compatTestSpec || c.MediaType != compat.SpecMediaType {
		t.Fatalf("file blob %q (%s)", got, c.MediaType)
	}
	g = res[4]
	if g.Name != "other-compat" || g.Version != "2.0.0" {
		t.Fatalf("generated: %+v", g.ElementMeta)
	}
	c, err = g.openContent(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s, err := compat.Parse(readContent(t, c))
	if err != nil {
		t.Fatal(err)
	}
	// Variables in inline specs are substituted once; "$$" is a "$".
	if n := s.Compatibilities[0].Rules[0].Name; n != "price $5 x$y" {
		t.Fatalf("rule name %q", n)
	}
	// An inline string is kept verbatim.
	str := filepath.Join(dir, "str.yaml")
	writeFile(t, str, "name: example.com/b\nversion: 1.0.0\nprovider: {name: p}\nresources:\n- name: im\n  type: ociImage\n  access: {type: OCIImage, imageReference: \"r/i:1\"}\n  compatibility:\n    spec: |\n"+compatIndent(compatTestSpec, "      "), 0o644)
	spec, err = Load(str, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, _ = spec.Components[0].Resources[1].openContent(context.Background())
	if got := string(readContent(t, c)); got != compatTestSpec {
		t.Fatalf("inline string %q", got)
	}
}

func compatIndent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+prefix) + "\n"
}

func TestCompatSugarErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad.yaml"), "version: v1alpha1\ncompatibilities:\n- rules: [{name: a, matchFeatures: [{feature: cpu.cpuid, matchExpressions: {avx512f: {op: Foo}}}]}]\n", 0o644)
	head := "name: example.com/a\nversion: 1.0.0\nprovider: {name: p}\nresources:\n- name: img\n  type: ociImage\n  access: {type: OCIImage, imageReference: \"r/i:1\"}\n"
	for _, tc := range []struct{ extra, want string }{
		{"  compatibility: {file: bad.yaml}\n", `c.yaml: resources[0].compatibility.file: resource "img": invalid image compatibility spec: compatibilities[0].rules[0].matchFeatures[0].matchExpressions.avx512f.op: unknown operator "Foo"`},
		{"  compatibility: {file: missing.yaml}\n", `resources[0].compatibility.file: resource "img": open`},
		{"  compatibility: {}\n", "resources[0].compatibility: set file (a spec file) or spec (an inline spec)"},
		{"  compatibility: {file: bad.yaml, spec: {}}\n", "set either file or spec, not both"},
		{"  compatibility: {spec: 5}\n", "resources[0].compatibility.spec: must be a spec"},
		{"  compatibility: {path: x}\n", "resources[0].compatibility.path: unknown field"},
		{"  compatibility: {spec: {version: v2, compatibilities: []}}\n", `unsupported version "v2"`},
		{"  compatibility: {spec: \"version: v1alpha1\\ncompatibilities: []\"}\n- name: img-compat\n  type: x\n  input: {type: utf8, text: a}\n", `the generated resource "img-compat" clashes`},
	} {
		file := filepath.Join(dir, "c.yaml")
		writeFile(t, file, head+tc.extra, 0o644)
		_, err := Load(file, LoadOptions{})
		wantErr(t, err, tc.want)
	}
	// Sources take no compatibility field.
	file := filepath.Join(dir, "c.yaml")
	writeFile(t, file, "name: example.com/a\nversion: 1.0.0\nprovider: {name: p}\nsources:\n- name: s\n  type: git\n  access: {type: gitHub, repoUrl: x, commit: y}\n  compatibility: {file: bad.yaml}\n", 0o644)
	_, err := Load(file, LoadOptions{})
	wantErr(t, err, "sources[0].compatibility: unknown field")
}

// FuzzCompatSugar: constructors with compatibility fields never panic, and
// what is accepted has one generated resource per field, with a valid spec.
func FuzzCompatSugar(f *testing.F) {
	head := "name: example.com/a\nversion: 1.0.0\nprovider: {name: p}\nresources:\n- name: img\n  type: ociImage\n  access: {type: OCIImage, imageReference: \"r/i:1\"}\n"
	f.Add([]byte(head + "  compatibility:\n    spec: {version: v1alpha1, compatibilities: [{rules: [{name: a}]}]}\n"))
	f.Add([]byte(head + "  compatibility:\n    spec: \"version: v1alpha1\\ncompatibilities: []\\n\"\n"))
	f.Add([]byte(head + "  extraIdentity: {arch: $A}\n  compatibility:\n    spec: {version: v1alpha1, compatibilities: [{tag: $$x, rules: []}]}\n"))
	f.Add([]byte("components:\n- name: example.com/a\n  version: 1.0.0\n  provider: {name: p}\n  resources:\n  - {name: im, type: t, access: {type: OCIImage, imageReference: a/b:1}, compatibility: {spec: {version: v1alpha1, compatibilities: []}}}\n- 5\n"))
	env := func(name string) (string, bool) { return "v$1", len(name)%2 == 1 }
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := Parse(data, "fuzz.yaml", LoadOptions{Env: env})
		if err != nil {
			return
		}
		for _, c := range spec.Components {
			for _, r := range c.Resources {
				if r.compatBlob == nil {
					continue
				}
				if r.Type != compat.ResourceType || !strings.HasSuffix(r.Name, compatSuffix) {
					t.Fatalf("generated resource %+v", r.ElementMeta)
				}
				if _, err := compat.Parse(r.compatBlob); err != nil {
					t.Fatalf("accepted an invalid spec: %v", err)
				}
			}
		}
	})
}
