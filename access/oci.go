package access

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/oci"
)

// registryFor returns the (cached) registry client for one repository:
// credentials are matched per repository path.
func (f *Fetcher) registryFor(img reference.Image) (*oci.Registry, error) {
	key := fmt.Sprint(img.PlainHTTP, " ", img.Endpoint(), " ", img.Repository)
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.registries[key]; ok {
		return r, nil
	}
	r, err := repository.OpenImageRegistry(img, f.opts.repositoryOptions())
	if err != nil {
		return nil, err
	}
	f.registries[key] = r
	return r, nil
}

// artifact resolves an image reference: by tag (latest when it names
// none), or by digest, which the registry must have.
func (f *Fetcher) artifact(ctx context.Context, ref string) (*Artifact, error) {
	img, err := reference.ParseImage(ref)
	if err != nil {
		return nil, err
	}
	reg, err := f.registryFor(img)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	var desc ocispec.Descriptor
	if img.Digest != "" {
		desc, err = reg.Resolve(ctx, img.Repository, img.Digest)
		switch {
		case errors.Is(err, errdef.ErrNotFound):
			return nil, fmt.Errorf("image %s: %w: the registry has no manifest %s in %s", ref, ErrNotFound, img.Digest, img.Repository)
		case err != nil:
			return nil, fmt.Errorf("image %s: %w", ref, registryError(err, img))
		case desc.Digest.String() != img.Digest:
			return nil, fmt.Errorf("image %s: %w: the registry answers with %s", ref, ErrDigestMismatch, desc.Digest)
		}
	} else {
		tag := img.Reference()
		desc, err = reg.Resolve(ctx, img.Repository, tag)
		switch {
		case errors.Is(err, errdef.ErrNotFound):
			return nil, fmt.Errorf("image %s: %w: no tag %q in repository %s of %s", ref, ErrNotFound, tag, img.Repository, img.Registry)
		case err != nil:
			return nil, fmt.Errorf("image %s: %w", ref, registryError(err, img))
		}
	}
	return &Artifact{Registry: reg, Repository: img.Repository, Root: desc, Reference: pinReference(ref, desc.Digest)}, nil
}

// registryError marks refused authentication as ErrUnauthorized and says
// which credentials consumer would apply.
func registryError(err error, img reference.Image) error {
	var resp *errcode.ErrorResponse
	refused := errors.As(err, &resp) && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden)
	if !refused && !errors.Is(err, auth.ErrBasicCredentialNotFound) {
		return err
	}
	host, port, ok := strings.Cut(img.Endpoint(), ":")
	id := "{type=OCIRegistry, hostname=" + host
	if ok {
		id += ", port=" + port
	}
	id += ", path=" + img.Repository + "}"
	return fmt.Errorf("%w: credentials for consumer %s (or the docker config) missing or refused: %w", ErrUnauthorized, id, err)
}

// pinReference appends "@<digest>" to an image reference as written,
// replacing a digest it has and keeping scheme, registry spelling and tag,
// as the reference implementation writes pinned references.
func pinReference(ref string, d digest.Digest) string {
	if i := strings.LastIndex(ref, "@"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref + "@" + d.String()
}

// manifestDigest is the resource digest of an OCI artifact as the
// reference records it: genericBlobDigest/v1 of the manifest or index.
func manifestDigest(d ocispec.Descriptor) descriptor.DigestSpec {
	return descriptor.DigestSpec{HashAlgorithm: hashName(d.Digest), NormalisationAlgorithm: normalisation.GenericBlobDigestV1, Value: d.Digest.Encoded()}
}

func hashName(d digest.Digest) string {
	if d.Algorithm() == digest.SHA512 {
		return normalisation.SHA512
	}
	return normalisation.SHA256
}

func (f *Fetcher) resolveImage(ctx context.Context, acc *descriptor.Typed) (*Resolved, error) {
	a, err := acc.OCIArtifact()
	if err != nil {
		return nil, err
	}
	art, err := f.artifact(ctx, a.ImageReference)
	if err != nil {
		return nil, err
	}
	pinned, err := descriptor.NewTyped(descriptor.OCIArtifactAccess{Type: acc.Type, ImageReference: art.Reference})
	if err != nil {
		return nil, err
	}
	return &Resolved{Access: &pinned, Digest: manifestDigest(art.Root), MediaType: art.Root.MediaType, Size: art.Root.Size}, nil
}

// layer resolves an OCIImageLayer access to its registry and blob.
func (f *Fetcher) layer(ctx context.Context, acc *descriptor.Typed) (*oci.Registry, string, ocispec.Descriptor, error) {
	a, err := acc.OCIImageLayer()
	if err != nil {
		return nil, "", ocispec.Descriptor{}, err
	}
	d, err := digest.Parse(a.Digest)
	if err != nil {
		return nil, "", ocispec.Descriptor{}, fmt.Errorf("%s access: digest %q: %w", acc.Type, a.Digest, err)
	}
	img, err := reference.ParseImage(a.Reference)
	if err != nil {
		return nil, "", ocispec.Descriptor{}, fmt.Errorf("%s access: ref: %w", acc.Type, err)
	}
	reg, err := f.registryFor(img)
	if err != nil {
		return nil, "", ocispec.Descriptor{}, err
	}
	desc, err := reg.ResolveBlob(ctx, img.Repository, d)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, "", ocispec.Descriptor{}, fmt.Errorf("blob %s@%s: %w: %w", a.Reference, d, ErrNotFound, err)
	}
	if err != nil {
		return nil, "", ocispec.Descriptor{}, registryError(err, img)
	}
	desc.MediaType = a.MediaType
	if desc.MediaType == "" {
		desc.MediaType = "application/octet-stream"
	}
	return reg, img.Repository, desc, nil
}

func (f *Fetcher) resolveLayer(ctx context.Context, acc *descriptor.Typed) (*Resolved, error) {
	_, _, desc, err := f.layer(ctx, acc)
	if err != nil {
		return nil, err
	}
	// A blob is its own content: its digest is the resource digest.
	return &Resolved{Access: acc, Digest: manifestDigest(desc), MediaType: desc.MediaType, Size: desc.Size}, nil
}

func (f *Fetcher) openLayer(ctx context.Context, acc *descriptor.Typed) (*Blob, error) {
	reg, repo, desc, err := f.layer(ctx, acc)
	if err != nil {
		return nil, err
	}
	rc, err := reg.Fetch(ctx, repo, desc)
	if err != nil {
		return nil, err
	}
	src := reg.Host() + "/" + repo + "@" + desc.Digest.String()
	vr, err := NewVerifyingReader(rc, string(desc.Digest.Algorithm()), desc.Digest.Encoded(), "blob "+src)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return &Blob{ReadCloser: vr, Size: desc.Size, MediaType: desc.MediaType, Source: src}, nil
}

// repositoryOptions are the options registries are opened with.
func (o Options) repositoryOptions() repository.Options {
	return repository.Options{Config: o.Config, PlainHTTP: o.PlainHTTP, Client: o.Client, HTTP: o.HTTP, Timeouts: o.Timeouts}
}
