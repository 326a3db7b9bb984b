package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"

	"github.com/ocmgo/ocm/repository/ocimap"
)

// maxEnvelope bounds what is read of a record (they are a few KiB).
const maxEnvelope = 4 << 20

// attacher is a registry that attaches referrers through the referrers API
// (repository/oci.Registry).
type attacher interface {
	AttachReferrer(ctx context.Context, repository string, subject ocispec.Descriptor, artifactType, layerMediaType string, data []byte, annotations map[string]string) (ocispec.Descriptor, bool, error)
}

// Stored is a record as found in a repository.
type Stored struct {
	// Manifest is the referrer manifest's descriptor.
	Manifest ocispec.Descriptor
	// Envelope is the DSSE envelope, verified against the layer digest.
	Envelope []byte
}

// version locates a component version's root (the OCI subject of its
// records) in store.
func version(ctx context.Context, store ocimap.Store, component, ver string) (*ocimap.ComponentVersion, error) {
	return ocimap.New(store, "").GetComponentVersion(ctx, component, ver)
}

// Attach stores an envelope as a referrer of component:version in store.
// Attaching the same envelope again writes nothing.
func Attach(ctx context.Context, store ocimap.WriteStore, component, ver string, envelope []byte, action string) error {
	cv, err := version(ctx, store, component, ver)
	if err != nil {
		return err
	}
	return attach(ctx, store, cv.Repository, cv.Root, envelope, action)
}

func attach(ctx context.Context, store ocimap.WriteStore, repo string, subject ocispec.Descriptor, envelope []byte, action string) error {
	ann := map[string]string{AnnotationAction: action, ocispec.AnnotationCreated: time.Now().UTC().Format(time.RFC3339)}
	if a, ok := store.(attacher); ok {
		_, _, err := a.AttachReferrer(ctx, repo, subject, ArtifactType, EnvelopeMediaType, envelope, ann)
		return err
	}
	// Stores without a referrers API (CTF archives): the OCI 1.1 referrers
	// tag schema, an index tagged <alg>-<hex> of the subject.
	existing, index, err := tagSchemaReferrers(ctx, store, repo, subject)
	if err != nil {
		return err
	}
	layer := ocispec.Descriptor{MediaType: EnvelopeMediaType, Digest: digest.FromBytes(envelope), Size: int64(len(envelope))}
	for _, d := range existing {
		if m, err := fetchManifest(ctx, store, repo, d); err == nil && len(m.Layers) > 0 && m.Layers[0].Digest == layer.Digest {
			return nil
		}
	}
	empty := ocispec.DescriptorEmptyJSON
	empty.Data = nil
	if err := pushIfMissing(ctx, store, repo, layer, envelope); err != nil {
		return err
	}
	if err := pushIfMissing(ctx, store, repo, empty, ocispec.DescriptorEmptyJSON.Data); err != nil {
		return err
	}
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactType,
		Config:       empty,
		Layers:       []ocispec.Descriptor{layer},
		Subject:      &ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations:  ann,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	md := ocispec.Descriptor{MediaType: m.MediaType, ArtifactType: ArtifactType, Digest: digest.FromBytes(raw), Size: int64(len(raw)), Annotations: ann}
	if err := pushIfMissing(ctx, store, repo, md, raw); err != nil {
		return err
	}
	index.Manifests = append(index.Manifests, md)
	rawIndex, err := json.Marshal(index)
	if err != nil {
		return err
	}
	id := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(rawIndex), Size: int64(len(rawIndex))}
	if err := pushIfMissing(ctx, store, repo, id, rawIndex); err != nil {
		return err
	}
	return store.Tag(ctx, repo, id, referrersTag(subject.Digest))
}

func referrersTag(d digest.Digest) string { return string(d.Algorithm()) + "-" + d.Encoded() }

func pushIfMissing(ctx context.Context, store ocimap.WriteStore, repo string, d ocispec.Descriptor, data []byte) error {
	ok, err := store.Exists(ctx, repo, d)
	if err != nil || ok {
		return err
	}
	return store.Push(ctx, repo, d, bytes.NewReader(data))
}

// tagSchemaReferrers reads the referrers index of subject (empty when there
// is none).
func tagSchemaReferrers(ctx context.Context, store ocimap.Store, repo string, subject ocispec.Descriptor) ([]ocispec.Descriptor, ocispec.Index, error) {
	index := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	d, err := store.Resolve(ctx, repo, referrersTag(subject.Digest))
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, index, nil
	}
	if err != nil {
		return nil, index, err
	}
	raw, err := fetchVerified(ctx, store, repo, d, maxEnvelope)
	if err != nil {
		return nil, index, err
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		return nil, index, fmt.Errorf("referrers index %s: %w", d.Digest, err)
	}
	var out []ocispec.Descriptor
	for _, m := range index.Manifests {
		if m.ArtifactType == ArtifactType {
			out = append(out, m)
		}
	}
	return out, index, nil
}

// List returns the records of component:version in store, oldest first by
// the time the store recorded (Chain orders by the records' own times).
func List(ctx context.Context, store ocimap.Store, component, ver string) ([]Stored, error) {
	cv, err := version(ctx, store, component, ver)
	if err != nil {
		return nil, err
	}
	return list(ctx, store, cv.Repository, cv.Root)
}

func list(ctx context.Context, store ocimap.Store, repo string, subject ocispec.Descriptor) ([]Stored, error) {
	var descs []ocispec.Descriptor
	var err error
	if rl, ok := ocimap.Unwrap(store).(ocimap.ReferrerLister); ok {
		descs, err = rl.Referrers(ctx, repo, subject, ArtifactType)
		if errors.Is(err, errdef.ErrNotFound) {
			err = nil
		}
	} else {
		descs, _, err = tagSchemaReferrers(ctx, store, repo, subject)
	}
	if err != nil {
		return nil, fmt.Errorf("listing delivery records of %s: %w", subject.Digest, err)
	}
	var out []Stored
	for _, d := range descs {
		m, err := fetchManifest(ctx, store, repo, d)
		if err != nil {
			return nil, err
		}
		if len(m.Layers) != 1 || m.Layers[0].MediaType != EnvelopeMediaType {
			return nil, fmt.Errorf("delivery record %s: want one layer of %s", d.Digest, EnvelopeMediaType)
		}
		env, err := fetchVerified(ctx, store, repo, m.Layers[0], maxEnvelope)
		if err != nil {
			return nil, fmt.Errorf("delivery record %s: %w", d.Digest, err)
		}
		out = append(out, Stored{Manifest: d, Envelope: env})
	}
	slices.SortStableFunc(out, func(a, b Stored) int {
		return cmpString(a.Manifest.Annotations[ocispec.AnnotationCreated], b.Manifest.Annotations[ocispec.AnnotationCreated])
	})
	return out, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func fetchManifest(ctx context.Context, store ocimap.Store, repo string, d ocispec.Descriptor) (*ocispec.Manifest, error) {
	raw, err := fetchVerified(ctx, store, repo, d, maxEnvelope)
	if err != nil {
		return nil, fmt.Errorf("delivery record %s: %w", d.Digest, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("delivery record %s: %w", d.Digest, err)
	}
	return &m, nil
}

// fetchVerified reads a small blob and checks its digest.
func fetchVerified(ctx context.Context, store ocimap.Store, repo string, d ocispec.Descriptor, limit int64) ([]byte, error) {
	if d.Size > limit {
		return nil, fmt.Errorf("%s has %d bytes, more than %d", d.Digest, d.Size, limit)
	}
	if err := d.Digest.Validate(); err != nil {
		return nil, err
	}
	rc, err := store.Fetch(ctx, repo, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", d.Digest, limit)
	}
	if got := d.Digest.Algorithm().FromBytes(raw); got != d.Digest {
		return nil, fmt.Errorf("%s: content has digest %s", d.Digest, got)
	}
	return raw, nil
}

// Carry copies the records of component:version, whose root in src is
// srcRoot, from src to dst, where the version is complete already (its
// root there may differ, e.g. after a transfer that changed accesses):
// envelopes are copied unchanged, so their signatures stay valid. It
// returns how many records dst did not have.
func Carry(ctx context.Context, src ocimap.Store, srcRoot ocispec.Descriptor, dst ocimap.WriteStore, component, ver string) (int, error) {
	from, err := list(ctx, src, ocimap.RepositoryName(component), srcRoot)
	if err != nil || len(from) == 0 {
		return 0, err
	}
	cv, err := version(ctx, dst, component, ver)
	if err != nil {
		return 0, err
	}
	have, err := list(ctx, dst, cv.Repository, cv.Root)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range from {
		if slices.ContainsFunc(have, func(h Stored) bool { return bytes.Equal(h.Envelope, r.Envelope) }) {
			continue
		}
		if err := attach(ctx, dst, cv.Repository, cv.Root, r.Envelope, r.Manifest.Annotations[AnnotationAction]); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Move re-attaches the records of an old root of a version to its current
// root in the same store (signing rewrites the version's manifest).
func Move(ctx context.Context, store ocimap.WriteStore, repo string, oldRoot ocispec.Descriptor, component, ver string) error {
	old, err := list(ctx, store, repo, oldRoot)
	if err != nil || len(old) == 0 {
		return err
	}
	cv, err := version(ctx, store, component, ver)
	if err != nil {
		return err
	}
	if cv.Root.Digest == oldRoot.Digest {
		return nil
	}
	for _, r := range old {
		if err := attach(ctx, store, cv.Repository, cv.Root, r.Envelope, r.Manifest.Annotations[AnnotationAction]); err != nil {
			return err
		}
	}
	return nil
}
