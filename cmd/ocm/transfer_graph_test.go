package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/transfer"
)

// TestTransferRefusesInconsistentGraph: a referenced version replaced after
// its referrer was built no longer matches the recorded reference digest;
// transfer --recursive refuses the graph naming the reference and writes
// nothing, and copies it only with --no-reference-digest-check.
func TestTransferRefusesInconsistentGraph(t *testing.T) {
	dir := t.TempDir()
	write := func(text string) string {
		cons := filepath.Join(dir, "component-constructor.yaml")
		testutil.WriteFile(t, cons, []byte(`components:
- name: example.com/graph/lib
  version: 1.0.0
  provider: {name: example.com}
  resources:
  - {name: data, type: plainText, input: {type: utf8, text: "`+text+`"}}
- name: example.com/graph/app
  version: 1.0.0
  provider: {name: example.com}
  componentReferences:
  - {name: lib, componentName: example.com/graph/lib, version: 1.0.0}
`), 0o644)
		return cons
	}
	src := filepath.Join(dir, "src")
	agRun(t, "add", "cv", "--repository", "ctf::"+src, "--constructor", write("original"))
	// Replace lib only: app keeps the digest of the original lib.
	libOnly := filepath.Join(dir, "lib.yaml")
	testutil.WriteFile(t, libOnly, []byte(`name: example.com/graph/lib
version: 1.0.0
provider: {name: example.com}
resources:
- {name: data, type: plainText, input: {type: utf8, text: "replaced"}}
`), 0o644)
	agRun(t, "add", "cv", "--repository", "ctf::"+src, "--constructor", libOnly, "--component-version-conflict-policy", "replace")

	target := filepath.Join(dir, "target.tgz")
	_, _, err := run(t, "transfer", "cv", "--recursive", "ctf::"+src+"//example.com/graph/app:1.0.0", "ctf::"+target)
	if err == nil || !errors.Is(err, transfer.ErrReferenceDigest) || !strings.Contains(err.Error(), "example.com/graph/app:1.0.0: reference name=lib") || !strings.Contains(err.Error(), "example.com/graph/lib:1.0.0 normalises to") {
		t.Fatalf("transfer of an inconsistent graph: %v", err)
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a refused transfer left an archive")
	}
	agRun(t, "transfer", "cv", "--recursive", "--no-reference-digest-check", "ctf::"+src+"//example.com/graph/app:1.0.0", "ctf::"+target)
	// Without --recursive the referenced version is not copied and not checked.
	agRun(t, "transfer", "cv", "ctf::"+src+"//example.com/graph/app:1.0.0", "ctf::"+filepath.Join(dir, "app-only"))
}
