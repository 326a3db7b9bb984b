package ocimap

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
)

// ExternalOpener opens the registry (host[:port]) of an OCI artifact that a
// resource's access points at, as a store with full repository names.
type ExternalOpener func(ctx context.Context, host string) (Store, error)

// Node is one piece of OCI content: of an artifact's graph (Graph) or of a
// component version's mapping (Compose). Data holds the bytes of manifests
// and indexes (verified, or made by Compose); blobs are left to stream.
type Node struct {
	Descriptor ocispec.Descriptor
	Data       []byte
}

// Graph walks an OCI artifact from root: manifests and indexes are fetched,
// size-limited and verified against their digests; every descriptor they
// reference is listed once, children before the manifest or index that
// references them (the order in which a copy can push them), root last.
func Graph(ctx context.Context, fetcher content.Fetcher, root ocispec.Descriptor) ([]Node, error) {
	var out []Node
	seen := map[digest.Digest]bool{}
	var walk func(d ocispec.Descriptor, depth int) error
	walk = func(d ocispec.Descriptor, depth int) error {
		if seen[d.Digest] {
			return nil
		}
		seen[d.Digest] = true
		if depth > 8 {
			return fmt.Errorf("OCI artifact %s nests too deep", root.Digest)
		}
		if err := d.Digest.Validate(); err != nil {
			return fmt.Errorf("invalid digest %q: %w", d.Digest, err)
		}
		if d.Size < 0 {
			return fmt.Errorf("%s has negative size %d", d.Digest, d.Size)
		}
		if !IsManifest(d.MediaType) {
			out = append(out, Node{Descriptor: d})
			return nil
		}
		if d.Size > maxManifestSize {
			return fmt.Errorf("manifest %s has size %d, outside 0..%d", d.Digest, d.Size, maxManifestSize)
		}
		rc, err := fetcher.Fetch(ctx, d)
		if err != nil {
			return err
		}
		data, err := content.ReadAll(rc, d)
		rc.Close()
		if err != nil {
			return fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		var m struct {
			Config    *ocispec.Descriptor  `json:"config"`
			Layers    []ocispec.Descriptor `json:"layers"`
			Manifests []ocispec.Descriptor `json:"manifests"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		children := append([]ocispec.Descriptor{}, m.Manifests...)
		if m.Config != nil {
			children = append(children, *m.Config)
		}
		for _, c := range append(children, m.Layers...) {
			if err := walk(c, depth+1); err != nil {
				return err
			}
		}
		out = append(out, Node{Descriptor: d, Data: data})
		return nil
	}
	if err := walk(root, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// VerifyGraph fetches root and everything it references, checking every
// blob against its descriptor.
func VerifyGraph(ctx context.Context, fetcher content.Fetcher, root ocispec.Descriptor) error {
	nodes, err := Graph(ctx, fetcher, root)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.Data != nil {
			continue
		}
		if err := verifyBlob(ctx, fetcher, n.Descriptor); err != nil {
			return err
		}
	}
	return nil
}

func verifyBlob(ctx context.Context, fetcher content.Fetcher, d ocispec.Descriptor) error {
	rc, err := fetcher.Fetch(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	vr := content.NewVerifyReader(rc, d)
	if _, err := io.Copy(io.Discard, vr); err != nil {
		return fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	if err := vr.Verify(); err != nil {
		return fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	return nil
}
