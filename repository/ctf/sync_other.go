//go:build !linux

package ctf

import (
	"errors"
	"os"
	"path"
)

// syncFiles makes the named files of root, and the directories holding
// them, durable: one fsync per file and per directory, as there is no
// portable way to flush a batch.
func syncFiles(root *os.Root, names []string) error {
	dirs := map[string]bool{}
	for _, name := range names {
		if err := syncFile(root, name); err != nil {
			return err
		}
		dirs[path.Dir(name)] = true
	}
	for dir := range dirs {
		if err := syncDir(root, dir); err != nil {
			return err
		}
	}
	return nil
}

// renameAll renames files of root (each pair: old and new name relative to
// root); from and to are the directories they are in and go to.
func renameAll(root *os.Root, _, _ string, moves [][2]string) error {
	for _, m := range moves {
		if err := root.Rename(m[0], m[1]); err != nil {
			return err
		}
	}
	return nil
}

// syncFile fsyncs an existing file of root.
func syncFile(root *os.Root, name string) error {
	f, err := root.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}
