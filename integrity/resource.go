// Package integrity recomputes what a component version's signature
// promises, from content: resource digests by streaming their blobs,
// reference digests by digesting the referenced versions recursively, and the
// normalised descriptor digest. Signing and verification are built on it.
package integrity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/blob"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/helmoci"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// ErrNoContentAccess marks resources whose content cannot be read: not
// from the repository itself (e.g. an image in an external registry) and
// not from where the access points (no way configured, or unreachable).
var ErrNoContentAccess = errors.New("content not reachable through the repository")

// ResourceDigest recomputes the digest of resource i of cd from its content,
// with the recorded normalisation algorithm (genericBlobDigest/v1 when none
// is recorded) and hash (SHA-256 when none). A resource without content
// (access none) has no digest: (nil, nil). An EXCLUDE-FROM-SIGNATURE digest
// is returned as recorded.
func ResourceDigest(ctx context.Context, repo repository.Repository, cd *descriptor.Descriptor, i int) (*descriptor.DigestSpec, error) {
	return resourceDigest(ctx, repo, cd, i, nil)
}

// External reaches content outside the repository: images in
// registries, Helm charts, files on web servers (access.Fetcher).
type External = *access.Fetcher

func resourceDigest(ctx context.Context, repo repository.Repository, cd *descriptor.Descriptor, i int, external External) (*descriptor.DigestSpec, error) {
	r := &cd.Component.Resources[i]
	if r.Access == nil || r.Access.IsNone() {
		return nil, nil
	}
	norm, hashName := normalisation.GenericBlobDigestV1, normalisation.SHA256
	if r.Digest != nil {
		if r.Digest.NormalisationAlgorithm == normalisation.ExcludeFromSignature {
			d := *r.Digest
			return &d, nil
		}
		norm, hashName = r.Digest.NormalisationAlgorithm, r.Digest.HashAlgorithm
	}
	var desc ocispec.Descriptor
	var fetcher content.Fetcher
	switch {
	case r.Access.IsLocalBlob():
		lb, err := r.Access.LocalBlob()
		if err != nil {
			return nil, err
		}
		if desc, fetcher, err = repo.GetLocalBlob(ctx, cd.Component.Name, cd.Component.Version, lb.LocalReference); err != nil {
			return nil, err
		}
	case external != nil:
		a, err := external.OpenArtifact(ctx, r.Access)
		switch {
		case err == nil:
			desc, fetcher = a.Root, ocimap.StoreFetcher(a.Registry, a.Repository)
		case errors.Is(err, access.ErrUnsupported):
			// Not an OCI artifact: a single blob (chart archive, file).
			return externalBlobDigest(ctx, r, external, norm, hashName)
		default:
			return nil, fmt.Errorf("%w: %w", ErrNoContentAccess, err)
		}
	default:
		return nil, fmt.Errorf("access type %s: %w", r.Access.Type, ErrNoContentAccess)
	}
	if ocimap.IsManifest(desc.MediaType) {
		// A native OCI artifact: every blob of its graph must match its
		// descriptor; the digest is the manifest digest.
		if err := ocimap.VerifyGraph(ctx, fetcher, desc); err != nil {
			return nil, err
		}
		if norm != normalisation.GenericBlobDigestV1 && !isArtifactDigest(norm) {
			return nil, fmt.Errorf("unknown normalisation algorithm %q", norm)
		}
		if r.Digest != nil && !strings.EqualFold(r.Digest.Value, desc.Digest.Encoded()) && norm == normalisation.GenericBlobDigestV1 {
			// A chart signed as its archive and carried as an OCI
			// artifact: the artifact must be exactly the chart's conversion.
			if chart, err := helmoci.ChartDigest(ctx, fetcher, desc); err == nil && strings.EqualFold(chart.Encoded(), r.Digest.Value) {
				return &descriptor.DigestSpec{HashAlgorithm: canonicalHash(hashName), NormalisationAlgorithm: norm, Value: chart.Encoded()}, nil
			}
		}
		return &descriptor.DigestSpec{HashAlgorithm: canonicalHash(hashName), NormalisationAlgorithm: norm, Value: desc.Digest.Encoded()}, nil
	}
	switch {
	case norm == normalisation.GenericBlobDigestV1:
		v, err := blob.NewVerifier(
			blob.Expectation{Algorithm: string(desc.Digest.Algorithm()), Value: desc.Digest.Encoded(), What: "content digest (localReference " + desc.Digest.String() + ")"},
			blob.Expectation{Algorithm: hashName, What: "resource digest"},
		)
		if err != nil {
			return nil, err
		}
		if err := stream(ctx, fetcher, desc, v, nil); err != nil {
			return nil, err
		}
		return &descriptor.DigestSpec{HashAlgorithm: canonicalHash(hashName), NormalisationAlgorithm: norm, Value: v.Sum(hashName)}, nil
	case isArtifactDigest(norm):
		v, err := blob.NewVerifier(blob.Expectation{Algorithm: string(desc.Digest.Algorithm()), Value: desc.Digest.Encoded(), What: "content digest (localReference " + desc.Digest.String() + ")"})
		if err != nil {
			return nil, err
		}
		var main digest.Digest
		err = stream(ctx, fetcher, desc, v, func(r io.Reader) error {
			var err error
			main, err = ArtifactSetDigest(r)
			return err
		})
		if err != nil {
			return nil, err
		}
		return &descriptor.DigestSpec{HashAlgorithm: canonicalHash(hashName), NormalisationAlgorithm: norm, Value: main.Encoded()}, nil
	}
	return nil, fmt.Errorf("unknown normalisation algorithm %q", norm)
}

// externalBlobDigest hashes external content that is one blob (a Helm
// chart archive, a wget download, a registry blob).
func externalBlobDigest(ctx context.Context, r *descriptor.Resource, external External, norm, hashName string) (*descriptor.DigestSpec, error) {
	if norm != normalisation.GenericBlobDigestV1 {
		return nil, fmt.Errorf("%s: normalisation algorithm %q does not apply to a single blob", access.Describe(r.Access), norm)
	}
	b, err := external.Open(ctx, r.Access)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoContentAccess, err)
	}
	defer b.Close()
	v, err := blob.NewVerifier(blob.Expectation{Algorithm: hashName, What: "resource digest"})
	if err != nil {
		return nil, err
	}
	if _, err := blob.Copy(ctx, io.Discard, b, v); err != nil {
		return nil, fmt.Errorf("reading %s: %w", b.Source, err)
	}
	if b.Size >= 0 && v.Size() != b.Size {
		return nil, fmt.Errorf("%s: size mismatch: announced %d bytes, read %d", b.Source, b.Size, v.Size())
	}
	return &descriptor.DigestSpec{HashAlgorithm: canonicalHash(hashName), NormalisationAlgorithm: norm, Value: v.Sum(hashName)}, nil
}

func isArtifactDigest(norm string) bool {
	return norm == normalisation.OCIArtifactDigestV1 || norm == "ociArtefactDigest/v1"
}

func canonicalHash(name string) string {
	if _, c, err := blob.NewHash(name); err == nil {
		return c
	}
	return name
}

// stream reads desc through v (which must verify the content address) and,
// when parse is set, lets parse read the same bytes; the rest is drained so
// that the whole blob is hashed.
func stream(ctx context.Context, fetcher content.Fetcher, desc ocispec.Descriptor, v *blob.Verifier, parse func(io.Reader) error) error {
	rc, err := fetcher.Fetch(ctx, desc)
	if err != nil {
		return err
	}
	defer rc.Close()
	if parse != nil {
		tee := v.TeeReader(rc)
		if err := parse(tee); err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, tee)
	} else {
		_, err = blob.Copy(ctx, io.Discard, rc, v)
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", desc.Digest, err)
	}
	if desc.Size >= 0 && v.Size() != desc.Size {
		return fmt.Errorf("blob %s: size mismatch: expected %d bytes, read %d", desc.Digest, desc.Size, v.Size())
	}
	return v.Verify()
}

// SameDigest compares a recorded digest with a recomputed one: value and
// hash algorithm (spellings normalised). Like the reference, the
// normalisation algorithm name is not compared for resources, so OCM v1's
// ociArtifactDigest/v1 and v2's genericBlobDigest/v1 of a manifest agree.
func SameDigest(recorded, actual *descriptor.DigestSpec) bool {
	return access.SameDigest(recorded, actual)
}
