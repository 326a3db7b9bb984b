package normalisation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/ocmgo/ocm/descriptor"
)

// normaliseV1 is OCM v1's jsonNormalisation/v1: the entry format over the
// v2 serialisation (meta kept, sources dropped, extraIdentity forced to
// null), after the legacy extra-identity defaulting. Nulls are kept.
func normaliseV1(d *descriptor.Descriptor) ([]byte, error) {
	top, comp, err := descriptorMaps(d)
	if err != nil {
		return nil, err
	}
	delete(comp, "repositoryContexts")
	delete(comp, "sources")
	defaultLists(comp, "resources", "componentReferences")

	// OCM v1 writes the provider back as a bare name unless it has labels,
	// and then parses that string as JSON again.
	p := providerV1(d.Component.Provider)
	if len(p.Labels) > 0 {
		obj, err := providerObject(p)
		if err != nil {
			return nil, err
		}
		comp["provider"] = obj
	} else if m, ok := nameAsJSON(p.Name); ok {
		if err := applyLabels(m); err != nil {
			return nil, fmt.Errorf("provider: %w", err)
		}
		comp["provider"] = m
	} else {
		comp["provider"] = p.Name
	}
	if err := applyLabels(comp); err != nil {
		return nil, fmt.Errorf("component: %w", err)
	}

	resources := mapsOf(comp["resources"])
	defaultVersionIntoExtraIdentity(resources)
	for i, r := range resources {
		forceNull(r, "extraIdentity")
		dropNoneDigest(r)
		delete(r, "access")
		delete(r, "srcRefs")
		// relation is omitempty in OCM v1's v2 model.
		if r["relation"] == "" {
			delete(r, "relation")
		}
		if err := applyLabels(r); err != nil {
			return nil, fmt.Errorf("component.resources[%d]: %w", i, err)
		}
	}
	for i, ref := range mapsOf(comp["componentReferences"]) {
		forceNull(ref, "extraIdentity")
		if err := applyLabels(ref); err != nil {
			return nil, fmt.Errorf("component.componentReferences[%d]: %w", i, err)
		}
	}

	out := map[string]any{"component": comp}
	if meta, ok := top["meta"]; ok {
		out["meta"] = meta
	}
	var buf bytes.Buffer
	if err := writeEntries(&buf, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// forceNull sets m[key] to an explicit null when it is absent.
func forceNull(m map[string]any, key string) {
	if _, ok := m[key]; !ok {
		m[key] = nil
	}
}

// writeEntries writes v in the OCM entry format: an object becomes an array
// of single-member objects sorted by key (byte order), arrays keep their
// order, no whitespace. Scalars are encoded as OCM v1 does it, with
// json.Marshal: HTML characters escaped as \u003c etc., numbers as float64.
func writeEntries(buf *bytes.Buffer, v any) error {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		buf.WriteByte('[')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteByte('{')
			if err := writeScalar(buf, k); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := writeEntries(buf, t[k]); err != nil {
				return err
			}
			buf.WriteByte('}')
		}
		buf.WriteByte(']')
	case []any:
		buf.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeEntries(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case json.Number:
		// OCM v1 decodes numbers into float64 before writing them.
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return fmt.Errorf("number %s: %w", t, err)
		}
		return writeScalar(buf, f)
	default:
		return writeScalar(buf, t)
	}
	return nil
}

func writeScalar(buf *bytes.Buffer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}
