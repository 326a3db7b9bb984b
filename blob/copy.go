package blob

import (
	"context"
	"io"
	"sync"
)

// Pipeline sizing, chosen by BenchmarkCopySizes (blob/copy_bench_test.go)
// on a 2-core VM: reads and hashing work on 1 MiB buffers, four of them keep
// reader, hasher and writer busy at once (4 MiB per copy, whatever the blob
// size), and each buffer is written in 128 KiB pieces: write(2) calls above
// 128 KiB cost several times more kernel time per byte (the page cache copy
// falls out of the CPU cache), which `dd bs=...` shows too.
const (
	copyBufferSize  = 1 << 20
	copyBufferCount = 4
	// WriteSize is the largest write(2) worth issuing to a file; callers
	// that buffer their own writes (bufio, tar) use it as well.
	WriteSize = 128 << 10
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

type chunk struct {
	buf *[]byte
	n   int
}

// Copy streams src to dst while w (typically a Verifier) sees the same bytes.
// Reading, hashing and writing run concurrently on a small ring of buffers,
// so a verified copy costs about as much as the slowest of the three, not
// their sum. It stops early when ctx is done.
func Copy(ctx context.Context, dst io.Writer, src io.Reader, w io.Writer) (int64, error) {
	return copySized(ctx, dst, src, w, copyBufferSize, WriteSize)
}

// copySized is Copy with bufSize-byte buffers written in writeSize pieces.
func copySized(ctx context.Context, dst io.Writer, src io.Reader, w io.Writer, bufSize, writeSize int) (int64, error) {
	pool := &bufPool
	if bufSize != copyBufferSize {
		pool = &sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// The first buffer is read here: a stream that fits in it (manifests,
	// descriptors, most local blobs) is hashed and written on the calling
	// goroutine, without the pipeline's goroutines and hand-offs.
	first := pool.Get().(*[]byte)
	n, err := io.ReadFull(src, *first)
	if err != nil {
		defer pool.Put(first)
		var written int64
		var hashErr, writeErr error
		if n > 0 {
			_, hashErr = w.Write((*first)[:n])
			if hashErr == nil {
				written, writeErr = writePieces(dst, (*first)[:n], writeSize)
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = nil
		}
		return written, firstNonNil(writeErr, hashErr, err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	toWrite := make(chan chunk, copyBufferCount)
	toHash := make(chan chunk, copyBufferCount)
	free := make(chan *[]byte, copyBufferCount)
	for range copyBufferCount - 1 {
		free <- pool.Get().(*[]byte)
	}
	// Each chunk is released when both writer and hasher are done with it.
	var mu sync.Mutex
	pending := map[*[]byte]int{first: 2}
	toHash <- chunk{first, n}
	toWrite <- chunk{first, n}
	release := func(b *[]byte) {
		mu.Lock()
		pending[b]--
		done := pending[b] == 0
		mu.Unlock()
		if done {
			free <- b
		}
	}

	var readErr, hashErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // reader
		defer wg.Done()
		defer close(toWrite)
		defer close(toHash)
		for {
			var b *[]byte
			select {
			case b = <-free:
			case <-ctx.Done():
				readErr = ctx.Err()
				return
			}
			n, err := io.ReadFull(src, *b)
			if n > 0 {
				mu.Lock()
				pending[b] = 2
				mu.Unlock()
				toHash <- chunk{b, n}
				toWrite <- chunk{b, n}
			} else {
				free <- b
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return
			}
			if err != nil {
				readErr = err
				return
			}
		}
	}()
	go func() { // hasher
		defer wg.Done()
		for c := range toHash {
			if hashErr == nil {
				if _, err := w.Write((*c.buf)[:c.n]); err != nil {
					hashErr = err
					cancel()
				}
			}
			release(c.buf)
		}
	}()
	var written int64
	var writeErr error
	for c := range toWrite {
		if writeErr == nil {
			n, err := writePieces(dst, (*c.buf)[:c.n], writeSize)
			written += n
			if err != nil {
				writeErr = err
				cancel()
			}
		}
		release(c.buf)
	}
	wg.Wait()
	for range copyBufferCount {
		pool.Put(<-free)
	}
	return written, firstNonNil(writeErr, hashErr, readErr)
}

// writePieces writes p to dst in writes of at most size bytes.
func writePieces(dst io.Writer, p []byte, size int) (int64, error) {
	var written int64
	for len(p) > 0 {
		n, err := dst.Write(p[:min(len(p), size)])
		written += int64(n)
		p = p[n:]
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

func firstNonNil(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// CopyChunks copies src to dst through buf without hashing, on the calling
// goroutine: for sequential writers (a tar stream) where Copy's pipeline
// buys nothing. Each chunk is filled before it is written, so small reads
// (pipes, network) still become writes of len(buf); ctx is checked between
// chunks (a read that blocks is not interrupted).
func CopyChunks(ctx context.Context, dst io.Writer, src io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		nr, er := io.ReadFull(src, buf)
		if nr > 0 {
			nw, ew := dst.Write(buf[:nr])
			n += int64(nw)
			if ew != nil {
				return n, ew
			}
		}
		switch er {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return n, nil
		default:
			return n, er
		}
	}
}
