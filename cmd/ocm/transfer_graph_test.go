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

// transfer.config.ocm.software in the configuration sets the defaults of
// --recursive (and --copy-resources, --upload-as); a flag given on the
// command line wins, as with the reference CLI; an invalid entry fails.
func TestTransferConfigDefaults(t *testing.T) {
	dir := t.TempDir()
	cons := filepath.Join(dir, "component-constructor.yaml")
	testutil.WriteFile(t, cons, []byte(`components:
- name: example.com/cfg/lib
  version: 1.0.0
  provider: {name: example.com}
- name: example.com/cfg/app
  version: 1.0.0
  provider: {name: example.com}
  componentReferences:
  - {name: lib, componentName: example.com/cfg/lib, version: 1.0.0}
`), 0o644)
	src := filepath.Join(dir, "src")
	agRun(t, "add", "cv", "--repository", "ctf::"+src, "--constructor", cons)
	cfg := filepath.Join(dir, "ocmconfig.yaml")
	testutil.WriteFile(t, cfg, []byte("type: generic.config.ocm.software/v1\nconfigurations:\n- type: transfer.config.ocm.software/v1alpha1\n  recursive: -1\n"), 0o644)
	hasLib := func(target string) bool {
		t.Helper()
		_, _, err := run(t, "get", "cv", "ctf::"+target+"//example.com/cfg/lib:1.0.0")
		return err == nil
	}
	deep, flat := filepath.Join(dir, "deep"), filepath.Join(dir, "flat")
	agRun(t, "--config", cfg, "transfer", "cv", "ctf::"+src+"//example.com/cfg/app:1.0.0", "ctf::"+deep)
	if !hasLib(deep) {
		t.Error("recursive: -1 in the configuration did not copy the referenced version")
	}
	agRun(t, "--config", cfg, "transfer", "cv", "--recursive=false", "ctf::"+src+"//example.com/cfg/app:1.0.0", "ctf::"+flat)
	if hasLib(flat) {
		t.Error("--recursive=false did not override the configuration")
	}
	bad := filepath.Join(dir, "bad.yaml")
	testutil.WriteFile(t, bad, []byte("type: transfer.config.ocm.software/v1alpha1\ncopyMode: everything\n"), 0o644)
	_, _, err := run(t, "--config", bad, "transfer", "cv", "ctf::"+src+"//example.com/cfg/app:1.0.0", "ctf::"+filepath.Join(dir, "never"))
	if err == nil || !strings.Contains(err.Error(), `invalid copyMode "everything"`) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("invalid transfer configuration: %v", err)
	}
}
