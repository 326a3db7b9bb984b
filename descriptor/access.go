package descriptor

import (
	"fmt"
	"strings"
)

// Access types this package interprets; others are carried verbatim.
const (
	AccessTypeLocalBlob       = "LocalBlob"
	AccessTypeLocalBlobLegacy = "localBlob"
	AccessTypeNone            = "none"
	AccessTypeNoneLegacy      = "None"
)

// LocalBlobAccess is the LocalBlob/v1 access (legacy spelling localBlob): the
// blob is stored alongside the descriptor in the same repository.
type LocalBlobAccess struct {
	Type           string `json:"type"`
	LocalReference string `json:"localReference"`
	MediaType      string `json:"mediaType,omitempty"`
	ReferenceName  string `json:"referenceName,omitempty"`
	GlobalAccess   *Typed `json:"globalAccess,omitempty"`
}

func typeIs(t, name, legacy string) bool {
	base, version, hasVersion := strings.Cut(t, "/")
	if hasVersion && version != "v1" {
		return false
	}
	return base == name || base == legacy
}

// IsLocalBlob reports whether the access is LocalBlob/v1 or localBlob.
func (t *Typed) IsLocalBlob() bool {
	return t != nil && typeIs(t.Type, AccessTypeLocalBlob, AccessTypeLocalBlobLegacy)
}

// IsNone reports whether the access is none/None, i.e. the artifact has no content.
func (t *Typed) IsNone() bool {
	return t != nil && typeIs(t.Type, AccessTypeNone, AccessTypeNoneLegacy)
}

// LocalBlob decodes a LocalBlob access.
func (t *Typed) LocalBlob() (*LocalBlobAccess, error) {
	if !t.IsLocalBlob() {
		if t == nil {
			return nil, fmt.Errorf("no access")
		}
		return nil, fmt.Errorf("access type %q is not %s", t.Type, AccessTypeLocalBlob)
	}
	var lb LocalBlobAccess
	if err := t.Decode(&lb); err != nil {
		return nil, fmt.Errorf("decoding %s access: %w", t.Type, err)
	}
	if lb.LocalReference == "" {
		return nil, fmt.Errorf("%s access has no localReference", t.Type)
	}
	return &lb, nil
}

// AccessTypeOCIArtifact is the access to an artifact in an OCI registry.
// The reference writes ociArtifact/v1; OCIImage, ociRegistry, ociImage and
// OCIArtifact are older spellings of the same access.
const AccessTypeOCIArtifact = "ociArtifact"

// OCIArtifactAccess is the ociArtifact access: an image reference
// host/repository[:tag][@digest].
type OCIArtifactAccess struct {
	Type           string `json:"type"`
	ImageReference string `json:"imageReference"`
}

// IsOCIArtifact reports whether the access points at an OCI registry
// artifact (any spelling, version v1 or none).
func (t *Typed) IsOCIArtifact() bool {
	if t == nil {
		return false
	}
	base, version, hasVersion := strings.Cut(t.Type, "/")
	if hasVersion && version != "v1" {
		return false
	}
	switch base {
	case AccessTypeOCIArtifact, "OCIImage", "ociRegistry", "ociImage", "OCIArtifact":
		return true
	}
	return false
}

// OCIArtifact decodes an OCI artifact access.
func (t *Typed) OCIArtifact() (*OCIArtifactAccess, error) {
	if !t.IsOCIArtifact() {
		if t == nil {
			return nil, fmt.Errorf("no access")
		}
		return nil, fmt.Errorf("access type %q is not %s", t.Type, AccessTypeOCIArtifact)
	}
	var a OCIArtifactAccess
	if err := t.Decode(&a); err != nil {
		return nil, fmt.Errorf("decoding %s access: %w", t.Type, err)
	}
	if a.ImageReference == "" {
		return nil, fmt.Errorf("%s access has no imageReference", t.Type)
	}
	return &a, nil
}
