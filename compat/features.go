package compat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"

	"github.com/ocmgo/ocm/internal/yamlutil"
)

// Features are the features of one node, in the format of NFD's
// `nfd export features` and of NodeFeature spec.features. Feature names are
// "<source>.<feature>", e.g. "kernel.loadedmodule".
type Features struct {
	Flags      map[string]FlagFeatureSet      `json:"flags"`
	Attributes map[string]AttributeFeatureSet `json:"attributes"`
	Instances  map[string]InstanceFeatureSet  `json:"instances"`
}

// Nil is the (empty) value of a flag element.
type Nil struct{}

// FlagFeatureSet is a set of names (e.g. loaded modules).
type FlagFeatureSet struct {
	Elements map[string]Nil `json:"elements"`
}

// AttributeFeatureSet is a set of name/value pairs (e.g. kernel config).
type AttributeFeatureSet struct {
	Elements map[string]string `json:"elements"`
}

// InstanceFeatureSet is a list of instances (e.g. PCI devices).
type InstanceFeatureSet struct {
	Elements []InstanceFeature `json:"elements"`
}

// InstanceFeature is one instance with its attributes.
type InstanceFeature struct {
	Attributes map[string]string `json:"attributes"`
}

// NewFeatures returns empty features with all maps allocated.
func NewFeatures() *Features {
	return &Features{Flags: map[string]FlagFeatureSet{}, Attributes: map[string]AttributeFeatureSet{}, Instances: map[string]InstanceFeatureSet{}}
}

// AddFlags records a flag feature (creating it even when names is empty,
// since an empty but discovered feature differs from an undiscovered one).
func (f *Features) AddFlags(name string, names ...string) {
	set := f.Flags[name]
	if set.Elements == nil {
		set.Elements = map[string]Nil{}
	}
	for _, n := range names {
		set.Elements[n] = Nil{}
	}
	f.Flags[name] = set
}

// AddAttributes records (merges) an attribute feature.
func (f *Features) AddAttributes(name string, values map[string]string) {
	set := f.Attributes[name]
	if set.Elements == nil {
		set.Elements = map[string]string{}
	}
	maps.Copy(set.Elements, values)
	f.Attributes[name] = set
}

// AddInstances records instances of a feature.
func (f *Features) AddInstances(name string, instances ...map[string]string) {
	set := f.Instances[name]
	if set.Elements == nil {
		set.Elements = []InstanceFeature{}
	}
	for _, a := range instances {
		set.Elements = append(set.Elements, InstanceFeature{Attributes: a})
	}
	f.Instances[name] = set
}

// Names lists every discovered feature name, sorted.
func (f *Features) Names() []string {
	seen := map[string]bool{}
	for k := range f.Flags {
		seen[k] = true
	}
	for k := range f.Attributes {
		seen[k] = true
	}
	for k := range f.Instances {
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// MergeInto merges f into out; f wins on conflicts, instances are appended
// (as NFD merges NodeFeature objects of one node).
func (f *Features) MergeInto(out *Features) {
	for k, v := range f.Flags {
		out.AddFlags(k, sortedKeys(v.Elements)...)
	}
	for k, v := range f.Attributes {
		out.AddAttributes(k, v.Elements)
	}
	for k, v := range f.Instances {
		for _, i := range v.Elements {
			out.AddInstances(k, maps.Clone(i.Attributes))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ParseFeatures reads node features from the JSON of `nfd export features`
// (or `ocm compat node`), or from a NodeFeature object (YAML or JSON, its
// spec.features), or from a list of NodeFeature objects of one node (kind
// List or NodeFeatureList), which are merged.
func ParseFeatures(data []byte) (*Features, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("node features: empty document")
	}
	js, err := yamlutil.ToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("node features: invalid YAML or JSON: %w", err)
	}
	var probe struct {
		Kind     string            `json:"kind"`
		Spec     *json.RawMessage  `json:"spec"`
		Items    []json.RawMessage `json:"items"`
		Flags    json.RawMessage   `json:"flags"`
		Attrs    json.RawMessage   `json:"attributes"`
		Instance json.RawMessage   `json:"instances"`
	}
	if err := json.Unmarshal(js, &probe); err != nil {
		return nil, fmt.Errorf("node features: must be a mapping: %w", err)
	}
	switch {
	case probe.Kind == "NodeFeature":
		return nodeFeature(js)
	case probe.Kind == "List" || probe.Kind == "NodeFeatureList":
		out := NewFeatures()
		for i, item := range probe.Items {
			f, err := nodeFeature(item)
			if err != nil {
				return nil, fmt.Errorf("items[%d]: %w", i, err)
			}
			f.MergeInto(out)
		}
		return out, nil
	case probe.Kind != "":
		return nil, fmt.Errorf("node features: kind %q is not NodeFeature (or a list of them)", probe.Kind)
	case probe.Flags == nil && probe.Attrs == nil && probe.Instance == nil:
		return nil, errors.New("node features: neither flags, attributes nor instances found (want `nfd export features` JSON or a NodeFeature)")
	}
	return decodeFeatures(js, "")
}

func nodeFeature(js []byte) (*Features, error) {
	var nf struct {
		Spec struct {
			Features json.RawMessage `json:"features"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(js, &nf); err != nil {
		return nil, fmt.Errorf("NodeFeature: %w", err)
	}
	if nf.Spec.Features == nil {
		return nil, errors.New("NodeFeature: spec.features is missing")
	}
	return decodeFeatures(nf.Spec.Features, "spec.features: ")
}

func decodeFeatures(js []byte, where string) (*Features, error) {
	f := NewFeatures()
	dec := json.NewDecoder(bytes.NewReader(js))
	if err := dec.Decode(f); err != nil {
		return nil, fmt.Errorf("node features: %s%w", where, err)
	}
	// A null map decodes to nil; keep the maps usable.
	if f.Flags == nil {
		f.Flags = map[string]FlagFeatureSet{}
	}
	if f.Attributes == nil {
		f.Attributes = map[string]AttributeFeatureSet{}
	}
	if f.Instances == nil {
		f.Instances = map[string]InstanceFeatureSet{}
	}
	return f, nil
}

// MarshalIndent writes the features as `nfd export features` JSON, indented.
func (f *Features) MarshalIndent() ([]byte, error) {
	return json.MarshalIndent(f, "", "  ")
}
