package ctf

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"

	"github.com/ocmgo/ocm/blob"
)

// WriteOptions configures OpenWritable.
type WriteOptions struct {
	// Create the archive when it does not exist (an existing empty directory
	// counts as missing). Its format comes from the extension: .tar is a tar,
	// .tgz and .tar.gz a gzip-compressed tar, anything else a directory. An
	// existing archive keeps the format it has.
	Create bool
	// LockTimeout bounds the wait for another writer; zero means
	// DefaultLockTimeout. On timeout OpenWritable returns a *LockedError.
	LockTimeout time.Duration
	// OnWait, if set, is called once when the lock is busy, before waiting
	// (the CLI prints "waiting for ...").
	OnWait func()
	// Context, if set, interrupts the wait for the lock (Ctrl-C).
	Context context.Context
}

// Writer adds content to a CTF archive: a transaction over the archive that
// holds an exclusive lock from OpenWritable until Commit or Abort. New blobs
// are streamed to a staging directory and the index is kept in memory, so
// readers of the archive see nothing until Commit publishes everything at
// once; Abort, an error or a killed process leave the archive as it was.
//
// Writer implements ocimap.WriteStore. Its read methods see the archive's
// content and everything pushed or tagged so far. It is safe for concurrent
// use; pushes run in parallel.
type Writer struct {
	path     string // as given, for messages
	lockFile string
	abs      string // absolute, symlinks resolved: what Commit replaces
	name     string // base name of abs
	format   Format
	creating bool        // no archive at abs yet
	mode     fs.FileMode // tar/tgz: permissions of the replaced archive file
	mtime    time.Time   // tar/tgz: modification time of every entry

	lock *os.File
	base *Archive // the archive as it was when locked; nil when creating
	// root holds the staging directory: the archive itself for an existing
	// directory archive (so commit is a rename within it), otherwise its
	// parent (tar/tgz are rewritten beside it, a new directory appears by
	// renaming a sibling). Everything goes through it, so symlinks inside the
	// archive cannot redirect writes.
	root      *os.Root
	stage     string   // staging directory, relative to root
	stageRoot *os.Root // the staging directory

	stop     chan struct{} // closed by Commit/Abort so that running copies give up
	inflight sync.WaitGroup

	mu      sync.Mutex
	state   writerState
	index   Index
	emaps   *entryMaps // index lookups (writerindex.go); nil: to be built
	pending map[digest.Digest]stagedBlob
	dirty   bool // something to publish
}

type writerState int

const (
	stateOpen writerState = iota
	stateCommitted
	stateAborted
)

// stagedBlob is a verified blob waiting in the staging directory.
type stagedBlob struct {
	file string // relative to root
	size int64
}

// Names of staging directories; a random suffix of stageSuffixLen hex
// digits makes them unique and recognisable as ours when stale.
const (
	dirStagePrefix = ".ocm-staging-" // inside a directory archive
	stageInfix     = ".ocm-staging-" // beside an archive: ".<name>" + infix
	stageSuffixLen = 16
)

// copyBufferSize is the chunk size of tar copies: blob.WriteSize, the write
// size that costs least kernel time per byte.
const copyBufferSize = blob.WriteSize

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// commitHook, when set by tests, runs right before Commit makes the new
// content visible (the last rename), so a test can kill the process there.
var commitHook func()

// OpenWritable locks the CTF archive at path (see WriteOptions) and returns
// a Writer over it. The lock is the flock of the sibling file <path>.lock.
// Staging directories left by killed writers are removed here. Readers
// (Open) take no lock.
func OpenWritable(path string, opts WriteOptions) (*Writer, error) {
	if opts.LockTimeout < 0 {
		return nil, fmt.Errorf("opening CTF archive %s for writing: negative lock timeout %s", path, opts.LockTimeout)
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	w := &Writer{path: filepath.Clean(path), stop: make(chan struct{}), pending: map[digest.Digest]stagedBlob{}}
	abs, err := filepath.Abs(w.path)
	if err != nil {
		return nil, fmt.Errorf("opening CTF archive %s for writing: %w", path, err)
	}
	if b := filepath.Base(w.path); b == "." || b == ".." {
		w.path = abs // so that messages and the lock file name make sense
	}
	w.lockFile = w.path + ".lock"
	switch _, err := os.Stat(abs); {
	case err == nil:
		// Update the target of a symlink rather than replace the link.
		if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
			abs = real
			w.lockFile = abs + ".lock"
		}
	case errors.Is(err, fs.ErrNotExist) && opts.Create:
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			return nil, fmt.Errorf("creating CTF archive %s: %w", path, err)
		}
	default:
		return nil, fmt.Errorf("opening CTF archive %s for writing: %w", path, err)
	}
	w.abs, w.name = abs, filepath.Base(abs)

	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	w.lock, err = acquireLock(ctx, w.path, w.lockFile, opts.LockTimeout, opts.OnWait)
	if err != nil {
		return nil, err
	}
	if err := w.init(opts); err != nil {
		w.state = stateAborted
		return nil, errors.Join(err, w.release())
	}
	return w, nil
}

// init inspects the archive under the lock (another writer may have created
// or replaced it while we waited) and prepares staging.
func (w *Writer) init(opts WriteOptions) error {
	fi, err := os.Stat(w.abs)
	switch {
	case errors.Is(err, fs.ErrNotExist) && opts.Create:
		w.creating = true
		w.format = formatFromName(w.name)
	case err != nil:
		return fmt.Errorf("opening CTF archive %s for writing: %w", w.path, err)
	case fi.IsDir() && opts.Create && isEmptyDir(w.abs):
		w.creating = true
		w.format = FormatDirectory
	default:
		if w.base, err = Open(w.abs); err != nil {
			return err
		}
		w.format = w.base.Format()
		w.mode = fi.Mode().Perm()
	}
	if w.format != FormatDirectory {
		if w.mtime, err = tarModTime(); err != nil {
			return fmt.Errorf("CTF archive %s: %w", w.path, err)
		}
	}
	if w.base != nil {
		w.index = w.base.Index()
	} else {
		w.index = Index{SchemaVersion: 1}
	}

	parent := filepath.Dir(w.abs)
	var errs []error
	errs = append(errs, removeStale(parent, "."+w.name+stageInfix))
	home, prefix := parent, "."+w.name+stageInfix
	if w.format == FormatDirectory && !w.creating {
		errs = append(errs, removeStale(w.abs, dirStagePrefix))
		home, prefix = w.abs, dirStagePrefix
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("CTF archive %s: removing stale staging directories: %w", w.path, err)
	}
	if w.root, err = os.OpenRoot(home); err != nil {
		return fmt.Errorf("CTF archive %s: %w", w.path, err)
	}
	w.stage, err = createUnique(prefix, func(name string) error { return w.root.Mkdir(name, 0o755) })
	if err != nil {
		return fmt.Errorf("CTF archive %s: creating staging directory: %w", w.path, err)
	}
	// Staged files are created through a root of their own, so each costs
	// one openat rather than one per path element.
	if w.stageRoot, err = w.root.OpenRoot(w.stage); err != nil {
		return fmt.Errorf("CTF archive %s: opening staging directory: %w", w.path, err)
	}
	return nil
}

// formatFromName picks the format of a new archive the way the reference
// CLI does: by extension only.
func formatFromName(name string) Format {
	switch {
	case strings.HasSuffix(name, ".tar"):
		return FormatTar
	case strings.HasSuffix(name, ".tgz"), strings.HasSuffix(name, ".tar.gz"):
		return FormatTarGzip
	}
	return FormatDirectory
}

func isEmptyDir(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	return len(names) == 0 && errors.Is(err, io.EOF)
}

// removeStale deletes staging directories of killed writers: entries of dir
// named prefix + the random suffix. Only called under the archive lock, so
// no live writer owns them.
func removeStale(dir, prefix string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, de := range des {
		suffix, ok := strings.CutPrefix(de.Name(), prefix)
		if !ok || !isStageSuffix(suffix) {
			continue
		}
		errs = append(errs, os.RemoveAll(filepath.Join(dir, de.Name())))
	}
	return errors.Join(errs...)
}

func isStageSuffix(s string) bool {
	if len(s) != stageSuffixLen {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// createUnique calls create with prefix plus a fresh random suffix until the
// name is not taken.
func createUnique(prefix string, create func(name string) error) (string, error) {
	for range 100 {
		name := prefix + fmt.Sprintf("%0*x", stageSuffixLen, rand.Uint64())
		err := create(name)
		if !errors.Is(err, fs.ErrExist) {
			return name, err
		}
	}
	return "", fmt.Errorf("no unused name for %s*", prefix)
}

// tarModTime is the modification time of every tar entry: SOURCE_DATE_EPOCH
// (seconds since the epoch, see reproducible-builds.org) when set, otherwise
// 2022-01-01T00:00:00Z as OCM v1 writes.
func tarModTime() (time.Time, error) {
	v, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || v == "" {
		return time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), nil
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, fmt.Errorf("invalid SOURCE_DATE_EPOCH %q: want a non-negative number of seconds", v)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// Path returns the archive path as given to OpenWritable.
func (w *Writer) Path() string { return w.path }

// Format returns the archive's format: detected for an existing archive,
// from the extension for a new one.
func (w *Writer) Format() Format { return w.format }

// begin registers an operation so that Commit and Abort wait for it before
// touching the staging directory.
func (w *Writer) begin(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != stateOpen {
		return w.errClosed()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w.inflight.Add(1)
	return nil
}

func (w *Writer) errClosed() error {
	what := "aborted"
	if w.state == stateCommitted {
		what = "committed"
	}
	return fmt.Errorf("CTF archive %s: writer already %s: %w", w.path, what, os.ErrClosed)
}

// Repositories lists the distinct repositories, sorted.
func (w *Writer) Repositories(ctx context.Context) ([]string, error) {
	if err := w.begin(ctx); err != nil {
		return nil, err
	}
	defer w.inflight.Done()
	w.mu.Lock()
	defer w.mu.Unlock()
	repos := []string{}
	for _, a := range w.index.Artifacts {
		repos = append(repos, a.Repository)
	}
	slices.Sort(repos)
	return slices.Compact(repos), nil
}

// Tags lists the distinct tags of repository, sorted, like Archive.Tags.
func (w *Writer) Tags(ctx context.Context, repository string) ([]string, error) {
	if err := w.begin(ctx); err != nil {
		return nil, err
	}
	defer w.inflight.Done()
	w.mu.Lock()
	defer w.mu.Unlock()
	known := false
	tags := []string{}
	for _, a := range w.index.Artifacts {
		if a.Repository != repository {
			continue
		}
		known = true
		if a.Tag != "" {
			tags = append(tags, a.Tag)
		}
	}
	if !known {
		return nil, fmt.Errorf("repository %q %w in CTF archive %s", repository, errdef.ErrNotFound, w.path)
	}
	slices.Sort(tags)
	return slices.Compact(tags), nil
}

// Resolve works like Archive.Resolve on the pending index.
func (w *Writer) Resolve(ctx context.Context, repository, tag string) (ocispec.Descriptor, error) {
	if err := w.begin(ctx); err != nil {
		return ocispec.Descriptor{}, err
	}
	defer w.inflight.Done()
	if tag == "" {
		return ocispec.Descriptor{}, fmt.Errorf("resolving in repository %q of CTF archive %s: empty tag", repository, w.path)
	}
	byDigest := strings.Contains(tag, ":")
	w.mu.Lock()
	found, known := w.resolveEntry(repository, tag, byDigest)
	w.mu.Unlock()
	if !known {
		return ocispec.Descriptor{}, fmt.Errorf("repository %q %w in CTF archive %s", repository, errdef.ErrNotFound, w.path)
	}
	if found == nil {
		return ocispec.Descriptor{}, fmt.Errorf("tag %q of repository %q %w in CTF archive %s", tag, repository, errdef.ErrNotFound, w.path)
	}
	return describeEntry(w.path, repository, tag, found, w.open)
}

// Fetch streams a blob of the archive or a pending one. Readers of pending
// blobs keep working after Commit or Abort; readers of blobs of a tar or tgz
// archive stop at Commit or Abort, which close the old archive.
func (w *Writer) Fetch(ctx context.Context, repository string, desc ocispec.Descriptor) (io.ReadCloser, error) {
	if err := w.begin(ctx); err != nil {
		return nil, err
	}
	defer w.inflight.Done()
	rc, _, err := w.open(desc.Digest, desc.Size)
	return rc, err
}

// Exists reports whether the archive holds desc.Digest or it is pending.
// The repository is ignored: a CTF has one blob store.
func (w *Writer) Exists(ctx context.Context, repository string, desc ocispec.Descriptor) (bool, error) {
	if err := w.begin(ctx); err != nil {
		return false, err
	}
	defer w.inflight.Done()
	if err := validDigest(w.path, desc.Digest); err != nil {
		return false, err
	}
	_, ok, err := w.lookup(ctx, desc.Digest)
	return ok, err
}

// lookup finds a blob in the pending set or the archive and returns its size.
func (w *Writer) lookup(ctx context.Context, d digest.Digest) (int64, bool, error) {
	w.mu.Lock()
	sb, ok := w.pending[d]
	w.mu.Unlock()
	if ok {
		return sb.size, true, nil
	}
	if w.base == nil {
		return 0, false, nil
	}
	ok, err := w.base.Exists(ctx, ocispec.Descriptor{Digest: d})
	if !ok || err != nil {
		return 0, false, err
	}
	rc, size, err := w.base.open(d, 0)
	if err != nil {
		return 0, false, err
	}
	rc.Close()
	return size, true, nil
}

// open returns a reader for a pending or archived blob; wantSize > 0 must
// match.
func (w *Writer) open(d digest.Digest, wantSize int64) (io.ReadCloser, int64, error) {
	if err := validDigest(w.path, d); err != nil {
		return nil, 0, err
	}
	w.mu.Lock()
	sb, ok := w.pending[d]
	w.mu.Unlock()
	if !ok {
		if w.base == nil {
			return nil, 0, fmt.Errorf("blob %s %w in CTF archive %s", d, errdef.ErrNotFound, w.path)
		}
		return w.base.open(d, wantSize)
	}
	if wantSize > 0 && wantSize != sb.size {
		return nil, 0, fmt.Errorf("pending blob %s of CTF archive %s: size mismatch: descriptor says %d bytes, staged %d", d, w.path, wantSize, sb.size)
	}
	f, err := w.root.Open(sb.file)
	if err != nil {
		return nil, 0, fmt.Errorf("CTF archive %s: opening pending blob %s: %w", w.path, d, err)
	}
	return f, sb.size, nil
}

func validDigest(where string, d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("CTF archive %s: %w %q: %v", where, errdef.ErrInvalidDigest, string(d), err)
	}
	return nil
}

// Push stores r as desc, verifying size and digest while streaming it to the
// staging directory; on a mismatch nothing is kept. Content the archive
// already holds is not read again. Pushing a manifest or index records an
// untagged index entry for it, so that it can be resolved by digest.
func (w *Writer) Push(ctx context.Context, repository string, desc ocispec.Descriptor, r io.Reader) error {
	if err := w.begin(ctx); err != nil {
		return err
	}
	defer w.inflight.Done()
	if err := validDigest(w.path, desc.Digest); err != nil {
		return err
	}
	if desc.Size < 0 {
		return fmt.Errorf("CTF archive %s: pushing blob %s: %w %d", w.path, desc.Digest, content.ErrInvalidDescriptorSize, desc.Size)
	}
	if _, ok, err := w.lookup(ctx, desc.Digest); err != nil {
		return err
	} else if ok {
		return w.register(repository, desc, "")
	}
	// A stream that verifies itself against desc fails its last read on a
	// mismatch, so the copy fails and nothing is staged; hashing it here
	// too would only double the CPU time.
	var h hash.Hash
	if !blob.VerifiedAs(r, desc.Digest, desc.Size) {
		h = desc.Digest.Algorithm().Hash()
	}
	file, n, err := w.stageStream(ctx, r, h, desc.Size)
	if err == nil {
		switch {
		case n > desc.Size:
			err = fmt.Errorf("%w: more than the %d bytes the descriptor says", content.ErrTrailingData, desc.Size)
		case n < desc.Size:
			err = fmt.Errorf("%w: got %d of %d bytes", io.ErrUnexpectedEOF, n, desc.Size)
		case h != nil:
			if got := digest.NewDigest(desc.Digest.Algorithm(), h); got != desc.Digest {
				err = fmt.Errorf("%w: content hashes to %s", content.ErrMismatchedDigest, got)
			}
		}
		if err != nil {
			w.root.Remove(file)
		}
	}
	if err != nil {
		return fmt.Errorf("CTF archive %s: pushing blob %s to repository %q: %w", w.path, desc.Digest, repository, err)
	}
	return w.register(repository, desc, file)
}

// PushBlob stores r, hashing it with sha256 while streaming it to the
// staging directory, and returns its descriptor. When the archive already
// holds the content the staged copy is dropped.
func (w *Writer) PushBlob(ctx context.Context, repository, mediaType string, r io.Reader) (ocispec.Descriptor, error) {
	if err := w.begin(ctx); err != nil {
		return ocispec.Descriptor{}, err
	}
	defer w.inflight.Done()
	h := digest.SHA256.Hash()
	file, n, err := w.stageStream(ctx, r, h, -1)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("CTF archive %s: pushing blob to repository %q: %w", w.path, repository, err)
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.NewDigest(digest.SHA256, h), Size: n}
	if _, ok, err := w.lookup(ctx, desc.Digest); err != nil || ok {
		w.root.Remove(file)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		file = ""
	}
	return desc, w.register(repository, desc, file)
}

// register adds a verified staged file (or, with file "", content already
// present) to the transaction.
func (w *Writer) register(repository string, desc ocispec.Descriptor, file string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != stateOpen {
		if file != "" {
			w.root.Remove(file)
		}
		return w.errClosed()
	}
	if file != "" {
		if _, dup := w.pending[desc.Digest]; dup { // a concurrent push of the same content won
			w.root.Remove(file)
		} else {
			w.pending[desc.Digest] = stagedBlob{file: file, size: desc.Size}
			w.dirty = true
		}
	}
	if isManifestType(desc.MediaType) && repository != "" {
		added := w.addUntaggedEntry(ArtifactEntry{Repository: repository, Digest: desc.Digest.String(), MediaType: desc.MediaType})
		w.dirty = w.dirty || added
	}
	return nil
}

// stageStream copies r into a new file of the staging directory, feeding h
// (if not nil) on the way. With limit >= 0 it stops
// after limit+1 bytes, enough to tell that r is too long. The file is
// removed on error.
func (w *Writer) stageStream(ctx context.Context, r io.Reader, h hash.Hash, limit int64) (file string, n int64, err error) {
	var f *os.File
	file, err = createUnique("blob-", func(name string) error {
		var err error
		f, err = w.stageRoot.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		return err
	})
	file = w.stage + "/" + file
	if err != nil {
		return "", 0, fmt.Errorf("creating staging file: %w", err)
	}
	if limit >= 0 && limit < math.MaxInt64 {
		r = io.LimitReader(r, limit+1)
	}
	n, err = w.copyHashing(ctx, f, r, h)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		w.root.Remove(file)
		return "", n, err
	}
	return file, n, nil
}

// copyHashing streams r to f while h hashes the same bytes in parallel
// (blob.Copy), stopping when ctx is done or Commit/Abort begins.
func (w *Writer) copyHashing(ctx context.Context, f io.Writer, r io.Reader, h hash.Hash) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-w.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	var hw io.Writer = io.Discard
	if h != nil {
		hw = h
	}
	n, err := blob.Copy(ctx, f, r, hw)
	if err != nil && errors.Is(err, context.Canceled) {
		select {
		case <-w.stop:
			return n, errWriterClosed
		default:
		}
	}
	return n, err
}

// errWriterClosed stops copies still running when Commit or Abort begins.
var errWriterClosed = errors.New("writer committed or aborted while copying")

// tagPattern is the OCI distribution spec's tag grammar.
var tagPattern = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// Tag points repository:tag at desc, which must be in the archive or
// pending. A tag that pointed elsewhere moves; the manifest it pointed at
// stays in the index as an untagged entry, as the reference implementation
// does on a retag.
func (w *Writer) Tag(ctx context.Context, repository string, desc ocispec.Descriptor, tag string) error {
	if err := w.begin(ctx); err != nil {
		return err
	}
	defer w.inflight.Done()
	if repository == "" {
		return fmt.Errorf("CTF archive %s: tagging %s: empty repository", w.path, desc.Digest)
	}
	if !tagPattern.MatchString(tag) {
		return fmt.Errorf("CTF archive %s: tagging %s in repository %q: invalid tag %q", w.path, desc.Digest, repository, tag)
	}
	if err := validDigest(w.path, desc.Digest); err != nil {
		return err
	}
	size, ok, err := w.lookup(ctx, desc.Digest)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("CTF archive %s: tagging %s:%s: blob %s %w (push it first)", w.path, repository, tag, desc.Digest, errdef.ErrNotFound)
	}
	if desc.Size > 0 && desc.Size != size {
		return fmt.Errorf("CTF archive %s: tagging %s:%s: blob %s has %d bytes, the descriptor says %d", w.path, repository, tag, desc.Digest, size, desc.Size)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != stateOpen {
		return w.errClosed()
	}
	w.tagEntry(ArtifactEntry{Repository: repository, Tag: tag, Digest: desc.Digest.String(), MediaType: desc.MediaType})
	w.dirty = true
	return nil
}

// isManifestType reports the media types that index entries point at.
func isManifestType(mediaType string) bool {
	switch mediaType {
	case ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex,
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json":
		return true
	}
	return false
}

// setTag applies a Tag to the index entries: entries of the repository that
// carry the tag for another digest lose it, an untagged entry for the digest
// takes it (else a new entry is appended), and untagged entries that another
// entry of the repository makes redundant are dropped.
func setTag(arts []ArtifactEntry, e ArtifactEntry) []ArtifactEntry {
	arts = slices.Clone(arts)
	found := false
	for i := range arts {
		a := &arts[i]
		if a.Repository != e.Repository || a.Tag != e.Tag {
			continue
		}
		if a.Digest == e.Digest {
			found = true
			if e.MediaType != "" {
				a.MediaType = e.MediaType
			}
		} else {
			a.Tag = ""
		}
	}
	if !found {
		for i := range arts {
			a := &arts[i]
			if a.Repository == e.Repository && a.Tag == "" && a.Digest == e.Digest {
				a.Tag = e.Tag
				if e.MediaType != "" {
					a.MediaType = e.MediaType
				}
				found = true
				break
			}
		}
	}
	if !found {
		arts = append(arts, e)
	}
	// Drop untagged entries of the repository whose digest is named by a
	// tagged entry or an earlier untagged one, and repeated tagged entries.
	tagged := map[string]bool{}
	for _, a := range arts {
		if a.Repository == e.Repository && a.Tag != "" {
			tagged[a.Digest] = true
		}
	}
	seen := map[[2]string]bool{}
	return slices.DeleteFunc(arts, func(a ArtifactEntry) bool {
		if a.Repository != e.Repository {
			return false
		}
		if a.Tag == "" && tagged[a.Digest] {
			return true
		}
		k := [2]string{a.Tag, a.Digest}
		if seen[k] {
			return true
		}
		seen[k] = true
		return false
	})
}

// Commit publishes the pending content: afterwards Open sees it all, and
// before it nothing. It always ends the transaction: on error the archive
// is as it was (for a directory archive, at worst with extra unreferenced
// blobs), the staging directory is removed and the lock released.
func (w *Writer) Commit() error {
	if err := w.finish(stateCommitted); err != nil {
		return err
	}
	err := w.publish()
	return errors.Join(err, w.release())
}

// Abort discards everything pending and releases the lock; the archive is
// untouched. It is a no-op after Commit or Abort, so `defer w.Abort()` is
// the way to clean up on every path.
func (w *Writer) Abort() error {
	if w == nil || w.finish(stateAborted) != nil {
		return nil
	}
	return w.release()
}

// finish ends the open state: later calls fail, running copies stop, and
// it waits until no operation uses the staging directory.
func (w *Writer) finish(to writerState) error {
	w.mu.Lock()
	if w.state != stateOpen {
		defer w.mu.Unlock()
		return w.errClosed()
	}
	w.state = to
	close(w.stop)
	w.mu.Unlock()
	w.inflight.Wait()
	return nil
}

// release removes the staging directory, closes the old archive and
// unlocks, in that order, so the next writer finds nothing stale.
func (w *Writer) release() error {
	var errs []error
	if w.root != nil {
		if w.stageRoot != nil {
			errs = append(errs, w.stageRoot.Close())
		}
		if w.stage != "" {
			errs = append(errs, w.root.RemoveAll(w.stage))
		}
		errs = append(errs, w.root.Close())
	}
	if w.base != nil {
		errs = append(errs, w.base.Close())
	}
	if w.lock != nil {
		errs = append(errs, releaseLock(w.lock))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("CTF archive %s: cleaning up: %w", w.path, err)
	}
	return nil
}
