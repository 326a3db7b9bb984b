package ocimap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
)

// ArtifactTypeComponentIndex is the artifactType of the OCM Component
// Index: a fixed, empty manifest in every component repository that
// component versions name as their OCI subject, so that a registry's
// referrers API lists all versions of a component.
const ArtifactTypeComponentIndex = "application/vnd.ocm.software.component-index.v1+json"

// componentIndexManifest is the Component Index byte for byte: the spec
// fixes its digest (sha256:9717cda4…) and size (837), so it must never
// change.
var componentIndexManifest, _ = json.Marshal(ocispec.Manifest{
	Versioned:    specs.Versioned{SchemaVersion: 2},
	MediaType:    ocispec.MediaTypeImageManifest,
	ArtifactType: ArtifactTypeComponentIndex,
	Config:       ocispec.DescriptorEmptyJSON,
	Layers:       []ocispec.Descriptor{ocispec.DescriptorEmptyJSON},
	Annotations: map[string]string{
		ocispec.AnnotationDescription: "This is an OCM component index. It is an empty jsonthat can be used as referrer for OCM component descriptors. It is used as a subjectfor all OCM Component Version Top-Level Manifests and can be used to reference back allOCM Component Versions",
		ocispec.AnnotationTitle:       "OCM Component Index V1",
	},
})

// ComponentIndex is the descriptor of the Component Index.
var ComponentIndex = ocispec.Descriptor{
	MediaType:    ocispec.MediaTypeImageManifest,
	ArtifactType: ArtifactTypeComponentIndex,
	Digest:       digest.FromBytes(componentIndexManifest),
	Size:         int64(len(componentIndexManifest)),
}

// ReferrerLister is a store that lists the manifests whose subject is a
// given descriptor (OCI registries: the referrers API with oras' tag-schema
// fallback).
type ReferrerLister interface {
	Referrers(ctx context.Context, repository string, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error)
}

// Unwrap returns the store below wrappers (repository.OpenStore wraps
// registries with a name and a closer) that implement Unwrap, so that
// optional interfaces such as ReferrerLister are found.
func Unwrap(store Store) Store {
	for {
		u, ok := store.(interface{ Unwrap() Store })
		if !ok {
			return store
		}
		store = u.Unwrap()
	}
}

// EnsureComponentIndex stores the Component Index (and the empty blob it
// references) in repository unless it is there; it is never rewritten.
func EnsureComponentIndex(ctx context.Context, store WriteStore, repository string) error {
	empty := ocispec.DescriptorEmptyJSON
	empty.Data = nil
	for _, n := range []struct {
		desc ocispec.Descriptor
		data []byte
	}{{empty, ocispec.DescriptorEmptyJSON.Data}, {ComponentIndex, componentIndexManifest}} {
		ok, err := store.Exists(ctx, repository, n.desc)
		if err != nil {
			return err
		}
		if !ok {
			if err := store.Push(ctx, repository, n.desc, bytes.NewReader(n.data)); err != nil {
				return err
			}
		}
	}
	return nil
}

// referredVersions lists the versions of component whose top-level
// manifest or index names the Component Index as subject, with their
// descriptors, when the store can list referrers. Registries that know
// nothing of the index answer with an empty list.
func (r *Repository) referredVersions(ctx context.Context, component string) (map[string]ocispec.Descriptor, error) {
	rl, ok := Unwrap(r.store).(ReferrerLister)
	if !ok {
		return nil, nil
	}
	refs, err := rl.Referrers(ctx, RepositoryName(component), ComponentIndex, "")
	if err != nil {
		if errors.Is(err, errdef.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	out := map[string]ocispec.Descriptor{}
	for _, d := range refs {
		if v, ok := strings.CutPrefix(d.Annotations[AnnotationComponentVersion], component+":"); ok && v != "" {
			out[v] = d
		}
	}
	return out, nil
}
