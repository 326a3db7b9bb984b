package blob

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// createUnnamed opens an unnamed file in dir (O_TMPFILE): until linked it
// has no name, so a process killed while writing it leaves nothing behind.
// Its Name is the /proc path that reopens it (for readers that take a path).
func createUnnamed(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("/proc/self/fd/%d", fd))
	// Linking it later goes through /proc (linkat with AT_EMPTY_PATH needs
	// a capability): without /proc, a named temp file it is.
	if _, err := os.Stat(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// linkUnnamed gives f the name dest: linkat cannot replace a file, so it
// links under a temp name first and renames that over dest.
func linkUnnamed(f *os.File, dest string) error {
	tmp := filepath.Join(filepath.Dir(dest), fmt.Sprintf(".%s.tmp-%d", filepath.Base(dest), os.Getpid()))
	for i := 0; ; i++ {
		name := fmt.Sprintf("%s-%d", tmp, i)
		err := unix.Linkat(unix.AT_FDCWD, f.Name(), unix.AT_FDCWD, name, unix.AT_SYMLINK_FOLLOW)
		if errors.Is(err, unix.EEXIST) && i < 100 {
			continue
		}
		if err != nil {
			return &os.LinkError{Op: "link", Old: f.Name(), New: name, Err: err}
		}
		if err := os.Rename(name, dest); err != nil {
			os.Remove(name)
			return err
		}
		return nil
	}
}

// processAlive reports whether process pid exists (EPERM: it does, owned by
// another user).
func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
