package ctf

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
)

const (
	appRepo = "component-descriptors/example.com/interop/app"
	libRepo = "component-descriptors/example.com/interop/lib"
)

// interopForms returns the reference archive as a directory, a tar (plain
// names, with a blobs/ directory entry) and a tgz ("./" names), keyed by the
// format each must be detected as.
func interopForms(t *testing.T) map[Format]string {
	t.Helper()
	dir := copyInterop(t)
	tmp := t.TempDir()
	tarPath := writeFile(t, filepath.Join(tmp, "ctf.tar"), tarBytes(t, dirTarEntries(t, dir, "", true)))
	tgzPath := writeFile(t, filepath.Join(tmp, "ctf.tgz"), gzipBytes(t, tarBytes(t, dirTarEntries(t, dir, "./", false))))
	return map[Format]string{FormatDirectory: dir, FormatTar: tarPath, FormatTarGzip: tgzPath}
}

func TestInteropArchive(t *testing.T) {
	ctx := context.Background()
	forms := interopForms(t)
	names := blobNames(t, forms[FormatDirectory])
	if len(names) != 21 {
		t.Fatalf("reference archive has %d blobs, want 21", len(names))
	}
	for format, path := range forms {
		t.Run(format.String(), func(t *testing.T) {
			a, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if a.Format() != format {
				t.Errorf("Format() = %v, want %v", a.Format(), format)
			}
			if a.Path() != path {
				t.Errorf("Path() = %q, want %q", a.Path(), path)
			}
			if idx := a.Index(); idx.SchemaVersion != 1 || len(idx.Artifacts) != 7 {
				t.Errorf("Index() = version %d with %d artifacts, want 1 and 7", idx.SchemaVersion, len(idx.Artifacts))
			}

			repos, err := a.Repositories(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{appRepo, libRepo}; !slices.Equal(repos, want) {
				t.Errorf("Repositories() = %q, want %q", repos, want)
			}
			tags, err := a.Tags(ctx, libRepo)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"0.3.1.build-build.7"}; !slices.Equal(tags, want) {
				t.Errorf("Tags(lib) = %q, want %q", tags, want)
			}
			tags, err = a.Tags(ctx, appRepo)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"1.2.0"}; !slices.Equal(tags, want) {
				t.Errorf("Tags(app) = %q, want %q", tags, want)
			}

			desc, err := a.Resolve(ctx, appRepo, "1.2.0")
			if err != nil {
				t.Fatal(err)
			}
			want := ocispec.Descriptor{
				MediaType: ocispec.MediaTypeImageIndex,
				Digest:    "sha256:330a4748cb4c037da0572a03ee2ef41666e18b24f32062ac60198077d0357e56",
				Size:      2395,
			}
			if desc.MediaType != want.MediaType || desc.Digest != want.Digest || desc.Size != want.Size {
				t.Errorf("Resolve(app, 1.2.0) = %+v, want %+v", desc, want)
			}
			// Untagged (older) entries are reachable by digest.
			old := digest.Digest("sha256:1b7c23bd9006e1b83f710e972e61bdf4288924552833a47014623a4213356482")
			desc, err = a.Resolve(ctx, appRepo, old.String())
			if err != nil {
				t.Fatal(err)
			}
			if desc.Digest != old || desc.Size != 482 || desc.MediaType != ocispec.MediaTypeImageManifest {
				t.Errorf("Resolve(app, %s) = %+v", old, desc)
			}

			for _, name := range names {
				alg, hexPart, _ := strings.Cut(name, ".")
				d := digest.Digest(alg + ":" + hexPart)
				rc, err := a.Fetch(ctx, appRepo, ocispec.Descriptor{Digest: d})
				if err != nil {
					t.Fatalf("Fetch(%s): %v", d, err)
				}
				data, err := io.ReadAll(rc)
				if err != nil {
					t.Fatal(err)
				}
				if err := rc.Close(); err != nil {
					t.Fatal(err)
				}
				if got := sha256Hex(data); got != hexPart {
					t.Errorf("blob %s has sha256 %s", name, got)
				}
				ok, err := a.Exists(ctx, ocispec.Descriptor{Digest: d})
				if err != nil || !ok {
					t.Errorf("Exists(%s) = %v, %v", d, ok, err)
				}
			}
			ok, err := a.Exists(ctx, ocispec.Descriptor{Digest: digest.FromString("absent")})
			if err != nil || ok {
				t.Errorf("Exists(absent) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

// TestResolveSniffsMediaType covers OCM v1 archives, whose index has no
// mediaType: it must be read from the blob.
func TestResolveSniffsMediaType(t *testing.T) {
	ctx := context.Background()
	index := []byte(`{"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}`)
	bareIndex := []byte(`{"schemaVersion":2,"manifests":[]}`)
	bareManifest := []byte(`{"schemaVersion":2,"config":{},"layers":[]}`)
	notManifest := []byte(`{"hello":"world"}`)
	blobs := [][]byte{index, bareIndex, bareManifest, notManifest}
	idx := `{"schemaVersion":1,"artifacts":[` +
		`{"repository":"r","tag":"typed","digest":"` + digestOf(index) + `"},` +
		`{"repository":"r","tag":"index","digest":"` + digestOf(bareIndex) + `"},` +
		`{"repository":"r","tag":"manifest","digest":"` + digestOf(bareManifest) + `"},` +
		`{"repository":"r","tag":"other","digest":"` + digestOf(notManifest) + `"},` +
		`{"repository":"r","tag":"declared","digest":"` + digestOf(notManifest) + `","mediaType":"x/y"}]}`
	entries := []tarEntry{file(IndexFileName, []byte(idx))}
	for _, b := range blobs {
		entries = append(entries, file("blobs/"+blobFile(b), b))
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "v1.tar"), tarBytes(t, entries))
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for tag, want := range map[string]string{
		"typed":    "application/vnd.docker.distribution.manifest.list.v2+json",
		"index":    ocispec.MediaTypeImageIndex,
		"manifest": ocispec.MediaTypeImageManifest,
		"declared": "x/y",
	} {
		desc, err := a.Resolve(ctx, "r", tag)
		if err != nil {
			t.Errorf("Resolve(%s): %v", tag, err)
			continue
		}
		if desc.MediaType != want {
			t.Errorf("Resolve(%s).MediaType = %q, want %q", tag, desc.MediaType, want)
		}
	}
	_, err = a.Resolve(ctx, "r", "other")
	if err == nil || !strings.Contains(err.Error(), "cannot determine the media type of blob "+digestOf(notManifest)) {
		t.Errorf("Resolve(other) error = %v", err)
	}
}

// TestIndexSemantics covers retagging (last entry wins), untagged entries,
// an empty index and ./-prefixed tar names.
func TestIndexSemantics(t *testing.T) {
	ctx := context.Background()
	b1, b2 := []byte(`{"manifests":[]}`), []byte(`{"layers":[]}`)
	idx := `{"schemaVersion":1,"artifacts":[` +
		`{"repository":"a","tag":"v1","digest":"` + digestOf(b1) + `"},` +
		`{"repository":"a","tag":"v1","digest":"` + digestOf(b2) + `"},` +
		`{"repository":"a","tag":"v0","digest":"` + digestOf(b1) + `"},` +
		`{"repository":"b","digest":"` + digestOf(b1) + `"}]}`
	path := writeFile(t, filepath.Join(t.TempDir(), "x.tar"), tarBytes(t, []tarEntry{
		dirEntry("./"), file("./"+IndexFileName, []byte(idx)), dirEntry("./blobs/"),
		file("./blobs/"+blobFile(b1), b1), file("./blobs/"+blobFile(b2), b2),
		file("README", []byte("ignored")), file("blobs/sub/ignored", []byte("x")),
	}))
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if tags, err := a.Tags(ctx, "a"); err != nil || !slices.Equal(tags, []string{"v0", "v1"}) {
		t.Errorf("Tags(a) = %q, %v", tags, err)
	}
	if tags, err := a.Tags(ctx, "b"); err != nil || len(tags) != 0 {
		t.Errorf("Tags(b) = %q, %v; want none", tags, err)
	}
	desc, err := a.Resolve(ctx, "a", "v1")
	if err != nil || desc.Digest.String() != digestOf(b2) || desc.MediaType != ocispec.MediaTypeImageManifest {
		t.Errorf("Resolve(a, v1) = %+v, %v; want the last entry %s", desc, err, digestOf(b2))
	}
	if _, ok := a.entries["README"]; ok {
		t.Error("README is served")
	}

	empty := writeFile(t, filepath.Join(t.TempDir(), "empty.tar"), tarBytes(t, []tarEntry{
		file(IndexFileName, []byte(`{"schemaVersion":1,"artifacts":null}`)),
	}))
	e, err := Open(empty)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if repos, err := e.Repositories(ctx); err != nil || len(repos) != 0 {
		t.Errorf("Repositories() of empty index = %q, %v", repos, err)
	}
}

// TestFormatSniffing checks that content, not the extension, decides.
func TestFormatSniffing(t *testing.T) {
	dir := copyInterop(t)
	tmp := t.TempDir()
	tarData := tarBytes(t, dirTarEntries(t, dir, "", false))
	for name, tc := range map[string]struct {
		data []byte
		want Format
	}{
		"really-tar.tgz":    {tarData, FormatTar},
		"really-tgz.tar":    {gzipBytes(t, tarData), FormatTarGzip},
		"noext":             {gzipBytes(t, tarData), FormatTarGzip},
		"really-tar.tar.gz": {tarData, FormatTar},
	} {
		a, err := Open(writeFile(t, filepath.Join(tmp, name), tc.data))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if a.Format() != tc.want {
			t.Errorf("%s: Format() = %v, want %v", name, a.Format(), tc.want)
		}
		a.Close()
	}
	// Zero padding after the gzip stream is tolerated.
	padded := append(gzipBytes(t, tarData), make([]byte, 10240)...)
	a, err := Open(writeFile(t, filepath.Join(tmp, "padded.tgz"), padded))
	if err != nil {
		t.Errorf("padded tgz: %v", err)
	} else {
		a.Close()
	}
	if s := Format(7).String(); s != "Format(7)" {
		t.Errorf("Format(7).String() = %q", s)
	}
}

// TestTarReadInPlace proves that a .tar is served from the archive file
// itself: the reader is a section of the archive file and no temporary file
// is created.
func TestTarReadInPlace(t *testing.T) {
	tmpdir := t.TempDir()
	t.Setenv("TMPDIR", tmpdir)
	big := bytes.Repeat([]byte("0123456789abcdef"), 20<<20/16)
	idx := indexJSON("r", "v", digestOf(big), ocispec.MediaTypeImageLayer)
	path := writeFile(t, filepath.Join(t.TempDir(), "big.tar"), tarBytes(t, []tarEntry{
		file(IndexFileName, idx), file("blobs/"+blobFile(big), big),
	}))
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rc, err := a.Fetch(context.Background(), "r", ocispec.Descriptor{Digest: digest.Digest(digestOf(big)), Size: int64(len(big))})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	src, ok := rc.(sectionReadCloser)
	if !ok {
		t.Fatalf("Fetch returned %T, want a section of the tar file", rc)
	}
	outer, off, n := src.Outer()
	if outer != io.ReaderAt(a.file) || a.file.Name() != path {
		t.Errorf("section is over %T, want the archive file %s", outer, path)
	}
	if off <= 512 || n != int64(len(big)) {
		t.Errorf("section = [%d, +%d), want data after the headers of size %d", off, n, len(big))
	}
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if sha256Hex(data) != sha256Hex(big) {
		t.Error("fetched data differs")
	}
	if c := dirCount(t, tmpdir); c != 0 {
		t.Errorf("%d temporary files created for a tar archive", c)
	}
}

// TestTgzSpool checks the tgz form: small entries in memory, large ones in a
// single spool file that Close removes; and the spool is removed when Open
// fails.
func TestTgzSpool(t *testing.T) {
	ctx := context.Background()
	tmpdir := t.TempDir()
	t.Setenv("TMPDIR", tmpdir)
	// Compressible data keeps the test fast; the sizes are what matters.
	big1, big2, small := bytes.Repeat([]byte("1"), 5<<20), bytes.Repeat([]byte("2"), 6<<20), []byte(`{"layers":[]}`)
	idx := `{"schemaVersion":1,"artifacts":[{"repository":"r","tag":"v","digest":"` + digestOf(small) + `"}]}`
	entries := []tarEntry{
		file(IndexFileName, []byte(idx)),
		file("blobs/"+blobFile(big1), big1),
		file("blobs/"+blobFile(small), small),
		file("blobs/"+blobFile(big2), big2),
	}
	rawTar := tarBytes(t, entries)
	path := writeFile(t, filepath.Join(t.TempDir(), "big.tgz"), gzipBytes(t, rawTar))
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if c := dirCount(t, tmpdir); c != 1 {
		t.Fatalf("%d files in TMPDIR after Open, want exactly one spool file", c)
	}
	for _, b := range [][]byte{big1, big2, small} {
		rc, err := a.Fetch(ctx, "r", ocispec.Descriptor{Digest: digest.Digest(digestOf(b)), Size: int64(len(b))})
		if err != nil {
			t.Fatal(err)
		}
		outer, _, _ := rc.(sectionReadCloser).Outer()
		onSpool := outer == io.ReaderAt(a.spool)
		if wantSpool := len(b) > 4<<20; onSpool != wantSpool {
			t.Errorf("blob of %d bytes: served from spool = %v, want %v", len(b), onSpool, wantSpool)
		}
		data, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		if sha256Hex(data) != sha256Hex(b) {
			t.Errorf("blob of %d bytes: fetched data differs", len(b))
		}
	}
	spool := a.spool.Name()
	if filepath.Dir(spool) != tmpdir {
		t.Errorf("spool file %s is not in TMPDIR %s", spool, tmpdir)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(spool); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spool file %s still exists after Close: %v", spool, err)
	}
	if c := dirCount(t, tmpdir); c != 0 {
		t.Errorf("%d files left in TMPDIR after Close", c)
	}
	if _, err := a.Fetch(ctx, "r", ocispec.Descriptor{Digest: digest.Digest(digestOf(small))}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Fetch after Close: %v, want os.ErrClosed", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// Cut the stream after the large blob has been spooled: Open fails and
	// leaves nothing behind.
	cut := writeFile(t, filepath.Join(t.TempDir(), "cut.tgz"), gzipBytes(t, rawTar[:len(rawTar)-len(big2)/2]))
	if _, err := Open(cut); err == nil || !strings.Contains(err.Error(), "truncated tar") {
		t.Errorf("Open(cut tgz) error = %v, want truncated tar", err)
	}
	if c := dirCount(t, tmpdir); c != 0 {
		t.Errorf("%d files left in TMPDIR after a failed Open", c)
	}
}

// TestTgzMemoryCap checks that small entries go to the spool file once the
// in-memory budget is used up.
func TestTgzMemoryCap(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	oldTotal := maxMemTotal
	maxMemTotal = 1000
	defer func() { maxMemTotal = oldTotal }()
	b1, b2 := patternData(600, 1), patternData(600, 2)
	idx := indexJSON("r", "v", digestOf(b1), "x/y")
	path := writeFile(t, filepath.Join(t.TempDir(), "cap.tgz"), gzipBytes(t, tarBytes(t, []tarEntry{
		file(IndexFileName, idx), file("blobs/"+blobFile(b1), b1), file("blobs/"+blobFile(b2), b2),
	})))
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.spool == nil {
		t.Fatal("no spool file although the memory cap was exceeded")
	}
	if e := a.entries["blobs/"+blobFile(b1)]; e.ra == io.ReaderAt(a.spool) {
		t.Error("first blob spooled although it fits in memory")
	}
	if e := a.entries["blobs/"+blobFile(b2)]; e.ra != io.ReaderAt(a.spool) {
		t.Error("second blob kept in memory beyond the cap")
	}
}

// TestConcurrentFetch runs parallel fetches on all forms (meant for -race).
func TestConcurrentFetch(t *testing.T) {
	ctx := context.Background()
	forms := interopForms(t)
	names := blobNames(t, forms[FormatDirectory])
	for format, path := range forms {
		a, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for _, name := range names {
					alg, hexPart, _ := strings.Cut(name, ".")
					rc, err := a.Fetch(ctx, "", ocispec.Descriptor{Digest: digest.Digest(alg + ":" + hexPart)})
					if err != nil {
						t.Error(err)
						return
					}
					data, err := io.ReadAll(rc)
					rc.Close()
					if err != nil || sha256Hex(data) != hexPart {
						t.Errorf("%v: blob %s: %v", format, name, err)
					}
				}
			})
		}
		wg.Wait()
		a.Close()
	}
}

// TestNotFound checks the errdef.ErrNotFound contract of ocimap.Store.
func TestNotFound(t *testing.T) {
	ctx := context.Background()
	a, err := Open(copyInterop(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for name, err := range map[string]error{
		"tags":    second(a.Tags(ctx, "nope")),
		"resolve": second(a.Resolve(ctx, "nope", "1.0")),
		"tag":     second(a.Resolve(ctx, appRepo, "9.9.9")),
		"fetch":   second(a.Fetch(ctx, appRepo, ocispec.Descriptor{Digest: digest.FromString("x")})),
	} {
		if !errors.Is(err, errdef.ErrNotFound) {
			t.Errorf("%s: error %v does not wrap ErrNotFound", name, err)
		} else if !strings.Contains(err.Error(), a.Path()) {
			t.Errorf("%s: error %q does not name the archive", name, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := a.Repositories(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Repositories with a cancelled context: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }
