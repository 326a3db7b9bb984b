package access

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
)

func (f *Fetcher) openWget(ctx context.Context, acc *descriptor.Typed) (*Blob, error) {
	w, err := acc.Wget()
	if err != nil {
		return nil, err
	}
	resp, err := f.do(ctx, httpRequest{url: w.URL, method: w.Verb, header: w.Header, body: w.Body, noRedirect: w.NoRedirect, consumer: ConsumerWget})
	if err != nil {
		return nil, err
	}
	mt := w.MediaType
	if mt == "" {
		mt = resp.Header.Get("Content-Type")
	}
	if mt == "" {
		mt = "application/octet-stream"
	}
	return &Blob{ReadCloser: resp.Body, Size: resp.ContentLength, MediaType: mt, Source: safeURLString(w.URL)}, nil
}

func (f *Fetcher) resolveWget(ctx context.Context, acc *descriptor.Typed) (*Resolved, error) {
	b, err := f.Open(ctx, acc)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return hashBlob(acc, b)
}

// hashBlob reads b to the end and returns it as resolved content with a
// genericBlobDigest/v1 SHA-256 digest, the way the reference records
// downloaded content.
func hashBlob(acc *descriptor.Typed, b *Blob) (*Resolved, error) {
	h := sha256.New()
	n, err := io.Copy(h, b)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", b.Source, err)
	}
	if b.Size >= 0 && n != b.Size {
		return nil, fmt.Errorf("reading %s: %d bytes announced, %d read", b.Source, b.Size, n)
	}
	return &Resolved{
		Access:    acc,
		Digest:    descriptor.DigestSpec{HashAlgorithm: normalisation.SHA256, NormalisationAlgorithm: normalisation.GenericBlobDigestV1, Value: hex.EncodeToString(h.Sum(nil))},
		MediaType: b.MediaType,
		Size:      n,
	}, nil
}
