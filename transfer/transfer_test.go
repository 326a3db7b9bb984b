package transfer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/repository/oci"
	"github.com/ocmgo/ocm/repository/ocimap"
	"github.com/ocmgo/ocm/transfer"
)

const (
	app = "example.com/interop/app"
	lib = "example.com/interop/lib"
)

var appRef = transfer.Ref{Component: app, Version: "1.2.0"}

func newRegistry(t *testing.T) *oci.Registry {
	t.Helper()
	srv := httptest.NewServer(olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}}))
	t.Cleanup(srv.Close)
	reg, err := oci.New(strings.TrimPrefix(srv.URL, "http://"), "ocm", oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func openCTF(t *testing.T, path string) *ctf.Archive {
	t.Helper()
	a, err := ctf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// graph lists the source graph of a version (every digest once).
func graph(t *testing.T, src ocimap.Store, component, version string) (*ocimap.ComponentVersion, []integrity.Node) {
	t.Helper()
	ctx := context.Background()
	repo := ocimap.New(src, "source")
	cv, err := repo.GetComponentVersion(ctx, component, version)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := integrity.Graph(ctx, repo.Fetcher(cv), cv.Root)
	if err != nil {
		t.Fatal(err)
	}
	return cv, nodes
}

func byComponent(results []transfer.Result) map[string]transfer.Result {
	m := map[string]transfer.Result{}
	for _, r := range results {
		m[r.Component] = r
	}
	return m
}

// A transfer into a registry copies the whole graph, referenced versions
// first; a second one finds everything present and writes nothing.
func TestTransferAndRerun(t *testing.T) {
	ctx := context.Background()
	src := openCTF(t, testutil.InteropCTF(t, testutil.Dir))
	reg := newRegistry(t)
	var mu sync.Mutex
	var events []string
	opts := transfer.Options{Recursive: true, Concurrency: 3, Progress: func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}}
	results, err := transfer.ComponentVersions(ctx, src, reg, []transfer.Ref{appRef}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0].Component != lib || results[1].Component != app {
		t.Fatalf("results %+v: want lib then app", results)
	}
	for _, r := range results {
		_, nodes := graph(t, src, r.Component, r.Version)
		if r.Copied+r.Skipped != len(nodes) || r.Copied == 0 || r.AlreadyPresent {
			t.Errorf("%s: copied %d skipped %d of %d", r.Component, r.Copied, r.Skipped, len(nodes))
		}
		cv, _ := graph(t, src, r.Component, r.Version)
		got, err := reg.Resolve(ctx, cv.Repository, ocimap.ToTag(r.Version))
		if err != nil || got.Digest != cv.Root.Digest || r.Digest != string(cv.Root.Digest) {
			t.Errorf("%s: target tag %v (%v), source %s", r.Component, got.Digest, err, cv.Root.Digest)
		}
		// Every piece is in the target, byte for byte.
		dstRepo := ocimap.New(reg, "target")
		dcv, err := dstRepo.GetComponentVersion(ctx, r.Component, r.Version)
		if err != nil {
			t.Fatal(err)
		}
		if err := integrity.VerifyGraph(ctx, dstRepo.Fetcher(dcv), dcv.Root); err != nil {
			t.Errorf("%s in the target: %v", r.Component, err)
		}
	}
	if len(events) == 0 {
		t.Error("no progress events")
	}

	again, err := transfer.ComponentVersions(ctx, src, reg, []transfer.Ref{appRef}, transfer.Options{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range again {
		if !r.AlreadyPresent || r.Copied != 0 || r.Skipped == 0 {
			t.Errorf("second transfer of %s: %+v", r.Component, r)
		}
	}
}

// A blob missing in the source fails the transfer of that version without
// tagging it; once restored, a rerun copies exactly what is missing.
func TestFailedTransferResumes(t *testing.T) {
	ctx := context.Background()
	dir := testutil.InteropCTF(t, testutil.Dir)
	cv, nodes := graph(t, openCTF(t, dir), app, "1.2.0")
	victim := cv.Manifest.Layers[len(cv.Manifest.Layers)-1].Digest
	blobPath := filepath.Join(dir, "blobs", "sha256."+victim.Encoded())
	hidden := blobPath + ".hidden"
	if err := os.Rename(blobPath, hidden); err != nil {
		t.Fatal(err)
	}
	reg := newRegistry(t)
	_, err := transfer.ComponentVersions(ctx, openCTF(t, dir), reg, []transfer.Ref{appRef}, transfer.Options{Recursive: true, Concurrency: 2})
	if err == nil || !strings.Contains(err.Error(), "transferring "+app+":1.2.0") {
		t.Fatalf("got %v, want an error naming the version", err)
	}
	if _, err := reg.Resolve(ctx, cv.Repository, "1.2.0"); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("app tagged in the target after a failed transfer: %v", err)
	}
	missing := 0
	for _, n := range nodes {
		ok, err := reg.Exists(ctx, cv.Repository, n.Descriptor)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			missing++
		}
	}
	if missing == 0 || missing == len(nodes) {
		t.Fatalf("%d of %d pieces missing after the failure; want a partial copy", missing, len(nodes))
	}

	if err := os.Rename(hidden, blobPath); err != nil {
		t.Fatal(err)
	}
	results, err := transfer.ComponentVersions(ctx, openCTF(t, dir), reg, []transfer.Ref{appRef}, transfer.Options{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	got := byComponent(results)
	if !got[lib].AlreadyPresent {
		t.Errorf("lib was transferred before the failure, got %+v", got[lib])
	}
	if r := got[app]; r.Copied != missing || r.Skipped != len(nodes)-missing || r.AlreadyPresent {
		t.Errorf("rerun of app: %+v, want %d copied and %d skipped", r, missing, len(nodes)-missing)
	}
	if d, err := reg.Resolve(ctx, cv.Repository, "1.2.0"); err != nil || d.Digest != cv.Root.Digest {
		t.Fatalf("app tag after the rerun: %v %v", d.Digest, err)
	}
}

// A corrupted source blob is detected while copying and never stored.
func TestCorruptBlobRejected(t *testing.T) {
	ctx := context.Background()
	dir := testutil.InteropCTF(t, testutil.Dir)
	cv, _ := graph(t, openCTF(t, dir), app, "1.2.0")
	victim := cv.Manifest.Layers[len(cv.Manifest.Layers)-1]
	p := filepath.Join(dir, "blobs", "sha256."+victim.Digest.Encoded())
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[0] ^= 0xff
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	reg := newRegistry(t)
	_, err = transfer.ComponentVersions(ctx, openCTF(t, dir), reg, []transfer.Ref{appRef}, transfer.Options{})
	if err == nil || !strings.Contains(err.Error(), string(victim.Digest)) {
		t.Fatalf("got %v", err)
	}
	if ok, _ := reg.Exists(ctx, cv.Repository, victim); ok {
		t.Fatal("corrupt blob stored in the target")
	}
}

// pushOther tags a different manifest as component:version in w.
func pushOther(t *testing.T, w ocimap.WriteStore, component, version string) digest.Digest {
	t.Helper()
	ctx := context.Background()
	repo := ocimap.RepositoryName(component)
	cfg := []byte(`{}`)
	cfgDesc := ocispec.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: digest.FromBytes(cfg), Size: int64(len(cfg))}
	if err := w.Push(ctx, repo, cfgDesc, bytes.NewReader(cfg)); err != nil {
		t.Fatal(err)
	}
	m, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cfgDesc, Layers: []ocispec.Descriptor{cfgDesc}})
	md := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(m), Size: int64(len(m))}
	if err := w.Push(ctx, repo, md, bytes.NewReader(m)); err != nil {
		t.Fatal(err)
	}
	if err := w.Tag(ctx, repo, md, ocimap.ToTag(version)); err != nil {
		t.Fatal(err)
	}
	return md.Digest
}

// A target tag pointing at other content is refused before anything is
// written; Overwrite replaces it.
func TestConflict(t *testing.T) {
	ctx := context.Background()
	src := openCTF(t, testutil.InteropCTF(t, testutil.Dir))
	w, err := ctf.OpenWritable(filepath.Join(t.TempDir(), "target"), ctf.WriteOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	other := pushOther(t, w, lib, "0.3.1+build.7")
	_, err = transfer.ComponentVersions(ctx, src, w, []transfer.Ref{appRef}, transfer.Options{Recursive: true})
	var ce *transfer.ConflictError
	if !errors.As(err, &ce) || len(ce.Versions) != 1 || ce.Versions[0].Ref.Component != lib || ce.Versions[0].Target != other ||
		!strings.Contains(err.Error(), lib+":0.3.1+build.7") {
		t.Fatalf("got %v", err)
	}
	if _, err := w.Resolve(ctx, ocimap.RepositoryName(app), "1.2.0"); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("app written despite the conflict: %v", err)
	}
	results, err := transfer.ComponentVersions(ctx, src, w, []transfer.Ref{appRef}, transfer.Options{Recursive: true, Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := byComponent(results)[lib]; !r.Replaced {
		t.Fatalf("lib: %+v", r)
	}
	libCV, _ := graph(t, src, lib, "0.3.1+build.7")
	if d, err := w.Resolve(ctx, libCV.Repository, "0.3.1.build-build.7"); err != nil || d.Digest != libCV.Root.Digest {
		t.Fatalf("lib tag after overwrite: %v %v", d.Digest, err)
	}
}

// A dry run reports what would be copied and writes nothing.
func TestDryRun(t *testing.T) {
	ctx := context.Background()
	src := openCTF(t, testutil.InteropCTF(t, testutil.Dir))
	reg := newRegistry(t)
	results, err := transfer.ComponentVersions(ctx, src, reg, []transfer.Ref{appRef}, transfer.Options{Recursive: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		_, nodes := graph(t, src, r.Component, r.Version)
		if !r.DryRun || r.Copied != len(nodes) {
			t.Errorf("%+v, want %d to copy", r, len(nodes))
		}
	}
	if repos, _ := reg.Repositories(ctx); len(repos) != 0 {
		t.Fatalf("dry run wrote %v", repos)
	}
}

// Recursive transfers follow cycles once and report each version once.
func TestCycle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, pair := range [][2]string{{"example.com/a", "example.com/b"}, {"example.com/b", "example.com/a"}} {
		cd, err := descriptor.Decode([]byte(fmt.Sprintf(`meta:
  schemaVersion: v2
component:
  name: %s
  version: 1.0.0
  provider: acme
  repositoryContexts: []
  sources: []
  resources: []
  componentReferences:
  - name: other
    componentName: %s
    version: 1.0.0
`, pair[0], pair[1])))
		if err != nil {
			t.Fatal(err)
		}
		if err := testutil.AddComponentVersion(dir, cd, testutil.Layer{MediaType: "text/plain", Data: []byte("blob of " + pair[0])}); err != nil {
			t.Fatal(err)
		}
	}
	w, err := ctf.OpenWritable(filepath.Join(t.TempDir(), "t.tar"), ctf.WriteOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	results, err := transfer.ComponentVersions(ctx, openCTF(t, dir), w, []transfer.Ref{{Component: "example.com/a", Version: "1.0.0"}, {Component: "example.com/b", Version: "1.0.0"}}, transfer.Options{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0].Component != "example.com/b" || results[1].Component != "example.com/a" {
		t.Fatalf("results %+v", results)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}
