package ctf

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"
)

// interopCTF is the reference CLI's archive in the shared fixtures.
func interopCTF(t testing.TB) string { return filepath.Join(testutil.InteropDir(t), "ctf") }

// tarEntry is one entry of a test tar: a header (Mode, Size and Typeflag
// default to a regular 0644 file of len(data)) and its data.
type tarEntry struct {
	hdr  tar.Header
	data []byte
}

func file(name string, data []byte) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name}, data: data}
}

func dirEntry(name string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}}
}

// tarBytes serialises entries as a tar stream.
func tarBytes(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := e.hdr
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if hdr.Typeflag == tar.TypeReg && hdr.Size == 0 {
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatalf("tar header %q: %v", hdr.Name, err)
		}
		if len(e.data) > 0 {
			if _, err := tw.Write(e.data); err != nil {
				t.Fatalf("tar data %q: %v", hdr.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// copyInterop copies the reference CLI archive into a fresh temp directory
// (the original is read-only) and returns the copy's path.
func copyInterop(t testing.TB) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "ctf")
	if err := os.CopyFS(dst, os.DirFS(interopCTF(t))); err != nil {
		t.Fatalf("copying %s: %v", interopCTF(t), err)
	}
	// CopyFS keeps the read-only modes; make the copy writable so tests can
	// modify it and t.TempDir can clean it up.
	err := filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(p, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// dirTarEntries lists a directory-form CTF as tar entries the way the
// reference CLI writes them: artifact-index.json first, then the blobs, each
// name prefixed with prefix ("" or "./"), optionally with a blobs/ directory
// entry.
func dirTarEntries(t testing.TB, dir, prefix string, withDirEntry bool) []tarEntry {
	t.Helper()
	index, err := os.ReadFile(filepath.Join(dir, IndexFileName))
	if err != nil {
		t.Fatal(err)
	}
	entries := []tarEntry{file(prefix+IndexFileName, index)}
	if withDirEntry {
		entries = append(entries, dirEntry(prefix+"blobs/"))
	}
	for _, name := range blobNames(t, dir) {
		data, err := os.ReadFile(filepath.Join(dir, "blobs", name))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, file(prefix+"blobs/"+name, data))
	}
	return entries
}

func blobNames(t testing.TB, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	slices.Sort(names)
	return names
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// digestOf returns the "sha256:<hex>" digest of data.
func digestOf(data []byte) string { return "sha256:" + sha256Hex(data) }

// blobFile returns the file name of data in blobs/.
func blobFile(data []byte) string { return "sha256." + sha256Hex(data) }

// indexJSON builds a one-entry artifact-index.json.
func indexJSON(repo, tag, dgst, mediaType string) []byte {
	s := `{"schemaVersion":1,"artifacts":[{"repository":` + strconv.Quote(repo)
	if tag != "" {
		s += `,"tag":` + strconv.Quote(tag)
	}
	s += `,"digest":` + strconv.Quote(dgst)
	if mediaType != "" {
		s += `,"mediaType":` + strconv.Quote(mediaType)
	}
	return []byte(s + `}]}`)
}

// patternData returns n deterministic, poorly compressible bytes.
func patternData(n int, seed byte) []byte {
	data := make([]byte, n)
	var x uint32 = 2463534242 ^ uint32(seed)
	for i := range data {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		data[i] = byte(x)
	}
	return data
}

// dirCount returns the number of entries in dir.
func dirCount(t testing.TB, dir string) int {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(des)
}
