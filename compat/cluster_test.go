package compat

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func clusterFixture(t *testing.T, name string) *Features {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFeatures(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestEvaluateNodes(t *testing.T) {
	data, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	gpu, cpu := clusterFixture(t, "gpu-node.json"), clusterFixture(t, "cpu-node.yaml")
	oldKernel := NewFeatures()
	oldKernel.AddAttributes("kernel.version", map[string]string{"full": "4.19.0", "major": "4", "minor": "19", "revision": "0"})
	specs := []NamedSpec{{Name: "resource app-compat", Spec: spec}}

	cases := []struct {
		name       string
		nodes      []Node
		tags       []string
		compatible []string
		profiles   int
		summary    []string // substrings
	}{
		{
			name:       "two GPU nodes are one profile",
			nodes:      []Node{{"gpu-a", gpu}, {"gpu-b", gpu}, {"cpu-1", cpu}},
			compatible: []string{"cpu-1", "gpu-a", "gpu-b"},
			profiles:   2,
			summary:    []string{"3/3 nodes match"},
		},
		{
			name:       "gpu tag only: the CPU node fails and says why",
			nodes:      []Node{{"gpu-a", gpu}, {"cpu-1", cpu}},
			tags:       []string{"gpu"},
			compatible: []string{"gpu-a"},
			profiles:   2,
			summary:    []string{"1/2 nodes match", "set #1 (tag gpu)"},
		},
		{
			name:     "nothing matches: first failing rule with the observed value",
			nodes:    []Node{{"old-1", oldKernel}, {"none", nil}},
			tags:     []string{"gpu"},
			profiles: 2,
			summary:  []string{"0/2 nodes match", `rule kernel: kernel.version.full GeLe [5.15 6.11] (observed: "4.19.0")`, "feature not discovered"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := EvaluateNodes(specs, c.nodes, Options{Tags: c.tags})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Compatible, c.compatible) {
				t.Errorf("compatible %v, want %v", res.Compatible, c.compatible)
			}
			if len(res.Profiles) != c.profiles {
				t.Errorf("%d profiles, want %d", len(res.Profiles), c.profiles)
			}
			s := res.Summary()
			for _, want := range c.summary {
				if !strings.Contains(s, want) {
					t.Errorf("summary %q does not contain %q", s, want)
				}
			}
		})
	}
}
