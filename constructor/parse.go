package constructor

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/yamlutil"
)

// Patterns from the reference's constructor schema that descriptor does not export.
var (
	ocmTypeRE        = regexp.MustCompile(`^([a-zA-Z0-9][a-zA-Z0-9.]*)(?:/(v[0-9]+(?:alpha[0-9]+|beta[0-9]+)?))?`)
	labelVersionRE   = regexp.MustCompile(`^v[0-9]+$`)
	mergeAlgorithmRE = regexp.MustCompile(`^[a-z][a-z0-9/_-]+$`)
)

var (
	componentFields = []string{"name", "version", "creationTime", "provider", "labels", "resources", "sources", "componentReferences"}
	providerFields  = []string{"name", "labels"}
	labelFields     = []string{"name", "value", "version", "signing", "merge"}
	mergeFields     = []string{"algorithm", "config"}
	resourceFields  = []string{"name", "version", "extraIdentity", "labels", "type", "relation", "srcRefs", "digest", "options", "input", "access"}
	sourceFields    = []string{"name", "version", "extraIdentity", "labels", "type", "input", "access"}
	referenceFields = []string{"name", "version", "extraIdentity", "labels", "componentName", "digest"}
	srcRefFields    = []string{"identitySelector", "labels"}
	digestFields    = []string{"hashAlgorithm", "normalisationAlgorithm", "value"}
	optionsFields   = []string{"ownershipPolicy"}
)

func parse(data []byte, file, baseDir string, opts LoadOptions) (*Spec, error) {
	env := opts.env()
	expanded, errs := expandEnv(data, file, env)
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	root, err := decodeYAML(expanded)
	if err != nil {
		return nil, &FieldError{File: file, Err: err}
	}
	p := &parser{file: file, baseDir: baseDir, env: env}
	spec := &Spec{File: file, BaseDir: baseDir}
	m, ok := root.(map[string]any)
	if !ok {
		return nil, &FieldError{File: file, Err: fmt.Errorf("must be a mapping (a component, or components: [...]), got %s", kindOf(root))}
	}
	if _, multi := m["components"]; multi {
		p.checkKeys("", m, []string{"components"})
		list := p.list("components", m["components"])
		switch l, isList := m["components"].([]any); {
		case m["components"] == nil:
			p.fail("components", "must be set")
		case isList && len(l) == 0:
			p.fail("components", "must list at least one component")
		}
		for i, c := range list {
			spec.Components = append(spec.Components, p.component(fmt.Sprintf("components[%d]", i), c))
		}
	} else {
		spec.Components = []Component{p.component("", m)}
	}
	seen := map[string]int{}
	for i, c := range spec.Components {
		if c.Name == "" || c.Version == "" {
			continue
		}
		key := c.Name + ":" + c.Version
		if j, dup := seen[key]; dup {
			p.fail(fmt.Sprintf("components[%d]", i), "duplicate component version %s (also components[%d])", key, j)
		} else {
			seen[key] = i
		}
	}
	if len(p.errs) > 0 {
		return nil, joinErrors(p.errs)
	}
	return spec, nil
}

// parser walks the generic document, collecting errors with field paths.
type parser struct {
	file    string
	baseDir string
	env     func(string) (string, bool)
	errs    []error
}

func (p *parser) fail(path, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{File: p.file, Path: path, Err: fmt.Errorf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindOf(v any) string { return yamlutil.KindOf(v) }

// object asserts an object and rejects keys not in allowed.
func (p *parser) object(path string, v any, allowed []string) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		p.fail(path, "must be an object, got %s", kindOf(v))
		return nil, false
	}
	p.checkKeys(path, m, allowed)
	return m, true
}

func (p *parser) checkKeys(path string, m map[string]any, allowed []string) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(allowed, k) {
			p.fail(join(path, k), "unknown field (expected one of: %s)", strings.Join(allowed, ", "))
		}
	}
}

// list asserts a list; null is an empty list.
func (p *parser) list(path string, v any) []any {
	switch l := v.(type) {
	case nil:
		return nil
	case []any:
		return l
	}
	p.fail(path, "must be a list, got %s", kindOf(v))
	return nil
}

// str reads an optional string field; null counts as absent.
func (p *parser) str(path string, m map[string]any, key string, required bool) string {
	v := m[key]
	if v == nil {
		if required {
			p.fail(join(path, key), "must be set")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.fail(join(path, key), "must be a string, got %s", kindOf(v))
		return ""
	}
	if required && s == "" {
		p.fail(join(path, key), "must not be empty")
	}
	return s
}

func (p *parser) boolean(path string, m map[string]any, key string) bool {
	v := m[key]
	if v == nil {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		p.fail(join(path, key), "must be a boolean, got %s", kindOf(v))
	}
	return b
}

func (p *parser) stringList(path string, m map[string]any, key string) []string {
	var out []string
	for i, v := range p.list(join(path, key), m[key]) {
		s, ok := v.(string)
		if !ok {
			p.fail(fmt.Sprintf("%s[%d]", join(path, key), i), "must be a string, got %s", kindOf(v))
			continue
		}
		out = append(out, s)
	}
	return out
}

// stringMap reads a map of strings (extraIdentity, identitySelector).
func (p *parser) stringMap(path string, v any) map[string]string {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.fail(path, "must be an object, got %s", kindOf(v))
		return nil
	}
	out := make(map[string]string, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s, ok := m[k].(string)
		if !ok {
			p.fail(join(path, k), "must be a string, got %s", kindOf(m[k]))
			continue
		}
		out[k] = s
	}
	return out
}

func (p *parser) component(path string, v any) Component {
	var c Component
	m, ok := p.object(path, v, componentFields)
	if !ok {
		return c
	}
	c.Name = p.str(path, m, "name", true)
	if c.Name != "" {
		if err := descriptor.ValidateComponentName(c.Name); err != nil {
			p.fail(join(path, "name"), "%v", err)
		}
	}
	c.Version = p.str(path, m, "version", true)
	if c.Version != "" {
		if err := descriptor.ValidateVersion(c.Version); err != nil {
			p.fail(join(path, "version"), "%v", err)
		}
	}
	c.CreationTime = p.str(path, m, "creationTime", false)
	if c.CreationTime != "" {
		if _, err := time.Parse(time.RFC3339, c.CreationTime); err != nil {
			p.fail(join(path, "creationTime"), "%q is not an RFC 3339 date-time", c.CreationTime)
		}
	}
	if pv := m["provider"]; pv == nil {
		p.fail(join(path, "provider"), "must be set")
	} else if pm, ok := p.object(join(path, "provider"), pv, providerFields); ok {
		c.Provider.Name = p.str(join(path, "provider"), pm, "name", true)
		c.Provider.Labels = p.labels(join(path, "provider.labels"), pm["labels"])
	}
	c.Labels = p.labels(join(path, "labels"), m["labels"])

	for i, rv := range p.list(join(path, "resources"), m["resources"]) {
		c.Resources = append(c.Resources, p.resource(fmt.Sprintf("%s[%d]", join(path, "resources"), i), rv, c.Version))
	}
	for i, sv := range p.list(join(path, "sources"), m["sources"]) {
		c.Sources = append(c.Sources, p.source(fmt.Sprintf("%s[%d]", join(path, "sources"), i), sv, c.Version))
	}
	for i, rv := range p.list(join(path, "componentReferences"), m["componentReferences"]) {
		c.References = append(c.References, p.reference(fmt.Sprintf("%s[%d]", join(path, "componentReferences"), i), rv))
	}

	// Identities must be unique per kind (name + extraIdentity, plus the
	// version where names clash), as descriptor validation requires.
	metas := func(n int, get func(int) *descriptor.ElementMeta) []*descriptor.ElementMeta {
		out := make([]*descriptor.ElementMeta, n)
		for i := range out {
			out[i] = get(i)
		}
		return out
	}
	p.unique(join(path, "resources"), metas(len(c.Resources), func(i int) *descriptor.ElementMeta { return &c.Resources[i].ElementMeta }))
	p.unique(join(path, "sources"), metas(len(c.Sources), func(i int) *descriptor.ElementMeta { return &c.Sources[i].ElementMeta }))
	p.unique(join(path, "componentReferences"), metas(len(c.References), func(i int) *descriptor.ElementMeta { return &c.References[i].ElementMeta }))
	return c
}

// unique reports elements with the same effective identity. It computes
// what descriptor's identities do (the version joins the identity of every
// element whose name and extraIdentity, ignoring a version key, clash with
// another's), in linear time: constructors can be large and hostile.
func (p *parser) unique(path string, metas []*descriptor.ElementMeta) {
	key := func(id descriptor.Identity) string {
		data, _ := json.Marshal(id) // map keys are sorted
		return string(data)
	}
	bases := make([]descriptor.Identity, len(metas))
	clashes := map[string]int{}
	baseKeys := make([]string, len(metas))
	for i, m := range metas {
		bases[i] = m.BaseIdentity()
		withoutVersion := maps.Clone(bases[i])
		delete(withoutVersion, "version")
		baseKeys[i] = key(withoutVersion)
		clashes[baseKeys[i]]++
	}
	first := map[string]int{}
	for i, m := range metas {
		if m.Name == "" {
			continue // already reported
		}
		id := bases[i]
		if _, explicit := m.ExtraIdentity["version"]; clashes[baseKeys[i]] > 1 && !explicit {
			id["version"] = m.Version
		}
		k := key(id)
		if j, dup := first[k]; dup {
			p.fail(fmt.Sprintf("%s[%d]", path, i), "duplicate identity %s (same as %s[%d])", id, path, j)
			continue
		}
		first[k] = i
	}
}

// elementMeta reads name, version, extraIdentity and labels.
func (p *parser) elementMeta(path string, m map[string]any) descriptor.ElementMeta {
	var e descriptor.ElementMeta
	e.Name = p.str(path, m, "name", true)
	switch {
	case e.Name == "":
	case len(e.Name) < 2:
		p.fail(join(path, "name"), "%q is shorter than 2 characters", e.Name)
	case !descriptor.IdentityKeyRE.MatchString(e.Name):
		p.fail(join(path, "name"), "%q does not match %s", e.Name, descriptor.IdentityKeyRE)
	}
	e.Version = p.str(path, m, "version", false)
	if e.Version != "" {
		if err := descriptor.ValidateVersion(e.Version); err != nil {
			p.fail(join(path, "version"), "%v", err)
		}
	}
	e.ExtraIdentity = p.stringMap(join(path, "extraIdentity"), m["extraIdentity"])
	for _, k := range slices.Sorted(maps.Keys(e.ExtraIdentity)) {
		switch {
		case k == "name":
			p.fail(join(path, "extraIdentity.name"), "the key name is reserved for the element name")
		case !descriptor.IdentityKeyRE.MatchString(k):
			p.fail(join(path, "extraIdentity."+k), "key does not match %s", descriptor.IdentityKeyRE)
		}
	}
	e.Labels = p.labels(join(path, "labels"), m["labels"])
	return e
}

func (p *parser) labels(path string, v any) []descriptor.Label {
	var out []descriptor.Label
	seen := map[string]int{}
	for i, lv := range p.list(path, v) {
		lp := fmt.Sprintf("%s[%d]", path, i)
		m, ok := p.object(lp, lv, labelFields)
		if !ok {
			continue
		}
		var l descriptor.Label
		l.Name = p.str(lp, m, "name", true)
		if l.Name != "" {
			if j, dup := seen[l.Name]; dup {
				p.fail(join(lp, "name"), "duplicate label %q (also %s[%d])", l.Name, path, j)
			} else {
				seen[l.Name] = i
			}
		}
		if val := m["value"]; val == nil {
			p.fail(join(lp, "value"), "must be set")
		} else if raw, err := json.Marshal(val); err != nil {
			p.fail(join(lp, "value"), "%v", err)
		} else {
			l.Value = raw
		}
		l.Version = p.str(lp, m, "version", false)
		if l.Version != "" && !labelVersionRE.MatchString(l.Version) {
			p.fail(join(lp, "version"), "%q does not match %s", l.Version, labelVersionRE)
		}
		l.Signing = descriptor.Bool(p.boolean(lp, m, "signing"))
		if mv := m["merge"]; mv != nil {
			if mm, ok := p.object(join(lp, "merge"), mv, mergeFields); ok {
				l.Merge = &descriptor.MergeSpec{Algorithm: p.str(join(lp, "merge"), mm, "algorithm", false)}
				if l.Merge.Algorithm != "" && !mergeAlgorithmRE.MatchString(l.Merge.Algorithm) {
					p.fail(join(lp, "merge.algorithm"), "%q does not match %s", l.Merge.Algorithm, mergeAlgorithmRE)
				}
				if cfg := mm["config"]; cfg != nil {
					l.Merge.Config, _ = json.Marshal(cfg)
				}
			}
		}
		out = append(out, l)
	}
	return out
}

func (p *parser) artifactType(path string, m map[string]any) string {
	t := p.str(path, m, "type", true)
	if t != "" && !ocmTypeRE.MatchString(t) {
		p.fail(join(path, "type"), "%q is not a valid type", t)
	}
	return t
}

func (p *parser) digest(path string, v any) *descriptor.DigestSpec {
	if v == nil {
		return nil
	}
	m, ok := p.object(path, v, digestFields)
	if !ok {
		return nil
	}
	return &descriptor.DigestSpec{
		HashAlgorithm:          p.str(path, m, "hashAlgorithm", true),
		NormalisationAlgorithm: p.str(path, m, "normalisationAlgorithm", true),
		Value:                  p.str(path, m, "value", true),
	}
}

// inputOrAccess reads the input and access fields, exactly one of which must be set.
func (p *parser) inputOrAccess(path string, m map[string]any) (input, access *descriptor.Typed) {
	iv, av := m["input"], m["access"]
	switch {
	case iv == nil && av == nil:
		p.fail(path, "exactly one of input or access must be set, found neither")
		return nil, nil
	case iv != nil && av != nil:
		p.fail(path, "exactly one of input or access must be set, found both")
		return nil, nil
	case iv != nil:
		ip := join(path, "input")
		if im, ok := iv.(map[string]any); !ok {
			p.fail(ip, "must be an object, got %s", kindOf(iv))
		} else if p.input(ip, im) != nil {
			input = p.typed(ip, im)
		}
	default:
		ap := join(path, "access")
		if am, ok := av.(map[string]any); !ok {
			p.fail(ap, "must be an object, got %s", kindOf(av))
		} else if t := p.typed(ap, am); t != nil {
			if err := CheckAccess(t); err != nil {
				p.fieldErr(ap, err)
			} else {
				access = t
			}
		}
	}
	return input, access
}

// fieldErr records err under path, extending the path by a field the error names.
func (p *parser) fieldErr(path string, err error) {
	if fe, ok := err.(*fieldError); ok {
		p.fail(join(path, fe.field), "%v", fe.err)
		return
	}
	p.fail(path, "%v", err)
}

// typed keeps an object verbatim as a descriptor.Typed; it must have a string type.
func (p *parser) typed(path string, m map[string]any) *descriptor.Typed {
	t, ok := m["type"].(string)
	if !ok || t == "" {
		if m["type"] == nil || ok {
			p.fail(join(path, "type"), "must be set")
		} else {
			p.fail(join(path, "type"), "must be a string, got %s", kindOf(m["type"]))
		}
		return nil
	}
	raw, err := json.Marshal(m)
	if err != nil {
		p.fail(path, "%v", err)
		return nil
	}
	var typed descriptor.Typed
	if err := typed.UnmarshalJSON(raw); err != nil {
		p.fail(path, "%v", err)
		return nil
	}
	return &typed
}

func (p *parser) resource(path string, v any, componentVersion string) Resource {
	r := Resource{at: &where{file: p.file, path: path, baseDir: p.baseDir, env: p.env}}
	m, ok := p.object(path, v, resourceFields)
	if !ok {
		return r
	}
	r.ElementMeta = p.elementMeta(path, m)
	r.Type = p.artifactType(path, m)
	r.Input, r.Access = p.inputOrAccess(path, m)
	r.Relation = p.str(path, m, "relation", false)
	switch r.Relation {
	case "":
		if m["access"] != nil {
			r.Relation = "external"
		} else {
			r.Relation = "local"
		}
	case "local":
	case "external":
		if m["input"] != nil {
			p.fail(join(path, "relation"), "a resource with an input is local, not external")
		}
	default:
		p.fail(join(path, "relation"), "must be local or external, got %q", r.Relation)
	}
	if r.Version == "" {
		r.Version = componentVersion
	}
	for i, sv := range p.list(join(path, "srcRefs"), m["srcRefs"]) {
		sp := fmt.Sprintf("%s[%d]", join(path, "srcRefs"), i)
		sm, ok := p.object(sp, sv, srcRefFields)
		if !ok {
			continue
		}
		r.SrcRefs = append(r.SrcRefs, descriptor.SrcRef{
			IdentitySelector: p.stringMap(join(sp, "identitySelector"), sm["identitySelector"]),
			Labels:           p.labels(join(sp, "labels"), sm["labels"]),
		})
	}
	r.Digest = p.digest(join(path, "digest"), m["digest"])
	if ov := m["options"]; ov != nil {
		if om, ok := p.object(join(path, "options"), ov, optionsFields); ok {
			r.Options = &ResourceOptions{OwnershipPolicy: p.str(join(path, "options"), om, "ownershipPolicy", false)}
			switch r.Options.OwnershipPolicy {
			case "", "Never", "Always":
			default:
				p.fail(join(path, "options.ownershipPolicy"), "must be Never or Always, got %q", r.Options.OwnershipPolicy)
			}
		}
	}
	return r
}

func (p *parser) source(path string, v any, componentVersion string) Source {
	s := Source{at: &where{file: p.file, path: path, baseDir: p.baseDir, env: p.env}}
	m, ok := p.object(path, v, sourceFields)
	if !ok {
		return s
	}
	s.ElementMeta = p.elementMeta(path, m)
	s.Type = p.artifactType(path, m)
	s.Input, s.Access = p.inputOrAccess(path, m)
	if s.Version == "" {
		s.Version = componentVersion
	}
	return s
}

func (p *parser) reference(path string, v any) Reference {
	var r Reference
	m, ok := p.object(path, v, referenceFields)
	if !ok {
		return r
	}
	r.ElementMeta = p.elementMeta(path, m)
	if v, isString := m["version"].(string); m["version"] == nil || isString && v == "" {
		p.fail(join(path, "version"), "must be set")
	}
	r.ComponentName = p.str(path, m, "componentName", true)
	if r.ComponentName != "" {
		if err := descriptor.ValidateComponentName(r.ComponentName); err != nil {
			p.fail(join(path, "componentName"), "%v", err)
		}
	}
	r.Digest = p.digest(join(path, "digest"), m["digest"])
	return r
}

// decodeYAML converts YAML (or JSON) to a generic JSON value whose numbers
// are json.Number, so that values are kept as written.
func decodeYAML(data []byte) (any, error) { return yamlutil.Decode(data, "constructor file") }
