// Package blob holds the streaming primitives every blob passes through:
// hashing while copying, verification against expected digests, and atomic
// publication of files and directories (temp, verify, rename).
package blob

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
)

// Expectation is one digest that content must have.
type Expectation struct {
	// Algorithm is an OCM hash name (SHA-256, SHA-512; legacy sha256/sha512)
	// or an OCI digest algorithm (sha256, sha512).
	Algorithm string
	// Value is the hex digest; empty means "compute only" (read it with Sum).
	Value string
	// What names the expectation in errors, e.g. "resource digest" or "localReference".
	What string
}

// Verifier hashes everything written to it with each algorithm it was asked
// for (once per algorithm, however many expectations share it).
type Verifier struct {
	hashes       map[string]hash.Hash
	expectations []Expectation
	n            int64
}

// ErrUnknownHash is returned for hash algorithms other than SHA-256 and SHA-512.
var ErrUnknownHash = errors.New("unsupported hash algorithm")

// NewHash returns a hash for name and its canonical OCM spelling. Besides
// SHA-256 and SHA-512 it accepts the legacy spellings sha256/sha512 that old
// descriptors carry and OCI digests use (any case, with or without the dash).
func NewHash(name string) (hash.Hash, string, error) {
	switch strings.ToUpper(name) {
	case "SHA-256", "SHA256":
		return sha256.New(), "SHA-256", nil
	case "SHA-512", "SHA512":
		return sha512.New(), "SHA-512", nil
	}
	return nil, "", fmt.Errorf("%w %q (supported: SHA-256, SHA-512)", ErrUnknownHash, name)
}

// NewVerifier prepares hashing for the given expectations.
func NewVerifier(exps ...Expectation) (*Verifier, error) {
	v := &Verifier{hashes: map[string]hash.Hash{}}
	for _, e := range exps {
		h, canonical, err := NewHash(e.Algorithm)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.What, err)
		}
		if _, ok := v.hashes[canonical]; !ok {
			v.hashes[canonical] = h
		}
		e.Algorithm = canonical
		e.Value = strings.ToLower(e.Value)
		v.expectations = append(v.expectations, e)
	}
	return v, nil
}

// Write hashes p.
func (v *Verifier) Write(p []byte) (int, error) {
	for _, h := range v.hashes {
		h.Write(p)
	}
	v.n += int64(len(p))
	return len(p), nil
}

// Size is the number of bytes hashed so far.
func (v *Verifier) Size() int64 { return v.n }

// Sum returns the hex digest computed for an algorithm (it must have been requested).
func (v *Verifier) Sum(algorithm string) string {
	_, canonical, err := NewHash(algorithm)
	if err != nil {
		return ""
	}
	h, ok := v.hashes[canonical]
	if !ok {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// MismatchError says which expected digest the content did not have.
type MismatchError struct {
	Expectation
	Actual string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s mismatch: expected %s %s, content has %s", e.What, e.Algorithm, e.Value, e.Actual)
}

// Verify checks every expectation against what was hashed.
func (v *Verifier) Verify() error {
	for _, e := range v.expectations {
		if e.Value == "" {
			continue
		}
		if got := v.Sum(e.Algorithm); got != e.Value {
			return &MismatchError{Expectation: e, Actual: got}
		}
	}
	return nil
}

// TeeReader returns a reader that hashes what r yields.
func (v *Verifier) TeeReader(r io.Reader) io.Reader { return io.TeeReader(r, v) }
