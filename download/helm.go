package download

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/ocmgo/ocm/blob"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/helmoci"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// artifactDigestOK checks a resource digest against an OCI artifact: its
// manifest digest, or — for a chart signed as its archive and carried as
// an OCI Helm artifact — the digest of the chart it is exactly the
// conversion of.
func artifactDigestOK(ctx context.Context, fetcher content.Fetcher, root ocispec.Descriptor, d *descriptor.DigestSpec) error {
	err := matchDigest(d, root.Digest)
	if err == nil || d.NormalisationAlgorithm != genericBlobDigest {
		return err
	}
	chart, cerr := helmoci.ChartDigest(ctx, fetcher, root)
	if cerr != nil || !strings.EqualFold(chart.Encoded(), d.Value) {
		return err
	}
	return nil
}

// downloadChart writes a Helm chart as <name>-<version>.tgz (and
// .tgz.prov): from an OCI Helm artifact, or from a chart archive.
func downloadChart(ctx context.Context, fetcher content.Fetcher, desc ocispec.Descriptor, res *descriptor.Resource, output string, opts Options) (*Result, error) {
	if !ocimap.IsManifest(desc.MediaType) {
		return downloadChartArchive(ctx, fetcher, desc, res, output, opts)
	}
	manifest, err := helmoci.ReadSmall(ctx, fetcher, desc)
	if err != nil {
		return nil, err
	}
	p, ok := helmoci.Parse(manifest)
	if !ok {
		return nil, fmt.Errorf("the helm transformer needs a Helm chart; %s is an OCI artifact without Helm's config and chart layer", desc.Digest)
	}
	config, err := helmoci.ReadSmall(ctx, fetcher, p.Config)
	if err != nil {
		return nil, err
	}
	var md helmoci.Metadata
	if err := json.Unmarshal(config, &md); err != nil || md.Name == "" || md.Version == "" || strings.ContainsAny(md.Name+md.Version, `/\`) {
		return nil, fmt.Errorf("chart config %s: no usable name and version", p.Config.Digest)
	}
	checked := []string{"manifest digest " + desc.Digest.String()}
	if d := res.Digest; d != nil && d.NormalisationAlgorithm != excludeFromSignature {
		if err := artifactDigestOK(ctx, fetcher, desc, d); err != nil {
			return nil, err
		}
		checked = append(checked, "resource digest "+d.HashAlgorithm+"/"+d.NormalisationAlgorithm)
	}
	base := md.Name + "-" + md.Version + ".tgz"
	files := []ocispec.Descriptor{p.Chart}
	names := []string{base}
	if p.Prov != nil {
		files, names = append(files, *p.Prov), append(names, base+".prov")
	}
	write := func(w layoutWriter) error {
		for i, f := range files {
			if err := putVerified(ctx, w, fetcher, f, names[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return writeChartFiles(output, opts, desc, checked, write)
}

// writeChartFiles publishes the files write produces as a directory
// (ExtractAuto) or a tar (ExtractDisable), only when write succeeded.
func writeChartFiles(output string, opts Options, desc ocispec.Descriptor, checked []string, write func(layoutWriter) error) (*Result, error) {
	return publishFiles(output, opts.Extraction != ExtractDisable, "directory", "file", desc.Digest, checked, write)
}

// publishFiles writes the files write produces into a directory (asDir) or
// a tar at output, through a temporary path that replaces output only when
// write succeeded; the result names dirFormat or tarFormat.
func publishFiles(output string, asDir bool, dirFormat, tarFormat string, dg digest.Digest, checked []string, write func(layoutWriter) error) (*Result, error) {
	if asDir {
		dir, err := blob.CreateAtomicDir(output)
		if err != nil {
			return nil, err
		}
		defer dir.Abort()
		if err := write(&dirLayoutWriter{root: dir.Path}); err != nil {
			return nil, err
		}
		if err := dir.Commit(); err != nil {
			return nil, err
		}
		return &Result{Path: output, Format: dirFormat, Digest: dg, Verified: checked}, nil
	}
	f, err := blob.CreateAtomic(output)
	if err != nil {
		return nil, err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, blob.WriteSize)
	tw := tar.NewWriter(bw)
	if err := write(&tarLayoutWriter{tw: tw}); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := f.Commit(); err != nil {
		return nil, err
	}
	return &Result{Path: output, Format: tarFormat, Digest: dg, Verified: checked}, nil
}

// downloadChartArchive writes a chart archive (e.g. from a Helm chart
// repository) under its Helm file name: it is spooled to a temporary file
// while hashed and its Chart.yaml read, then published.
func downloadChartArchive(ctx context.Context, fetcher content.Fetcher, desc ocispec.Descriptor, res *descriptor.Resource, output string, opts Options) (*Result, error) {
	rc, verifier, checked, err := fetchVerifying(ctx, fetcher, desc, res)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if err := os.MkdirAll(filepath.Dir(output), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(output), ".chart-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	src := io.TeeReader(verifier.TeeReader(rc), tmp)
	md, err := helmoci.ReadMetadata(src)
	if err != nil {
		return nil, err
	}
	// Bytes after the gzip stream count for the digest too.
	if _, err := io.Copy(io.Discard, src); err != nil {
		return nil, err
	}
	if err := finish(verifier, desc); err != nil {
		return nil, err
	}
	if strings.ContainsAny(md.Name+md.Version, `/\`) {
		return nil, fmt.Errorf("chart name %q or version %q is not a file name", md.Name, md.Version)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	return writeChartFiles(output, opts, desc, checked, func(w layoutWriter) error {
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		return w.put(md.Name+"-"+md.Version+".tgz", size, tmp)
	})
}
