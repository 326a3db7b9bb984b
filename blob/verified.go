package blob

import (
	"io"

	"github.com/opencontainers/go-digest"
)

// VerifiedStream is a reader that checks what it yields against a digest and
// a size: it hashes every byte and, where the stream ends, returns an error
// instead of io.EOF unless exactly Size bytes with digest Digest came
// through. A writer that reads such a stream to io.EOF has content with that
// digest without hashing it again, so each byte is hashed once per algorithm.
type VerifiedStream interface {
	io.Reader
	// Verifies returns the digest and size the stream is checked against.
	Verifies() (digest.Digest, int64)
}

// VerifiedAs reports whether r is a VerifiedStream for exactly dgst and size,
// so that a writer may skip its own hash of that algorithm.
func VerifiedAs(r io.Reader, dgst digest.Digest, size int64) bool {
	vs, ok := r.(VerifiedStream)
	if !ok {
		return false
	}
	d, n := vs.Verifies()
	return d == dgst && n == size
}
