package download

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// downloadArtifact writes a native OCI artifact (manifest or index and all
// it references) as an OCI image layout: a tar with ExtractDisable, a
// directory with ExtractAuto. Every blob is verified against its descriptor
// while it is written.
func downloadArtifact(ctx context.Context, fetcher content.Fetcher, root ocispec.Descriptor, res *descriptor.Resource, output string, opts Options) (*Result, error) {
	checked, write, err := artifactLayout(ctx, fetcher, root, res)
	if err != nil {
		return nil, err
	}
	return publishFiles(output, opts.Extraction == ExtractAuto, "oci-layout", "oci-layout-tar", root.Digest, checked, write)
}

// artifactLayout checks a native OCI artifact's resource digest and
// returns what was checked and the writer of its OCI image layout (each
// blob verified while written). Downloads publish the layout; VerifyTree
// compares it with a directory, so both see the same files.
func artifactLayout(ctx context.Context, fetcher content.Fetcher, root ocispec.Descriptor, res *descriptor.Resource) ([]string, func(layoutWriter) error, error) {
	checked := []string{"manifest digest " + root.Digest.String()}
	if d := res.Digest; d != nil && d.NormalisationAlgorithm != excludeFromSignature {
		switch d.NormalisationAlgorithm {
		case genericBlobDigest, ociArtifactDigest, ociArtefactDigest:
		default:
			return nil, nil, fmt.Errorf("resource digest uses unknown normalisation algorithm %q", d.NormalisationAlgorithm)
		}
		// Both record the manifest digest for native artifacts (genericBlobDigest
		// of the manifest bytes is the manifest digest).
		if err := artifactDigestOK(ctx, fetcher, root, d); err != nil {
			return nil, nil, err
		}
		checked = append(checked, "resource digest "+d.HashAlgorithm+"/"+d.NormalisationAlgorithm)
	}
	nodes, err := ocimap.Graph(ctx, fetcher, root)
	if err != nil {
		return nil, nil, err
	}
	top := root
	top.Annotations = map[string]string{ocispec.AnnotationRefName: res.Version}
	index, err := json.Marshal(ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{top},
	})
	if err != nil {
		return nil, nil, err
	}
	layout := []byte(`{"imageLayoutVersion":"1.0.0"}`)
	return checked, func(w layoutWriter) error {
		return writeLayout(ctx, w, fetcher, nodes, index, layout)
	}, nil
}

func matchDigest(d *descriptor.DigestSpec, dg digest.Digest) error {
	alg := strings.ToLower(strings.ReplaceAll(d.HashAlgorithm, "-", ""))
	if alg != string(dg.Algorithm()) || !strings.EqualFold(d.Value, dg.Encoded()) {
		return fmt.Errorf("resource digest mismatch: descriptor records %s %s, artifact has %s", d.HashAlgorithm, d.Value, dg)
	}
	return nil
}

type layoutWriter interface {
	// put writes one file of size n from r.
	put(name string, n int64, r io.Reader) error
}

func writeLayout(ctx context.Context, w layoutWriter, fetcher content.Fetcher, nodes []ocimap.Node, index, layout []byte) error {
	if err := w.put(ocispec.ImageLayoutFile, int64(len(layout)), bytes.NewReader(layout)); err != nil {
		return err
	}
	for _, n := range nodes {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := "blobs/" + string(n.Descriptor.Digest.Algorithm()) + "/" + n.Descriptor.Digest.Encoded()
		if n.Data != nil {
			if err := w.put(name, int64(len(n.Data)), bytes.NewReader(n.Data)); err != nil {
				return err
			}
			continue
		}
		if err := putVerified(ctx, w, fetcher, n.Descriptor, name); err != nil {
			return err
		}
	}
	return w.put(ocispec.ImageIndexFile, int64(len(index)), bytes.NewReader(index))
}

func putVerified(ctx context.Context, w layoutWriter, fetcher content.Fetcher, desc ocispec.Descriptor, name string) error {
	rc, err := fetcher.Fetch(ctx, desc)
	if err != nil {
		return err
	}
	defer rc.Close()
	vr := content.NewVerifyReader(rc, desc)
	if err := w.put(name, desc.Size, vr); err != nil {
		return fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	if err := vr.Verify(); err != nil {
		return fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	return nil
}

type tarLayoutWriter struct{ tw *tar.Writer }

func (t *tarLayoutWriter) put(name string, n int64, r io.Reader) error {
	if err := t.tw.WriteHeader(&tar.Header{Name: name, Size: n, Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err := io.CopyN(t.tw, r, n)
	return err
}

type dirLayoutWriter struct{ root string }

func (d *dirLayoutWriter) put(name string, n int64, r io.Reader) error {
	p := filepath.Join(d.root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = io.CopyN(f, r, n)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// verifyArtifactSet checks an ociArtifactDigest/v1 resource digest against
// a stored artifact set or OCI layout archive.
func verifyArtifactSet(path string, d *descriptor.DigestSpec) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	main, err := integrity.ArtifactSetDigest(f)
	if err != nil {
		return err
	}
	return matchDigest(d, main)
}
