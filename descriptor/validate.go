package descriptor

import (
	"fmt"
	"regexp"
	"strings"
)

// Patterns from the component descriptor v2 JSON schema.
var (
	ComponentNameRE  = regexp.MustCompile(`^[a-z][-a-z0-9]*([.][a-z][-a-z0-9]*)*[.][a-z]{2,}(/[a-z][-a-z0-9_]*([.][a-z][-a-z0-9_]*)*)+$`)
	RelaxedSemverRE  = regexp.MustCompile(`^[v]?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
	IdentityKeyRE    = regexp.MustCompile(`^[a-z0-9]([-_+a-z0-9]*[a-z0-9])?$`)
	typeRE           = regexp.MustCompile(`^([a-zA-Z0-9][a-zA-Z0-9.]*)(?:/(v[0-9]+(?:alpha[0-9]+|beta[0-9]+)?))?`)
	labelVersionRE   = regexp.MustCompile(`^v[0-9]+$`)
	mergeAlgorithmRE = regexp.MustCompile(`^[a-z][a-z0-9/_-]+$`)
)

// MaxComponentNameLength is the schema's maxLength for component names.
const MaxComponentNameLength = 255

// FieldError is a problem with one field, named by its path in the descriptor.
type FieldError struct {
	Path    string
	Message string
}

func (e FieldError) Error() string { return e.Path + ": " + e.Message }

// ValidationError lists every problem found in a descriptor.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		msgs[i] = fe.Error()
	}
	return "invalid component descriptor: " + strings.Join(msgs, "; ")
}

type validator struct{ errs []FieldError }

func (v *validator) addf(path, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// ValidateComponentName checks a component name against the schema.
func ValidateComponentName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("must not be empty")
	case len(name) > MaxComponentNameLength:
		return fmt.Errorf("%q is longer than %d characters", name, MaxComponentNameLength)
	case !ComponentNameRE.MatchString(name):
		return fmt.Errorf("%q does not match %s (a DNS domain followed by at least one path segment, lower case)", name, ComponentNameRE)
	}
	return nil
}

// ValidateVersion checks a version against the schema's relaxed semver.
func ValidateVersion(version string) error {
	if version == "" {
		return fmt.Errorf("must not be empty")
	}
	if !RelaxedSemverRE.MatchString(version) {
		return fmt.Errorf("%q is not a (relaxed) semantic version", version)
	}
	return nil
}

// Validate checks the descriptor against the v2 schema rules and the
// identity rules. The error is a *ValidationError naming every bad field.
func Validate(d *Descriptor) error {
	v := &validator{}
	if d.Meta.SchemaVersion != SchemaVersion {
		v.addf("meta.schemaVersion", "must be %q, got %q", SchemaVersion, d.Meta.SchemaVersion)
	}
	c := &d.Component
	if err := ValidateComponentName(c.Name); err != nil {
		v.addf("component.name", "%v", err)
	}
	if err := ValidateVersion(c.Version); err != nil {
		v.addf("component.version", "%v", err)
	}
	v.provider("component.provider", c.Provider)
	v.labels("component.labels", c.Labels)
	for i, rc := range c.RepositoryContexts {
		if rc.Type == "" {
			v.addf(fmt.Sprintf("component.repositoryContexts[%d].type", i), "must not be empty")
		}
	}
	for i := range c.Resources {
		r := &c.Resources[i]
		p := fmt.Sprintf("component.resources[%d]", i)
		v.element(p, &r.ElementMeta, true)
		v.artifactType(p+".type", r.Type)
		if r.Relation != "local" && r.Relation != "external" {
			v.addf(p+".relation", "must be local or external, got %q", r.Relation)
		}
		v.access(p+".access", r.Access)
		if r.Digest != nil {
			v.digest(p+".digest", r.Digest)
			if r.Access.IsNone() {
				v.addf(p+".digest", "a resource with access type %s has no content and must not have a digest", r.Access.Type)
			}
		}
		for j, sr := range r.SrcRefs {
			v.labels(fmt.Sprintf("%s.srcRefs[%d].labels", p, j), sr.Labels)
		}
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		p := fmt.Sprintf("component.sources[%d]", i)
		v.element(p, &s.ElementMeta, true)
		v.artifactType(p+".type", s.Type)
		v.access(p+".access", s.Access)
	}
	for i := range c.References {
		r := &c.References[i]
		p := fmt.Sprintf("component.componentReferences[%d]", i)
		v.element(p, &r.ElementMeta, true)
		if err := ValidateComponentName(r.ComponentName); err != nil {
			v.addf(p+".componentName", "%v", err)
		}
		if r.Digest != nil {
			v.digest(p+".digest", r.Digest)
		}
	}
	v.unique("component.resources", c.ResourceIdentities())
	v.unique("component.sources", c.SourceIdentities())
	v.unique("component.componentReferences", c.ReferenceIdentities())

	seen := map[string]int{}
	for i, s := range d.Signatures {
		p := fmt.Sprintf("signatures[%d]", i)
		if s.Name == "" {
			v.addf(p+".name", "must not be empty")
		} else if j, dup := seen[s.Name]; dup {
			v.addf(p+".name", "duplicate signature name %q (also signatures[%d])", s.Name, j)
		} else {
			seen[s.Name] = i
		}
		v.digest(p+".digest", &s.Digest)
		if s.Signature.Algorithm == "" {
			v.addf(p+".signature.algorithm", "must not be empty")
		}
		if s.Signature.Value == "" {
			v.addf(p+".signature.value", "must not be empty")
		}
		if s.Signature.MediaType == "" {
			v.addf(p+".signature.mediaType", "must not be empty")
		}
	}
	if len(v.errs) > 0 {
		return &ValidationError{Errors: v.errs}
	}
	return nil
}

func (v *validator) provider(path string, p Provider) {
	if strings.TrimSpace(string(p)) == "" {
		v.addf(path, "must not be empty")
		return
	}
	if !p.IsObject() {
		return
	}
	obj, err := p.Object()
	if err != nil {
		v.addf(path, "%v", err)
		return
	}
	if obj.Name == "" {
		v.addf(path+".name", "must not be empty")
	}
	v.labels(path+".labels", obj.Labels)
}

func (v *validator) element(path string, m *ElementMeta, versionRequired bool) {
	switch {
	case m.Name == "":
		v.addf(path+".name", "must not be empty")
	case len(m.Name) < 2:
		v.addf(path+".name", "%q is shorter than 2 characters", m.Name)
	case !IdentityKeyRE.MatchString(m.Name):
		v.addf(path+".name", "%q does not match %s", m.Name, IdentityKeyRE)
	}
	if m.Version != "" || versionRequired {
		if err := ValidateVersion(m.Version); err != nil {
			v.addf(path+".version", "%v", err)
		}
	}
	for k := range m.ExtraIdentity {
		switch {
		case k == "name":
			v.addf(path+".extraIdentity", "key %q is reserved for the element name", k)
		case !IdentityKeyRE.MatchString(k):
			v.addf(path+".extraIdentity", "key %q does not match %s", k, IdentityKeyRE)
		}
	}
	v.labels(path+".labels", m.Labels)
}

func (v *validator) artifactType(path, t string) {
	if t == "" {
		v.addf(path, "must not be empty")
	} else if !typeRE.MatchString(t) {
		v.addf(path, "%q is not a valid type", t)
	}
}

func (v *validator) access(path string, a *Typed) {
	if a == nil {
		v.addf(path, "must be set")
		return
	}
	if a.Type == "" {
		v.addf(path+".type", "must not be empty")
		return
	}
	if a.IsLocalBlob() {
		if _, err := a.LocalBlob(); err != nil {
			v.addf(path, "%v", err)
		}
	}
}

func (v *validator) digest(path string, d *DigestSpec) {
	if d.HashAlgorithm == "" {
		v.addf(path+".hashAlgorithm", "must not be empty")
	}
	if d.NormalisationAlgorithm == "" {
		v.addf(path+".normalisationAlgorithm", "must not be empty")
	}
	if d.Value == "" {
		v.addf(path+".value", "must not be empty")
	}
}

func (v *validator) labels(path string, labels []Label) {
	seen := map[string]int{}
	for i, l := range labels {
		p := fmt.Sprintf("%s[%d]", path, i)
		if l.Name == "" {
			v.addf(p+".name", "must not be empty")
		} else if j, dup := seen[l.Name]; dup {
			v.addf(p+".name", "duplicate label %q (also %s[%d])", l.Name, path, j)
		} else {
			seen[l.Name] = i
		}
		if len(l.Value) == 0 {
			v.addf(p+".value", "must be set")
		}
		if l.Version != "" && !labelVersionRE.MatchString(l.Version) {
			v.addf(p+".version", "%q does not match %s", l.Version, labelVersionRE)
		}
		if l.Merge != nil && l.Merge.Algorithm != "" && !mergeAlgorithmRE.MatchString(l.Merge.Algorithm) {
			v.addf(p+".merge.algorithm", "%q does not match %s", l.Merge.Algorithm, mergeAlgorithmRE)
		}
	}
}

func (v *validator) unique(path string, ids []Identity) {
	first := map[string]int{}
	for i, id := range ids {
		key := id.key()
		if j, dup := first[key]; dup {
			v.addf(fmt.Sprintf("%s[%d]", path, i), "duplicate identity %s (same as %s[%d])", id, path, j)
			continue
		}
		first[key] = i
	}
}
