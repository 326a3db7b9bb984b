// Package resolve connects the controllers' objects to the OCM library: it
// builds the effective OCM configuration from ocmConfig references, checks
// component version graphs and their digests, looks up verification keys
// from verify[] entries, and selects resources in component versions.
package resolve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/repository"
)

// Default algorithms of component digests, as the reference writes them.
const (
	DefaultNormalisation = normalisation.JSONv4alpha1
	DefaultHash          = normalisation.SHA256
)

// DigestOf returns the digest of a digested descriptor (every resource and
// reference digest filled in, as integrity.VersionResult.Digested holds it)
// with the given algorithms.
func DigestOf(d *descriptor.Descriptor, norm, hash string) (*v1alpha1.DigestSpec, error) {
	spec, err := normalisation.Digest(d, norm, hash)
	if err != nil {
		return nil, fmt.Errorf("digest of %s:%s: %w", d.Component.Name, d.Component.Version, err)
	}
	return &v1alpha1.DigestSpec{HashAlgorithm: spec.HashAlgorithm, NormalisationAlgorithm: spec.NormalisationAlgorithm, Value: spec.Value}, nil
}

// ErrIntegrity marks content that does not match its recorded digests:
// retrying does not help, new content does.
var ErrIntegrity = errors.New("integrity check failed")

// Graph is a component version checked together with everything it
// references: every reference digest was recomputed from the referenced
// version, so a version reached through a reference path is the one the
// root's digest (and signature) covers.
type Graph struct {
	Root   *integrity.VersionResult
	engine *integrity.Engine
}

// CheckGraph loads component:version and checks its reference digests
// recursively (resource digests as recorded; content is checked separately).
func CheckGraph(ctx context.Context, repo repository.Repository, component, version string) (*Graph, error) {
	e := integrity.NewEngine(repo, integrity.Options{})
	res, err := e.Version(ctx, component, version)
	if err != nil {
		return nil, err
	}
	if res.Err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIntegrity, e.Err())
	}
	return &Graph{Root: res, engine: e}, nil
}

// Follow walks path (component reference identities) from the root and
// returns the version at its end together with the reference that led there
// (nil for an empty path).
func (g *Graph) Follow(path []v1alpha1.Identity) (*integrity.VersionResult, *descriptor.Reference, error) {
	cur := g.Root
	var via *descriptor.Reference
	for i, sel := range path {
		cd := cur.Digested
		var matches []int
		for j, id := range cd.Component.ReferenceIdentities() {
			full := maps.Clone(id)
			if _, ok := full["version"]; !ok {
				full["version"] = cd.Component.References[j].Version
			}
			if full.Matches(descriptor.Identity(sel)) {
				matches = append(matches, j)
			}
		}
		switch len(matches) {
		case 0:
			return nil, nil, fmt.Errorf("referencePath[%d] %s: no such component reference in %s:%s", i, descriptor.Identity(sel), cd.Component.Name, cd.Component.Version)
		case 1:
		default:
			return nil, nil, fmt.Errorf("referencePath[%d] %s: %d component references of %s:%s match; add identity attributes", i, descriptor.Identity(sel), len(matches), cd.Component.Name, cd.Component.Version)
		}
		ref := &cd.Component.References[matches[0]]
		next, ok := g.engine.Results()[ref.ComponentName+":"+ref.Version]
		if !ok {
			return nil, nil, fmt.Errorf("referencePath[%d]: %s:%s was not checked", i, ref.ComponentName, ref.Version)
		}
		cur, via = next, ref
	}
	return cur, via, nil
}

// SelectResource returns the index of the one resource of cd that id
// selects: by reference, the resources whose identity (plus version)
// includes every given attribute; by selector, those matching identity
// attributes, labels and type as well.
func SelectResource(cd *descriptor.Descriptor, id v1alpha1.ResourceID) (int, error) {
	var candidates []int
	var what string
	switch {
	case id.ByReference != nil:
		if len(id.ByReference.Resource) == 0 {
			return 0, fmt.Errorf("byReference.resource is empty")
		}
		candidates = cd.Component.SelectResources(descriptor.Identity(id.ByReference.Resource))
		what = "resource " + descriptor.Identity(id.ByReference.Resource).String()
	case id.BySelector != nil:
		sel := id.BySelector
		for _, i := range cd.Component.SelectResources(descriptor.Identity(sel.MatchIdentity)) {
			r := cd.Component.Resources[i]
			if sel.Type != "" && r.Type != sel.Type {
				continue
			}
			if !labelsMatch(r.Labels, sel.MatchLabels) {
				continue
			}
			candidates = append(candidates, i)
		}
		what = describeSelector(sel)
	default:
		return 0, fmt.Errorf("neither byReference nor bySelector given")
	}
	where := cd.Component.Name + ":" + cd.Component.Version
	switch len(candidates) {
	case 0:
		return 0, fmt.Errorf("%s: not found in %s", what, where)
	case 1:
		return candidates[0], nil
	}
	ids := cd.Component.ResourceIdentities()
	names := make([]string, len(candidates))
	for i, c := range candidates {
		names[i] = ids[c].String()
	}
	return 0, fmt.Errorf("%s: %d resources of %s match (%s); make the selection unique", what, len(candidates), where, strings.Join(names, "; "))
}

func describeSelector(sel *v1alpha1.ResourceSelector) string {
	var parts []string
	if len(sel.MatchIdentity) > 0 {
		parts = append(parts, "identity "+descriptor.Identity(sel.MatchIdentity).String())
	}
	if len(sel.MatchLabels) > 0 {
		parts = append(parts, "labels "+descriptor.Identity(sel.MatchLabels).String())
	}
	if sel.Type != "" {
		parts = append(parts, "type "+sel.Type)
	}
	return "resource selector (" + strings.Join(parts, ", ") + ")"
}

// labelsMatch reports whether every wanted label is present with the value:
// a JSON string equal to it, or JSON text equal to it.
func labelsMatch(labels []descriptor.Label, want map[string]string) bool {
	for name, value := range want {
		found := false
		for _, l := range labels {
			if l.Name != name {
				continue
			}
			var s string
			if json.Unmarshal(l.Value, &s) == nil && s == value {
				found = true
			} else if bytes.Equal(bytes.TrimSpace(l.Value), []byte(value)) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// ResourceInfo converts a descriptor resource into its status form.
func ResourceInfo(r *descriptor.Resource) (*v1alpha1.ResourceInfo, error) {
	info := &v1alpha1.ResourceInfo{Name: r.Name, Type: r.Type, Version: r.Version, ExtraIdentity: r.ExtraIdentity}
	if r.Access != nil {
		raw, err := r.Access.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("resource %s access: %w", r.Name, err)
		}
		info.Access.Raw = raw
	}
	if r.Digest != nil {
		info.Digest = &v1alpha1.DigestSpec{HashAlgorithm: r.Digest.HashAlgorithm, NormalisationAlgorithm: r.Digest.NormalisationAlgorithm, Value: r.Digest.Value}
	}
	for _, l := range r.Labels {
		sl := v1alpha1.Label{Name: l.Name, Version: l.Version, Signing: bool(l.Signing)}
		sl.Value.Raw = l.Value
		if l.Merge != nil {
			sl.Merge = &v1alpha1.MergeAlgorithmSpecification{Algorithm: l.Merge.Algorithm}
			if len(l.Merge.Config) > 0 {
				sl.Merge.Config = &apiextensionsv1.JSON{Raw: l.Merge.Config}
			}
		}
		info.Labels = append(info.Labels, sl)
	}
	return info, nil
}
