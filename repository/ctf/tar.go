package ctf

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/ocmgo/ocm/blob"
)

// Limits for the tgz form. Variables so tests can exercise the spool path
// without writing huge archives.
var (
	// maxMemEntry is the largest tgz entry kept in memory.
	maxMemEntry int64 = 4 << 20
	// maxMemTotal caps the in-memory bytes of one tgz archive; further
	// entries go to the spool file.
	maxMemTotal int64 = 64 << 20
)

// countingReader tracks the position in the tar file so that the data offset
// of each entry is known without a syscall. It implements io.Seeker so that
// archive/tar seeks over entry data instead of reading it.
type countingReader struct {
	r   io.ReadSeeker
	pos int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.pos += int64(n)
	return n, err
}

func (c *countingReader) Seek(offset int64, whence int) (int64, error) {
	pos, err := c.r.Seek(offset, whence)
	if err == nil {
		c.pos = pos
	}
	return pos, err
}

// loadTar indexes the tar file f in place: one pass over the headers, seeking
// over the data, recording where each served entry's data lies in f.
func (a *Archive) loadTar(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("CTF archive %s: %w", a.path, err)
	}
	cr := &countingReader{r: f}
	a.entries = make(map[string]entry)
	return a.walkTar(cr, func(name string, hdr *tar.Header, _ *tar.Reader) error {
		if cr.pos+hdr.Size > fi.Size() || cr.pos+hdr.Size < cr.pos {
			return fmt.Errorf("CTF archive %s: truncated tar: %w (entry %q extends beyond the end of the file)", a.path, io.ErrUnexpectedEOF, hdr.Name)
		}
		a.entries[name] = entry{ra: f, off: cr.pos, size: hdr.Size}
		return nil
	})
}

// loadTarGzip decompresses f once: small entries stay in memory, large ones
// (or all once the memory cap is reached) are appended to a single spool file.
func (a *Archive) loadTarGzip(f *os.File) error {
	gz, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		return fmt.Errorf("CTF archive %s: corrupt gzip stream: %w", a.path, err)
	}
	a.entries = make(map[string]entry)
	var memTotal, spoolSize int64
	err = a.walkTar(gz, func(name string, hdr *tar.Header, tr *tar.Reader) error {
		if hdr.Size <= maxMemEntry && memTotal+hdr.Size <= maxMemTotal {
			buf := make([]byte, hdr.Size)
			if _, err := io.ReadFull(tr, buf); err != nil {
				return a.tarError(err)
			}
			memTotal += hdr.Size
			a.entries[name] = memEntry(buf)
			return nil
		}
		if a.spool == nil {
			spool, err := os.CreateTemp("", "ctf-spool-*")
			if err != nil {
				return fmt.Errorf("CTF archive %s: creating spool file: %w", a.path, err)
			}
			a.spool = spool // removed by Close, also when Open fails
		}
		n, err := io.CopyN(a.spool, tr, hdr.Size)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) && pe.Path == a.spool.Name() {
				return fmt.Errorf("CTF archive %s: writing spool file: %w", a.path, err)
			}
			return a.tarError(err)
		}
		a.entries[name] = entry{ra: a.spool, off: spoolSize, size: n}
		spoolSize += n
		return nil
	})
	if err != nil {
		return err
	}
	// Read to the end of the gzip stream so its checksum is verified. Bytes
	// after the last gzip member (some tools pad with zeros) cannot change
	// the content any more and are ignored.
	if err := blob.FinishGzip(gz); err != nil {
		return a.tarError(err)
	}
	return nil
}

// tarError turns a tar or gzip read error into an archive error.
func (a *Archive) tarError(err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("CTF archive %s: truncated tar: %w", a.path, err)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader):
		return fmt.Errorf("CTF archive %s: corrupt gzip stream: %w", a.path, err)
	}
	return fmt.Errorf("CTF archive %s: reading tar: %w", a.path, err)
}

// walkTar checks every entry of the tar stream r and calls serve for the
// regular files that a CTF serves (artifact-index.json, blobs/<name>) with
// their cleaned names. Anything that could be used to escape or confuse a
// reader rejects the whole archive.
func (a *Archive) walkTar(r io.Reader, serve func(name string, hdr *tar.Header, tr *tar.Reader) error) error {
	tr := tar.NewReader(r)
	seen := make(map[string]bool) // cleaned name -> is a directory
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			return a.tarError(err)
		}
		// Global PAX headers carry no file.
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		if reason := unsafeName(hdr.Name); reason != "" {
			return fmt.Errorf("CTF archive %s: unsafe entry %q: %s", a.path, hdr.Name, reason)
		}
		name := path.Clean(hdr.Name)
		isDir := false
		switch hdr.Typeflag {
		case tar.TypeReg:
			if isSparse(hdr) {
				return fmt.Errorf("CTF archive %s: sparse entry %q not allowed", a.path, hdr.Name)
			}
		case tar.TypeDir:
			isDir = true
		case tar.TypeSymlink, tar.TypeLink:
			return fmt.Errorf("CTF archive %s: link entry %q not allowed", a.path, hdr.Name)
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			return fmt.Errorf("CTF archive %s: device or FIFO entry %q not allowed", a.path, hdr.Name)
		case tar.TypeGNUSparse:
			return fmt.Errorf("CTF archive %s: sparse entry %q not allowed", a.path, hdr.Name)
		default:
			return fmt.Errorf("CTF archive %s: entry %q has unsupported type %q", a.path, hdr.Name, hdr.Typeflag)
		}
		if wasDir, dup := seen[name]; dup && !(wasDir && isDir) {
			return fmt.Errorf("CTF archive %s: duplicate entry %q", a.path, hdr.Name)
		}
		seen[name] = isDir
		if isDir || !served(name) {
			continue
		}
		if err := serve(name, hdr, tr); err != nil {
			return err
		}
	}
}

// unsafeName returns why a tar entry name is refused, or "".
func unsafeName(name string) string {
	switch {
	case strings.ContainsAny(name, "\\\x00"):
		return "name contains a backslash or NUL"
	case strings.HasPrefix(name, "/"):
		return "absolute path"
	}
	for elem := range strings.SplitSeq(name, "/") {
		if elem == ".." {
			return `path contains a ".." element`
		}
	}
	return ""
}

// isSparse reports GNU sparse files in PAX form; their data is not stored
// contiguously, so they cannot be served in place.
func isSparse(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// served reports whether a cleaned entry name is part of the CTF layout.
func served(name string) bool {
	if name == IndexFileName {
		return true
	}
	blob, ok := strings.CutPrefix(name, "blobs/")
	return ok && blob != "" && !strings.Contains(blob, "/")
}
