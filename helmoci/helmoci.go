// Package helmoci is the one conversion of a packaged Helm chart (.tgz) to
// an OCI Helm artifact, and its inverse check. The conversion is a
// function of the chart alone: config {"name","version"} from the chart's
// Chart.yaml (as the reference implementation writes it), the chart as the
// only content layer (plus the provenance file when there is one), no
// annotations. So a chart that was signed as a .tgz (genericBlobDigest/v1
// of the archive, as Helm repositories list it) can travel as a pullable
// OCI artifact and still be verified against the signed digest: ChartDigest
// accepts an artifact only if it is exactly the conversion of its chart.
package helmoci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"sigs.k8s.io/yaml"
)

// Media types of Helm charts stored as OCI artifacts (helm.sh/helm registry).
const (
	ConfigMediaType     = "application/vnd.cncf.helm.config.v1+json"
	ChartLayerMediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	ProvLayerMediaType  = "application/vnd.cncf.helm.chart.provenance.v1.prov"
)

// ErrNotConversion marks an artifact that is not the conversion of its chart.
var ErrNotConversion = errors.New("not the OCI conversion of its chart")

// maxChartYAML bounds the Chart.yaml read from an archive.
const maxChartYAML = 1 << 20

// Config is the config blob of a chart.
func Config(name, version string) []byte {
	data, _ := json.Marshal(struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}{name, version})
	return data
}

// Manifest is the manifest of a chart artifact with the given config,
// chart layer and optional provenance layer.
func Manifest(config, chart ocispec.Descriptor, prov *ocispec.Descriptor) []byte {
	layers := []ocispec.Descriptor{chart}
	if prov != nil {
		layers = append(layers, *prov)
	}
	data, _ := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    config,
		Layers:    layers,
	})
	return data
}

// Metadata is a chart's name and version.
type Metadata struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// ReadMetadata reads <chart>/Chart.yaml from a packaged chart, draining
// the rest of r (so that a hash over r covers the whole archive).
func ReadMetadata(r io.Reader) (*Metadata, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("chart archive: %w", err)
	}
	tr := tar.NewReader(zr)
	var md *Metadata
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("chart archive: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		dir, file, ok := strings.Cut(name, "/")
		if md != nil || !ok || dir == ".." || file != "Chart.yaml" || h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxChartYAML+1))
		if err != nil {
			return nil, fmt.Errorf("chart archive: %w", err)
		}
		if len(data) > maxChartYAML {
			return nil, fmt.Errorf("chart archive: %s is larger than %d bytes", h.Name, maxChartYAML)
		}
		md = new(Metadata)
		if err := yaml.Unmarshal(data, md); err != nil {
			return nil, fmt.Errorf("chart archive: %s: %w", h.Name, err)
		}
		if md.Name == "" || md.Version == "" {
			return nil, fmt.Errorf("chart archive: %s has no name or version", h.Name)
		}
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return nil, fmt.Errorf("chart archive: %w", err)
	}
	if md == nil {
		return nil, errors.New("chart archive has no <chart>/Chart.yaml")
	}
	return md, nil
}

// Parsed is a chart artifact's manifest, split up.
type Parsed struct {
	Config ocispec.Descriptor
	Chart  ocispec.Descriptor
	Prov   *ocispec.Descriptor
}

// Parse recognises a chart artifact manifest: Helm's config media type
// and one chart layer (a provenance layer may follow). ok is false for
// anything else.
func Parse(manifest []byte) (p *Parsed, ok bool) {
	var m ocispec.Manifest
	if json.Unmarshal(manifest, &m) != nil || m.Config.MediaType != ConfigMediaType {
		return nil, false
	}
	p = &Parsed{Config: m.Config}
	for i, l := range m.Layers {
		switch {
		case i == 0 && l.MediaType == ChartLayerMediaType:
			p.Chart = l
		case i == 1 && l.MediaType == ProvLayerMediaType:
			l := l
			p.Prov = &l
		default:
			return nil, false
		}
	}
	return p, p.Chart.Digest != ""
}

// CheckConversion checks that manifest is exactly the conversion of a
// chart with metadata md and the given config blob: then the chart
// layer's digest (which the caller verified against the chart bytes it
// read md from) stands for the whole artifact.
func CheckConversion(manifest []byte, p *Parsed, config []byte, md *Metadata) error {
	want := Config(md.Name, md.Version)
	if !bytes.Equal(config, want) {
		return fmt.Errorf("%w: config %s is not %s", ErrNotConversion, config, want)
	}
	cfg := ocispec.Descriptor{MediaType: ConfigMediaType, Digest: digest.FromBytes(want), Size: int64(len(want))}
	chart := ocispec.Descriptor{MediaType: ChartLayerMediaType, Digest: p.Chart.Digest, Size: p.Chart.Size}
	var prov *ocispec.Descriptor
	if p.Prov != nil {
		prov = &ocispec.Descriptor{MediaType: ProvLayerMediaType, Digest: p.Prov.Digest, Size: p.Prov.Size}
	}
	if !bytes.Equal(manifest, Manifest(cfg, chart, prov)) {
		return fmt.Errorf("%w: manifest %s differs from the conversion of chart %s %s", ErrNotConversion, digest.FromBytes(manifest), md.Name, md.Version)
	}
	return nil
}

// maxManifest bounds manifests and configs read into memory.
const maxManifest = 4 << 20

// ReadSmall fetches a manifest or config blob, verified against desc.
func ReadSmall(ctx context.Context, f content.Fetcher, desc ocispec.Descriptor) ([]byte, error) {
	if desc.Size < 0 || desc.Size > maxManifest {
		return nil, fmt.Errorf("%s %s has size %d, outside 0..%d", desc.MediaType, desc.Digest, desc.Size, maxManifest)
	}
	rc, err := f.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return content.ReadAll(rc, desc)
}

// ChartDigest checks that the artifact root is exactly the conversion of
// its chart, streaming every blob against its descriptor, and returns the
// chart archive's digest. An artifact that is no chart, or not the
// conversion of one, fails with ErrNotConversion.
func ChartDigest(ctx context.Context, f content.Fetcher, root ocispec.Descriptor) (digest.Digest, error) {
	if root.MediaType != ocispec.MediaTypeImageManifest {
		return "", fmt.Errorf("%w: %s is a %s", ErrNotConversion, root.Digest, root.MediaType)
	}
	manifest, err := ReadSmall(ctx, f, root)
	if err != nil {
		return "", err
	}
	p, ok := Parse(manifest)
	if !ok {
		return "", fmt.Errorf("%w: %s is not a Helm chart artifact", ErrNotConversion, root.Digest)
	}
	config, err := ReadSmall(ctx, f, p.Config)
	if err != nil {
		return "", err
	}
	rc, err := f.Fetch(ctx, p.Chart)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	vr := content.NewVerifyReader(rc, p.Chart)
	md, err := ReadMetadata(vr)
	if err != nil {
		return "", fmt.Errorf("chart layer %s: %w", p.Chart.Digest, err)
	}
	if _, err := io.Copy(io.Discard, vr); err != nil {
		return "", fmt.Errorf("chart layer %s: %w", p.Chart.Digest, err)
	}
	if err := vr.Verify(); err != nil {
		return "", fmt.Errorf("chart layer %s: %w", p.Chart.Digest, err)
	}
	if p.Prov != nil {
		if _, err := ReadSmall(ctx, f, *p.Prov); err != nil {
			return "", fmt.Errorf("provenance layer %s: %w", p.Prov.Digest, err)
		}
	}
	if err := CheckConversion(manifest, p, config, md); err != nil {
		return "", err
	}
	return p.Chart.Digest, nil
}
