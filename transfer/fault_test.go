package transfer_test

// Fault injection: the transfer into a registry behind a reverse proxy that
// answers some requests with errors, resets connections, or dies midway.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/oci"
	"github.com/ocmgo/ocm/repository/ocimap"
	"github.com/ocmgo/ocm/transfer"
)

// Fault modes of faultProxy.
const (
	ftHealthy int32 = iota
	ftEvery5th503
	ftEvery5thReset
	ftDieAfterUploads // 500 for everything once dieAfter blob uploads succeeded
)

// faultProxy is a reverse proxy in front of a registry that injects faults
// and records successful uploads (blob upload PUTs with ?digest= and
// manifest PUTs by digest), keyed by "<repository>@<digest>".
type faultProxy struct {
	proxy    *httputil.ReverseProxy
	mode     atomic.Int32
	requests atomic.Int64
	faults   atomic.Int64
	dieAfter int64
	blobsOK  atomic.Int64
	dead     atomic.Bool
	onDeath  func()

	mu      sync.Mutex
	uploads map[string]int
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := p.requests.Add(1)
	switch p.mode.Load() {
	case ftEvery5th503:
		if n%5 == 0 {
			p.faults.Add(1)
			http.Error(w, "injected", http.StatusServiceUnavailable)
			return
		}
	case ftEvery5thReset:
		if n%5 == 0 {
			p.faults.Add(1)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(err)
			}
			if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
				tc.SetLinger(0) // RST instead of FIN
			}
			conn.Close()
			return
		}
	case ftDieAfterUploads:
		if p.dead.Load() {
			p.faults.Add(1)
			if p.onDeath != nil {
				p.onDeath()
			}
			http.Error(w, "dead", http.StatusInternalServerError)
			return
		}
	}
	rec := &statusRecorder{ResponseWriter: w}
	p.proxy.ServeHTTP(rec, r)
	if key, blob := uploadKey(r); key != "" && rec.status/100 == 2 {
		p.mu.Lock()
		p.uploads[key]++
		p.mu.Unlock()
		if blob && p.mode.Load() == ftDieAfterUploads && p.blobsOK.Add(1) >= p.dieAfter {
			p.dead.Store(true)
		}
	}
}

// uploadKey names an upload request: a PUT completing a blob upload
// (…/blobs/uploads/…?digest=) or a manifest PUT by digest.
func uploadKey(r *http.Request) (key string, blob bool) {
	if r.Method != http.MethodPut || !strings.HasPrefix(r.URL.Path, "/v2/") {
		return "", false
	}
	p := strings.TrimPrefix(r.URL.Path, "/v2/")
	if i := strings.Index(p, "/blobs/uploads/"); i >= 0 {
		if d := r.URL.Query().Get("digest"); d != "" {
			return p[:i] + "@" + d, true
		}
		return "", false
	}
	if i := strings.LastIndex(p, "/manifests/"); i >= 0 {
		ref := p[i+len("/manifests/"):]
		if strings.HasPrefix(ref, "sha256:") {
			return p[:i] + "@" + ref, false
		}
	}
	return "", false
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// ftRegistry starts an in-memory olareg and a fault proxy in front of it;
// it returns the registry's and the proxy's host:port.
func ftRegistry(t *testing.T) (direct string, p *faultProxy, proxied string) {
	t.Helper()
	reg := httptest.NewServer(olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}}))
	t.Cleanup(reg.Close)
	u, _ := url.Parse(reg.URL)
	p = &faultProxy{proxy: httputil.NewSingleHostReverseProxy(u), uploads: map[string]int{}}
	// Location headers of olareg are relative or name the registry's host:
	// rewrite them to the proxy so that uploads go through it.
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.proxy.ModifyResponse = func(resp *http.Response) error {
		if loc := resp.Header.Get("Location"); loc != "" {
			resp.Header.Set("Location", strings.Replace(loc, reg.URL, srv.URL, 1))
		}
		return nil
	}
	return strings.TrimPrefix(reg.URL, "http://"), p, strings.TrimPrefix(srv.URL, "http://")
}

func ftOCI(t *testing.T, host string) *oci.Registry {
	t.Helper()
	r, err := oci.New(host, "ocm", oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var ftWantDigests = map[[2]string]string{
	{lib, "0.3.1+build.7"}: "a6f7a4eb5b4dc1fd061b5da0c1b5171f9d6cfa0898823667d8f534df6798f647",
	{app, "1.2.0"}:         "0e620fa8ae2390bd21cf081c6812cb06734ed8d8830564c2e8db6ecbc95c818b",
}

// ftVerify reads both versions directly from the registry: normalised
// digests unchanged and the graph verifies with content.
func ftVerify(t *testing.T, host string) {
	t.Helper()
	ctx := context.Background()
	reg := ftOCI(t, host)
	repo := repository.FromStore(reg, reg.String(), nil)
	t.Cleanup(func() { repo.Close() })
	for cv, want := range ftWantDigests {
		cd, err := repo.GetComponentVersion(ctx, cv[0], cv[1])
		if err != nil {
			t.Fatalf("%s:%s in the registry: %v", cv[0], cv[1], err)
		}
		d, err := normalisation.Digest(cd, normalisation.JSONv4alpha1, normalisation.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if d.Value != want {
			t.Errorf("%s:%s normalised digest %s, want %s", cv[0], cv[1], d.Value, want)
		}
	}
	res, err := integrity.NewEngine(repo, integrity.Options{Content: true, Offline: true}).Version(ctx, app, "1.2.0")
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil {
		t.Fatalf("transferred app does not verify: %v", res.Err)
	}
}

func TestTransferSurvivesFaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode int32
	}{
		{"503", ftEvery5th503},
		{"connection-reset", ftEvery5thReset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := openCTF(t, testutil.InteropCTF(t, testutil.Dir))
			direct, p, proxied := ftRegistry(t)
			p.mode.Store(tc.mode)
			results, err := transfer.ComponentVersions(context.Background(), src, ftOCI(t, proxied), []transfer.Ref{appRef}, transfer.Options{Recursive: true})
			if p.faults.Load() == 0 {
				t.Fatalf("no fault injected in %d requests", p.requests.Load())
			}
			if err != nil {
				t.Fatalf("transfer through a proxy failing every 5th request (%s): %v (%d requests, %d faults)", tc.name, err, p.requests.Load(), p.faults.Load())
			}
			if len(results) != 2 || results[0].Component != lib || results[1].Component != app {
				t.Fatalf("results %+v", results)
			}
			t.Logf("%d requests, %d faults injected", p.requests.Load(), p.faults.Load())
			ftVerify(t, direct)
		})
	}
}

// ftCheckTagsComplete walks every tag of both repositories (directly at the
// registry) and checks that every node of its graph exists (HEAD). It
// returns the tags found.
func ftCheckTagsComplete(t *testing.T, host string) []string {
	t.Helper()
	ctx := context.Background()
	var found []string
	for _, comp := range []string{lib, app} {
		rr, err := remote.NewRepository(host + "/ocm/" + ocimap.RepositoryName(comp))
		if err != nil {
			t.Fatal(err)
		}
		rr.PlainHTTP = true
		var tags []string
		err = rr.Tags(ctx, "", func(ts []string) error { tags = append(tags, ts...); return nil })
		if err != nil && !strings.Contains(err.Error(), "404") && !strings.Contains(strings.ToLower(err.Error()), "not found") {
			t.Fatalf("listing tags of %s: %v", comp, err)
		}
		for _, tag := range tags {
			found = append(found, comp+":"+tag)
			root, err := rr.Resolve(ctx, tag)
			if err != nil {
				t.Fatalf("%s:%s: %v", comp, tag, err)
			}
			var check func(d ocispec.Descriptor, depth int)
			check = func(d ocispec.Descriptor, depth int) {
				if depth > 8 {
					t.Fatalf("%s:%s: graph too deep", comp, tag)
				}
				ok, err := rr.Exists(ctx, d)
				if err != nil || !ok {
					t.Errorf("tag %s:%s points at a graph missing %s %s (exists=%v, %v)", comp, tag, d.MediaType, d.Digest, ok, err)
					return
				}
				if !ocimap.IsManifest(d.MediaType) {
					return
				}
				rc, err := rr.Fetch(ctx, d)
				if err != nil {
					t.Fatal(err)
				}
				var m struct {
					Config    *ocispec.Descriptor  `json:"config"`
					Layers    []ocispec.Descriptor `json:"layers"`
					Manifests []ocispec.Descriptor `json:"manifests"`
				}
				err = json.NewDecoder(rc).Decode(&m)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
				children := append(m.Manifests, m.Layers...)
				if m.Config != nil {
					children = append(children, *m.Config)
				}
				for _, c := range children {
					check(c, depth+1)
				}
			}
			check(root, 0)
		}
	}
	return found
}

func TestTransferKilledMidwayAndRerun(t *testing.T) {
	srcPath := testutil.InteropCTF(t, testutil.Dir)
	src := openCTF(t, srcPath)
	_, libNodes := graph(t, src, lib, "0.3.1+build.7")
	libBlobs := 0
	for _, n := range libNodes {
		if !ocimap.IsManifest(n.Descriptor.MediaType) {
			libBlobs++
		}
	}
	direct, p, proxied := ftRegistry(t)
	// Die after lib's blobs and one blob of app: lib is complete (and
	// tagged), app is not.
	p.dieAfter = int64(libBlobs + 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	p.onDeath = func() { once.Do(cancel) } // the process is killed at the first 500
	p.mode.Store(ftDieAfterUploads)
	_, err := transfer.ComponentVersions(ctx, src, ftOCI(t, proxied), []transfer.Ref{appRef}, transfer.Options{Recursive: true})
	if err == nil {
		t.Fatalf("first transfer succeeded although the proxy died after %d blob uploads", p.dieAfter)
	}
	if !p.dead.Load() {
		t.Fatalf("proxy never died; transfer failed with %v", err)
	}
	t.Logf("first run failed as planned: %v", err)
	tags := ftCheckTagsComplete(t, direct)
	t.Logf("tags after the failed run: %v", tags)
	for _, tag := range tags {
		if tag == app+":1.2.0" {
			t.Errorf("app is tagged although its transfer was killed")
		}
	}

	// Rerun through a healthy proxy.
	p.mode.Store(ftHealthy)
	results, err := transfer.ComponentVersions(context.Background(), src, ftOCI(t, proxied), []transfer.Ref{appRef}, transfer.Options{Recursive: true})
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if len(results) != 2 {
		t.Fatalf("rerun results %+v", results)
	}
	tags = ftCheckTagsComplete(t, direct)
	if fmt.Sprint(tags) != fmt.Sprint([]string{lib + ":" + ocimap.ToTag("0.3.1+build.7"), app + ":1.2.0"}) {
		t.Errorf("tags after the rerun: %v", tags)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.uploads) == 0 {
		t.Fatal("no uploads recorded at the proxy")
	}
	for k, n := range p.uploads {
		if n != 1 {
			t.Errorf("%s uploaded %d times across both runs", k, n)
		}
	}
	ftVerify(t, direct)
}
