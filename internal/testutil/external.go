package testutil

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// WriteChart writes a minimal Helm chart directory dir/name (Chart.yaml,
// values.yaml, one template) and returns its path.
func WriteChart(t testing.TB, dir, name, version string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	files := map[string]string{
		"Chart.yaml":               fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\ndescription: test chart\n", name, version),
		"values.yaml":              "replicas: 1\n",
		"templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: \"{{ .Values.replicas }}\"\n",
	}
	for f, c := range files {
		fp := filepath.Join(p, f)
		if err := os.MkdirAll(filepath.Dir(fp), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(fp, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// ChartArchive packs a chart directory as Helm does (a gzipped tar with
// every file below "<base name of dir>/"), deterministically.
func ChartArchive(t testing.TB, dir string) []byte {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		name := filepath.Base(dir) + "/" + filepath.ToSlash(rel)
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// HTTPServerOptions configure the test HTTP servers.
type HTTPServerOptions struct {
	// Username and Password, when set, are required as basic auth.
	Username, Password string
	// Token, when set, is required as a bearer token.
	Token string
	// TLS serves HTTPS with httptest's certificate (CA in Server.CAPEM).
	TLS bool
}

// Server is a running test HTTP(S) server.
type Server struct {
	*httptest.Server
	// CAPEM is the PEM certificate to trust for a TLS server.
	CAPEM    []byte
	mu       sync.Mutex
	requests map[string]int
}

// Count is the number of requests the server got for path.
func (s *Server) Count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

func startServer(t testing.TB, opts HTTPServerOptions, h http.Handler) *Server {
	t.Helper()
	s := &Server{requests: map[string]int{}}
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[r.URL.Path]++
		s.mu.Unlock()
		if opts.Username != "" {
			u, p, ok := r.BasicAuth()
			if !ok || u != opts.Username || p != opts.Password {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		if opts.Token != "" && r.Header.Get("Authorization") != "Bearer "+opts.Token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
	if opts.TLS {
		s.Server = httptest.NewTLSServer(wrapped)
		s.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	} else {
		s.Server = httptest.NewServer(wrapped)
	}
	t.Cleanup(s.Close)
	return s
}

// HelmChart is one chart version a test Helm repository serves.
type HelmChart struct {
	Name, Version string
	// Archive is the .tgz (ChartArchive).
	Archive []byte
	// AbsoluteURL lists the chart with an absolute URL in index.yaml
	// (otherwise relative, "charts/<name>-<version>.tgz").
	AbsoluteURL bool
	// BadDigest writes a wrong digest into index.yaml.
	BadDigest bool
}

// Digest is the hex SHA-256 of the archive.
func (c HelmChart) Digest() string {
	s := sha256.Sum256(c.Archive)
	return hex.EncodeToString(s[:])
}

// StartHelmRepo serves a Helm chart repository: /index.yaml listing the
// charts and /charts/<name>-<version>.tgz.
func StartHelmRepo(t testing.TB, opts HTTPServerOptions, charts ...HelmChart) *Server {
	t.Helper()
	mux := http.NewServeMux()
	var s *Server
	mux.HandleFunc("/index.yaml", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString("apiVersion: v1\nentries:\n")
		byName := map[string][]HelmChart{}
		var names []string
		for _, c := range charts {
			if byName[c.Name] == nil {
				names = append(names, c.Name)
			}
			byName[c.Name] = append(byName[c.Name], c)
		}
		for _, n := range names {
			fmt.Fprintf(&b, "  %s:\n", n)
			for _, c := range byName[n] {
				u := "charts/" + c.Name + "-" + c.Version + ".tgz"
				if c.AbsoluteURL {
					u = s.URL + "/" + u
				}
				d := c.Digest()
				if c.BadDigest {
					d = strings.Repeat("ab", 32)
				}
				fmt.Fprintf(&b, "  - apiVersion: v2\n    name: %s\n    version: %s\n    digest: %s\n    urls:\n    - %s\n", c.Name, c.Version, d, u)
			}
		}
		b.WriteString("generated: \"2026-01-01T00:00:00Z\"\n")
		w.Header().Set("Content-Type", "application/x-yaml")
		w.Write([]byte(b.String()))
	})
	for _, c := range charts {
		mux.HandleFunc("/charts/"+c.Name+"-"+c.Version+".tgz", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-tar")
			w.Write(c.Archive)
		})
	}
	s = startServer(t, opts, mux)
	return s
}

// StartFileServer serves files by path ("/app.txt") and, for tests of
// redirects and failures: /redirect/<path> answers 302 to /<path>,
// /to?u=<url> answers 302 to url,
// /loop/a and /loop/b redirect to each other, /missing answers 404 and
// /echo answers with the request method, body and header X-Test.
func StartFileServer(t testing.TB, opts HTTPServerOptions, files map[string][]byte) *Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/redirect/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.TrimPrefix(r.URL.Path, "/redirect"), http.StatusFound)
	})
	mux.HandleFunc("/to", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("u"), http.StatusFound)
	})
	mux.HandleFunc("/loop/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop/b", http.StatusFound) })
	mux.HandleFunc("/loop/b", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop/a", http.StatusFound) })
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body := new(bytes.Buffer)
		body.ReadFrom(r.Body)
		fmt.Fprintf(w, "%s %s %s", r.Method, body.String(), r.Header.Get("X-Test"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		data, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(data)
	})
	return startServer(t, opts, mux)
}

// PushImage pushes a small image (config and one layer holding content)
// to host/repository (plain HTTP) and tags it; it returns the manifest
// descriptor.
func PushImage(t testing.TB, host, repository, tag string, content []byte) ocispec.Descriptor {
	t.Helper()
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	return pushManifest(t, host, "", "", repository, tag, ocispec.MediaTypeImageConfig, cfg, ocispec.MediaTypeImageLayer, content)
}

// PushImageAuth is PushImage to a registry requiring basic auth.
func PushImageAuth(t testing.TB, host, username, password, repository, tag string, content []byte) ocispec.Descriptor {
	t.Helper()
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	return pushManifest(t, host, username, password, repository, tag, ocispec.MediaTypeImageConfig, cfg, ocispec.MediaTypeImageLayer, content)
}

// PushHelmChartOCI pushes a chart archive as Helm does to an OCI registry
// (config application/vnd.cncf.helm.config.v1+json, one chart layer) and
// tags it with the version.
func PushHelmChartOCI(t testing.TB, host, repository, name, version string, archive []byte) ocispec.Descriptor {
	t.Helper()
	cfg := []byte(fmt.Sprintf(`{"apiVersion":"v2","name":%q,"version":%q}`, name, version))
	return pushManifest(t, host, "", "", repository, version, "application/vnd.cncf.helm.config.v1+json", cfg, "application/vnd.cncf.helm.chart.content.v1.tar+gzip", archive)
}

// PushHelmChartOCIAuth is PushHelmChartOCI to a registry requiring basic auth.
func PushHelmChartOCIAuth(t testing.TB, host, username, password, repository, name, version string, archive []byte) ocispec.Descriptor {
	t.Helper()
	cfg := []byte(fmt.Sprintf(`{"apiVersion":"v2","name":%q,"version":%q}`, name, version))
	return pushManifest(t, host, username, password, repository, version, "application/vnd.cncf.helm.config.v1+json", cfg, "application/vnd.cncf.helm.chart.content.v1.tar+gzip", archive)
}

func pushManifest(t testing.TB, host, username, password, repository, tag, configType string, config []byte, layerType string, layer []byte) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	repo, err := remote.NewRepository(host + "/" + repository)
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	if username != "" {
		repo.Client = &auth.Client{Credential: auth.StaticCredential(host, auth.Credential{Username: username, Password: password})}
	}
	push := func(mt string, data []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(data), Size: int64(len(data))}
		if err := repo.Push(ctx, d, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    push(configType, config),
		Layers:    []ocispec.Descriptor{push(layerType, layer)},
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d := push(ocispec.MediaTypeImageManifest, data)
	if err := repo.Tag(ctx, d, tag); err != nil {
		t.Fatal(err)
	}
	return d
}
