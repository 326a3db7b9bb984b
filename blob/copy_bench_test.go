package blob

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// zeroReader yields n zero bytes without touching memory beyond p.
type zeroReader struct{ n int64 }

func (r *zeroReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	clear(p)
	r.n -= int64(len(p))
	return len(p), nil
}

// BenchmarkCopySizes copies 256 MiB into a file in the benchmark's temp dir
// (the page cache, no fsync) through Copy with SHA-256 hashing, for a matrix
// of buffer and write sizes. It is how copyBufferSize and WriteSize were
// chosen: run it with -benchtime=3x -count=3 and compare MB/s.
func BenchmarkCopySizes(b *testing.B) {
	const size = 256 << 20
	for _, buf := range []int{256 << 10, 1 << 20, 4 << 20} {
		for _, ws := range []int{64 << 10, 128 << 10, 256 << 10, 1 << 20, 4 << 20} {
			if ws > buf {
				continue
			}
			b.Run(fmt.Sprintf("buf=%dK/write=%dK", buf>>10, ws>>10), func(b *testing.B) {
				b.SetBytes(size)
				path := filepath.Join(b.TempDir(), "out")
				for b.Loop() {
					f, err := os.Create(path)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := copySized(context.Background(), f, &zeroReader{size}, sha256.New(), buf, ws); err != nil {
						b.Fatal(err)
					}
					if err := f.Close(); err != nil {
						b.Fatal(err)
					}
					os.Remove(path)
				}
			})
		}
	}
}
