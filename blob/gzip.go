package blob

import (
	"compress/gzip"
	"errors"
	"io"
)

// FinishGzip reads a gzip stream to its end after a consumer (a tar reader,
// which stops at the end-of-archive marker) has taken what it needed, so
// that the CRC-32 and length trailer of every member are checked: a corrupt
// stream must not pass because its content was complete. Bytes after the
// last member that are not a gzip header (some tools pad with zeros) cannot
// change the content any more and are ignored.
func FinishGzip(zr *gzip.Reader) error {
	if _, err := io.Copy(io.Discard, zr); err != nil && !errors.Is(err, gzip.ErrHeader) {
		return err
	}
	return nil
}
