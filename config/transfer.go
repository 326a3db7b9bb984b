package config

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// TransferType is the reference's configuration type of transfer settings
// (transfer.config.ocm.software/v1alpha1).
const TransferType = "transfer.config.ocm.software"

// Values of TransferSettings' fields, as the reference spells them.
const (
	// RecursiveNone transfers only the named version; RecursiveAll every
	// version it references, transitively. Other depths are reserved.
	RecursiveNone = 0
	RecursiveAll  = -1

	CopyModeLocalBlob    = "localBlob"
	CopyModeAllResources = "allResources"

	UploadAsLocalBlob   = "localBlob"
	UploadAsOCIArtifact = "ociArtifact"
)

// TransferSettings are the merged transfer.config.ocm.software entries.
type TransferSettings struct {
	// Recursive: RecursiveAll (-1) or RecursiveNone (0).
	Recursive int `json:"recursive,omitempty"`
	// CopyMode: CopyModeLocalBlob (the default when empty) copies the
	// version's own content; CopyModeAllResources also external content.
	CopyMode string `json:"copyMode,omitempty"`
	// UploadType: how copied OCI artifacts are stored, UploadAsLocalBlob
	// (the default when empty) or UploadAsOCIArtifact.
	UploadType string `json:"uploadType,omitempty"`
}

// Transfer merges the transfer.config.ocm.software entries in precedence
// order (a later non-empty field wins, as in the reference); nil when there
// are none. An invalid entry is an error naming its source and field.
func (c *Config) Transfer() (*TransferSettings, error) {
	entries := c.EntriesOfType(TransferType)
	if len(entries) == 0 {
		return nil, nil
	}
	merged := &TransferSettings{}
	for _, e := range entries {
		if e.Type != TransferType && e.Type != TransferType+"/v1alpha1" {
			return nil, fmt.Errorf("%s: configuration type %q: unsupported version (want %s/v1alpha1)", e.Source, e.Type, TransferType)
		}
		var s struct {
			Type string `json:"type"`
			TransferSettings
		}
		d := json.NewDecoder(bytes.NewReader(e.Raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&s); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", e.Source, e.Type, err)
		}
		switch {
		case s.Recursive > RecursiveNone:
			return nil, fmt.Errorf("%s: %s: recursive depth %d is not supported (use -1 for all references or 0 for none)", e.Source, e.Type, s.Recursive)
		case s.Recursive < RecursiveAll:
			return nil, fmt.Errorf("%s: %s: invalid recursive %d (use -1 for all references or 0 for none)", e.Source, e.Type, s.Recursive)
		}
		if s.CopyMode != "" && s.CopyMode != CopyModeLocalBlob && s.CopyMode != CopyModeAllResources {
			return nil, fmt.Errorf("%s: %s: invalid copyMode %q (want %s or %s)", e.Source, e.Type, s.CopyMode, CopyModeLocalBlob, CopyModeAllResources)
		}
		if s.UploadType != "" && s.UploadType != UploadAsLocalBlob && s.UploadType != UploadAsOCIArtifact {
			return nil, fmt.Errorf("%s: %s: invalid uploadType %q (want %s or %s)", e.Source, e.Type, s.UploadType, UploadAsLocalBlob, UploadAsOCIArtifact)
		}
		if s.Recursive != RecursiveNone {
			merged.Recursive = s.Recursive
		}
		if s.CopyMode != "" {
			merged.CopyMode = s.CopyMode
		}
		if s.UploadType != "" {
			merged.UploadType = s.UploadType
		}
	}
	return merged, nil
}
