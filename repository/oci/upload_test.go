package oci_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/repository/oci"
)

// uploadCounter counts upload requests by method and the bytes they carry,
// and can refuse large bodies or break one PATCH midway.
type uploadCounter struct {
	next http.Handler

	mu      sync.Mutex
	methods map[string]int
	mounts  int
	bytes   int64

	maxBody   int64        // > 0: bodies larger than this get 413
	breakNext atomic.Int32 // PATCHes to break after half their body
}

func (c *uploadCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/blobs/uploads/") {
		c.mu.Lock()
		c.methods[r.Method]++
		if r.URL.Query().Get("mount") != "" {
			c.mounts++
		}
		c.bytes += max(r.ContentLength, 0)
		c.mu.Unlock()
		if c.maxBody > 0 && r.ContentLength > c.maxBody {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		if r.Method == http.MethodPatch && c.breakNext.Add(-1) == 0 {
			// A gateway failing the request: the registry never sees it.
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusBadGateway)
			return
		}
	}
	c.next.ServeHTTP(w, r)
}

func (c *uploadCounter) count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.methods[method]
}

func randomBlob(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, uint64(n)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// registries start a registry for the (sub)test they are given, its
// handler wrapped by wrap; distribution (a separate process) behind a
// reverse proxy.
func registries() map[string]func(t *testing.T, wrap func(http.Handler) http.Handler) string {
	return map[string]func(t *testing.T, wrap func(http.Handler) http.Handler) string{
		"olareg": func(t *testing.T, wrap func(http.Handler) http.Handler) string { return startRegistry(t, false, wrap) },
		"distribution": func(t *testing.T, wrap func(http.Handler) http.Handler) string {
			host := startDistribution(t)
			srv := httptest.NewServer(wrap(&reverse{host: host}))
			t.Cleanup(srv.Close)
			return strings.TrimPrefix(srv.URL, "http://")
		},
	}
}

// reverse forwards to a registry on host, rewriting upload locations.
type reverse struct{ host string }

func (p *reverse) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u := *r.URL
	u.Scheme, u.Host = "http", p.host
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, u.String(), r.Body)
	req.Header = r.Header.Clone()
	req.ContentLength = r.ContentLength
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		if k == "Location" {
			v = []string{strings.Replace(v[0], "http://"+p.host, "", 1)}
		}
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func pushAndCheck(t *testing.T, reg *oci.Registry, repo string, data []byte) {
	t.Helper()
	ctx := context.Background()
	desc := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(data), Size: int64(len(data))}
	if err := reg.Push(ctx, repo, desc, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	rc, err := reg.Fetch(ctx, repo, desc)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("fetched %d bytes (%s), pushed %d (%s)", len(got), digest.FromBytes(got), len(data), desc.Digest)
	}
}

func TestChunkedUpload(t *testing.T) {
	for name, start := range registries() {
		t.Run(name, func(t *testing.T) {
			c := &uploadCounter{methods: map[string]int{}}
			host := start(t, func(h http.Handler) http.Handler { c.next = h; return c })
			reg, err := oci.New(host, "ocm", oci.Options{ChunkSize: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			data := randomBlob(5<<20 + 123)
			pushAndCheck(t, reg, "chunked", data)
			if n := c.count(http.MethodPatch); n != 6 {
				t.Errorf("%d PATCH requests for 5 MiB + 123 bytes in 1 MiB chunks, want 6", n)
			}
			if _, chunked := reg.UploadStats(); chunked != 1 {
				t.Errorf("chunked uploads %d, want 1", chunked)
			}
			// A small blob still goes in one request.
			before := c.count(http.MethodPatch)
			pushAndCheck(t, reg, "chunked", []byte("small"))
			if c.count(http.MethodPatch) != before {
				t.Error("a blob below the chunk size was uploaded in chunks")
			}
		})
	}
}

func TestChunkResumesAfterBrokenPatch(t *testing.T) {
	for name, start := range registries() {
		t.Run(name, func(t *testing.T) {
			c := &uploadCounter{methods: map[string]int{}}
			c.breakNext.Store(3) // the third PATCH breaks halfway
			host := start(t, func(h http.Handler) http.Handler { c.next = h; return c })
			reg, err := oci.New(host, "ocm", oci.Options{ChunkSize: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			data := randomBlob(4 << 20)
			pushAndCheck(t, reg, "resume", data)
			// The failed chunk is sent again within the session: one extra
			// chunk, not the whole blob.
			c.mu.Lock()
			sent := c.bytes
			c.mu.Unlock()
			if sent > int64(len(data))+1<<20 {
				t.Errorf("sent %d bytes for a %d byte blob", sent, len(data))
			}
		})
	}
}

func TestTooLargeSwitchesToChunks(t *testing.T) {
	c := &uploadCounter{methods: map[string]int{}, maxBody: 4 << 20}
	host := startRegistry(t, false, func(h http.Handler) http.Handler { c.next = h; return c })
	reg, err := oci.New(host, "ocm", oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := randomBlob(20 << 20)
	// PushBlob can reread its spool file: it switches to chunks by itself.
	desc, err := reg.PushBlob(context.Background(), "big", "application/octet-stream", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != digest.FromBytes(data) {
		t.Fatalf("digest %s", desc.Digest)
	}
	// 16 MiB chunks are refused too: they are halved until they pass.
	if c.count(http.MethodPatch) < 5 {
		t.Errorf("%d PATCH requests after a 413", c.count(http.MethodPatch))
	}
	// Push (a stream) fails once with a clear error and succeeds in chunks
	// when the caller retries with a fresh stream, as transfer does.
	other := randomBlob(9 << 20)
	fresh, err := oci.New(host, "ocm", oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(other), Size: int64(len(other))}
	err = fresh.Push(context.Background(), "big2", d, bytes.NewReader(other))
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("first push: %v", err)
	}
	pushAndCheck(t, fresh, "big2", other)
}

func TestCrossRepositoryMount(t *testing.T) {
	for name, start := range registries() {
		t.Run(name, func(t *testing.T) {
			c := &uploadCounter{methods: map[string]int{}}
			host := start(t, func(h http.Handler) http.Handler { c.next = h; return c })
			a, _ := oci.New(host, "team-a", oci.Options{})
			b, _ := oci.New(host, "team-b", oci.Options{})
			data := randomBlob(3 << 20)
			pushAndCheck(t, a, "app", data)
			c.mu.Lock()
			uploaded := c.bytes
			c.mu.Unlock()
			// Another sub path of the same registry: mounted, not uploaded.
			pushAndCheck(t, b, "app", data)
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.mounts != 1 {
				t.Errorf("%d mount requests, want 1", c.mounts)
			}
			if c.bytes != uploaded {
				t.Errorf("%d more bytes uploaded for a mountable blob", c.bytes-uploaded)
			}
			if m, _ := b.UploadStats(); m != 1 {
				t.Errorf("UploadStats mounts %d", m)
			}
		})
	}
}
