package ocimap

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"

	"github.com/ocmgo/ocm/descriptor"
)

// DescriptorPrefix is the repository path element under which component
// descriptors live: <prefix>/<component name>.
const DescriptorPrefix = "component-descriptors"

// Size limits for metadata read into memory; blobs are always streamed.
const (
	maxManifestSize   = 4 << 20
	maxDescriptorSize = 32 << 20
)

// ToTag maps a version to an OCI tag: "+" (not allowed in tags) becomes ".build-".
func ToTag(version string) string { return strings.Replace(version, "+", ".build-", 1) }

// ToVersion maps a tag back to a version: the last ".build-" becomes "+".
func ToVersion(tag string) string {
	if i := strings.LastIndex(tag, ".build-"); i >= 0 {
		return tag[:i] + "+" + tag[i+len(".build-"):]
	}
	return tag
}

// RepositoryName is the OCI repository holding a component's versions.
func RepositoryName(component string) string { return DescriptorPrefix + "/" + component }

// Repository reads component versions from a Store laid out per the OCM OCI mapping.
type Repository struct {
	store Store
	// where names the store in errors ("CTF archive /x").
	where string

	mu    sync.Mutex
	cache map[string]*ComponentVersion
	// referred holds versions found only through the referrers of the
	// Component Index (no tag), by "component:version".
	referred map[string]ocispec.Descriptor
}

// New returns a component version repository over store; where names the
// store in error messages.
func New(store Store, where string) *Repository {
	return &Repository{store: store, where: where, cache: map[string]*ComponentVersion{}}
}

// ComponentVersion is a component version as found in the store.
type ComponentVersion struct {
	Descriptor *descriptor.Descriptor
	// Repository is the OCI repository name.
	Repository string
	// Root is what the tag points to: the descriptor manifest or an image index.
	Root ocispec.Descriptor
	// Manifest is the descriptor manifest.
	Manifest ocispec.Manifest
	// Index is set when the version is stored as an image index (native OCI
	// artifacts among the local blobs).
	Index *ocispec.Index

	// raw holds the verified bytes of the manifest and index read, so that
	// Fetcher serves them again without a request.
	raw map[digest.Digest][]byte
	// tagged: found by its tag (not only through the Component Index).
	tagged bool
}

// ListComponents lists the components present in the store.
func (r *Repository) ListComponents(ctx context.Context) ([]string, error) {
	repos, err := r.store.Repositories(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, repo := range repos {
		if name, ok := strings.CutPrefix(repo, DescriptorPrefix+"/"); ok && name != "" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// ListVersions lists a component's versions in ascending semver order.
// Tags that are not versions (e.g. referrer tags) are skipped.
func (r *Repository) ListVersions(ctx context.Context, component string) ([]string, error) {
	tags, err := r.store.Tags(ctx, RepositoryName(component))
	if err != nil {
		if errors.Is(err, errdef.ErrNotFound) {
			return nil, notFoundf("component %s not found in %s", component, r.where)
		}
		return nil, fmt.Errorf("listing versions of %s in %s: %w", component, r.where, err)
	}
	var versions []string
	tagged := map[string]bool{}
	for _, tag := range tags {
		v := ToVersion(tag)
		if descriptor.ValidateVersion(v) == nil {
			versions = append(versions, v)
			tagged[v] = true
		}
	}
	// Hybrid enumeration: versions that name the Component Index as subject
	// count even without a tag (the tag may have been moved or removed).
	referred, err := r.referredVersions(ctx, component)
	if err != nil {
		return nil, fmt.Errorf("listing versions of %s in %s: %w", component, r.where, err)
	}
	for v, d := range referred {
		if tagged[v] || descriptor.ValidateVersion(v) != nil {
			continue
		}
		versions = append(versions, v)
		r.mu.Lock()
		if r.referred == nil {
			r.referred = map[string]ocispec.Descriptor{}
		}
		r.referred[component+":"+v] = d
		r.mu.Unlock()
	}
	SortVersions(versions)
	return versions, nil
}

// SortVersions sorts versions ascending by semver; unparsable ones go first, by string.
func SortVersions(versions []string) {
	// Each version is parsed once (a regular expression match), not once
	// per comparison.
	type parsed struct {
		s string
		v *semver.Version // nil: not a semantic version
	}
	ps := make([]parsed, len(versions))
	for i, s := range versions {
		v, err := semver.NewVersion(s)
		if err != nil {
			v = nil
		}
		ps[i] = parsed{s, v}
	}
	slices.SortStableFunc(ps, func(a, b parsed) int {
		switch {
		case a.v == nil && b.v == nil:
			return strings.Compare(a.s, b.s)
		case a.v == nil:
			return -1
		case b.v == nil:
			return 1
		}
		if c := a.v.Compare(b.v); c != 0 {
			return c
		}
		return strings.Compare(a.s, b.s)
	})
	for i := range ps {
		versions[i] = ps[i].s
	}
}

// GetComponentVersion reads and decodes the descriptor of component:version.
// Every manifest and the descriptor are verified against their digests.
// A missing version is an error matching errdef.ErrNotFound that lists the
// versions the component has.
func (r *Repository) GetComponentVersion(ctx context.Context, component, version string) (*ComponentVersion, error) {
	cv, ok, err := r.FindComponentVersion(ctx, component, version)
	if err == nil && !ok {
		err = r.notFound(ctx, component, version)
	}
	return cv, err
}

// FindComponentVersion is GetComponentVersion for existence checks: a
// missing version is (nil, false, nil). It costs what resolving the tag
// costs, not the listing of every version that GetComponentVersion's error
// carries, so checking many versions stays linear.
func (r *Repository) FindComponentVersion(ctx context.Context, component, version string) (*ComponentVersion, bool, error) {
	return r.find(ctx, component, version, true)
}

// FindTaggedVersion is FindComponentVersion for a version with a tag only:
// an untagged version (one the Component Index's referrers name) counts as
// missing, and a missing one costs a single request.
func (r *Repository) FindTaggedVersion(ctx context.Context, component, version string) (*ComponentVersion, bool, error) {
	return r.find(ctx, component, version, false)
}

func (r *Repository) find(ctx context.Context, component, version string, referred bool) (*ComponentVersion, bool, error) {
	key := component + ":" + version
	r.mu.Lock()
	cv, ok := r.cache[key]
	r.mu.Unlock()
	if ok && (referred || cv.tagged) {
		return cv, true, nil
	}
	cv, err := r.load(ctx, component, version, referred)
	if errors.Is(err, errNotTagged) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("component version %s:%s in %s: %w", component, version, r.where, err)
	}
	r.mu.Lock()
	r.cache[key] = cv
	r.mu.Unlock()
	return cv, true, nil
}

// resolveRoot resolves the version's tag, fetching the content too (one
// request instead of two) when the store can.
func (r *Repository) resolveRoot(ctx context.Context, repo, tag string) (ocispec.Descriptor, []byte, error) {
	rf, ok := r.store.(ReferenceFetcher)
	if !ok {
		root, err := r.store.Resolve(ctx, repo, tag)
		return root, nil, err
	}
	root, rc, err := rf.FetchReference(ctx, repo, tag)
	if err != nil {
		return root, nil, err
	}
	defer rc.Close()
	if !IsManifest(root.MediaType) {
		return root, nil, nil // reported by load
	}
	if root.Size < 0 || root.Size > maxManifestSize {
		return root, nil, fmt.Errorf("%s is %d bytes, outside 0..%d allowed for metadata", root.Digest, root.Size, maxManifestSize)
	}
	data, err := content.ReadAll(rc, root)
	if err != nil {
		return root, nil, fmt.Errorf("%s: %w", root.Digest, err)
	}
	return root, data, nil
}

func (r *Repository) load(ctx context.Context, component, version string, referred bool) (*ComponentVersion, error) {
	repo := RepositoryName(component)
	root, rootData, err := r.resolveRoot(ctx, repo, ToTag(version))
	tagged := err == nil
	if errors.Is(err, errdef.ErrNotFound) {
		var ok bool
		if !referred {
			return nil, errNotTagged
		}
		if root, ok = r.referredRoot(ctx, component, version); !ok {
			return nil, errNotTagged
		}
		err = nil
	}
	if err != nil {
		return nil, err
	}
	cv := &ComponentVersion{Repository: repo, Root: root, tagged: tagged, raw: map[digest.Digest][]byte{}}
	if rootData != nil {
		cv.raw[root.Digest] = rootData
	}
	manifestDesc := root
	switch root.MediaType {
	case ocispec.MediaTypeImageIndex:
		var idx ocispec.Index
		if err := r.rawJSON(ctx, cv, root, &idx); err != nil {
			return nil, fmt.Errorf("reading image index: %w", err)
		}
		cv.Index = &idx
		manifestDesc, err = descriptorManifest(idx)
		if err != nil {
			return nil, err
		}
	case ocispec.MediaTypeImageManifest, "application/vnd.docker.distribution.manifest.v2+json":
	default:
		return nil, fmt.Errorf("tag %s points to unsupported media type %q", ToTag(version), root.MediaType)
	}
	if err := r.rawJSON(ctx, cv, manifestDesc, &cv.Manifest); err != nil {
		return nil, fmt.Errorf("reading descriptor manifest: %w", err)
	}
	layer, err := r.descriptorLayer(ctx, repo, cv.Manifest)
	if err != nil {
		return nil, err
	}
	data, err := r.fetchAll(ctx, repo, layer, maxDescriptorSize)
	if err != nil {
		return nil, fmt.Errorf("reading descriptor layer: %w", err)
	}
	if descriptorLayerFormat(layer.MediaType) == formatTar {
		if data, err = untarDescriptor(data); err != nil {
			return nil, fmt.Errorf("descriptor layer %s: %w", layer.Digest, err)
		}
	}
	d, err := descriptor.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("descriptor layer %s: %w", layer.Digest, err)
	}
	if d.Component.Name != component || d.Component.Version != version {
		return nil, fmt.Errorf("descriptor layer %s describes %s:%s, not the version its tag names", layer.Digest, d.Component.Name, d.Component.Version)
	}
	cv.Descriptor = d
	return cv, nil
}

var errNotTagged = errors.New("no such tag")

// notFound explains a missing version: no such component, or which versions exist.
func (r *Repository) notFound(ctx context.Context, component, version string) error {
	versions, err := r.ListVersions(ctx, component)
	if err != nil || len(versions) == 0 {
		return notFoundf("component %s not found in %s", component, r.where)
	}
	return notFoundf("component version %s:%s not found in %s (versions: %s)", component, version, r.where, strings.Join(versions, ", "))
}

// notFoundError reads as its message and matches errdef.ErrNotFound.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }
func (e *notFoundError) Unwrap() error { return errdef.ErrNotFound }

func notFoundf(format string, args ...any) error {
	return &notFoundError{msg: fmt.Sprintf(format, args...)}
}

// descriptorManifest picks the descriptor manifest of an index: the one
// entry marked with the descriptor artifact type, else the first.
func descriptorManifest(idx ocispec.Index) (ocispec.Descriptor, error) {
	if len(idx.Manifests) == 0 {
		return ocispec.Descriptor{}, fmt.Errorf("image index has no manifests")
	}
	var marked []ocispec.Descriptor
	for _, m := range idx.Manifests {
		if m.ArtifactType == ArtifactTypeDescriptor {
			marked = append(marked, m)
		}
	}
	switch len(marked) {
	case 0:
		return idx.Manifests[0], nil
	case 1:
		return marked[0], nil
	}
	return ocispec.Descriptor{}, fmt.Errorf("image index marks %d manifests as component descriptor, expected one", len(marked))
}

func (r *Repository) descriptorLayer(ctx context.Context, repo string, m ocispec.Manifest) (ocispec.Descriptor, error) {
	if isComponentConfig(m.Config.MediaType) {
		if layer, ok := predictedConfig(m); ok {
			return layer, nil
		}
		var cfg struct {
			ComponentDescriptorLayer *ocispec.Descriptor `json:"componentDescriptorLayer"`
		}
		if err := r.fetchJSON(ctx, repo, m.Config, maxManifestSize, &cfg); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("reading component config: %w", err)
		}
		if cfg.ComponentDescriptorLayer != nil && cfg.ComponentDescriptorLayer.Digest != "" {
			if descriptorLayerFormat(cfg.ComponentDescriptorLayer.MediaType) == formatUnknown {
				return ocispec.Descriptor{}, fmt.Errorf("component config names descriptor layer media type %q, which is not a component descriptor", cfg.ComponentDescriptorLayer.MediaType)
			}
			return *cfg.ComponentDescriptorLayer, nil
		}
	}
	if len(m.Layers) == 0 {
		return ocispec.Descriptor{}, fmt.Errorf("descriptor manifest has no layers")
	}
	if descriptorLayerFormat(m.Layers[0].MediaType) == formatUnknown {
		return ocispec.Descriptor{}, fmt.Errorf("first layer has media type %q, which is not a component descriptor", m.Layers[0].MediaType)
	}
	return m.Layers[0], nil
}

// predictedConfig spares the request for the component config: the OCM
// writers (ours, the reference's, OCM v1) encode it as exactly
// configBytes(layer) for the descriptor layer. When that encoding of one of
// the manifest's descriptor layers has the config's digest and size, the
// config is known without reading it (its content is fixed by the digest,
// just as a fetched one is checked against it); otherwise it is read.
func predictedConfig(m ocispec.Manifest) (ocispec.Descriptor, bool) {
	for _, l := range m.Layers {
		if descriptorLayerFormat(l.MediaType) == formatUnknown {
			continue
		}
		cfg := configBytes(l)
		if int64(len(cfg)) == m.Config.Size && m.Config.Digest.Validate() == nil && m.Config.Digest.Algorithm().FromBytes(cfg) == m.Config.Digest {
			return ocispec.Descriptor{MediaType: l.MediaType, Digest: l.Digest, Size: l.Size}, true
		}
	}
	return ocispec.Descriptor{}, false
}

// configBytes is the component config naming layer as its descriptor layer.
func configBytes(layer ocispec.Descriptor) []byte {
	cfg, _ := json.Marshal(map[string]ocispec.Descriptor{"componentDescriptorLayer": {MediaType: layer.MediaType, Digest: layer.Digest, Size: layer.Size}})
	return cfg
}

// LocalBlob finds the layer or manifest holding a local blob: exactly one
// descriptor reachable from the version whose digest is localReference.
func (cv *ComponentVersion) LocalBlob(localReference string) (ocispec.Descriptor, error) {
	dg, err := ParseLocalReference(localReference)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	var found []ocispec.Descriptor
	for i, l := range cv.Manifest.Layers {
		if i > 0 && l.Digest == dg {
			found = append(found, l)
		}
	}
	if cv.Index != nil {
		for _, m := range cv.Index.Manifests {
			if m.Digest == dg && m.ArtifactType != ArtifactTypeDescriptor {
				found = append(found, m)
			}
		}
	}
	switch len(found) {
	case 0:
		return ocispec.Descriptor{}, notFoundf("local blob %s is not part of component version %s:%s", dg, cv.Descriptor.Component.Name, cv.Descriptor.Component.Version)
	case 1:
		return found[0], nil
	}
	// The same content listed twice (e.g. two resources sharing a blob) is one blob.
	for _, f := range found[1:] {
		if f.Size != found[0].Size || f.MediaType != found[0].MediaType {
			return ocispec.Descriptor{}, fmt.Errorf("local blob %s is listed %d times with different sizes or media types", dg, len(found))
		}
	}
	return found[0], nil
}

// ParseLocalReference accepts "sha256:<hex>" and the component-archive form "sha256.<hex>".
func ParseLocalReference(ref string) (digest.Digest, error) {
	s := ref
	if !strings.Contains(s, ":") {
		if alg, hex, ok := strings.Cut(s, "."); ok {
			s = alg + ":" + hex
		}
	}
	dg, err := digest.Parse(s)
	if err != nil {
		return "", fmt.Errorf("localReference %q is not a digest: %w", ref, err)
	}
	return dg, nil
}

// Fetcher returns a content fetcher for the component version's repository,
// used to stream local blobs and the graphs of native OCI artifacts.
func (r *Repository) Fetcher(cv *ComponentVersion) content.Fetcher {
	return repoFetcher{store: r.store, repo: cv.Repository, raw: cv.raw}
}

// referredRoot finds an untagged version through the referrers of the
// Component Index.
func (r *Repository) referredRoot(ctx context.Context, component, version string) (ocispec.Descriptor, bool) {
	key := component + ":" + version
	r.mu.Lock()
	d, ok := r.referred[key]
	r.mu.Unlock()
	if ok {
		return d, true
	}
	referred, err := r.referredVersions(ctx, component)
	if err != nil {
		return ocispec.Descriptor{}, false
	}
	d, ok = referred[version]
	return d, ok
}

// Subject is the OCI subject of the version's top-level manifest or index.
func (cv *ComponentVersion) Subject() *ocispec.Descriptor {
	if cv.Index != nil {
		return cv.Index.Subject
	}
	return cv.Manifest.Subject
}

// StoreFetcher fetches content of one repository of store.
func StoreFetcher(store Store, repository string) content.Fetcher {
	return repoFetcher{store: store, repo: repository}
}

type repoFetcher struct {
	store Store
	repo  string
	raw   map[digest.Digest][]byte // verified content served without a request (read only)
}

func (f repoFetcher) Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	if data, ok := f.raw[desc.Digest]; ok && int64(len(data)) == desc.Size {
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	return f.store.Fetch(ctx, f.repo, desc)
}

func (r *Repository) fetchAll(ctx context.Context, repo string, desc ocispec.Descriptor, limit int64) ([]byte, error) {
	if desc.Size > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d allowed for metadata", desc.Digest, desc.Size, limit)
	}
	if desc.Size < 0 {
		return nil, fmt.Errorf("%s has negative size %d", desc.Digest, desc.Size)
	}
	rc, err := r.store.Fetch(ctx, repo, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// ReadAll checks both size and digest.
	data, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", desc.Digest, err)
	}
	return data, nil
}

// rawJSON decodes a manifest or index of cv, fetched (and kept in cv.raw)
// unless cv.raw has it.
func (r *Repository) rawJSON(ctx context.Context, cv *ComponentVersion, desc ocispec.Descriptor, v any) error {
	data, ok := cv.raw[desc.Digest]
	if !ok {
		var err error
		if data, err = r.fetchAll(ctx, cv.Repository, desc, maxManifestSize); err != nil {
			return err
		}
		cv.raw[desc.Digest] = data
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", desc.Digest, err)
	}
	return nil
}

func (r *Repository) fetchJSON(ctx context.Context, repo string, desc ocispec.Descriptor, limit int64, v any) error {
	data, err := r.fetchAll(ctx, repo, desc, limit)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", desc.Digest, err)
	}
	return nil
}

// untarDescriptor extracts component-descriptor.yaml from the v1 tar layer.
func untarDescriptor(data []byte) ([]byte, error) {
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("tar has no component-descriptor.yaml")
		}
		if err != nil {
			return nil, fmt.Errorf("reading descriptor tar: %w", err)
		}
		if strings.TrimPrefix(h.Name, "./") == "component-descriptor.yaml" && h.Typeflag == tar.TypeReg {
			return io.ReadAll(io.LimitReader(tr, maxDescriptorSize))
		}
	}
}
