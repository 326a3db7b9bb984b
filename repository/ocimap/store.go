// Package ocimap maps OCM component versions onto OCI content: the layout that
// CTF archives and OCI registries share (repository component-descriptors/<name>,
// tag = version with "+" as ".build-", a manifest whose first layer is the
// component descriptor, optionally wrapped in an image index).
package ocimap

import (
	"context"
	"io"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Store is the small read-only view of an OCI content store that the mapping
// needs. CTF archives implement it directly; OCI registries through oras-go.
// Missing content is reported with an error wrapping oras' errdef.ErrNotFound.
type Store interface {
	// Repositories lists the repository names the store knows, sorted.
	Repositories(ctx context.Context) ([]string, error)
	// Tags lists the tags of one repository, sorted.
	Tags(ctx context.Context, repository string) ([]string, error)
	// Resolve returns the descriptor (digest, size, media type) a tag points to.
	Resolve(ctx context.Context, repository, tag string) (ocispec.Descriptor, error)
	// Fetch streams the content of desc from the repository. Callers verify
	// digests; implementations check existence and may check the size.
	Fetch(ctx context.Context, repository string, desc ocispec.Descriptor) (io.ReadCloser, error)
}

// ReferenceFetcher is a Store that fetches what a tag points to in one
// request (OCI registries: GET of the manifest by tag), where Resolve and
// Fetch take two. The content must be verified against the descriptor.
type ReferenceFetcher interface {
	FetchReference(ctx context.Context, repository, tag string) (ocispec.Descriptor, io.ReadCloser, error)
}
