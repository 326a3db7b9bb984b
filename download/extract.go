package download

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/archive"
	"github.com/ocmgo/ocm/blob"
	"github.com/ocmgo/ocm/descriptor"
)

type blobKind int

const (
	kindPlain blobKind = iota
	kindGzip           // gzip of something that is not a tar
	kindTar
	kindTarGzip
)

// classify tells from the media type whether auto extraction applies.
func classify(mediaType string) blobKind {
	mt := strings.ToLower(mediaType)
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = strings.TrimSpace(mt[:i])
	}
	switch mt {
	case "application/x-tar", "application/tar":
		return kindTar
	case "application/x-tgz", "application/x-tar+gzip", "application/tar+gzip", "application/x-gtar":
		return kindTarGzip
	case "application/gzip", "application/x-gzip":
		return kindGzip
	}
	switch {
	case strings.HasSuffix(mt, "+tar+gzip"), strings.HasSuffix(mt, ".tar+gzip"), strings.HasSuffix(mt, "+tgz"):
		return kindTarGzip
	case strings.HasSuffix(mt, "+tar"), strings.HasSuffix(mt, ".tar"):
		return kindTar
	case strings.HasSuffix(mt, "+gzip"):
		return kindGzip
	}
	return kindPlain
}

func isGzipOrTar(mediaType string) bool { return classify(mediaType) != kindPlain }

// extractBlob unpacks (or decompresses) the stream into a temp path while
// it is hashed; the result is published only when the digests match.
func extractBlob(ctx context.Context, src io.Reader, verifier *blob.Verifier, desc ocispec.Descriptor, res *descriptor.Resource, kind blobKind, output string, checked []string) (*Result, error) {
	if isArtifactDigest(res.Digest) {
		// The artifact digest is read from the stored archive: keep it in a
		// temp file, verify, then unpack from there.
		return extractArtifactSet(ctx, src, verifier, desc, res, kind, output, checked)
	}
	r := src
	var gz *gzip.Reader
	if kind == kindGzip || kind == kindTarGzip {
		var err error
		gz, err = gzip.NewReader(bufio.NewReaderSize(src, 1<<20))
		if err != nil {
			return nil, fmt.Errorf("decompressing %s: %w", desc.Digest, err)
		}
		defer gz.Close()
		r = gz
	}
	if kind == kindGzip {
		f, err := blob.CreateAtomic(output)
		if err != nil {
			return nil, err
		}
		defer f.Abort()
		if _, err := copyContext(ctx, f, r); err != nil {
			return nil, fmt.Errorf("decompressing %s: %w", desc.Digest, err)
		}
		if err := drainAndFinish(src, verifier, desc); err != nil {
			return nil, err
		}
		if err := f.Commit(); err != nil {
			return nil, err
		}
		return &Result{Path: output, Format: "file", Digest: desc.Digest, Verified: checked}, nil
	}
	dir, err := blob.CreateAtomicDir(output)
	if err != nil {
		return nil, err
	}
	defer dir.Abort()
	if err := ExtractTar(ctx, r, dir.Path); err != nil {
		return nil, fmt.Errorf("extracting %s: %w", desc.Digest, err)
	}
	// The tar reader stops at the end-of-archive marker; reading the gzip
	// stream to its end checks its CRC and length trailer, which a read of
	// the compressed bytes alone would not.
	if gz != nil {
		if err := blob.FinishGzip(gz); err != nil {
			return nil, fmt.Errorf("decompressing %s: %w", desc.Digest, err)
		}
	}
	if err := drainAndFinish(src, verifier, desc); err != nil {
		return nil, err
	}
	if err := dir.Commit(); err != nil {
		return nil, err
	}
	return &Result{Path: output, Format: "directory", Digest: desc.Digest, Verified: checked}, nil
}

func extractArtifactSet(ctx context.Context, src io.Reader, verifier *blob.Verifier, desc ocispec.Descriptor, res *descriptor.Resource, kind blobKind, output string, checked []string) (*Result, error) {
	tmp, err := blob.CreateAtomic(output + ".archive")
	if err != nil {
		return nil, err
	}
	defer tmp.Abort()
	if checked, err = spoolArtifactSet(ctx, tmp.File, src, verifier, desc, res, checked); err != nil {
		return nil, err
	}
	// The stored bytes are verified; unpack them without hashing again.
	plain := *res
	plain.Digest = nil
	v, _ := blob.NewVerifier()
	return extractBlob(ctx, v.TeeReader(tmp), v, ocispec.Descriptor{Digest: desc.Digest, Size: -1}, &plain, kind, output, checked)
}

// spoolArtifactSet copies src (a tar whose resource digest is that of the
// OCI artifact inside, ociArtifactDigest/v1, read from the whole archive)
// into f, checks the blob digest and then the resource digest, and leaves
// f at its start for reading.
func spoolArtifactSet(ctx context.Context, f *os.File, src io.Reader, verifier *blob.Verifier, desc ocispec.Descriptor, res *descriptor.Resource, checked []string) ([]string, error) {
	if _, err := copyContext(ctx, f, src); err != nil {
		return nil, fmt.Errorf("reading %s: %w", desc.Digest, err)
	}
	if err := finish(verifier, desc); err != nil {
		return nil, err
	}
	if err := verifyArtifactSet(f.Name(), res.Digest); err != nil {
		return nil, err
	}
	checked = append(checked, "resource digest "+res.Digest.HashAlgorithm+"/"+res.Digest.NormalisationAlgorithm)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return checked, nil
}

// drainAndFinish reads what the decoder left (tar padding, gzip trailer) so
// that the whole blob is hashed, then verifies.
func drainAndFinish(src io.Reader, v *blob.Verifier, desc ocispec.Descriptor) error {
	if _, err := io.Copy(io.Discard, src); err != nil {
		return fmt.Errorf("reading %s: %w", desc.Digest, err)
	}
	return finish(v, desc)
}

// ExtractTar unpacks a tar stream into dir. Entries may not leave dir: no
// absolute names, no "..", no links pointing outside; devices and FIFOs are
// refused. Writes go through os.Root, so even a crafted symlink chain
// cannot escape.
func ExtractTar(ctx context.Context, r io.Reader, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		h, name, err := nextEntry(ctx, tr)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return fmt.Errorf("tar entry %q: %w", h.Name, err)
			}
		case tar.TypeReg: // tar.Reader reports legacy TypeRegA entries as TypeReg
			if err := writeEntry(root, name, tr, h); err != nil {
				if errors.Is(err, io.ErrUnexpectedEOF) {
					return fmt.Errorf("truncated tar: entry %q: %w", h.Name, err)
				}
				return fmt.Errorf("tar entry %q: %w", h.Name, err)
			}
		case tar.TypeSymlink:
			if err := checkLinkTarget(name, h.Linkname, true); err != nil {
				return fmt.Errorf("tar entry %q: %w", h.Name, err)
			}
			if err := mkParent(root, name); err != nil {
				return err
			}
			if err := root.Symlink(h.Linkname, name); err != nil {
				return fmt.Errorf("tar entry %q: %w", h.Name, err)
			}
		case tar.TypeLink:
			target, err := archive.EntryName(h.Linkname)
			if err != nil || target == "." {
				return fmt.Errorf("tar entry %q: hard link target %q leaves the archive", h.Name, h.Linkname)
			}
			if err := mkParent(root, name); err != nil {
				return err
			}
			if err := root.Link(target, name); err != nil {
				return fmt.Errorf("tar entry %q: %w", h.Name, err)
			}
		case tar.TypeXGlobalHeader, tar.TypeXHeader:
		default:
			return fmt.Errorf("tar entry %q: type %q not allowed (only files, directories and links)", h.Name, string(h.Typeflag))
		}
	}
}

func isSparse(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

func writeEntry(root *os.Root, name string, r io.Reader, h *tar.Header) error {
	if err := mkParent(root, name); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if h.Mode&0o111 != 0 {
		mode = 0o755
	}
	f, err := root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func mkParent(root *os.Root, name string) error {
	if dir := path.Dir(name); dir != "." {
		return root.MkdirAll(dir, 0o755)
	}
	return nil
}

// checkLinkTarget refuses link targets that resolve outside the root.
func checkLinkTarget(name, target string, relativeToEntry bool) error {
	if target == "" || path.IsAbs(target) || strings.ContainsAny(target, "\\\x00") {
		return fmt.Errorf("link target %q leaves the archive", target)
	}
	base := "."
	if relativeToEntry {
		base = path.Dir(name)
	}
	resolved := path.Clean(path.Join(base, target))
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("link target %q leaves the archive", target)
	}
	return nil
}

// nextEntry reads the next tar entry worth handling and its checked name
// (archive.EntryName): io.EOF at the end; the root entry "." is skipped;
// truncation, unsafe names and sparse entries (they expand to data the
// archive does not hold) are errors.
func nextEntry(ctx context.Context, tr *tar.Reader) (*tar.Header, string, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil, "", io.EOF
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, "", fmt.Errorf("truncated tar: %w", err)
			}
			return nil, "", fmt.Errorf("reading tar: %w", err)
		}
		name, err := archive.EntryName(h.Name)
		if err != nil {
			return nil, "", err
		}
		if isSparse(h) {
			return nil, "", fmt.Errorf("tar entry %q: sparse files are not allowed", h.Name)
		}
		if name != "." {
			return h, name, nil
		}
	}
}
