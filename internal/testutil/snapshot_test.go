package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSnapshot(t *testing.T) {
	dir := t.TempDir()
	WriteFile(t, filepath.Join(dir, "a", "f"), []byte("one"), 0o644)
	WriteFile(t, filepath.Join(dir, "x.lock"), nil, 0o644)
	if err := os.Symlink("a/f", filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	skipLocks := func(rel string) bool { return strings.HasSuffix(rel, ".lock") }
	before := Snapshot(t, dir, skipLocks)
	if len(before) != 3 || before["a"] != "dir" || before["l"] != "link a/f" || before[filepath.Join("a", "f")] == "" {
		t.Fatalf("snapshot %v: want a, a/f and l, no root and no lock file", before)
	}
	if d := DiffSnapshots(before, Snapshot(t, dir, skipLocks)); d != "" {
		t.Fatalf("unchanged tree differs: %s", d)
	}
	WriteFile(t, filepath.Join(dir, "a", "f"), []byte("two"), 0o644)
	WriteFile(t, filepath.Join(dir, "b"), nil, 0o644)
	os.Remove(filepath.Join(dir, "l"))
	WriteFile(t, filepath.Join(dir, "y.lock"), nil, 0o644)
	want := "added b, changed " + filepath.Join("a", "f") + ", removed l"
	if d := DiffSnapshots(before, Snapshot(t, dir, skipLocks)); d != want {
		t.Fatalf("diff %q, want %q", d, want)
	}
	if file := Snapshot(t, filepath.Join(dir, "b"), nil); len(file) != 1 || file["."] == "" {
		t.Fatalf("snapshot of a file: %v", file)
	}
}
