package compat

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/ocmgo/ocm/blob"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// ReferrerTarget is a registry that can attach OCI referrers
// (repository/oci.Registry).
type ReferrerTarget interface {
	ocimap.Store
	AttachReferrer(ctx context.Context, repository string, subject ocispec.Descriptor, artifactType, layerMediaType string, data []byte, annotations map[string]string) (ocispec.Descriptor, bool, error)
	ImageReference(repository string) string
}

// AttachSpecs attaches every compatibility spec of cd — stored in target,
// in the component repository componentRepo — as NFD's referrer artifact to
// each image it constrains that is stored in target as well (a local blob
// of the version, or an ociArtifact access into the target registry), so
// that `nfd compat validate-node --image` and `ocm compat check --image`
// find it. Spec bytes are read from the target, checked against the
// resource digest and parsed before anything is attached. Images elsewhere
// are reported and left alone. Attaching is idempotent.
func AttachSpecs(ctx context.Context, target ReferrerTarget, cd *descriptor.Descriptor, componentRepo string, report func(string)) error {
	atts, err := Find(cd)
	if err != nil || len(atts) == 0 {
		return err
	}
	cv := cd.Component.Name + ":" + cd.Component.Version
	ids := cd.Component.ResourceIdentities()
	repo := repository.FromStore(target, "the target", nil)
	for _, a := range atts {
		data, err := ReadSpec(ctx, repo, cd, &a)
		if err != nil {
			return fmt.Errorf("%s %s: %w", cv, a.Describe(cd), err)
		}
		if _, err := Parse(data); err != nil {
			return fmt.Errorf("%s %s: %w", cv, a.Describe(cd), err)
		}
		for _, j := range a.Subjects {
			imgRepo, subject, ok, err := locateImage(ctx, target, &cd.Component.Resources[j], componentRepo)
			if err != nil {
				return fmt.Errorf("%s resource %s: %w", cv, ids[j], err)
			}
			if !ok {
				report(fmt.Sprintf("%s: compatibility spec of resource %s not attached: the image is not stored in the target", cv, ids[j]))
				continue
			}
			d, attached, err := target.AttachReferrer(ctx, imgRepo, subject, ArtifactType, SpecMediaType, data, nil)
			if err != nil {
				return fmt.Errorf("%s resource %s: %w", cv, ids[j], err)
			}
			verb := "attached"
			if !attached {
				verb = "already attached"
			}
			report(fmt.Sprintf("%s: compatibility spec %s %s to %s@%s", cv, d.Digest, verb, target.ImageReference(imgRepo), subject.Digest))
		}
	}
	return nil
}

// ReadSpec returns the spec bytes of an attachment: the label's value, or
// the imageCompatibility resource's local blob, verified against its
// content address and the resource digest (a resource without a digest
// cannot be verified and is an error).
func ReadSpec(ctx context.Context, repo repository.Repository, cd *descriptor.Descriptor, a *Attachment) ([]byte, error) {
	if a.Resource < 0 {
		data := a.Inline
		var text string
		if json.Unmarshal(data, &text) == nil {
			data = []byte(text)
		}
		return data, nil
	}
	r := &cd.Component.Resources[a.Resource]
	if r.Digest == nil {
		return nil, fmt.Errorf("the spec resource has no digest, so it cannot be verified")
	}
	lb, err := r.Access.LocalBlob()
	if err != nil {
		return nil, fmt.Errorf("the spec must be a local blob: %w", err)
	}
	desc, fetcher, err := repo.GetLocalBlob(ctx, cd.Component.Name, cd.Component.Version, lb.LocalReference)
	if err != nil {
		return nil, err
	}
	if desc.Size > MaxSpecSize {
		return nil, fmt.Errorf("spec of %d bytes exceeds %d", desc.Size, MaxSpecSize)
	}
	rc, err := fetcher.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// ReadAll checks size and content address.
	data, err := content.ReadAll(io.LimitReader(rc, MaxSpecSize+1), desc)
	if err != nil {
		return nil, fmt.Errorf("reading the spec: %w", err)
	}
	if err := checkResourceDigest(r.Digest, data); err != nil {
		return nil, err
	}
	return data, nil
}

// checkResourceDigest compares a genericBlobDigest/v1 resource digest with data.
func checkResourceDigest(d *descriptor.DigestSpec, data []byte) error {
	if d.NormalisationAlgorithm != "" && d.NormalisationAlgorithm != normalisation.GenericBlobDigestV1 {
		return fmt.Errorf("resource digest: normalisation %q does not apply to a spec blob", d.NormalisationAlgorithm)
	}
	h, canonical, err := blob.NewHash(d.HashAlgorithm)
	if err != nil {
		return fmt.Errorf("resource digest: %w", err)
	}
	h.Write(data)
	actual := &descriptor.DigestSpec{HashAlgorithm: canonical, NormalisationAlgorithm: normalisation.GenericBlobDigestV1, Value: hex.EncodeToString(h.Sum(nil))}
	if !integrity.SameDigest(d, actual) {
		return fmt.Errorf("spec blob does not match the resource digest: %s %s recorded, %s computed", d.HashAlgorithm, d.Value, actual.Value)
	}
	return nil
}

// locateImage finds where resource r's image is stored in target.
func locateImage(ctx context.Context, target ReferrerTarget, r *descriptor.Resource, componentRepo string) (string, ocispec.Descriptor, bool, error) {
	switch {
	case r.Access.IsLocalBlob():
		lb, err := r.Access.LocalBlob()
		if err != nil {
			return "", ocispec.Descriptor{}, false, err
		}
		if !ocimap.IsManifest(lb.MediaType) {
			return "", ocispec.Descriptor{}, false, nil
		}
		d, err := target.Resolve(ctx, componentRepo, lb.LocalReference)
		return componentRepo, d, err == nil, err
	case r.Access.IsOCIArtifact():
		acc, err := r.Access.OCIArtifact()
		if err != nil {
			return "", ocispec.Descriptor{}, false, err
		}
		const probe = "x"
		base := strings.TrimSuffix(target.ImageReference(probe), probe)
		rest, ok := strings.CutPrefix(acc.ImageReference, base)
		if !ok {
			return "", ocispec.Descriptor{}, false, nil
		}
		host, _, _ := strings.Cut(base, "/")
		img, err := reference.ParseImageIn(host, rest)
		if err != nil {
			return "", ocispec.Descriptor{}, false, err
		}
		d, err := target.Resolve(ctx, img.Repository, img.Reference())
		return img.Repository, d, err == nil, err
	}
	return "", ocispec.Descriptor{}, false, nil
}
