package transfer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"

	"github.com/ocmgo/ocm/descriptor"
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
func graph(t *testing.T, src ocimap.Store, component, version string) (*ocimap.ComponentVersion, []ocimap.Node) {
	t.Helper()
	ctx := context.Background()
	repo := ocimap.New(src, "source")
	cv, err := repo.GetComponentVersion(ctx, component, version)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := ocimap.Graph(ctx, repo.Fetcher(cv), cv.Root)
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
		if err := ocimap.VerifyGraph(ctx, dstRepo.Fetcher(dcv), dcv.Root); err != nil {
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
	missingSet := map[digest.Digest]bool{}
	for _, n := range nodes {
		ok, err := reg.Exists(ctx, cv.Repository, n.Descriptor)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			missing++
			missingSet[n.Descriptor.Digest] = true
		}
	}
	if missing == 0 || missing == len(nodes) {
		t.Fatalf("%d of %d pieces missing after the failure; want a partial copy", missing, len(nodes))
	}

	if err := os.Rename(hidden, blobPath); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var copied []digest.Digest
	results, err := transfer.ComponentVersions(ctx, openCTF(t, dir), reg, []transfer.Ref{appRef}, transfer.Options{Recursive: true, Progress: func(e string) {
		if f := strings.Fields(e); len(f) >= 4 && f[0] == app+":1.2.0:" && f[1] == "copied" {
			mu.Lock()
			copied = append(copied, digest.Digest(f[3]))
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := byComponent(results)
	if !got[lib].AlreadyPresent {
		t.Errorf("lib was transferred before the failure, got %+v", got[lib])
	}
	// The rerun copies only what was missing, at least the blob that
	// failed. (An upload the failure cut short may still have been stored
	// by the registry after the count, so "exactly missing" is racy; the
	// counts must add up and nothing present may be copied again.)
	r := got[app]
	if r.Copied+r.Skipped != len(nodes) || r.Copied > missing || r.Copied == 0 || r.AlreadyPresent || len(copied) != r.Copied {
		t.Errorf("rerun of app: %+v (events %d), want at most %d copied and the rest skipped", r, len(copied), missing)
	}
	for _, d := range copied {
		if !missingSet[d] {
			t.Errorf("rerun copied %s again, which the target had", d)
		}
	}
	if !slices.Contains(copied, victim) {
		t.Errorf("rerun did not copy the blob that failed (%s): %v", victim, copied)
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

// The same into a CTF: the target trusts the transfer's verifying stream
// (it does not hash again), so the stream's check is what keeps the
// corrupt blob out, and the archive stays as it was.
func TestCorruptBlobRejectedByCTF(t *testing.T) {
	ctx := context.Background()
	dir := testutil.InteropCTF(t, testutil.Dir)
	cv, _ := graph(t, openCTF(t, dir), app, "1.2.0")
	victim := cv.Manifest.Layers[len(cv.Manifest.Layers)-1]
	p := filepath.Join(dir, "blobs", "sha256."+victim.Digest.Encoded())
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 0xff
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "target")
	w, err := ctf.OpenWritable(target, ctf.WriteOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = transfer.ComponentVersions(ctx, openCTF(t, dir), w, []transfer.Ref{appRef}, transfer.Options{Concurrency: 1})
	if err == nil || !strings.Contains(err.Error(), string(victim.Digest)) {
		t.Fatalf("got %v", err)
	}
	if ok, _ := w.Exists(ctx, cv.Repository, victim); ok {
		t.Fatal("corrupt blob staged in the target")
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("target after the failed transfer: %v", err)
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

// existingTargets builds fresh targets (a CTF archive and a registry).
var existingTargets = map[string]func(t *testing.T) ocimap.WriteStore{
	"ctf": func(t *testing.T) ocimap.WriteStore {
		w, err := ctf.OpenWritable(filepath.Join(t.TempDir(), "target"), ctf.WriteOptions{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Abort() })
		return w
	},
	"registry": func(t *testing.T) ocimap.WriteStore { return newRegistry(t) },
}

// Every existing-version policy against a target that has app identical and
// lib with other content.
func TestExistingPolicies(t *testing.T) {
	ctx := context.Background()
	src := openCTF(t, testutil.InteropCTF(t, testutil.Dir))
	libCV, _ := graph(t, src, lib, "0.3.1+build.7")
	appCV, _ := graph(t, src, app, "1.2.0")
	libTag := ocimap.ToTag("0.3.1+build.7")
	for name, newTarget := range existingTargets {
		for _, policy := range []transfer.ExistingPolicy{transfer.ExistingDefault, transfer.ExistingSkip, transfer.ExistingReplace, transfer.ExistingFail} {
			t.Run(name+"/"+string(policy), func(t *testing.T) {
				dst := newTarget(t)
				if _, err := transfer.ComponentVersions(ctx, src, dst, []transfer.Ref{appRef}, transfer.Options{}); err != nil {
					t.Fatal(err)
				}
				other := pushOther(t, dst, lib, "0.3.1+build.7")
				results, err := transfer.ComponentVersions(ctx, src, dst, []transfer.Ref{appRef}, transfer.Options{Recursive: true, Existing: policy})
				libTarget, rerr := dst.Resolve(ctx, libCV.Repository, libTag)
				if rerr != nil {
					t.Fatal(rerr)
				}
				var ce *transfer.ConflictError
				switch policy {
				case transfer.ExistingDefault:
					if !errors.As(err, &ce) || len(ce.Versions) != 1 || ce.Versions[0].Ref.Component != lib || ce.Versions[0].Target != other {
						t.Fatalf("got %v", err)
					}
				case transfer.ExistingFail:
					if !errors.As(err, &ce) || len(ce.Versions) != 2 || !strings.Contains(err.Error(), "already exists in the target: ") ||
						!strings.Contains(err.Error(), app+":1.2.0 (identical") {
						t.Fatalf("got %v", err)
					}
					for _, c := range ce.Versions {
						if c.Ref.Component == app && c.Source != c.Target {
							t.Errorf("app conflict %+v, want identical digests", c)
						}
					}
				case transfer.ExistingSkip:
					if err != nil {
						t.Fatal(err)
					}
					got := byComponent(results)
					if r := got[lib]; !r.VersionSkipped || r.AlreadyPresent || r.Replaced || r.Copied != 0 || r.TargetDigest != string(other) {
						t.Errorf("lib: %+v", r)
					}
					if r := got[app]; !r.AlreadyPresent || r.VersionSkipped || r.Copied != 0 || r.BytesSkipped == 0 {
						t.Errorf("app: %+v", r)
					}
				case transfer.ExistingReplace:
					if err != nil {
						t.Fatal(err)
					}
					got := byComponent(results)
					if r := got[lib]; !r.Replaced || r.Copied == 0 || r.BytesCopied == 0 || r.TargetDigest != string(other) {
						t.Errorf("lib: %+v", r)
					}
					if r := got[app]; !r.AlreadyPresent {
						t.Errorf("app: %+v", r)
					}
				}
				want := other
				if policy == transfer.ExistingReplace {
					want = libCV.Root.Digest
				}
				if libTarget.Digest != want {
					t.Errorf("lib tag %s, want %s", libTarget.Digest, want)
				}
				if d, err := dst.Resolve(ctx, appCV.Repository, "1.2.0"); err != nil || d.Digest != appCV.Root.Digest {
					t.Errorf("app tag %v %v", d.Digest, err)
				}
			})
		}
	}
}

func TestExistingOptionErrors(t *testing.T) {
	ctx := context.Background()
	src := openCTF(t, testutil.InteropCTF(t, testutil.Dir))
	dst := existingTargets["ctf"](t)
	if _, err := transfer.ComponentVersions(ctx, src, dst, []transfer.Ref{appRef}, transfer.Options{Existing: "keep"}); err == nil || !strings.Contains(err.Error(), `"keep"`) {
		t.Errorf("unknown policy: %v", err)
	}
	if _, err := transfer.ComponentVersions(ctx, src, dst, []transfer.Ref{appRef}, transfer.Options{Existing: transfer.ExistingSkip, Overwrite: true}); err == nil || !strings.Contains(err.Error(), "overwrite") {
		t.Errorf("overwrite with skip: %v", err)
	}
	// Overwrite alone is ExistingReplace.
	pushOther(t, dst, app, "1.2.0")
	results, err := transfer.ComponentVersions(ctx, src, dst, []transfer.Ref{appRef}, transfer.Options{Overwrite: true, Existing: transfer.ExistingReplace})
	if err != nil || len(results) != 1 || !results[0].Replaced {
		t.Fatalf("%+v %v", results, err)
	}
}

// recordingStore records the order of tags.
type recordingStore struct {
	ocimap.WriteStore
	mu   sync.Mutex
	tags []string
}

func (s *recordingStore) Tag(ctx context.Context, repo string, desc ocispec.Descriptor, tag string) error {
	if err := s.WriteStore.Tag(ctx, repo, desc, tag); err != nil {
		return err
	}
	s.mu.Lock()
	s.tags = append(s.tags, repo)
	s.mu.Unlock()
	return nil
}

// slowReader delays the first read, so that blobs overlap.
type slowReader struct {
	r     io.Reader
	slept bool
}

func (s *slowReader) Read(p []byte) (int, error) {
	if !s.slept {
		s.slept = true
		time.Sleep(30 * time.Millisecond)
	}
	return s.r.Read(p)
}

// Independent versions move in parallel, bounded by Concurrency (versions
// and blobs); a referencing version is tagged after what it references.
func TestParallelVersions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const n = 6
	var refs strings.Builder
	for i := range n {
		name := fmt.Sprintf("example.com/leaf%d", i)
		fmt.Fprintf(&refs, "  - name: leaf%d\n    componentName: %s\n    version: 1.0.0\n", i, name)
		cd, err := descriptor.Decode(fmt.Appendf(nil, "meta:\n  schemaVersion: v2\ncomponent:\n  name: %s\n  version: 1.0.0\n  provider: acme\n  repositoryContexts: []\n  sources: []\n  resources: []\n  componentReferences: []\n", name))
		if err != nil {
			t.Fatal(err)
		}
		layers := []testutil.Layer{
			{MediaType: "text/plain", Data: bytes.Repeat([]byte{byte('a' + i)}, 1000)},
			{MediaType: "text/plain", Data: bytes.Repeat([]byte{byte('A' + i)}, 2000)},
		}
		if err := testutil.AddComponentVersion(dir, cd, layers...); err != nil {
			t.Fatal(err)
		}
	}
	cd, err := descriptor.Decode(fmt.Appendf(nil, "meta:\n  schemaVersion: v2\ncomponent:\n  name: example.com/top\n  version: 1.0.0\n  provider: acme\n  repositoryContexts: []\n  sources: []\n  resources: []\n  componentReferences:\n%s", refs.String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.AddComponentVersion(dir, cd, testutil.Layer{MediaType: "text/plain", Data: []byte("top")}); err != nil {
		t.Fatal(err)
	}
	src := openCTF(t, dir)
	dst := &recordingStore{WriteStore: newRegistry(t)}

	var mu sync.Mutex
	inFlight := map[transfer.Ref]int{}
	blobs, maxBlobs, maxVersions := 0, 0, 0
	wraps := 0
	wrap := func(ref transfer.Ref, desc ocispec.Descriptor, r io.Reader) (io.Reader, func(error)) {
		mu.Lock()
		defer mu.Unlock()
		wraps++
		inFlight[ref]++
		blobs++
		maxBlobs = max(maxBlobs, blobs)
		maxVersions = max(maxVersions, len(inFlight))
		return &slowReader{r: r}, func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("%s %s: %v", ref, desc.Digest, err)
			}
			blobs--
			if inFlight[ref]--; inFlight[ref] == 0 {
				delete(inFlight, ref)
			}
		}
	}
	results, err := transfer.ComponentVersions(ctx, src, dst, []transfer.Ref{{Component: "example.com/top", Version: "1.0.0"}},
		transfer.Options{Recursive: true, Concurrency: 3, WrapBlob: wrap})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != n+1 || results[n].Component != "example.com/top" {
		t.Fatalf("results %+v", results)
	}
	if last := dst.tags[len(dst.tags)-1]; last != ocimap.RepositoryName("example.com/top") || len(dst.tags) != n+1 {
		t.Errorf("tags in order %v: want top last", dst.tags)
	}
	if maxVersions < 2 || maxVersions > 3 || maxBlobs > 3 {
		t.Errorf("in flight: at most %d versions, %d blobs; want 2..3 and ≤3", maxVersions, maxBlobs)
	}
	if wraps == 0 {
		t.Error("WrapBlob never called")
	}
	var total int64
	for _, r := range results {
		_, nodes := graph(t, src, r.Component, r.Version)
		var size int64
		for _, nd := range nodes {
			size += nd.Descriptor.Size
		}
		if r.BytesCopied != size || r.BytesSkipped != 0 {
			t.Errorf("%s: %d bytes copied, %d skipped; want %d", r.Component, r.BytesCopied, r.BytesSkipped, size)
		}
		total += r.BytesCopied
	}
	if total < n*3000 {
		t.Errorf("%d bytes in total", total)
	}
}
