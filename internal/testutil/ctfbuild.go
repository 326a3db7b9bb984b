package testutil

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// Layer is a local blob for AddComponentVersion: Data is written to the
// archive, or, when Data is nil, Desc names a blob already in blobs/.
type Layer struct {
	MediaType string
	Data      []byte
	Desc      ocispec.Descriptor
}

// AddComponentVersion writes a component version into the CTF directory dir
// the way the reference CLI lays it out (descriptor JSON layer, component
// config, manifest, tagged index entry), with layers as its local blobs.
// It is a fixture builder for tests and benchmarks, not the archive writer.
func AddComponentVersion(dir string, cd *descriptor.Descriptor, layers ...Layer) error {
	blobs := filepath.Join(dir, "blobs")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	put := func(mediaType string, data []byte) (ocispec.Descriptor, error) {
		d := digest.FromBytes(data)
		err := os.WriteFile(filepath.Join(blobs, "sha256."+d.Encoded()), data, 0o644)
		return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}, err
	}
	cdJSON, err := descriptor.EncodeJSON(cd)
	if err != nil {
		return err
	}
	cdDesc, err := put(ocimap.MediaTypeDescriptorJSON, cdJSON)
	if err != nil {
		return err
	}
	cfg, _ := json.Marshal(map[string]any{"componentDescriptorLayer": cdDesc})
	cfgDesc, err := put(ocimap.MediaTypeComponentConfig, cfg)
	if err != nil {
		return err
	}
	manifestLayers := []ocispec.Descriptor{cdDesc}
	for _, l := range layers {
		d := l.Desc
		if l.Data != nil {
			if d, err = put(l.MediaType, l.Data); err != nil {
				return err
			}
		}
		manifestLayers = append(manifestLayers, d)
	}
	manifest, _ := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: ocimap.ArtifactTypeDescriptor, Config: cfgDesc, Layers: manifestLayers,
	})
	mDesc, err := put(ocispec.MediaTypeImageManifest, manifest)
	if err != nil {
		return err
	}
	type entry struct {
		Repository string `json:"repository"`
		Tag        string `json:"tag,omitempty"`
		Digest     string `json:"digest"`
		MediaType  string `json:"mediaType,omitempty"`
	}
	var index struct {
		SchemaVersion int     `json:"schemaVersion"`
		Artifacts     []entry `json:"artifacts"`
	}
	indexPath := filepath.Join(dir, "artifact-index.json")
	if data, err := os.ReadFile(indexPath); err == nil {
		if err := json.Unmarshal(data, &index); err != nil {
			return fmt.Errorf("%s: %w", indexPath, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	index.SchemaVersion = 1
	index.Artifacts = append(index.Artifacts, entry{
		Repository: ocimap.RepositoryName(cd.Component.Name), Tag: ocimap.ToTag(cd.Component.Version),
		Digest: mDesc.Digest.String(), MediaType: ocispec.MediaTypeImageManifest,
	})
	data, _ := json.Marshal(index)
	return os.WriteFile(indexPath, data, 0o644)
}
