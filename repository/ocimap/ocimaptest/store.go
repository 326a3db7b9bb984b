// Package ocimaptest is the conformance suite of ocimap stores: what every
// implementation (CTF archives, OCI registries) promises to the OCM
// mapping, run as tests against a real store. Like testing/fstest, it is
// imported by tests only.
package ocimaptest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"

	"github.com/ocmgo/ocm/repository/ocimap"
)

// TestStore runs the contract of ocimap.WriteStore against stores made by
// newStore, a fresh empty one per subtest:
//   - PushBlob describes what it stored (digest, size, media type), is
//     idempotent and streams large blobs intact;
//   - Push checks the content against the descriptor and stores nothing on
//     a mismatch; Exists sees pushed content;
//   - Tag, Tags (sorted, distinct) and Resolve (by tag and by digest) agree,
//     and Fetch returns what was pushed;
//   - Repositories lists the repository, unless the store says
//     errors.ErrUnsupported;
//   - whatever is missing is an error wrapping errdef.ErrNotFound that
//     names it (the repository, or the digest of a blob; CTF archives keep
//     blobs outside repositories), except Exists, which answers false.
func TestStore(t *testing.T, newStore func(t *testing.T) ocimap.WriteStore) {
	t.Run("blobs", func(t *testing.T) { testBlobs(t, newStore(t)) })
	t.Run("manifests and tags", func(t *testing.T) { testManifestsAndTags(t, newStore(t)) })
	t.Run("not found", func(t *testing.T) { testNotFound(t, newStore(t)) })
}

const repo = "conformance/repo"

func testBlobs(t *testing.T, s ocimap.WriteStore) {
	ctx := context.Background()
	data := []byte("hello, store")
	d, err := s.PushBlob(ctx, repo, "text/plain", bytes.NewReader(data))
	if err != nil {
		t.Fatalf("PushBlob: %v", err)
	}
	if d.Digest != digest.FromBytes(data) || d.Size != int64(len(data)) || d.MediaType != "text/plain" {
		t.Fatalf("PushBlob returned %+v, want the digest, size and media type of the content", d)
	}
	if again, err := s.PushBlob(ctx, repo, "text/plain", bytes.NewReader(data)); err != nil || again.Digest != d.Digest {
		t.Fatalf("PushBlob of the same content again = %+v, %v; want the same descriptor", again, err)
	}
	if got := Fetch(t, s, repo, d); !bytes.Equal(got, data) {
		t.Fatalf("Fetch after PushBlob returned %q, want %q", got, data)
	}

	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB: more than one copy buffer
	bd, err := s.PushBlob(ctx, repo, "application/octet-stream", bytes.NewReader(big))
	if err != nil {
		t.Fatalf("PushBlob of 4 MiB: %v", err)
	}
	if got := Fetch(t, s, repo, bd); !bytes.Equal(got, big) {
		t.Fatalf("Fetch of the 4 MiB blob returned %d different bytes", len(got))
	}

	cfg := []byte("{}")
	cd := ocispec.Descriptor{MediaType: "application/vnd.test.config+json", Digest: digest.FromBytes(cfg), Size: int64(len(cfg))}
	if ok, err := s.Exists(ctx, repo, cd); err != nil || ok {
		t.Fatalf("Exists before Push = %v, %v; want false, nil", ok, err)
	}
	wrong := cd
	wrong.Digest = digest.FromString("other content")
	if err := s.Push(ctx, repo, wrong, bytes.NewReader(cfg)); err == nil {
		t.Fatal("Push with a descriptor whose digest does not match the content succeeded")
	}
	if ok, err := s.Exists(ctx, repo, wrong); err != nil || ok {
		t.Fatalf("Exists after a refused Push = %v, %v; want false, nil (nothing stored)", ok, err)
	}
	if err := s.Push(ctx, repo, cd, bytes.NewReader(cfg)); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if ok, err := s.Exists(ctx, repo, cd); err != nil || !ok {
		t.Fatalf("Exists after Push = %v, %v; want true, nil", ok, err)
	}
}

func testManifestsAndTags(t *testing.T, s ocimap.WriteStore) {
	ctx := context.Background()
	m, layer := PushImage(t, s, repo, "layer content")
	for _, tag := range []string{"v2", "v1", "1.0.0.build-3", "v1"} {
		if err := s.Tag(ctx, repo, m, tag); err != nil {
			t.Fatalf("Tag %s: %v", tag, err)
		}
	}
	tags, err := s.Tags(ctx, repo)
	if err != nil {
		t.Fatalf("Tags: %v", err)
	}
	if want := []string{"1.0.0.build-3", "v1", "v2"}; !slices.Equal(tags, want) {
		t.Fatalf("Tags = %v, want %v (sorted, each once)", tags, want)
	}
	got, err := s.Resolve(ctx, repo, "v1")
	if err != nil {
		t.Fatalf("Resolve by tag: %v", err)
	}
	if got.Digest != m.Digest || got.Size != m.Size || got.MediaType != m.MediaType {
		t.Fatalf("Resolve by tag = %+v, want %+v", got, m)
	}
	if byDigest, err := s.Resolve(ctx, repo, m.Digest.String()); err != nil || byDigest.Digest != m.Digest {
		t.Fatalf("Resolve by digest = %+v, %v; want %s", byDigest, err, m.Digest)
	}
	if ok, err := s.Exists(ctx, repo, m); err != nil || !ok {
		t.Fatalf("Exists(manifest) = %v, %v; want true, nil", ok, err)
	}
	var manifest ocispec.Manifest
	if err := json.Unmarshal(Fetch(t, s, repo, got), &manifest); err != nil || len(manifest.Layers) != 1 || manifest.Layers[0].Digest != layer.Digest {
		t.Fatalf("Fetch of the resolved manifest: %+v, %v", manifest, err)
	}

	// Retagging moves the tag.
	m2, _ := PushImage(t, s, repo, "other layer")
	if err := s.Tag(ctx, repo, m2, "v1"); err != nil {
		t.Fatalf("retagging v1: %v", err)
	}
	if got, err := s.Resolve(ctx, repo, "v1"); err != nil || got.Digest != m2.Digest {
		t.Fatalf("Resolve after retagging = %+v, %v; want %s", got, err, m2.Digest)
	}

	repos, err := s.Repositories(ctx)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
	case err != nil:
		t.Fatalf("Repositories: %v", err)
	case !slices.Contains(repos, repo) || !slices.IsSorted(repos):
		t.Fatalf("Repositories = %v, want a sorted list holding %s", repos, repo)
	}
}

func testNotFound(t *testing.T, s ocimap.WriteStore) {
	ctx := context.Background()
	m, _ := PushImage(t, s, repo, "present")
	if err := s.Tag(ctx, repo, m, "v1"); err != nil {
		t.Fatalf("Tag: %v", err)
	}
	missing := ocispec.Descriptor{MediaType: "text/plain", Digest: digest.FromString("missing"), Size: 7}
	missingManifest := missing
	missingManifest.MediaType = ocispec.MediaTypeImageManifest
	notFound := func(step, missing string, err error) {
		t.Helper()
		if !errors.Is(err, errdef.ErrNotFound) {
			t.Errorf("%s: got %v, want an error wrapping errdef.ErrNotFound", step, err)
		} else if !strings.Contains(err.Error(), missing) {
			t.Errorf("%s: %q does not name %s", step, err, missing)
		}
	}
	_, err := s.Resolve(ctx, repo, "nope")
	notFound("Resolve of a missing tag", repo, err)
	_, err = s.Resolve(ctx, "absent", "v1")
	notFound("Resolve in a missing repository", "absent", err)
	_, err = s.Fetch(ctx, repo, missing)
	notFound("Fetch of a missing blob", missing.Digest.String(), err)
	_, err = s.Fetch(ctx, repo, missingManifest)
	notFound("Fetch of a missing manifest", missing.Digest.String(), err)
	err = s.Tag(ctx, repo, missingManifest, "v2")
	notFound("Tag of a missing manifest", repo, err)
	notFound("Tag of a missing manifest", missing.Digest.String(), err)
	// A missing repository has no tags: an empty list or not found.
	if tags, err := s.Tags(ctx, "absent"); err != nil {
		notFound("Tags of a missing repository", "absent", err)
	} else if len(tags) != 0 {
		t.Errorf("Tags of a missing repository = %v", tags)
	}
	if ok, err := s.Exists(ctx, repo, missing); ok || err != nil {
		t.Errorf("Exists of a missing blob = %v, %v; want false, nil", ok, err)
	}
}

// PushImage pushes a one-layer image manifest (config, layer, manifest)
// into repository and returns the manifest's and the layer's descriptors.
func PushImage(t testing.TB, s ocimap.WriteStore, repository, layerContent string) (manifest, layer ocispec.Descriptor) {
	t.Helper()
	ctx := context.Background()
	layer, err := s.PushBlob(ctx, repository, "text/plain", strings.NewReader(layerContent))
	if err != nil {
		t.Fatalf("pushing layer: %v", err)
	}
	cfg, err := s.PushBlob(ctx, repository, ocispec.MediaTypeEmptyJSON, bytes.NewReader(ocispec.DescriptorEmptyJSON.Data))
	if err != nil {
		t.Fatalf("pushing config: %v", err)
	}
	data, err := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    cfg,
		Layers:    []ocispec.Descriptor{layer},
	})
	if err != nil {
		t.Fatal(err)
	}
	manifest = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(data), Size: int64(len(data))}
	if err := s.Push(ctx, repository, manifest, bytes.NewReader(data)); err != nil {
		t.Fatalf("pushing manifest: %v", err)
	}
	return manifest, layer
}

// Fetch reads desc from repository and checks it against its digest.
func Fetch(t testing.TB, s ocimap.Store, repository string, desc ocispec.Descriptor) []byte {
	t.Helper()
	rc, err := s.Fetch(context.Background(), repository, desc)
	if err != nil {
		t.Fatalf("Fetch %s from %s: %v", desc.Digest, repository, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s from %s: %v", desc.Digest, repository, err)
	}
	if got := digest.FromBytes(data); got != desc.Digest {
		t.Fatalf("Fetch %s from %s returned content with digest %s", desc.Digest, repository, got)
	}
	return data
}
