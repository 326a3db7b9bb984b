package ctf

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"

	"github.com/ocmgo/ocm/internal/testutil"
)

func TestWriterRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, format := range allFormats {
		t.Run(format.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), archiveName(format))
			w, err := OpenWritable(path, WriteOptions{Create: true})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			if w.Format() != format {
				t.Fatalf("Format() = %v", w.Format())
			}
			if _, err := pushVersion(ctx, w, testRepo, "1.0.0", v1Layers...); err != nil {
				t.Fatal(err)
			}
			// The writer sees what it holds; the path does not exist yet.
			checkVersion(t, w, testRepo, "1.0.0", v1Layers...)
			if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("archive visible before Commit: %v", err)
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := w.Abort(); err != nil {
				t.Fatalf("Abort after Commit: %v", err)
			}
			if err := w.Commit(); !errors.Is(err, os.ErrClosed) {
				t.Fatalf("second Commit: %v", err)
			}
			if _, err := w.PushBlob(ctx, testRepo, "x", strings.NewReader("x")); !errors.Is(err, os.ErrClosed) {
				t.Fatalf("PushBlob after Commit: %v", err)
			}

			a, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if a.Format() != format {
				t.Errorf("reopened as %v", a.Format())
			}
			checkVersion(t, a, testRepo, "1.0.0", v1Layers...)
			a.Close()
			before := readArchive(t, path)
			checkBlobNames(t, before)

			// Update: a second version sharing one layer, plus a new one.
			v2 := [][]byte{v1Layers[0], patternData(2<<20, 2)}
			w, err = OpenWritable(path, WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			checkVersion(t, w, testRepo, "1.0.0", v1Layers...)
			if _, err := pushVersion(ctx, w, testRepo, "2.0.0", v2...); err != nil {
				t.Fatal(err)
			}
			if _, err := pushVersion(ctx, w, "other/repo", "latest", []byte("other")); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			a, err = Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			checkVersion(t, a, testRepo, "1.0.0", v1Layers...)
			checkVersion(t, a, testRepo, "2.0.0", v2...)
			checkVersion(t, a, "other/repo", "latest", []byte("other"))
			repos, _ := a.Repositories(ctx)
			if want := []string{testRepo, "other/repo"}; !slices.Equal(repos, want) {
				t.Errorf("Repositories() = %q, want %q", repos, want)
			}
			tags, _ := a.Tags(ctx, testRepo)
			if want := []string{"1.0.0", "2.0.0"}; !slices.Equal(tags, want) {
				t.Errorf("Tags() = %q, want %q", tags, want)
			}
			after := readArchive(t, path)
			checkBlobNames(t, after)
			for name, data := range before {
				if name != IndexFileName && !bytes.Equal(after[name], data) {
					t.Errorf("%s changed or vanished", name)
				}
			}
			// The index is compact JSON, as json.Marshal writes it.
			idx, err := ParseIndex(after[IndexFileName])
			if err != nil {
				t.Fatal(err)
			}
			if compact, _ := json.Marshal(idx); !bytes.Equal(compact, after[IndexFileName]) {
				t.Errorf("index not compact: %s", after[IndexFileName])
			}
			if n := len(idx.Artifacts); n != 3 {
				t.Errorf("index has %d entries, want 3: %s", n, after[IndexFileName])
			}
			// Nothing left beside the archive but the lock file.
			des, _ := os.ReadDir(filepath.Dir(path))
			for _, de := range des {
				if de.Name() != filepath.Base(path) && de.Name() != filepath.Base(path)+".lock" {
					t.Errorf("left behind: %s", de.Name())
				}
			}
			if format == FormatDirectory && dirCount(t, path) != 2 {
				t.Errorf("directory archive holds %d entries, want artifact-index.json and blobs", dirCount(t, path))
			}
		})
	}
}

func TestWriterTarLayout(t *testing.T) {
	for _, format := range []Format{FormatTar, FormatTarGzip} {
		t.Run(format.String(), func(t *testing.T) {
			path := newArchive(t, format)
			entries := readTar(t, path)
			var names []string
			for _, e := range entries {
				h := e.hdr
				names = append(names, h.Name)
				wantMode := int64(0o644)
				if h.Typeflag == tar.TypeDir {
					wantMode = 0o755
				}
				if !h.ModTime.Equal(time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)) || h.Uid != 0 || h.Gid != 0 ||
					h.Uname != "" || h.Gname != "" || h.Mode != wantMode || h.Format != tar.FormatUSTAR {
					t.Errorf("entry %s: mtime %v uid %d gid %d user %q group %q mode %o format %v",
						h.Name, h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname, h.Mode, h.Format)
				}
			}
			if len(names) < 3 || names[0] != IndexFileName || names[1] != "blobs/" || !slices.IsSorted(names[2:]) {
				t.Errorf("entry order %q: want the index, blobs/, then sorted blobs", names)
			}
			if format == FormatTarGzip {
				f, _ := os.Open(path)
				defer f.Close()
				zr, err := gzip.NewReader(f)
				if err != nil {
					t.Fatal(err)
				}
				if zr.Name != "" || !zr.ModTime.IsZero() || zr.Comment != "" || zr.Extra != nil {
					t.Errorf("gzip header %+v", zr.Header)
				}
			}

			t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
			w, err := OpenWritable(path, WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pushVersion(context.Background(), w, testRepo, "2.0.0", []byte("x")); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			for _, e := range readTar(t, path) {
				if e.hdr.ModTime.Unix() != 1700000000 {
					t.Errorf("%s: mtime %v with SOURCE_DATE_EPOCH", e.hdr.Name, e.hdr.ModTime)
				}
			}
			t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
			if _, err := OpenWritable(path, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
				t.Errorf("invalid SOURCE_DATE_EPOCH: %v", err)
			}
		})
	}
}

func TestWriterKeepsFileMode(t *testing.T) {
	path := newArchive(t, FormatTar)
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	w, err := OpenWritable(path, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pushVersion(context.Background(), w, testRepo, "2.0.0", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode after commit %v, want 0640", fi.Mode())
	}
}

func TestWriterReproducible(t *testing.T) {
	ctx := context.Background()
	for _, format := range []Format{FormatTar, FormatTarGzip} {
		t.Run(format.String(), func(t *testing.T) {
			build := func(commits ...[]string) []byte {
				path := filepath.Join(t.TempDir(), archiveName(format))
				for _, tags := range commits {
					w, err := OpenWritable(path, WriteOptions{Create: true})
					if err != nil {
						t.Fatal(err)
					}
					for _, tag := range tags {
						if _, err := pushVersion(ctx, w, testRepo, tag, []byte("layer "+tag), v1Layers[1]); err != nil {
							t.Fatal(err)
						}
					}
					if err := w.Commit(); err != nil {
						t.Fatal(err)
					}
				}
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				return data
			}
			a := build([]string{"1.0.0", "2.0.0"})
			if b := build([]string{"1.0.0", "2.0.0"}); !bytes.Equal(a, b) {
				t.Error("the same pushes gave different archives")
			}
			// Blobs are sorted, so how content arrived does not matter.
			if c := build([]string{"1.0.0"}, []string{"2.0.0"}); !bytes.Equal(a, c) {
				t.Error("one commit and two commits of the same content gave different archives")
			}
		})
	}
}

func TestWriterAbortLeavesArchive(t *testing.T) {
	ctx := context.Background()
	cases := map[string]func(t *testing.T, w *Writer){
		"abort": func(t *testing.T, w *Writer) {
			if _, err := pushVersion(ctx, w, testRepo, "2.0.0", patternData(3<<20, 3)); err != nil {
				t.Fatal(err)
			}
			if _, err := pushVersion(ctx, w, testRepo, "1.0.0", []byte("retag")); err != nil {
				t.Fatal(err)
			}
		},
		"reader error": func(t *testing.T, w *Writer) {
			r := io.MultiReader(bytes.NewReader(patternData(3<<20, 4)), iotestErrReader{})
			if _, err := w.PushBlob(ctx, testRepo, "x", r); !errors.Is(err, errBoom) {
				t.Fatalf("PushBlob: %v", err)
			}
			checkStagingEmpty(t, w)
		},
		"cancel": func(t *testing.T, w *Writer) {
			cctx, cancel := context.WithCancel(ctx)
			r := &cancelAfter{r: bytes.NewReader(patternData(8<<20, 5)), n: 2 << 20, cancel: cancel}
			if _, err := w.PushBlob(cctx, testRepo, "x", r); !errors.Is(err, context.Canceled) {
				t.Fatalf("PushBlob: %v", err)
			}
			checkStagingEmpty(t, w)
			if _, err := w.PushBlob(cctx, testRepo, "x", strings.NewReader("x")); !errors.Is(err, context.Canceled) {
				t.Fatalf("PushBlob with a cancelled context: %v", err)
			}
		},
	}
	for _, format := range allFormats {
		for name, act := range cases {
			t.Run(format.String()+"/"+name, func(t *testing.T) {
				path := newArchive(t, format)
				parent := filepath.Dir(path)
				before := snapshot(t, parent)
				w, err := OpenWritable(path, WriteOptions{})
				if err != nil {
					t.Fatal(err)
				}
				act(t, w)
				if err := w.Abort(); err != nil {
					t.Fatal(err)
				}
				if d := testutil.DiffSnapshots(before, snapshot(t, parent)); d != "" {
					t.Errorf("after Abort: %s", d)
				}
				a, err := Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer a.Close()
				checkVersion(t, a, testRepo, "1.0.0", v1Layers...)
			})
		}
	}
}

// A new archive that is aborted never appears.
func TestWriterAbortNew(t *testing.T) {
	for _, format := range allFormats {
		dir := t.TempDir()
		w, err := OpenWritable(filepath.Join(dir, archiveName(format)), WriteOptions{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pushVersion(context.Background(), w, testRepo, "1.0.0", v1Layers...); err != nil {
			t.Fatal(err)
		}
		w.Abort()
		if snap := snapshot(t, dir); len(snap) != 0 {
			t.Errorf("%v: left %v", format, slices.Collect(maps.Keys(snap)))
		}
	}
}

var errBoom = errors.New("boom")

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errBoom }

// cancelAfter cancels its context once n bytes have been read.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= int64(n); c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func checkStagingEmpty(t *testing.T, w *Writer) {
	t.Helper()
	if n := dirCount(t, stagingDir(w)); n != 0 {
		t.Errorf("staging directory holds %d files after a failed push", n)
	}
}

func TestWriterPushVerification(t *testing.T) {
	ctx := context.Background()
	w, err := OpenWritable(filepath.Join(t.TempDir(), "ctf"), WriteOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	data := []byte("some content")
	good := ocispec.Descriptor{MediaType: "x", Digest: digest.FromBytes(data), Size: int64(len(data))}
	for name, tc := range map[string]struct {
		desc ocispec.Descriptor
		want error
	}{
		"wrong digest": {ocispec.Descriptor{Digest: digest.FromString("other"), Size: good.Size}, content.ErrMismatchedDigest},
		"too short":    {ocispec.Descriptor{Digest: good.Digest, Size: good.Size + 1}, io.ErrUnexpectedEOF},
		"too long":     {ocispec.Descriptor{Digest: good.Digest, Size: good.Size - 1}, content.ErrTrailingData},
		"negative":     {ocispec.Descriptor{Digest: good.Digest, Size: -1}, content.ErrInvalidDescriptorSize},
		"bad digest":   {ocispec.Descriptor{Digest: "sha256:xyz", Size: good.Size}, errdef.ErrInvalidDigest},
	} {
		err := w.Push(ctx, testRepo, tc.desc, bytes.NewReader(data))
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), string(tc.desc.Digest)) {
			t.Errorf("%s: %v, want %v naming %s", name, err, tc.want, tc.desc.Digest)
		}
		if ok, _ := w.Exists(ctx, testRepo, tc.desc); ok && tc.desc.Digest != good.Digest {
			t.Errorf("%s: content kept", name)
		}
		checkStagingEmpty(t, w)
	}
	if ok, _ := w.Exists(ctx, testRepo, good); ok {
		t.Fatal("failed pushes left the content behind")
	}
	if err := w.Push(ctx, testRepo, good, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	// Known content is neither read nor staged again, by either push.
	if err := w.Push(ctx, testRepo, good, iotestErrReader{}); err != nil {
		t.Fatalf("Push of existing content read the reader: %v", err)
	}
	d, err := w.PushBlob(ctx, testRepo, "x", bytes.NewReader(data))
	if err != nil || d.Digest != good.Digest {
		t.Fatalf("PushBlob of existing content: %v %v", d, err)
	}
	if n := dirCount(t, stagingDir(w)); n != 1 {
		t.Errorf("staging holds %d files, want 1", n)
	}
	if _, err := w.Fetch(ctx, testRepo, ocispec.Descriptor{Digest: good.Digest, Size: 3}); err == nil {
		t.Error("Fetch with a wrong size succeeded")
	}
	if got := fetchBytes(t, w, testRepo, good); !bytes.Equal(got, data) {
		t.Errorf("Fetch = %q", got)
	}
}

func TestWriterTag(t *testing.T) {
	ctx := context.Background()
	path := newArchive(t, FormatDirectory)
	w, err := OpenWritable(path, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	old, err := w.Resolve(ctx, testRepo, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	missing := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("nope"), Size: 4}
	if err := w.Tag(ctx, testRepo, missing, "x"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("Tag of a missing blob: %v", err)
	}
	for _, bad := range []string{"", "a:b", "-x", strings.Repeat("a", 129)} {
		if err := w.Tag(ctx, testRepo, old, bad); err == nil {
			t.Errorf("Tag %q accepted", bad)
		}
	}
	// A manifest pushed but not tagged is reachable by digest.
	m, err := pushBytes(ctx, w, testRepo, ocispec.MediaTypeImageManifest, []byte(`{"schemaVersion":2,"layers":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := w.Resolve(ctx, testRepo, m.Digest.String()); err != nil || d.Digest != m.Digest {
		t.Fatalf("resolving untagged manifest: %v %v", d, err)
	}
	// Retag 1.0.0 onto it: the old manifest stays as an untagged entry.
	for range 2 {
		if err := w.Tag(ctx, testRepo, m, "1.0.0"); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Tag(ctx, testRepo, m, "latest"); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	want := []ArtifactEntry{
		{Repository: testRepo, Digest: old.Digest.String(), MediaType: ocispec.MediaTypeImageManifest},
		{Repository: testRepo, Tag: "1.0.0", Digest: m.Digest.String(), MediaType: ocispec.MediaTypeImageManifest},
		{Repository: testRepo, Tag: "latest", Digest: m.Digest.String(), MediaType: ocispec.MediaTypeImageManifest},
	}
	if got := a.Index().Artifacts; !slices.Equal(got, want) {
		t.Errorf("index\n got %+v\nwant %+v", got, want)
	}
	if d, err := a.Resolve(ctx, testRepo, old.Digest.String()); err != nil || d.Digest != old.Digest {
		t.Errorf("old manifest by digest: %v %v", d, err)
	}
	if d, _ := a.Resolve(ctx, testRepo, "1.0.0"); d.Digest != m.Digest {
		t.Errorf("1.0.0 -> %s", d.Digest)
	}
}

func TestSetTag(t *testing.T) {
	e := func(repo, tag, dg string) ArtifactEntry { return ArtifactEntry{Repository: repo, Tag: tag, Digest: dg} }
	for _, tc := range []struct {
		name      string
		in        []ArtifactEntry
		tag       ArtifactEntry
		want      []ArtifactEntry
		unchanged bool
	}{
		{"new", nil, e("r", "t", "a"), []ArtifactEntry{e("r", "t", "a")}, false},
		{"untagged takes the tag", []ArtifactEntry{e("r", "", "a"), e("s", "", "a")}, e("r", "t", "a"),
			[]ArtifactEntry{e("r", "t", "a"), e("s", "", "a")}, false},
		{"retag", []ArtifactEntry{e("r", "t", "a")}, e("r", "t", "b"),
			[]ArtifactEntry{e("r", "", "a"), e("r", "t", "b")}, false},
		{"retag drops redundant untagged", []ArtifactEntry{e("r", "t", "a"), e("r", "u", "a")}, e("r", "t", "b"),
			[]ArtifactEntry{e("r", "u", "a"), e("r", "t", "b")}, false},
		{"same", []ArtifactEntry{e("r", "t", "a")}, e("r", "t", "a"), []ArtifactEntry{e("r", "t", "a")}, true},
		{"duplicates collapse", []ArtifactEntry{e("r", "t", "a"), e("r", "t", "a"), e("r", "", "a")}, e("r", "t", "a"),
			[]ArtifactEntry{e("r", "t", "a")}, false},
	} {
		in := slices.Clone(tc.in)
		if got := setTag(tc.in, tc.tag); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("%s: input modified", tc.name)
		}
	}
}

func TestOpenWritableErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.tar")
	if _, err := OpenWritable(missing, WriteOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing archive without Create: %v", err)
	}
	if _, err := os.Stat(missing + ".lock"); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a failed open created a lock file")
	}
	if _, err := OpenWritable(missing, WriteOptions{Create: true, LockTimeout: -1}); err == nil {
		t.Error("negative lock timeout accepted")
	}
	bad := writeFile(t, filepath.Join(dir, "bad.tar"), []byte("not a tar"))
	if _, err := OpenWritable(bad, WriteOptions{Create: true}); err == nil {
		t.Error("corrupt archive opened")
	}
	// The failed opens released the lock.
	w, err := OpenWritable(bad, WriteOptions{Create: true, LockTimeout: time.Millisecond})
	if err == nil || errors.As(err, new(*LockedError)) {
		t.Errorf("reopening: %v", err)
	}
	if w != nil {
		t.Error("writer returned with an error")
	}

	// Create on an existing empty directory, and parents are created.
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	for _, p := range []string{empty, filepath.Join(dir, "a", "b", "c.tgz")} {
		w, err := OpenWritable(p, WriteOptions{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		a, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if idx := a.Index(); idx.SchemaVersion != 1 || len(idx.Artifacts) != 0 {
			t.Errorf("%s: empty archive index %+v", p, idx)
		}
		a.Close()
	}
}

func TestWriterSymlink(t *testing.T) {
	path := newArchive(t, FormatTarGzip)
	link := filepath.Join(t.TempDir(), "link.tgz")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	w, err := OpenWritable(link, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pushVersion(context.Background(), w, testRepo, "2.0.0", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced: %v", err)
	}
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	checkVersion(t, a, testRepo, "2.0.0", []byte("x"))
}

func TestWriterConcurrentPushes(t *testing.T) {
	ctx := context.Background()
	path := newArchive(t, FormatTar)
	w, err := OpenWritable(path, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 8 {
		wg.Go(func() {
			// Pairs of goroutines push the same content.
			if _, err := pushVersion(ctx, w, testRepo, fmt.Sprintf("%d.0.0", i+2), patternData(1<<20, byte(i/2))); err != nil {
				errs <- err
			}
			if _, err := w.Tags(ctx, testRepo); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for i := range 8 {
		checkVersion(t, a, testRepo, fmt.Sprintf("%d.0.0", i+2), patternData(1<<20, byte(i/2)))
	}
	checkBlobNames(t, readArchive(t, path))
}

// Stale staging directories are removed, nothing else that looks similar.
func TestWriterRemovesStaleStaging(t *testing.T) {
	for _, format := range allFormats {
		path := newArchive(t, format)
		parent := filepath.Dir(path)
		stale := []string{filepath.Join(parent, "."+filepath.Base(path)+stageInfix+"0123456789abcdef")}
		keep := []string{
			filepath.Join(parent, "."+filepath.Base(path)+stageInfix+"mine"),
			filepath.Join(parent, ".other"+stageInfix+"0123456789abcdef"),
		}
		if format == FormatDirectory {
			stale = append(stale, filepath.Join(path, dirStagePrefix+"fedcba9876543210"))
		}
		for _, d := range append(slices.Clone(stale), keep...) {
			os.MkdirAll(filepath.Join(d, "sub"), 0o755)
			writeFile(t, filepath.Join(d, "sub", "f"), []byte("x"))
		}
		w, err := OpenWritable(path, WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.Abort()
		for _, d := range stale {
			if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%v: stale %s not removed", format, d)
			}
		}
		for _, d := range keep {
			if _, err := os.Stat(d); err != nil {
				t.Errorf("%v: %s removed", format, d)
			}
		}
	}
}

// verifiedStream is a blob.VerifiedStream as a transfer hands it to Push:
// it hashes what it yields and fails the read at the end on a mismatch.
// lie makes it report io.EOF whatever it read, to show whether Push hashes.
type verifiedStream struct {
	r    io.Reader
	want digest.Digest
	size int64
	lie  bool
	d    digest.Digester
}

func (s *verifiedStream) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.d.Hash().Write(p[:n])
	if err == io.EOF && !s.lie && s.d.Digest() != s.want {
		return n, content.ErrMismatchedDigest
	}
	return n, err
}

func (s *verifiedStream) Verifies() (digest.Digest, int64) { return s.want, s.size }

// Push trusts a stream that verifies itself against exactly the descriptor
// (each byte is hashed once), and hashes any other stream itself; a
// verified stream that fails at the end leaves nothing staged.
func TestWriterPushVerifiedStream(t *testing.T) {
	ctx := context.Background()
	w, err := OpenWritable(filepath.Join(t.TempDir(), "ctf"), WriteOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	data := []byte("verified content")
	tampered := []byte("tampered content")
	desc := ocispec.Descriptor{MediaType: "x", Digest: digest.FromBytes(data), Size: int64(len(data))}
	stream := func(b []byte, want digest.Digest, lie bool) io.Reader {
		return &verifiedStream{r: bytes.NewReader(b), want: want, size: int64(len(b)), lie: lie, d: digest.Canonical.Digester()}
	}

	// The stream detects the tampering: the push fails, nothing is staged.
	if err := w.Push(ctx, testRepo, desc, stream(tampered, desc.Digest, false)); !errors.Is(err, content.ErrMismatchedDigest) {
		t.Fatalf("tampered verified stream: %v", err)
	}
	checkStagingEmpty(t, w)
	// A stream verifying another digest is no guarantee: Push hashes.
	if err := w.Push(ctx, testRepo, desc, stream(tampered, digest.FromBytes(tampered), true)); !errors.Is(err, content.ErrMismatchedDigest) {
		t.Fatalf("stream verifying another digest: %v", err)
	}
	checkStagingEmpty(t, w)
	// A stream verifying desc is not hashed again: a lying one gets its
	// bytes staged, which is what shows that Push skipped its own hash.
	lying := ocispec.Descriptor{MediaType: "x", Digest: digest.FromString("claimed"), Size: int64(len(tampered))}
	if err := w.Push(ctx, testRepo, lying, stream(tampered, lying.Digest, true)); err != nil {
		t.Fatalf("verified stream: %v", err)
	}
	if ok, err := w.Exists(ctx, testRepo, lying); !ok || err != nil {
		t.Fatalf("the verified stream was not staged: %v %v", ok, err)
	}
	if err := w.Push(ctx, testRepo, desc, stream(data, desc.Digest, false)); err != nil {
		t.Fatal(err)
	}
	if got := fetchBytes(t, w, testRepo, desc); !bytes.Equal(got, data) {
		t.Fatalf("Fetch = %q", got)
	}
}
