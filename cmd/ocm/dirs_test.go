package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"
)

// TestWorkingDirectory: relative input paths resolve against
// --working-directory instead of the constructor's directory.
func TestWorkingDirectory(t *testing.T) {
	consDir, dataDir := t.TempDir(), t.TempDir()
	testutil.WriteFile(t, filepath.Join(dataDir, "data.txt"), []byte("hello"), 0o644)
	cons := filepath.Join(consDir, "component-constructor.yaml")
	testutil.WriteFile(t, cons, []byte(`name: example.com/wd
version: 1.0.0
provider: {name: example.com}
resources:
- name: data
  type: blob
  input: {type: file, path: data.txt}
`), 0o644)
	repo := filepath.Join(t.TempDir(), "ctf")
	if _, _, err := run(t, "add", "cv", "-c", cons, "-r", repo); err == nil || !strings.Contains(err.Error(), "data.txt") {
		t.Fatalf("without --working-directory: %v", err)
	}
	if _, stderr, err := run(t, "--working-directory", dataDir, "add", "cv", "-c", cons, "-r", repo); err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	out, _, err := run(t, "get", "cv", repo+"//example.com/wd:1.0.0", "-o", "yaml")
	if err != nil || !strings.Contains(out, "name: data") {
		t.Fatalf("%v: %s", err, out)
	}
	if _, _, err := run(t, "--working-directory", filepath.Join(dataDir, "missing"), "add", "cv", "-c", cons, "-r", repo); err == nil || !strings.Contains(err.Error(), "--working-directory") {
		t.Fatalf("missing directory: %v", err)
	}
}

// TestTempFolder: --temp-folder is where temporary files go (os.TempDir),
// and must exist.
func TestTempFolder(t *testing.T) {
	t.Setenv("TMPDIR", os.Getenv("TMPDIR")) // restored after the test
	dir := t.TempDir()
	if _, _, err := run(t, "--temp-folder", dir, "version"); err != nil {
		t.Fatal(err)
	}
	if os.TempDir() != dir {
		t.Fatalf("os.TempDir() = %s, want %s", os.TempDir(), dir)
	}
	file := filepath.Join(dir, "f")
	testutil.WriteFile(t, file, nil, 0o644)
	if _, _, err := run(t, "--temp-folder", file, "version"); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("file as temp folder: %v", err)
	}
}
