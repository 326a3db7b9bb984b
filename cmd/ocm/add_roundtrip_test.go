package main

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
)

const (
	acvAllComponent = "example.com/acv/all"
	acvAllVersion   = "1.0.0"
	acvPodinfoRef   = "ghcr.io/stefanprodan/podinfo:6.9.1@sha256:262578cde928d5c9eba3bce079976444f624c13ed0afb741d90d5423877496cb"
	acvPodinfoHex   = "262578cde928d5c9eba3bce079976444f624c13ed0afb741d90d5423877496cb"
)

// acvExpect is what a resource of the all-inputs constructor must become.
type acvExpect struct {
	name      string
	extra     map[string]string
	typ       string
	version   string
	mediaType string // of the LocalBlob access
	// kind: blob (data as stored), gzblob (gunzip equals data), tar / gztar
	// (listing), helm, oci, external.
	kind      string
	data      []byte
	listing   []string
	filesOnly bool // compare files and links exactly; directories only need a stored child
}

// acvFixture is a constructor directory using every input type.
type acvFixture struct {
	dir, constructor string
	hello            []byte
	layout           *acvOCILayout
	expect           []acvExpect
}

// acvTree is the directory input's tree, in the order (and with the
// normalised modes) the tar must list it.
var acvTree = []struct {
	name, content, link string
	dir, exec           bool
}{
	{name: "a.txt", content: "alpha\n"},
	{name: "link-to-a", link: "a.txt"},
	{name: "skip.log", content: "log line\n"},
	{name: "sub", dir: true},
	{name: "sub/b.yaml", content: "b: 1\n"},
	{name: "sub/deeper", dir: true},
	{name: "sub/deeper/c.txt", content: "gamma\n"},
	{name: "sub/deeper/run.sh", content: "#!/bin/sh\necho hi\n", exec: true},
	{name: "sub/link-up", link: "../a.txt"},
}

// acvTreeListing is acvTree as acvTarListing prints it, prefixed, filtered by keep.
func acvTreeListing(prefix string, keep func(name string) bool) []string {
	var out []string
	for _, e := range acvTree {
		if keep != nil && !keep(e.name) {
			continue
		}
		switch {
		case e.dir:
			out = append(out, "d 755 "+prefix+e.name+"/")
		case e.link != "":
			out = append(out, "l 777 "+prefix+e.name+" -> "+e.link)
		case e.exec:
			out = append(out, "f 755 "+prefix+e.name+" "+strconv.Quote(e.content))
		default:
			out = append(out, "f 644 "+prefix+e.name+" "+strconv.Quote(e.content))
		}
	}
	return out
}

const acvAllConstructor = `components:
- name: example.com/acv/all
  version: 1.0.0
  provider:
    name: example.com
    labels:
    - name: team
      value: platform
  labels:
  - name: example.com/purpose
    value:
      kind: roundtrip
    signing: true
  resources:
  - name: file-typed
    type: plainText
    input:
      type: file
      path: data/hello.txt
      mediaType: text/plain
  - name: file-sniffed
    type: blob
    input:
      type: File/v1
      path: data/doc.json
  - name: file-gz
    type: blob
    input:
      type: file
      path: data/random.bin
      mediaType: application/octet-stream
      compress: true
  - name: dir-plain
    type: directoryTree
    input:
      type: dir
      path: tree
  - name: dir-filtered
    type: directoryTree
    input:
      type: dir
      path: tree
      includeFiles: ["*.txt", "sub/*.yaml", "sub/deeper/*"]
      excludeFiles: ["sub/deeper/run.sh", "*.log"]
  - name: dir-gz
    type: directoryTree
    input:
      type: Dir/v1
      path: tree
      compress: true
      preserveDir: true
  - name: text
    type: plainText
    input:
      type: utf8
      text: |
        héllo wörld
        second line
  - name: json
    type: blob
    input:
      type: utf8
      json: {a: 1, b: [true, "x<y"], c: {d: null}}
  - name: fjson
    type: blob
    input:
      type: UTF8/v1
      formattedJson: {a: 1, b: [true, "x<y"], c: {d: null}}
  - name: yaml
    type: blob
    input:
      type: utf8
      yaml: {a: 1, b: [true, "x<y"], c: {d: null}}
  - name: text-gz
    type: plainText
    input:
      type: utf8
      text: compressed text
      compress: true
  - name: chart
    type: helmChart
    input:
      type: helm
      path: chart
  - name: layout
    type: ociImage
    version: 2.0.0
    extraIdentity:
      architecture: amd64
    input:
      type: ociImageLayout
      path: layout
  - name: image
    type: ociImage
    version: 6.9.1
    access:
      type: ociArtifact
      imageReference: ` + acvPodinfoRef + `
    srcRefs:
    - identitySelector:
        name: src
  sources:
  - name: src
    type: filesystem
    input:
      type: file
      path: data/hello.txt
      mediaType: text/plain
`

// acvAllInputs writes the all-inputs constructor and its inputs into dir.
func acvAllInputs(t testing.TB, dir string) *acvFixture {
	t.Helper()
	f := &acvFixture{dir: dir, constructor: filepath.Join(dir, "component-constructor.yaml")}
	acvWrite(t, f.constructor, []byte(acvAllConstructor))
	f.hello = []byte("Hello, OCM!\n")
	acvWrite(t, filepath.Join(dir, "data", "hello.txt"), f.hello)
	doc := []byte(`{"kind": "doc", "items": [1, 2, 3]}` + "\n")
	acvWrite(t, filepath.Join(dir, "data", "doc.json"), doc)
	random := make([]byte, 64<<10)
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	rng.Read(random)
	acvWrite(t, filepath.Join(dir, "data", "random.bin"), random)
	for _, e := range acvTree {
		p := filepath.Join(dir, "tree", filepath.FromSlash(e.name))
		switch {
		case e.dir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case e.link != "":
			if err := os.Symlink(e.link, p); err != nil {
				t.Fatal(err)
			}
		default:
			acvWrite(t, p, []byte(e.content))
			if e.exec {
				if err := os.Chmod(p, 0o755); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	acvWriteChart(t, filepath.Join(dir, "chart"), "acvchart", "0.2.0")
	f.layout = acvBuildOCILayout(t, filepath.Join(dir, "layout"), "v1")

	filtered := map[string]bool{"a.txt": true, "sub/b.yaml": true, "sub/deeper/c.txt": true}
	f.expect = []acvExpect{
		{name: "file-typed", typ: "plainText", mediaType: "text/plain", kind: "blob", data: f.hello},
		{name: "file-sniffed", typ: "blob", mediaType: "application/json", kind: "blob", data: doc},
		{name: "file-gz", typ: "blob", mediaType: "application/octet-stream+gzip", kind: "gzblob", data: random},
		{name: "dir-plain", typ: "directoryTree", mediaType: "application/x-tar", kind: "tar", listing: acvTreeListing("", nil)},
		{name: "dir-filtered", typ: "directoryTree", mediaType: "application/x-tar", kind: "tar", filesOnly: true,
			listing: acvTreeListing("", func(n string) bool { return filtered[n] })},
		{name: "dir-gz", typ: "directoryTree", mediaType: "application/x-tar+gzip", kind: "gztar",
			listing: append([]string{"d 755 tree/"}, acvTreeListing("tree/", nil)...)},
		{name: "text", typ: "plainText", mediaType: "text/plain", kind: "blob", data: []byte("héllo wörld\nsecond line\n")},
		{name: "json", typ: "blob", mediaType: "application/json", kind: "blob", data: []byte(`{"a":1,"b":[true,"x\u003cy"],"c":{"d":null}}`)},
		{name: "fjson", typ: "blob", mediaType: "application/json", kind: "blob",
			data: []byte("{\n  \"a\": 1,\n  \"b\": [\n    true,\n    \"x\\u003cy\"\n  ],\n  \"c\": {\n    \"d\": null\n  }\n}")},
		{name: "yaml", typ: "blob", mediaType: "application/x-yaml", kind: "blob", data: []byte("a: 1\nb:\n- true\n- x<y\nc:\n  d: null\n")},
		{name: "text-gz", typ: "plainText", mediaType: "text/plain+gzip", kind: "gzblob", data: []byte("compressed text")},
		{name: "chart", typ: "helmChart", mediaType: ocispec.MediaTypeImageManifest, kind: "helm"},
		{name: "layout", extra: map[string]string{"architecture": "amd64"}, typ: "ociImage", version: "2.0.0", mediaType: ocispec.MediaTypeImageManifest, kind: "oci"},
		{name: "image", typ: "ociImage", version: "6.9.1", kind: "external"},
	}
	for i := range f.expect {
		if f.expect[i].version == "" {
			f.expect[i].version = acvAllVersion
		}
	}
	return f
}

// TestAddCVRoundTrip builds a constructor using every input type into each
// archive form and reads everything back with get cv and download resource.
func TestAddCVRoundTrip(t *testing.T) {
	fx := acvAllInputs(t, filepath.Join(t.TempDir(), "src"))
	for _, form := range []string{"ctf", "ctf.tar", "ctf.tgz"} {
		t.Run(form, func(t *testing.T) {
			archive := filepath.Join(t.TempDir(), form)
			addOut, _, err := run(t, "add", "cv", "--skip-reference-digest-processing", "--repository", "ctf::"+archive, "--constructor", fx.constructor, "-o", "yaml")
			if err != nil {
				t.Fatalf("add cv: %v", err)
			}
			fi, err := os.Stat(archive)
			if err != nil {
				t.Fatal(err)
			}
			if fi.IsDir() != (form == "ctf") {
				t.Fatalf("%s: created a directory: %v", form, fi.IsDir())
			}
			if s := acvStaging(t, archive); len(s) != 0 {
				t.Fatalf("staging left behind: %v", s)
			}
			ref := "ctf::" + archive + "//" + acvAllComponent + ":" + acvAllVersion
			list := acvGetCVYAML(t, ref)
			if len(list) != 1 {
				t.Fatalf("get cv returned %d descriptors", len(list))
			}
			cd := &list[0]
			// What add printed is what get reads back.
			var printed []descriptor.Descriptor
			if err := yaml.Unmarshal([]byte(addOut), &printed); err != nil || len(printed) != 1 || !reflect.DeepEqual(printed[0], *cd) {
				t.Errorf("add cv -o yaml printed a different descriptor (%v):\n%s", err, addOut)
			}
			acvCheckAllDescriptor(t, fx, cd)
			for _, e := range fx.expect {
				acvCheckResource(t, fx, ref, cd, e)
			}
			acvCheckSource(t, archive, cd, fx.hello)
		})
	}
}

func acvCheckAllDescriptor(t *testing.T, fx *acvFixture, cd *descriptor.Descriptor) {
	t.Helper()
	c := &cd.Component
	if c.Name != acvAllComponent || c.Version != acvAllVersion || cd.Meta.SchemaVersion != "v2" {
		t.Errorf("component %s:%s schema %s", c.Name, c.Version, cd.Meta.SchemaVersion)
	}
	if want := `{"name":"example.com","labels":[{"name":"team","value":"platform"}]}`; string(c.Provider) != want {
		t.Errorf("provider %s, want %s", c.Provider, want)
	}
	if len(c.Labels) != 1 || c.Labels[0].Name != "example.com/purpose" || !bool(c.Labels[0].Signing) || string(c.Labels[0].Value) != `{"kind":"roundtrip"}` {
		t.Errorf("labels %+v", c.Labels)
	}
	// Like the reference, creationTime is only written when the constructor
	// or SOURCE_DATE_EPOCH gives one.
	if want := acvSourceDateEpochTime(); c.CreationTime != want {
		t.Errorf("creationTime %q, want %q", c.CreationTime, want)
	}
	var names []string
	for _, r := range c.Resources {
		names = append(names, r.Name)
	}
	var want []string
	for _, e := range fx.expect {
		want = append(want, e.name)
	}
	if !slices.Equal(names, want) {
		t.Errorf("resources %v, want %v (constructor order)", names, want)
	}
}

func acvCheckResource(t *testing.T, fx *acvFixture, ref string, cd *descriptor.Descriptor, e acvExpect) {
	t.Helper()
	r := acvFindResource(t, cd, e.name, e.extra)
	what := "resource " + e.name
	if r.Type != e.typ || r.Version != e.version {
		t.Errorf("%s: type %s version %s, want %s %s", what, r.Type, r.Version, e.typ, e.version)
	}
	if e.kind == "external" {
		if r.Relation != "external" {
			t.Errorf("%s: relation %s, want external", what, r.Relation)
		}
		var acc struct {
			Type           string `json:"type"`
			ImageReference string `json:"imageReference"`
		}
		if err := r.Access.Decode(&acc); err != nil || acc.Type != "ociArtifact" || acc.ImageReference != acvPodinfoRef {
			t.Errorf("%s: access %s (%v)", what, r.Access.Raw, err)
		}
		if r.Digest == nil || r.Digest.Value != acvPodinfoHex || r.Digest.HashAlgorithm != "SHA-256" {
			t.Errorf("%s: digest %+v, want the pinned %s", what, r.Digest, acvPodinfoHex)
		}
		if len(r.SrcRefs) != 1 || r.SrcRefs[0].IdentitySelector["name"] != "src" {
			t.Errorf("%s: srcRefs %+v", what, r.SrcRefs)
		}
		return
	}
	if r.Relation != "local" {
		t.Errorf("%s: relation %s, want local", what, r.Relation)
	}
	lb := acvLocalBlob(t, what, r.Access)
	if lb.MediaType != e.mediaType {
		t.Errorf("%s: mediaType %q, want %q", what, lb.MediaType, e.mediaType)
	}
	if r.Digest == nil || r.Digest.HashAlgorithm != "SHA-256" || r.Digest.NormalisationAlgorithm != "genericBlobDigest/v1" || "sha256:"+r.Digest.Value != lb.LocalReference {
		t.Errorf("%s: digest %+v does not match localReference %s", what, r.Digest, lb.LocalReference)
	}
	identity := "name=" + e.name
	for k, v := range e.extra {
		identity += "," + k + "=" + v
	}
	got := acvDownload(t, ref, identity)
	switch e.kind {
	case "blob", "gzblob", "tar", "gztar":
		if d := digest.FromBytes(got); d.String() != lb.LocalReference {
			t.Errorf("%s: downloaded bytes hash to %s, localReference %s", what, d, lb.LocalReference)
		}
		if strings.HasPrefix(e.kind, "gz") {
			got = acvGunzip(t, got)
		}
	}
	switch e.kind {
	case "blob", "gzblob":
		if !slices.Equal(got, e.data) {
			t.Errorf("%s: downloaded %q, want %q", what, acvTrunc(got), acvTrunc(e.data))
		}
	case "tar", "gztar":
		listing := acvTarListing(t, got)
		if e.filesOnly {
			// Directory entries are only allowed for directories that hold
			// something stored (the reference omits even those).
			var files []string
			for _, l := range listing {
				if !strings.HasPrefix(l, "d ") {
					files = append(files, l)
				}
			}
			for _, l := range listing {
				if dir, ok := strings.CutPrefix(l, "d 755 "); ok && !slices.ContainsFunc(files, func(f string) bool { return strings.HasPrefix(strings.Fields(f)[2], dir) }) {
					t.Errorf("%s: directory entry %s without stored content", what, dir)
				}
			}
			listing = files
		}
		if !slices.Equal(listing, e.listing) {
			t.Errorf("%s: tar lists\n%s\nwant\n%s", what, strings.Join(listing, "\n"), strings.Join(e.listing, "\n"))
		}
	case "helm":
		l := acvParseLayout(t, got, digest.Digest(lb.LocalReference))
		if l.manifest.Config.MediaType != "application/vnd.cncf.helm.config.v1+json" {
			t.Errorf("%s: config media type %s", what, l.manifest.Config.MediaType)
		}
		if len(l.manifest.Layers) != 1 || l.manifest.Layers[0].MediaType != "application/vnd.cncf.helm.chart.content.v1.tar+gzip" {
			t.Fatalf("%s: layers %+v", what, l.manifest.Layers)
		}
		var cfg struct{ Name, Version string }
		if err := json.Unmarshal(l.blob(t, l.manifest.Config.Digest), &cfg); err != nil || cfg.Name != "acvchart" || cfg.Version != "0.2.0" {
			t.Errorf("%s: chart config %+v (%v)", what, cfg, err)
		}
		files := acvTarFiles(t, acvGunzip(t, l.blob(t, l.manifest.Layers[0].Digest)))
		for _, name := range []string{"acvchart/Chart.yaml", "acvchart/values.yaml", "acvchart/templates/cm.yaml"} {
			if _, ok := files[name]; !ok {
				t.Errorf("%s: packaged chart lacks %s (has %v)", what, name, slices.Sorted(maps.Keys(files)))
			}
		}
	case "oci":
		if lb.LocalReference != fx.layout.manifest.Digest.String() || r.Digest.Value != fx.layout.manifest.Digest.Encoded() {
			t.Errorf("%s: localReference %s digest %s, want the layout's manifest %s", what, lb.LocalReference, r.Digest.Value, fx.layout.manifest.Digest)
		}
		l := acvParseLayout(t, got, fx.layout.manifest.Digest)
		if !slices.Equal(l.raw, fx.layout.manifestRaw) {
			t.Errorf("%s: manifest bytes differ from the original", what)
		}
		if !slices.Equal(l.blob(t, fx.layout.config.Digest), fx.layout.configRaw) || !slices.Equal(l.blob(t, fx.layout.layer.Digest), fx.layout.layerTarGz) {
			t.Errorf("%s: config or layer differ from the original", what)
		}
	}
}

func acvTrunc(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// acvCheckSource reads the source's local blob through the repository package.
func acvCheckSource(t *testing.T, archive string, cd *descriptor.Descriptor, want []byte) {
	t.Helper()
	if len(cd.Component.Sources) != 1 {
		t.Fatalf("sources %+v", cd.Component.Sources)
	}
	s := cd.Component.Sources[0]
	if s.Name != "src" || s.Type != "filesystem" || s.Version != acvAllVersion {
		t.Errorf("source %+v", s.ElementMeta)
	}
	lb := acvLocalBlob(t, "source src", s.Access)
	if lb.MediaType != "text/plain" || lb.LocalReference != digest.FromBytes(want).String() {
		t.Errorf("source access %+v", lb)
	}
	ctx := context.Background()
	repo, err := repository.Open(ctx, reference.Repository{Type: reference.TypeCTF, FilePath: archive})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	desc, fetcher, err := repo.GetLocalBlob(ctx, acvAllComponent, acvAllVersion, lb.LocalReference)
	if err != nil {
		t.Fatalf("source blob: %v", err)
	}
	rc, err := fetcher.Fetch(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("source blob %q (%v), want %q", got, err, want)
	}
}

func acvSourceDateEpochTime() string {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return ""
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return ""
	}
	return time.Unix(sec, 0).UTC().Format(time.RFC3339)
}
