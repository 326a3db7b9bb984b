package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// DefaultChunkSize is the largest chunk size chosen after a registry
// refused a monolithic upload as too large (half the refused size, at most
// this).
const DefaultChunkSize = 16 << 20

// locations remembers, per registry host, one repository known to hold a
// blob (pushed, found or fetched there), so that pushing the same blob into
// another repository of that registry is a cross-repository mount instead of
// an upload. It is shared by every Registry of the process: a transfer
// between two sub paths of one registry mounts too.
var locations = &blobLocations{m: map[string]map[digest.Digest]string{}}

type blobLocations struct {
	mu sync.Mutex
	m  map[string]map[digest.Digest]string // host -> digest -> full repository
	n  int
}

// maxLocations bounds the memory of the index (about 150 bytes an entry).
const maxLocations = 1 << 16

func (l *blobLocations) remember(host, full string, d digest.Digest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n >= maxLocations {
		l.m, l.n = map[string]map[digest.Digest]string{}, 0
	}
	byDigest := l.m[host]
	if byDigest == nil {
		byDigest = map[digest.Digest]string{}
		l.m[host] = byDigest
	}
	if _, ok := byDigest[d]; !ok {
		l.n++
	}
	byDigest[d] = full
}

// source returns another repository of host holding d.
func (l *blobLocations) source(host, full string, d digest.Digest) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	from, ok := l.m[host][d]
	return from, ok && from != full
}

func isManifest(mediaType string) bool {
	switch mediaType {
	case ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex,
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json":
		return true
	}
	return false
}

// pushBlob uploads a blob: mounted from another repository of the registry
// when one is known to hold it, in chunks when configured or after the
// registry refused a monolithic upload as too large, else monolithically.
func (r *Registry) pushBlob(ctx context.Context, full string, desc ocispec.Descriptor, content io.Reader) error {
	rr, _, err := r.repoFull(full)
	if err != nil {
		return err
	}
	if from, ok := locations.source(r.host, full, desc.Digest); ok {
		err := rr.Mount(ctx, desc, from, func() (io.ReadCloser, error) {
			// The registry declined the mount: upload the content instead.
			return io.NopCloser(content), nil
		})
		if err != nil {
			return r.wrap(full, fmt.Sprintf("mounting %s from %s", desc.Digest, from), err)
		}
		r.mounts.Add(1)
		locations.remember(r.host, full, desc.Digest)
		return nil
	}
	if r.chunkSize() > 0 && desc.Size > r.chunkSize() {
		if err := r.pushChunked(ctx, full, desc, content); err != nil {
			return err
		}
		locations.remember(r.host, full, desc.Digest)
		return nil
	}
	if err := rr.Push(ctx, desc, content); err != nil {
		if isTooLarge(err) {
			// The stream is consumed; the caller retries with a fresh one,
			// which then goes in chunks.
			r.shrinkChunks(min(DefaultChunkSize, max(desc.Size/2, minChunk)))
			return r.wrap(full, "pushing "+string(desc.Digest)+" (too large for one request; retry uploads in chunks)", err)
		}
		return r.wrap(full, "pushing "+string(desc.Digest), err)
	}
	locations.remember(r.host, full, desc.Digest)
	return nil
}

// chunkSize is the chunk size in use, 0 for monolithic uploads.
func (r *Registry) chunkSize() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.chunk
}

// isTooLarge reports a 413 answer.
func isTooLarge(err error) bool {
	var resp *errcode.ErrorResponse
	return errors.As(err, &resp) && resp.StatusCode == http.StatusRequestEntityTooLarge
}

// pushChunked uploads content in chunks (POST, PATCH with Content-Range per
// chunk, PUT with the digest), as the distribution spec describes. Only one
// chunk is in memory. A chunk that fails is resumed from the offset the
// registry reports for the session, so a broken connection costs at most
// one chunk, not the blob.
func (r *Registry) pushChunked(ctx context.Context, full string, desc ocispec.Descriptor, content io.Reader) error {
	fail := func(what string, err error) error {
		return r.wrap(full, "chunked upload of "+string(desc.Digest)+": "+what, err)
	}
	ctx = auth.AppendRepositoryScope(ctx, registry.Reference{Registry: r.host, Repository: full}, auth.ActionPull, auth.ActionPush)
	scheme := "https"
	if r.plainHTTP {
		scheme = "http"
	}
	start, _ := url.Parse(fmt.Sprintf("%s://%s/v2/%s/blobs/uploads/", scheme, r.host, full))
	resp, err := r.do(ctx, http.MethodPost, start, nil, nil)
	if err != nil {
		return fail("starting", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fail("starting", errorResponse(resp))
	}
	loc, err := location(start, resp)
	if err != nil {
		return fail("starting", err)
	}
	size := r.chunkSize()
	if size <= 0 {
		size = DefaultChunkSize
	}
	if minLen, err := strconv.ParseInt(resp.Header.Get("OCI-Chunk-Min-Length"), 10, 64); err == nil && minLen > size {
		size = minLen
	}
	buf := make([]byte, size)
	var offset int64
	for {
		n, rerr := io.ReadFull(content, buf)
		if n > 0 {
			if loc, err = r.patchChunk(ctx, loc, buf[:n], offset); err != nil {
				return fail(fmt.Sprintf("chunk at %d", offset), err)
			}
			offset += int64(n)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return fail("reading the content", rerr)
		}
	}
	if offset != desc.Size {
		return fail("", fmt.Errorf("content has %d bytes, the descriptor says %d", offset, desc.Size))
	}
	q := loc.Query()
	q.Set("digest", desc.Digest.String())
	done := *loc
	done.RawQuery = q.Encode()
	resp, err = r.do(ctx, http.MethodPut, &done, nil, nil)
	if err != nil {
		return fail("completing", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fail("completing", errorResponse(resp))
	}
	r.chunkedUploads.Add(1)
	return nil
}

// patchChunk sends chunk, which starts at offset of the blob, resuming
// after failures from what the registry has received.
func (r *Registry) patchChunk(ctx context.Context, loc *url.URL, chunk []byte, offset int64) (*url.URL, error) {
	sent := int64(0)
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
			}
			// How far did the registry get?
			if got, ok := r.uploadOffset(ctx, loc); ok && got >= offset && got <= offset+int64(len(chunk)) {
				sent = got - offset
			}
			if sent == int64(len(chunk)) {
				return loc, nil
			}
		}
		h := http.Header{}
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Range", fmt.Sprintf("%d-%d", offset+sent, offset+int64(len(chunk))-1))
		resp, err := r.do(ctx, http.MethodPatch, loc, h, chunk[sent:])
		if err != nil {
			lastErr = err
			continue
		}
		if resp.StatusCode == http.StatusAccepted {
			resp.Body.Close()
			return location(loc, resp)
		}
		lastErr = errorResponse(resp)
		resp.Body.Close()
		if resp.StatusCode == http.StatusRequestEntityTooLarge && len(chunk)-int(sent) > minChunk {
			// Smaller requests from now on, and this chunk in halves.
			rest := chunk[sent:]
			half := len(rest) / 2
			r.shrinkChunks(int64(half))
			if loc, err = r.patchChunk(ctx, loc, rest[:half], offset+sent); err != nil {
				return nil, err
			}
			return r.patchChunk(ctx, loc, rest[half:], offset+sent+int64(half))
		}
		if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			return nil, lastErr
		}
	}
	return nil, lastErr
}

// minChunk is the smallest chunk a 413 answer makes us try.
const minChunk = 64 << 10

// shrinkChunks lowers the chunk size for later uploads after a 413.
func (r *Registry) shrinkChunks(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.chunk == 0 || n < r.chunk {
		r.chunk = n
	}
}

// uploadOffset asks for the status of an upload session: the number of
// bytes received (Range: 0-<last byte>).
func (r *Registry) uploadOffset(ctx context.Context, loc *url.URL) (int64, bool) {
	resp, err := r.do(ctx, http.MethodGet, loc, nil, nil)
	if err != nil {
		return 0, false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return 0, false
	}
	_, end, ok := strings.Cut(resp.Header.Get("Range"), "-")
	if !ok {
		return 0, false
	}
	last, err := strconv.ParseInt(end, 10, 64)
	if err != nil || last < 0 {
		return 0, true // "0-0" from some registries for an empty session is ambiguous; resend from the start
	}
	return last + 1, true
}

// body may be a chunk buffer that the caller reuses: the HTTP transport can
// still be reading a request body after the response arrived (a registry
// answering 413 before reading it), so do returns only once the transport
// closed every body it was given (or the context ended).
func (r *Registry) do(ctx context.Context, method string, u *url.URL, h http.Header, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), http.NoBody)
	if err != nil {
		return nil, err
	}
	var bodies sync.WaitGroup
	if body != nil {
		open := func() (io.ReadCloser, error) {
			bodies.Add(1)
			return &trackedBody{Reader: bytes.NewReader(body), done: bodies.Done}, nil
		}
		req.Body, _ = open()
		req.GetBody = open // retries rewind with a fresh, tracked reader
		req.ContentLength = int64(len(body))
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := r.client.Do(req)
	// A body the retry layer rewound but never sent (the context ended
	// during its backoff) is never closed: stop waiting then, the caller
	// fails and drops its buffer anyway.
	waited := make(chan struct{})
	go func() { bodies.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
	}
	return resp, err
}

// trackedBody reports when the transport is done with a request body.
type trackedBody struct {
	*bytes.Reader
	once sync.Once
	done func()
}

func (b *trackedBody) Close() error {
	b.once.Do(b.done)
	return nil
}

// location resolves the Location header of an upload response.
func location(base *url.URL, resp *http.Response) (*url.URL, error) {
	l := resp.Header.Get("Location")
	if l == "" {
		return nil, errors.New("registry sent no upload location")
	}
	u, err := base.Parse(l)
	if err != nil {
		return nil, fmt.Errorf("upload location %q: %w", l, err)
	}
	return u, nil
}

// errorResponse turns an unexpected answer into oras' error type, so that
// callers (retries, not-found checks) treat it like oras' own errors.
func errorResponse(resp *http.Response) error {
	e := &errcode.ErrorResponse{Method: resp.Request.Method, URL: resp.Request.URL, StatusCode: resp.StatusCode}
	var body struct {
		Errors errcode.Errors `json:"errors"`
	}
	if data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10)); err == nil {
		_ = json.Unmarshal(data, &body)
	}
	e.Errors = body.Errors
	return e
}
