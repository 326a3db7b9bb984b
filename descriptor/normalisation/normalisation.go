// Package normalisation turns a component descriptor into the exact bytes
// that OCM signs (jsonNormalisation/v1 … /v4alpha1) and hashes them.
//
// Every algorithm works on a generic copy of the descriptor: the model is
// marshalled with encoding/json and decoded with UseNumber into maps and
// slices, the algorithm's field rules are applied, and the result is
// serialised (RFC 8785 JCS for v2–v4alpha1, the OCM "entry" format for v1).
// The byte-level quirks of the reference implementations are reproduced on
// purpose, because a signature only verifies if the bytes match exactly:
//
//   - v1 and v2 are the legacy algorithms of OCM v1 (open-component-model/ocm);
//     they include its extra-identity defaulting and keep nulls.
//   - v3 and v4alpha1 are byte-identical and follow OCM v2
//     (open-component-model/open-component-model), the current reference.
package normalisation

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/ocmgo/ocm/blob"
	"github.com/ocmgo/ocm/descriptor"
)

// Normalisation algorithms, as written in normalisationAlgorithm.
const (
	JSONv1       = "jsonNormalisation/v1"
	JSONv2       = "jsonNormalisation/v2"
	JSONv3       = "jsonNormalisation/v3"
	JSONv4alpha1 = "jsonNormalisation/v4alpha1"
)

// Hash algorithms, as written in hashAlgorithm.
const (
	SHA256 = "SHA-256"
	SHA512 = "SHA-512"
)

// Artifact digest markers used in resource digests.
const (
	GenericBlobDigestV1  = "genericBlobDigest/v1"
	OCIArtifactDigestV1  = "ociArtifactDigest/v1"
	ExcludeFromSignature = "EXCLUDE-FROM-SIGNATURE"
	NoDigest             = "NO-DIGEST"
)

var (
	// ErrUnknownAlgorithm is wrapped by Normalise and Digest for an unsupported normalisation algorithm.
	ErrUnknownAlgorithm = errors.New("unknown normalisation algorithm")
	// ErrUnknownHash is wrapped by NewHash and Digest for an unsupported hash algorithm.
	ErrUnknownHash = blob.ErrUnknownHash
)

// Algorithms lists the supported normalisation algorithms.
func Algorithms() []string {
	return []string{JSONv1, JSONv2, JSONv3, JSONv4alpha1}
}

// Normalise returns the normalised form of d under algorithm. d is not modified.
func Normalise(d *descriptor.Descriptor, algorithm string) ([]byte, error) {
	if d == nil {
		return nil, errors.New("normalise: no descriptor")
	}
	var (
		out []byte
		err error
	)
	switch algorithm {
	case JSONv1:
		out, err = normaliseV1(d)
	case JSONv2:
		out, err = normaliseV2(d)
	case JSONv3, JSONv4alpha1:
		out, err = normaliseV4(d)
	default:
		return nil, fmt.Errorf("%w %q (supported: %s)", ErrUnknownAlgorithm, algorithm, strings.Join(Algorithms(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("normalising %s:%s with %s: %w", d.Component.Name, d.Component.Version, algorithm, err)
	}
	return out, nil
}

// Digest normalises d with algorithm and hashes the result with hashAlgorithm.
// The returned spec carries the canonical hash name and the lowercase hex value.
func Digest(d *descriptor.Descriptor, algorithm, hashAlgorithm string) (*descriptor.DigestSpec, error) {
	h, name, err := NewHash(hashAlgorithm)
	if err != nil {
		return nil, err
	}
	data, err := Normalise(d, algorithm)
	if err != nil {
		return nil, err
	}
	h.Write(data)
	return &descriptor.DigestSpec{
		HashAlgorithm:          name,
		NormalisationAlgorithm: algorithm,
		Value:                  hex.EncodeToString(h.Sum(nil)),
	}, nil
}

// NewHash returns a hash for name and its canonical spelling (SHA-256,
// SHA-512; legacy sha256/sha512 accepted).
func NewHash(name string) (hash.Hash, string, error) { return blob.NewHash(name) }

// IsSafelyDigestible reports whether d can be normalised for signing: every
// resource with content has a complete digest (the EXCLUDE-FROM-SIGNATURE /
// NO-DIGEST marker counts as one), every resource without content (access
// none/None or no access at all) has none, and every component reference
// has a complete digest. All problems are reported together.
func IsSafelyDigestible(d *descriptor.Descriptor) error {
	if d == nil {
		return errors.New("no descriptor")
	}
	var errs []error
	c := &d.Component
	resIDs := c.ResourceIdentities()
	for i := range c.Resources {
		r := &c.Resources[i]
		noContent := r.Access == nil || r.Access.IsNone()
		switch {
		case noContent && r.Digest != nil:
			errs = append(errs, fmt.Errorf("component.resources[%d] (%s, version %q): a resource without content (access %s) must not have a digest, got %s",
				i, resIDs[i], r.Version, accessType(r.Access), r.Digest))
		case !noContent && !complete(r.Digest):
			errs = append(errs, fmt.Errorf("component.resources[%d] (%s, version %q): missing or incomplete digest (%s)",
				i, resIDs[i], r.Version, r.Digest))
		}
	}
	refIDs := c.ReferenceIdentities()
	for i := range c.References {
		r := &c.References[i]
		if !complete(r.Digest) {
			errs = append(errs, fmt.Errorf("component.componentReferences[%d] (%s, component %s:%s): missing or incomplete digest (%s)",
				i, refIDs[i], r.ComponentName, r.Version, r.Digest))
		}
	}
	return errors.Join(errs...)
}

func complete(d *descriptor.DigestSpec) bool {
	return d != nil && d.HashAlgorithm != "" && d.NormalisationAlgorithm != "" && d.Value != ""
}

func accessType(t *descriptor.Typed) string {
	if t == nil {
		return "<none>"
	}
	return t.Type
}
