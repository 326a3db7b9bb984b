package ctf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	// go-digest only accepts algorithms whose hash is linked into the binary;
	// import them here so digest validation never depends on other packages.
	_ "crypto/sha256"
	_ "crypto/sha512"

	"github.com/opencontainers/go-digest"
)

// IndexFileName is the name of the index file at the root of every CTF.
const IndexFileName = "artifact-index.json"

// Index is the content of artifact-index.json.
type Index struct {
	SchemaVersion int             `json:"schemaVersion"`
	Artifacts     []ArtifactEntry `json:"artifacts"`
}

// ArtifactEntry maps a repository (and optionally a tag) to a manifest or
// index digest. Entries without a tag are older, untagged versions; OCM v1
// archives carry no media type.
type ArtifactEntry struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	Digest     string `json:"digest"`
	MediaType  string `json:"mediaType,omitempty"`
}

// ParseIndex decodes artifact-index.json strictly, like the reference
// implementation: unknown fields and trailing data are rejected, schemaVersion
// must be 1, every repository must be set and every digest must be valid, so
// that no later lookup can turn an index entry into an unexpected file name.
func ParseIndex(data []byte) (Index, error) {
	var idx Index
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&idx); err != nil {
		return Index{}, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Index{}, errors.New("unexpected data after the JSON object")
	}
	if idx.SchemaVersion != 1 {
		return Index{}, fmt.Errorf("unsupported schemaVersion %d (want 1)", idx.SchemaVersion)
	}
	for i, a := range idx.Artifacts {
		if a.Repository == "" {
			return Index{}, fmt.Errorf("artifacts[%d]: empty repository", i)
		}
		if err := digest.Digest(a.Digest).Validate(); err != nil {
			return Index{}, fmt.Errorf("artifacts[%d] (repository %q): invalid digest %q: %w", i, a.Repository, a.Digest, err)
		}
	}
	return idx, nil
}
