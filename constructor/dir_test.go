package constructor

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocmgo/ocm/internal/testutil"
)

// makeTree builds:
//
//	a.txt  b/c.txt  b/d/e.sh (executable)  empty/  z.yaml
func makeTree(t *testing.T, root string) {
	t.Helper()
	writeFile(t, filepath.Join(root, "a.txt"), "A", 0o644)
	writeFile(t, filepath.Join(root, "b", "c.txt"), "C", 0o644)
	writeFile(t, filepath.Join(root, "b", "d", "e.sh"), "#!/bin/sh\n", 0o755)
	writeFile(t, filepath.Join(root, "z.yaml"), "z: 1\n", 0o644)
	if err := os.MkdirAll(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
}

type hdr struct {
	name string
	typ  byte
	mode int64
	link string
	body string
}

func (h hdr) String() string {
	return fmt.Sprintf("%s(%c %o %s %q)", h.name, h.typ, h.mode, h.link, h.body)
}

// readTar lists a tar's entries and checks the reproducibility invariants.
func readTar(t *testing.T, data []byte) []hdr {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var out []hdr
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: uid %d gid %d uname %q gname %q mtime %v", h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime)
		}
		body, _ := io.ReadAll(tr)
		out = append(out, hdr{h.Name, h.Typeflag, h.Mode, h.Linkname, string(body)})
	}
}

func names(hs []hdr) string {
	var n []string
	for _, h := range hs {
		n = append(n, h.name)
	}
	return strings.Join(n, " ")
}

func openDirInput(t *testing.T, baseDir, input string) (*Content, error) {
	t.Helper()
	return openResource(t, baseDir, input, nil)
}

func dirTar(t *testing.T, baseDir, input string) []byte {
	t.Helper()
	c, err := openDirInput(t, baseDir, input)
	if err != nil {
		t.Fatal(err)
	}
	if c.MediaType != DefaultDirMediaType {
		t.Errorf("media type %s", c.MediaType)
	}
	return readContent(t, c)
}

func TestDirInputLayout(t *testing.T) {
	base := t.TempDir()
	makeTree(t, filepath.Join(base, "tree"))
	got := readTar(t, dirTar(t, base, "{type: dir, path: tree}"))
	want := []hdr{
		{"a.txt", tar.TypeReg, 0o644, "", "A"},
		{"b/", tar.TypeDir, 0o755, "", ""},
		{"b/c.txt", tar.TypeReg, 0o644, "", "C"},
		{"b/d/", tar.TypeDir, 0o755, "", ""},
		{"b/d/e.sh", tar.TypeReg, 0o755, "", "#!/bin/sh\n"},
		{"empty/", tar.TypeDir, 0o755, "", ""},
		{"z.yaml", tar.TypeReg, 0o644, "", "z: 1\n"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("entries\n got %v\nwant %v", got, want)
	}
}

func TestDirInputReproducible(t *testing.T) {
	base := t.TempDir()
	makeTree(t, filepath.Join(base, "tree"))
	first := dirTar(t, base, "{type: dir, path: tree}")
	if second := dirTar(t, base, "{type: dir, path: tree, reproducible: true}"); !bytes.Equal(first, second) {
		t.Fatal("two runs differ")
	}
	// A copy with other mtimes, permissions and owner gives the same bytes.
	testutil.CopyDir(t, filepath.Join(base, "tree"), filepath.Join(base, "copy"))
	if err := os.Chmod(filepath.Join(base, "copy", "b", "d", "e.sh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(base, "copy", "a.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(base, "copy", "b"), 0o700); err != nil {
		t.Fatal(err)
	}
	setMtimes(t, filepath.Join(base, "copy"), time.Date(2001, 2, 3, 4, 5, 6, 789, time.UTC))
	if os.Geteuid() == 0 {
		if err := os.Chown(filepath.Join(base, "copy", "a.txt"), 4242, 4343); err != nil {
			t.Fatal(err)
		}
	}
	if other := dirTar(t, base, "{type: dir, path: copy}"); !bytes.Equal(first, other) {
		t.Fatalf("copy differs:\n%v\n%v", readTar(t, first), readTar(t, other))
	}
	// Compressed output is reproducible too, with a plain gzip header.
	c, err := openDirInput(t, base, "{type: dir, path: tree, compress: true}")
	if err != nil {
		t.Fatal(err)
	}
	if c.MediaType != "application/x-tar+gzip" {
		t.Errorf("media type %s", c.MediaType)
	}
	z1 := readContent(t, c)
	if !bytes.Equal(gunzip(t, z1), first) || !bytes.Equal(readContent(t, c), z1) {
		t.Error("compressed tar differs")
	}
	c, err = openDirInput(t, base, "{type: Dir/v1, path: tree, mediaType: application/vnd.acme.bundle+tar}")
	if err != nil || c.MediaType != "application/vnd.acme.bundle+tar" {
		t.Errorf("%v %+v", err, c)
	}
}

func TestDirInputFilters(t *testing.T) {
	base := t.TempDir()
	makeTree(t, filepath.Join(base, "tree"))
	tests := []struct {
		name, input, want string
	}{
		{"exclude top-level txt", "{type: dir, path: tree, excludeFiles: ['*.txt']}", "b/ b/c.txt b/d/ b/d/e.sh empty/ z.yaml"},
		{"exclude directory", "{type: dir, path: tree, excludeFiles: [b]}", "a.txt empty/ z.yaml"},
		{"exclude nested", "{type: dir, path: tree, excludeFiles: ['b/*/*.sh', './empty']}", "a.txt b/ b/c.txt b/d/ z.yaml"},
		{"include one level down", "{type: dir, path: tree, includeFiles: ['*/*.txt']}", "b/ b/c.txt"},
		{"include deep", "{type: dir, path: tree, includeFiles: ['b/d/*']}", "b/ b/d/ b/d/e.sh"},
		{"include a directory itself", "{type: dir, path: tree, includeFiles: [empty, z.yaml]}", "empty/ z.yaml"},
		{"exclude wins", "{type: dir, path: tree, includeFiles: ['*'], excludeFiles: [a.txt]}", "b/ empty/ z.yaml"},
		{"preserveDir", "{type: dir, path: tree, preserveDir: true}", "tree/ tree/a.txt tree/b/ tree/b/c.txt tree/b/d/ tree/b/d/e.sh tree/empty/ tree/z.yaml"},
		{"preserveDir with patterns on archive paths", "{type: dir, path: tree, preserveDir: true, includeFiles: ['tree/*.yaml']}", "tree/ tree/z.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(readTar(t, dirTar(t, base, tc.input))); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestDirInputSymlinks(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "tree")
	makeTree(t, root)
	writeFile(t, filepath.Join(base, "outside", "secret.txt"), "S", 0o644)
	writeFile(t, filepath.Join(base, "outside", "sub", "x.txt"), "X", 0o644)
	symlink := func(target, link string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	symlink("../a.txt", "b/rel")                      // inside, relative
	symlink(filepath.Join(root, "b", "c.txt"), "abs") // inside, absolute
	symlink("b/d", "dirlink")                         // inside, a directory
	symlink("nowhere", "dangling")                    // inside, dangling
	got := readTar(t, dirTar(t, base, "{type: dir, path: tree}"))
	links := map[string]string{}
	for _, h := range got {
		if h.typ == tar.TypeSymlink {
			links[h.name] = h.link
			if h.mode != 0o777 {
				t.Errorf("%s mode %o", h.name, h.mode)
			}
		}
	}
	if want := map[string]string{"b/rel": "../a.txt", "abs": "b/c.txt", "dirlink": "b/d", "dangling": "nowhere"}; fmt.Sprint(links) != fmt.Sprint(want) {
		t.Errorf("links %v, want %v", links, want)
	}
	if strings.Contains(names(got), "dirlink/") {
		t.Error("a symlinked directory was walked without followSymlinks")
	}

	// Pointing outside is an error naming the link, the file and the field.
	for _, tc := range []struct{ target, link string }{
		{"../../outside/secret.txt", "b/escape"},
		{filepath.Join(base, "outside", "secret.txt"), "absescape"},
		{"..", "parent"},
	} {
		t.Run("outside "+tc.link, func(t *testing.T) {
			symlink(tc.target, tc.link)
			defer os.Remove(filepath.Join(root, tc.link))
			_, err := openDirInput(t, base, "{type: dir, path: tree}")
			wantErr(t, err, filepath.Join(base, file)+": resources[0].input.path: symlink "+filepath.Join(root, tc.link)+" -> "+tc.target, "points outside the directory")
		})
	}
	// Lexically inside, but through a link that leaves the tree.
	t.Run("outside through another link", func(t *testing.T) {
		symlink(filepath.Join(base, "outside"), "zz-out")
		symlink("zz-out/secret.txt", "zz-sneaky")
		defer os.Remove(filepath.Join(root, "zz-out"))
		defer os.Remove(filepath.Join(root, "zz-sneaky"))
		_, err := openDirInput(t, base, "{type: dir, path: tree, excludeFiles: [zz-out]}")
		wantErr(t, err, "symlink "+filepath.Join(root, "zz-sneaky"), "points outside", filepath.Join(base, "outside", "secret.txt"))
	})

	// followSymlinks stores the targets' content, inside or outside.
	t.Run("followSymlinks", func(t *testing.T) {
		symlink(filepath.Join(base, "outside", "secret.txt"), "secret")
		symlink("../outside/sub", "subdir")
		defer os.Remove(filepath.Join(root, "secret"))
		defer os.Remove(filepath.Join(root, "subdir"))
		got := readTar(t, dirTar(t, base, "{type: dir, path: tree, followSymlinks: true, excludeFiles: [dangling]}"))
		byName := map[string]hdr{}
		for _, h := range got {
			if h.typ == tar.TypeSymlink {
				t.Errorf("symlink entry %s with followSymlinks", h.name)
			}
			byName[h.name] = h
		}
		for name, body := range map[string]string{"secret": "S", "subdir/x.txt": "X", "b/rel": "A", "abs": "C", "dirlink/e.sh": "#!/bin/sh\n"} {
			if h, ok := byName[name]; !ok || h.body != body || h.typ != tar.TypeReg {
				t.Errorf("%s: %+v", name, h)
			}
		}
		if byName["dirlink/e.sh"].mode != 0o755 || byName["subdir/"].typ != tar.TypeDir {
			t.Errorf("modes: %+v %+v", byName["dirlink/e.sh"], byName["subdir/"])
		}
		_, err := openDirInput(t, base, "{type: dir, path: tree, followSymlinks: true}")
		wantErr(t, err, "following symlink "+filepath.Join(root, "dangling"))
	})
	t.Run("cycle", func(t *testing.T) {
		symlink("..", "b/up")
		defer os.Remove(filepath.Join(root, "b", "up"))
		_, err := openDirInput(t, base, "{type: dir, path: tree, followSymlinks: true, excludeFiles: [dangling]}")
		wantErr(t, err, "symlink cycle")
	})
}

func TestDirInputErrors(t *testing.T) {
	base := t.TempDir()
	makeTree(t, filepath.Join(base, "tree"))
	_, err := openDirInput(t, base, "{type: dir, path: tree/a.txt}")
	wantErr(t, err, "resources[0].input.path: ", "is not a directory")
	_, err = openDirInput(t, base, "{type: dir, path: nothere}")
	wantErr(t, err, "resources[0].input.path: stat ")

	// A file that changes between walking and streaming fails the stream.
	c, err := openDirInput(t, base, "{type: dir, path: tree}")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(base, "tree", "b", "c.txt"), "longer now", 0o644)
	r, err := c.Open()
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	r.Close()
	wantErr(t, err, file+": resources[0].input.path: ", "c.txt changed while it was being archived")
}
