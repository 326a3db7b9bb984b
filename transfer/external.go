package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/blob"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/helmoci"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// ErrNotCopyable marks a resource whose external content a transfer with
// CopyResources cannot carry: an air-gap copy must not be silently
// incomplete.
var ErrNotCopyable = errors.New("external content cannot be copied")

// MaxChartSize caps a Helm chart converted to an OCI artifact (held in
// memory while it is copied).
const MaxChartSize = 64 << 20

// externalContent is a resource's external content, ready to push: an OCI
// artifact (artifact set) or a single blob.
type externalContent struct {
	root     ocispec.Descriptor
	items    []item
	artifact bool
	// repo and tag name it in the target with --upload-as ociArtifact,
	// and in the local blob's referenceName.
	repo, tag string
}

func (e *externalContent) referenceName() string {
	if e.repo == "" {
		return ""
	}
	if e.tag != "" {
		return e.repo + ":" + e.tag
	}
	return e.repo
}

// fetchExternal reaches the content of resource r and checks it against
// the resource digest before anything is written: OCI artifacts by their
// manifest digest (and the digest their reference pins), Helm charts from
// chart repositories by the archive digest (then converted to the OCI
// Helm artifact, helmoci), wget and registry-blob content by their bytes.
func fetchExternal(ctx context.Context, r *descriptor.Resource, opts Options, sp *spool) (*externalContent, error) {
	if opts.External == nil {
		return nil, fmt.Errorf("%s: %w: no access to external content configured", access.Describe(r.Access), ErrNotCopyable)
	}
	if r.Digest == nil {
		return nil, fmt.Errorf("%s: %w: %w", access.Describe(r.Access), ErrNotCopyable, access.ErrNoDigest)
	}
	if r.Digest.NormalisationAlgorithm == normalisation.ExcludeFromSignature {
		return nil, fmt.Errorf("%s: %w: its digest is %s, nothing to check the copy against", access.Describe(r.Access), ErrNotCopyable, normalisation.ExcludeFromSignature)
	}
	a, err := opts.External.OpenArtifact(ctx, r.Access)
	switch {
	case err == nil:
		return copyArtifact(ctx, r, a)
	case !errors.Is(err, access.ErrUnsupported):
		return nil, err
	}
	if r.Access.Kind() == descriptor.AccessHelm {
		h, err := r.Access.Helm()
		if err != nil {
			return nil, err
		}
		return convertChart(ctx, r, h, opts.External)
	}
	b, err := opts.External.OpenVerified(ctx, r.Access, *r.Digest)
	if errors.Is(err, access.ErrUnsupported) {
		return nil, fmt.Errorf("access type %s: %w (%w)", r.Access.Type, ErrNotCopyable, err)
	}
	if err != nil {
		return nil, err
	}
	defer b.Close()
	mediaType := b.MediaType
	if mediaType == "" {
		mediaType = "application/octet-stream"
	}
	desc, fetcher, err := sp.store(ctx, b, mediaType)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", b.Source, err)
	}
	return &externalContent{root: desc, items: []item{{Node: ocimap.Node{Descriptor: desc}, fetcher: fetcher}}}, nil
}

func copyArtifact(ctx context.Context, r *descriptor.Resource, a *access.Artifact) (*externalContent, error) {
	// The resource digest of an OCI artifact is its manifest digest
	// (genericBlobDigest/v1 in v2, ociArtifactDigest/v1 in v1).
	if !access.SameDigest(r.Digest, &descriptor.DigestSpec{HashAlgorithm: r.Digest.HashAlgorithm, Value: a.Root.Digest.Encoded()}) || !strings.EqualFold(strings.ReplaceAll(r.Digest.HashAlgorithm, "-", ""), string(a.Root.Digest.Algorithm())) {
		return nil, fmt.Errorf("%s is %s, the resource digest says %s %s: %w", a.Reference, a.Root.Digest, r.Digest.HashAlgorithm, r.Digest.Value, access.ErrDigestMismatch)
	}
	fetcher := ocimap.StoreFetcher(a.Registry, a.Repository)
	nodes, err := ocimap.Graph(ctx, fetcher, a.Root)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", a.Reference, err)
	}
	tag := ""
	if img, err := reference.ParseImage(a.Reference); err == nil {
		tag = img.Tag
	}
	return &externalContent{root: a.Root, items: withFetcher(nodes, fetcher), artifact: true, repo: a.Repository, tag: tag}, nil
}

// convertChart fetches a chart archive from an HTTP(S) chart repository,
// checks it against the resource digest, and converts it to the OCI Helm
// artifact whose chart digest verification accepts (helmoci).
func convertChart(ctx context.Context, r *descriptor.Resource, h *descriptor.HelmAccess, external *access.Fetcher) (*externalContent, error) {
	b, err := external.OpenVerified(ctx, r.Access, *r.Digest)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	chart, err := io.ReadAll(io.LimitReader(b, MaxChartSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", b.Source, err)
	}
	if len(chart) > MaxChartSize {
		return nil, fmt.Errorf("%s: %w: the chart is larger than %d bytes", b.Source, ErrNotCopyable, MaxChartSize)
	}
	md, err := helmoci.ReadMetadata(bytes.NewReader(chart))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Source, err)
	}
	config := helmoci.Config(md.Name, md.Version)
	cfgDesc := ocispec.Descriptor{MediaType: helmoci.ConfigMediaType, Digest: digest.FromBytes(config), Size: int64(len(config))}
	chartDesc := ocispec.Descriptor{MediaType: helmoci.ChartLayerMediaType, Digest: digest.FromBytes(chart), Size: int64(len(chart))}
	manifest := helmoci.Manifest(cfgDesc, chartDesc, nil)
	root := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(manifest), Size: int64(len(manifest))}
	items := []item{
		{Node: ocimap.Node{Descriptor: cfgDesc, Data: config}},
		{Node: ocimap.Node{Descriptor: chartDesc, Data: chart}},
		{Node: ocimap.Node{Descriptor: root, Data: manifest}},
	}
	repo := strings.ToLower(md.Name)
	if u := strings.TrimSuffix(h.HelmRepository, "/"); u != "" {
		// <repository host path>/<chart>, as `helm push` would name it.
		if _, rest, ok := strings.Cut(u, "://"); ok {
			if _, p, ok := strings.Cut(rest, "/"); ok && p != "" {
				repo = strings.ToLower(p) + "/" + repo
			}
		}
	}
	return &externalContent{root: root, items: items, artifact: true, repo: repo, tag: ocimap.ToTag(md.Version)}, nil
}

// spool keeps single external blobs in temporary files between their
// verification and the push, so that large downloads are not held in memory.
type spool struct {
	files []string
}

// store copies b to a temporary file (hashing it on the way) and returns
// its descriptor and a fetcher for it. b is verified by its reader: a
// mismatch fails the copy.
func (s *spool) store(ctx context.Context, b *access.Blob, mediaType string) (ocispec.Descriptor, content.Fetcher, error) {
	f, err := os.CreateTemp("", "ocm-transfer-*")
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	s.files = append(s.files, f.Name())
	defer f.Close()
	v, err := blob.NewVerifier(blob.Expectation{Algorithm: normalisation.SHA256, What: "content"})
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	n, err := blob.Copy(ctx, f, b, v)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	if b.Size >= 0 && n != b.Size {
		return ocispec.Descriptor{}, nil, fmt.Errorf("size mismatch: announced %d bytes, read %d", b.Size, n)
	}
	if err := f.Close(); err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.NewDigestFromEncoded(digest.SHA256, v.Sum(normalisation.SHA256)), Size: n}
	return desc, fileFetcher{path: f.Name(), desc: desc}, nil
}

func (s *spool) cleanup() {
	for _, f := range s.files {
		os.Remove(f)
	}
}

type fileFetcher struct {
	path string
	desc ocispec.Descriptor
}

func (f fileFetcher) Fetch(_ context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	if d.Digest != f.desc.Digest {
		return nil, fmt.Errorf("spooled blob %s asked for %s", f.desc.Digest, d.Digest)
	}
	return os.Open(f.path)
}
