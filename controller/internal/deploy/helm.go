package deploy

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartv2util "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// MaxChartSize caps a packaged chart read into memory; the Helm loader
// needs the whole chart, and charts are small (the library's constructor
// refuses to package more than this too).
const MaxChartSize = 64 << 20

// Media types of a Helm chart stored as an OCI artifact.
const (
	helmChartLayerMediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	maxLayoutJSON           = 4 << 20
)

// HelmOptions parameterise rendering: a release is never installed, the
// templates are rendered client-side like `helm template`.
type HelmOptions struct {
	ReleaseName string
	Namespace   string
	// Values override the chart's values.yaml.
	Values map[string]any
	// KubeVersion for .Capabilities; the Helm default when empty.
	KubeVersion string
	// APIVersions for .Capabilities.APIVersions (group/version and
	// group/version/Kind); Helm's defaults when empty.
	APIVersions []string
	// SkipHooks leaves hooks out; without it a chart with hooks (other
	// than test hooks, which are never run) is refused, naming them: a
	// rendered chart has no release to run them around.
	SkipHooks bool
}

// ErrHooks is wrapped by the error of a chart with hooks that are not
// skipped.
var ErrHooks = errors.New("the chart has hooks")

// RenderChart renders a loaded chart: CRDs from crds/ first, then the
// templates in Helm's install order. Test hooks are left out; other hooks
// are refused unless opts.SkipHooks.
func RenderChart(ctx context.Context, c *chartv2.Chart, opts HelmOptions) ([]*unstructured.Unstructured, error) {
	if opts.ReleaseName == "" {
		opts.ReleaseName = c.Name()
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	vals := opts.Values
	if vals == nil {
		vals = map[string]any{}
	}
	if err := chartv2util.ProcessDependencies(c, vals); err != nil {
		return nil, fmt.Errorf("chart %s: processing dependencies: %w", c.Name(), err)
	}
	caps := common.DefaultCapabilities
	if opts.KubeVersion != "" {
		kv, err := common.ParseKubeVersion(opts.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("kube version %q: %w", opts.KubeVersion, err)
		}
		caps = caps.Copy()
		caps.KubeVersion = *kv
	}
	if len(opts.APIVersions) > 0 {
		caps = caps.Copy()
		caps.APIVersions = append(common.VersionSet{}, opts.APIVersions...)
	}
	top, err := chartutil.ToRenderValues(c, vals, common.ReleaseOptions{
		Name: opts.ReleaseName, Namespace: opts.Namespace, Revision: 1, IsInstall: true,
	}, caps)
	if err != nil {
		return nil, fmt.Errorf("chart %s: values: %w", c.Name(), err)
	}
	files, err := engine.Engine{}.RenderWithContext(ctx, c, top)
	if err != nil {
		return nil, fmt.Errorf("chart %s: rendering: %w", c.Name(), err)
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, fmt.Errorf("chart %s: parsing rendered manifests: %w", c.Name(), err)
	}
	if !opts.SkipHooks {
		var named []string
		for _, h := range hooks {
			if slices.ContainsFunc(h.Events, func(e releasev1.HookEvent) bool { return e != releasev1.HookTest }) {
				named = append(named, fmt.Sprintf("%s %s (%s, %v)", h.Kind, h.Name, h.Path, h.Events))
			}
		}
		if len(named) > 0 {
			return nil, fmt.Errorf("chart %s: %w that a rendered chart cannot run: %s; skip them explicitly (hooks: Skip) or deploy without them", c.Name(), ErrHooks, strings.Join(named, ", "))
		}
	}

	var out []*unstructured.Unstructured
	collect := func(u *unstructured.Unstructured) error {
		out = append(out, u)
		return nil
	}
	crds := c.CRDObjects()
	sort.Slice(crds, func(i, j int) bool { return crds[i].Filename < crds[j].Filename })
	for _, crd := range crds {
		if err := DecodeManifests(bytes.NewReader(crd.File.Data), crd.Filename, collect); err != nil {
			return nil, fmt.Errorf("chart %s: %w", c.Name(), err)
		}
	}
	for _, m := range manifests {
		if err := DecodeManifests(strings.NewReader(m.Content), m.Name, collect); err != nil {
			return nil, fmt.Errorf("chart %s: %w", c.Name(), err)
		}
	}
	return out, nil
}

// helmSource renders lazily and once; rendered charts are small.
type helmSource struct {
	path   string
	format Format
	opts   HelmOptions
	objs   SliceSource
}

func openHelm(p string, format Format, opts HelmOptions) (Source, error) {
	return &helmSource{path: p, format: format, opts: opts}, nil
}

func (h *helmSource) Each(ctx context.Context, fn func(*unstructured.Unstructured) error) error {
	if h.objs == nil {
		c, err := LoadChart(h.path, h.format)
		if err != nil {
			return err
		}
		objs, err := RenderChart(ctx, c, h.opts)
		if err != nil {
			return err
		}
		h.objs = objs
	}
	return h.objs.Each(ctx, fn)
}

// LoadChart loads a packaged chart, or the chart layer of an OCI layout tar
// (what the library writes for a native Helm artifact).
func LoadChart(p string, format Format) (*chartv2.Chart, error) {
	if format == FormatHelmChart {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("opening chart: %w", err)
		}
		defer f.Close()
		return loadArchive(f)
	}
	index, err := readLayoutEntry(p, "index.json", maxLayoutJSON)
	if err != nil {
		return nil, err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(index, &idx); err != nil {
		return nil, fmt.Errorf("OCI layout index.json: %w", err)
	}
	if len(idx.Manifests) != 1 {
		return nil, fmt.Errorf("OCI layout holds %d manifests, want exactly one chart", len(idx.Manifests))
	}
	raw, err := readLayoutBlob(p, idx.Manifests[0], maxLayoutJSON)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("OCI layout manifest: %w", err)
	}
	for _, l := range m.Layers {
		if l.MediaType != helmChartLayerMediaType {
			continue
		}
		data, err := readLayoutBlob(p, l, MaxChartSize)
		if err != nil {
			return nil, err
		}
		return loadArchive(bytes.NewReader(data))
	}
	return nil, fmt.Errorf("OCI artifact has no %s layer, so it is no Helm chart", helmChartLayerMediaType)
}

func loadArchive(r io.Reader) (*chartv2.Chart, error) {
	c, err := loader.LoadArchive(io.LimitReader(r, MaxChartSize))
	if err != nil {
		return nil, fmt.Errorf("loading chart: %w", err)
	}
	return c, nil
}

func readLayoutBlob(p string, d ocispec.Descriptor, limit int64) ([]byte, error) {
	if err := d.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("OCI layout: descriptor digest %q: %w", d.Digest, err)
	}
	if d.Size > limit {
		return nil, fmt.Errorf("OCI layout: blob %s has %d bytes, more than the %d allowed", d.Digest, d.Size, limit)
	}
	data, err := readLayoutEntry(p, path.Join("blobs", string(d.Digest.Algorithm()), d.Digest.Encoded()), limit)
	if err != nil {
		return nil, err
	}
	// The layout was verified on download; checking again costs little for
	// these small blobs and catches a cache file damaged on disk.
	if got := d.Digest.Algorithm().FromBytes(data); got != d.Digest {
		return nil, fmt.Errorf("OCI layout: blob %s has digest %s", d.Digest, got)
	}
	return data, nil
}

// readLayoutEntry reads one regular file of the (optionally gzipped) layout tar.
func readLayoutEntry(p, name string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("opening OCI layout: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var in io.Reader = br
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("OCI layout: %w", err)
		}
		defer zr.Close()
		in = zr
	}
	tr := tar.NewReader(in)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("OCI layout: no %s", name)
		}
		if err != nil {
			return nil, fmt.Errorf("OCI layout: %w", err)
		}
		if strings.TrimPrefix(path.Clean(h.Name), "./") != name || h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size > limit {
			return nil, fmt.Errorf("OCI layout: %s has %d bytes, more than the %d allowed", name, h.Size, limit)
		}
		return io.ReadAll(io.LimitReader(tr, limit))
	}
}
