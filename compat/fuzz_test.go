package compat

import (
	"os"
	"testing"
)

// FuzzParseSpec checks that Parse never panics, that an accepted spec keeps
// its bytes, and that linting and evaluating it never panic either.
func FuzzParseSpec(f *testing.F) {
	if data, err := os.ReadFile("testdata/example.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"version":"v1alpha1","compatibilities":[{"rules":[{"name":"a","matchFeatures":[{"feature":"pci.device","matchExpressions":{"vendor":{"op":"In","value":["10de"]}}}]}]}]}`))
	f.Add([]byte("version: v1alpha1\ncompatibilities:\n- rules:\n  - name: x\n    matchAny:\n    - matchFeatures:\n      - feature: cpu.cpuid\n        matchName: {op: InRegexp, value: [\"^AVX\"]}\n"))
	node := testFeatures()
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			return
		}
		if string(s.Raw) != string(data) {
			t.Fatal("Raw differs from the input")
		}
		_ = Lint(s)
		rep, err := Evaluate(s, node, Options{})
		if err == nil {
			_ = rep.Verdict()
		}
	})
}

// FuzzParseFeatures: node feature documents never panic the reader, and
// what it accepts evaluates and round-trips through JSON.
func FuzzParseFeatures(f *testing.F) {
	for _, name := range []string{"testdata/gpu-node.json", "testdata/cpu-node.yaml"} {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"kind":"List","items":[{"kind":"NodeFeature","spec":{"features":{}}}]}`))
	spec, err := Parse([]byte("version: v1alpha1\ncompatibilities:\n- rules:\n  - name: a\n    matchFeatures:\n    - feature: pci.device\n      matchExpressions: {vendor: {op: In, value: [\"10de\"]}}\n    - feature: cpu.cpuid\n      matchName: {op: InRegexp, value: [\"^AVX\"]}\n"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		feat, err := ParseFeatures(data)
		if err != nil {
			return
		}
		if _, err := Evaluate(spec, feat, Options{}); err != nil {
			t.Fatalf("valid spec failed on accepted features: %v", err)
		}
		js, err := feat.MarshalIndent()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseFeatures(js); err != nil {
			t.Fatalf("round trip: %v\n%s", err, js)
		}
	})
}
