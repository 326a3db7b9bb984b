package blob

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// AtomicFile is a temp file beside its destination that becomes the
// destination only on Commit, so a reader never sees partial or unverified
// content at the final path. Where the file system allows (Linux,
// O_TMPFILE), the temp file has no name until Commit: a process killed
// while writing leaves no file at all.
type AtomicFile struct {
	*os.File
	// Durable makes Commit fsync the data before the rename. Archives whose
	// index must survive a crash set it; downloads, like cp, do not pay for it.
	Durable bool
	dest    string
	done    bool
	unnamed bool
}

// CreateAtomic creates the temp file (and missing parent directories) for dest.
func CreateAtomic(dest string) (*AtomicFile, error) {
	dir := filepath.Dir(dest)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating directory for %s: %w", dest, err)
	}
	if fi, err := os.Stat(dest); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("output %s is a directory", dest)
	}
	if f, err := createUnnamed(dir); err == nil {
		return &AtomicFile{File: f, dest: dest, unnamed: true}, nil
	}
	// No O_TMPFILE here (another OS, or a file system without it).
	removeStale(dest)
	f, err := os.CreateTemp(dir, tempPattern(dest))
	if err != nil {
		return nil, fmt.Errorf("creating temp file for %s: %w", dest, err)
	}
	return &AtomicFile{File: f, dest: dest}, nil
}

// Commit closes and renames the temp file to its destination (after an
// fsync when Durable).
func (a *AtomicFile) Commit() error {
	if a.done {
		return errors.New("atomic file already committed or aborted")
	}
	a.done = true
	var err error
	if a.Durable {
		err = a.File.Sync()
	}
	if a.unnamed {
		if err == nil {
			err = a.File.Chmod(0o644)
		}
		if err == nil {
			err = linkUnnamed(a.File, a.dest)
		}
		if cerr := a.File.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", a.dest, err)
		}
		return nil
	}
	if cerr := a.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(a.File.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(a.File.Name(), a.dest)
	}
	if err != nil {
		os.Remove(a.File.Name())
		return fmt.Errorf("writing %s: %w", a.dest, err)
	}
	return nil
}

// Abort removes the temp file; it is a no-op after Commit.
func (a *AtomicFile) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.File.Close()
	if !a.unnamed {
		os.Remove(a.File.Name())
	}
}

// tempPattern names the temp file or directory of dest after the process
// writing it, so that removeStale can tell a dead writer's from a live one's.
func tempPattern(dest string) string {
	return fmt.Sprintf(".%s.tmp-%d-*", filepath.Base(dest), os.Getpid())
}

// removeStale removes what writers of dest killed before they could clean
// up left beside it: temp files and directories of tempPattern whose
// process is gone. A live writer's (another download to the same output
// right now) is left alone.
func removeStale(dest string) {
	prefix := "." + filepath.Base(dest) + ".tmp-"
	entries, err := os.ReadDir(filepath.Dir(dest))
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		os.RemoveAll(filepath.Join(filepath.Dir(dest), e.Name()))
	}
}

// AtomicDir is a temp directory beside its destination that becomes the
// destination only on Commit.
type AtomicDir struct {
	Path string
	dest string
	done bool
}

// CreateAtomicDir creates the temp directory for dest. dest must not exist,
// or be an empty directory, so nothing of the user's is ever replaced.
func CreateAtomicDir(dest string) (*AtomicDir, error) {
	if fi, err := os.Stat(dest); err == nil {
		if !fi.IsDir() {
			return nil, fmt.Errorf("output %s exists and is not a directory", dest)
		}
		entries, err := os.ReadDir(dest)
		if err != nil {
			return nil, err
		}
		if len(entries) > 0 {
			return nil, fmt.Errorf("output directory %s exists and is not empty", dest)
		}
	}
	dir := filepath.Dir(dest)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating directory for %s: %w", dest, err)
	}
	removeStale(dest)
	tmp, err := os.MkdirTemp(dir, tempPattern(dest))
	if err != nil {
		return nil, fmt.Errorf("creating temp directory for %s: %w", dest, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return &AtomicDir{Path: tmp, dest: dest}, nil
}

// Commit renames the temp directory to its destination.
func (a *AtomicDir) Commit() error {
	if a.done {
		return errors.New("atomic directory already committed or aborted")
	}
	a.done = true
	// An existing empty destination was allowed; remove it so rename succeeds.
	os.Remove(a.dest)
	if err := os.Rename(a.Path, a.dest); err != nil {
		os.RemoveAll(a.Path)
		return fmt.Errorf("writing %s: %w", a.dest, err)
	}
	return nil
}

// Abort removes the temp directory; it is a no-op after Commit.
func (a *AtomicDir) Abort() {
	if a.done {
		return
	}
	a.done = true
	os.RemoveAll(a.Path)
}
