package ctf_test

import (
	"path/filepath"
	"testing"

	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/repository/ocimap"
	"github.com/ocmgo/ocm/repository/ocimap/ocimaptest"
)

// An Archive is the CTF implementation of ocimap.Store. Checked in an
// external test package so that ocimap may import ctf without a cycle.
var _ ocimap.Store = (*ctf.Archive)(nil)

// TestStoreConformance runs the ocimap store contract over a Writer of
// each archive format.
func TestStoreConformance(t *testing.T) {
	for _, name := range []string{"dir", "archive.tar", "archive.tgz"} {
		t.Run(name, func(t *testing.T) {
			ocimaptest.TestStore(t, func(t *testing.T) ocimap.WriteStore {
				w, err := ctf.OpenWritable(filepath.Join(t.TempDir(), name), ctf.WriteOptions{Create: true})
				if err != nil {
					t.Fatalf("creating CTF archive %s: %v", name, err)
				}
				t.Cleanup(func() { w.Abort() })
				return w
			})
		})
	}
}
