package descriptor

import (
	"fmt"
	"strings"
)

// AccessKind is what an access type means, whatever its spelling: the
// reference tools accept several names (current, legacy, lower camel case)
// for the same access, each unversioned or with /v1.
type AccessKind string

// The access kinds this code base interprets; others are carried verbatim.
const (
	AccessLocalBlob     AccessKind = "LocalBlob"
	AccessOCIImage      AccessKind = "OCIImage"
	AccessOCIImageLayer AccessKind = "OCIImageLayer"
	AccessHelm          AccessKind = "Helm"
	AccessWget          AccessKind = "Wget"
	AccessNone          AccessKind = "none"
)

// AccessTypeInfo describes one access kind: the type names that mean it
// (the first is the one written) and the string fields without which it
// cannot work.
type AccessTypeInfo struct {
	Kind      AccessKind
	Spellings []string
	Required  []string
}

// AccessTypes is the one table of access type spellings, as the reference
// implementation registers them (bindings/go/*/spec/access).
var AccessTypes = []AccessTypeInfo{
	{Kind: AccessLocalBlob, Spellings: []string{"LocalBlob", "localBlob"}, Required: []string{"localReference"}},
	{Kind: AccessOCIImage, Spellings: []string{"OCIImage", "ociArtifact", "ociRegistry", "ociImage", "OCIArtifact"}, Required: []string{"imageReference"}},
	{Kind: AccessOCIImageLayer, Spellings: []string{"OCIImageLayer", "ociBlob"}, Required: []string{"ref", "digest"}},
	{Kind: AccessHelm, Spellings: []string{"Helm", "helm"}, Required: []string{"helmRepository", "helmChart"}},
	{Kind: AccessWget, Spellings: []string{"Wget", "wget"}, Required: []string{"url"}},
	{Kind: AccessNone, Spellings: []string{"none", "None"}},
}

// Legacy spellings kept as named constants for writers.
const (
	AccessTypeLocalBlob       = "LocalBlob"
	AccessTypeLocalBlobLegacy = "localBlob"
	AccessTypeNone            = "none"
	AccessTypeNoneLegacy      = "None"
)

// AccessTypeOf returns the table entry for an access type name
// (Name or Name/v1); ok is false for types this code does not interpret,
// including known names with another version.
func AccessTypeOf(typ string) (AccessTypeInfo, bool) {
	base, version, hasVersion := strings.Cut(typ, "/")
	if hasVersion && version != "v1" {
		return AccessTypeInfo{}, false
	}
	for _, info := range AccessTypes {
		for _, name := range info.Spellings {
			if base == name {
				return info, true
			}
		}
	}
	return AccessTypeInfo{}, false
}

// AccessKindOf returns the kind an access type name means, or "" when
// this code does not interpret it.
func AccessKindOf(typ string) AccessKind {
	info, _ := AccessTypeOf(typ)
	return info.Kind
}

// Kind returns the kind of the access, "" for nil or uninterpreted types.
func (t *Typed) Kind() AccessKind {
	if t == nil {
		return ""
	}
	return AccessKindOf(t.Type)
}

// LocalBlobAccess is the LocalBlob/v1 access (legacy spelling localBlob): the
// blob is stored alongside the descriptor in the same repository.
type LocalBlobAccess struct {
	Type           string `json:"type"`
	LocalReference string `json:"localReference"`
	MediaType      string `json:"mediaType,omitempty"`
	ReferenceName  string `json:"referenceName,omitempty"`
	GlobalAccess   *Typed `json:"globalAccess,omitempty"`
}

// IsLocalBlob reports whether the access is LocalBlob/v1 or localBlob.
func (t *Typed) IsLocalBlob() bool {
	return t.Kind() == AccessLocalBlob
}

// IsNone reports whether the access is none/None, i.e. the artifact has no content.
func (t *Typed) IsNone() bool {
	return t.Kind() == AccessNone
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
	return t.Kind() == AccessOCIImage
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
