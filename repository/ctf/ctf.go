// Package ctf reads and writes OCM Common Transport Format (CTF) archives:
// an artifact-index.json plus a flat blob store blobs/<alg>.<hex>, stored as
// a directory, a tar file or a gzip-compressed tar file.
//
// Open opens archives read-only and serves them without extraction:
// directories through an os.Root (so symlinks cannot leave the archive), tar
// files in place through section readers, and tgz files decompressed once
// into memory and at most one spool file. OpenWritable (writer.go) adds
// content in a locked transaction that becomes visible only at Commit.
package ctf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
)

// Format is the physical form of a CTF archive.
type Format int

const (
	// FormatDirectory is a plain directory holding artifact-index.json and blobs/.
	FormatDirectory Format = iota
	// FormatTar is an uncompressed tar of the directory form.
	FormatTar
	// FormatTarGzip is a gzip-compressed tar (.tgz, .tar.gz).
	FormatTarGzip
)

// String returns the names used by the OCM repository spec (fileFormat).
func (f Format) String() string {
	switch f {
	case FormatDirectory:
		return "directory"
	case FormatTar:
		return "tar"
	case FormatTarGzip:
		return "tgz"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

const (
	// maxIndexSize bounds artifact-index.json, which is always parsed in
	// memory; 64 MiB is several hundred thousand entries.
	maxIndexSize = 64 << 20
	// maxSniffSize bounds how much of a blob Resolve decodes to find a
	// missing media type; registries cap manifests at 4 MiB as well.
	maxSniffSize = 4 << 20
)

// Archive is an open, read-only CTF archive. It is immutable after Open and
// therefore safe for concurrent use. Readers returned by Fetch must be closed
// by the caller; tar and tgz readers stop working once the Archive is closed.
type Archive struct {
	path   string
	format Format
	index  Index
	repos  map[string][]int // repository -> positions in index.Artifacts

	// Directory form: every file access goes through root.
	root *os.Root

	// Tar and tgz forms: served files (artifact-index.json, blobs/*) by name.
	entries map[string]entry
	file    *os.File // tar form: the archive itself, read in place
	spool   *os.File // tgz form: large entries, nil when none

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// entry locates the data of one served tar entry: a section of the tar file,
// of the spool file, or of an in-memory buffer.
type entry struct {
	ra   io.ReaderAt
	off  int64
	size int64
}

// Open opens the CTF at path read-only. A directory is read as the directory
// form; a file is a tgz when it starts with the gzip magic and a tar
// otherwise, whatever its extension says.
func Open(path string) (*Archive, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("opening CTF archive: %w", err)
	}
	a := &Archive{path: path}
	switch {
	case fi.IsDir():
		a.format = FormatDirectory
		err = a.openDir()
	case fi.Mode().IsRegular():
		err = a.openFile()
	default:
		return nil, fmt.Errorf("CTF archive %s: neither a directory nor a regular file (%s)", path, fi.Mode().Type())
	}
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	a.repos = make(map[string][]int)
	for i, art := range a.index.Artifacts {
		a.repos[art.Repository] = append(a.repos[art.Repository], i)
	}
	return a, nil
}

func (a *Archive) openDir() error {
	root, err := os.OpenRoot(a.path)
	if err != nil {
		return fmt.Errorf("opening CTF archive %s: %w", a.path, err)
	}
	a.root = root
	f, err := root.Open(IndexFileName)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("CTF archive %s: %s not found", a.path, IndexFileName)
	}
	if err != nil {
		return fmt.Errorf("CTF archive %s: opening %s: %w", a.path, IndexFileName, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("CTF archive %s: %s: %w", a.path, IndexFileName, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("CTF archive %s: %s is not a regular file", a.path, IndexFileName)
	}
	return a.parseIndex(f, fi.Size())
}

func (a *Archive) openFile() error {
	f, err := os.Open(a.path)
	if err != nil {
		return fmt.Errorf("opening CTF archive: %w", err)
	}
	var magic [2]byte
	n, err := f.ReadAt(magic[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return fmt.Errorf("CTF archive %s: %w", a.path, err)
	}
	if n == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		a.format = FormatTarGzip
		defer f.Close() // decompressed once below, not needed afterwards
		err = a.loadTarGzip(f)
	} else {
		a.format = FormatTar
		a.file = f // closed by Close
		err = a.loadTar(f)
	}
	if err != nil {
		return err
	}
	e, ok := a.entries[IndexFileName]
	if !ok {
		return fmt.Errorf("CTF archive %s: %s not found", a.path, IndexFileName)
	}
	return a.parseIndex(io.NewSectionReader(e.ra, e.off, e.size), e.size)
}

func (a *Archive) parseIndex(r io.Reader, size int64) error {
	if size > maxIndexSize {
		return fmt.Errorf("CTF archive %s: %s is too large (%d bytes, limit %d)", a.path, IndexFileName, size, maxIndexSize)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxIndexSize+1))
	if err != nil {
		return fmt.Errorf("CTF archive %s: reading %s: %w", a.path, IndexFileName, err)
	}
	if len(data) > maxIndexSize {
		return fmt.Errorf("CTF archive %s: %s is too large (limit %d bytes)", a.path, IndexFileName, maxIndexSize)
	}
	idx, err := ParseIndex(data)
	if err != nil {
		return fmt.Errorf("parsing %s of CTF archive %s: %w", IndexFileName, a.path, err)
	}
	a.index = idx
	return nil
}

// Close releases the archive file and removes the spool file, if any. It is
// idempotent.
func (a *Archive) Close() error {
	a.closeOnce.Do(func() {
		a.closed.Store(true)
		var errs []error
		if a.root != nil {
			errs = append(errs, a.root.Close())
		}
		if a.file != nil {
			errs = append(errs, a.file.Close())
		}
		if a.spool != nil {
			errs = append(errs, a.spool.Close())
			if err := os.Remove(a.spool.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			a.closeErr = fmt.Errorf("closing CTF archive %s: %w", a.path, err)
		}
	})
	return a.closeErr
}

// Path returns the path the archive was opened from.
func (a *Archive) Path() string { return a.path }

// Format returns the detected physical form.
func (a *Archive) Format() Format { return a.format }

// Index returns a copy of the parsed artifact-index.json.
func (a *Archive) Index() Index {
	return Index{SchemaVersion: a.index.SchemaVersion, Artifacts: slices.Clone(a.index.Artifacts)}
}

// Repositories lists the distinct repositories of the index, sorted.
func (a *Archive) Repositories(ctx context.Context) ([]string, error) {
	if err := a.check(ctx); err != nil {
		return nil, err
	}
	repos := make([]string, 0, len(a.repos))
	for r := range a.repos {
		repos = append(repos, r)
	}
	slices.Sort(repos)
	return repos, nil
}

// Tags lists the distinct tags of repository, sorted. Untagged entries are
// skipped, so a repository may have no tags at all.
func (a *Archive) Tags(ctx context.Context, repository string) ([]string, error) {
	if err := a.check(ctx); err != nil {
		return nil, err
	}
	positions, ok := a.repos[repository]
	if !ok {
		return nil, fmt.Errorf("repository %q %w in CTF archive %s", repository, errdef.ErrNotFound, a.path)
	}
	tags := []string{}
	for _, i := range positions {
		if t := a.index.Artifacts[i].Tag; t != "" {
			tags = append(tags, t)
		}
	}
	slices.Sort(tags)
	return slices.Compact(tags), nil
}

// Resolve returns the descriptor that tag points to in repository; when the
// index lists the tag more than once, the last entry wins (it was written
// last). A digest ("sha256:…") instead of a tag selects an entry of the
// repository by digest, which is the only way to reach untagged entries. The
// size is that of the stored blob; a media type missing from the index (OCM v1
// archives) is read from the blob itself.
func (a *Archive) Resolve(ctx context.Context, repository, tag string) (ocispec.Descriptor, error) {
	if err := a.check(ctx); err != nil {
		return ocispec.Descriptor{}, err
	}
	positions, ok := a.repos[repository]
	if !ok {
		return ocispec.Descriptor{}, fmt.Errorf("repository %q %w in CTF archive %s", repository, errdef.ErrNotFound, a.path)
	}
	if tag == "" {
		return ocispec.Descriptor{}, fmt.Errorf("resolving in repository %q of CTF archive %s: empty tag", repository, a.path)
	}
	byDigest := strings.Contains(tag, ":") // OCI tags cannot contain ':'
	var found *ArtifactEntry
	for _, i := range slices.Backward(positions) {
		art := &a.index.Artifacts[i]
		if (byDigest && art.Digest == tag) || (!byDigest && art.Tag == tag) {
			found = art
			break
		}
	}
	if found == nil {
		return ocispec.Descriptor{}, fmt.Errorf("tag %q of repository %q %w in CTF archive %s", tag, repository, errdef.ErrNotFound, a.path)
	}
	return describeEntry(a.path, repository, tag, found, a.open)
}

// describeEntry turns an index entry into a descriptor: the size from the
// stored blob, the media type from the entry or, for OCM v1 archives that do
// not record it, sniffed from the manifest.
func describeEntry(path, repository, tag string, e *ArtifactEntry, open func(digest.Digest, int64) (io.ReadCloser, int64, error)) (ocispec.Descriptor, error) {
	desc := ocispec.Descriptor{MediaType: e.MediaType, Digest: digest.Digest(e.Digest)}
	rc, size, err := open(desc.Digest, 0)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer rc.Close()
	desc.Size = size
	if desc.MediaType == "" {
		mt, err := sniffMediaType(rc)
		if err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("CTF archive %s: tag %q of repository %q: cannot determine the media type of blob %s: %w", path, tag, repository, desc.Digest, err)
		}
		desc.MediaType = mt
	}
	return desc, nil
}

// sniffMediaType guesses the media type of a manifest or index that the
// index does not describe, the way OCI clients do for schema 2 content.
func sniffMediaType(r io.Reader) (string, error) {
	var probe struct {
		MediaType string          `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
		Config    json.RawMessage `json:"config"`
		Layers    json.RawMessage `json:"layers"`
	}
	if err := json.NewDecoder(io.LimitReader(r, maxSniffSize)).Decode(&probe); err != nil {
		return "", fmt.Errorf("not a JSON manifest or index: %w", err)
	}
	switch {
	case probe.MediaType != "":
		return probe.MediaType, nil
	case probe.Manifests != nil:
		return ocispec.MediaTypeImageIndex, nil
	case probe.Config != nil || probe.Layers != nil:
		return ocispec.MediaTypeImageManifest, nil
	}
	return "", errors.New("no mediaType, manifests, config or layers field")
}

// Fetch streams the blob desc.Digest. The repository is ignored: a CTF has one
// blob store shared by all repositories. When desc.Size is set it must match
// the stored size; the caller verifies the digest.
func (a *Archive) Fetch(ctx context.Context, repository string, desc ocispec.Descriptor) (io.ReadCloser, error) {
	if err := a.check(ctx); err != nil {
		return nil, err
	}
	rc, _, err := a.open(desc.Digest, desc.Size)
	return rc, err
}

// Exists reports whether the blob desc.Digest is stored in the archive.
func (a *Archive) Exists(ctx context.Context, desc ocispec.Descriptor) (bool, error) {
	if err := a.check(ctx); err != nil {
		return false, err
	}
	name, err := a.blobName(desc.Digest)
	if err != nil {
		return false, err
	}
	if a.root == nil {
		_, ok := a.entries[name]
		return ok, nil
	}
	fi, err := a.root.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("CTF archive %s: blob %s (%s): %w", a.path, desc.Digest, name, err)
	}
	return fi.Mode().IsRegular(), nil
}

func (a *Archive) check(ctx context.Context) error {
	if a.closed.Load() {
		return fmt.Errorf("CTF archive %s: %w", a.path, os.ErrClosed)
	}
	return ctx.Err()
}

// blobName maps a digest to its file name in the archive. The digest is
// validated first, so that no input can produce a path outside blobs/.
func (a *Archive) blobName(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("CTF archive %s: %w %q: %v", a.path, errdef.ErrInvalidDigest, string(d), err)
	}
	return "blobs/" + d.Algorithm().String() + "." + d.Encoded(), nil
}

// open returns a reader for the blob d and its size. wantSize > 0 must match
// the stored size.
func (a *Archive) open(d digest.Digest, wantSize int64) (io.ReadCloser, int64, error) {
	name, err := a.blobName(d)
	if err != nil {
		return nil, 0, err
	}
	notFound := func() error {
		return fmt.Errorf("blob %s %w in CTF archive %s (%s)", d, errdef.ErrNotFound, a.path, name)
	}
	checkSize := func(size int64) error {
		if wantSize > 0 && size != wantSize {
			return fmt.Errorf("blob %s in CTF archive %s (%s): size mismatch: descriptor says %d bytes, archive holds %d", d, a.path, name, wantSize, size)
		}
		return nil
	}
	if a.root == nil {
		e, ok := a.entries[name]
		if !ok {
			return nil, 0, notFound()
		}
		if err := checkSize(e.size); err != nil {
			return nil, 0, err
		}
		return sectionReadCloser{io.NewSectionReader(e.ra, e.off, e.size)}, e.size, nil
	}
	f, err := a.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, notFound()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("CTF archive %s: opening blob %s (%s): %w", a.path, d, name, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("CTF archive %s: blob %s (%s): %w", a.path, d, name, err)
	}
	if err := checkSize(fi.Size()); err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// sectionReadCloser serves a tar entry; closing it is a no-op because the
// underlying file belongs to the Archive.
type sectionReadCloser struct {
	*io.SectionReader
}

func (sectionReadCloser) Close() error { return nil }

// memEntry wraps in-memory entry data as an io.ReaderAt.
func memEntry(data []byte) entry {
	return entry{ra: bytes.NewReader(data), size: int64(len(data))}
}
