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
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"

	"github.com/ocmgo/ocm/descriptor"
)

// memStore is an in-memory Store for unit tests of the mapping logic.
type memStore struct {
	blobs map[digest.Digest][]byte
	tags  map[string]map[string]ocispec.Descriptor
}

func newMemStore() *memStore {
	return &memStore{blobs: map[digest.Digest][]byte{}, tags: map[string]map[string]ocispec.Descriptor{}}
}

func (m *memStore) put(mediaType string, data []byte) ocispec.Descriptor {
	d := digest.FromBytes(data)
	m.blobs[d] = data
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}
}

func (m *memStore) putJSON(mediaType string, v any) ocispec.Descriptor {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return m.put(mediaType, data)
}

func (m *memStore) tag(repo, tag string, d ocispec.Descriptor) {
	if m.tags[repo] == nil {
		m.tags[repo] = map[string]ocispec.Descriptor{}
	}
	m.tags[repo][tag] = d
}

func (m *memStore) Repositories(context.Context) ([]string, error) {
	var out []string
	for r := range m.tags {
		out = append(out, r)
	}
	slices.Sort(out)
	return out, nil
}

func (m *memStore) Tags(_ context.Context, repo string) ([]string, error) {
	t, ok := m.tags[repo]
	if !ok {
		return nil, fmt.Errorf("repository %s: %w", repo, errdef.ErrNotFound)
	}
	var out []string
	for k := range t {
		out = append(out, k)
	}
	slices.Sort(out)
	return out, nil
}

func (m *memStore) Resolve(_ context.Context, repo, tag string) (ocispec.Descriptor, error) {
	d, ok := m.tags[repo][tag]
	if !ok {
		return ocispec.Descriptor{}, fmt.Errorf("%s:%s: %w", repo, tag, errdef.ErrNotFound)
	}
	return d, nil
}

func (m *memStore) Fetch(_ context.Context, _ string, d ocispec.Descriptor) (io.ReadCloser, error) {
	data, ok := m.blobs[d.Digest]
	if !ok {
		return nil, fmt.Errorf("blob %s: %w", d.Digest, errdef.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func cdYAML(name, version string) string {
	return fmt.Sprintf("meta:\n  schemaVersion: v2\ncomponent:\n  name: %s\n  version: %s\n  provider: acme\n  repositoryContexts: []\n  sources: []\n  componentReferences: []\n  resources: []\n", name, version)
}

func tarOf(name string, data []byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: name, Size: int64(len(data)), Mode: 0o644, Typeflag: tar.TypeReg})
	tw.Write(data)
	tw.Close()
	return buf.Bytes()
}

// storeVersion writes a component version with the given descriptor layer
// media type and config media type ("" = no component config) and returns the manifest.
func storeVersion(m *memStore, name, version, layerType, configType string) ocispec.Descriptor {
	data := []byte(cdYAML(name, version))
	switch descriptorLayerFormat(layerType) {
	case formatTar:
		data = tarOf("component-descriptor.yaml", data)
	}
	if strings.HasSuffix(layerType, "+json") {
		data = []byte(fmt.Sprintf(`{"meta":{"schemaVersion":"v2"},"component":{"name":%q,"version":%q,"provider":"acme","repositoryContexts":null,"sources":null,"componentReferences":null,"resources":null}}`, name, version))
	}
	layer := m.put(layerType, data)
	cfg := m.put("application/vnd.oci.empty.v1+json", []byte("{}"))
	if configType != "" {
		cfg = m.putJSON(configType, map[string]any{"componentDescriptorLayer": layer})
	}
	man := m.putJSON(ocispec.MediaTypeImageManifest, ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{layer}})
	m.tag(RepositoryName(name), ToTag(version), man)
	return man
}

func TestDescriptorLayerMediaTypes(t *testing.T) {
	layerTypes := []string{MediaTypeDescriptorJSON, MediaTypeDescriptorYAML, MediaTypeDescriptorYAMLTar, legacyDescJSON, legacyDescYAML, legacyDescYAMLTar, legacyDescConfigTar}
	configTypes := []string{MediaTypeComponentConfig, legacyConfig, legacyMetadataConfig, ""}
	for _, lt := range layerTypes {
		for _, ct := range configTypes {
			t.Run(lt+"/"+ct, func(t *testing.T) {
				m := newMemStore()
				storeVersion(m, "example.com/a", "1.0.0+b.1", lt, ct)
				r := New(m, "test store")
				cv, err := r.GetComponentVersion(context.Background(), "example.com/a", "1.0.0+b.1")
				if err != nil {
					t.Fatal(err)
				}
				if cv.Descriptor.Component.Name != "example.com/a" || cv.Descriptor.Component.Version != "1.0.0+b.1" {
					t.Fatalf("decoded %+v", cv.Descriptor.Component)
				}
			})
		}
	}
}

func TestDescriptorErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(m *memStore)
		want  string
	}{
		{"not a descriptor layer", func(m *memStore) {
			storeVersion(m, "example.com/a", "1.0.0", "text/plain", "")
		}, `first layer has media type "text/plain", which is not a component descriptor`},
		{"wrong name in descriptor", func(m *memStore) {
			man := storeVersion(m, "example.com/b", "1.0.0", MediaTypeDescriptorYAML, MediaTypeComponentConfig)
			m.tag(RepositoryName("example.com/a"), "1.0.0", man)
		}, "describes example.com/b:1.0.0, not the version its tag names"},
		{"tampered descriptor", func(m *memStore) {
			man := storeVersion(m, "example.com/a", "1.0.0", MediaTypeDescriptorYAML, "")
			var mf ocispec.Manifest
			json.Unmarshal(m.blobs[man.Digest], &mf)
			m.blobs[mf.Layers[0].Digest] = bytes.Replace(m.blobs[mf.Layers[0].Digest], []byte("acme"), []byte("evil"), 1)
		}, "reading descriptor layer: sha256:"},
		{"two descriptor manifests in index", func(m *memStore) {
			man := storeVersion(m, "example.com/a", "1.0.0", MediaTypeDescriptorYAML, "")
			man.ArtifactType = ArtifactTypeDescriptor
			idx := m.putJSON(ocispec.MediaTypeImageIndex, ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{man, man}})
			m.tag(RepositoryName("example.com/a"), "1.0.0", idx)
		}, "image index marks 2 manifests as component descriptor"},
		{"unsupported root", func(m *memStore) {
			m.tag(RepositoryName("example.com/a"), "1.0.0", m.put("text/plain", []byte("x")))
		}, `tag 1.0.0 points to unsupported media type "text/plain"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemStore()
			tt.setup(m)
			_, err := New(m, "test store").GetComponentVersion(ctx, "example.com/a", "1.0.0")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want error containing %q", err, tt.want)
			}
			if tt.name == "tampered descriptor" && !strings.Contains(err.Error(), "mismatched digest") {
				t.Fatalf("tampering not reported as a digest mismatch: %v", err)
			}
			if !strings.Contains(err.Error(), "component version example.com/a:1.0.0 in test store") {
				t.Fatalf("error %q does not name the version and store", err)
			}
		})
	}
}

func TestListingAndNotFound(t *testing.T) {
	ctx := context.Background()
	m := newMemStore()
	for _, v := range []string{"1.10.0", "1.2.0", "v1.9", "2.0.0-rc.1", "2.0.0", "1.0.0+build.5"} {
		storeVersion(m, "example.com/a", v, MediaTypeDescriptorYAML, MediaTypeComponentConfig)
	}
	// A referrers tag is not a version.
	m.tag(RepositoryName("example.com/a"), "sha256-"+strings.Repeat("a", 64), m.put("x", []byte("y")))
	m.tag("other/repo", "1.0.0", m.put("x", []byte("z")))
	r := New(m, "test store")
	comps, _ := r.ListComponents(ctx)
	if !slices.Equal(comps, []string{"example.com/a"}) {
		t.Fatalf("components %v", comps)
	}
	versions, err := r.ListVersions(ctx, "example.com/a")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1.0.0+build.5", "1.2.0", "v1.9", "1.10.0", "2.0.0-rc.1", "2.0.0"}; !slices.Equal(versions, want) {
		t.Fatalf("versions %v, want %v", versions, want)
	}
	_, err = r.GetComponentVersion(ctx, "example.com/a", "3.0.0")
	if !errors.Is(err, errdef.ErrNotFound) || !strings.Contains(err.Error(), "component version example.com/a:3.0.0 not found in test store (versions: 1.0.0+build.5, 1.2.0") {
		t.Fatalf("got %v", err)
	}
	_, err = r.GetComponentVersion(ctx, "example.com/nope", "1.0.0")
	if !errors.Is(err, errdef.ErrNotFound) || err.Error() != "component example.com/nope not found in test store" {
		t.Fatalf("got %v", err)
	}
}

func TestTagMapping(t *testing.T) {
	tests := []struct{ version, tag string }{
		{"1.0.0", "1.0.0"},
		{"0.3.1+build.7", "0.3.1.build-build.7"},
		{"1.0.0-rc.1+meta", "1.0.0-rc.1.build-meta"},
		{"v2", "v2"},
	}
	for _, tt := range tests {
		if got := ToTag(tt.version); got != tt.tag {
			t.Errorf("ToTag(%q) = %q, want %q", tt.version, got, tt.tag)
		}
		if got := ToVersion(tt.tag); got != tt.version {
			t.Errorf("ToVersion(%q) = %q, want %q", tt.tag, got, tt.version)
		}
	}
}

func TestLocalBlob(t *testing.T) {
	layer := ocispec.Descriptor{MediaType: "text/plain", Digest: digest.FromString("x"), Size: 1}
	art := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("m"), Size: 1}
	cv := &ComponentVersion{
		Manifest: ocispec.Manifest{Layers: []ocispec.Descriptor{{Digest: digest.FromString("cd")}, layer}},
		Index:    &ocispec.Index{Manifests: []ocispec.Descriptor{{Digest: digest.FromString("cdm"), ArtifactType: ArtifactTypeDescriptor}, art}},
	}
	cv.Descriptor = mustDecode(t, cdYAML("example.com/a", "1.0.0"))
	for ref, want := range map[string]ocispec.Descriptor{layer.Digest.String(): layer, "sha256." + layer.Digest.Encoded(): layer, art.Digest.String(): art} {
		got, err := cv.LocalBlob(ref)
		if err != nil || got.Digest != want.Digest {
			t.Fatalf("LocalBlob(%s) = %v, %v", ref, got, err)
		}
	}
	if _, err := cv.LocalBlob(digest.FromString("cd").String()); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("the descriptor layer is not a local blob: %v", err)
	}
	if _, err := cv.LocalBlob("sha256:../../etc"); err == nil || !strings.Contains(err.Error(), "is not a digest") {
		t.Fatalf("got %v", err)
	}
}

func mustDecode(t *testing.T, y string) *descriptor.Descriptor {
	t.Helper()
	d, err := descriptor.Decode([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// countingStore counts the fetches of each digest.
type countingStore struct {
	*memStore
	fetched map[digest.Digest]int
}

func (c *countingStore) Fetch(ctx context.Context, repo string, d ocispec.Descriptor) (io.ReadCloser, error) {
	c.fetched[d.Digest]++
	return c.memStore.Fetch(ctx, repo, d)
}

func TestComponentConfigPredicted(t *testing.T) {
	ctx := context.Background()
	// A config written by the reference CLI (interop fixture v2-ctf-signed,
	// blob sha256:b856b604…) is recognised from the manifest alone.
	ref := ocispec.Manifest{
		Config: ocispec.Descriptor{MediaType: MediaTypeComponentConfig, Digest: "sha256:b856b60456a7bd2b52f0e146c000a8f6c98685a85b303ec12f81314fe5befb3c", Size: 197},
		Layers: []ocispec.Descriptor{{MediaType: MediaTypeDescriptorJSON, Digest: "sha256:363507eed72fb5042a1f52dc2e35398f6949d7a5060f56339cdaa3479268e940", Size: 1976}},
	}
	if l, ok := predictedConfig(ref); !ok || l.Digest != ref.Layers[0].Digest {
		t.Fatalf("reference config not predicted: %v %v", l, ok)
	}

	layerOf := func(m *memStore, name string) ocispec.Descriptor {
		return m.put(MediaTypeDescriptorYAML, []byte(cdYAML(name, "1.0.0")))
	}
	tests := []struct {
		name        string
		config      func(m *memStore, layers []ocispec.Descriptor) ocispec.Descriptor
		wantFetched int
	}{
		{"canonical config", func(m *memStore, layers []ocispec.Descriptor) ocispec.Descriptor {
			return m.putJSON(MediaTypeComponentConfig, map[string]any{"componentDescriptorLayer": layers[0]})
		}, 0},
		{"config naming the second descriptor layer", func(m *memStore, layers []ocispec.Descriptor) ocispec.Descriptor {
			return m.putJSON(MediaTypeComponentConfig, map[string]any{"componentDescriptorLayer": layers[1]})
		}, 0},
		{"config in another encoding", func(m *memStore, layers []ocispec.Descriptor) ocispec.Descriptor {
			data, _ := json.MarshalIndent(map[string]any{"componentDescriptorLayer": layers[1]}, "", "  ")
			return m.put(MediaTypeComponentConfig, data)
		}, 1},
		{"config with more fields", func(m *memStore, layers []ocispec.Descriptor) ocispec.Descriptor {
			l := layers[1]
			l.Annotations = map[string]string{"a": "b"}
			return m.putJSON(MediaTypeComponentConfig, map[string]any{"componentDescriptorLayer": l})
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemStore()
			// Two descriptor layers: only the config says which one is
			// the version's, and the answer must be the config's either way.
			layers := []ocispec.Descriptor{layerOf(m, "example.com/other"), layerOf(m, "example.com/a")}
			if tt.name == "canonical config" {
				layers[0], layers[1] = layers[1], layers[0]
			}
			cfg := tt.config(m, layers)
			man := m.putJSON(ocispec.MediaTypeImageManifest, ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: layers})
			m.tag(RepositoryName("example.com/a"), "1.0.0", man)
			cs := &countingStore{memStore: m, fetched: map[digest.Digest]int{}}
			cv, err := New(cs, "test store").GetComponentVersion(ctx, "example.com/a", "1.0.0")
			if err != nil {
				t.Fatal(err)
			}
			if cv.Descriptor.Component.Name != "example.com/a" {
				t.Fatalf("read the descriptor of %s", cv.Descriptor.Component.Name)
			}
			if got := cs.fetched[cfg.Digest]; got != tt.wantFetched {
				t.Fatalf("config fetched %d times, want %d", got, tt.wantFetched)
			}
		})
	}
}
