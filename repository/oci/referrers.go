package oci

import (
	"context"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/registry/remote"
)

// ResolveImage resolves a tag or digest of repository to its descriptor.
// With a platform, an index resolves to the matching manifest (as
// `nfd compat validate-node --platform` does); without one, an index stays
// the index.
func (r *Registry) ResolveImage(ctx context.Context, repository, reference string, platform *ocispec.Platform) (ocispec.Descriptor, error) {
	rr, full, err := r.repo(repository)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc, err := oras.Resolve(ctx, rr, reference, oras.ResolveOptions{TargetPlatform: platform})
	if err != nil {
		return ocispec.Descriptor{}, r.wrap(full, fmt.Sprintf("resolving %s", reference), err)
	}
	return desc, nil
}

// Referrers lists the manifests whose subject is subject, filtered by
// artifactType ("" for all): the referrers API, or the sha256-<hex> tag
// schema on registries without it (oras-go falls back by itself).
func (r *Registry) Referrers(ctx context.Context, repository string, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	rr, full, err := r.repo(repository)
	if err != nil {
		return nil, err
	}
	var out []ocispec.Descriptor
	err = rr.Referrers(ctx, subject, artifactType, func(page []ocispec.Descriptor) error {
		for _, d := range page {
			// The tag schema fallback cannot filter on the server.
			if artifactType == "" || d.ArtifactType == artifactType {
				out = append(out, d)
			}
		}
		return nil
	})
	if err != nil {
		return nil, r.wrap(full, fmt.Sprintf("listing referrers of %s", subject.Digest), err)
	}
	r.learnReferrersAPI(rr)
	return out, nil
}

const (
	referrersUnknown = iota
	referrersSupported
	referrersUnsupported
)

// learnReferrersAPI keeps what a successful listing on rr found out about
// the referrers API for the repositories opened later: on a registry
// without it (distribution 2.8), each of them would ask once more before
// falling back to the tag schema — one request per component version of a
// graph walk.
func (r *Registry) learnReferrersAPI(rr *remote.Repository) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.referrersAPI != referrersUnknown {
		return
	}
	// After a successful listing oras-go has set the repository's
	// capability: setting "supported" fails exactly when it found none.
	if rr.SetReferrersCapability(true) != nil {
		r.referrersAPI = referrersUnsupported
	} else {
		r.referrersAPI = referrersSupported
	}
}
