package ctf

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/internal/testutil"
)

// TestMain lets the tests re-execute the test binary as a writer process
// that they can kill or race against (see runChild).
func TestMain(m *testing.M) {
	if mode := os.Getenv(childModeEnv); mode != "" {
		os.Exit(runChild(mode, os.Getenv(childPathEnv)))
	}
	os.Exit(m.Run())
}

const (
	childModeEnv = "OCM_CTF_TEST_CHILD"
	childPathEnv = "OCM_CTF_TEST_PATH"
	testRepo     = "component-descriptors/example.com/w"
)

// runChild is the body of a child writer process. It reports progress on
// stdout, one word per line, so the parent knows when to act.
func runChild(mode, path string) int {
	ctx := context.Background()
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	w, err := OpenWritable(path, WriteOptions{Create: true, LockTimeout: time.Minute})
	if err != nil {
		return fail(err)
	}
	defer w.Abort()
	switch mode {
	case "push": // killed while streaming a large blob
		if _, err := pushVersion(ctx, w, testRepo, "child", []byte("child layer")); err != nil {
			return fail(err)
		}
		_, err := w.PushBlob(ctx, testRepo, "application/octet-stream", &slowReader{announceAfter: 3 << 20})
		return fail(fmt.Errorf("slow push ended: %v", err))
	case "commit": // killed right before the commit's final rename
		if _, err := pushVersion(ctx, w, testRepo, "child", patternData(2<<20, 9), []byte("child layer")); err != nil {
			return fail(err)
		}
		commitHook = func() {
			fmt.Println("publishing")
			select {}
		}
		return fail(fmt.Errorf("commit returned: %v", w.Commit()))
	case "hold": // holds the lock until stdin closes, then commits a version
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		if _, err := pushVersion(ctx, w, testRepo, "child", []byte("child layer")); err != nil {
			return fail(err)
		}
		if err := w.Commit(); err != nil {
			return fail(err)
		}
		fmt.Println("committed")
		return 0
	}
	return fail(fmt.Errorf("unknown mode %q", mode))
}

// slowReader yields pattern bytes forever, slowly, and prints "pushing"
// once it has handed out announceAfter bytes.
type slowReader struct {
	n             int64
	announceAfter int64
}

func (r *slowReader) Read(p []byte) (int, error) {
	time.Sleep(5 * time.Millisecond)
	n := min(len(p), 256<<10)
	for i := range n {
		p[i] = byte(r.n + int64(i))
	}
	if r.n < r.announceAfter && r.n+int64(n) >= r.announceAfter {
		fmt.Println("pushing")
	}
	r.n += int64(n)
	return n, nil
}

// child is a running child writer.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

func startChild(t *testing.T, mode, path string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childModeEnv+"="+mode, childPathEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, lines: make(chan string, 10)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return c
}

// expect waits for the child to print want.
func (c *child) expect(t *testing.T, want string) {
	t.Helper()
	select {
	case got, ok := <-c.lines:
		if !ok || got != want {
			t.Fatalf("child printed %q (open %v), want %q", got, ok, want)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("child did not print %q in time", want)
	}
}

// kill SIGKILLs the child and reaps it.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
}

// pushVersion stores a manifest with a config and the given layers (layers
// by PushBlob, config and manifest by Push) and tags it.
func pushVersion(ctx context.Context, w *Writer, repo, tag string, layers ...[]byte) (ocispec.Descriptor, error) {
	var descs []ocispec.Descriptor
	for _, l := range layers {
		d, err := w.PushBlob(ctx, repo, "application/octet-stream", bytes.NewReader(l))
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		if d.Digest != digest.FromBytes(l) || d.Size != int64(len(l)) {
			return ocispec.Descriptor{}, fmt.Errorf("PushBlob returned %v for %d bytes", d, len(l))
		}
		descs = append(descs, d)
	}
	cfg, err := pushBytes(ctx, w, repo, "application/vnd.example.config+json", []byte(`{"tag":"`+tag+`"}`))
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	m, _ := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: cfg, Layers: descs,
	})
	md, err := pushBytes(ctx, w, repo, ocispec.MediaTypeImageManifest, m)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return md, w.Tag(ctx, repo, md, tag)
}

func pushBytes(ctx context.Context, w *Writer, repo, mediaType string, data []byte) (ocispec.Descriptor, error) {
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
	return d, w.Push(ctx, repo, d, bytes.NewReader(data))
}

// contentStore is what both Archive and Writer offer for reading.
type contentStore interface {
	Resolve(ctx context.Context, repository, tag string) (ocispec.Descriptor, error)
	Fetch(ctx context.Context, repository string, desc ocispec.Descriptor) (io.ReadCloser, error)
}

func fetchBytes(t *testing.T, s contentStore, repo string, d ocispec.Descriptor) []byte {
	t.Helper()
	rc, err := s.Fetch(context.Background(), repo, d)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if digest.FromBytes(data) != d.Digest {
		t.Fatalf("blob %s: content hashes to %s", d.Digest, digest.FromBytes(data))
	}
	return data
}

// checkVersion resolves repo:tag and checks the manifest's layers.
func checkVersion(t *testing.T, s contentStore, repo, tag string, layers ...[]byte) {
	t.Helper()
	ctx := context.Background()
	d, err := s.Resolve(ctx, repo, tag)
	if err != nil {
		t.Fatalf("resolving %s:%s: %v", repo, tag, err)
	}
	if d.MediaType != ocispec.MediaTypeImageManifest {
		t.Fatalf("%s:%s has media type %q", repo, tag, d.MediaType)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(fetchBytes(t, s, repo, d), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != len(layers) {
		t.Fatalf("%s:%s has %d layers, want %d", repo, tag, len(m.Layers), len(layers))
	}
	for i, l := range m.Layers {
		if got := fetchBytes(t, s, repo, l); !bytes.Equal(got, layers[i]) {
			t.Fatalf("%s:%s layer %d differs", repo, tag, i)
		}
	}
	if cfg := fetchBytes(t, s, repo, m.Config); string(cfg) != `{"tag":"`+tag+`"}` {
		t.Fatalf("%s:%s config %s", repo, tag, cfg)
	}
}

// archiveName is the file name of a new archive of format f.
func archiveName(f Format) string {
	switch f {
	case FormatTar:
		return "ctf.tar"
	case FormatTarGzip:
		return "ctf.tgz"
	}
	return "ctf"
}

var allFormats = []Format{FormatDirectory, FormatTar, FormatTarGzip}

// newArchive creates an archive of format f in a fresh directory holding
// version "1.0.0" with layers v1Layers and returns its path.
func newArchive(t *testing.T, f Format) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), archiveName(f))
	w, err := OpenWritable(path, WriteOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pushVersion(context.Background(), w, testRepo, "1.0.0", v1Layers...); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	return path
}

var v1Layers = [][]byte{[]byte("layer one"), patternData(300<<10, 1)}

// readArchive returns the regular files of a CTF in any form by name.
func readArchive(t *testing.T, path string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.IsDir() {
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			rel, _ := filepath.Rel(path, p)
			files[filepath.ToSlash(rel)], err = os.ReadFile(p)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	for _, e := range readTar(t, path) {
		if e.hdr.Typeflag == tar.TypeReg {
			files[e.hdr.Name] = e.data
		}
	}
	return files
}

// readTar returns every entry of a tar or tgz file.
func readTar(t *testing.T, path string) []tarEntry {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		if r, err = gzip.NewReader(r); err != nil {
			t.Fatal(err)
		}
	}
	tr := tar.NewReader(r)
	var entries []tarEntry
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return entries
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, tarEntry{hdr: *hdr, data: data})
	}
}

// checkBlobNames checks that every blob of the files hashes to its name.
func checkBlobNames(t *testing.T, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		if blob, ok := strings.CutPrefix(name, "blobs/"); ok && blob != blobFile(data) {
			t.Errorf("%s holds content %s", name, blobFile(data))
		}
	}
}

// snapshot records dir as testutil.Snapshot does, without lock files:
// the state a writer must restore.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	return testutil.Snapshot(t, dir, func(rel string) bool { return strings.HasSuffix(rel, ".lock") })
}

// withoutStaging drops staging directories from a snapshot and reports
// whether there were any.
func withoutStaging(snap map[string]string) (map[string]string, bool) {
	out := map[string]string{}
	found := false
	for k, v := range snap {
		if strings.Contains(k, stageInfix) {
			found = true
			continue
		}
		out[k] = v
	}
	return out, found
}

// stagingDir is the writer's staging directory.
func stagingDir(w *Writer) string {
	if w.format == FormatDirectory && !w.creating {
		return filepath.Join(w.abs, w.stage)
	}
	return filepath.Join(filepath.Dir(w.abs), w.stage)
}
