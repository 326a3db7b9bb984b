package ocimap

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func (m *memStore) Exists(_ context.Context, _ string, d ocispec.Descriptor) (bool, error) {
	_, ok := m.blobs[d.Digest]
	return ok, nil
}

func (m *memStore) Push(_ context.Context, _ string, d ocispec.Descriptor, r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if digest.FromBytes(data) != d.Digest {
		return io.ErrUnexpectedEOF
	}
	m.blobs[d.Digest] = data
	return nil
}

func (m *memStore) PushBlob(_ context.Context, _ string, mediaType string, r io.Reader) (ocispec.Descriptor, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return m.put(mediaType, data), nil
}

func (m *memStore) Tag(_ context.Context, repo string, d ocispec.Descriptor, tag string) error {
	m.tag(repo, tag, d)
	return nil
}

func TestWriterRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, withArtifact := range []bool{false, true} {
		m := newMemStore()
		blob, _ := m.PushBlob(ctx, "", "text/plain", bytes.NewReader([]byte("hello")))
		blobs := []LocalBlob{
			{Descriptor: blob, Artifacts: []ArtifactRef{{Kind: "resource", Identity: map[string]string{"name": "a", "version": "1.0.0"}}}},
			{Descriptor: blob, Artifacts: []ArtifactRef{{Kind: "source", Identity: map[string]string{"name": "b", "version": "1.0.0"}}}},
		}
		if withArtifact {
			man := m.put(ocispec.MediaTypeImageManifest, []byte(`{"schemaVersion":2}`))
			blobs = append(blobs, LocalBlob{Descriptor: man, Artifacts: []ArtifactRef{{Kind: "resource", Identity: map[string]string{"name": "chart"}}}})
		}
		cd := mustDecode(t, cdYAML("example.com/w", "1.0.0+x"))
		root, err := NewWriter(m).AddComponentVersion(ctx, cd, blobs)
		if err != nil {
			t.Fatal(err)
		}
		wantType := ocispec.MediaTypeImageManifest
		if withArtifact {
			wantType = ocispec.MediaTypeImageIndex
		}
		if root.MediaType != wantType {
			t.Fatalf("root %s, want %s", root.MediaType, wantType)
		}
		cv, err := New(m, "mem").GetComponentVersion(ctx, "example.com/w", "1.0.0+x")
		if err != nil {
			t.Fatal(err)
		}
		if cv.Descriptor.Component.Name != "example.com/w" || len(cv.Manifest.Layers) != 2 {
			t.Fatalf("read back %+v with %d layers", cv.Descriptor.Component, len(cv.Manifest.Layers))
		}
		if got := cv.Manifest.Layers[1].Annotations[AnnotationArtifact]; got != `[{"identity":{"name":"a","version":"1.0.0"},"kind":"resource"},{"identity":{"name":"b","version":"1.0.0"},"kind":"source"}]` {
			t.Fatalf("shared blob annotation %s", got)
		}
		if _, err := cv.LocalBlob(blob.Digest.String()); err != nil {
			t.Fatal(err)
		}
		if withArtifact && (cv.Index == nil || len(cv.Index.Manifests) != 2 || cv.Index.Manifests[0].ArtifactType != ArtifactTypeDescriptor) {
			t.Fatalf("index %+v", cv.Index)
		}
		if _, ok := m.tags[RepositoryName("example.com/w")]["1.0.0.build-x"]; !ok {
			t.Fatalf("tag not mapped: %v", m.tags)
		}
	}
}

// The Component Index is normative: its digest and size must never change.
func TestComponentIndexDescriptor(t *testing.T) {
	if ComponentIndex.Digest != "sha256:9717cda41c478af11cba7ed29f4aa3e4882bab769d006788169cbccafc0fcd05" || ComponentIndex.Size != 837 {
		t.Fatalf("component index %s, %d bytes", ComponentIndex.Digest, ComponentIndex.Size)
	}
}
