package ctf

import (
	"archive/tar"
	"bufio"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/ocmgo/ocm/blob"
)

// gzipLevel is the compression level of tgz archives. BestSpeed, because a
// commit rewrites the whole archive and CTF blobs are mostly compressed
// already (image layers, tarballs); the output is deterministic for a given
// Go release (compress/flate may change between releases).
const gzipLevel = gzip.BestSpeed

// orderNewEntries keeps the entries the archive already had in their order
// and sorts the ones this write added (by repository, tag, digest): they were
// appended as concurrent pushes finished, and the same content must give the
// same index bytes.
func (w *Writer) orderNewEntries(arts []ArtifactEntry) []ArtifactEntry {
	old := map[string]bool{}
	if w.base != nil {
		for _, a := range w.base.Index().Artifacts {
			old[a.Repository+"@"+a.Digest] = true
		}
	}
	var kept, added []ArtifactEntry
	for _, a := range arts {
		if old[a.Repository+"@"+a.Digest] {
			kept = append(kept, a)
		} else {
			added = append(added, a)
		}
	}
	slices.SortFunc(added, func(a, b ArtifactEntry) int {
		return cmp.Or(strings.Compare(a.Repository, b.Repository), strings.Compare(a.Tag, b.Tag), strings.Compare(a.Digest, b.Digest))
	})
	return append(kept, added...)
}

// publish makes the pending content visible. Every path ends in a single
// rename, so a crash before it leaves the archive as it was.
func (w *Writer) publish() error {
	if !w.creating && !w.dirty {
		return nil
	}
	w.index.Artifacts = w.orderNewEntries(w.index.Artifacts)
	w.emaps = nil
	index, err := json.Marshal(w.index)
	if err == nil {
		switch {
		case w.format == FormatDirectory && !w.creating:
			err = w.publishIntoDir(index)
		case w.format == FormatDirectory:
			err = w.publishNewDir(index)
		default:
			err = w.publishArchive(index)
		}
	}
	if err != nil {
		return fmt.Errorf("committing CTF archive %s: %w", w.path, err)
	}
	return nil
}

// stagedByName returns the staged blobs keyed by archive file name
// (blobs/<alg>.<hex>) and the sorted names.
func (w *Writer) stagedByName() (map[string]stagedBlob, []string) {
	m := make(map[string]stagedBlob, len(w.pending))
	for d, sb := range w.pending {
		m["blobs/"+d.Algorithm().String()+"."+d.Encoded()] = sb
	}
	return m, slices.Sorted(maps.Keys(m))
}

// moveStaged renames the staged blobs into dir (relative to root; "" is
// root itself) and returns their new names. They are not durable yet: the
// caller syncs them together with the new index (syncFiles).
func (w *Writer) moveStaged(dir string) ([]string, error) {
	staged, names := w.stagedByName()
	if len(names) == 0 {
		return nil, nil
	}
	if err := w.root.MkdirAll(dir+"blobs", 0o755); err != nil {
		return nil, err
	}
	moves := make([][2]string, 0, len(names))
	moved := make([]string, 0, len(names))
	for _, name := range names {
		moves = append(moves, [2]string{staged[name].file, dir + name})
		moved = append(moved, dir+name)
	}
	return moved, renameAll(w.root, w.stage, dir+"blobs", moves)
}

// publishIntoDir updates a directory archive in place: blobs first (readers
// ignore blobs the index does not name), then, once blobs and the new index
// are durable, the index by rename. The blobs are made durable before they
// move into the archive too: a later writer takes a blob file it finds
// there as present, so none may appear there that a crash could truncate.
func (w *Writer) publishIntoDir(index []byte) error {
	if len(w.pending) > 0 {
		staged, names := w.stagedByName()
		files := make([]string, 0, len(names))
		for _, name := range names {
			files = append(files, staged[name].file)
		}
		if err := syncFiles(w.root, files); err != nil {
			return err
		}
	}
	moved, err := w.moveStaged("")
	if err != nil {
		return err
	}
	tmp := w.stage + "/" + IndexFileName
	if err := writeRootFile(w.root, tmp, index); err != nil {
		return err
	}
	if err := syncFiles(w.root, append(moved, tmp)); err != nil {
		return err
	}
	runCommitHook()
	if err := w.root.Rename(tmp, IndexFileName); err != nil {
		return err
	}
	return syncDir(w.root, ".")
}

// publishNewDir builds the archive inside the staging directory and renames
// it into place, so the path appears complete or not at all.
func (w *Writer) publishNewDir(index []byte) error {
	dir := w.stage + "/archive"
	if err := w.root.Mkdir(dir, 0o755); err != nil {
		return err
	}
	if err := w.root.Mkdir(dir+"/blobs", 0o755); err != nil {
		return err
	}
	moved, err := w.moveStaged(dir + "/")
	if err != nil {
		return err
	}
	if err := writeRootFile(w.root, dir+"/"+IndexFileName, index); err != nil {
		return err
	}
	if err := syncFiles(w.root, append(moved, dir+"/"+IndexFileName)); err != nil {
		return err
	}
	runCommitHook()
	// An empty directory stood in for the archive (WriteOptions.Create);
	// rename cannot replace a directory, and Remove only takes empty ones.
	if err := w.root.Remove(w.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := w.root.Rename(dir, w.name); err != nil {
		return err
	}
	return syncDir(w.root, ".")
}

// publishArchive writes a complete new tar or tgz beside the old one and
// renames it over it.
func (w *Writer) publishArchive(index []byte) error {
	tmp := w.stage + "/archive.tmp"
	f, err := w.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	err = w.writeTar(f, index)
	if err == nil && w.mode != 0 {
		err = f.Chmod(w.mode) // keep the permissions of the archive we replace
	}
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return err
	}
	runCommitHook()
	if err := w.root.Rename(tmp, w.name); err != nil {
		return err
	}
	return syncDir(w.root, ".")
}

// tarSource is one blob of the new tar: an entry of the old archive (read
// in place for tar, from the reader's spool for tgz) or a staged file.
type tarSource struct {
	size int64
	open func() (io.ReadCloser, error)
}

// writeTar writes the archive: artifact-index.json, the blobs/ directory,
// then every blob sorted by name, with fixed metadata so that the same
// content always gives the same bytes.
func (w *Writer) writeTar(f *os.File, index []byte) error {
	sources := map[string]tarSource{}
	if w.base != nil {
		for name, e := range w.base.entries {
			if strings.HasPrefix(name, "blobs/") {
				sources[name] = tarSource{size: e.size, open: func() (io.ReadCloser, error) {
					return sectionReadCloser{io.NewSectionReader(e.ra, e.off, e.size)}, nil
				}}
			}
		}
	}
	staged, _ := w.stagedByName()
	for name, sb := range staged {
		sources[name] = tarSource{size: sb.size, open: func() (io.ReadCloser, error) { return w.root.Open(sb.file) }}
	}

	bw := bufio.NewWriterSize(f, copyBufferSize)
	var out io.Writer = bw
	var zw *gzip.Writer
	if w.format == FormatTarGzip {
		zw, _ = gzip.NewWriterLevel(bw, gzipLevel) // zero Header: no name, mtime 0
		out = zw
	}
	tw := tar.NewWriter(out)
	if err := tw.WriteHeader(w.tarHeader(IndexFileName, int64(len(index)))); err != nil {
		return err
	}
	if _, err := tw.Write(index); err != nil {
		return err
	}
	if err := tw.WriteHeader(w.tarHeader("blobs/", -1)); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(sources)) {
		if err := w.tarBlob(tw, name, sources[name]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func (w *Writer) tarBlob(tw *tar.Writer, name string, src tarSource) error {
	rc, err := src.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := tw.WriteHeader(w.tarHeader(name, src.size)); err != nil {
		return err
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	n, err := blob.CopyChunks(context.Background(), tw, rc, *bp)
	if err == nil && n != src.size {
		err = fmt.Errorf("%s: read %d of %d bytes", name, n, src.size)
	}
	return err
}

// tarHeader is the header of a regular file, or with size < 0 of a
// directory: fixed mtime, owner 0:0 without names, modes 0644/0755. The
// format is USTAR unless a field does not fit (then PAX); both are
// deterministic.
func (w *Writer) tarHeader(name string, size int64) *tar.Header {
	if size < 0 {
		return &tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: w.mtime}
	}
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: w.mtime}
}

func runCommitHook() {
	if commitHook != nil {
		commitHook()
	}
}

// syncDir fsyncs a directory of root so that renames into it are durable.
func syncDir(root *os.Root, name string) error {
	d, err := root.Open(name)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// writeRootFile writes data to a new file of root (not synced: see syncFiles).
func writeRootFile(root *os.Root, name string, data []byte) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return errors.Join(err, f.Close())
}
