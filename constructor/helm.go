package constructor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/errdef"

	"github.com/ocmgo/ocm/constructor/helmchart"
	"github.com/ocmgo/ocm/reference"
)

// Media types of Helm charts stored as OCI artifacts (helm.sh/helm registry).
const (
	HelmConfigMediaType     = "application/vnd.cncf.helm.config.v1+json"
	HelmChartLayerMediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	HelmProvLayerMediaType  = "application/vnd.cncf.helm.chart.provenance.v1.prov"
)

// MaxPackagedChartSize caps a chart directory packaged in memory.
const MaxPackagedChartSize = 64 << 20

// HelmInput is the Helm/v1 input: a chart directory or a packaged chart
// (.tgz) becomes a native OCI Helm artifact, as the reference builds it: an
// image manifest whose config is {"name":..,"version":..} (only those two
// fields, unlike `helm push`, which stores all of Chart.yaml) and whose layer
// is the packaged chart, plus the provenance file <chart>.tgz.prov as a
// second layer when it exists next to a packaged chart.
//
// A directory is packaged as Helm v4's `helm package` does (chartutil.Save),
// byte for byte: .helmignore, Chart.yaml re-written from its parsed
// metadata, each entry stamped with its file's mtime. When SOURCE_DATE_EPOCH
// is set, later mtimes are clamped to it, and the manifest gets the
// annotation org.opencontainers.image.created from it; without it the
// manifest has no annotation, so it depends only on the chart. A packaged
// chart is used as the layer verbatim; only its Chart.yaml is read (with
// Helm's path checks), not the whole chart.
//
// With helmRepository the chart is downloaded (helmRemoteAccess) and stored
// like a packaged chart; caCert/caCertFile add a root certificate for it.
// repository (an upload location: an OCI reference whose tag must be the
// chart version) is validated as the reference validates it; like the
// reference CLI, which never reaches its upload path, the chart is still
// stored with the component version, with a warning.
type HelmInput struct {
	Path           string `json:"path,omitempty"`
	HelmRepository string `json:"helmRepository,omitempty"`
	Repository     string `json:"repository,omitempty"`
	Version        string `json:"version,omitempty"`
	CACert         string `json:"caCert,omitempty"`
	CACertFile     string `json:"caCertFile,omitempty"`
}

func checkHelm(p *parser, path string, m map[string]any) {
	hasPath, hasRepo := m["path"] != nil, m["helmRepository"] != nil
	switch {
	case hasPath && hasRepo:
		p.fail(path, "only one of path or helmRepository may be set")
	case !hasPath && !hasRepo:
		p.fail(join(path, "path"), "must be set (or helmRepository)")
	case hasPath:
		requirePath(p, path, m)
	}
}

func openHelm(ctx context.Context, raw []byte, w *where) (*Content, error) {
	var in HelmInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, w.wrap("", err)
	}
	var upload *reference.Image
	if in.Repository != "" {
		img, err := reference.ParseImage(in.Repository)
		if err != nil {
			return nil, w.wrap("repository", err)
		}
		if img.Tag == "" || img.Digest != "" {
			return nil, w.errorf("repository", "%q must name a tag (the chart version) and no digest", in.Repository)
		}
		upload = &img
	}
	sde, err := w.sourceDateEpoch()
	if err != nil {
		return nil, w.wrap("", err)
	}
	p := w.resolve(in.Path)
	field := "path"
	cleanup := func() error { return nil }
	if in.HelmRepository != "" {
		// A downloaded chart is a packaged chart: stored as is.
		if p, err = downloadChart(ctx, &in, w); err != nil {
			return nil, err
		}
		tmp := p
		cleanup = func() error { return os.Remove(tmp) }
		field = "helmRepository"
	}
	content, version, err := helmArtifact(ctx, p, field, sde, w)
	if err != nil {
		cleanup()
		return nil, err
	}
	content.Artifact.Close = cleanup
	if upload != nil {
		// As the reference: the tag must be the chart's version.
		if upload.Tag != version {
			cleanup()
			return nil, w.errorf("repository", "tag %q of %s does not match the chart version %q", upload.Tag, in.Repository, version)
		}
		content.Artifact.Upload = upload
	}
	return content, nil
}

// helmArtifact builds the OCI Helm artifact of the chart directory or
// archive at p; field names the input field p comes from.
func helmArtifact(ctx context.Context, p, field string, sde *time.Time, w *where) (*Content, string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, "", w.wrap(field, err)
	}
	store := newArtifactStore()
	var (
		meta   *helmchart.Metadata
		layers []ocispec.Descriptor
	)
	if fi.IsDir() {
		c, err := helmchart.LoadDir(p)
		if err != nil {
			return nil, "", w.errorf(field, "loading chart %s: %v", p, err)
		}
		tgz, err := helmchart.Package(c, sde, MaxPackagedChartSize)
		if err != nil {
			return nil, "", w.errorf(field, "packaging chart %s: %v", p, err)
		}
		layer, err := store.pushBytes(ctx, HelmChartLayerMediaType, tgz)
		if err != nil {
			return nil, "", w.wrap(field, err)
		}
		meta, layers = c.Metadata(), []ocispec.Descriptor{layer}
	} else {
		if meta, err = packagedChartMetadata(p); err != nil {
			return nil, "", w.errorf(field, "loading chart %s: %v", p, err)
		}
		layer, err := store.addFile(HelmChartLayerMediaType, p)
		if err != nil {
			return nil, "", w.wrap(field, err)
		}
		layers = append(layers, layer)
		if _, err := os.Stat(p + ".prov"); err == nil {
			prov, err := store.addFile(HelmProvLayerMediaType, p+".prov")
			if err != nil {
				return nil, "", w.wrap(field, err)
			}
			layers = append(layers, prov)
		}
	}

	cfg, err := json.Marshal(struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}{meta.Name, meta.Version})
	if err != nil {
		return nil, "", w.wrap("", err)
	}
	cfgDesc, err := store.pushBytes(ctx, HelmConfigMediaType, cfg)
	if err != nil {
		return nil, "", w.wrap("", err)
	}
	manifest := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    cfgDesc,
		Layers:    layers,
	}
	if sde != nil {
		manifest.Annotations = map[string]string{ocispec.AnnotationCreated: sde.Format(time.RFC3339)}
	}
	mdata, err := json.Marshal(manifest)
	if err != nil {
		return nil, "", w.wrap("", err)
	}
	root, err := store.pushBytes(ctx, ocispec.MediaTypeImageManifest, mdata)
	if err != nil {
		return nil, "", w.wrap("", err)
	}
	return &Content{Artifact: &Artifact{Root: root, Store: store, Close: func() error { return nil }}}, meta.Version, nil
}

// artifactStore holds small blobs in memory and streams files from disk.
type artifactStore struct {
	mem   *memory.Store
	files map[digest.Digest]fileBlob
}

type fileBlob struct {
	path string
	desc ocispec.Descriptor
}

func newArtifactStore() *artifactStore {
	return &artifactStore{mem: memory.New(), files: map[digest.Digest]fileBlob{}}
}

func (s *artifactStore) pushBytes(ctx context.Context, mediaType string, data []byte) (ocispec.Descriptor, error) {
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
	if err := s.mem.Push(ctx, d, bytes.NewReader(data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return ocispec.Descriptor{}, err
	}
	return d, nil
}

// addFile hashes a file once; Fetch streams it again, verifying the digest.
func (s *artifactStore) addFile(mediaType, p string) (ocispec.Descriptor, error) {
	f, err := os.Open(p)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.NewDigest(digest.SHA256, h), Size: n}
	s.files[d.Digest] = fileBlob{path: p, desc: d}
	return d, nil
}

// Fetch implements content.Fetcher.
func (s *artifactStore) Fetch(ctx context.Context, target ocispec.Descriptor) (io.ReadCloser, error) {
	if fb, ok := s.files[target.Digest]; ok {
		f, err := os.Open(fb.path)
		if err != nil {
			return nil, err
		}
		return &verifyingFile{f: f, verifier: fb.desc.Digest.Verifier(), want: fb.desc}, nil
	}
	return s.mem.Fetch(ctx, target)
}

// Exists implements content.ReadOnlyStorage.
func (s *artifactStore) Exists(ctx context.Context, target ocispec.Descriptor) (bool, error) {
	if _, ok := s.files[target.Digest]; ok {
		return true, nil
	}
	return s.mem.Exists(ctx, target)
}

// verifyingFile fails at EOF if the file no longer has the digest it had.
// (It does not embed *os.File, whose WriteTo would bypass Read.)
type verifyingFile struct {
	f        *os.File
	verifier digest.Verifier
	want     ocispec.Descriptor
	n        int64
}

func (v *verifyingFile) Read(p []byte) (int, error) {
	n, err := v.f.Read(p)
	v.n += int64(n)
	_, _ = v.verifier.Write(p[:n])
	if errors.Is(err, io.EOF) && (v.n != v.want.Size || !v.verifier.Verified()) {
		return n, fmt.Errorf("%s changed since it was read (expected %s, %d bytes)", v.f.Name(), v.want.Digest, v.want.Size)
	}
	return n, err
}

func (v *verifyingFile) Close() error { return v.f.Close() }

// packagedChartMetadata reads and validates Chart.yaml of the packaged chart file.
func packagedChartMetadata(file string) (*helmchart.Metadata, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return helmchart.ReadMetadata(f)
}
