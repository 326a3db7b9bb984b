package repository_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
)

func TestParseSpec(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want reference.Repository
		err  string
	}{
		{in: `{"type":"OCIRegistry","baseUrl":"http://registry:5000"}`, want: reference.Repository{Type: reference.TypeOCI, BaseURL: "http://registry:5000"}},
		{in: `{"type":"OCIRepository/v1","baseUrl":"ghcr.io/acme","subPath":"/ocm/"}`, want: reference.Repository{Type: reference.TypeOCI, BaseURL: "ghcr.io/acme", SubPath: "ocm"}},
		{in: `{"type":"ociregistry","baseUrl":"ghcr.io"}`, want: reference.Repository{Type: reference.TypeOCI, BaseURL: "ghcr.io"}},
		{in: `{"type":"CommonTransportFormat/v1","filePath":"/data/a.tgz"}`, want: reference.Repository{Type: reference.TypeCTF, FilePath: "/data/a.tgz"}},
		{in: `{"type":"ctf","filePath":"/data/a"}`, want: reference.Repository{Type: reference.TypeCTF, FilePath: "/data/a"}},
		{in: `{"type":"OCIRegistry"}`, err: "needs baseUrl"},
		{in: `{"type":"CTF"}`, err: "needs filePath"},
		{in: `{"type":"OCIRegistry","baseUrl":"https://user:pw@ghcr.io"}`, err: "user information"},
		{in: `{"type":"S3"}`, err: "unsupported type"},
		{in: `{"type":"CTF/v2","filePath":"/a"}`, err: "unsupported type"},
		{in: `{}`, err: "no type"},
		{in: ``, err: "empty"},
		{in: `[`, err: "invalid repository spec"},
	} {
		got, err := repository.ParseSpec([]byte(tt.in))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, repository.ErrInvalidSpec) {
				t.Errorf("%s: error %v, want %q (ErrInvalidSpec)", tt.in, err, tt.err)
			}
			if strings.Contains(tt.in, "pw@") && err != nil && strings.Contains(err.Error(), "pw") {
				t.Errorf("error leaks the password: %v", err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestOpenUnknownType(t *testing.T) {
	ctx := context.Background()
	spec := reference.Repository{Type: "S3"}
	if _, err := repository.OpenStore(ctx, spec, repository.Options{}); !errors.Is(err, reference.ErrUnknownType) {
		t.Errorf("OpenStore: %v, want ErrUnknownType", err)
	}
	if _, err := repository.OpenWritable(ctx, spec, repository.Options{}); !errors.Is(err, reference.ErrUnknownType) {
		t.Errorf("OpenWritable: %v, want ErrUnknownType", err)
	}
	if err := repository.Ping(ctx, spec, repository.Options{}); !errors.Is(err, reference.ErrUnknownType) {
		t.Errorf("Ping: %v, want ErrUnknownType", err)
	}
}

// writeTagged pushes one blob and a manifest tagged "v1" into repo "r".
func writeTagged(t *testing.T, w *repository.Writable) {
	t.Helper()
	ctx := context.Background()
	cfg, err := w.PushBlob(ctx, "r", ocispec.MediaTypeEmptyJSON, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	m := `{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageManifest + `","config":{"mediaType":"` + cfg.MediaType + `","digest":"` + cfg.Digest.String() + `","size":2},"layers":[]}`
	desc, err := w.PushBlob(ctx, "r", ocispec.MediaTypeImageManifest, strings.NewReader(m))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Tag(ctx, "r", desc, "v1"); err != nil {
		t.Fatal(err)
	}
}

func hasTag(t *testing.T, spec reference.Repository, opts repository.Options) bool {
	t.Helper()
	s, err := repository.OpenStore(context.Background(), spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tags, err := s.Tags(context.Background(), "r")
	if err != nil {
		return false
	}
	return len(tags) == 1 && tags[0] == "v1"
}

// A CTF archive is a transaction: Abort leaves nothing, Commit publishes,
// and without Create a missing archive is an error.
func TestOpenWritableCTF(t *testing.T) {
	ctx := context.Background()
	spec := reference.Repository{Type: reference.TypeCTF, FilePath: filepath.Join(t.TempDir(), "a.tgz")}
	if _, err := repository.OpenWritable(ctx, spec, repository.Options{}); err == nil {
		t.Fatal("opening a missing archive without Create succeeded")
	}
	w, err := repository.OpenWritable(ctx, spec, repository.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.String(); got != "CTF archive "+spec.FilePath {
		t.Errorf("String() = %q", got)
	}
	writeTagged(t, w)
	w.Abort()
	if _, err := os.Stat(spec.FilePath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("aborted creation left %s: %v", spec.FilePath, err)
	}

	w, err = repository.OpenWritable(ctx, spec, repository.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	writeTagged(t, w)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if !hasTag(t, spec, repository.Options{}) {
		t.Fatal("committed tag not found")
	}
	if err := repository.Ping(ctx, spec, repository.Options{}); err != nil {
		t.Errorf("Ping: %v", err)
	}
	missing := reference.Repository{Type: reference.TypeCTF, FilePath: filepath.Join(t.TempDir(), "none")}
	if err := repository.Ping(ctx, missing, repository.Options{}); err == nil || !strings.Contains(err.Error(), "none") {
		t.Errorf("Ping of a missing archive: %v", err)
	}
}

// A second writer of a locked archive waits and is told so through OnWait;
// its context ends the wait.
func TestOpenWritableOnWait(t *testing.T) {
	spec := reference.Repository{Type: reference.TypeCTF, FilePath: filepath.Join(t.TempDir(), "a")}
	w, err := repository.OpenWritable(context.Background(), spec, repository.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	ctx, cancel := context.WithCancel(context.Background())
	waited := false
	_, err = repository.OpenWritable(ctx, spec, repository.Options{Create: true, OnWait: func() { waited = true; cancel() }})
	if err == nil || !waited {
		t.Fatalf("second writer: %v (waited %v), want a cancelled wait", err, waited)
	}
}

// Registry writes go through directly: Commit and Abort do nothing.
func TestOpenWritableRegistry(t *testing.T) {
	ctx := context.Background()
	spec := reference.Repository{Type: reference.TypeOCI, BaseURL: testutil.StartOlareg(t), SubPath: "ocm"}
	w, err := repository.OpenWritable(ctx, spec, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeTagged(t, w)
	w.Abort()
	if !hasTag(t, spec, repository.Options{}) {
		t.Fatal("registry write not visible")
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := repository.Ping(ctx, spec, repository.Options{}); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// The configuration's registry credentials reach the registry through
// every opener: the store, the writer, Ping and external registries.
func TestOpenersUseConfiguredCredentials(t *testing.T) {
	reg := olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ocmuser" || p != "ocmpass" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	hostname, port, _ := strings.Cut(host, ":")
	entries, err := config.Parse([]byte(`type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: OCIRegistry, hostname: ` + hostname + `, port: "` + port + `"}
    credentials:
    - type: Credentials/v1
      properties: {username: ocmuser, password: ocmpass}
`))
	if err != nil {
		t.Fatal(err)
	}
	opts := repository.Options{Config: &config.Config{Entries: entries}}
	ctx := context.Background()
	spec := reference.Repository{Type: reference.TypeOCI, BaseURL: host, SubPath: "ocm"}

	if err := repository.Ping(ctx, spec, repository.Options{}); err == nil {
		t.Fatal("anonymous Ping succeeded: the server does not check credentials")
	}
	if err := repository.Ping(ctx, spec, opts); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	w, err := repository.OpenWritable(ctx, spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	writeTagged(t, w)
	if !hasTag(t, spec, opts) {
		t.Fatal("tag not readable with credentials")
	}
	ext, err := repository.OpenRegistry(host, "", opts)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := ext.Resolve(ctx, "ocm/r", "v1")
	if err != nil {
		t.Fatalf("external registry: %v", err)
	}
	rc, err := ext.Fetch(ctx, "ocm/r", desc)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatal(err)
	}
	anon, err := repository.OpenRegistry(host, "", repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Resolve(ctx, "ocm/r", "v1"); err == nil {
		t.Error("anonymous external registry resolved a protected tag")
	}
}
