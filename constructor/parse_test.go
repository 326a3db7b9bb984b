package constructor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocmgo/ocm/internal/testutil"
)

const file = "component-constructor.yaml"

func parseString(t *testing.T, yaml string, env map[string]string) (*Spec, error) {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	return Parse([]byte(yaml), file, LoadOptions{Env: envMap(env)})
}

func mustParse(t *testing.T, yaml string, env map[string]string) *Spec {
	t.Helper()
	s, err := parseString(t, yaml, env)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseInteropConstructor(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "interop")
	testutil.CopyDir(t, testutil.InteropDir(t), dir)
	spec, err := Load(dir, LoadOptions{Env: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if spec.File != filepath.Join(dir, DefaultFileName) || spec.BaseDir != dir {
		t.Errorf("File %q BaseDir %q", spec.File, spec.BaseDir)
	}
	if len(spec.Components) != 2 {
		t.Fatalf("%d components", len(spec.Components))
	}
	lib, app := spec.Components[0], spec.Components[1]
	if lib.Name != "example.com/interop/lib" || lib.Version != "0.3.1+build.7" || lib.Provider.Name != "example.com" ||
		len(lib.Provider.Labels) != 1 || lib.Provider.Labels[0].Name != "team" || string(lib.Provider.Labels[0].Value) != `"platform"` {
		t.Errorf("lib %+v", lib)
	}
	if len(lib.Labels) != 1 || lib.Labels[0].Name != "example.com/tier" || !bool(lib.Labels[0].Signing) || string(lib.Labels[0].Value) != `"gold"` {
		t.Errorf("lib labels %+v", lib.Labels)
	}
	type res struct{ name, version, typ, relation, input, access string }
	summarize := func(rs []Resource) []res {
		var out []res
		for _, r := range rs {
			s := res{name: r.Name, version: r.Version, typ: r.Type, relation: r.Relation}
			if r.Input != nil {
				s.input = r.Input.Type
			}
			if r.Access != nil {
				s.access = r.Access.Type
			}
			out = append(out, s)
		}
		return out
	}
	wantLib := []res{{"notes", "0.3.1", "plainText", "local", "utf8", ""}, {"payload", "0.3.1", "blob", "local", "file", ""}}
	wantApp := []res{
		{"greeting", "1.2.0", "plainText", "local", "file", ""},
		{"config", "1.2.0", "directoryTree", "local", "dir", ""},
		{"chart", "0.1.0", "helmChart", "local", "helm", ""},
		{"image", "1.0.0", "ociImage", "external", "", "ociArtifact"},
	}
	if got := summarize(lib.Resources); !equalRes(got, wantLib) {
		t.Errorf("lib resources %+v", got)
	}
	if got := summarize(app.Resources); !equalRes(got, wantApp) {
		t.Errorf("app resources %+v", got)
	}
	if lib.Resources[1].ExtraIdentity["arch"] != "amd64" {
		t.Errorf("payload extraIdentity %v", lib.Resources[1].ExtraIdentity)
	}
	img := app.Resources[3]
	if img.Digest == nil || img.Digest.NormalisationAlgorithm != "ociArtifactDigest/v1" ||
		!strings.Contains(string(img.Access.Raw), `"imageReference":"ghcr.io/stefanprodan/podinfo:6.9.1@sha256:262578cde928d5c9eba3bce079976444f624c13ed0afb741d90d5423877496cb"`) {
		t.Errorf("image %+v %s", img.Digest, img.Access.Raw)
	}
	if len(app.References) != 1 || app.References[0].Name != "lib" || app.References[0].ComponentName != "example.com/interop/lib" || app.References[0].Version != "0.3.1+build.7" {
		t.Errorf("references %+v", app.References)
	}
	if w := app.Resources[2].Where(); w != spec.File+": components[1].resources[2]" {
		t.Errorf("Where() = %q", w)
	}

	// The inputs give what the reference stored (except the directory tar,
	// whose headers the reference takes from the file system).
	ctx := context.Background()
	blobOf := func(r *Resource) []byte {
		c, err := r.OpenInput(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return readContent(t, c)
	}
	if got := blobOf(&lib.Resources[0]); sha256Hex(got) != "7aedb009fbd24190ba5679f205a6595a11993478c46ec90af2517a3aece613fe" {
		t.Errorf("notes %q", got)
	}
	if got := blobOf(&app.Resources[0]); sha256Hex(got) != "52317437fa926e1c419a252e3c9976afe403049cc819b2015492472c77a13746" {
		t.Errorf("greeting %q", got)
	}
	random, _ := os.ReadFile(filepath.Join(dir, "data", "random.bin"))
	if got := blobOf(&lib.Resources[1]); sha256Hex(got) != sha256Hex(random) {
		t.Errorf("payload differs")
	}
	cfg, err := app.Resources[1].OpenInput(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MediaType != "application/x-tar+gzip" {
		t.Errorf("config media type %s", cfg.MediaType)
	}
	if got := tarEntries(t, readContent(t, cfg)); strings.Join(got, ",") != "app.yaml,flags.ini" {
		t.Errorf("config entries %v", got)
	}
	chart, err := app.Resources[2].OpenInput(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, _, config, _ := helmParts(t, chart)
	if sha256Hex(config) != fixtureChartConfig {
		t.Errorf("chart config %s", config)
	}
}

func equalRes[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseForms(t *testing.T) {
	const single = `
name: example.com/a/b
version: 1.0.0
provider: {name: acme}
resources:
- name: text
  type: plainText
  input: {type: utf8, text: hi}
- name: image
  type: ociImage
  access: {type: OCIImage/v1, imageReference: "ghcr.io/x/y:1"}
- name: pinned
  type: blob
  version: 2.0.0
  relation: local
  access: {type: localBlob, localReference: "sha256:abc", mediaType: text/plain}
sources:
- name: src
  type: git
  access: {type: gitHub, repoUrl: github.com/x/y, commit: abc}
componentReferences:
- name: dep
  componentName: example.com/dep
  version: v2
`
	list := "components:\n- " + strings.ReplaceAll(strings.TrimPrefix(single, "\n"), "\n", "\n  ")
	for name, doc := range map[string]string{"single": single, "list": list} {
		t.Run(name, func(t *testing.T) {
			s := mustParse(t, doc, nil)
			if len(s.Components) != 1 {
				t.Fatalf("%d components", len(s.Components))
			}
			c := s.Components[0]
			if c.Name != "example.com/a/b" || c.Version != "1.0.0" || c.Provider.Name != "acme" {
				t.Errorf("component %+v", c)
			}
			want := []struct{ version, relation string }{{"1.0.0", "local"}, {"1.0.0", "external"}, {"2.0.0", "local"}}
			for i, w := range want {
				if r := c.Resources[i]; r.Version != w.version || r.Relation != w.relation {
					t.Errorf("resources[%d] version %q relation %q, want %+v", i, r.Version, r.Relation, w)
				}
			}
			if c.Sources[0].Version != "1.0.0" || c.Sources[0].Access.Type != "gitHub" {
				t.Errorf("source %+v", c.Sources[0])
			}
			if c.References[0].Version != "v2" {
				t.Errorf("reference %+v", c.References[0])
			}
			prefix := ""
			if name == "list" {
				prefix = "components[0]."
			}
			if w := c.Resources[1].Where(); w != file+": "+prefix+"resources[1]" {
				t.Errorf("Where %q", w)
			}
			// Inputs and accesses are kept verbatim.
			var in map[string]any
			if err := json.Unmarshal(c.Resources[0].Input.Raw, &in); err != nil || in["text"] != "hi" {
				t.Errorf("input %s", c.Resources[0].Input.Raw)
			}
		})
	}
}

func TestParseEnvSubstitution(t *testing.T) {
	doc := `
name: ${COMPONENT}
version: $VERSION
provider: {name: "a$$b${EMPTY}"}
labels:
- {name: cost, value: "$$5 and $ alone and $"}
- {name: num, value: ${NUM}}
`
	env := map[string]string{"COMPONENT": "example.com/env/c", "VERSION": "1.2.3", "EMPTY": "", "NUM": "42"}
	s := mustParse(t, doc, env)
	c := s.Components[0]
	if c.Name != "example.com/env/c" || c.Version != "1.2.3" || c.Provider.Name != "a$b" {
		t.Errorf("%+v", c)
	}
	if string(c.Labels[0].Value) != `"$5 and $ alone and $"` || string(c.Labels[1].Value) != `42` {
		t.Errorf("labels %s %s", c.Labels[0].Value, c.Labels[1].Value)
	}

	tests := []struct {
		name, doc string
		want      string
	}{
		{"unset braces", "name: x\nversion: ${FOO}\n", "component-constructor.yaml: environment variable ${FOO} is not set (line 2)"},
		{"unset plain", "name: $BAR_2\n", "component-constructor.yaml: environment variable ${BAR_2} is not set (line 1)"},
		{"empty name", "a: ${}\n", "component-constructor.yaml: empty variable name ${} (line 1)"},
		{"unterminated", "a: b\nc: ${X\n", "component-constructor.yaml: unterminated ${ (missing }) (line 2)"},
		{"digit", "a: $1\n", "environment variable ${1} is not set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseString(t, tc.doc, map[string]string{})
			wantErr(t, err, tc.want)
		})
	}
	// Several unset variables are all reported, each once.
	_, err := parseString(t, "a: $A\nb: $B\nc: $A\n", nil)
	wantErr(t, err, "${A} is not set (line 1)", "${B} is not set (line 2)")
	if n := strings.Count(err.Error(), "${A}"); n != 1 {
		t.Errorf("${A} reported %d times", n)
	}
	// The default environment is the process's.
	t.Setenv("OCM_CONSTRUCTOR_TEST_NAME", "example.com/from/env")
	s, err = Parse([]byte("name: $OCM_CONSTRUCTOR_TEST_NAME\nversion: 1.0.0\nprovider: {name: p}\n"), file, LoadOptions{})
	if err != nil || s.Components[0].Name != "example.com/from/env" {
		t.Errorf("%v %+v", err, s)
	}
}

// TestParseEnvSubstitutionScalarsOnly: variables are substituted into
// scalars only. Comments are left alone (the reference's docs start with
// `# yaml-language-server: $schema=…`), and a value can never add structure.
func TestParseEnvSubstitutionScalarsOnly(t *testing.T) {
	doc := `# yaml-language-server: $schema=https://ocm.software/schemas/configuration-schema.yaml
# $UNSET in a comment is not a variable
name: ${COMPONENT} # trailing $COMMENT too
version: "${VERSION}"
provider: {name: acme}
labels:
- {name: injected, value: ${INJECT}}
- {name: flow, value: ${FLOW}}
- {name: quotedNum, value: "${NUM}"}
- {name: plainNum, value: ${NUM}}
- {name: bool, value: ${BOOL}}
- name: block
  value: |
    line $NUM
`
	env := map[string]string{
		"COMPONENT": "example.com/env/c", "VERSION": "1.0.0", "NUM": "7", "BOOL": "true",
		"INJECT": "x\nversion: 9.9.9\nextra: {a: b}", "FLOW": "[a, b]",
	}
	s := mustParse(t, doc, env)
	c := s.Components[0]
	if c.Name != "example.com/env/c" || c.Version != "1.0.0" || len(c.Labels) != 6 {
		t.Fatalf("%+v", c)
	}
	want := map[string]string{
		"injected":  `"x\nversion: 9.9.9\nextra: {a: b}"`,
		"flow":      `"[a, b]"`,
		"quotedNum": `"7"`,
		"plainNum":  `7`,
		"bool":      `true`,
		"block":     `"line 7\n"`,
	}
	for _, l := range c.Labels {
		if got := string(l.Value); got != want[l.Name] {
			t.Errorf("label %s = %s, want %s", l.Name, got, want[l.Name])
		}
	}
	// A key given twice is an error with its line, not a silent overwrite.
	_, err := parseString(t, "name: a\nversion: 1.0.0\nname: b\n", nil)
	wantErr(t, err, `component-constructor.yaml: invalid YAML: duplicate key "name" at line 3 (first at line 1)`)
	// An unset variable in a value is still an error with its line.
	_, err = parseString(t, "# $schema=x\nname: x\nversion: ${NOPE}\n", nil)
	wantErr(t, err, "environment variable ${NOPE} is not set (line 3)")
}

const okComponent = `name: example.com/a/b
version: 1.0.0
provider: {name: acme}
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"component name", "components:\n- name: Foo\n  version: 1.0.0\n  provider: {name: p}\n",
			[]string{`component-constructor.yaml: components[0].name: "Foo" does not match`}},
		{"component version", "components:\n- name: example.com/a/b\n  version: x.y\n  provider: {name: p}\n",
			[]string{`component-constructor.yaml: components[0].version: "x.y" is not a (relaxed) semantic version`}},
		{"duplicate resource", "components:\n- " + indent(okComponent) + "  resources:\n  - {name: aa, type: t, version: 1.0.0, input: {type: utf8, text: x}}\n  - {name: aa, type: t, access: {type: none}}\n",
			[]string{"component-constructor.yaml: components[0].resources[1]: duplicate identity name=aa,version=1.0.0 (same as components[0].resources[0])"}},
		{"unknown input type", "components:\n- " + indent(okComponent) + "  resources:\n  - {name: aa, type: t, input: {type: utf8, text: x}}\n  - {name: bb, type: t, input: {type: foo}}\n",
			[]string{`component-constructor.yaml: components[0].resources[1].input.type: unknown input type "foo" (known: file, dir, utf8, helm, wget, ociImageLayout)`}},
		{"unknown input version", okComponent + "resources:\n- {name: aa, type: t, input: {type: File/v2, path: x}}\n",
			[]string{`resources[0].input.type: unknown input type "File/v2"`}},
		{"missing input path", "components:\n- " + indent(okComponent) + "  resources:\n  - {name: aa, type: t, input: {type: utf8, text: x}}\n  - {name: bb, type: t, input: {type: utf8, text: x}}\n  - {name: cc, type: t, input: {type: file}}\n",
			[]string{"component-constructor.yaml: components[0].resources[2].input.path: must be set"}},
		{"empty input path", okComponent + "resources:\n- {name: aa, type: t, input: {type: dir, path: ''}}\n",
			[]string{"resources[0].input.path: must not be empty"}},
		{"unknown component field", "components:\n- " + indent(okComponent) + "  foo: bar\n",
			[]string{"component-constructor.yaml: components[0].foo: unknown field (expected one of: name, version,"}},
		{"unknown resource field", okComponent + "resources:\n- {name: aa, type: t, bogus: 1, input: {type: utf8, text: x}}\n",
			[]string{"component-constructor.yaml: resources[0].bogus: unknown field"}},
		{"unknown input field", okComponent + "resources:\n- {name: aa, type: t, input: {type: file, pathh: x}}\n",
			[]string{"resources[0].input.pathh: unknown field (expected one of: type, path, mediaType, compress)", "resources[0].input.path: must be set"}},
		{"unknown top-level field", "components: []\nfoo: 1\n", []string{"component-constructor.yaml: foo: unknown field (expected one of: components)"}},
		{"unknown label field", okComponent + "labels: [{name: a, value: b, colour: red}]\n", []string{"labels[0].colour: unknown field"}},
		{"both input and access", okComponent + "resources:\n- {name: aa, type: t, input: {type: utf8, text: x}, access: {type: none}}\n",
			[]string{"resources[0]: exactly one of input or access must be set, found both"}},
		{"neither input nor access", okComponent + "sources:\n- {name: aa, type: t}\n",
			[]string{"sources[0]: exactly one of input or access must be set, found neither"}},
		{"input relation external", okComponent + "resources:\n- {name: aa, type: t, relation: external, input: {type: utf8, text: x}}\n",
			[]string{"resources[0].relation: a resource with an input is local, not external"}},
		{"bad relation", okComponent + "resources:\n- {name: aa, type: t, relation: remote, access: {type: none}}\n",
			[]string{`resources[0].relation: must be local or external, got "remote"`}},
		{"access without imageReference", okComponent + "resources:\n- {name: aa, type: t, access: {type: ociArtifact}}\n",
			[]string{"resources[0].access.imageReference: must be set for access type ociArtifact"}},
		{"access without type", okComponent + "resources:\n- {name: aa, type: t, access: {imageReference: x}}\n",
			[]string{"resources[0].access.type: must be set"}},
		{"input type not a string", okComponent + "resources:\n- {name: aa, type: t, input: {type: 3}}\n",
			[]string{"resources[0].input.type: must be a string, got a number"}},
		{"wrong field type", okComponent + "resources:\n- {name: 12, type: t, input: {type: file, path: x, compress: maybe}}\n",
			[]string{"resources[0].name: must be a string, got a number", "resources[0].input.compress: must be a boolean, got a string"}},
		{"element name", okComponent + "resources:\n- {name: A, type: t, access: {type: none}}\n",
			[]string{`resources[0].name: "A" is shorter than 2 characters`}},
		{"element version", okComponent + "resources:\n- {name: aa, version: latest, type: t, access: {type: none}}\n",
			[]string{`resources[0].version: "latest" is not a (relaxed) semantic version`}},
		{"missing type", okComponent + "resources:\n- {name: aa, access: {type: none}}\n", []string{"resources[0].type: must be set"}},
		{"reserved extraIdentity", okComponent + "resources:\n- {name: aa, type: t, extraIdentity: {name: x}, access: {type: none}}\n",
			[]string{"resources[0].extraIdentity.name: the key name is reserved"}},
		{"extraIdentity value", okComponent + "resources:\n- {name: aa, type: t, extraIdentity: {arch: 1}, access: {type: none}}\n",
			[]string{"resources[0].extraIdentity.arch: must be a string, got a number"}},
		{"label version", okComponent + "labels: [{name: a, value: b, version: 1}]\n", []string{"labels[0].version: must be a string"}},
		{"duplicate label", okComponent + "labels: [{name: a, value: b}, {name: a, value: c}]\n", []string{`labels[1].name: duplicate label "a" (also labels[0])`}},
		{"label without value", okComponent + "labels: [{name: a}]\n", []string{"labels[0].value: must be set"}},
		{"reference without version", okComponent + "componentReferences: [{name: rr, componentName: example.com/x/y}]\n",
			[]string{"componentReferences[0].version: must be set"}},
		{"reference component name", okComponent + "componentReferences: [{name: rr, componentName: nope, version: 1.0.0}]\n",
			[]string{`componentReferences[0].componentName: "nope" does not match`}},
		{"digest incomplete", okComponent + "resources:\n- {name: aa, type: t, access: {type: none}, digest: {hashAlgorithm: SHA-256}}\n",
			[]string{"resources[0].digest.normalisationAlgorithm: must be set", "resources[0].digest.value: must be set"}},
		{"utf8 two values", okComponent + "resources:\n- {name: aa, type: t, input: {type: utf8, text: x, json: {a: 1}}}\n",
			[]string{"resources[0].input: exactly one of text, json, formattedJson or yaml must be set, found text and json"}},
		{"utf8 no value", okComponent + "resources:\n- {name: aa, type: t, input: {type: UTF8/v1}}\n",
			[]string{"resources[0].input: exactly one of text, json, formattedJson or yaml must be set, found none"}},
		{"bad pattern", okComponent + "resources:\n- {name: aa, type: t, input: {type: dir, path: x, excludeFiles: ['[']}}\n",
			[]string{`resources[0].input.excludeFiles[0]: invalid pattern "["`}},
		{"pattern not a string", okComponent + "resources:\n- {name: aa, type: t, input: {type: dir, path: x, includeFiles: [1]}}\n",
			[]string{"resources[0].input.includeFiles[0]: must be a string, got a number"}},
		{"ownership policy", okComponent + "resources:\n- {name: aa, type: t, options: {ownershipPolicy: Sometimes}, access: {type: none}}\n",
			[]string{`resources[0].options.ownershipPolicy: must be Never or Always, got "Sometimes"`}},
		{"empty components", "components: []\n", []string{"component-constructor.yaml: components: must list at least one component"}},
		{"duplicate components", "components:\n- " + indent(okComponent) + "- " + indent(okComponent),
			[]string{"components[1]: duplicate component version example.com/a/b:1.0.0 (also components[0])"}},
		{"missing provider", "name: example.com/a/b\nversion: 1.0.0\n", []string{"component-constructor.yaml: provider: must be set"}},
		{"provider not an object", okComponent + "resources: {}\n", []string{"resources: must be a list, got a mapping"}},
		{"creation time", okComponent + "creationTime: yesterday\n", []string{`creationTime: "yesterday" is not an RFC 3339 date-time`}},
		{"not a mapping", "- a\n- b\n", []string{"component-constructor.yaml: must be a mapping (a component, or components: [...]), got a list"}},
		{"invalid yaml", "name: [unclosed\n", []string{"component-constructor.yaml: invalid YAML"}},
		{"empty", " \n", []string{"component-constructor.yaml: empty constructor file"}},
		{"helm without path", okComponent + "resources:\n- {name: aa, type: t, input: {type: helm}}\n", []string{"resources[0].input.path: must be set (or helmRepository)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseString(t, tc.doc, nil)
			if err == nil {
				t.Fatalf("no error; parsed %+v", s)
			}
			wantErr(t, err, tc.want...)
		})
	}
}

func TestParseReportsAllProblems(t *testing.T) {
	doc := "components:\n- name: Bad\n  version: nope\n  provider: {name: ''}\n  resources:\n  - {name: a, type: t, input: {type: foo}}\n"
	_, err := parseString(t, doc, nil)
	wantErr(t, err,
		"components[0].name:", "components[0].version:", "components[0].provider.name: must not be empty",
		"components[0].resources[0].name:", "components[0].resources[0].input.type: unknown input type")
	if n := strings.Count(err.Error(), "\n") + 1; n != 5 {
		t.Errorf("%d problems reported:\n%v", n, err)
	}
	var fe *FieldError
	if !errorsAs(err, &fe) || fe.File != file {
		t.Errorf("not a *FieldError: %T", err)
	}
}

func indent(s string) string {
	return strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "d1", "component-constructor.yml"), okComponent, 0o644)
	writeFile(t, filepath.Join(dir, "d2", "component-constructor.yml"), okComponent, 0o644)
	writeFile(t, filepath.Join(dir, "d2", "component-constructor.yaml"), okComponent, 0o644)
	writeFile(t, filepath.Join(dir, "d3", "other.yaml"), okComponent+"resources:\n- {name: aa, type: t, input: {type: file, path: data.txt, mediaType: text/plain}}\n", 0o644)
	writeFile(t, filepath.Join(dir, "d3", "data.txt"), "hello", 0o644)
	if err := os.MkdirAll(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}

	s, err := Load(filepath.Join(dir, "d1"), LoadOptions{})
	if err != nil || s.File != filepath.Join(dir, "d1", "component-constructor.yml") {
		t.Fatalf("%v %+v", err, s)
	}
	_, err = Load(filepath.Join(dir, "d2"), LoadOptions{})
	wantErr(t, err, "both", "remove one")
	_, err = Load(filepath.Join(dir, "empty"), LoadOptions{})
	wantErr(t, err, "neither component-constructor.yaml nor component-constructor.yml found")
	_, err = Load(filepath.Join(dir, "nothere.yaml"), LoadOptions{})
	wantErr(t, err, "no such file")

	// Input paths are relative to the file, not the working directory.
	s, err = Load(filepath.Join(dir, "d3", "other.yaml"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Components[0].Resources[0].OpenInput(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := readContent(t, c); string(got) != "hello" || c.MediaType != "text/plain" {
		t.Errorf("%q %s", got, c.MediaType)
	}
	// Errors at open time name the file and the field.
	if err := os.Remove(filepath.Join(dir, "d3", "data.txt")); err != nil {
		t.Fatal(err)
	}
	_, err = s.Components[0].Resources[0].OpenInput(context.Background())
	wantErr(t, err, filepath.Join(dir, "d3", "other.yaml")+": resources[0].input.path: stat ")
}

func TestCheckAccess(t *testing.T) {
	tests := []struct {
		spec string
		want string // "" for valid
	}{
		{`{"type":"ociArtifact","imageReference":"ghcr.io/a/b:1"}`, ""},
		{`{"type":"OCIImage/v1","imageReference":"ghcr.io/a/b:1"}`, ""},
		{`{"type":"OCIImage/v1"}`, "imageReference: must be set for access type OCIImage/v1"},
		{`{"type":"ociRegistry","imageReference":""}`, "imageReference: must not be empty"},
		{`{"type":"ociImage","imageReference":5}`, "imageReference: must be a string"},
		{`{"type":"OCIImage/v2"}`, ""}, // an unknown version is not checked
		{`{"type":"ociBlob","ref":"ghcr.io/a/b"}`, "digest: must be set for access type ociBlob"},
		{`{"type":"LocalBlob/v1"}`, "localReference: must be set for access type LocalBlob/v1"},
		{`{"type":"helm","helmRepository":"https://x"}`, "helmChart: must be set for access type helm"},
		{`{"type":"gitHub","repoUrl":"x"}`, ""},
		{`{"type":"my.custom.type/v1alpha1","anything":[1,2]}`, ""},
		{`{"type":"-bad"}`, `type: "-bad" is not a valid type`},
		{`{"type":""}`, "type: must not be empty"},
	}
	for _, tc := range tests {
		err := CheckAccess(typed(t, tc.spec))
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.spec, err)
			}
			continue
		}
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: got %v, want %q", tc.spec, err, tc.want)
		}
	}
	if CheckAccess(nil) == nil {
		t.Error("nil access accepted")
	}
}

// TestParseManyElements guards against quadratic checks: constructors can be
// large (or hostile).
func TestParseManyElements(t *testing.T) {
	var b strings.Builder
	b.WriteString(okComponent + "resources:\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "- {name: r%d, type: t, access: {type: none}}\n", i)
	}
	b.WriteString("- {name: r7, type: t, access: {type: none}}\n")
	start := time.Now()
	_, err := parseString(t, b.String(), nil)
	wantErr(t, err, "resources[20000]: duplicate identity name=r7,version=1.0.0 (same as resources[7])")
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("parsing 20001 resources took %v", d)
	}
}
