package ctf

import (
	"context"
	"io"
	"path/filepath"
	"strconv"
	"testing"
)

// patternReader yields n bytes cycling through a 1 MiB pattern, so the
// benchmark's source costs neither memory nor time.
type patternReader struct {
	pattern []byte
	off, n  int64
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	var total int
	for len(p) > 0 {
		k := copy(p, r.pattern[r.off%int64(len(r.pattern)):])
		p = p[k:]
		r.off += int64(k)
		total += k
	}
	r.n -= int64(total)
	return total, nil
}

// BenchmarkPushBlob streams 64 MiB into a new directory archive: "stage" is
// PushBlob alone (hash + staging write), "commit" adds Commit (fsync and
// rename into blobs/).
func BenchmarkPushBlob(b *testing.B) {
	const size = 64 << 20
	pattern := patternData(1<<20, 7)
	for _, commit := range []bool{false, true} {
		name := "stage"
		if commit {
			name = "commit"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(size)
			dir := b.TempDir()
			i := 0
			for b.Loop() {
				i++
				w, err := OpenWritable(filepath.Join(dir, "ctf"+strconv.Itoa(i)), WriteOptions{Create: true})
				if err != nil {
					b.Fatal(err)
				}
				// A different first byte per iteration: no deduplication.
				pattern[0] = byte(i)
				if _, err := w.PushBlob(context.Background(), testRepo, "application/octet-stream", &patternReader{pattern: pattern, n: size}); err != nil {
					b.Fatal(err)
				}
				if commit {
					err = w.Commit()
				} else {
					err = w.Abort()
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
