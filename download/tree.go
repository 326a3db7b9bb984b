package download

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/archive"
	"github.com/ocmgo/ocm/blob"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// ErrTreeDiffers is wrapped by the error of a tree verification that found
// differences (a *TreeError lists them).
var ErrTreeDiffers = errors.New("directory differs from the resource")

// ErrNotATree is wrapped when a resource's content is a single file, not
// an archive or OCI artifact that unpacks to a directory.
var ErrNotATree = errors.New("resource content is not a directory tree")

// DiffKind names how an entry differs.
type DiffKind string

const (
	DiffMissing DiffKind = "missing"        // in the resource, not on disk
	DiffExtra   DiffKind = "extra"          // on disk, not in the resource
	DiffContent DiffKind = "content"        // a file's bytes
	DiffType    DiffKind = "type"           // file, directory or symlink
	DiffMode    DiffKind = "mode"           // permission bits
	DiffLink    DiffKind = "symlink target" // where a symlink points
	DiffRead    DiffKind = "unreadable"     // the entry on disk could not be read
)

// Difference is one entry that differs; Want is the resource's side, Got
// the directory's.
type Difference struct {
	Path      string
	Kind      DiffKind
	Want, Got string
}

func (d Difference) String() string {
	switch d.Kind {
	case DiffMissing, DiffExtra:
		return fmt.Sprintf("%s: %s (%s)", d.Path, d.Kind, strings.TrimSpace(d.Want+d.Got))
	}
	return fmt.Sprintf("%s: %s differs: want %s, got %s", d.Path, d.Kind, d.Want, d.Got)
}

// TreeError is returned when the directory differs from the resource.
type TreeError struct {
	Dir         string
	Differences []Difference
}

func (e *TreeError) Error() string {
	return fmt.Sprintf("%s: %d difference(s) from the resource, first %s", e.Dir, len(e.Differences), e.Differences[0])
}

func (e *TreeError) Unwrap() error { return ErrTreeDiffers }

// TreeOptions tune a tree verification.
type TreeOptions struct {
	// External reaches content outside the repository.
	External *access.Fetcher
	// ExactModes compares permission bits exactly as the archive records
	// them (trees unpacked by tools that keep modes, e.g. tar -p). By
	// default a tree as downloads write it passes: files 0644 or 0755 after
	// the umask; what must match is the owner's execute bit, and no bit the
	// archive does not grant (write for others, setuid) may be set.
	ExactModes bool
	// Digest, for VerifyTreeFromArchive, is the digest the archive file must
	// have ("sha256:…"); empty checks none.
	Digest digest.Digest
}

// TreeReport says what was compared and what differs.
type TreeReport struct {
	Dir string
	// Digest is the content digest of the stored blob (the manifest digest
	// of a native OCI artifact), as for a download.
	Digest digest.Digest
	// Verified lists what was checked of the content before the comparison.
	Verified []string
	// Entries is the number of entries (files, directories, symlinks) of
	// the resource, the root excluded.
	Entries     int
	Differences []Difference
}

// VerifyTree compares dir, a directory that a download of resource index
// of cv unpacked (or that was otherwise extracted from the resource), with
// the resource: the content is streamed from repo and verified against its
// content and resource digests, then every entry is compared: missing,
// extra and changed files, types, modes and symlink targets. Tar archives
// (gzip-compressed or not) compare with their entries; native OCI
// artifacts (Helm charts, image layouts) with the OCI image layout a
// download writes. Differences return a *TreeError with the report.
func VerifyTree(ctx context.Context, repo repository.Repository, cv *descriptor.Descriptor, index int, dir string, opts TreeOptions) (*TreeReport, error) {
	res := &cv.Component.Resources[index]
	what := fmt.Sprintf("resource %s of %s:%s", cv.Component.ResourceIdentities()[index], cv.Component.Name, cv.Component.Version)
	rep, err := verifyTree(ctx, repo, cv, res, dir, opts)
	var te *TreeError
	if err != nil && !errors.As(err, &te) {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return rep, err
}

func verifyTree(ctx context.Context, repo repository.Repository, cv *descriptor.Descriptor, res *descriptor.Resource, dir string, opts TreeOptions) (*TreeReport, error) {
	if res.Access == nil || res.Access.IsNone() {
		return nil, fmt.Errorf("has no content (no access)")
	}
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	desc, fetcher, done, err := openContent(ctx, repo, cv, res, opts.External)
	if err != nil {
		return nil, err
	}
	defer done()
	tree := newExpectedTree()
	rep := &TreeReport{Dir: dir, Digest: desc.Digest}
	if ocimap.IsManifest(desc.MediaType) {
		checked, write, err := artifactLayout(ctx, fetcher, desc, res)
		if err != nil {
			return nil, err
		}
		if err := write(tree); err != nil {
			return nil, err
		}
		rep.Verified = checked
	} else {
		kind := classify(desc.MediaType)
		if kind != kindTar && kind != kindTarGzip {
			return nil, fmt.Errorf("%w: media type %q is neither a tar archive nor an OCI artifact", ErrNotATree, desc.MediaType)
		}
		rc, verifier, checked, err := fetchVerifying(ctx, fetcher, desc, res)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		if isArtifactDigest(res.Digest) {
			checked, err = readArtifactSetTree(ctx, verifier.TeeReader(rc), verifier, desc, res, kind, tree, checked)
		} else {
			err = readTarTree(ctx, verifier.TeeReader(rc), kind == kindTarGzip, tree)
			// The digests are checked even when the archive did not parse: a
			// mismatch names the cause (content not as signed) better than
			// the decoder's error.
			if derr := drainAndFinish(verifier.TeeReader(rc), verifier, desc); derr != nil && ctx.Err() == nil {
				err = derr
			}
		}
		if err != nil {
			return nil, err
		}
		rep.Verified = checked
	}
	return rep, tree.compare(dir, opts.ExactModes, rep)
}

// VerifyTreeFromArchive compares dir with the tar archive (gzip-compressed
// or not) at archivePath, with no repository: for trees unpacked from a
// file that travelled on its own. With opts.Digest the archive must have
// that digest.
func VerifyTreeFromArchive(ctx context.Context, archivePath, dir string, opts TreeOptions) (*TreeReport, error) {
	rep, err := verifyTreeFromArchive(ctx, archivePath, dir, opts)
	var te *TreeError
	if err != nil && !errors.As(err, &te) {
		return nil, fmt.Errorf("archive %s: %w", archivePath, err)
	}
	return rep, err
}

func verifyTreeFromArchive(ctx context.Context, archivePath, dir string, opts TreeOptions) (*TreeReport, error) {
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	f, err := os.Open(archivePath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var exps []blob.Expectation
	var checked []string
	if opts.Digest != "" {
		if err := opts.Digest.Validate(); err != nil {
			return nil, fmt.Errorf("digest %q: %w", opts.Digest, err)
		}
		exps = append(exps, blob.Expectation{Algorithm: string(opts.Digest.Algorithm()), Value: opts.Digest.Encoded(), What: "archive digest"})
		checked = append(checked, "archive digest "+opts.Digest.String())
	}
	verifier, err := blob.NewVerifier(exps...)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(verifier.TeeReader(f), 1<<20)
	magic, _ := br.Peek(2)
	gz := bytes.Equal(magic, []byte{0x1f, 0x8b})
	tree := newExpectedTree()
	rerr := readTarTree(ctx, br, gz, tree)
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, err
	}
	if err := verifier.Verify(); err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, rerr
	}
	rep := &TreeReport{Dir: dir, Verified: checked}
	return rep, tree.compare(dir, opts.ExactModes, rep)
}

func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

// readArtifactSetTree handles a tar whose resource digest is the digest of
// the OCI artifact inside (ociArtifactDigest/v1): that digest is read from
// the whole archive, so it is spooled to a temp file, verified, then read.
func readArtifactSetTree(ctx context.Context, src io.Reader, verifier *blob.Verifier, desc ocispec.Descriptor, res *descriptor.Resource, kind blobKind, tree *expectedTree, checked []string) ([]string, error) {
	tmp, err := os.CreateTemp("", "ocm-verify-tree-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if checked, err = spoolArtifactSet(ctx, tmp, src, verifier, desc, res, checked); err != nil {
		return nil, err
	}
	return checked, readTarTree(ctx, tmp, kind == kindTarGzip, tree)
}

// readTarTree reads the entries of a tar stream into tree, by the rules of
// ExtractTar: names checked by archive.EntryName, links kept inside, only
// files, directories and links.
func readTarTree(ctx context.Context, r io.Reader, gz bool, tree *expectedTree) error {
	var zr *gzip.Reader
	if gz {
		var err error
		if zr, err = gzip.NewReader(bufio.NewReaderSize(r, 1<<20)); err != nil {
			return fmt.Errorf("decompressing: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	for {
		h, name, err := nextEntry(ctx, tr)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		mode := uint32(h.Mode) & 0o7777
		switch h.Typeflag {
		case tar.TypeDir:
			err = tree.addDir(name, mode)
		case tar.TypeReg:
			err = tree.addFile(name, mode, tr, -1)
		case tar.TypeSymlink:
			if err = checkLinkTarget(name, h.Linkname, true); err == nil {
				err = tree.add(name, &expEntry{kind: entrySymlink, link: h.Linkname})
			}
		case tar.TypeLink:
			target, terr := archive.EntryName(h.Linkname)
			if terr != nil || target == "." {
				return fmt.Errorf("tar entry %q: hard link target %q leaves the archive", h.Name, h.Linkname)
			}
			err = tree.addHardLink(name, target)
		case tar.TypeXGlobalHeader, tar.TypeXHeader:
		default:
			return fmt.Errorf("tar entry %q: type %q not allowed (only files, directories and links)", h.Name, string(h.Typeflag))
		}
		if err != nil {
			return fmt.Errorf("tar entry %q: %w", h.Name, err)
		}
	}
	if zr != nil {
		return blob.FinishGzip(zr)
	}
	return nil
}

type entryKind int

const (
	entryFile entryKind = iota
	entryDir
	entrySymlink
)

func (k entryKind) String() string {
	switch k {
	case entryDir:
		return "directory"
	case entrySymlink:
		return "symlink"
	}
	return "file"
}

// expEntry is an entry of the resource's tree.
type expEntry struct {
	kind entryKind
	// mode is the archive's permission bits (with setuid, setgid, sticky);
	// explicit is false for directories only implied by a path.
	mode     uint32
	explicit bool
	size     int64
	sum      [sha256.Size]byte
	link     string
}

// expectedTree is the resource's tree as a download unpacks it; it is also
// the layoutWriter that OCI artifacts are written to.
type expectedTree struct {
	entries map[string]*expEntry
}

func newExpectedTree() *expectedTree { return &expectedTree{entries: map[string]*expEntry{}} }

// add records an entry and the directories above it; an entry given twice
// is refused (downloads refuse it too), except a directory.
func (t *expectedTree) add(name string, e *expEntry) error {
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		switch p, ok := t.entries[dir]; {
		case !ok:
			t.entries[dir] = &expEntry{kind: entryDir}
		case p.kind != entryDir:
			return fmt.Errorf("%s lies below %s, which is a %s", name, dir, p.kind)
		}
	}
	if old, ok := t.entries[name]; ok {
		if old.kind == entryDir && e.kind == entryDir {
			if e.explicit {
				*old = *e
			}
			return nil
		}
		return fmt.Errorf("the archive holds %s twice", name)
	}
	t.entries[name] = e
	return nil
}

func (t *expectedTree) addDir(name string, mode uint32) error {
	return t.add(name, &expEntry{kind: entryDir, mode: mode, explicit: true})
}

// addFile hashes a file's content; n >= 0 is the size it must have.
func (t *expectedTree) addFile(name string, mode uint32, r io.Reader, n int64) error {
	h := sha256.New()
	got, err := io.Copy(h, r)
	if err != nil {
		return err
	}
	if n >= 0 && got != n {
		return fmt.Errorf("%d bytes, expected %d", got, n)
	}
	e := &expEntry{kind: entryFile, mode: mode, explicit: true, size: got}
	h.Sum(e.sum[:0])
	return t.add(name, e)
}

func (t *expectedTree) addHardLink(name, target string) error {
	e, ok := t.entries[target]
	if !ok || e.kind != entryFile {
		return fmt.Errorf("hard link to %q, which is not a file before it in the archive", target)
	}
	c := *e
	return t.add(name, &c)
}

// put makes expectedTree a layoutWriter: layout files are written 0644.
func (t *expectedTree) put(name string, n int64, r io.Reader) error {
	return t.addFile(name, 0o644, io.LimitReader(r, n), n)
}

// compare walks dir against the tree; rep gets the entry count and the
// differences, sorted by path, and the result is a *TreeError when there
// are any.
func (t *expectedTree) compare(dir string, exact bool, rep *TreeReport) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	rep.Entries = len(t.entries)
	var diffs []Difference
	// Below a path that is missing or of another type, nothing more is
	// said: the first difference names the cause.
	var cut []string
	below := func(p string) bool {
		return slices.ContainsFunc(cut, func(c string) bool { return strings.HasPrefix(p, c+"/") })
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range t.entries {
			if !yield(n) {
				return
			}
		}
	})
	for _, name := range names {
		if below(name) {
			continue
		}
		e := t.entries[name]
		fi, err := root.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			diffs = append(diffs, Difference{Path: name, Kind: DiffMissing, Want: e.kind.String()})
			cut = append(cut, name)
			continue
		}
		if err != nil {
			diffs = append(diffs, Difference{Path: name, Kind: DiffRead, Want: e.kind.String(), Got: err.Error()})
			cut = append(cut, name)
			continue
		}
		got := kindOf(fi)
		if got != e.kind {
			g := got.String()
			if fi.Mode()&fs.ModeType != 0 && got == entryFile {
				g = fi.Mode().Type().String()
			}
			diffs = append(diffs, Difference{Path: name, Kind: DiffType, Want: e.kind.String(), Got: g})
			cut = append(cut, name)
			continue
		}
		switch e.kind {
		case entrySymlink:
			target, err := root.Readlink(name)
			if err != nil {
				diffs = append(diffs, Difference{Path: name, Kind: DiffRead, Want: "symlink", Got: err.Error()})
			} else if target != e.link {
				diffs = append(diffs, Difference{Path: name, Kind: DiffLink, Want: e.link, Got: target})
			}
			continue
		case entryFile:
			if d, ok := compareFile(root, name, e); !ok {
				diffs = append(diffs, d)
			}
		}
		if want, got, ok := modeOK(e, unixMode(fi.Mode()), exact); !ok {
			diffs = append(diffs, Difference{Path: name, Kind: DiffMode, Want: want, Got: got})
		}
	}
	// What the directory holds beyond the resource.
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			diffs = append(diffs, Difference{Path: p, Kind: DiffRead, Got: err.Error()})
			return nil
		}
		if p == "." {
			return nil
		}
		e, ok := t.entries[p]
		if !ok {
			diffs = append(diffs, Difference{Path: p, Kind: DiffExtra, Got: kindOfType(d.Type()).String()})
		}
		if d.IsDir() && (!ok || e.kind != entryDir) {
			return fs.SkipDir // reported above, or as a type difference
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortStableFunc(diffs, func(a, b Difference) int { return strings.Compare(a.Path, b.Path) })
	rep.Differences = diffs
	if len(diffs) > 0 {
		return &TreeError{Dir: dir, Differences: diffs}
	}
	return nil
}

func compareFile(root *os.Root, name string, e *expEntry) (Difference, bool) {
	want := fmt.Sprintf("%d bytes sha256:%s", e.size, hex.EncodeToString(e.sum[:]))
	f, err := root.Open(name)
	if err != nil {
		return Difference{Path: name, Kind: DiffRead, Want: "file", Got: err.Error()}, false
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Difference{Path: name, Kind: DiffRead, Want: "file", Got: err.Error()}, false
	}
	if n != e.size || !bytes.Equal(h.Sum(nil), e.sum[:]) {
		return Difference{Path: name, Kind: DiffContent, Want: want, Got: fmt.Sprintf("%d bytes sha256:%x", n, h.Sum(nil))}, false
	}
	return Difference{}, true
}

func kindOf(fi fs.FileInfo) entryKind { return kindOfType(fi.Mode().Type()) }

// kindOfType maps a file type; devices, FIFOs and sockets count as files
// of another type and are reported as such.
func kindOfType(t fs.FileMode) entryKind {
	switch {
	case t&fs.ModeDir != 0:
		return entryDir
	case t&fs.ModeSymlink != 0:
		return entrySymlink
	}
	return entryFile
}

// unixMode is the permission bits of m with setuid, setgid and sticky as
// the archive writes them.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

// modeOK applies the mode rule (see TreeOptions.ExactModes) and returns
// both sides in octal for the report.
func modeOK(e *expEntry, disk uint32, exact bool) (string, string, bool) {
	got := fmt.Sprintf("%04o", disk)
	if exact && e.explicit {
		return fmt.Sprintf("%04o", e.mode), got, disk == e.mode
	}
	// What a download writes: directories 0755, files 0644 or 0755.
	written := uint32(0o755)
	if e.kind == entryFile && e.mode&0o111 == 0 {
		written = 0o644
	}
	allowed := written
	if e.explicit {
		allowed |= e.mode
	}
	ok := disk&^allowed == 0
	if e.kind == entryFile {
		ok = ok && (disk&0o100 != 0) == (written&0o100 != 0)
	}
	want := fmt.Sprintf("%04o", written)
	if e.kind == entryFile && written&0o100 != 0 {
		want += " (executable)"
	} else if e.kind == entryFile {
		want += " (not executable)"
	}
	return want, got, ok
}
