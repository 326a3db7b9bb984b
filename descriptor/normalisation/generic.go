package normalisation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ocmgo/ocm/descriptor"
)

// The generic representation: map[string]any, []any, string, json.Number,
// bool and nil, as json.Decoder with UseNumber produces it. Numbers stay
// json.Number so that each serialiser formats them the way its reference does.

// toGeneric marshals v and decodes it into the generic representation.
func toGeneric(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeGeneric(data)
}

func decodeGeneric(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON value")
	}
	return out, nil
}

// descriptorMaps returns the generic descriptor and its component.
func descriptorMaps(d *descriptor.Descriptor) (top, comp map[string]any, err error) {
	g, err := toGeneric(d)
	if err != nil {
		return nil, nil, err
	}
	top, ok := g.(map[string]any)
	if !ok {
		return nil, nil, errors.New("descriptor is not a JSON object")
	}
	comp, ok = top["component"].(map[string]any)
	if !ok {
		return nil, nil, errors.New("component is not a JSON object")
	}
	return top, comp, nil
}

// defaultLists turns absent or null element lists into empty ones, as both
// references do before normalising.
func defaultLists(comp map[string]any, keys ...string) {
	for _, k := range keys {
		if comp[k] == nil {
			comp[k] = []any{}
		}
	}
}

// filterLabels keeps the signing-relevant labels (signing is true or "true"),
// each reduced to name, version, value and signing. keep is false when no
// label survives: the key is then omitted, not written as [].
func filterLabels(v any) (out any, keep bool, err error) {
	switch list := v.(type) {
	case nil:
		// Only the v1 reference ever sees an explicit null here; it keeps it.
		return nil, true, nil
	case []any:
		var kept []any
		for _, e := range list {
			l, ok := e.(map[string]any)
			if !ok || !isSigning(l["signing"]) {
				continue
			}
			r := map[string]any{}
			for _, k := range []string{"name", "version", "value", "signing"} {
				if lv, ok := l[k]; ok {
					r[k] = lv
				}
			}
			kept = append(kept, r)
		}
		if len(kept) == 0 {
			return nil, false, nil
		}
		return kept, true, nil
	case map[string]any:
		// The references panic on this; it cannot come from the model.
		return nil, false, errors.New("labels must be a list, got an object")
	default:
		// The references pass a scalar through untouched.
		return v, true, nil
	}
}

func isSigning(v any) bool {
	return v == true || v == "true"
}

// applyLabels replaces m["labels"] with its filtered form.
func applyLabels(m map[string]any) error {
	v, ok := m["labels"]
	if !ok {
		return nil
	}
	out, keep, err := filterLabels(v)
	if err != nil {
		return err
	}
	if keep {
		m["labels"] = out
	} else {
		delete(m, "labels")
	}
	return nil
}

// dropNoneDigest removes the digest of a resource whose access type is
// exactly none or None. Both references compare the raw type string, so
// "none/v1" keeps its digest.
func dropNoneDigest(res map[string]any) {
	access, ok := res["access"].(map[string]any)
	if !ok {
		return
	}
	if t, ok := access["type"].(string); ok && (t == descriptor.AccessTypeNone || t == descriptor.AccessTypeNoneLegacy) {
		delete(res, "digest")
	}
}

// mapsOf returns the elements of a generic list that are objects.
func mapsOf(v any) []map[string]any {
	list, _ := v.([]any)
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// defaultVersionIntoExtraIdentity is OCM v1's legacy defaulting (v1 and v2
// only): a resource whose name and extraIdentity equal those of another
// resource gets extraIdentity.version = its version. It runs in order and
// mutates in place, so the last of a clashing group stays unchanged.
func defaultVersionIntoExtraIdentity(resources []map[string]any) {
	for i, ri := range resources {
		for j, rj := range resources {
			if i == j || ri["name"] != rj["name"] || !sameIdentity(ri["extraIdentity"], rj["extraIdentity"]) {
				continue
			}
			eid, _ := ri["extraIdentity"].(map[string]any)
			if eid == nil {
				eid = map[string]any{}
			}
			v, _ := ri["version"].(string)
			eid["version"] = v
			ri["extraIdentity"] = eid
			break
		}
	}
}

func sameIdentity(a, b any) bool {
	ma, _ := a.(map[string]any)
	mb, _ := b.(map[string]any)
	if len(ma) != len(mb) {
		return false
	}
	for k, v := range ma {
		w, ok := mb[k]
		if !ok || v != w {
			return false
		}
	}
	return true
}

// providerFields is the provider as both references read it from the v2
// provider string: only name and labels survive.
type providerFields struct {
	Name   string             `json:"name"`
	Labels []descriptor.Label `json:"labels,omitempty"`
}

// providerV1 reads the provider the way OCM v1 converts the v2 string: any
// string that unmarshals into {name, labels} is that object (even "null"),
// anything else is the name.
func providerV1(p descriptor.Provider) providerFields {
	var obj providerFields
	if err := json.Unmarshal([]byte(p), &obj); err != nil {
		return providerFields{Name: string(p)}
	}
	return obj
}

// providerV2 reads the provider the way OCM v2 converts the v2 string: only a
// string starting with "{" is JSON, and then it must be a valid object.
func providerV2(p descriptor.Provider) (providerFields, error) {
	s := string(p)
	if !strings.HasPrefix(strings.TrimSpace(s), "{") {
		return providerFields{Name: s}, nil
	}
	var obj providerFields
	if err := json.Unmarshal([]byte(s), &obj); err != nil {
		return providerFields{}, fmt.Errorf("provider: invalid JSON object: %w", err)
	}
	return obj, nil
}

// nameAsJSON is a quirk of both references: a provider without labels is
// written back as its bare name and then parsed as JSON again, so a name
// that is itself a JSON object (or "null") turns into that object.
func nameAsJSON(name string) (map[string]any, bool) {
	g, err := decodeGeneric([]byte(name))
	if err != nil {
		return nil, false
	}
	switch m := g.(type) {
	case nil:
		return map[string]any{}, true
	case map[string]any:
		return m, true
	}
	return nil, false
}

// providerObject is {name, labels?} with labels filtered.
func providerObject(p providerFields) (map[string]any, error) {
	m := map[string]any{"name": p.Name}
	if len(p.Labels) > 0 {
		labels, err := toGeneric(p.Labels)
		if err != nil {
			return nil, fmt.Errorf("provider labels: %w", err)
		}
		m["labels"] = labels
		if err := applyLabels(m); err != nil {
			return nil, fmt.Errorf("provider: %w", err)
		}
	}
	return m, nil
}
