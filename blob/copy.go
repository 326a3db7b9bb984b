package blob

import (
	"context"
	"io"
	"sync"
)

// Pipeline sizing: four 4 MiB buffers keep reader, hasher and writer busy at
// once while bounding memory to 16 MiB per copy, whatever the blob size.
const (
	copyBufferSize  = 4 << 20
	copyBufferCount = 4
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	toWrite := make(chan chunk, copyBufferCount)
	toHash := make(chan chunk, copyBufferCount)
	free := make(chan *[]byte, copyBufferCount)
	for range copyBufferCount {
		free <- bufPool.Get().(*[]byte)
	}
	// Each chunk is released when both writer and hasher are done with it.
	var mu sync.Mutex
	pending := map[*[]byte]int{}
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
			n, err := dst.Write((*c.buf)[:c.n])
			written += int64(n)
			if err != nil {
				writeErr = err
				cancel()
			}
		}
		release(c.buf)
	}
	wg.Wait()
	for range copyBufferCount {
		bufPool.Put(<-free)
	}
	return written, firstNonNil(writeErr, hashErr, readErr)
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
