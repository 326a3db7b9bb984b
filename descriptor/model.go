// Package descriptor holds the OCM component descriptor (schema v2): the model,
// its YAML/JSON codecs, identities and validation.
//
// The Go structs serialise exactly as the reference implementation's v2 wire
// types do (null for absent lists, provider as a string), so that what we
// read we can write back without changing a normalised digest.
package descriptor

import (
	"encoding/json"
	"fmt"
	"strings"
)

// SchemaVersion is the only descriptor schema version this package reads and writes.
const SchemaVersion = "v2"

// Descriptor is a component descriptor of schema v2.
type Descriptor struct {
	Meta          Meta                     `json:"meta"`
	Component     Component                `json:"component"`
	Signatures    []Signature              `json:"signatures,omitempty"`
	NestedDigests []NestedComponentDigests `json:"nestedDigests,omitempty"`
}

// Meta carries the schema version.
type Meta struct {
	SchemaVersion string `json:"schemaVersion"`
}

// Component is the component version proper.
type Component struct {
	Name               string      `json:"name"`
	Version            string      `json:"version"`
	CreationTime       string      `json:"creationTime,omitempty"`
	Provider           Provider    `json:"provider"`
	Labels             []Label     `json:"labels,omitempty"`
	RepositoryContexts []Typed     `json:"repositoryContexts"`
	Sources            []Source    `json:"sources"`
	References         []Reference `json:"componentReferences"`
	Resources          []Resource  `json:"resources"`
}

// Provider is the provider as the v2 schema has it: a string that is either a
// plain name or a JSON object {"name":..,"labels":[..]}. The string is kept
// verbatim because normalisation v1 distinguishes the two forms.
type Provider string

// UnmarshalJSON accepts the v2 string form and, for leniency, the object form
// (which v3alpha1 and constructors use); an object is stored as compact JSON.
func (p *Provider) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*p = Provider(s)
		return nil
	}
	var obj ProviderObject
	if err := json.Unmarshal(data, &obj); err != nil {
		return fmt.Errorf("provider must be a string or an object with name and labels: %w", err)
	}
	return p.Set(obj)
}

// ProviderObject is the structured form of a provider.
type ProviderObject struct {
	Name   string  `json:"name"`
	Labels []Label `json:"labels,omitempty"`
}

// Set stores obj, as a plain name when it has no labels (what the reference writes).
func (p *Provider) Set(obj ProviderObject) error {
	if len(obj.Labels) == 0 {
		*p = Provider(obj.Name)
		return nil
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	*p = Provider(data)
	return nil
}

// IsObject reports whether the provider string holds a JSON object.
func (p Provider) IsObject() bool {
	s := strings.TrimSpace(string(p))
	if !strings.HasPrefix(s, "{") {
		return false
	}
	var m map[string]json.RawMessage
	return json.Unmarshal([]byte(s), &m) == nil
}

// Object returns the structured provider; a plain string becomes {name: s}.
func (p Provider) Object() (ProviderObject, error) {
	if !p.IsObject() {
		return ProviderObject{Name: string(p)}, nil
	}
	var obj ProviderObject
	if err := json.Unmarshal([]byte(p), &obj); err != nil {
		return ProviderObject{}, fmt.Errorf("provider JSON: %w", err)
	}
	return obj, nil
}

// Name returns the provider name for display.
func (p Provider) Name() string {
	obj, err := p.Object()
	if err != nil {
		return string(p)
	}
	return obj.Name
}

// Label is a name/value annotation. Value is kept as raw JSON.
type Label struct {
	Name    string          `json:"name"`
	Value   json.RawMessage `json:"value"`
	Version string          `json:"version,omitempty"`
	Signing Bool            `json:"signing,omitempty"`
	Merge   *MergeSpec      `json:"merge,omitempty"`
}

// MergeSpec says how a label is merged on transfer.
type MergeSpec struct {
	Algorithm string          `json:"algorithm,omitempty"`
	Config    json.RawMessage `json:"config,omitempty"`
}

// Bool is a boolean that also reads the strings "true" and "false", which
// older descriptors use for label.signing.
type Bool bool

// UnmarshalJSON reads true/false as JSON booleans or strings.
func (b *Bool) UnmarshalJSON(data []byte) error {
	switch strings.TrimSpace(string(data)) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, "null", `""`:
		*b = false
	default:
		return fmt.Errorf("expected a boolean, got %s", data)
	}
	return nil
}

// Typed is a typed specification (an access method, a repository context)
// whose fields beyond "type" are kept verbatim.
type Typed struct {
	Type string
	// Raw is the whole JSON object, including "type".
	Raw json.RawMessage
}

// NewTyped builds a Typed from any JSON-marshallable value that has a "type" field.
func NewTyped(v any) (Typed, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return Typed{}, err
	}
	var t Typed
	if err := t.UnmarshalJSON(data); err != nil {
		return Typed{}, err
	}
	return t, nil
}

// UnmarshalJSON keeps the object verbatim (compacted) and extracts its type.
func (t *Typed) UnmarshalJSON(data []byte) error {
	// A map, not a struct: struct decoding matches keys case-insensitively,
	// but normalisation and other tools look for exactly "type".
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return fmt.Errorf("expected an object with a type: %w", err)
	}
	rawType, ok := fields["type"]
	if !ok {
		return fmt.Errorf("missing field type")
	}
	var typ string
	if err := json.Unmarshal(rawType, &typ); err != nil {
		return fmt.Errorf("field type must be a string: %w", err)
	}
	var buf strings.Builder
	if err := compactInto(&buf, data); err != nil {
		return err
	}
	t.Type = typ
	t.Raw = json.RawMessage(buf.String())
	return nil
}

// MarshalJSON writes the kept object, or just the type when nothing else is known.
func (t Typed) MarshalJSON() ([]byte, error) {
	if len(t.Raw) > 0 {
		return t.Raw, nil
	}
	return json.Marshal(map[string]string{"type": t.Type})
}

// Decode unmarshals the full object into v.
func (t Typed) Decode(v any) error {
	data, err := t.MarshalJSON()
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// Fields returns the object as a generic map.
func (t Typed) Fields() (map[string]any, error) {
	var m map[string]any
	if err := t.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// BaseType is the type without a "/vN" version suffix.
func (t Typed) BaseType() string {
	base, _, _ := strings.Cut(t.Type, "/")
	return base
}

// ElementMeta is what resources, sources and references have in common.
type ElementMeta struct {
	Name          string            `json:"name"`
	Version       string            `json:"version"`
	ExtraIdentity map[string]string `json:"extraIdentity,omitempty"`
	Labels        []Label           `json:"labels,omitempty"`
}

// Resource is a delivery artifact of the component.
type Resource struct {
	ElementMeta
	Type     string      `json:"type"`
	Relation string      `json:"relation"`
	SrcRefs  []SrcRef    `json:"srcRefs,omitempty"`
	Access   *Typed      `json:"access"`
	Digest   *DigestSpec `json:"digest,omitempty"`
}

// Source is a source artifact of the component.
type Source struct {
	ElementMeta
	Type   string `json:"type"`
	Access *Typed `json:"access"`
}

// Reference points to another component version.
type Reference struct {
	ElementMeta
	ComponentName string      `json:"componentName"`
	Digest        *DigestSpec `json:"digest,omitempty"`
}

// SrcRef links a resource to the sources it was built from.
type SrcRef struct {
	IdentitySelector map[string]string `json:"identitySelector,omitempty"`
	Labels           []Label           `json:"labels,omitempty"`
}

// DigestSpec is a digest of an artifact or a normalised descriptor.
type DigestSpec struct {
	HashAlgorithm          string `json:"hashAlgorithm"`
	NormalisationAlgorithm string `json:"normalisationAlgorithm"`
	Value                  string `json:"value"`
}

func (d *DigestSpec) String() string {
	if d == nil {
		return "<none>"
	}
	return fmt.Sprintf("%s/%s:%s", d.HashAlgorithm, d.NormalisationAlgorithm, d.Value)
}

// Signature is a signature over the normalised descriptor digest.
type Signature struct {
	Name      string        `json:"name"`
	Digest    DigestSpec    `json:"digest"`
	Signature SignatureSpec `json:"signature"`
	Timestamp *Timestamp    `json:"timestamp,omitempty"`
}

// SignatureSpec is the signature value and how to read it.
type SignatureSpec struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
	MediaType string `json:"mediaType"`
	Issuer    string `json:"issuer,omitempty"`
}

// Timestamp is a timestamp authority's countersignature (OCM v1).
type Timestamp struct {
	Value string `json:"value"`
	Time  string `json:"time"`
}

// NestedComponentDigests records digests of a component version's graph (OCM v1 "top" mode).
type NestedComponentDigests struct {
	Name            string                 `json:"name"`
	Version         string                 `json:"version"`
	Digest          *DigestSpec            `json:"digest,omitempty"`
	ResourceDigests []NestedResourceDigest `json:"resourceDigests,omitempty"`
}

// NestedResourceDigest is the digest of one resource in NestedComponentDigests.
type NestedResourceDigest struct {
	Name          string            `json:"name"`
	Version       string            `json:"version"`
	ExtraIdentity map[string]string `json:"extraIdentity,omitempty"`
	Digest        *DigestSpec       `json:"digest"`
}
