// Package download writes a resource's content to the local file system:
// streamed from the repository, verified against the descriptor while it is
// written to a temp path, and moved to the output path only when every digest
// matches.
package download

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/blob"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// ExtractionPolicy says whether recognised archives are unpacked.
type ExtractionPolicy string

const (
	// ExtractAuto unpacks tar archives (gzip-compressed or not) and native
	// OCI artifacts into a directory, and decompresses other gzip blobs.
	ExtractAuto ExtractionPolicy = "auto"
	// ExtractDisable writes the blob as stored; a native OCI artifact
	// becomes an OCI image layout tar.
	ExtractDisable ExtractionPolicy = "disable"
)

// Digest normalisation algorithms of resources.
const (
	genericBlobDigest    = "genericBlobDigest/v1"
	ociArtifactDigest    = "ociArtifactDigest/v1"
	ociArtefactDigest    = "ociArtefactDigest/v1"
	excludeFromSignature = "EXCLUDE-FROM-SIGNATURE"
)

// Labels that name the default output file.
const (
	LabelDownloadName       = "ocm.software/download-name"
	LabelDownloadNameLegacy = "downloadName"
)

// Options tune a download.
type Options struct {
	Extraction ExtractionPolicy
	// External reaches content outside the repository (images, Helm
	// charts, files on web servers); without it such resources fail.
	External *access.Fetcher
	// Transformer converts the content: "" writes it as it is, "helm"
	// writes a Helm chart (an OCI Helm artifact or a chart archive) as
	// <name>-<version>.tgz (and .tgz.prov) in a directory (ExtractAuto) or
	// a tar (ExtractDisable), as the reference CLI's helm transformer.
	Transformer string
}

// Transformers lists the values of Options.Transformer.
var Transformers = []string{TransformerHelm}

// TransformerHelm extracts Helm charts.
const TransformerHelm = "helm"

// Result says what was written.
type Result struct {
	Path string
	// Format is "file", "directory", "oci-layout-tar" or "oci-layout".
	Format string
	// Digest is the content digest of the stored blob (the manifest digest of a native OCI artifact).
	Digest digest.Digest
	// Verified lists what was checked, e.g. "resource digest SHA-256/genericBlobDigest/v1".
	Verified []string
}

// Resource downloads resource index of the component version cv (read from repo) to output.
func Resource(ctx context.Context, repo repository.Repository, cv *descriptor.Descriptor, index int, output string, opts Options) (*Result, error) {
	res := &cv.Component.Resources[index]
	id := cv.Component.ResourceIdentities()[index]
	what := fmt.Sprintf("resource %s of %s:%s", id, cv.Component.Name, cv.Component.Version)
	result, err := resource(ctx, repo, cv, res, output, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return result, nil
}

func resource(ctx context.Context, repo repository.Repository, cv *descriptor.Descriptor, res *descriptor.Resource, output string, opts Options) (*Result, error) {
	if opts.Extraction == "" {
		opts.Extraction = ExtractAuto
	}
	if opts.Extraction != ExtractAuto && opts.Extraction != ExtractDisable {
		return nil, fmt.Errorf("unknown extraction policy %q (auto or disable)", opts.Extraction)
	}
	if res.Access == nil || res.Access.IsNone() {
		return nil, fmt.Errorf("has no content (no access)")
	}
	if opts.Transformer != "" && opts.Transformer != TransformerHelm {
		return nil, fmt.Errorf("unknown transformer %q (available: %s)", opts.Transformer, strings.Join(Transformers, ", "))
	}
	desc, fetcher, done, err := openContent(ctx, repo, cv, res, opts.External)
	if err != nil {
		return nil, err
	}
	defer done()
	if opts.Transformer == TransformerHelm {
		return downloadChart(ctx, fetcher, desc, res, output, opts)
	}
	if ocimap.IsManifest(desc.MediaType) {
		return downloadArtifact(ctx, fetcher, desc, res, output, opts)
	}
	return downloadBlob(ctx, fetcher, desc, res, output, opts)
}

// openContent opens a resource's content: a local blob of repo, or
// external content through ext. done releases what the fetch holds.
func openContent(ctx context.Context, repo repository.Repository, cv *descriptor.Descriptor, res *descriptor.Resource, ext *access.Fetcher) (ocispec.Descriptor, content.Fetcher, func(), error) {
	if res.Access.IsLocalBlob() {
		lb, err := res.Access.LocalBlob()
		if err != nil {
			return ocispec.Descriptor{}, nil, nil, err
		}
		desc, fetcher, err := repo.GetLocalBlob(ctx, cv.Component.Name, cv.Component.Version, lb.LocalReference)
		if err != nil {
			return ocispec.Descriptor{}, nil, nil, err
		}
		return desc, fetcher, func() {}, nil
	}
	c, err := externalContent(ctx, ext, res)
	if err != nil {
		return ocispec.Descriptor{}, nil, nil, err
	}
	done := func() {}
	if o, ok := c.fetcher.(*onceFetcher); ok {
		done = o.close
	}
	return c.desc, c.fetcher, done, nil
}

// OutputPath is where a resource goes when --output is not given: the
// download-name label, else the name with its extra identity values.
func OutputPath(res *descriptor.Resource) (string, error) {
	var label *descriptor.Label
	for i := range res.Labels {
		switch res.Labels[i].Name {
		case LabelDownloadName:
			label = &res.Labels[i]
		case LabelDownloadNameLegacy:
			if label == nil {
				label = &res.Labels[i]
			}
		}
	}
	if label != nil {
		var name string
		if err := json.Unmarshal(label.Value, &name); err != nil {
			return "", fmt.Errorf("label %s: value must be a string: %w", label.Name, err)
		}
		clean := filepath.Clean(name)
		if name == "" || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
			return "", fmt.Errorf("label %s: %q must be a relative path inside the working directory", label.Name, name)
		}
		return clean, nil
	}
	name := sanitize(res.Name)
	for _, k := range slices.Sorted(maps.Keys(res.ExtraIdentity)) {
		name += "-" + sanitize(res.ExtraIdentity[k])
	}
	return name, nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '-'
	}, s)
}

// expectations lists the digests a plain blob must have: its content address
// and the resource digest when that is a digest of the bytes.
func expectations(desc ocispec.Descriptor, res *descriptor.Resource) ([]blob.Expectation, []string, error) {
	if err := desc.Digest.Validate(); err != nil {
		return nil, nil, fmt.Errorf("blob digest %q: %w", desc.Digest, err)
	}
	exps := []blob.Expectation{{Algorithm: string(desc.Digest.Algorithm()), Value: desc.Digest.Encoded(), What: "content digest (localReference " + desc.Digest.String() + ")"}}
	checked := []string{"content digest " + desc.Digest.String()}
	d := res.Digest
	switch {
	case d == nil:
	case d.NormalisationAlgorithm == excludeFromSignature:
	case d.NormalisationAlgorithm == genericBlobDigest:
		exps = append(exps, blob.Expectation{Algorithm: d.HashAlgorithm, Value: d.Value, What: "resource digest (" + d.HashAlgorithm + "/" + d.NormalisationAlgorithm + ")"})
		checked = append(checked, "resource digest "+d.HashAlgorithm+"/"+d.NormalisationAlgorithm)
	case d.NormalisationAlgorithm == ociArtifactDigest || d.NormalisationAlgorithm == ociArtefactDigest:
		// Checked after the write: it is the digest of the manifest inside the archive.
	default:
		return nil, nil, fmt.Errorf("resource digest uses unknown normalisation algorithm %q", d.NormalisationAlgorithm)
	}
	return exps, checked, nil
}

// fetchVerifying opens desc with the verifier of everything its bytes must
// match (content address, resource digest) and what those checks are called.
func fetchVerifying(ctx context.Context, fetcher content.Fetcher, desc ocispec.Descriptor, res *descriptor.Resource) (io.ReadCloser, *blob.Verifier, []string, error) {
	exps, checked, err := expectations(desc, res)
	if err != nil {
		return nil, nil, nil, err
	}
	verifier, err := blob.NewVerifier(exps...)
	if err != nil {
		return nil, nil, nil, err
	}
	rc, err := fetcher.Fetch(ctx, desc)
	if err != nil {
		return nil, nil, nil, err
	}
	return rc, verifier, checked, nil
}

func downloadBlob(ctx context.Context, fetcher content.Fetcher, desc ocispec.Descriptor, res *descriptor.Resource, output string, opts Options) (*Result, error) {
	rc, verifier, checked, err := fetchVerifying(ctx, fetcher, desc, res)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	kind := classify(desc.MediaType)
	if opts.Extraction == ExtractAuto && kind != kindPlain {
		return extractBlob(ctx, verifier.TeeReader(rc), verifier, desc, res, kind, output, checked)
	}
	f, err := blob.CreateAtomic(output)
	if err != nil {
		return nil, err
	}
	defer f.Abort()
	if _, err := blob.Copy(ctx, f, rc, verifier); err != nil {
		return nil, fmt.Errorf("reading %s: %w", desc.Digest, err)
	}
	if err := finish(verifier, desc); err != nil {
		return nil, err
	}
	if isArtifactDigest(res.Digest) && !isGzipOrTar(desc.MediaType) {
		return nil, fmt.Errorf("resource digest %s/%s needs an OCI artifact, but the blob has media type %q", res.Digest.HashAlgorithm, res.Digest.NormalisationAlgorithm, desc.MediaType)
	}
	if isArtifactDigest(res.Digest) {
		if err := verifyArtifactSet(f.Name(), res.Digest); err != nil {
			return nil, err
		}
		checked = append(checked, "resource digest "+res.Digest.HashAlgorithm+"/"+res.Digest.NormalisationAlgorithm)
	}
	if err := f.Commit(); err != nil {
		return nil, err
	}
	return &Result{Path: output, Format: "file", Digest: desc.Digest, Verified: checked}, nil
}

func isArtifactDigest(d *descriptor.DigestSpec) bool {
	return d != nil && (d.NormalisationAlgorithm == ociArtifactDigest || d.NormalisationAlgorithm == ociArtefactDigest)
}

// finish checks the size and every expected digest once the stream is consumed.
func finish(v *blob.Verifier, desc ocispec.Descriptor) error {
	if desc.Size >= 0 && v.Size() != desc.Size {
		return fmt.Errorf("content size mismatch: expected %d bytes, read %d", desc.Size, v.Size())
	}
	return v.Verify()
}

// copyContext copies in chunks, stopping when ctx is done.
func copyContext(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	buf := make([]byte, blob.WriteSize)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		nr, rerr := src.Read(buf)
		if nr > 0 {
			nw, werr := dst.Write(buf[:nr])
			n += int64(nw)
			if werr != nil {
				return n, werr
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}
