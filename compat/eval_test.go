package compat

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func testFeatures() *Features {
	f := NewFeatures()
	f.AddFlags("kernel.loadedmodule", "vfio_pci", "overlay")
	f.AddFlags("cpu.cpuid", "AVX", "AVX2", "X86_64_V3")
	f.AddAttributes("cpu.cpuid", map[string]string{"AVX10_VERSION": "1"})
	f.AddAttributes("kernel.version", map[string]string{"full": "6.8.0-45-generic", "major": "6", "minor": "8", "revision": "0"})
	f.AddAttributes("kernel.config", map[string]string{"MODULES": "y", "DRM": "m"})
	f.AddAttributes("kernel.selinux", map[string]string{"enabled": "false"})
	f.AddInstances("pci.device",
		map[string]string{"class": "0200", "vendor": "8086"},
		map[string]string{"class": "0300", "vendor": "1002"},
		map[string]string{"class": "0302", "vendor": "10de"})
	f.AddFlags("kernel.enabledmodule") // discovered, empty
	return f
}

func term(feature string, exprs map[string]*MatchExpression) FeatureMatcher {
	return FeatureMatcher{Feature: feature, MatchExpressions: exprs}
}

func ex(op Op, v ...string) *MatchExpression { return &MatchExpression{Op: op, Value: v} }

func evalOne(t *testing.T, r GroupRule, f *Features) (bool, RuleResult) {
	t.Helper()
	rep, err := Evaluate(&Spec{Version: SpecVersion, Compatibilities: []Compatibility{{Rules: []GroupRule{r}}}}, f, Options{})
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	return rep.Compatible, rep.Sets[0].Rules[0]
}

// Group-rule semantics, modelled on NFD's grouprule_test.go / rule_test.go facts.
func TestGroupRuleSemantics(t *testing.T) {
	f := testFeatures()
	tcs := []struct {
		name string
		rule GroupRule
		want bool
	}{
		{"empty rule matches", GroupRule{Name: "r"}, true},
		{"flag exists", GroupRule{MatchFeatures: []FeatureMatcher{term("kernel.loadedmodule", map[string]*MatchExpression{"vfio_pci": ex(OpExists)})}}, true},
		{"flag with dash never in loadedmodule", GroupRule{MatchFeatures: []FeatureMatcher{term("kernel.loadedmodule", map[string]*MatchExpression{"vfio-pci": ex(OpExists)})}}, false},
		{"feature name is case-insensitive", GroupRule{MatchFeatures: []FeatureMatcher{term("Kernel.LoadedModule", map[string]*MatchExpression{"overlay": ex(OpExists)})}}, true},
		{"AND over terms", GroupRule{MatchFeatures: []FeatureMatcher{
			term("kernel.loadedmodule", map[string]*MatchExpression{"overlay": ex(OpExists)}),
			term("kernel.config", map[string]*MatchExpression{"MODULES": ex(OpIn, "n")}),
		}}, false},
		{"AND over expressions", GroupRule{MatchFeatures: []FeatureMatcher{term("kernel.config", map[string]*MatchExpression{"MODULES": ex(OpIn, "y"), "DRM": ex(OpIn, "y")})}}, false},
		{"NotIn on absent key fails", GroupRule{MatchFeatures: []FeatureMatcher{term("kernel.config", map[string]*MatchExpression{"NOUVEAU": ex(OpNotIn, "y")})}}, false},
		{"DoesNotExist on absent key", GroupRule{MatchFeatures: []FeatureMatcher{term("kernel.config", map[string]*MatchExpression{"NOUVEAU": ex(OpDoesNotExist)})}}, true},
		{"undiscovered feature fails even DoesNotExist", GroupRule{MatchFeatures: []FeatureMatcher{term("usb.device", map[string]*MatchExpression{"vendor": ex(OpDoesNotExist)})}}, false},
		{"discovered empty flag feature, DoesNotExist", GroupRule{MatchFeatures: []FeatureMatcher{term("kernel.enabledmodule", map[string]*MatchExpression{"nvidia": ex(OpDoesNotExist)})}}, true},
		{"multi-type: flag or attribute", GroupRule{MatchFeatures: []FeatureMatcher{term("cpu.cpuid", map[string]*MatchExpression{"AVX2": ex(OpExists), "AVX10_VERSION": ex(OpIn, "1")})}}, true},
		{"multi-type: DoesNotExist needs both", GroupRule{MatchFeatures: []FeatureMatcher{term("cpu.cpuid", map[string]*MatchExpression{"AVX10_VERSION": ex(OpDoesNotExist)})}}, false},
		{"instances: same instance", GroupRule{MatchFeatures: []FeatureMatcher{term("pci.device", map[string]*MatchExpression{"vendor": ex(OpIn, "10de"), "class": ex(OpIn, "0302")})}}, true},
		{"instances: not across instances", GroupRule{MatchFeatures: []FeatureMatcher{term("pci.device", map[string]*MatchExpression{"vendor": ex(OpIn, "10de"), "class": ex(OpIn, "0200")})}}, false},
		{"instances: empty expressions match any instance", GroupRule{MatchFeatures: []FeatureMatcher{term("pci.device", map[string]*MatchExpression{})}}, true},
		{"matchName regexp", GroupRule{MatchFeatures: []FeatureMatcher{{Feature: "cpu.cpuid", MatchName: ex(OpInRegexp, "^X86_64_V[34]$")}}}, true},
		{"matchName none", GroupRule{MatchFeatures: []FeatureMatcher{{Feature: "cpu.cpuid", MatchName: ex(OpIn, "AVX512F")}}}, false},
		{"matchName on instance attribute names", GroupRule{MatchFeatures: []FeatureMatcher{{Feature: "pci.device", MatchName: ex(OpIn, "vendor")}}}, true},
		{"matchName and expressions both", GroupRule{MatchFeatures: []FeatureMatcher{{Feature: "cpu.cpuid", MatchExpressions: map[string]*MatchExpression{"AVX": ex(OpExists)}, MatchName: ex(OpIn, "AVX512F")}}}, false},
		{"matchAny OR", GroupRule{MatchAny: []MatchAnyElem{
			{MatchFeatures: []FeatureMatcher{term("kernel.config", map[string]*MatchExpression{"MODULES": ex(OpIn, "n")})}},
			{MatchFeatures: []FeatureMatcher{term("kernel.config", map[string]*MatchExpression{"MODULES": ex(OpIn, "y")})}},
		}}, true},
		{"matchAny none", GroupRule{MatchAny: []MatchAnyElem{
			{MatchFeatures: []FeatureMatcher{term("kernel.config", map[string]*MatchExpression{"MODULES": ex(OpIn, "n")})}},
		}}, false},
		{"matchAny and matchFeatures both must hold", GroupRule{
			MatchAny:      []MatchAnyElem{{MatchFeatures: []FeatureMatcher{term("kernel.config", map[string]*MatchExpression{"MODULES": ex(OpIn, "y")})}}},
			MatchFeatures: []FeatureMatcher{term("kernel.loadedmodule", map[string]*MatchExpression{"nvidia": ex(OpExists)})},
		}, false},
		{"failed matchAny is not rescued by matchFeatures", GroupRule{
			MatchAny:      []MatchAnyElem{{MatchFeatures: []FeatureMatcher{term("kernel.config", map[string]*MatchExpression{"MODULES": ex(OpIn, "n")})}}},
			MatchFeatures: []FeatureMatcher{term("kernel.loadedmodule", map[string]*MatchExpression{"overlay": ex(OpExists)})},
		}, false},
		{"term without expressions: feature exists", GroupRule{MatchFeatures: []FeatureMatcher{{Feature: "kernel.selinux"}}}, true},
		{"term without expressions inherits previous failure", GroupRule{MatchFeatures: []FeatureMatcher{
			term("kernel.config", map[string]*MatchExpression{"MODULES": ex(OpIn, "n")}),
			{Feature: "kernel.selinux"},
		}}, false},
		{"IsFalse", GroupRule{MatchFeatures: []FeatureMatcher{term("kernel.selinux", map[string]*MatchExpression{"enabled": ex(OpIsFalse)})}}, true},
		{"flag with value op is false", GroupRule{MatchFeatures: []FeatureMatcher{term("kernel.loadedmodule", map[string]*MatchExpression{"overlay": ex(OpIn, "overlay")})}}, false},
	}
	for _, tc := range tcs {
		t.Run(tc.name, func(t *testing.T) {
			got, rr := evalOne(t, tc.rule, f)
			if got != tc.want || rr.Match != tc.want {
				t.Fatalf("got %v (rule %v), want %v: %+v", got, rr.Match, tc.want, rr)
			}
		})
	}
}

func TestObservedValues(t *testing.T) {
	f := testFeatures()
	_, rr := evalOne(t, GroupRule{MatchFeatures: []FeatureMatcher{
		term("kernel.config", map[string]*MatchExpression{"MODULES": ex(OpIn, "n"), "NOUVEAU": ex(OpNotIn, "y")}),
		term("kernel.loadedmodule", map[string]*MatchExpression{"nvidia": ex(OpExists)}),
		term("usb.device", map[string]*MatchExpression{"vendor": ex(OpIn, "1d6b")}),
		term("pci.device", map[string]*MatchExpression{"vendor": ex(OpIn, "1234")}),
	}}, f)
	got := map[string]string{}
	for _, e := range rr.FailedExpressions() {
		got[e.Feature+"."+e.Name] = e.Observed
	}
	want := map[string]string{
		"kernel.config.MODULES":      `"y"`,
		"kernel.config.NOUVEAU":      ObservedAbsent,
		"kernel.loadedmodule.nvidia": ObservedAbsent,
		"usb.device.vendor":          ObservedNotDiscovered,
		"pci.device.vendor":          `instances: "8086", "1002", "10de"`,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: observed %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("failed expressions %v, want %v", got, want)
	}
}

// Invalid expressions abort, as in NFD, with the field path, unless they
// sit where NFD does not evaluate.
func TestEvaluateErrors(t *testing.T) {
	f := testFeatures()
	bad := term("kernel.config", map[string]*MatchExpression{"MODULES": ex(OpGt, "x")})
	spec := &Spec{Version: SpecVersion, Compatibilities: []Compatibility{{Rules: []GroupRule{{Name: "r", MatchFeatures: []FeatureMatcher{bad}}}}}}
	_, err := Evaluate(spec, f, Options{})
	var ee *EvalError
	if !errors.As(err, &ee) || ee.Path != "compatibilities[0].rules[0].matchFeatures[0].matchExpressions.MODULES" {
		t.Fatalf("want EvalError with path, got %v", err)
	}
	// Not evaluated by NFD: a later matchAny branch after a match, and
	// matchFeatures after a failed matchAny.
	ok := term("kernel.config", map[string]*MatchExpression{"MODULES": ex(OpIn, "y")})
	no := term("kernel.config", map[string]*MatchExpression{"MODULES": ex(OpIn, "n")})
	spec.Compatibilities[0].Rules = []GroupRule{
		{Name: "a", MatchAny: []MatchAnyElem{{MatchFeatures: []FeatureMatcher{ok}}, {MatchFeatures: []FeatureMatcher{bad}}}},
		{Name: "b", MatchAny: []MatchAnyElem{{MatchFeatures: []FeatureMatcher{no}}}, MatchFeatures: []FeatureMatcher{bad}},
	}
	rep, err := Evaluate(spec, f, Options{})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if !rep.Sets[0].Rules[0].Match || rep.Sets[0].Rules[1].Match {
		t.Fatalf("rule results %+v", rep.Sets[0].Rules)
	}
	if rep.Sets[0].Rules[0].MatchAny[1].Evaluated {
		t.Errorf("second matchAny branch marked as evaluated")
	}
	// An undiscovered feature is not evaluated either.
	spec.Compatibilities[0].Rules = []GroupRule{{Name: "c", MatchFeatures: []FeatureMatcher{term("usb.device", map[string]*MatchExpression{"vendor": ex(OpGt, "x")})}}}
	if _, err := Evaluate(spec, f, Options{}); err != nil {
		t.Fatalf("unexpected error on undiscovered feature: %v", err)
	}
}

func TestSetsTagsWeightsBackrefs(t *testing.T) {
	data, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	gpu := loadFeatures(t, "testdata/gpu-node.json")
	cpu := loadFeatures(t, "testdata/cpu-node.yaml")

	rep, err := Evaluate(spec, gpu, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Compatible || rep.BestSet().Tag != "gpu" || !rep.Sets[1].Match {
		t.Fatalf("gpu node: %+v", rep)
	}
	rep, err = Evaluate(spec, cpu, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Compatible || rep.BestSet().Tag != "cpu" || rep.Sets[0].Match {
		t.Fatalf("cpu node: compatible=%v best=%v", rep.Compatible, rep.Best)
	}
	rep, err = Evaluate(spec, cpu, Options{Tags: []string{"gpu"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Compatible || len(rep.Sets) != 1 || rep.BestSet() != nil {
		t.Fatalf("cpu node, tag gpu: %+v", rep)
	}
	// Equal weights: the first matching set wins; a higher weight later wins.
	two := &Spec{Version: SpecVersion, Compatibilities: []Compatibility{{Tag: "a", Weight: 5}, {Tag: "b", Weight: 5}, {Tag: "c", Weight: 7}, {Tag: "d", Weight: 7}}}
	rep, _ = Evaluate(two, cpu, Options{})
	if rep.BestSet().Tag != "c" {
		t.Fatalf("best %q, want c", rep.BestSet().Tag)
	}

	// Vars of a matched rule become rule.matched for later rules (and sets).
	back := &Spec{Version: SpecVersion, Compatibilities: []Compatibility{
		{Rules: []GroupRule{
			{Name: "set", Vars: map[string]string{"gpu": "true"}, MatchFeatures: []FeatureMatcher{term("kernel.loadedmodule", map[string]*MatchExpression{"nvidia": ex(OpExists)})}},
			{Name: "use", MatchFeatures: []FeatureMatcher{term("rule.matched", map[string]*MatchExpression{"gpu": ex(OpIsTrue)})}},
		}},
	}}
	for node, want := range map[*Features]bool{gpu: true, cpu: false} {
		rep, err := Evaluate(back, node, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Compatible != want {
			t.Errorf("backref: got %v, want %v", rep.Compatible, want)
		}
	}
	if _, ok := gpu.Attributes[RuleBackrefFeature]; ok {
		t.Errorf("Evaluate modified its input features")
	}
}

func loadFeatures(t *testing.T, name string) *Features {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFeatures(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

func TestParseFeatures(t *testing.T) {
	f := loadFeatures(t, "testdata/cpu-node.yaml")
	if f.Attributes["kernel.version"].Elements["full"] != "6.1.0-18-amd64" || len(f.Instances["pci.device"].Elements) != 1 {
		t.Fatalf("NodeFeature: %+v", f)
	}
	g := loadFeatures(t, "testdata/gpu-node.json")
	js, err := g.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseFeatures(js)
	if err != nil || len(again.Names()) != len(g.Names()) {
		t.Fatalf("round trip: %v %v", err, again.Names())
	}
	list := `{"kind":"List","items":[
	 {"kind":"NodeFeature","spec":{"features":{"flags":{"kernel.loadedmodule":{"elements":{"a":{}}}}}}},
	 {"kind":"NodeFeature","spec":{"features":{"flags":{"kernel.loadedmodule":{"elements":{"b":{}}}},"instances":{"pci.device":{"elements":[{"attributes":{"vendor":"1"}}]}}}}}]}`
	m, err := ParseFeatures([]byte(list))
	if err != nil || len(m.Flags["kernel.loadedmodule"].Elements) != 2 || len(m.Instances["pci.device"].Elements) != 1 {
		t.Fatalf("list merge: %v %+v", err, m)
	}
	for _, bad := range []string{"", "[]", `{"kind":"Pod"}`, `{"foo":1}`, `{"kind":"NodeFeature","spec":{}}`, `{"flags":{"x":{"elements":[1]}}}`} {
		if _, err := ParseFeatures([]byte(bad)); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestReportTextNamesFailure(t *testing.T) {
	spec, err := Parse([]byte(`version: v1alpha1
compatibilities:
- tag: gpu
  rules:
  - name: driver
    matchFeatures:
    - feature: kernel.loadedmodule
      matchExpressions: {nvidia: {op: Exists}}
`))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(spec, testFeatures(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"INCOMPATIBLE", "RULE: driver - FAIL", "kernel.loadedmodule.nvidia", `{op: "Exists"}`, "absent"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
