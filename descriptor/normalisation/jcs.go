package normalisation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gowebpki/jcs"

	"github.com/ocmgo/ocm/descriptor"
)

// normaliseV4 is jsonNormalisation/v3 and /v4alpha1 as OCM v2 implements
// them (v3 is mapped to v4alpha1 there): no defaulting, provider always an
// object, componentReferences kept whole, null map entries dropped.
func normaliseV4(d *descriptor.Descriptor) ([]byte, error) {
	_, comp, err := descriptorMaps(d)
	if err != nil {
		return nil, err
	}
	delete(comp, "repositoryContexts")
	defaultLists(comp, "resources", "sources", "componentReferences")

	provider, err := providerForV4(d.Component.Provider)
	if err != nil {
		return nil, err
	}
	comp["provider"] = provider
	if err := applyLabels(comp); err != nil {
		return nil, fmt.Errorf("component: %w", err)
	}
	if err := jcsResourcesAndSources(comp); err != nil {
		return nil, err
	}
	// The rule for references is keyed on "references", which a v2
	// descriptor does not have, so they are kept unfiltered. OCM v2's
	// reference digest is a struct, never absent.
	for _, ref := range mapsOf(comp["componentReferences"]) {
		if ref["digest"] == nil {
			ref["digest"] = map[string]any{"hashAlgorithm": "", "normalisationAlgorithm": "", "value": ""}
		}
	}
	out := dropNullEntries(map[string]any{"component": comp})
	return canonicalJSON(out)
}

func providerForV4(p descriptor.Provider) (map[string]any, error) {
	obj, err := providerV2(p)
	if err != nil {
		return nil, err
	}
	if obj.Name == "" {
		return nil, errors.New("provider name is empty")
	}
	if obj.Labels != nil {
		return providerObject(obj)
	}
	if m, ok := nameAsJSON(obj.Name); ok {
		if err := applyLabels(m); err != nil {
			return nil, fmt.Errorf("provider: %w", err)
		}
		return m, nil
	}
	return map[string]any{"name": obj.Name}, nil
}

// normaliseV2 is OCM v1's jsonNormalisation/v2: JCS of its internal model
// after the legacy extra-identity defaulting. Nulls are kept.
func normaliseV2(d *descriptor.Descriptor) ([]byte, error) {
	_, comp, err := descriptorMaps(d)
	if err != nil {
		return nil, err
	}
	delete(comp, "repositoryContexts")
	defaultLists(comp, "resources", "sources", "componentReferences")
	resources := mapsOf(comp["resources"])
	defaultVersionIntoExtraIdentity(resources)
	for _, r := range resources {
		// relation is omitempty in OCM v1's model.
		if r["relation"] == "" {
			delete(r, "relation")
		}
	}

	provider, err := providerObject(providerV1(d.Component.Provider))
	if err != nil {
		return nil, err
	}
	comp["provider"] = provider
	if err := applyLabels(comp); err != nil {
		return nil, fmt.Errorf("component: %w", err)
	}
	if err := jcsResourcesAndSources(comp); err != nil {
		return nil, err
	}
	// componentReferences: kept as they are, see normaliseV4.
	return canonicalJSON(map[string]any{"component": comp})
}

// jcsResourcesAndSources applies the element rules shared by v2–v4alpha1.
func jcsResourcesAndSources(comp map[string]any) error {
	for i, r := range mapsOf(comp["resources"]) {
		dropNoneDigest(r)
		delete(r, "access")
		delete(r, "srcRefs")
		if err := applyLabels(r); err != nil {
			return fmt.Errorf("component.resources[%d]: %w", i, err)
		}
	}
	for i, s := range mapsOf(comp["sources"]) {
		delete(s, "access")
		if err := applyLabels(s); err != nil {
			return fmt.Errorf("component.sources[%d]: %w", i, err)
		}
	}
	return nil
}

// dropNullEntries removes null-valued object members at every level, as
// OCM v2 does; null array elements stay.
func dropNullEntries(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e == nil {
				delete(t, k)
				continue
			}
			t[k] = dropNullEntries(e)
		}
	case []any:
		for i, e := range t {
			t[i] = dropNullEntries(e)
		}
	}
	return v
}

// canonicalJSON serialises the generic value as RFC 8785 JCS: the references
// encode with encoding/json (no HTML escaping) and canonicalise the result,
// which sorts keys by UTF-16 code units and writes numbers in ES6 form.
func canonicalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out, err := jcs.Transform(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("canonicalising JSON: %w", err)
	}
	return out, nil
}
