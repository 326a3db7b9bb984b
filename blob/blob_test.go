package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{7}).Read(b)
	return b
}

func TestCopyVerifies(t *testing.T) {
	for _, size := range []int{0, 1, copyBufferSize - 1, copyBufferSize, 3*copyBufferSize + 17} {
		data := randomBytes(size)
		s256 := sha256.Sum256(data)
		s512 := sha512.Sum512(data)
		v, err := NewVerifier(
			Expectation{Algorithm: "sha256", Value: hex.EncodeToString(s256[:]), What: "content"},
			Expectation{Algorithm: "SHA-256", Value: strings.ToUpper(hex.EncodeToString(s256[:])), What: "resource"},
			Expectation{Algorithm: "SHA-512", Value: hex.EncodeToString(s512[:]), What: "resource512"},
		)
		if err != nil {
			t.Fatal(err)
		}
		var dst bytes.Buffer
		n, err := Copy(context.Background(), &dst, bytes.NewReader(data), v)
		if err != nil || n != int64(size) || !bytes.Equal(dst.Bytes(), data) {
			t.Fatalf("size %d: copied %d, err %v", size, n, err)
		}
		if v.Size() != int64(size) {
			t.Fatalf("hashed %d bytes, want %d", v.Size(), size)
		}
		if err := v.Verify(); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
	}
}

func TestVerifyMismatch(t *testing.T) {
	v, _ := NewVerifier(Expectation{Algorithm: "SHA-256", Value: strings.Repeat("0", 64), What: "resource digest"})
	v.Write([]byte("x"))
	var me *MismatchError
	err := v.Verify()
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "resource digest mismatch: expected SHA-256 0000") {
		t.Fatalf("got %v", err)
	}
	if _, err := NewVerifier(Expectation{Algorithm: "md5", What: "x"}); !errors.Is(err, ErrUnknownHash) {
		t.Fatalf("md5: %v", err)
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestCopyErrors(t *testing.T) {
	data := randomBytes(5 * copyBufferSize)
	if _, err := Copy(context.Background(), &failingWriter{after: 2}, bytes.NewReader(data), io.Discard); err == nil || err.Error() != "disk full" {
		t.Fatalf("write error: %v", err)
	}
	if _, err := Copy(context.Background(), io.Discard, bytes.NewReader(data), &failingWriter{after: 1}); err == nil || err.Error() != "disk full" {
		t.Fatalf("hash error: %v", err)
	}
	rerr := errors.New("connection reset")
	if _, err := Copy(context.Background(), io.Discard, io.MultiReader(bytes.NewReader(data[:100]), errReader{rerr}), io.Discard); !errors.Is(err, rerr) {
		t.Fatalf("read error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Copy(ctx, io.Discard, bytes.NewReader(data), io.Discard); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	// A stream that fits in one buffer is copied without the pipeline;
	// its errors are the same.
	small := data[:1000]
	if _, err := Copy(context.Background(), &failingWriter{}, bytes.NewReader(small), io.Discard); err == nil || err.Error() != "disk full" {
		t.Fatalf("small: write error: %v", err)
	}
	if n, err := Copy(context.Background(), io.Discard, bytes.NewReader(small), &failingWriter{}); err == nil || err.Error() != "disk full" || n != 0 {
		t.Fatalf("small: hash error: %d %v", n, err)
	}
	if _, err := Copy(context.Background(), io.Discard, io.MultiReader(bytes.NewReader(small), errReader{rerr}), io.Discard); !errors.Is(err, rerr) {
		t.Fatalf("small: read error: %v", err)
	}
	if _, err := Copy(ctx, io.Discard, bytes.NewReader(small), io.Discard); !errors.Is(err, context.Canceled) {
		t.Fatalf("small: cancelled: %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestAtomicFile(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "sub", "out.bin")
	f, err := CreateAtomic(dest)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("partial"))
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Fatal("destination visible before Commit")
	}
	f.Abort()
	if entries, _ := os.ReadDir(filepath.Join(dir, "sub")); len(entries) != 0 {
		t.Fatalf("Abort left %v", entries)
	}
	f, _ = CreateAtomic(dest)
	f.Durable = true
	f.Write([]byte("done"))
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // no-op after Commit
	if data, _ := os.ReadFile(dest); string(data) != "done" {
		t.Fatalf("content %q", data)
	}
	if _, err := CreateAtomic(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("directory destination: %v", err)
	}
	// Committing over an existing file replaces it; while written, the
	// temp file has no name on Linux (nothing to leave behind when killed)
	// and can still be reopened by its Name.
	f, _ = CreateAtomic(dest)
	f.Write([]byte("replaced"))
	if runtime.GOOS == "linux" {
		if entries, _ := os.ReadDir(filepath.Join(dir, "sub")); len(entries) != 1 {
			t.Fatalf("while writing, the directory holds %v", entries)
		}
	}
	if data, err := os.ReadFile(f.Name()); err != nil || string(data) != "replaced" {
		t.Fatalf("reopening the temp file: %q %v", data, err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "sub"))
	if data, _ := os.ReadFile(dest); string(data) != "replaced" || len(entries) != 1 {
		t.Fatalf("content %q, directory %v", data, entries)
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", fi.Mode())
	}
}

func TestAtomicDir(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out")
	d, err := CreateAtomicDir(dest)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d.Path, "f"), []byte("x"), 0o644)
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dest, "f")); string(data) != "x" {
		t.Fatal("content missing after Commit")
	}
	if _, err := CreateAtomicDir(dest); err == nil || !strings.Contains(err.Error(), "exists and is not empty") {
		t.Fatalf("non-empty destination: %v", err)
	}
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	d, err = CreateAtomicDir(empty)
	if err != nil {
		t.Fatal(err)
	}
	d.Abort()
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Fatalf("Abort left %v", entries)
	}
}

// chunkRecorder records the size of every write.
type chunkRecorder struct {
	bytes.Buffer
	writes []int
}

func (c *chunkRecorder) Write(p []byte) (int, error) {
	c.writes = append(c.writes, len(p))
	return c.Buffer.Write(p)
}

func TestCopyChunks(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 100) // 1000 bytes
	var dst chunkRecorder
	// One byte a read still becomes writes of the whole buffer.
	n, err := CopyChunks(context.Background(), &dst, iotest.OneByteReader(bytes.NewReader(data)), make([]byte, 256))
	if err != nil || n != int64(len(data)) || !bytes.Equal(dst.Bytes(), data) {
		t.Fatalf("CopyChunks = %d, %v; copied %d bytes, want %d identical", n, err, dst.Len(), len(data))
	}
	if want := []int{256, 256, 256, 232}; !slices.Equal(dst.writes, want) {
		t.Fatalf("write sizes %v, want %v", dst.writes, want)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CopyChunks(ctx, io.Discard, bytes.NewReader(data), make([]byte, 16)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: got %v", err)
	}
	boom := errors.New("boom")
	if _, err := CopyChunks(context.Background(), io.Discard, iotest.ErrReader(boom), make([]byte, 16)); !errors.Is(err, boom) {
		t.Fatalf("read error: got %v", err)
	}
	if n, err := CopyChunks(context.Background(), errWriter{boom}, bytes.NewReader(data), make([]byte, 16)); !errors.Is(err, boom) || n != 0 {
		t.Fatalf("write error: got %d, %v", n, err)
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

// What a killed writer left beside an output (named after its process) is
// removed by the next writer of that output; a live writer's is not.
func TestStaleTempRemoved(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("process liveness is checked on Linux")
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid // reaped: no such process any more
	dir := t.TempDir()
	dest := filepath.Join(dir, "out")
	staleDir := filepath.Join(dir, fmt.Sprintf(".out.tmp-%d-123", dead))
	staleFile := filepath.Join(dir, fmt.Sprintf(".out.tmp-%d-0", dead))
	live := filepath.Join(dir, fmt.Sprintf(".out.tmp-%d-456", os.Getppid()))
	other := filepath.Join(dir, fmt.Sprintf(".other.tmp-%d-1", dead))
	for _, d := range []string{staleDir, live} {
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{staleFile, other} {
		if err := os.WriteFile(f, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := CreateAtomicDir(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	for path, want := range map[string]bool{staleDir: false, staleFile: false, live: true, other: true} {
		if _, err := os.Stat(path); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(path), err == nil, want)
		}
	}
	if !strings.HasPrefix(filepath.Base(d.Path), fmt.Sprintf(".out.tmp-%d-", os.Getpid())) {
		t.Errorf("temp directory %s is not named after this process", d.Path)
	}
}
