package access

import (
	"errors"
	"fmt"
	"io"

	"github.com/ocmgo/ocm/blob"
)

// verifyingReader hashes what it yields and, at EOF, turns a mismatch into
// the error of the last read.
type verifyingReader struct {
	rc   io.ReadCloser
	v    *blob.Verifier
	what string
	done bool
}

// NewVerifyingReader returns a reader over rc that fails its last read
// with ErrDigestMismatch unless the content hashes (with algorithm, an OCM
// or OCI hash name) to value; what names the content in the error.
func NewVerifyingReader(rc io.ReadCloser, algorithm, value, what string) (io.ReadCloser, error) {
	v, err := blob.NewVerifier(blob.Expectation{Algorithm: algorithm, Value: value, What: what})
	if err != nil {
		return nil, err
	}
	return &verifyingReader{rc: rc, v: v, what: what}, nil
}

func (r *verifyingReader) Read(p []byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	n, err := r.rc.Read(p)
	r.v.Write(p[:n])
	if errors.Is(err, io.EOF) {
		r.done = true
		if verr := r.v.Verify(); verr != nil {
			return n, fmt.Errorf("%w: %w", ErrDigestMismatch, verr)
		}
	}
	return n, err
}

func (r *verifyingReader) Close() error { return r.rc.Close() }
