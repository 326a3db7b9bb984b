package oci_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/ocmgo/ocm/repository/oci"
	"github.com/ocmgo/ocm/repository/ocimap"
)

var _ ocimap.WriteStore = (*oci.Registry)(nil)

// catalogShim adds the catalog API (GET /v2/_catalog, paginated with n/last
// and Link headers) in front of olareg, which has none: it lists every
// repository a manifest was pushed to.
type catalogShim struct {
	next  http.Handler
	mu    sync.Mutex
	repos map[string]bool
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (c *catalogShim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v2/_catalog" {
		c.mu.Lock()
		var names []string
		for n := range c.repos {
			names = append(names, n)
		}
		c.mu.Unlock()
		slices.Sort(names)
		q := r.URL.Query()
		if last := q.Get("last"); last != "" {
			i, _ := slices.BinarySearch(names, last)
			for i < len(names) && names[i] <= last {
				i++
			}
			names = names[i:]
		}
		if n, _ := strconv.Atoi(q.Get("n")); n > 0 && len(names) > n {
			names = names[:n]
			w.Header().Set("Link", fmt.Sprintf(`</v2/_catalog?n=%d&last=%s>; rel="next"`, n, url.QueryEscape(names[n-1])))
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string][]string{"repositories": names})
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	c.next.ServeHTTP(rec, r)
	if r.Method == http.MethodPut && rec.status == http.StatusCreated {
		if name, _, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/manifests/"); ok {
			c.mu.Lock()
			c.repos[name] = true
			c.mu.Unlock()
		}
	}
}

// startRegistry runs an in-memory olareg on 127.0.0.1, optionally wrapped by
// the catalog shim, and returns its host:port.
func startRegistry(t *testing.T, catalog bool, wrap ...func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}})
	if catalog {
		h = &catalogShim{next: h, repos: map[string]bool{}}
	}
	for _, w := range wrap {
		h = w(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func newRegistry(t *testing.T, host, subPath string) *oci.Registry {
	t.Helper()
	reg, err := oci.New(host, subPath, oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func fetchAll(t *testing.T, reg *oci.Registry, repo string, desc ocispec.Descriptor) []byte {
	t.Helper()
	rc, err := reg.Fetch(context.Background(), repo, desc)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if got := digest.FromBytes(data); got != desc.Digest {
		t.Fatalf("fetched %s, want %s", got, desc.Digest)
	}
	return data
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		base, sub        string
		host, wantSub    string
		plain            bool
		wantErr, errPart string
	}{
		{base: "localhost:5000", host: "localhost:5000", plain: true},
		{base: "127.0.0.1:5000", sub: "/ocm/", host: "127.0.0.1:5000", wantSub: "ocm", plain: true},
		{base: "[::1]:5000", host: "[::1]:5000", plain: true},
		{base: "127.1.2.3", host: "127.1.2.3", plain: true},
		{base: "https://localhost:5000", host: "localhost:5000"},
		{base: "http://registry.example.com", host: "registry.example.com", plain: true},
		{base: "https://ghcr.io/acme/", sub: "ocm", host: "ghcr.io", wantSub: "acme/ocm"},
		{base: "ghcr.io", host: "ghcr.io"},
		{base: "oci://ghcr.io/acme", host: "ghcr.io", wantSub: "acme"},
		{base: "Registry.Example.com:443", host: "registry.example.com:443"},
		{base: "https://user:secret@ghcr.io", errPart: "user information"},
		{base: "ftp://ghcr.io", errPart: "unsupported scheme"},
		{base: "", errPart: "empty"},
		{base: "ghcr.io", sub: "UPPER", errPart: "invalid sub path"},
	} {
		reg, err := oci.New(tc.base, tc.sub, oci.Options{})
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("New(%q, %q): error %v, want %q", tc.base, tc.sub, err, tc.errPart)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("New(%q): error reveals the password: %v", tc.base, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%q, %q): %v", tc.base, tc.sub, err)
			continue
		}
		if reg.Host() != tc.host || reg.SubPath() != tc.wantSub || reg.PlainHTTP() != tc.plain {
			t.Errorf("New(%q, %q) = host %q sub %q plain %v, want %q %q %v", tc.base, tc.sub, reg.Host(), reg.SubPath(), reg.PlainHTTP(), tc.host, tc.wantSub, tc.plain)
		}
	}
}

// registryKinds are the registries the store is tested against: olareg
// (referrers API, in process) and CNCF distribution (the reference
// registry, a separate process). Each starts for the (sub)test it is given,
// so that a registry that cannot start fails or skips that test.
func registryKinds() map[string]func(*testing.T) string {
	return map[string]func(*testing.T) string{
		"olareg":       func(t *testing.T) string { return startRegistry(t, false) },
		"distribution": startDistribution,
	}
}

func TestBlobsManifestsTags(t *testing.T) {
	for name, start := range registryKinds() {
		t.Run(name, func(t *testing.T) { testBlobsManifestsTags(t, start(t)) })
	}
}

func testBlobsManifestsTags(t *testing.T, host string) {
	ctx := context.Background()
	reg := newRegistry(t, host, "base/path")
	const repo = "test/repo"

	// PushBlob: digest unknown.
	layerData := []byte("hello, registry")
	layer, err := reg.PushBlob(ctx, repo, "text/plain", bytes.NewReader(layerData))
	if err != nil {
		t.Fatal(err)
	}
	if layer.Digest != digest.FromBytes(layerData) || layer.Size != int64(len(layerData)) || layer.MediaType != "text/plain" {
		t.Fatalf("PushBlob descriptor %+v", layer)
	}
	// Again: a no-op with the same descriptor.
	if again, err := reg.PushBlob(ctx, repo, "text/plain", bytes.NewReader(layerData)); err != nil || again.Digest != layer.Digest {
		t.Fatalf("second PushBlob: %+v %v", again, err)
	}
	// A larger blob, streamed.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	bigDesc, err := reg.PushBlob(ctx, repo, "application/octet-stream", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fetchAll(t, reg, repo, bigDesc), big) {
		t.Fatal("big blob differs")
	}

	// Push: known descriptor.
	cfgData := []byte("{}")
	cfg := ocispec.Descriptor{MediaType: "application/vnd.test.config+json", Digest: digest.FromBytes(cfgData), Size: int64(len(cfgData))}
	if ok, err := reg.Exists(ctx, repo, cfg); err != nil || ok {
		t.Fatalf("Exists before push: %v %v", ok, err)
	}
	if err := reg.Push(ctx, repo, cfg, bytes.NewReader(cfgData)); err != nil {
		t.Fatal(err)
	}
	if ok, err := reg.Exists(ctx, repo, cfg); err != nil || !ok {
		t.Fatalf("Exists after push: %v %v", ok, err)
	}
	// A wrong digest is refused.
	bad := cfg
	bad.Digest = digest.FromString("other")
	if err := reg.Push(ctx, repo, bad, bytes.NewReader(cfgData)); err == nil {
		t.Fatal("Push with a wrong digest succeeded")
	}

	manifest, _ := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    cfg,
		Layers:    []ocispec.Descriptor{layer, bigDesc},
	})
	mdesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(manifest), Size: int64(len(manifest))}
	if err := reg.Push(ctx, repo, mdesc, bytes.NewReader(manifest)); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"v2", "v1", "1.0.0.build-3"} {
		if err := reg.Tag(ctx, repo, mdesc, tag); err != nil {
			t.Fatal(err)
		}
	}
	tags, err := reg.Tags(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(tags)
	if want := []string{"1.0.0.build-3", "v1", "v2"}; !slices.Equal(tags, want) {
		t.Fatalf("tags %v, want %v", tags, want)
	}
	got, err := reg.Resolve(ctx, repo, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != mdesc.Digest || got.Size != mdesc.Size || got.MediaType != mdesc.MediaType {
		t.Fatalf("Resolve = %+v, want %+v", got, mdesc)
	}
	if byDigest, err := reg.Resolve(ctx, repo, string(mdesc.Digest)); err != nil || byDigest.Digest != mdesc.Digest {
		t.Fatalf("Resolve by digest: %+v %v", byDigest, err)
	}
	if !bytes.Equal(fetchAll(t, reg, repo, got), manifest) {
		t.Fatal("manifest differs")
	}
	if !bytes.Equal(fetchAll(t, reg, repo, layer), layerData) {
		t.Fatal("layer differs")
	}
	if ok, err := reg.Exists(ctx, repo, mdesc); err != nil || !ok {
		t.Fatalf("Exists(manifest) = %v %v", ok, err)
	}

	// The repository really lives below the sub path.
	raw := newRegistry(t, host, "")
	if _, err := raw.Resolve(ctx, "base/path/"+repo, "v1"); err != nil {
		t.Fatalf("resolving with the full name: %v", err)
	}
}

func TestNotFound(t *testing.T) {
	for name, start := range registryKinds() {
		t.Run(name, func(t *testing.T) { testNotFound(t, start(t), name == "distribution") })
	}
}

// testNotFound: nameUnknown says the registry answers 404 NAME_UNKNOWN for
// the tags of an unknown repository (distribution) rather than an empty
// list (olareg).
func testNotFound(t *testing.T, host string, nameUnknown bool) {
	ctx := context.Background()
	reg := newRegistry(t, host, "sub")
	const repo = "present"
	blob, err := reg.PushBlob(ctx, repo, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	missing := ocispec.Descriptor{MediaType: "text/plain", Digest: digest.FromString("missing"), Size: 7}
	missingManifest := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("missing"), Size: 7}
	check := func(what, repoName string, err error) {
		t.Helper()
		if !errors.Is(err, errdef.ErrNotFound) {
			t.Errorf("%s: %v does not wrap errdef.ErrNotFound", what, err)
			return
		}
		if msg := err.Error(); !strings.Contains(msg, host) || !strings.Contains(msg, "sub/"+repoName) {
			t.Errorf("%s: %q does not name registry %s and repository sub/%s", what, msg, host, repoName)
		}
	}
	_, err = reg.Resolve(ctx, repo, "nope")
	check("Resolve missing tag", repo, err)
	_, err = reg.Resolve(ctx, "absent", "v1")
	check("Resolve in missing repository", "absent", err)
	_, err = reg.Fetch(ctx, repo, missing)
	check("Fetch missing blob", repo, err)
	_, err = reg.Fetch(ctx, repo, missingManifest)
	check("Fetch missing manifest", repo, err)
	// Registries answer 404 NAME_UNKNOWN (distribution) or an empty list
	// (olareg) for an unknown repository.
	if nameUnknown {
		_, err = reg.Tags(ctx, "absent")
		check("Tags of missing repository", "absent", err)
		if err != nil && !strings.Contains(err.Error(), "name unknown") {
			t.Errorf("Tags of missing repository: %q lacks the registry's message", err)
		}
	} else if tags, err := reg.Tags(ctx, "absent"); err != nil {
		check("Tags of missing repository", "absent", err)
	} else if len(tags) != 0 {
		t.Errorf("Tags of missing repository = %v", tags)
	}
	err = reg.Tag(ctx, repo, missingManifest, "v1")
	check("Tag missing manifest", repo, err)
	if ok, err := reg.Exists(ctx, repo, missing); ok || err != nil {
		t.Errorf("Exists(missing) = %v, %v", ok, err)
	}
	// Blobs are per repository.
	if ok, err := reg.Exists(ctx, "other", blob); ok || err != nil {
		t.Errorf("Exists in other repository = %v, %v", ok, err)
	}
	// Invalid names are errors, not panics.
	if _, err := reg.Tags(ctx, "Not/Valid"); err == nil {
		t.Error("Tags of an invalid repository name succeeded")
	}
}

func TestRepositories(t *testing.T) {
	ctx := context.Background()
	host := startRegistry(t, true)
	push := func(full string) {
		t.Helper()
		reg := newRegistry(t, host, "")
		m, _ := json.Marshal(ocispec.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: ocispec.MediaTypeImageManifest,
			Config:    ocispec.DescriptorEmptyJSON,
			Layers:    []ocispec.Descriptor{},
		})
		if err := reg.Push(ctx, full, ocispec.DescriptorEmptyJSON, bytes.NewReader(ocispec.DescriptorEmptyJSON.Data)); err != nil {
			t.Fatal(err)
		}
		d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(m), Size: int64(len(m))}
		if err := reg.Push(ctx, full, d, bytes.NewReader(m)); err != nil {
			t.Fatal(err)
		}
		if err := reg.Tag(ctx, full, d, "latest"); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{
		"ocm/component-descriptors/example.com/b",
		"ocm/component-descriptors/example.com/a",
		"ocmother/x",
		"other/ocm/y",
		"ocm/z",
	} {
		push(n)
	}
	got, err := newRegistry(t, host, "ocm").Repositories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"component-descriptors/example.com/a", "component-descriptors/example.com/b", "z"}; !slices.Equal(got, want) {
		t.Fatalf("Repositories = %v, want %v", got, want)
	}
	all, err := newRegistry(t, host, "").Repositories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("all repositories %v", all)
	}
	// The listing goes through ocimap as well.
	comps, err := ocimap.New(newRegistry(t, host, "ocm"), "test").ListComponents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"example.com/a", "example.com/b"}; !slices.Equal(comps, want) {
		t.Fatalf("ListComponents = %v, want %v", comps, want)
	}
}

// olareg has no catalog API: the error says so.
func TestRepositoriesUnsupported(t *testing.T) {
	host := startRegistry(t, false)
	_, err := newRegistry(t, host, "ocm").Repositories(context.Background())
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Repositories on a registry without catalog: %v, want errors.ErrUnsupported", err)
	}
	if !strings.Contains(err.Error(), host) {
		t.Fatalf("error %q does not name the registry", err)
	}
}

// Transient 5xx answers are retried (oras retry transport).
func TestRetry(t *testing.T) {
	var failures atomic.Int32
	failures.Store(2)
	host := startRegistry(t, false, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/tags/list") && failures.Add(-1) >= 0 {
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	reg := newRegistry(t, host, "")
	if _, err := reg.PushBlob(ctx, "r", "text/plain", strings.NewReader("content")); err != nil {
		t.Fatal(err)
	}
	_, err := reg.Tags(ctx, "r")
	// The repository has no manifests, hence no tags, but the 503s were retried.
	if failures.Load() >= 0 {
		t.Fatalf("503 answers were not retried (left %d); err %v", failures.Load(), err)
	}
	if err != nil && !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("Tags after retries: %v", err)
	}
}

// Credentials are sent, and never appear in errors.
func TestCredentials(t *testing.T) {
	const user, secret = "ocm-user", "s3cr3t-pa55word"
	var authorized atomic.Int32
	host := startRegistry(t, false, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != secret {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			authorized.Add(1)
			next.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	good, err := oci.New(host, "", oci.Options{Credential: auth.StaticCredential(host, auth.Credential{Username: user, Password: secret})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.PushBlob(ctx, "secured", "text/plain", strings.NewReader("data")); err != nil {
		t.Fatal(err)
	}
	if authorized.Load() == 0 {
		t.Fatal("no authorised request")
	}
	wrongSecret := "wr0ng-" + secret
	for name, opts := range map[string]oci.Options{
		"anonymous": {},
		"wrong":     {Credential: auth.StaticCredential(host, auth.Credential{Username: user, Password: wrongSecret})},
	} {
		reg, err := oci.New(host, "", opts)
		if err != nil {
			t.Fatal(err)
		}
		_, err = reg.Tags(ctx, "secured")
		if err == nil {
			t.Fatalf("%s: Tags succeeded", name)
		}
		msg := err.Error()
		for _, s := range []string{secret, wrongSecret, base64.StdEncoding.EncodeToString([]byte(user + ":" + wrongSecret))} {
			if strings.Contains(msg, s) {
				t.Fatalf("%s: error reveals credentials: %s", name, msg)
			}
		}
		if !strings.Contains(msg, host) || !strings.Contains(msg, "secured") {
			t.Fatalf("%s: error %q does not name registry and repository", name, msg)
		}
	}
}

// Distribution answers tags/list of an unknown repository with 404
// NAME_UNKNOWN; that wraps errdef.ErrNotFound.
func TestTagsNameUnknown(t *testing.T) {
	host := startRegistry(t, false, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/tags/list") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, `{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	_, err := newRegistry(t, host, "sub").Tags(context.Background(), "absent")
	if !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("Tags: %v does not wrap errdef.ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), host) || !strings.Contains(err.Error(), "sub/absent") || !strings.Contains(err.Error(), "name unknown") {
		t.Fatalf("error %q lacks registry, repository or registry message", err)
	}
}
