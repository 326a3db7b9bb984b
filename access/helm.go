package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/descriptor"
)

// Media types of Helm charts (those Helm uses in OCI registries).
const (
	MediaTypeHelmChart  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	MediaTypeHelmConfig = "application/vnd.cncf.helm.config.v1+json"
)

// helmOCIReference is the image reference of a chart in an oci://
// repository (ok false for HTTP(S) repositories).
func helmOCIReference(h *descriptor.HelmAccess) (string, bool, error) {
	rest, ok := strings.CutPrefix(h.HelmRepository, "oci://")
	if !ok {
		return "", false, nil
	}
	version := h.ChartVersion()
	if version == "" {
		return "", true, fmt.Errorf("chart %s in %s: an oci:// repository needs a chart version (helmChart name:version or version)", h.ChartName(), h.HelmRepository)
	}
	// OCI tags cannot hold "+", Helm writes "_" instead.
	return strings.TrimSuffix(rest, "/") + "/" + h.ChartName() + ":" + strings.ReplaceAll(version, "+", "_"), true, nil
}

func (f *Fetcher) resolveHelm(ctx context.Context, acc *descriptor.Typed) (*Resolved, error) {
	h, err := acc.Helm()
	if err != nil {
		return nil, err
	}
	if ref, ok, err := helmOCIReference(h); ok || err != nil {
		if err != nil {
			return nil, err
		}
		a, err := f.artifact(ctx, ref)
		if err != nil {
			return nil, err
		}
		return &Resolved{Access: acc, Digest: manifestDigest(a.Root), MediaType: a.Root.MediaType, Size: a.Root.Size}, nil
	}
	b, err := f.openHelm(ctx, acc)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return hashBlob(acc, b)
}

func (f *Fetcher) openHelm(ctx context.Context, acc *descriptor.Typed) (*Blob, error) {
	h, err := acc.Helm()
	if err != nil {
		return nil, err
	}
	if ref, ok, err := helmOCIReference(h); ok || err != nil {
		if err != nil {
			return nil, err
		}
		return f.openHelmOCI(ctx, ref)
	}
	return f.openHelmHTTP(ctx, h)
}

func (f *Fetcher) openHelmHTTP(ctx context.Context, h *descriptor.HelmAccess) (*Blob, error) {
	repo := strings.TrimSuffix(h.HelmRepository, "/")
	u, err := url.Parse(repo)
	if err != nil {
		return nil, fmt.Errorf("helm repository %s: %w", safeURLString(repo), err)
	}
	indexURL := repo + "/index.yaml"
	where := safeURL(u) + "/index.yaml"
	resp, err := f.do(ctx, httpRequest{url: indexURL, consumer: ConsumerHelmChartRepository, credURL: repo})
	if err != nil {
		return nil, fmt.Errorf("helm repository %s: %w", safeURL(u), err)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxIndexSize+1))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", where, err)
	}
	if len(data) > maxIndexSize {
		return nil, fmt.Errorf("index %s: larger than %d bytes", where, maxIndexSize)
	}
	ix, err := parseHelmIndex(data, where)
	if err != nil {
		return nil, err
	}
	e, err := ix.lookup(h.ChartName(), h.ChartVersion(), where)
	if err != nil {
		return nil, err
	}
	chartURL, err := e.chartURL(repo)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", where, err)
	}
	want, err := e.indexDigest()
	if err != nil && !errors.Is(err, errNoDigest) {
		return nil, fmt.Errorf("index %s: %w", where, err)
	}
	resp, err = f.do(ctx, httpRequest{url: chartURL, consumer: ConsumerHelmChartRepository, credURL: repo})
	if err != nil {
		return nil, fmt.Errorf("chart %s version %s: %w", e.Name, e.Version, err)
	}
	b := &Blob{ReadCloser: resp.Body, Size: resp.ContentLength, MediaType: MediaTypeHelmChart, Source: safeURLString(chartURL)}
	if want != "" {
		// The index names the archive's digest: check it while streaming.
		vr, err := NewVerifyingReader(resp.Body, "sha256", want, fmt.Sprintf("chart %s version %s (digest in %s)", e.Name, e.Version, where))
		if err != nil {
			resp.Body.Close()
			return nil, err
		}
		b.ReadCloser = vr
	}
	return b, nil
}

func (f *Fetcher) openHelmOCI(ctx context.Context, ref string) (*Blob, error) {
	a, err := f.artifact(ctx, ref)
	if err != nil {
		return nil, err
	}
	if a.Root.MediaType != ocispec.MediaTypeImageManifest {
		return nil, fmt.Errorf("chart %s: a %s, not an OCI image manifest", a.Reference, a.Root.MediaType)
	}
	var m ocispec.Manifest
	if err := fetchJSON(ctx, a, a.Root, &m); err != nil {
		return nil, fmt.Errorf("chart %s: %w", a.Reference, err)
	}
	for _, l := range m.Layers {
		if l.MediaType != MediaTypeHelmChart {
			continue
		}
		rc, err := a.Registry.Fetch(ctx, a.Repository, l)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", a.Reference, err)
		}
		vr, err := NewVerifyingReader(rc, string(l.Digest.Algorithm()), l.Digest.Encoded(), "chart layer "+l.Digest.String()+" of "+a.Reference)
		if err != nil {
			rc.Close()
			return nil, err
		}
		return &Blob{ReadCloser: vr, Size: l.Size, MediaType: MediaTypeHelmChart, Source: a.Reference}, nil
	}
	return nil, fmt.Errorf("chart %s: %w: the manifest has no %s layer", a.Reference, ErrNotFound, MediaTypeHelmChart)
}

// maxManifestSize bounds manifests read into memory (as registries do).
const maxManifestSize = 4 << 20

// fetchJSON reads a manifest, verified against its descriptor, into v.
func fetchJSON(ctx context.Context, a *Artifact, d ocispec.Descriptor, v any) error {
	if d.Size > maxManifestSize {
		return fmt.Errorf("manifest %s: %d bytes is too large", d.Digest, d.Size)
	}
	rc, err := a.Registry.Fetch(ctx, a.Repository, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	vr, err := NewVerifyingReader(rc, string(d.Digest.Algorithm()), d.Digest.Encoded(), "manifest "+d.Digest.String())
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(vr, maxManifestSize))
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
