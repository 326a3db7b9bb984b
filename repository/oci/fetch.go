package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// MaxFetchRetries bounds how often one Fetch stream is resumed after the
// connection broke (reset, short body, stalled body) while reading.
const MaxFetchRetries = 3

// fetchBackoff is the wait before resume attempt n (0-based).
var fetchBackoff = func(n int) time.Duration { return time.Duration(100<<n) * time.Millisecond }

// resumingReader reads a fetched blob or manifest and, when the stream
// breaks before desc.Size bytes, continues it with a ranged GET (or a fresh
// GET whose first bytes are skipped when the registry ignores Range). It
// never judges the content: bytes that arrive complete but wrong are the
// caller's digest check's business, and are never retried.
type resumingReader struct {
	ctx     context.Context
	r       *Registry
	full    string
	desc    ocispec.Descriptor
	rc      io.ReadCloser
	n       int64 // bytes delivered
	retries int
	pending error // error met after delivering bytes, handled on next Read
}

func (rr *resumingReader) Read(p []byte) (int, error) {
	for {
		err := rr.pending
		rr.pending = nil
		if err == nil {
			var n int
			n, err = rr.rc.Read(p)
			rr.n += int64(n)
			if err == io.EOF && rr.n < rr.desc.Size {
				err = fmt.Errorf("short body: %d of %d bytes: %w", rr.n, rr.desc.Size, io.ErrUnexpectedEOF)
			}
			if n > 0 || err == nil || err == io.EOF {
				if err != nil && err != io.EOF {
					rr.pending = err
					err = nil
				}
				return n, err
			}
		}
		if rerr := rr.resume(err); rerr != nil {
			return 0, rerr
		}
	}
}

// resume replaces the broken stream, or returns the error to report.
func (rr *resumingReader) resume(cause error) error {
	fail := func(err error) error {
		return fmt.Errorf("registry %s: repository %s: reading %s at byte %d of %d: %w", rr.r.host, rr.full, rr.desc.Digest, rr.n, rr.desc.Size, err)
	}
	if rr.ctx.Err() != nil || errors.Is(cause, context.Canceled) {
		return fail(cause)
	}
	for {
		if rr.retries >= MaxFetchRetries {
			return fail(fmt.Errorf("giving up after %d retries: %w", rr.retries, cause))
		}
		t := time.NewTimer(fetchBackoff(rr.retries))
		select {
		case <-rr.ctx.Done():
			t.Stop()
			return fail(cause)
		case <-t.C:
		}
		rr.retries++
		rr.r.fetchRetries.Add(1)
		rc, err := rr.reopen()
		if err != nil {
			cause = err
			continue
		}
		rr.rc.Close()
		rr.rc = rc
		return nil
	}
}

// reopen requests the stream from byte rr.n on.
func (rr *resumingReader) reopen() (io.ReadCloser, error) {
	scheme := "https"
	if rr.r.plainHTTP {
		scheme = "http"
	}
	kind := "blobs"
	if isManifest(rr.desc.MediaType) {
		kind = "manifests"
	}
	u := &url.URL{Scheme: scheme, Host: rr.r.host, Path: fmt.Sprintf("/v2/%s/%s/%s", rr.full, kind, rr.desc.Digest)}
	ctx := auth.AppendRepositoryScope(rr.ctx, registry.Reference{Registry: rr.r.host, Repository: rr.full}, auth.ActionPull)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if kind == "manifests" {
		req.Header.Set("Accept", rr.desc.MediaType)
	}
	if rr.n > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", rr.n, rr.desc.Size-1))
	}
	resp, err := rr.r.client.Do(req)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if rr.n > 0 {
			return resp.Body, nil
		}
	case http.StatusOK:
		// Range ignored: skip what was delivered already.
		if _, err := io.CopyN(io.Discard, resp.Body, rr.n); err != nil {
			resp.Body.Close()
			return nil, err
		}
		return resp.Body, nil
	}
	resp.Body.Close()
	return nil, fmt.Errorf("resuming: GET %s: unexpected status %s", u.Path, resp.Status)
}

func (rr *resumingReader) Close() error { return rr.rc.Close() }
