package constructor

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/ocmgo/ocm/compat"
	"github.com/ocmgo/ocm/descriptor"
)

// SpecFetcher returns the compatibility spec attached to an image in its
// registry (referrer.FetchImageSpec), found false when it has none.
type SpecFetcher func(ctx context.Context, imageReference string) (spec []byte, found bool, err error)

// ImportCompatibility adds, for each ociImage resource with an OCI registry
// access and no compatibility spec in the constructor, the newest spec
// attached to that image as an imageCompatibility resource <name>-compat
// (the same resource the compatibility sugar makes). It returns what was
// imported, as "component resource <- image" lines.
func ImportCompatibility(ctx context.Context, spec *Spec, fetch SpecFetcher) ([]string, error) {
	var imported []string
	for ci := range spec.Components {
		c := &spec.Components[ci]
		names := map[string]bool{}
		constrained := map[string]bool{}
		for _, r := range c.Resources {
			names[r.Name] = true
			if r.Type != compat.ResourceType {
				continue
			}
			for _, l := range r.Labels {
				var sel map[string]string
				if l.Name == compat.SubjectLabel && json.Unmarshal(l.Value, &sel) == nil {
					constrained[sel["name"]] = true
				}
			}
		}
		n := len(c.Resources)
		for ri := 0; ri < n; ri++ {
			r := c.Resources[ri]
			if r.Type != compat.ImageResourceType || !r.Access.IsOCIArtifact() || constrained[r.Name] || names[r.Name+compatSuffix] {
				continue
			}
			acc, err := r.Access.OCIArtifact()
			if err != nil {
				return imported, fmt.Errorf("component %s resource %s: %w", c.Name, r.Name, err)
			}
			data, found, err := fetch(ctx, acc.ImageReference)
			if err != nil {
				return imported, fmt.Errorf("component %s resource %s: importing the compatibility spec of %s: %w", c.Name, r.Name, acc.ImageReference, err)
			}
			if !found {
				continue
			}
			if _, err := compat.Parse(data); err != nil {
				return imported, fmt.Errorf("component %s resource %s: compatibility spec of %s: %w", c.Name, r.Name, acc.ImageReference, err)
			}
			subject := map[string]string{"name": r.Name}
			maps.Copy(subject, r.ExtraIdentity)
			value, _ := json.Marshal(subject)
			gen := Resource{Type: compat.ResourceType, Relation: "local", compatBlob: data}
			gen.Name, gen.Version, gen.ExtraIdentity = r.Name+compatSuffix, r.Version, maps.Clone(r.ExtraIdentity)
			gen.Labels = []descriptor.Label{{Name: compat.SubjectLabel, Value: value, Signing: true}}
			c.Resources = append(c.Resources, gen)
			names[gen.Name] = true
			imported = append(imported, fmt.Sprintf("%s:%s resource %s <- %s", c.Name, c.Version, gen.Name, acc.ImageReference))
		}
	}
	return imported, nil
}
