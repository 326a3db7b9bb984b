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
