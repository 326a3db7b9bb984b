package constructor

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DirInput is the Dir/v1 input: a directory tree as a reproducible tar.
//
// The tar holds the tree's entries in lexical walk order (each directory's
// names sorted, a directory before its contents, as filepath.WalkDir visits
// them). Headers carry no owner (uid/gid 0, no user or group names) and
// mtime 0 (1970-01-01); modes are normalised to 0755 for directories, 0755
// for files with any executable bit and 0644 for other files, 0777 for
// symlinks. So the same tree always gives the same bytes, wherever it was
// checked out. The root directory gets no entry unless preserveDir is set,
// in which case every name starts with the directory's base name.
//
// Symlinks: without followSymlinks, a symlink whose target stays inside the
// tree (checked both lexically and after resolving it) is stored as a
// symlink entry (an absolute target is rewritten relative to the link); one
// that points outside the tree is an error. With followSymlinks, the target's
// content is stored under the link's name (a linked directory is walked;
// cycles are errors). Devices, sockets and pipes are errors.
//
// includeFiles and excludeFiles are path.Match globs over the slash
// separated path as it appears in the tar (relative to the directory, with
// the directory's name in front when preserveDir is set; a leading "./" or
// "/" in a pattern is ignored). `*` does not cross `/`, so "*.yaml" matches
// top-level files only and "*/*.yaml" those one level down. Exclusion wins:
// an excluded file is left out, an excluded directory with everything in it.
// With include patterns, only files, symlinks and directories matching one
// are stored; directories are still descended into, and a directory that
// holds something stored gets its entry too. These are the reference's
// semantics, except that the reference omits the entries of directories that
// do not match themselves.
type DirInput struct {
	Path           string   `json:"path"`
	MediaType      string   `json:"mediaType,omitempty"` // default application/x-tar
	Compress       bool     `json:"compress,omitempty"`  // gzip; media type gets +gzip
	PreserveDir    bool     `json:"preserveDir,omitempty"`
	FollowSymlinks bool     `json:"followSymlinks,omitempty"`
	IncludeFiles   []string `json:"includeFiles,omitempty"`
	ExcludeFiles   []string `json:"excludeFiles,omitempty"`
	// Reproducible is accepted for compatibility; the tar always is.
	Reproducible bool `json:"reproducible,omitempty"`
}

// DefaultDirMediaType is the media type of an uncompressed directory tar.
const DefaultDirMediaType = "application/x-tar"

func checkDir(p *parser, path string, m map[string]any) {
	requirePath(p, path, m)
	for _, key := range []string{"includeFiles", "excludeFiles"} {
		l, _ := m[key].([]any)
		for i, v := range l {
			pattern, ok := v.(string)
			if !ok {
				continue // reported already
			}
			if err := validPattern(normalizePattern(pattern)); err != nil {
				p.fail(fmt.Sprintf("%s[%d]", join(path, key), i), "invalid pattern %q: %v", v, err)
			}
		}
	}
}

func normalizePattern(s string) string {
	s = strings.TrimPrefix(s, "./")
	return strings.TrimPrefix(s, "/")
}

// tarEntry is one entry of a directory tar, found while walking the tree.
type tarEntry struct {
	name string // slash path in the archive, without a trailing slash
	typ  byte   // tar.TypeDir, tar.TypeReg or tar.TypeSymlink
	src  string // file to copy (TypeReg)
	size int64
	mode int64
	link string // TypeSymlink target
}

func openDir(ctx context.Context, raw []byte, w *where) (*Content, error) {
	var in DirInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, w.wrap("", err)
	}
	root := w.resolve(in.Path)
	fi, err := os.Stat(root)
	if err != nil {
		return nil, w.wrap("path", err)
	}
	if !fi.IsDir() {
		return nil, w.errorf("path", "%s is not a directory", root)
	}
	if in.MediaType == OCILayoutMediaType || in.MediaType == OCILayoutGzipMediaType {
		// The directory is an OCI image layout: stored as a native OCI
		// artifact, as the reference unpacks layout tars into the
		// repository, so registry clients can pull it after a transfer.
		switch {
		case in.PreserveDir:
			return nil, w.errorf("preserveDir", "not supported for an OCI image layout (index.json must be at the top)")
		case len(in.IncludeFiles) > 0 || len(in.ExcludeFiles) > 0:
			return nil, w.errorf("includeFiles", "file filters are not supported for an OCI image layout (every blob it lists is needed)")
		}
		art, err := openLayoutDir(ctx, root, "")
		if err != nil {
			return nil, w.wrap("path", err)
		}
		return &Content{Artifact: art}, nil
	}
	entries, err := walkTree(ctx, root, &in)
	if err != nil {
		return nil, w.wrap("path", err)
	}
	mt := in.MediaType
	if mt == "" {
		mt = DefaultDirMediaType
	}
	c := &Content{
		MediaType: mt,
		Size:      -1,
		Open: func() (io.ReadCloser, error) {
			pr, pw := io.Pipe()
			go func() {
				pw.CloseWithError(w.wrap("path", writeTar(pw, entries)))
			}()
			return pr, nil
		},
	}
	if in.Compress {
		c = compressed(c)
	}
	return c, nil
}

type treeWalker struct {
	ctx      context.Context
	root     string // the directory as resolved, lexically
	realRoot string // the directory with all symlinks resolved
	in       *DirInput
	include  []string
	exclude  []string
	active   map[string]bool // real paths of the directories being walked
	entries  []tarEntry
}

func walkTree(ctx context.Context, root string, in *DirInput) ([]tarEntry, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	tw := &treeWalker{ctx: ctx, root: root, realRoot: realRoot, in: in, active: map[string]bool{}}
	for _, p := range in.IncludeFiles {
		tw.include = append(tw.include, normalizePattern(p))
	}
	for _, p := range in.ExcludeFiles {
		tw.exclude = append(tw.exclude, normalizePattern(p))
	}
	if in.PreserveDir {
		base := filepath.Base(root)
		if base == string(filepath.Separator) || base == "." {
			return nil, fmt.Errorf("preserveDir needs a directory with a name, not %s", root)
		}
		if tw.excluded(base) {
			return nil, nil
		}
		err = tw.dirEntry(tw.root, base, realRoot)
		return tw.entries, err
	}
	err = tw.walk(tw.root, "", realRoot)
	return tw.entries, err
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

func (tw *treeWalker) excluded(name string) bool { return matchAny(tw.exclude, name) }

func (tw *treeWalker) included(name string) bool {
	return len(tw.include) == 0 || matchAny(tw.include, name)
}

// dirEntry adds a directory entry followed by the directory's contents; with
// include patterns, the entry is dropped again if neither it nor anything in
// it was included.
func (tw *treeWalker) dirEntry(osPath, name, realPath string) error {
	at := len(tw.entries)
	tw.entries = append(tw.entries, tarEntry{name: name, typ: tar.TypeDir, mode: 0o755})
	if err := tw.walk(osPath, name, realPath); err != nil {
		return err
	}
	if len(tw.entries) == at+1 && !tw.included(name) {
		tw.entries = tw.entries[:at]
	}
	return nil
}

// walk adds the contents of the directory osPath, whose archive name is name
// ("" for the root) and whose real path is realPath.
func (tw *treeWalker) walk(osPath, name, realPath string) error {
	if err := tw.ctx.Err(); err != nil {
		return err
	}
	if tw.active[realPath] {
		return fmt.Errorf("symlink cycle: %s leads back to %s", osPath, realPath)
	}
	tw.active[realPath] = true
	defer delete(tw.active, realPath)

	dirEntries, err := os.ReadDir(osPath)
	if err != nil {
		return err
	}
	names := make([]string, len(dirEntries))
	for i, d := range dirEntries {
		names[i] = d.Name()
	}
	slices.Sort(names)
	for _, n := range names {
		childOS := filepath.Join(osPath, n)
		childName := n
		if name != "" {
			childName = name + "/" + n
		}
		if tw.excluded(childName) {
			continue
		}
		lfi, err := os.Lstat(childOS)
		if err != nil {
			return err
		}
		switch mode := lfi.Mode(); {
		case mode&fs.ModeSymlink != 0:
			if err := tw.symlink(childOS, childName); err != nil {
				return err
			}
		case mode.IsDir():
			if err := tw.dirEntry(childOS, childName, filepath.Join(realPath, n)); err != nil {
				return err
			}
		case mode.IsRegular():
			if tw.included(childName) {
				tw.entries = append(tw.entries, fileEntry(childOS, childName, lfi))
			}
		default:
			return fmt.Errorf("%s is not a regular file, directory or symlink (%s)", childOS, mode.Type())
		}
	}
	return nil
}

func fileEntry(osPath, name string, fi fs.FileInfo) tarEntry {
	mode := int64(0o644)
	if fi.Mode()&0o111 != 0 {
		mode = 0o755
	}
	return tarEntry{name: name, typ: tar.TypeReg, src: osPath, size: fi.Size(), mode: mode}
}

func (tw *treeWalker) symlink(linkOS, name string) error {
	if tw.in.FollowSymlinks {
		fi, err := os.Stat(linkOS)
		if err != nil {
			return fmt.Errorf("following symlink %s: %w", linkOS, err)
		}
		switch {
		case fi.IsDir():
			real, err := filepath.EvalSymlinks(linkOS)
			if err != nil {
				return fmt.Errorf("following symlink %s: %w", linkOS, err)
			}
			return tw.dirEntry(linkOS, name, real)
		case fi.Mode().IsRegular():
			if tw.included(name) {
				tw.entries = append(tw.entries, fileEntry(linkOS, name, fi))
			}
			return nil
		default:
			return fmt.Errorf("symlink %s leads to %s, which is not a regular file or directory", linkOS, fi.Mode().Type())
		}
	}
	if !tw.included(name) {
		return nil
	}
	target, err := os.Readlink(linkOS)
	if err != nil {
		return err
	}
	linkname, err := tw.checkLink(linkOS, target)
	if err != nil {
		return err
	}
	tw.entries = append(tw.entries, tarEntry{name: name, typ: tar.TypeSymlink, mode: 0o777, link: linkname})
	return nil
}

// checkLink makes sure a symlink's target stays inside the tree, both as
// written and with every symlink on the way resolved; it returns the link
// target to store (relative targets as written, absolute ones made relative).
func (tw *treeWalker) checkLink(linkOS, target string) (string, error) {
	outside := func(to string) error {
		return fmt.Errorf("symlink %s -> %s points outside the directory %s (to %s); set followSymlinks to store the target's content instead", linkOS, target, tw.root, to)
	}
	lexical := filepath.FromSlash(target)
	abs := filepath.IsAbs(lexical)
	if abs {
		lexical = filepath.Clean(lexical)
		if rel, ok := within(tw.realRoot, lexical); ok && !isWithin(tw.root, lexical) {
			lexical = filepath.Join(tw.root, rel) // same place, seen through the path we walk
		}
	} else {
		lexical = filepath.Join(filepath.Dir(linkOS), lexical)
	}
	if !isWithin(tw.root, lexical) {
		return "", outside(lexical)
	}
	resolved, err := filepath.EvalSymlinks(linkOS)
	switch {
	case err == nil:
		if !isWithin(tw.realRoot, resolved) {
			return "", outside(resolved)
		}
	case errors.Is(err, fs.ErrNotExist):
		// A dangling link; the lexical check above is all there is.
	default:
		return "", fmt.Errorf("resolving symlink %s: %w", linkOS, err)
	}
	if !abs {
		return filepath.ToSlash(target), nil
	}
	rel, err := filepath.Rel(filepath.Dir(linkOS), lexical)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}

// within returns p relative to base if p is base or below it.
func within(base, p string) (string, bool) {
	rel, err := filepath.Rel(base, p)
	if err != nil || filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

func isWithin(base, p string) bool {
	_, ok := within(base, p)
	return ok
}

// epoch is the mtime of every directory tar entry.
var epoch = time.Unix(0, 0).UTC()

// writeTar writes the entries as a tar stream. A file whose size or type
// changed since the tree was walked is an error (its header is already
// fixed).
func writeTar(out io.Writer, entries []tarEntry) error {
	tw := tar.NewWriter(out)
	for _, e := range entries {
		hdr := &tar.Header{Typeflag: e.typ, Name: e.name, Mode: e.mode, ModTime: epoch}
		switch e.typ {
		case tar.TypeDir:
			hdr.Name += "/"
		case tar.TypeSymlink:
			hdr.Linkname = e.link
		case tar.TypeReg:
			hdr.Size = e.size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing tar entry %s: %w", e.name, err)
		}
		if e.typ == tar.TypeReg {
			if err := copyFile(tw, e); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

func copyFile(tw io.Writer, e tarEntry) error {
	f, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Size() != e.size {
		return fmt.Errorf("%s changed while it was being archived", e.src)
	}
	if _, err := io.CopyN(tw, f, e.size); err != nil {
		return fmt.Errorf("archiving %s: %w", e.src, err)
	}
	return nil
}
