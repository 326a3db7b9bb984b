package download

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/ocmgo/ocm/archive"
)

// treeArchive is a tar with what dir inputs hold: nested directories,
// an executable, a symlink and a hard link.
func treeArchive(t testing.TB) []byte {
	return tarStream(t,
		entry{hdr: tar.Header{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o755}},
		entry{hdr: tar.Header{Name: "dir/a.txt"}, data: "alpha"},
		entry{hdr: tar.Header{Name: "dir/sub/b.txt"}, data: "beta"},
		entry{hdr: tar.Header{Name: "bin/run", Mode: 0o755}, data: "#!/bin/sh\necho hi\n"},
		entry{hdr: tar.Header{Name: "dir/link", Typeflag: tar.TypeSymlink, Linkname: "a.txt"}},
		entry{hdr: tar.Header{Name: "hard", Typeflag: tar.TypeLink, Linkname: "dir/a.txt"}},
	)
}

func writeArchive(t *testing.T, data []byte, gz bool) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tree.tar")
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(data)
		zw.Close()
		data = buf.Bytes()
		p += ".gz"
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// extracted unpacks data as a download does.
func extracted(t *testing.T, data []byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tree")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ExtractTar(context.Background(), bytes.NewReader(data), dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func diffKeys(ds []Difference) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Path+" "+string(d.Kind))
	}
	return out
}

func TestVerifyTreeFromArchive(t *testing.T) {
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	outside := t.TempDir()
	for _, tc := range []struct {
		name   string
		mutate func(dir string)
		want   []string
	}{
		{name: "as extracted"},
		{name: "one byte changed", mutate: func(d string) { must(os.WriteFile(filepath.Join(d, "dir/sub/b.txt"), []byte("betA"), 0o644)) }, want: []string{"dir/sub/b.txt content"}},
		{name: "hard link target changed", mutate: func(d string) {
			// A hard link shares its inode: both names change.
			must(os.WriteFile(filepath.Join(d, "hard"), []byte("alphA"), 0o644))
		}, want: []string{"dir/a.txt content", "hard content"}},
		{name: "execute bit added", mutate: func(d string) { must(os.Chmod(filepath.Join(d, "dir/sub/b.txt"), 0o755)) }, want: []string{"dir/sub/b.txt mode"}},
		{name: "execute bit added to a hard link", mutate: func(d string) { must(os.Chmod(filepath.Join(d, "hard"), 0o744)) }, want: []string{"dir/a.txt mode", "hard mode"}},
		{name: "execute bit removed", mutate: func(d string) { must(os.Chmod(filepath.Join(d, "bin/run"), 0o644)) }, want: []string{"bin/run mode"}},
		{name: "group write added", mutate: func(d string) { must(os.Chmod(filepath.Join(d, "dir/sub/b.txt"), 0o664)) }, want: []string{"dir/sub/b.txt mode"}},
		{name: "setuid added", mutate: func(d string) { must(os.Chmod(filepath.Join(d, "bin/run"), 0o755|os.ModeSetuid)) }, want: []string{"bin/run mode"}},
		{name: "world-writable directory", mutate: func(d string) { must(os.Chmod(filepath.Join(d, "dir/sub"), 0o777)) }, want: []string{"dir/sub mode"}},
		{name: "narrower umask passes", mutate: func(d string) {
			must(os.Chmod(filepath.Join(d, "dir/a.txt"), 0o600))
			must(os.Chmod(filepath.Join(d, "dir/sub"), 0o700))
		}},
		{name: "file added", mutate: func(d string) { must(os.WriteFile(filepath.Join(d, "dir/new.txt"), nil, 0o644)) }, want: []string{"dir/new.txt extra"}},
		{name: "directory added: named once", mutate: func(d string) {
			must(os.MkdirAll(filepath.Join(d, "x/y"), 0o755))
			must(os.WriteFile(filepath.Join(d, "x/y/z"), nil, 0o644))
		}, want: []string{"x extra"}},
		{name: "file removed", mutate: func(d string) { must(os.Remove(filepath.Join(d, "bin/run"))) }, want: []string{"bin/run missing"}},
		{name: "directory removed: named once", mutate: func(d string) { must(os.RemoveAll(filepath.Join(d, "dir"))) }, want: []string{"dir missing"}},
		{name: "symlink retargeted", mutate: func(d string) {
			must(os.Remove(filepath.Join(d, "dir/link")))
			must(os.Symlink("sub/b.txt", filepath.Join(d, "dir/link")))
		}, want: []string{"dir/link symlink target"}},
		{name: "symlink replaced by a copy", mutate: func(d string) {
			must(os.Remove(filepath.Join(d, "dir/link")))
			must(os.WriteFile(filepath.Join(d, "dir/link"), []byte("alpha"), 0o644))
		}, want: []string{"dir/link type"}},
		{name: "directory replaced by a symlink out of the tree", mutate: func(d string) {
			must(os.WriteFile(filepath.Join(outside, "b.txt"), []byte("beta"), 0o644))
			must(os.RemoveAll(filepath.Join(d, "dir/sub")))
			must(os.Symlink(outside, filepath.Join(d, "dir/sub")))
		}, want: []string{"dir/sub type"}},
		{name: "file replaced by a directory", mutate: func(d string) {
			must(os.Remove(filepath.Join(d, "hard")))
			must(os.MkdirAll(filepath.Join(d, "hard/inner"), 0o755))
		}, want: []string{"hard type"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := treeArchive(t)
			dir := extracted(t, data)
			if tc.mutate != nil {
				tc.mutate(dir)
			}
			rep, err := VerifyTreeFromArchive(context.Background(), writeArchive(t, data, false), dir, TreeOptions{})
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				if rep.Entries != 8 {
					t.Errorf("entries %d, want 8 (dir, dir/a.txt, dir/sub, dir/sub/b.txt, bin, bin/run, dir/link, hard)", rep.Entries)
				}
				return
			}
			var te *TreeError
			if !errors.As(err, &te) || !errors.Is(err, ErrTreeDiffers) {
				t.Fatalf("want a TreeError, got %v", err)
			}
			if got := diffKeys(te.Differences); !slices.Equal(got, tc.want) {
				t.Fatalf("differences %q, want %q\n%v", got, tc.want, te.Differences)
			}
			if !slices.Equal(diffKeys(rep.Differences), tc.want) {
				t.Errorf("report differences %q", diffKeys(rep.Differences))
			}
			if !strings.Contains(err.Error(), tc.want[0][:strings.IndexByte(tc.want[0], ' ')]) {
				t.Errorf("error %q does not name the path", err)
			}
		})
	}
}

func TestVerifyTreeExactModes(t *testing.T) {
	data := tarStream(t, entry{hdr: tar.Header{Name: "secret", Mode: 0o600}, data: "s"})
	dir := extracted(t, data) // written 0644, as downloads do
	archivePath := writeArchive(t, data, false)
	if _, err := VerifyTreeFromArchive(context.Background(), archivePath, dir, TreeOptions{}); err != nil {
		t.Fatalf("default rule: %v", err)
	}
	_, err := VerifyTreeFromArchive(context.Background(), archivePath, dir, TreeOptions{ExactModes: true})
	var te *TreeError
	if !errors.As(err, &te) || len(te.Differences) != 1 || te.Differences[0].Kind != DiffMode || te.Differences[0].Want != "0600" || te.Differences[0].Got != "0644" {
		t.Fatalf("exact modes: %v", err)
	}
	if err := os.Chmod(filepath.Join(dir, "secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyTreeFromArchive(context.Background(), archivePath, dir, TreeOptions{ExactModes: true}); err != nil {
		t.Fatalf("exact modes after chmod: %v", err)
	}
}

func TestVerifyTreeFromArchiveDigestAndGzip(t *testing.T) {
	data := treeArchive(t)
	dir := extracted(t, data)
	p := writeArchive(t, data, true)
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	good := digest.NewDigestFromBytes(digest.SHA256, sum[:])
	rep, err := VerifyTreeFromArchive(context.Background(), p, dir, TreeOptions{Digest: good})
	if err != nil || len(rep.Verified) != 1 {
		t.Fatalf("tgz with its digest: %v %v", rep, err)
	}
	bad := digest.NewDigestFromEncoded(digest.SHA256, strings.Repeat("0", 64))
	_, err = VerifyTreeFromArchive(context.Background(), p, dir, TreeOptions{Digest: bad})
	if err == nil || errors.Is(err, ErrTreeDiffers) || !strings.Contains(err.Error(), p) {
		t.Fatalf("wrong digest: %v", err)
	}
	if _, err := VerifyTreeFromArchive(context.Background(), p, filepath.Join(dir, "bin/run"), TreeOptions{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("file as directory: %v", err)
	}
}

// Archives a download refuses are refused here too, with the entry named.
func TestReadTarTreeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []entry
		want    string
		is      error
	}{
		{"parent escape", []entry{{hdr: tar.Header{Name: "../x"}, data: "x"}}, "../x", archive.ErrUnsafeName},
		{"absolute", []entry{{hdr: tar.Header{Name: "/etc/x"}, data: "x"}}, "/etc/x", archive.ErrUnsafeName},
		{"symlink out", []entry{{hdr: tar.Header{Name: "a/l", Typeflag: tar.TypeSymlink, Linkname: "../../etc/passwd"}}}, "leaves the archive", nil},
		{"absolute symlink", []entry{{hdr: tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}}}, "leaves the archive", nil},
		{"file twice", []entry{{hdr: tar.Header{Name: "f"}, data: "1"}, {hdr: tar.Header{Name: "./f"}, data: "2"}}, "twice", nil},
		{"below a file", []entry{{hdr: tar.Header{Name: "f"}, data: "1"}, {hdr: tar.Header{Name: "f/g"}, data: "2"}}, "which is a file", nil},
		{"hard link to nothing", []entry{{hdr: tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "missing"}}}, "hard link", nil},
		{"device", []entry{{hdr: tar.Header{Name: "dev", Typeflag: tar.TypeChar}}}, "not allowed", nil},
		{"fifo", []entry{{hdr: tar.Header{Name: "p", Typeflag: tar.TypeFifo}}}, "not allowed", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := readTarTree(context.Background(), bytes.NewReader(tarStream(t, tc.entries...)), false, newExpectedTree())
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	// Directories may repeat (tar -r, "./" and "."), an explicit entry wins.
	tree := newExpectedTree()
	data := tarStream(t, entry{hdr: tar.Header{Name: "d/f"}, data: "x"}, entry{hdr: tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o700}}, entry{hdr: tar.Header{Name: "./d", Typeflag: tar.TypeDir, Mode: 0o750}})
	if err := readTarTree(context.Background(), bytes.NewReader(data), false, tree); err != nil {
		t.Fatal(err)
	}
	if e := tree.entries["d"]; e.mode != 0o750 || !e.explicit {
		t.Errorf("d = %+v", e)
	}
	// A truncated archive is an error, not a shorter tree.
	if err := readTarTree(context.Background(), bytes.NewReader(treeArchive(t)[:1000]), false, newExpectedTree()); err == nil {
		t.Error("truncated archive read")
	}
}

func FuzzReadTarTree(f *testing.F) {
	f.Add(treeArchive(f))
	f.Add(tarStream(f, entry{hdr: tar.Header{Name: "a/../b"}, data: "x"}))
	f.Add(tarStream(f, entry{hdr: tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "x/../../y"}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		tree := newExpectedTree()
		if err := readTarTree(context.Background(), bytes.NewReader(data), false, tree); err != nil {
			return
		}
		for name, e := range tree.entries {
			if _, err := archive.EntryName(name); err != nil || name == "." {
				t.Fatalf("accepted entry %q: %v", name, err)
			}
			if e.kind == entrySymlink {
				if err := checkLinkTarget(name, e.link, true); err != nil {
					t.Fatalf("accepted symlink %q -> %q", name, e.link)
				}
			}
		}
		_ = fmt.Sprint(len(tree.entries))
	})
}
