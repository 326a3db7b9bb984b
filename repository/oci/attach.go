package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
)

// AttachReferrer attaches data (one layer of layerMediaType) to subject as
// an OCI 1.1 artifact of artifactType — empty config, subject set, the
// org.opencontainers.image.created annotation — as `oras attach` does. On a
// registry without the referrers API, oras-go maintains the sha256-<hex>
// referrers tag instead. When an artifact of that type with the same layer
// is attached already, nothing is written and attached is false, so that
// reruns do not pile up copies.
func (r *Registry) AttachReferrer(ctx context.Context, repository string, subject ocispec.Descriptor, artifactType, layerMediaType string, data []byte, annotations map[string]string) (desc ocispec.Descriptor, attached bool, err error) {
	rr, full, err := r.repo(repository)
	if err != nil {
		return ocispec.Descriptor{}, false, err
	}
	layer := ocispec.Descriptor{MediaType: layerMediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
	existing, err := r.Referrers(ctx, repository, subject, artifactType)
	if err != nil {
		return ocispec.Descriptor{}, false, err
	}
	for _, d := range existing {
		rc, err := rr.Fetch(ctx, d)
		if err != nil {
			return ocispec.Descriptor{}, false, r.wrap(full, "fetching referrer "+string(d.Digest), err)
		}
		raw, err := content.ReadAll(rc, d)
		rc.Close()
		if err != nil {
			return ocispec.Descriptor{}, false, r.wrap(full, "reading referrer "+string(d.Digest), err)
		}
		var m ocispec.Manifest
		if json.Unmarshal(raw, &m) == nil && len(m.Layers) > 0 && m.Layers[0].Digest == layer.Digest {
			return d, false, nil
		}
	}
	if err := r.pushIfMissing(ctx, repository, layer, data); err != nil {
		return ocispec.Descriptor{}, false, err
	}
	if err := r.pushIfMissing(ctx, repository, ocispec.DescriptorEmptyJSON, ocispec.DescriptorEmptyJSON.Data); err != nil {
		return ocispec.Descriptor{}, false, err
	}
	ann := maps.Clone(annotations)
	if ann == nil {
		ann = map[string]string{}
	}
	if ann[ocispec.AnnotationCreated] == "" {
		ann[ocispec.AnnotationCreated] = time.Now().UTC().Format(time.RFC3339)
	}
	cfg := ocispec.DescriptorEmptyJSON
	cfg.Data = nil
	subj := ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	raw, err := json.Marshal(ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: artifactType,
		Config:       cfg,
		Layers:       []ocispec.Descriptor{layer},
		Subject:      &subj,
		Annotations:  ann,
	})
	if err != nil {
		return ocispec.Descriptor{}, false, err
	}
	desc = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: artifactType, Digest: digest.FromBytes(raw), Size: int64(len(raw)), Annotations: ann}
	if err := rr.Push(ctx, desc, bytes.NewReader(raw)); err != nil {
		return ocispec.Descriptor{}, false, r.wrap(full, fmt.Sprintf("attaching %s to %s", artifactType, subject.Digest), err)
	}
	return desc, true, nil
}

func (r *Registry) pushIfMissing(ctx context.Context, repository string, desc ocispec.Descriptor, data []byte) error {
	ok, err := r.Exists(ctx, repository, desc)
	if err != nil || ok {
		return err
	}
	return r.Push(ctx, repository, desc, bytes.NewReader(data))
}
