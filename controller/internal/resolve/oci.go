package resolve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/oci"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// ParseImageReference resolves an image reference into the coordinates
// the API reports, with the library's one parser (Docker Hub defaulting as
// for docker pull).
func ParseImageReference(ref string) (*v1alpha1.OCIArtifactInfo, error) {
	img, err := reference.ParseImage(ref)
	if err != nil {
		return nil, err
	}
	return &v1alpha1.OCIArtifactInfo{Registry: img.Registry, Repository: img.Repository, Tag: img.Tag, Digest: img.Digest, Reference: img.String()}, nil
}

// OCIArtifact locates resource i of cd when it is an OCI artifact: an
// ociArtifact access, or a local blob that the OCI registry holding the
// component version stores as a manifest or index. Otherwise it returns nil.
func OCIArtifact(ctx context.Context, spec reference.Repository, repo repository.Repository, cd *descriptor.Descriptor, i int) (*v1alpha1.OCIArtifactInfo, error) {
	r := &cd.Component.Resources[i]
	switch {
	case r.Access.IsOCIArtifact():
		a, err := r.Access.OCIArtifact()
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", r.Name, err)
		}
		info, err := ParseImageReference(a.ImageReference)
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", r.Name, err)
		}
		return info, nil
	case r.Access.IsLocalBlob() && spec.Type == reference.TypeOCI:
		lb, err := r.Access.LocalBlob()
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", r.Name, err)
		}
		desc, _, err := repo.GetLocalBlob(ctx, cd.Component.Name, cd.Component.Version, lb.LocalReference)
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", r.Name, err)
		}
		if !ocimap.IsManifest(desc.MediaType) {
			return nil, nil
		}
		return blobCoordinates(spec, cd.Component.Name, desc.Digest.String())
	}
	return nil, nil
}

// blobCoordinates locates a blob or manifest of component in the OCI
// registry spec names: its host, the repository
// <subPath>/component-descriptors/<component>, and the digest.
func blobCoordinates(spec reference.Repository, component, digest string) (*v1alpha1.OCIArtifactInfo, error) {
	reg, err := oci.New(spec.BaseURL, spec.SubPath, oci.Options{})
	if err != nil {
		return nil, err
	}
	info := &v1alpha1.OCIArtifactInfo{
		Registry:   reg.Host(),
		Repository: path.Join(reg.SubPath(), ocimap.RepositoryName(component)),
		Digest:     digest,
	}
	info.Reference = reference.Image{Registry: info.Registry, Repository: info.Repository, Digest: info.Digest}.String()
	return info, nil
}

// ErrContentNotReadable marks a resource whose content the controller
// cannot read (an access type other than local blobs and OCI artifacts, e.g.
// a Helm repository or a plain URL): its recorded digest, which a verified
// signature covers, is all there is to go by.
var ErrContentNotReadable = errors.New("content not readable by the controller")

// VerifyResourceContent re-hashes the content of resource i of cd and
// compares it with the recorded digest: local blobs through the library's
// resource digest; OCI artifacts held in another registry by resolving the
// reference, comparing the manifest digest, and streaming every blob of the
// artifact against its descriptor. A resource without content passes;
// other external content fails with ErrContentNotReadable. Other registries
// are reached with opts (credentials, timeouts).
func VerifyResourceContent(ctx context.Context, repo repository.Repository, opts repository.Options, cd *descriptor.Descriptor, i int) error {
	r := &cd.Component.Resources[i]
	if r.Access == nil || r.Access.IsNone() {
		return nil
	}
	if r.Digest == nil {
		return fmt.Errorf("resource %s has no recorded digest to verify against", r.Name)
	}
	actual, err := integrity.ResourceDigest(ctx, repo, cd, i)
	switch {
	case err == nil:
		if !integrity.SameDigest(r.Digest, actual) {
			return fmt.Errorf("%w: resource %s: digest mismatch: descriptor records %s %s, content has %s", ErrIntegrity, r.Name, r.Digest.HashAlgorithm, r.Digest.Value, actual.Value)
		}
		return nil
	case errors.Is(err, integrity.ErrNoContentAccess) && !r.Access.IsOCIArtifact():
		return fmt.Errorf("%w: resource %s: access type %s", ErrContentNotReadable, r.Name, r.Access.Type)
	case !errors.Is(err, integrity.ErrNoContentAccess):
		return fmt.Errorf("resource %s: %w", r.Name, err)
	}
	a, err := r.Access.OCIArtifact()
	if err != nil {
		return fmt.Errorf("resource %s: %w", r.Name, err)
	}
	img, err := reference.ParseImage(a.ImageReference)
	if err != nil {
		return fmt.Errorf("resource %s: %w", r.Name, err)
	}
	reg, err := repository.OpenImageRegistry(img, opts)
	if err != nil {
		return fmt.Errorf("resource %s: %w", r.Name, err)
	}
	desc, err := reg.Resolve(ctx, img.Repository, img.Reference())
	if err != nil {
		return fmt.Errorf("resource %s: resolving %s: %w", r.Name, img, err)
	}
	if !strings.EqualFold(strings.ReplaceAll(r.Digest.HashAlgorithm, "-", ""), string(desc.Digest.Algorithm())) || desc.Digest.Encoded() != r.Digest.Value {
		return fmt.Errorf("%w: resource %s: digest mismatch: descriptor records %s %s, %s resolves to %s", ErrIntegrity, r.Name, r.Digest.HashAlgorithm, r.Digest.Value, img, desc.Digest)
	}
	if err := ocimap.VerifyGraph(ctx, registryFetcher{reg: reg, repository: img.Repository}, desc); err != nil {
		return fmt.Errorf("resource %s: content of %s: %w", r.Name, img, err)
	}
	return nil
}

// registryFetcher adapts one repository of a registry to oras' fetcher.
type registryFetcher struct {
	reg        *oci.Registry
	repository string
}

func (f registryFetcher) Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	return f.reg.Fetch(ctx, f.repository, desc)
}
