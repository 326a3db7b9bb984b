package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/repository/oci"
	"github.com/ocmgo/ocm/repository/ocimap"
	"github.com/ocmgo/ocm/transfer"
)

func transferResults(t *testing.T, out string) []transfer.Result {
	t.Helper()
	var res []transfer.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	return res
}

// The interop archive travels CTF dir → .tgz → registry → CTF dir with
// --recursive; descriptors and signatures survive every hop.
func TestTransferHops(t *testing.T) {
	srv := httptest.NewServer(olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}}))
	t.Cleanup(srv.Close)
	registry := strings.TrimPrefix(srv.URL, "http://") + "/ocm"
	src := testutil.InteropCTF(t, testutil.Dir)
	tgz := filepath.Join(t.TempDir(), "copy.tgz")
	final := filepath.Join(t.TempDir(), "final")

	hops := [][2]string{
		{src + "//" + app + ":1.2.0", "ctf::" + tgz},
		{tgz + "//" + app + ":1.2.0", registry},
		{registry + "//" + app + ":1.2.0", final},
	}
	for _, hop := range hops {
		out, _, err := run(t, "transfer", "cv", "--recursive", "-o", "json", hop[0], hop[1])
		if err != nil {
			t.Fatalf("%s → %s: %v", hop[0], hop[1], err)
		}
		res := transferResults(t, out)
		if len(res) != 2 || res[0].Component != lib || res[1].Component != app || res[0].Copied == 0 || res[1].Copied == 0 {
			t.Fatalf("%s → %s: %+v", hop[0], hop[1], res)
		}
	}
	if fi, err := os.Stat(final); err != nil || !fi.IsDir() {
		t.Fatalf("final CTF is not a directory: %v", err)
	}

	ctx := context.Background()
	spec, err := reference.ParseRepository(final)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Open(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	for comp, want := range map[string][2]string{
		lib: {"0.3.1+build.7", "a6f7a4eb5b4dc1fd061b5da0c1b5171f9d6cfa0898823667d8f534df6798f647"},
		app: {"1.2.0", "0e620fa8ae2390bd21cf081c6812cb06734ed8d8830564c2e8db6ecbc95c818b"},
	} {
		cd, err := repo.GetComponentVersion(ctx, comp, want[0])
		if err != nil {
			t.Fatal(err)
		}
		d, err := normalisation.Digest(cd, normalisation.JSONv4alpha1, normalisation.SHA256)
		if err != nil || d.Value != want[1] {
			t.Errorf("%s digests to %v (%v), want %s", comp, d, err, want[1])
		}
	}
	pub := filepath.Join(testutil.InteropDir(t), "public-key.pem")
	for _, ref := range []string{final + "//" + app + ":1.2.0", final + "//" + lib + ":0.3.1+build.7"} {
		if _, _, err := run(t, "verify", "cv", ref, "--public-key", pub, "--external-content=false"); err != nil {
			t.Errorf("verify %s: %v", ref, err)
		}
	}
	// Local blobs are readable and intact in the final copy.
	out := filepath.Join(t.TempDir(), "greeting")
	if _, _, err := run(t, "download", "resource", final+"//"+app+":1.2.0", "--identity", "name=greeting", "--output", out, "--verify", "--public-key", pub); err != nil {
		t.Fatal(err)
	}

	// Again into the same targets: nothing is copied.
	for _, hop := range hops {
		stdout, _, err := run(t, "transfer", "cv", "-r", "-o", "json", hop[0], hop[1])
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range transferResults(t, stdout) {
			if !r.AlreadyPresent || r.Copied != 0 {
				t.Errorf("second transfer %s → %s: %+v", hop[0], hop[1], r)
			}
		}
	}
	table, _, err := run(t, "transfer", "cv", "-r", "-o", "table", hops[2][0], hops[2][1])
	if err != nil || !strings.Contains(table, "already present") {
		t.Errorf("table: %q (%v)", table, err)
	}
}

// A target whose tag points at other content is refused without --overwrite.
func TestTransferConflict(t *testing.T) {
	src := testutil.InteropCTF(t, testutil.Dir)
	target := filepath.Join(t.TempDir(), "target")
	w, err := ctf.OpenWritable(target, ctf.WriteOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	repo := ocimap.RepositoryName(lib)
	cfg := []byte(`{}`)
	cfgDesc := ocispec.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: digest.FromBytes(cfg), Size: int64(len(cfg))}
	m, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cfgDesc, Layers: []ocispec.Descriptor{cfgDesc}})
	md := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(m), Size: int64(len(m))}
	if err := w.Push(ctx, repo, cfgDesc, bytes.NewReader(cfg)); err != nil {
		t.Fatal(err)
	}
	if err := w.Push(ctx, repo, md, bytes.NewReader(m)); err != nil {
		t.Fatal(err)
	}
	if err := w.Tag(ctx, repo, md, "0.3.1.build-build.7"); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}

	_, _, err = run(t, "transfer", "cv", "-r", src+"//"+app+":1.2.0", target)
	if err == nil || !strings.Contains(err.Error(), lib+":0.3.1+build.7") || !strings.Contains(err.Error(), "--existing replace") {
		t.Fatalf("got %v", err)
	}
	a, err := ctf.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Resolve(ctx, ocimap.RepositoryName(app), "1.2.0"); err == nil {
		t.Fatal("app written despite the conflict")
	}
	a.Close()

	out, _, err := run(t, "transfer", "cv", "-r", "--overwrite", "-o", "json", src+"//"+app+":1.2.0", target)
	if err != nil {
		t.Fatal(err)
	}
	if res := transferResults(t, out); len(res) != 2 || !res[0].Replaced {
		t.Fatalf("%+v", res)
	}
	pub := filepath.Join(testutil.InteropDir(t), "public-key.pem")
	if _, _, err := run(t, "verify", "cv", target+"//"+lib+":0.3.1+build.7", "--public-key", pub); err != nil {
		t.Fatal(err)
	}
}

func TestTransferFlags(t *testing.T) {
	src := testutil.InteropCTF(t, testutil.Tgz)
	target := filepath.Join(t.TempDir(), "t.tar")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--upload-as", "ociArtifact", src + "//" + app + ":1.2.0", target}, "--upload-as ociArtifact needs an OCI registry as the target"},
		{[]string{"--upload-as", "blob", src + "//" + app + ":1.2.0", target}, `--upload-as "blob"`},
		{[]string{"--latest", src + "//" + app + ":1.2.0", target}, "only apply to a reference without one"},
		{[]string{"--semver-constraint", ">2", src + "//" + app, target}, "no version of " + app},
		{[]string{"--concurrency-limit", "0", src + "//" + app, target}, "--concurrency-limit 0"},
		{[]string{"-o", "tree", src + "//" + app, target}, `--output "tree"`},
	}
	for _, c := range cases {
		_, _, err := run(t, append([]string{"transfer", "cv"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatal("target created by a failing command")
	}

	// --dry-run lists what would be copied and creates nothing.
	out, stderr, err := run(t, "transfer", "cv", "--dry-run", "-r", "-o", "yaml", src+"//"+app, target)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "dryRun: true") || !strings.Contains(stderr, "would copy") || !strings.Contains(stderr, "would tag") {
		t.Fatalf("dry run printed %q / %q", out, stderr)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatal("dry run created the target")
	}

	// Without a version, --latest picks the newest version.
	out, _, err = run(t, "transfer", "cv", "--latest", "-o", "json", src+"//"+lib, target)
	if err != nil {
		t.Fatal(err)
	}
	if res := transferResults(t, out); len(res) != 1 || res[0].Version != "0.3.1+build.7" {
		t.Fatalf("%+v", res)
	}
}

// cliPushOther tags other content as lib's version in w.
func cliPushOther(t *testing.T, w ocimap.WriteStore) digest.Digest {
	t.Helper()
	ctx := context.Background()
	repo := ocimap.RepositoryName(lib)
	cfg := []byte(`{}`)
	cfgDesc := ocispec.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: digest.FromBytes(cfg), Size: int64(len(cfg))}
	m, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cfgDesc, Layers: []ocispec.Descriptor{cfgDesc}})
	md := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(m), Size: int64(len(m))}
	if err := w.Push(ctx, repo, cfgDesc, bytes.NewReader(cfg)); err != nil {
		t.Fatal(err)
	}
	if err := w.Push(ctx, repo, md, bytes.NewReader(m)); err != nil {
		t.Fatal(err)
	}
	if err := w.Tag(ctx, repo, md, ocimap.ToTag("0.3.1+build.7")); err != nil {
		t.Fatal(err)
	}
	return md.Digest
}

// --existing with every value (and none) against a CTF archive and a
// registry that have app identical and lib with other content.
func TestTransferExisting(t *testing.T) {
	src := testutil.InteropCTF(t, testutil.Dir)
	ctx := context.Background()
	type target struct {
		arg     string
		libTag  func() digest.Digest
		pushLib func() digest.Digest
	}
	targets := map[string]func(t *testing.T) target{
		"ctf": func(t *testing.T) target {
			dir := filepath.Join(t.TempDir(), "target")
			return target{
				arg: dir,
				pushLib: func() digest.Digest {
					w, err := ctf.OpenWritable(dir, ctf.WriteOptions{Create: true})
					if err != nil {
						t.Fatal(err)
					}
					defer w.Abort()
					d := cliPushOther(t, w)
					if err := w.Commit(); err != nil {
						t.Fatal(err)
					}
					return d
				},
				libTag: func() digest.Digest {
					a, err := ctf.Open(dir)
					if err != nil {
						t.Fatal(err)
					}
					defer a.Close()
					d, err := a.Resolve(ctx, ocimap.RepositoryName(lib), ocimap.ToTag("0.3.1+build.7"))
					if err != nil {
						t.Fatal(err)
					}
					return d.Digest
				},
			}
		},
		"registry": func(t *testing.T) target {
			srv := httptest.NewServer(olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}}))
			t.Cleanup(srv.Close)
			reg, err := oci.New(strings.TrimPrefix(srv.URL, "http://"), "ocm", oci.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return target{
				arg:     strings.TrimPrefix(srv.URL, "http://") + "/ocm",
				pushLib: func() digest.Digest { return cliPushOther(t, reg) },
				libTag: func() digest.Digest {
					d, err := reg.Resolve(ctx, ocimap.RepositoryName(lib), ocimap.ToTag("0.3.1+build.7"))
					if err != nil {
						t.Fatal(err)
					}
					return d.Digest
				},
			}
		},
	}
	appSrc := src + "//" + app + ":1.2.0"
	for name, newTarget := range targets {
		for _, policy := range []string{"", "skip", "replace", "fail"} {
			t.Run(name+"/"+policy, func(t *testing.T) {
				tg := newTarget(t)
				if _, _, err := run(t, "transfer", "cv", appSrc, tg.arg); err != nil {
					t.Fatal(err)
				}
				other := tg.pushLib()
				args := []string{"transfer", "cv", "-r", "-o", "json"}
				if policy != "" {
					args = append(args, "--existing", policy)
				}
				out, stderr, err := run(t, append(args, appSrc, tg.arg)...)
				wantLib := other
				switch policy {
				case "":
					if err == nil || !strings.Contains(err.Error(), "different content") || !strings.Contains(err.Error(), "--existing replace") {
						t.Fatalf("got %v", err)
					}
				case "fail":
					if err == nil || !strings.Contains(err.Error(), "already exists in the target: ") || !strings.Contains(err.Error(), app+":1.2.0 (identical") {
						t.Fatalf("got %v", err)
					}
				case "skip":
					if err != nil {
						t.Fatal(err)
					}
					res := transferResults(t, out)
					if len(res) != 2 || !res[0].VersionSkipped || !res[1].AlreadyPresent {
						t.Fatalf("%+v", res)
					}
					if !strings.Contains(stderr, "versions: 0 copied, 1 already present, 1 skipped") {
						t.Errorf("summary: %q", stderr)
					}
				case "replace":
					if err != nil {
						t.Fatal(err)
					}
					res := transferResults(t, out)
					if len(res) != 2 || !res[0].Replaced || !res[1].AlreadyPresent || res[0].BytesCopied == 0 {
						t.Fatalf("%+v", res)
					}
					if !strings.Contains(stderr, "versions: 1 copied, 1 already present, 0 skipped") ||
						!strings.Contains(stderr, fmt.Sprintf("(%d bytes) copied", res[0].BytesCopied)) {
						t.Errorf("summary: %q", stderr)
					}
					wantLib = ""
				}
				if got := tg.libTag(); wantLib != "" && got != wantLib || wantLib == "" && got == other {
					t.Errorf("lib tag %s (other content %s)", got, other)
				}
			})
		}
	}
}

// --existing values are checked; --overwrite is a hidden, deprecated
// alias of --existing replace.
func TestTransferExistingFlags(t *testing.T) {
	src := testutil.InteropCTF(t, testutil.Dir)
	target := filepath.Join(t.TempDir(), "t")
	_, _, err := run(t, "transfer", "cv", "--existing", "keep", src+"//"+app+":1.2.0", target)
	if err == nil || !strings.Contains(err.Error(), `--existing "keep"`) {
		t.Errorf("got %v", err)
	}
	_, _, err = run(t, "transfer", "cv", "--overwrite", "--existing", "skip", src+"//"+app+":1.2.0", target)
	if err == nil || !strings.Contains(err.Error(), "contradicts --existing skip") {
		t.Errorf("got %v", err)
	}
	help, _, err := run(t, "transfer", "cv", "--help")
	if err != nil || !strings.Contains(help, "--existing") || strings.Contains(help, "--overwrite  ") {
		t.Errorf("help: %v\n%s", err, help)
	}
	out, stderr, err := run(t, "transfer", "cv", "--overwrite", "-o", "json", src+"//"+lib+":0.3.1+build.7", target)
	if err != nil {
		t.Fatal(err)
	}
	if res := transferResults(t, out); len(res) != 1 || res[0].Copied == 0 {
		t.Fatalf("%+v", res)
	}
	if !strings.Contains(stderr, "--overwrite is deprecated") || !strings.Contains(stderr, "transferred: versions: 1 copied, 0 already present, 0 skipped") {
		t.Errorf("stderr %q", stderr)
	}
	// Dry run summary.
	_, stderr, err = run(t, "transfer", "cv", "--dry-run", "-r", src+"//"+app+":1.2.0", filepath.Join(t.TempDir(), "x"))
	if err != nil || !strings.Contains(stderr, "dry run: versions: 2 to copy") {
		t.Errorf("dry run: %v %q", err, stderr)
	}
}

// The terminal display: one bar per blob, gone when done; lines are
// printed above the bars; wait returns once all blobs are finished.
func TestTransferBars(t *testing.T) {
	var buf syncBuffer
	bars := newTransferBars(&buf, true)
	data := bytes.Repeat([]byte("x"), 10000)
	desc := ocispec.Descriptor{Digest: digest.FromBytes(data), Size: int64(len(data))}
	ref := transfer.Ref{Component: app, Version: "1.2.0"}
	r, done := bars.wrap(ref, desc, bytes.NewReader(data))
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatal(err)
	}
	done(nil)
	r2, done2 := bars.wrap(ref, ocispec.Descriptor{Digest: digest.FromString("y"), Size: 5}, strings.NewReader("y"))
	io.ReadAll(r2)
	done2(io.ErrUnexpectedEOF)
	fmt.Fprintln(bars, "a line above")
	finished := make(chan struct{})
	go func() { bars.wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("wait blocked")
	}
	fmt.Fprintln(bars, "after the end")
	if s := buf.String(); !strings.Contains(s, "a line above") || !strings.Contains(s, "after the end") || !strings.Contains(s, app+":1.2.0") {
		t.Errorf("display %q", s)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
