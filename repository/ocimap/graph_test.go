package ocimap

import (
	"context"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestGraph(t *testing.T) {
	ctx := context.Background()
	m := newMemStore()
	layer := m.put("application/octet-stream", []byte("layer"))
	cfg := m.put(ocispec.MediaTypeImageConfig, []byte("{}"))
	img := m.putJSON(ocispec.MediaTypeImageManifest, ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{layer, layer}})
	idx := m.putJSON(ocispec.MediaTypeImageIndex, ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{img}})
	fetcher := StoreFetcher(m, "r")

	nodes, err := Graph(ctx, fetcher, idx)
	if err != nil {
		t.Fatalf("Graph: %v", err)
	}
	var order []string
	for _, n := range nodes {
		order = append(order, n.Descriptor.Digest.String())
		if IsManifest(n.Descriptor.MediaType) != (n.Data != nil) {
			t.Errorf("node %s: manifest data held %v", n.Descriptor.Digest, n.Data != nil)
		}
	}
	want := []string{cfg.Digest.String(), layer.Digest.String(), img.Digest.String(), idx.Digest.String()}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Fatalf("order (children first, each once, root last):\n got %v\nwant %v", order, want)
	}
	if err := VerifyGraph(ctx, fetcher, idx); err != nil {
		t.Fatalf("VerifyGraph of intact content: %v", err)
	}

	// Tampered content: the layer's bytes no longer match its digest.
	m.blobs[layer.Digest] = []byte("LAYER")
	if err := VerifyGraph(ctx, fetcher, idx); err == nil || !strings.Contains(err.Error(), "blob "+layer.Digest.String()) {
		t.Fatalf("VerifyGraph of a tampered layer: got %v, want an error naming the blob", err)
	}
	m.blobs[img.Digest] = append(m.blobs[img.Digest], ' ')
	if _, err := Graph(ctx, fetcher, idx); err == nil || !strings.Contains(err.Error(), "manifest "+img.Digest.String()) {
		t.Fatalf("Graph with a tampered manifest: got %v, want an error naming the manifest", err)
	}
}

func TestGraphRefusesBadDescriptors(t *testing.T) {
	ctx := context.Background()
	m := newMemStore()
	fetcher := StoreFetcher(m, "r")
	deep := m.put("application/octet-stream", []byte("x"))
	for range 10 {
		deep = m.putJSON(ocispec.MediaTypeImageIndex, ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{deep}})
	}
	for _, tc := range []struct {
		name string
		root ocispec.Descriptor
		want string
	}{
		{"nesting", deep, "nests too deep"},
		{"invalid digest", ocispec.Descriptor{MediaType: "application/octet-stream", Digest: "sha256:../x"}, "invalid digest"},
		{"negative size", ocispec.Descriptor{MediaType: "application/octet-stream", Digest: deep.Digest, Size: -1}, "negative size"},
		{"huge manifest", ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: deep.Digest, Size: maxManifestSize + 1}, "outside 0.."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Graph(ctx, fetcher, tc.root); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Graph: got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
