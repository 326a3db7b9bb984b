package constructor

// Constructor sugar for image compatibility (NFD image-compatibility specs):
//
//	resources:
//	- name: app-image
//	  type: ociImage
//	  access: {...}
//	  compatibility: {file: spec.yaml}      # or {spec: <inline YAML object or string>}
//
// expands into an extra resource app-image-compat of type
// imageCompatibility whose blob is the spec, linked back by the signed
// label compatibility.ocm.software/subject: {name: app-image}. The spec is
// validated with the compat parser while the constructor is parsed.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/compat"
)

// compatField is the constructor-only resource field of the sugar.
const compatField = "compatibility"

// compatSuffix is appended to the constrained resource's name.
const compatSuffix = "-compat"

// generatedCompat remembers a generated resource, to attach its blob after parsing.
type generatedCompat struct {
	component int
	resource  int // index in the component's resource list after expansion
	blob      []byte
}

// parseWithCompat expands compatibility sugar, then parses as parse does.
// Constructors without the field take exactly the old path.
func parseWithCompat(data []byte, file, baseDir string, opts LoadOptions) (*Spec, error) {
	if !bytes.Contains(data, []byte(compatField)) {
		return parse(data, file, baseDir, opts)
	}
	expanded, errs := expandEnv(data, file, opts.env())
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	root, err := decodeYAML(expanded)
	if err != nil {
		return parse(data, file, baseDir, opts) // reports the error as usual
	}
	p := &parser{file: file, baseDir: baseDir}
	gen := expandCompat(p, root, baseDir)
	if len(p.errs) > 0 {
		return nil, joinErrors(p.errs)
	}
	if len(gen) == 0 {
		return parse(data, file, baseDir, opts)
	}
	// parse substitutes variables again: what was substituted is escaped,
	// so that a "$" in a value stays literal.
	js, err := json.Marshal(escapeDollars(root))
	if err != nil {
		return nil, &FieldError{File: file, Err: err}
	}
	spec, err := parse(js, file, baseDir, opts)
	if err != nil {
		return nil, err
	}
	for _, g := range gen {
		spec.Components[g.component].Resources[g.resource].compatBlob = g.blob
	}
	return spec, nil
}

// expandCompat removes the compatibility fields from the document and
// appends one generated resource per field to its component (at the end,
// so that the paths of the constructor's own resources stay as written).
func expandCompat(p *parser, root any, baseDir string) []generatedCompat {
	m, ok := root.(map[string]any)
	if !ok {
		return nil
	}
	type comp struct {
		path string
		m    map[string]any
	}
	var comps []comp
	if list, multi := m["components"].([]any); multi {
		for i, c := range list {
			if cm, ok := c.(map[string]any); ok {
				comps = append(comps, comp{fmt.Sprintf("components[%d]", i), cm})
			} else {
				comps = append(comps, comp{})
			}
		}
	} else if _, multi := m["components"]; !multi {
		comps = []comp{{"", m}}
	}
	var gen []generatedCompat
	for ci, c := range comps {
		if c.m == nil {
			continue
		}
		resources, ok := c.m["resources"].([]any)
		if !ok {
			continue
		}
		names := map[string]bool{}
		for _, rv := range resources {
			if rm, ok := rv.(map[string]any); ok {
				if n, ok := rm["name"].(string); ok {
					names[n] = true
				}
			}
		}
		var added []any
		for ri, rv := range resources {
			rm, ok := rv.(map[string]any)
			if !ok {
				continue
			}
			cv, has := rm[compatField]
			if !has {
				continue
			}
			delete(rm, compatField)
			rp := fmt.Sprintf("%s[%d]", join(c.path, "resources"), ri)
			name, _ := rm["name"].(string)
			if name == "" {
				continue // parse reports the missing name
			}
			blob, input := compatSpec(p, join(rp, compatField), cv, baseDir, name)
			if blob == nil {
				continue
			}
			genName := name + compatSuffix
			if names[genName] {
				p.fail(join(rp, compatField), "the generated resource %q clashes with a resource of that name; rename it or list the imageCompatibility resource yourself", genName)
				continue
			}
			names[genName] = true
			subject := map[string]any{"name": name}
			gr := map[string]any{
				"name":     genName,
				"type":     compat.ResourceType,
				"relation": "local",
				"labels":   []any{map[string]any{"name": compat.SubjectLabel, "value": subject, "signing": true}},
				"input":    input,
			}
			if v, ok := rm["version"]; ok {
				gr["version"] = v
			}
			if ei, ok := rm["extraIdentity"].(map[string]any); ok {
				// Same extra identity: variants of one image (e.g. per
				// architecture) get distinct, matching spec resources.
				gr["extraIdentity"] = maps.Clone(ei)
				for k, v := range ei {
					subject[k] = v
				}
			}
			added = append(added, gr)
			gen = append(gen, generatedCompat{component: ci, resource: len(resources) + len(added) - 1, blob: blob})
		}
		if len(added) > 0 {
			c.m["resources"] = append(resources, added...)
		}
	}
	return gen
}

// compatSpec reads and validates the spec of one compatibility field and
// returns its bytes (verbatim for files and inline strings) and the input
// that describes where they came from.
func compatSpec(p *parser, path string, v any, baseDir, resource string) ([]byte, map[string]any) {
	m, ok := p.object(path, v, []string{"file", "spec"})
	if !ok {
		return nil, nil
	}
	fv, sv := m["file"], m["spec"]
	var (
		data  []byte
		input map[string]any
		at    string
	)
	switch {
	case fv == nil && sv == nil:
		p.fail(path, "set file (a spec file) or spec (an inline spec)")
		return nil, nil
	case fv != nil && sv != nil:
		p.fail(path, "set either file or spec, not both")
		return nil, nil
	case fv != nil:
		at = join(path, "file")
		name, ok := fv.(string)
		if !ok || name == "" {
			p.fail(at, "must be a non-empty string (a path relative to the constructor file)")
			return nil, nil
		}
		full := filepath.FromSlash(name)
		if !filepath.IsAbs(full) {
			full = filepath.Join(baseDir, full)
		}
		f, err := os.Open(full)
		if err != nil {
			p.fail(at, "resource %q: %v", resource, err)
			return nil, nil
		}
		data, err = io.ReadAll(io.LimitReader(f, compat.MaxSpecSize+1))
		f.Close()
		if err != nil {
			p.fail(at, "resource %q: reading %s: %v", resource, full, err)
			return nil, nil
		}
		input = map[string]any{"type": "file", "path": full, "mediaType": compat.SpecMediaType}
	default:
		at = join(path, "spec")
		switch s := sv.(type) {
		case string:
			data = []byte(s)
		case map[string]any:
			js, err := json.Marshal(s)
			if err == nil {
				data, err = yaml.JSONToYAML(js)
			}
			if err != nil {
				p.fail(at, "resource %q: %v", resource, err)
				return nil, nil
			}
		default:
			p.fail(at, "must be a spec (a mapping, or YAML text), got %s", kindOf(sv))
			return nil, nil
		}
		// Describes the blob; Build stores the validated bytes themselves.
		input = map[string]any{"type": "utf8", "text": string(data)}
	}
	if _, err := compat.Parse(data); err != nil {
		msgs := strings.Split(err.Error(), "\n")
		p.fail(at, "resource %q: invalid image compatibility spec: %s", resource, strings.Join(msgs, "; "))
		return nil, nil
	}
	return data, input
}

// escapeDollars doubles every "$" in keys and strings.
func escapeDollars(v any) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, "$", "$$")
	case []any:
		out := slices.Clone(x)
		for i := range out {
			out[i] = escapeDollars(out[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[strings.ReplaceAll(k, "$", "$$")] = escapeDollars(e)
		}
		return out
	}
	return v
}

// openContent opens the resource's content: the validated spec bytes of a
// generated compatibility resource, else its input.
func (r *Resource) openContent(ctx context.Context) (*Content, error) {
	if r.compatBlob == nil {
		return r.OpenInput(ctx)
	}
	blob := r.compatBlob
	return &Content{
		MediaType: compat.SpecMediaType,
		Size:      int64(len(blob)),
		Open:      func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(blob)), nil },
	}, nil
}
