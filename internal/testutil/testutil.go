// Package testutil finds the shared interoperability fixtures and builds
// archives from them for tests. It is for tests only.
package testutil

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
)

// SharedDir returns ../shared beside the module root (the project's
// fixtures; present in every session and in CI). Override with OCM_SHARED_DIR.
func SharedDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("OCM_SHARED_DIR"); d != "" {
		return d
	}
	sharedOnce.Do(func() { sharedDir, sharedErr = findShared() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedDir
}

// The working directory is read once, so tests that chdir still find the fixtures.
var (
	sharedOnce sync.Once
	sharedDir  string
	sharedErr  error
)

func findShared() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			shared := filepath.Join(filepath.Dir(dir), "shared")
			if _, err := os.Stat(shared); err != nil {
				return "", fmt.Errorf("shared fixtures not found at %s (set OCM_SHARED_DIR)", shared)
			}
			return shared, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("module root (go.mod) not found above the working directory")
		}
		dir = parent
	}
}

// InteropDir is shared/interop/v2-ctf-signed: the reference CLI's signed archive and its inputs.
func InteropDir(t testing.TB) string {
	return filepath.Join(SharedDir(t), "interop", "v2-ctf-signed")
}

// CopyDir copies a directory tree (regular files and directories) to dst,
// writable, so tests never touch the read-only fixtures.
func CopyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}

// Format of an archive built by InteropCTF.
type Format string

const (
	Dir Format = "directory"
	Tar Format = "tar"
	Tgz Format = "tgz"
)

// Formats lists every CTF form.
var Formats = []Format{Dir, Tar, Tgz}

// InteropCTF copies the reference CTF into a temp dir and returns the path
// of the requested form: the directory, or a .tar/.tgz built from it with
// artifact-index.json first, as the reference writes archives.
func InteropCTF(t testing.TB, f Format) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ctf")
	CopyDir(t, filepath.Join(InteropDir(t), "ctf"), dir)
	switch f {
	case Dir:
		return dir
	case Tar:
		return PackCTF(t, dir, filepath.Join(t.TempDir(), "ctf.tar"), false)
	case Tgz:
		return PackCTF(t, dir, filepath.Join(t.TempDir(), "ctf.tgz"), true)
	}
	t.Fatalf("unknown format %q", f)
	return ""
}

// PackCTF writes the CTF directory dir as a tar (gzipped if gz) at out.
func PackCTF(t testing.TB, dir, out string, gz bool) string {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w io.Writer = f
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(f)
		w = zw
	}
	tw := tar.NewWriter(w)
	add := func(name string) {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	add("artifact-index.json")
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/", Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		add("blobs/" + n)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
