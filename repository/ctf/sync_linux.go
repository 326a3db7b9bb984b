package ctf

import (
	"errors"
	"fmt"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// syncFiles makes the named files of root (and the renames that put them
// there) durable. On Linux that is one syncfs(2) of the file system holding
// root, whatever the number of files: a commit of 1,000 small blobs costs
// one flush instead of 1,000 fsyncs, each of which waits for its own
// journal commit. Since Linux 5.8 syncfs reports writeback errors of the
// file system, as fsync would.
func syncFiles(root *os.Root, _ []string) error {
	d, err := root.Open(".")
	if err != nil {
		return err
	}
	err = unix.Syncfs(int(d.Fd()))
	if err != nil {
		err = &os.PathError{Op: "syncfs", Path: d.Name(), Err: err}
	}
	return errors.Join(err, d.Close())
}

// renameAll renames files of root from directory from to directory to
// (each pair names a file of from and its new name in to, relative to
// root). The two directories are opened once and every file is moved with
// renameat(2) on their descriptors: the names are single path elements, so
// nothing can redirect the moves, and a file costs one system call instead
// of the one openat per path element of each Root.Rename.
func renameAll(root *os.Root, from, to string, moves [][2]string) error {
	src, err := root.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := root.Open(to)
	if err != nil {
		return err
	}
	defer dst.Close()
	for _, m := range moves {
		oldName, newName := path.Base(m[0]), path.Base(m[1])
		if path.Join(from, oldName) != path.Clean(m[0]) || path.Join(to, newName) != path.Clean(m[1]) {
			return fmt.Errorf("renaming %s to %s: not a file of %s and %s", m[0], m[1], from, to)
		}
		if err := unix.Renameat(int(src.Fd()), oldName, int(dst.Fd()), newName); err != nil {
			return &os.LinkError{Op: "renameat", Old: m[0], New: m[1], Err: err}
		}
	}
	return nil
}
