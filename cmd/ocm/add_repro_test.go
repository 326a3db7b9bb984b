package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// acvIndexBug is the skip message for the nondeterministic index order.
const acvIndexBug = "artifact-index.json must not list the untagged entries of native OCI artifacts (helm charts, OCI layouts) in the order their concurrent pushes finished: archives must be reproducible"

// acvArchiveFiles reads every file of an archive (directory, tar or tgz):
// name -> content, and the names in archive order.
func acvArchiveFiles(t testing.TB, path string) (map[string][]byte, []string) {
	t.Helper()
	files := map[string][]byte{}
	var order []string
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.IsDir() {
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			rel, _ := filepath.Rel(path, p)
			files[filepath.ToSlash(rel)] = data
			order = append(order, filepath.ToSlash(rel))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return files, order
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = bytes.NewReader(data)
	if strings.HasSuffix(path, ".tgz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, order
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		key := fmt.Sprintf("%s %c %o %d %s", h.Name, h.Typeflag, h.Mode, h.ModTime.Unix(), h.Uname+h.Gname)
		files[key] = body
		order = append(order, key)
	}
}

// acvExplainDiff tells why two builds differ: "order" when the only
// difference is the order of artifact-index.json's entries, else a
// description of what differs.
func acvExplainDiff(t testing.TB, a, b string) string {
	t.Helper()
	fa, oa := acvArchiveFiles(t, a)
	fb, ob := acvArchiveFiles(t, b)
	if !slices.Equal(oa, ob) {
		return fmt.Sprintf("entries differ:\n%v\n%v", oa, ob)
	}
	var what []string
	for _, name := range oa {
		if bytes.Equal(fa[name], fb[name]) {
			continue
		}
		if !strings.HasPrefix(name, "artifact-index.json") {
			what = append(what, name)
			continue
		}
		var ia, ib struct{ Artifacts []map[string]string }
		json.Unmarshal(fa[name], &ia)
		json.Unmarshal(fb[name], &ib)
		key := func(m map[string]string) string {
			return m["repository"] + " " + m["tag"] + " " + m["digest"] + " " + m["mediaType"]
		}
		var ka, kb []string
		for _, m := range ia.Artifacts {
			ka = append(ka, key(m))
		}
		for _, m := range ib.Artifacts {
			kb = append(kb, key(m))
		}
		slices.Sort(ka)
		slices.Sort(kb)
		if !slices.Equal(ka, kb) {
			what = append(what, fmt.Sprintf("artifact-index.json entries:\n%s\n%s", fa[name], fb[name]))
			continue
		}
		t.Logf("artifact-index.json differs in order only:\n%s\n%s", fa[name], fb[name])
	}
	if len(what) == 0 {
		return "order"
	}
	return strings.Join(what, "; ")
}

// TestAddCVReproducible builds the all-inputs constructor twice per archive
// form with SOURCE_DATE_EPOCH set, more than a second apart and with input
// mtimes changed in between: the archives are byte-identical, and the
// creation time is the epoch's.
func TestAddCVReproducible(t *testing.T) {
	fx := acvAllInputs(t, filepath.Join(t.TempDir(), "src"))
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	forms := []string{"ctf.tgz", "ctf.tar", "ctf"}
	archives := map[string][]string{}
	for i := range 2 {
		if i == 1 {
			// Wall clock and input mtimes must not matter (helm clamps
			// mtimes to the epoch, dir tars use mtime 0).
			time.Sleep(1100 * time.Millisecond)
			now := time.Now()
			for _, p := range []string{"chart/Chart.yaml", "chart/templates/cm.yaml", "tree/a.txt", "data/hello.txt"} {
				if err := os.Chtimes(filepath.Join(fx.dir, p), now, now); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, form := range forms {
			archive := filepath.Join(t.TempDir(), form)
			if _, _, err := run(t, "add", "cv", "--skip-reference-digest-processing", "--repository", "ctf::"+archive, "--constructor", fx.constructor); err != nil {
				t.Fatalf("%s build %d: %v", form, i, err)
			}
			archives[form] = append(archives[form], archive)
			if i == 0 && form == "ctf" {
				cd := acvGetCV(t, "ctf::"+archive+"//"+acvAllComponent+":"+acvAllVersion)[0]
				if cd.Component.CreationTime != "2023-11-14T22:13:20Z" {
					t.Errorf("creationTime %s, want SOURCE_DATE_EPOCH's 2023-11-14T22:13:20Z", cd.Component.CreationTime)
				}
			}
		}
	}
	orderOnly := false
	for _, form := range forms {
		a, b := archives[form][0], archives[form][1]
		if d := acvDiffSnapshots(acvSnapshot(t, a, ""), acvSnapshot(t, b, "")); d != "" {
			if why := acvExplainDiff(t, a, b); why != "order" {
				t.Errorf("%s: two builds differ: %s", form, why)
			} else {
				orderOnly = true
				t.Logf("%s: two builds differ in the order of artifact-index.json's entries", form)
			}
		}
	}
	if orderOnly {
		t.Error(acvIndexBug)
	}
}

// TestAddCVIndexOrderReproducible builds a component with six native OCI
// artifacts three times: artifact-index.json must come out the same.
func TestAddCVIndexOrderReproducible(t *testing.T) {
	dir := t.TempDir()
	var c strings.Builder
	c.WriteString("name: example.com/acv/layouts\nversion: 1.0.0\nprovider: {name: example.com}\nresources:\n")
	for i := range 6 {
		name := fmt.Sprintf("layout%d", i)
		acvBuildOCILayout(t, filepath.Join(dir, name), "v1") // manifests differ by their title annotation
		fmt.Fprintf(&c, "- {name: %s, type: ociImage, input: {type: ociImageLayout, path: %s}}\n", name, name)
		acvWriteChart(t, filepath.Join(dir, "chart"+name), "chart"+name, "0.1.0")
		fmt.Fprintf(&c, "- {name: chart%s, type: helmChart, input: {type: helm, path: chart%s}}\n", name, name)
	}
	constructor := filepath.Join(dir, "component-constructor.yaml")
	acvWrite(t, constructor, []byte(c.String()))
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	var indexes [][]byte
	for i := range 3 {
		archive := filepath.Join(t.TempDir(), "ctf")
		if _, _, err := run(t, "add", "cv", "--repository", "ctf::"+archive, "--constructor", constructor); err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
		data, err := os.ReadFile(filepath.Join(archive, "artifact-index.json"))
		if err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, data)
	}
	for i := 1; i < len(indexes); i++ {
		if !bytes.Equal(indexes[0], indexes[i]) {
			t.Fatalf("%s\nbuild 0:\n%s\nbuild %d:\n%s", acvIndexBug, indexes[0], i, indexes[i])
		}
	}
}
