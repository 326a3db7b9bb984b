// Package compat evaluates Node Feature Discovery (NFD) image-compatibility
// specs (v1alpha1) against node features, with NFD's matching semantics, and
// adds what NFD lacks: an overall verdict, observed values, and a linter.
//
// The spec bytes are carried verbatim (Spec.Raw), so that the same blob works
// with `nfd compat validate-node` and with this package.
package compat

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/ocmgo/ocm/internal/yamlutil"
)

// Names shared with NFD and with OCM descriptors.
const (
	// SpecVersion is the only spec version NFD knows.
	SpecVersion = "v1alpha1"
	// ArtifactType is the artifactType of NFD's OCI referrer artifact.
	ArtifactType = "application/vnd.nfd.image-compatibility.v1alpha1"
	// SpecMediaType is the media type of the spec blob (layers[0] of the artifact).
	SpecMediaType = "application/vnd.nfd.image-compatibility.spec.v1alpha1+yaml"
	// CreatedAnnotation orders artifacts; NFD's client reads this key (not "oci.…").
	CreatedAnnotation = "org.opencontainers.image.created"

	// ResourceType is the OCM resource type of a spec blob.
	ResourceType = "imageCompatibility"
	// SubjectLabel names the resource a spec constrains: value {name: …, <extra identity>…}.
	SubjectLabel = "compatibility.ocm.software/subject"
	// SpecLabel carries a spec inline (JSON value) on a resource.
	SpecLabel = "compatibility.ocm.software/nfd-v1alpha1"
	// ImageResourceType is what a spec without subject applies to.
	ImageResourceType = "ociImage"
)

// Op is a match operator.
type Op string

// The operators of NFD's MatchExpression ("" is MatchAny).
const (
	OpAny          Op = ""
	OpIn           Op = "In"
	OpNotIn        Op = "NotIn"
	OpInRegexp     Op = "InRegexp"
	OpExists       Op = "Exists"
	OpDoesNotExist Op = "DoesNotExist"
	OpGt           Op = "Gt"
	OpGe           Op = "Ge"
	OpLt           Op = "Lt"
	OpLe           Op = "Le"
	OpGtLt         Op = "GtLt"
	OpGeLe         Op = "GeLe"
	OpIsTrue       Op = "IsTrue"
	OpIsFalse      Op = "IsFalse"
)

// Ops lists the known operators in documentation order.
var Ops = []Op{OpIn, OpNotIn, OpInRegexp, OpExists, OpDoesNotExist, OpGt, OpGe, OpLt, OpLe, OpGtLt, OpGeLe, OpIsTrue, OpIsFalse, OpAny}

// ValueTypeVersion makes Gt/Ge/Lt/Le/GtLt/GeLe compare semantic versions.
const ValueTypeVersion = "version"

// Spec is a parsed image-compatibility spec.
type Spec struct {
	Version         string          `json:"version"`
	Compatibilities []Compatibility `json:"compatibilities"`
	// Raw is the document exactly as read; it is what gets stored and signed.
	Raw []byte `json:"-"`
}

// Compatibility is one compatibility set: all rules must match.
type Compatibility struct {
	Rules       []GroupRule `json:"rules"`
	Weight      int         `json:"weight,omitempty"`
	Tag         string      `json:"tag,omitempty"`
	Description string      `json:"description,omitempty"`
}

// GroupRule is NFD's NodeFeatureGroup rule.
type GroupRule struct {
	Name          string            `json:"name"`
	Vars          map[string]string `json:"vars,omitempty"`
	VarsTemplate  string            `json:"varsTemplate,omitempty"`
	MatchFeatures []FeatureMatcher  `json:"matchFeatures,omitempty"`
	MatchAny      []MatchAnyElem    `json:"matchAny,omitempty"`
}

// MatchAnyElem is one alternative of matchAny.
type MatchAnyElem struct {
	MatchFeatures []FeatureMatcher `json:"matchFeatures"`
}

// FeatureMatcher is one term: a feature and expressions on its elements.
type FeatureMatcher struct {
	Feature string `json:"feature"`
	// MatchExpressions is nil when the field is absent (which NFD treats
	// differently from an empty set).
	MatchExpressions map[string]*MatchExpression `json:"matchExpressions,omitempty"`
	MatchName        *MatchExpression            `json:"matchName,omitempty"`
}

// MatchExpression is one operator with its values.
type MatchExpression struct {
	Op    Op       `json:"op"`
	Value []string `json:"value,omitempty"`
	Type  string   `json:"type,omitempty"`
}

// Keys returns the expression keys sorted, for stable evaluation and output.
func (m *FeatureMatcher) Keys() []string {
	keys := make([]string, 0, len(m.MatchExpressions))
	for k := range m.MatchExpressions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// String renders the expression the way NFD's report does.
func (e *MatchExpression) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "{op: %q", string(e.Op))
	if len(e.Value) > 0 {
		vs := make([]string, len(e.Value))
		for i, v := range e.Value {
			vs[i] = fmt.Sprintf("%q", v)
		}
		fmt.Fprintf(&b, ", value: [%s]", strings.Join(vs, ", "))
	}
	if e.Type != "" {
		fmt.Fprintf(&b, ", type: %q", e.Type)
	}
	b.WriteString("}")
	return b.String()
}

// MaxSpecSize bounds spec documents; real ones are a few KiB.
const MaxSpecSize = 4 << 20

// FieldError is a problem at a field path of the spec.
type FieldError struct {
	Path string
	Err  error
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

// maxErrors caps how many problems one Parse reports.
const maxErrors = 50

// Parse reads a spec from YAML or JSON. Errors name the field path, e.g.
// compatibilities[0].rules[1].matchFeatures[0].matchExpressions.avx512f.op.
// Unknown fields are ignored, as NFD ignores them; Lint reports them.
func Parse(data []byte) (*Spec, error) {
	if len(data) > MaxSpecSize {
		return nil, fmt.Errorf("spec is %d bytes, more than the limit of %d", len(data), MaxSpecSize)
	}
	root, err := decode(data)
	if err != nil {
		return nil, err
	}
	p := &specParser{}
	s := p.spec(root)
	if len(p.errs) > 0 {
		errs := p.errs
		if len(errs) > maxErrors {
			errs = append(errs[:maxErrors:maxErrors], fmt.Errorf("... and %d more problems", len(p.errs)-maxErrors))
		}
		return nil, errors.Join(errs...)
	}
	s.Raw = slices.Clone(data)
	return s, nil
}

type specParser struct {
	errs []error
	// unknown collects unknown field paths, for Lint.
	unknown []string
}

func (p *specParser) fail(path, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{Path: path, Err: fmt.Errorf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// keyPath appends a map key, quoting keys that would make the path ambiguous.
func keyPath(path, key string) string {
	if key == "" || strings.ContainsAny(key, ".[] \"") {
		return fmt.Sprintf("%s[%q]", path, key)
	}
	return join(path, key)
}

func kindOf(v any) string { return yamlutil.KindOf(v) }

func (p *specParser) object(path string, v any, known ...string) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		p.fail(path, "must be a mapping, got %s", kindOf(v))
		return nil, false
	}
	for k := range m {
		if !slices.Contains(known, k) {
			p.unknown = append(p.unknown, keyPath(path, k))
		}
	}
	return m, true
}

func (p *specParser) list(path string, v any) []any {
	if v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		p.fail(path, "must be a list, got %s", kindOf(v))
	}
	return l
}

func (p *specParser) str(path string, m map[string]any, key string) string {
	v, present := m[key]
	if !present || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.fail(join(path, key), "must be a string, got %s", kindOf(v))
	}
	return s
}

func (p *specParser) spec(root any) *Spec {
	s := &Spec{}
	m, ok := p.object("", root, "version", "compatibilities")
	if !ok {
		return s
	}
	s.Version = p.str("", m, "version")
	switch {
	case m["version"] == nil:
		p.fail("version", "must be set (to %q)", SpecVersion)
	case s.Version != SpecVersion && len(p.errs) == 0:
		p.fail("version", "unsupported version %q (want %q)", s.Version, SpecVersion)
	}
	if m["compatibilities"] == nil {
		p.fail("compatibilities", "must be set")
	}
	for i, cv := range p.list("compatibilities", m["compatibilities"]) {
		s.Compatibilities = append(s.Compatibilities, p.compatibility(fmt.Sprintf("compatibilities[%d]", i), cv))
	}
	return s
}

func (p *specParser) compatibility(path string, v any) Compatibility {
	var c Compatibility
	m, ok := p.object(path, v, "rules", "weight", "tag", "description")
	if !ok {
		return c
	}
	c.Tag = p.str(path, m, "tag")
	c.Description = p.str(path, m, "description")
	if w, present := m["weight"]; present && w != nil {
		n, ok := w.(json.Number)
		if !ok {
			p.fail(join(path, "weight"), "must be an integer, got %s", kindOf(w))
		} else if i, err := n.Int64(); err != nil || i != int64(int(i)) {
			p.fail(join(path, "weight"), "must be an integer, got %s", n)
		} else {
			c.Weight = int(i)
		}
	}
	if m["rules"] == nil {
		p.fail(join(path, "rules"), "must be set")
	}
	for i, rv := range p.list(join(path, "rules"), m["rules"]) {
		c.Rules = append(c.Rules, p.rule(fmt.Sprintf("%s[%d]", join(path, "rules"), i), rv))
	}
	return c
}

func (p *specParser) rule(path string, v any) GroupRule {
	var r GroupRule
	m, ok := p.object(path, v, "name", "vars", "varsTemplate", "matchFeatures", "matchAny")
	if !ok {
		return r
	}
	r.Name = p.str(path, m, "name")
	r.VarsTemplate = p.str(path, m, "varsTemplate")
	if vv, present := m["vars"]; present && vv != nil {
		if vm, ok := vv.(map[string]any); !ok {
			p.fail(join(path, "vars"), "must be a mapping, got %s", kindOf(vv))
		} else {
			r.Vars = map[string]string{}
			for k, x := range vm {
				if s, ok := x.(string); ok {
					r.Vars[k] = s
				} else {
					p.fail(keyPath(join(path, "vars"), k), "must be a string, got %s", kindOf(x))
				}
			}
		}
	}
	r.MatchFeatures = p.matchers(join(path, "matchFeatures"), m["matchFeatures"])
	for i, av := range p.list(join(path, "matchAny"), m["matchAny"]) {
		ap := fmt.Sprintf("%s[%d]", join(path, "matchAny"), i)
		am, ok := p.object(ap, av, "matchFeatures")
		if !ok {
			continue
		}
		r.MatchAny = append(r.MatchAny, MatchAnyElem{MatchFeatures: p.matchers(join(ap, "matchFeatures"), am["matchFeatures"])})
	}
	return r
}

func (p *specParser) matchers(path string, v any) []FeatureMatcher {
	var out []FeatureMatcher
	for i, tv := range p.list(path, v) {
		tp := fmt.Sprintf("%s[%d]", path, i)
		m, ok := p.object(tp, tv, "feature", "matchExpressions", "matchName")
		if !ok {
			continue
		}
		var t FeatureMatcher
		t.Feature = p.str(tp, m, "feature")
		if m["feature"] == nil {
			p.fail(join(tp, "feature"), "must be set")
		}
		if ev, present := m["matchExpressions"]; present && ev != nil {
			ep := join(tp, "matchExpressions")
			if em, ok := ev.(map[string]any); !ok {
				p.fail(ep, "must be a mapping of element name to expression, got %s", kindOf(ev))
			} else {
				t.MatchExpressions = map[string]*MatchExpression{}
				for k, x := range em {
					t.MatchExpressions[k] = p.expression(keyPath(ep, k), x)
				}
			}
		}
		if nv, present := m["matchName"]; present && nv != nil {
			t.MatchName = p.expression(join(tp, "matchName"), nv)
		}
		out = append(out, t)
	}
	return out
}

func (p *specParser) expression(path string, v any) *MatchExpression {
	e := &MatchExpression{}
	m, ok := p.object(path, v, "op", "value", "type")
	if !ok {
		return e
	}
	e.Op = Op(p.str(path, m, "op"))
	if _, isString := m["op"].(string); isString && !slices.Contains(Ops, e.Op) {
		p.fail(join(path, "op"), "unknown operator %q (known: %s)", e.Op, knownOps())
	}
	e.Type = p.str(path, m, "type")
	if e.Type != "" && e.Type != ValueTypeVersion {
		p.fail(join(path, "type"), "unknown value type %q (known: %q or empty)", e.Type, ValueTypeVersion)
	}
	for i, x := range p.list(join(path, "value"), m["value"]) {
		s, ok := x.(string)
		if !ok {
			// NFD decodes values into strings and rejects numbers.
			p.fail(fmt.Sprintf("%s[%d]", join(path, "value"), i), "must be a string, got %s (quote it)", kindOf(x))
			continue
		}
		e.Value = append(e.Value, s)
	}
	return e
}

func knownOps() string {
	var names []string
	for _, o := range Ops {
		if o != OpAny {
			names = append(names, string(o))
		}
	}
	return strings.Join(names, ", ")
}

// unknownFields parses data again and returns the paths of fields NFD ignores.
func unknownFields(data []byte) []string {
	root, err := decode(data)
	if err != nil {
		return nil
	}
	p := &specParser{}
	p.spec(root)
	sort.Strings(p.unknown)
	return p.unknown
}

// decode converts YAML or JSON into a generic value with json.Number numbers.
func decode(data []byte) (any, error) { return yamlutil.Decode(data, "spec") }
