package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"
)

const vtComponent = "example.com/custody/tree"

// vtConstructor has a dir input as ours packs it (nested directories, an
// executable, a symlink), compressed and not, and an OCI image layout.
const vtConstructor = `name: ` + vtComponent + `
version: 1.0.0
provider:
  name: example.com
resources:
- name: tree
  type: directoryTree
  input:
    type: dir
    path: tree
- name: tree-gz
  type: directoryTree
  input:
    type: dir
    path: tree
    compress: true
- name: layout
  type: ociImage
  version: 1.0.0
  input:
    type: ociImageLayout
    path: layout
- name: note
  type: plainText
  input:
    type: utf8
    text: not a tree
`

// vtArchive builds the component version into a CTF archive.
func vtArchive(t *testing.T) string {
	t.Helper()
	archive := filepath.Join(t.TempDir(), "ctf")
	if _, _, err := run(t, "add", "cv", "--repository", "ctf::"+archive, "--constructor", vtSources(t)); err != nil {
		t.Fatalf("add cv: %v", err)
	}
	return archive
}

// vtSources writes the constructor and its inputs; it returns the
// constructor's path.
func vtSources(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	testutil.WriteFile(t, filepath.Join(src, "tree", "etc", "app.yaml"), []byte("replicas: 3\n"), 0o644)
	testutil.WriteFile(t, filepath.Join(src, "tree", "etc", "flags.ini"), []byte("[x]\ny=1\n"), 0o644)
	testutil.WriteFile(t, filepath.Join(src, "tree", "bin", "start"), []byte("#!/bin/sh\nexec app\n"), 0o755)
	if err := os.Symlink("etc/app.yaml", filepath.Join(src, "tree", "current")); err != nil {
		t.Fatal(err)
	}
	acvBuildOCILayout(t, filepath.Join(src, "layout"), "1.0.0")
	testutil.WriteFile(t, filepath.Join(src, "component-constructor.yaml"), []byte(vtConstructor), 0o644)
	return filepath.Join(src, "component-constructor.yaml")
}

// vtDownload unpacks a resource as download resource does.
func vtDownload(t *testing.T, ref, identity string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	if _, _, err := run(t, "download", "resource", ref, "--identity", identity, "--output", out); err != nil {
		t.Fatalf("download %s %s: %v", ref, identity, err)
	}
	return out
}

// vtVerify runs verify tree as a process: the exit code is what scripts see.
func vtVerify(t *testing.T, args ...string) (string, int) {
	t.Helper()
	return runBinary(t, append([]string{"verify", "tree"}, args...)...)
}

func TestVerifyTreeOurDirInput(t *testing.T) {
	archive := vtArchive(t)
	ref := "ctf::" + archive + "//" + vtComponent + ":1.0.0"
	for _, res := range []string{"tree", "tree-gz"} {
		dir := vtDownload(t, ref, "name="+res)
		out, code := vtVerify(t, dir, ref, "--identity", "name="+res)
		if code != 0 || !strings.Contains(out, "matches resource name="+res) || !strings.Contains(out, "resource digest SHA-256/genericBlobDigest/v1") {
			t.Fatalf("%s as downloaded: exit %d\n%s", res, code, out)
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(t *testing.T, dir string)
		want   string
	}{
		{"one byte changed", func(t *testing.T, dir string) {
			testutil.WriteFile(t, filepath.Join(dir, "etc", "app.yaml"), []byte("replicas: 4\n"), 0o644)
		}, "etc/app.yaml: content differs"},
		{"one mode bit", func(t *testing.T, dir string) {
			if err := os.Chmod(filepath.Join(dir, "bin", "start"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "bin/start: mode differs: want 0755 (executable), got 0644"},
		{"a file added", func(t *testing.T, dir string) {
			testutil.WriteFile(t, filepath.Join(dir, "etc", "override.yaml"), []byte("replicas: 0\n"), 0o644)
		}, "etc/override.yaml: extra (file)"},
		{"a symlink retargeted", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "current")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("etc/flags.ini", filepath.Join(dir, "current")); err != nil {
				t.Fatal(err)
			}
		}, "current: symlink target differs: want etc/app.yaml, got etc/flags.ini"},
		{"a file removed", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "etc", "flags.ini")); err != nil {
				t.Fatal(err)
			}
		}, "etc/flags.ini: missing (file)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := vtDownload(t, ref, "name=tree-gz")
			tc.mutate(t, dir)
			out, code := vtVerify(t, dir, ref, "--identity", "name=tree-gz")
			if code == 0 || !strings.Contains(out, tc.want) || !strings.Contains(out, "differs from resource name=tree-gz") {
				t.Fatalf("exit %d, want non-zero and %q:\n%s", code, tc.want, out)
			}
			if n := strings.Count(out, "\n"); n != 2 {
				t.Errorf("want the one difference and the error, got %d lines:\n%s", n, out)
			}
		})
	}

	// The same tree verifies against the version in a registry (the
	// archive streamed from there).
	reg := testutil.StartOlareg(t)
	if _, _, err := run(t, "transfer", "cv", ref, "http://"+reg+"/ocm"); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	regRef := "http://" + reg + "/ocm//" + vtComponent + ":1.0.0"
	dir := vtDownload(t, ref, "name=tree")
	if out, code := vtVerify(t, dir, regRef, "--identity", "name=tree"); code != 0 {
		t.Fatalf("against the registry: exit %d\n%s", code, out)
	}

	// An OCI image layout: the layout directory a download writes.
	layout := vtDownload(t, ref, "name=layout")
	if out, code := vtVerify(t, layout, ref, "--identity", "name=layout"); code != 0 || !strings.Contains(out, "manifest digest") {
		t.Fatalf("OCI layout: exit %d\n%s", code, out)
	}
	testutil.WriteFile(t, filepath.Join(layout, "blobs", "sha256", "stray"), []byte("x"), 0o644)
	if out, code := vtVerify(t, layout, regRef, "--identity", "name=layout"); code == 0 || !strings.Contains(out, "blobs/sha256/stray: extra") {
		t.Fatalf("OCI layout with a stray blob: exit %d\n%s", code, out)
	}

	// A single file is no tree; the error says so.
	if _, _, err := run(t, "verify", "tree", dir, ref, "--identity", "name=note"); err == nil || !strings.Contains(err.Error(), "not a directory tree") || !strings.Contains(err.Error(), "name=note") {
		t.Fatalf("plain text resource: %v", err)
	}
}

// Trees of the reference CLI's archive: its dir input and its Helm chart
// (a native OCI artifact, unpacked to an OCI layout).
func TestVerifyTreeReferenceArchive(t *testing.T) {
	archive := testutil.InteropCTF(t, testutil.Dir)
	ref := "ctf::" + archive + "//" + app + ":1.2.0"
	config := vtDownload(t, ref, "name=config")
	if out, code := vtVerify(t, config, ref, "--identity", "name=config", "--verify", "--public-key", filepath.Join(testutil.InteropDir(t), "public-key.pem")); code != 0 {
		t.Fatalf("reference dir input: exit %d\n%s", code, out)
	}
	chart := vtDownload(t, ref, "name=chart")
	if out, code := vtVerify(t, chart, ref, "--identity", "name=chart"); code != 0 {
		t.Fatalf("reference Helm chart: exit %d\n%s", code, out)
	}
	// Change one byte of the chart layer (the largest blob) on disk.
	blobs, err := filepath.Glob(filepath.Join(chart, "blobs", "sha256", "*"))
	if err != nil || len(blobs) < 3 {
		t.Fatalf("layout blobs %v %v", blobs, err)
	}
	var layer string
	var largest int64
	for _, b := range blobs {
		if fi, _ := os.Stat(b); fi.Size() > largest {
			layer, largest = b, fi.Size()
		}
	}
	data, err := os.ReadFile(layer)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	testutil.WriteFile(t, layer, data, 0o644)
	rel, _ := filepath.Rel(chart, layer)
	if out, code := vtVerify(t, chart, ref, "--identity", "name=chart"); code == 0 || !strings.Contains(out, filepath.ToSlash(rel)+": content differs") {
		t.Fatalf("tampered chart layer: exit %d\n%s", code, out)
	}

	// The blob in the repository is checked before any comparison: a
	// tampered archive is an error naming the digest, not a tree verdict.
	blob := filepath.Join(archive, "blobs", "sha256.ea3d8d98c80a23a94541e9332a6c17e8a2b2509ea4c301d5336d14eb62827442")
	raw, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-10] ^= 1
	testutil.WriteFile(t, blob, raw, 0o644)
	out, code := vtVerify(t, config, ref, "--identity", "name=config")
	if code == 0 || !strings.Contains(out, "name=config") || !strings.Contains(out, "content digest") || !strings.Contains(out, "mismatch") || strings.Contains(out, "differs from resource") {
		t.Fatalf("tampered repository blob: exit %d\n%s", code, out)
	}
}

func TestVerifyTreeFromArchiveCLI(t *testing.T) {
	archive := testutil.InteropCTF(t, testutil.Dir)
	ref := "ctf::" + archive + "//" + app + ":1.2.0"
	config := vtDownload(t, ref, "name=config")
	tgz := filepath.Join(t.TempDir(), "config.tgz")
	if _, _, err := run(t, "download", "resource", ref, "--identity", "name=config", "--output", tgz, "--extraction-policy", "disable"); err != nil {
		t.Fatal(err)
	}
	const dg = "sha256:ea3d8d98c80a23a94541e9332a6c17e8a2b2509ea4c301d5336d14eb62827442"
	if out, code := vtVerify(t, config, "--from-archive", tgz, "--digest", dg); code != 0 || !strings.Contains(out, "archive digest "+dg) {
		t.Fatalf("from archive: exit %d\n%s", code, out)
	}
	bad := "sha256:" + strings.Repeat("1", 64)
	if out, code := vtVerify(t, config, "--from-archive", tgz, "--digest", bad); code == 0 || !strings.Contains(out, tgz) {
		t.Fatalf("from archive, wrong digest: exit %d\n%s", code, out)
	}
	testutil.WriteFile(t, filepath.Join(config, "app.yaml"), []byte("changed\n"), 0o644)
	if out, code := vtVerify(t, config, "--from-archive", tgz); code == 0 || !strings.Contains(out, "app.yaml: content differs") {
		t.Fatalf("from archive, changed file: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{config},                             // neither a reference nor an archive
		{config, ref},                        // no --identity
		{config, "--from-archive", tgz, ref}, // both
		{config, ref, "--identity", "name=config", "--digest", dg},
	} {
		if _, _, err := run(t, append([]string{"verify", "tree"}, args...)...); err == nil {
			t.Errorf("verify tree %q: accepted", args)
		}
	}
}

// An external image (ociArtifact access into a registry): download writes
// its OCI layout, verify tree fetches it from the registry again.
func TestVerifyTreeExternalImage(t *testing.T) {
	reg := testutil.StartOlareg(t)
	testutil.PushImage(t, reg, "acme/app", "1.0", []byte("layer bytes of the image"))
	src := t.TempDir()
	testutil.WriteFile(t, filepath.Join(src, "component-constructor.yaml"), []byte(`name: example.com/custody/ext
version: 1.0.0
provider:
  name: example.com
resources:
- name: image
  type: ociImage
  version: 1.0.0
  access:
    type: ociArtifact
    imageReference: `+reg+`/acme/app:1.0
`), 0o644)
	archive := filepath.Join(t.TempDir(), "ctf")
	if _, _, err := run(t, "add", "cv", "--repository", "ctf::"+archive, "--constructor", filepath.Join(src, "component-constructor.yaml")); err != nil {
		t.Fatalf("add cv: %v", err)
	}
	ref := "ctf::" + archive + "//example.com/custody/ext:1.0.0"
	dir := vtDownload(t, ref, "name=image")
	if out, code := vtVerify(t, dir, ref, "--identity", "name=image"); code != 0 || !strings.Contains(out, "verified manifest digest sha256:") || !strings.Contains(out, "resource digest SHA-256/") {
		t.Fatalf("external image: exit %d\n%s", code, out)
	}
	if err := os.Remove(filepath.Join(dir, "index.json")); err != nil {
		t.Fatal(err)
	}
	if out, code := vtVerify(t, dir, ref, "--identity", "name=image"); code == 0 || !strings.Contains(out, "index.json: missing (file)") {
		t.Fatalf("layout without index.json: exit %d\n%s", code, out)
	}
}
