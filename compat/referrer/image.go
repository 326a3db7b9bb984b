package referrer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/ocmgo/ocm/compat"
	"github.com/ocmgo/ocm/repository/oci"
)

// ErrNoArtifact: the image has no compatibility referrer.
var ErrNoArtifact = errors.New("compatibility artifact not found")

// ImageArtifact is the compatibility spec attached to an image.
type ImageArtifact struct {
	// Subject is the image (manifest or index) the spec is attached to.
	Subject ocispec.Descriptor
	// Artifact is the referrer manifest that carries the spec.
	Artifact ocispec.Descriptor
	// Data is the spec, verbatim (layers[0] of the artifact).
	Data []byte
	Spec *compat.Spec
}

// FetchImageSpec finds the compatibility spec attached to an image as NFD
// does: the referrers of artifactType compat.ArtifactType (referrers API or tag
// schema), the newest by the created annotation (missing sorts oldest), its
// first layer. Every manifest and blob read is digest-verified.
func FetchImageSpec(ctx context.Context, reg *oci.Registry, repository, reference string, platform *ocispec.Platform) (*ImageArtifact, error) {
	if reference == "" {
		reference = "latest"
	}
	subject, err := reg.ResolveImage(ctx, repository, reference, platform)
	if err != nil {
		return nil, err
	}
	refs, err := reg.Referrers(ctx, repository, subject, compat.ArtifactType)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("%s: %w (no referrer with artifactType %s)", subject.Digest, ErrNoArtifact, compat.ArtifactType)
	}
	// Registries should copy the manifest's annotations into the referrers
	// list; where one did not, the (small) manifest itself says when it
	// was created.
	for i := range refs {
		if refs[i].Annotations[compat.CreatedAnnotation] != "" {
			continue
		}
		raw, err := fetchVerified(ctx, reg, repository, refs[i], 4<<20)
		if err != nil {
			return nil, fmt.Errorf("compatibility artifact %s: %w", refs[i].Digest, err)
		}
		var m ocispec.Manifest
		if json.Unmarshal(raw, &m) == nil && m.Annotations[compat.CreatedAnnotation] != "" {
			refs[i].Annotations = m.Annotations
		}
	}
	created := func(d ocispec.Descriptor) time.Time {
		t, _ := time.Parse(time.RFC3339, d.Annotations[compat.CreatedAnnotation])
		return t
	}
	sort.SliceStable(refs, func(i, j int) bool { return created(refs[i]).After(created(refs[j])) })
	art := refs[0]
	raw, err := fetchVerified(ctx, reg, repository, art, 4<<20)
	if err != nil {
		return nil, fmt.Errorf("compatibility artifact %s: %w", art.Digest, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("compatibility artifact %s: %w", art.Digest, err)
	}
	if len(m.Layers) == 0 {
		return nil, fmt.Errorf("compatibility artifact %s has no layers", art.Digest)
	}
	data, err := fetchVerified(ctx, reg, repository, m.Layers[0], compat.MaxSpecSize)
	if err != nil {
		return nil, fmt.Errorf("compatibility artifact %s: spec layer: %w", art.Digest, err)
	}
	spec, err := compat.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("compatibility artifact %s: invalid spec: %w", art.Digest, err)
	}
	return &ImageArtifact{Subject: subject, Artifact: art, Data: data, Spec: spec}, nil
}

// fetchVerified reads a blob or manifest, checking its size and digest.
func fetchVerified(ctx context.Context, reg *oci.Registry, repo string, desc ocispec.Descriptor, max int64) ([]byte, error) {
	if desc.Size > max {
		return nil, fmt.Errorf("%s is %d bytes, more than %d", desc.Digest, desc.Size, max)
	}
	rc, err := reg.Fetch(ctx, repo, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return content.ReadAll(rc, desc)
}
