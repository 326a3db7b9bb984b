package download

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// ErrNoDigest: content outside the repository with no recorded digest
// cannot be downloaded verified (the one sentinel of access).
var ErrNoDigest = access.ErrNoDigest

// content is a resource's content as the download writes it: the root
// descriptor (the manifest of an OCI artifact, else the blob) and where to
// fetch it from.
type resourceContent struct {
	desc    ocispec.Descriptor
	fetcher interface {
		Fetch(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error)
	}
	source string
}

// externalContent reaches a resource's content where its access points:
// OCI artifacts (images, oci:// charts) in their registries, single blobs
// (Helm chart archives, wget files, registry blobs) streamed and verified
// against the resource digest, which for a single blob is the digest of
// its bytes.
func externalContent(ctx context.Context, f *access.Fetcher, res *descriptor.Resource) (*resourceContent, error) {
	if f == nil {
		return nil, fmt.Errorf("access type %s points outside the repository and no access to external content is configured", res.Access.Type)
	}
	if res.Digest == nil {
		return nil, fmt.Errorf("%s: %w: nothing to verify the download against", access.Describe(res.Access), ErrNoDigest)
	}
	a, err := f.OpenArtifact(ctx, res.Access)
	switch {
	case err == nil:
		return &resourceContent{desc: a.Root, fetcher: ocimap.StoreFetcher(a.Registry, a.Repository), source: a.Reference}, nil
	case !errors.Is(err, access.ErrUnsupported):
		return nil, err
	}
	b, err := f.OpenVerified(ctx, res.Access, *res.Digest)
	if err != nil {
		return nil, err
	}
	alg, err := ociAlgorithm(res.Digest.HashAlgorithm)
	if err != nil {
		b.Close()
		return nil, err
	}
	mediaType := b.MediaType
	if mediaType == "" {
		mediaType = "application/octet-stream"
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.NewDigestFromEncoded(alg, res.Digest.Value), Size: b.Size}
	return &resourceContent{desc: desc, fetcher: &onceFetcher{b: b}, source: b.Source}, nil
}

func ociAlgorithm(hash string) (digest.Algorithm, error) {
	switch hash {
	case "SHA-256", "sha256", "SHA256":
		return digest.SHA256, nil
	case "SHA-512", "sha512", "SHA512":
		return digest.SHA512, nil
	}
	return "", fmt.Errorf("unknown hash algorithm %q", hash)
}

// onceFetcher hands out a stream that was opened already, once.
type onceFetcher struct {
	b *access.Blob
}

func (o *onceFetcher) Fetch(context.Context, ocispec.Descriptor) (io.ReadCloser, error) {
	if o.b == nil {
		return nil, errors.New("content already read")
	}
	b := o.b
	o.b = nil
	return b, nil
}

func (o *onceFetcher) close() {
	if o.b != nil {
		o.b.Close()
	}
}
