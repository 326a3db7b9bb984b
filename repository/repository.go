// Package repository defines the component version repository: the one
// interface that CTF archives and OCI registries implement, and the openers
// (Open, OpenStore, OpenWritable, OpenRegistry) that turn a parsed
// repository reference into one, with credentials from the configuration.
package repository

import (
	"context"
	"fmt"
	"io"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// Repository reads component versions. Errors for missing things wrap
// oras' errdef.ErrNotFound.
type Repository interface {
	// ListComponents lists the component names, sorted.
	ListComponents(ctx context.Context) ([]string, error)
	// ListVersions lists a component's versions in ascending semver order.
	ListVersions(ctx context.Context, component string) ([]string, error)
	// GetComponentVersion returns the descriptor of component:version.
	GetComponentVersion(ctx context.Context, component, version string) (*descriptor.Descriptor, error)
	// GetLocalBlob locates a local blob of component:version by its
	// localReference. The returned descriptor is a layer or, for a native
	// OCI artifact, its manifest or index; the fetcher streams it and
	// everything it references. Callers verify what they read.
	GetLocalBlob(ctx context.Context, component, version, localReference string) (ocispec.Descriptor, content.Fetcher, error)
	// String names the repository for messages.
	String() string
	io.Closer
}

// FromStore returns a Repository over any store laid out per the OCM OCI
// mapping; where names it in messages and closer (optional) is closed by Close.
func FromStore(store ocimap.Store, where string, closer io.Closer) Repository {
	return &mapped{Repository: ocimap.New(store, where), closer: closer, where: where}
}

// mapped is a Repository over any store that follows the OCM OCI mapping.
type mapped struct {
	*ocimap.Repository
	closer io.Closer
	where  string
}

func (m *mapped) String() string { return m.where }

func (m *mapped) Close() error {
	if m.closer == nil {
		return nil
	}
	return m.closer.Close()
}

// ComponentVersion returns the stored form of a version (manifest, index),
// for writers that update it.
func (m *mapped) ComponentVersion(ctx context.Context, component, version string) (*ocimap.ComponentVersion, error) {
	return m.Repository.GetComponentVersion(ctx, component, version)
}

func (m *mapped) GetComponentVersion(ctx context.Context, component, version string) (*descriptor.Descriptor, error) {
	cv, err := m.Repository.GetComponentVersion(ctx, component, version)
	if err != nil {
		return nil, err
	}
	return cv.Descriptor, nil
}

func (m *mapped) GetLocalBlob(ctx context.Context, component, version, localReference string) (ocispec.Descriptor, content.Fetcher, error) {
	cv, err := m.Repository.GetComponentVersion(ctx, component, version)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	desc, err := cv.LocalBlob(localReference)
	if err != nil {
		return ocispec.Descriptor{}, nil, fmt.Errorf("%s: %w", m.where, err)
	}
	return desc, m.Fetcher(cv), nil
}
