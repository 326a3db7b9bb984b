package compat

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/descriptor"
)

func TestParseExample(t *testing.T) {
	data, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Raw, data) {
		t.Fatal("Raw is not the input")
	}
	if len(s.Compatibilities) != 2 || s.Compatibilities[0].Weight != 100 || s.Compatibilities[1].Tag != "cpu" {
		t.Fatalf("sets: %+v", s.Compatibilities)
	}
	r := s.Compatibilities[0].Rules[2]
	if r.Name != "cpu-and-os" || len(r.MatchAny) != 2 || len(r.MatchFeatures) != 2 {
		t.Fatalf("rule: %+v", r)
	}
	e := s.Compatibilities[0].Rules[0].MatchFeatures[0].MatchExpressions["full"]
	if e.Op != OpGeLe || e.Type != ValueTypeVersion || len(e.Value) != 2 {
		t.Fatalf("expression: %+v", e)
	}
	if mn := s.Compatibilities[1].Rules[0].MatchFeatures[0].MatchName; mn == nil || mn.Op != OpInRegexp {
		t.Fatalf("matchName: %+v", mn)
	}
	// JSON works too, as sigs.k8s.io/yaml reads it for NFD.
	js, _ := json.Marshal(s)
	s2, err := Parse(js)
	if err != nil || len(s2.Compatibilities) != 2 {
		t.Fatalf("JSON: %v", err)
	}
	// Absent matchExpressions stays nil; an empty one is kept (NFD differs on them).
	s3, err := Parse([]byte("version: v1alpha1\ncompatibilities:\n- rules:\n  - name: a\n    matchFeatures:\n    - feature: pci.device\n    - feature: pci.device\n      matchExpressions: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m := s3.Compatibilities[0].Rules[0].MatchFeatures; m[0].MatchExpressions != nil || m[1].MatchExpressions == nil {
		t.Fatalf("matchExpressions presence lost: %+v", m)
	}
}

func TestParseErrors(t *testing.T) {
	head := "version: v1alpha1\ncompatibilities:\n"
	tcs := []struct{ doc, want string }{
		{"", "empty spec"},
		{"[1]", "must be a mapping"},
		{"compatibilities: []", "version: must be set"},
		{"version: v1\ncompatibilities: []", `version: unsupported version "v1"`},
		{"version: v1alpha1", "compatibilities: must be set"},
		{head + "- weight: heavy\n  rules: []", "compatibilities[0].weight: must be an integer"},
		{head + "- weight: 1.5\n  rules: []", "compatibilities[0].weight: must be an integer"},
		{head + "- tag: 5\n  rules: []", "compatibilities[0].tag: must be a string"},
		{head + "- {}", "compatibilities[0].rules: must be set"},
		{head + "- rules: [{name: a}, {name: b, matchFeatures: [{feature: cpu.cpuid, matchExpressions: {avx512f: {op: Foo}}}]}]",
			`compatibilities[0].rules[1].matchFeatures[0].matchExpressions.avx512f.op: unknown operator "Foo"`},
		{head + "- rules: [{name: a, matchFeatures: [{feature: kernel.version, matchExpressions: {major: {op: Gt, value: [5]}}}]}]",
			"compatibilities[0].rules[0].matchFeatures[0].matchExpressions.major.value[0]: must be a string, got a number"},
		{head + "- rules: [{name: a, matchFeatures: [{feature: kernel.version, matchExpressions: {major: {op: Gt, value: \"5\"}}}]}]",
			"matchExpressions.major.value: must be a list"},
		{head + "- rules: [{name: a, matchFeatures: [{feature: kernel.version, matchExpressions: {full: {op: Gt, value: [\"5\"], type: semver}}}]}]",
			`matchExpressions.full.type: unknown value type "semver"`},
		{head + "- rules: [{name: a, matchFeatures: [{matchExpressions: {}}]}]", "matchFeatures[0].feature: must be set"},
		{head + "- rules: [{name: a, matchAny: [{matchFeatures: [{feature: x.y, matchName: {op: Nope}}]}]}]",
			`compatibilities[0].rules[0].matchAny[0].matchFeatures[0].matchName.op: unknown operator "Nope"`},
		{head + "- rules: [{name: a, matchFeatures: [{feature: kernel.config, matchExpressions: {\"A.B\": {op: Bad}}}]}]",
			`matchExpressions["A.B"].op: unknown operator`},
		{head + "- rules: [{name: a, vars: {x: 1}}]", "compatibilities[0].rules[0].vars.x: must be a string"},
		{"version: v1alpha1\ncompatibilities: {a: 1}", "compatibilities: must be a list"},
		{"{", "invalid YAML"},
	}
	for _, tc := range tcs {
		_, err := Parse([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %q", tc.doc, err, tc.want)
		}
	}
	if _, err := Parse(bytes.Repeat([]byte(" "), MaxSpecSize+1)); err == nil {
		t.Error("oversized spec accepted")
	}
}

func TestLint(t *testing.T) {
	data := []byte(`version: v1alpha1
extra: 1
compatibilities:
- rules:
  - name: r
    matchFeatures:
    - feature: kernel.config
      matchExpressions:
        CONFIG_MODULES: {op: In, value: ["y"]}
        NOUVEAU: {op: NotIn, value: ["y"]}
    - feature: kernel.loadedmodule
      matchExpressions:
        vfio-pci: {op: Exists}
        nvidia: {op: In, value: ["x"]}
    - feature: cpu.cpuids
      matchExpressions: {AVX: {op: Exists, value: ["x"]}}
    - feature: kernel.version
      matchExpressions:
        full: {op: Gt, value: ["5.15"]}
        major: {op: GtLt, value: ["6", "5"]}
        minor: {op: Lt}
        patch: {op: In, value: ["1"]}
    - feature: system.osrelease
      matchExpressions: {ID: {op: InRegexp, value: ["("]}}
    - feature: local.label
      matchExpressions: {x: {op: Exists}}
  - matchFeatures:
    - feature: cpu.cpuid
      matchName: {op: DoesNotExist}
`)
	s, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	fs := Lint(s)
	var got []string
	for _, f := range fs {
		got = append(got, f.String())
	}
	all := strings.Join(got, "\n")
	want := []string{
		"error: compatibilities[0].rules[0].matchFeatures[0].matchExpressions.CONFIG_MODULES: kernel.config keys have no CONFIG_ prefix",
		"warning: compatibilities[0].rules[0].matchFeatures[0].matchExpressions.NOUVEAU.op: NotIn is false when \"NOUVEAU\" is absent",
		"error: compatibilities[0].rules[0].matchFeatures[1].matchExpressions.vfio-pci: /proc/modules lists \"vfio_pci\"",
		"error: compatibilities[0].rules[0].matchFeatures[1].matchExpressions.nvidia: kernel.loadedmodule is a flag feature",
		"error: compatibilities[0].rules[0].matchFeatures[2].feature: unknown feature \"cpu.cpuids\"",
		"error: compatibilities[0].rules[0].matchFeatures[2].matchExpressions.AVX.value: op Exists takes no values",
		"error: compatibilities[0].rules[0].matchFeatures[3].matchExpressions.full.value[0]: not a number \"5.15\": op Gt compares integers (add type: version",
		"error: compatibilities[0].rules[0].matchFeatures[3].matchExpressions.major.value: value[0] must be less than value[1]",
		"error: compatibilities[0].rules[0].matchFeatures[3].matchExpressions.minor.value: op Lt needs exactly one value",
		"warning: compatibilities[0].rules[0].matchFeatures[3].matchExpressions.patch: kernel.version has no element \"patch\" as far as known (known: full, major, minor, revision)",
		"error: compatibilities[0].rules[0].matchFeatures[4].matchExpressions.ID.value[0]: invalid regexp",
		"warning: compatibilities[0].rules[0].matchFeatures[5].feature: \"local.label\" is not published",
		"warning: compatibilities[0].rules[1].name: missing",
		"error: compatibilities[0].rules[1].matchFeatures[0].matchName.op: DoesNotExist on names never matches",
		"warning: extra: unknown field",
	}
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("missing finding %q", w)
		}
	}
	if !HasErrors(fs) {
		t.Error("HasErrors false")
	}
	ex, _ := os.ReadFile("testdata/example.yaml")
	clean, _ := Parse(ex)
	if fs := Lint(clean); HasErrors(fs) || len(fs) != 0 {
		t.Errorf("example has findings: %v", fs)
	}
}

func TestFind(t *testing.T) {
	lbl := func(name, value string, signing bool) descriptor.Label {
		return descriptor.Label{Name: name, Value: json.RawMessage(value), Signing: descriptor.Bool(signing)}
	}
	cd := &descriptor.Descriptor{}
	cd.Component.Name, cd.Component.Version = "example.com/app", "1.0.0"
	cd.Component.Resources = []descriptor.Resource{
		{ElementMeta: descriptor.ElementMeta{Name: "app", Version: "1.0.0"}, Type: "ociImage"},
		{ElementMeta: descriptor.ElementMeta{Name: "sidecar", Version: "1.0.0"}, Type: "ociImage"},
		{ElementMeta: descriptor.ElementMeta{Name: "app-compat", Version: "1.0.0", Labels: []descriptor.Label{lbl(SubjectLabel, `{"name":"app"}`, true)}}, Type: ResourceType},
		{ElementMeta: descriptor.ElementMeta{Name: "all-compat", Version: "1.0.0"}, Type: ResourceType},
		{ElementMeta: descriptor.ElementMeta{Name: "tool", Version: "1.0.0", Labels: []descriptor.Label{lbl(SpecLabel, `{"version":"v1alpha1","compatibilities":[]}`, false)}}, Type: "executable"},
	}
	atts, err := Find(cd)
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 3 {
		t.Fatalf("got %d attachments", len(atts))
	}
	if atts[0].Resource != 2 || !atts[0].AppliesTo(0) || atts[0].AppliesTo(1) {
		t.Errorf("subject form: %+v", atts[0])
	}
	if atts[1].Resource != 3 || !atts[1].AppliesTo(0) || !atts[1].AppliesTo(1) || atts[1].AppliesTo(4) {
		t.Errorf("no-subject form: %+v", atts[1])
	}
	if atts[2].Resource != -1 || !atts[2].AppliesTo(4) {
		t.Errorf("label form: %+v", atts[2])
	}
	if spec, err := atts[2].InlineSpec(); err != nil || spec.Version != SpecVersion {
		t.Errorf("label spec: %v", err)
	}
	cd.Component.Resources[2].Labels = []descriptor.Label{lbl(SubjectLabel, `{"name":"nope"}`, true)}
	if _, err := Find(cd); err == nil || !strings.Contains(err.Error(), "not a resource") {
		t.Errorf("dangling subject: %v", err)
	}
	cd.Component.Resources[2].Labels = []descriptor.Label{lbl(SubjectLabel, `"app"`, true)}
	if _, err := Find(cd); err == nil {
		t.Error("string subject accepted")
	}
}
