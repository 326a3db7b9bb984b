package ocimap

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/descriptor"
)

// Creator is written into the software.ocm.creator annotation.
const Creator = "ocmgo"

// WriteStore is a Store that also takes content. Content is addressed by
// digest, so pushing what is already there is a cheap no-op.
type WriteStore interface {
	Store
	// Exists reports whether the repository holds desc.
	Exists(ctx context.Context, repository string, desc ocispec.Descriptor) (bool, error)
	// Push stores r as desc, verifying size and digest while writing.
	Push(ctx context.Context, repository string, desc ocispec.Descriptor, r io.Reader) error
	// PushBlob stores r, whose digest is not known yet, hashing while
	// writing, and returns its descriptor.
	PushBlob(ctx context.Context, repository, mediaType string, r io.Reader) (ocispec.Descriptor, error)
	// Tag points repository:tag at desc, which must be stored already.
	Tag(ctx context.Context, repository string, desc ocispec.Descriptor, tag string) error
}

// ArtifactRef is an OCM artifact (resource or source) that a layer or
// manifest holds, for the software.ocm.artifact annotation.
type ArtifactRef struct {
	Identity map[string]string `json:"identity"`
	Kind     string            `json:"kind"`
}

// ArtifactAnnotation renders the software.ocm.artifact annotation value.
func ArtifactAnnotation(refs ...ArtifactRef) string {
	data, _ := json.Marshal(refs)
	return string(data)
}

// Writer adds component versions to a WriteStore in the layout the reference
// implementation writes: a manifest (config {componentDescriptorLayer},
// layers[0] the descriptor as JSON, then the local blobs), wrapped in an image
// index whose manifests[0] is that manifest when native OCI artifacts are
// among the local blobs. Blobs go first, then manifests, then the tag, so a
// tag never points at incomplete content.
type Writer struct {
	store WriteStore
	// ReferrerTracking names the Component Index (stored when missing) as
	// the OCI subject of every version written, so that registries with the
	// referrers API list the versions of a component. ReplaceDescriptor
	// keeps the subject a version has either way.
	ReferrerTracking bool
}

// NewWriter returns a writer over store.
func NewWriter(store WriteStore) *Writer { return &Writer{store: store} }

// LocalBlob is content already pushed to the component's repository.
type LocalBlob struct {
	// Descriptor is the layer, or the manifest/index of a native OCI artifact.
	Descriptor ocispec.Descriptor
	// Artifacts lists what holds this blob (annotation software.ocm.artifact).
	Artifacts []ArtifactRef
}

// IsManifest reports whether a media type is an OCI manifest or index,
// i.e. a local blob stored as a native OCI artifact.
func IsManifest(mediaType string) bool {
	switch mediaType {
	case ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex,
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json":
		return true
	}
	return false
}

// AddComponentVersion writes the descriptor and tags the version. Every
// local blob must have been pushed to RepositoryName(cd.Component.Name).
func (w *Writer) AddComponentVersion(ctx context.Context, cd *descriptor.Descriptor, blobs []LocalBlob) (ocispec.Descriptor, error) {
	name := cd.Component.Name
	repo := RepositoryName(name)
	var subject *ocispec.Descriptor
	if w.ReferrerTracking {
		if err := EnsureComponentIndex(ctx, w.store, repo); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("storing the component index of %s: %w", name, err)
		}
		subject = &ComponentIndex
	}
	return w.add(ctx, cd, blobs, subject)
}

func (w *Writer) add(ctx context.Context, cd *descriptor.Descriptor, blobs []LocalBlob, subject *ocispec.Descriptor) (ocispec.Descriptor, error) {
	name, version := cd.Component.Name, cd.Component.Version
	repo := RepositoryName(name)
	nodes, root, err := Compose(cd, blobs, subject)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	for _, n := range nodes {
		if err := w.pushBytes(ctx, repo, n.Descriptor, n.Data); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("storing %s of %s:%s: %w", n.Descriptor.MediaType, name, version, err)
		}
	}
	if err := w.store.Tag(ctx, repo, root, ToTag(version)); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("tagging %s:%s: %w", name, version, err)
	}
	return root, nil
}

// Compose renders the content that stores cd with its local blobs — the
// descriptor layer, the config, the manifest and, with native OCI artifacts
// among the blobs, the index — in push order (root last), without writing
// anything. The same input always gives the same bytes, so a transfer can
// tell before writing whether the target has the version already. A
// non-nil subject becomes the OCI subject of the top-level manifest or index.
func Compose(cd *descriptor.Descriptor, blobs []LocalBlob, subject *ocispec.Descriptor) ([]Node, ocispec.Descriptor, error) {
	name, version := cd.Component.Name, cd.Component.Version
	cdJSON, err := descriptor.EncodeJSON(cd)
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	var nodes []Node
	add := func(mediaType string, data []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
		nodes = append(nodes, Node{Descriptor: d, Data: data})
		return d
	}
	cdDesc := add(MediaTypeDescriptorJSON, cdJSON)
	cfgDesc := add(MediaTypeComponentConfig, configBytes(cdDesc))
	layers := []ocispec.Descriptor{cdDesc}
	var manifests []ocispec.Descriptor
	seen := map[digest.Digest]int{}
	for _, b := range blobs {
		d := b.Descriptor
		if i, dup := seen[d.Digest]; dup {
			// One blob shared by several artifacts is one layer listing all of them.
			target := &layers[i]
			if IsManifest(d.MediaType) {
				target = &manifests[i]
			}
			var refs []ArtifactRef
			json.Unmarshal([]byte(target.Annotations[AnnotationArtifact]), &refs)
			target.Annotations[AnnotationArtifact] = ArtifactAnnotation(append(refs, b.Artifacts...)...)
			continue
		}
		d.Annotations = maps.Clone(d.Annotations)
		if d.Annotations == nil {
			d.Annotations = map[string]string{}
		}
		if len(b.Artifacts) > 0 {
			d.Annotations[AnnotationArtifact] = ArtifactAnnotation(b.Artifacts...)
		}
		if IsManifest(d.MediaType) {
			seen[d.Digest] = len(manifests)
			manifests = append(manifests, d)
		} else {
			seen[d.Digest] = len(layers)
			layers = append(layers, d)
		}
	}
	annotations := versionAnnotations(name, version)
	manifest, _ := json.Marshal(ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactTypeDescriptor,
		Config:       cfgDesc,
		Layers:       layers,
		Subject:      topSubject(subject, len(manifests) == 0),
		Annotations:  annotations,
	})
	root := add(ocispec.MediaTypeImageManifest, manifest)
	if len(manifests) > 0 {
		top := root
		top.ArtifactType = ArtifactTypeDescriptor
		top.Annotations = annotations
		index, _ := json.Marshal(ocispec.Index{
			Versioned:   specs.Versioned{SchemaVersion: 2},
			MediaType:   ocispec.MediaTypeImageIndex,
			Manifests:   append([]ocispec.Descriptor{top}, manifests...),
			Subject:     subject,
			Annotations: annotations,
		})
		root = add(ocispec.MediaTypeImageIndex, index)
	}
	return nodes, root, nil
}

// LocalBlobs lists the local blobs stored with cv (every layer after the
// descriptor, and the native OCI artifacts of its index) with their
// annotations, as AddComponentVersion takes them.
func LocalBlobs(cv *ComponentVersion) []LocalBlob {
	var blobs []LocalBlob
	for _, l := range cv.Manifest.Layers[1:] {
		blobs = append(blobs, LocalBlob{Descriptor: l})
	}
	if cv.Index != nil {
		for _, m := range cv.Index.Manifests {
			if m.ArtifactType != ArtifactTypeDescriptor {
				blobs = append(blobs, LocalBlob{Descriptor: m})
			}
		}
	}
	return blobs
}

// ReplaceDescriptor writes cd as the new descriptor of an existing version
// (e.g. with a signature added), keeping its local blobs with their
// annotations, and moves the tag to the new manifest or index.
func (w *Writer) ReplaceDescriptor(ctx context.Context, cv *ComponentVersion, cd *descriptor.Descriptor) (ocispec.Descriptor, error) {
	if cd.Component.Name != cv.Descriptor.Component.Name || cd.Component.Version != cv.Descriptor.Component.Version {
		return ocispec.Descriptor{}, fmt.Errorf("replacing the descriptor of %s:%s with one of %s:%s", cv.Descriptor.Component.Name, cv.Descriptor.Component.Version, cd.Component.Name, cd.Component.Version)
	}
	subject := cv.Subject()
	if subject == nil && w.ReferrerTracking {
		subject = &ComponentIndex
	}
	if subject != nil && subject.Digest == ComponentIndex.Digest {
		if err := EnsureComponentIndex(ctx, w.store, cv.Repository); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	return w.add(ctx, cd, LocalBlobs(cv), subject)
}

// topSubject is the subject for the descriptor manifest: set only when the
// manifest is the top level (no index around it).
func topSubject(subject *ocispec.Descriptor, top bool) *ocispec.Descriptor {
	if !top {
		return nil
	}
	return subject
}

func versionAnnotations(name, version string) map[string]string {
	return map[string]string{
		AnnotationComponentVersion: name + ":" + version,
		"software.ocm.creator":     Creator,
		ocispec.AnnotationTitle:    "OCM component descriptor for " + name + " in version " + version,
		ocispec.AnnotationVersion:  version,
		ocispec.AnnotationURL:      "https://ocm.software",
	}
}

func (w *Writer) pushBytes(ctx context.Context, repo string, d ocispec.Descriptor, data []byte) error {
	ok, err := w.store.Exists(ctx, repo, d)
	if err != nil || ok {
		return err
	}
	return w.store.Push(ctx, repo, d, bytes.NewReader(data))
}
