package main

// External content end to end: one resource of each access type (image by
// tag, chart in an HTTP Helm repository, chart in an oci:// repository,
// wget file, local blob) through add, sign, verify, air-gap transfers with
// --copy-resources and download; and content that changed since signing.
// Every top-level name starts with ext.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/helmoci"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// extChart packages a minimal chart as Helm does: <name>/Chart.yaml and
// <name>/values.yaml in a gzipped tar.
func extChart(t *testing.T, name, version, values string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range []struct{ name, data string }{
		{name + "/Chart.yaml", "apiVersion: v2\nname: " + name + "\nversion: " + version + "\n"},
		{name + "/values.yaml", values},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.data))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// extPushChart pushes a chart archive to host/repo:version as an OCI Helm
// artifact (what `helm push` does, with the reference's config).
func extPushChart(t *testing.T, host, repo string, chart []byte, name, version string) digest.Digest {
	t.Helper()
	ctx := context.Background()
	store := memory.New()
	push := func(mediaType string, data []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
		if err := store.Push(ctx, d, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cfg := push(helmoci.ConfigMediaType, helmoci.Config(name, version))
	layer := push(helmoci.ChartLayerMediaType, chart)
	md := push(ocispec.MediaTypeImageManifest, helmoci.Manifest(cfg, layer, nil))
	if err := store.Tag(ctx, md, version); err != nil {
		t.Fatal(err)
	}
	if _, err := oras.Copy(ctx, store, version, crRepo(t, host+"/"+repo), version, oras.DefaultCopyOptions); err != nil {
		t.Fatal(err)
	}
	return md.Digest
}

// extFiles is an HTTP server on 127.0.0.1 whose files can change.
type extFiles struct {
	mu    sync.Mutex
	files map[string][]byte
	URL   string
}

func extServe(t *testing.T) *extFiles {
	s := &extFiles{files: map[string][]byte{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		data, ok := s.files[strings.TrimPrefix(r.URL.Path, "/")]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *extFiles) set(name string, data []byte) {
	s.mu.Lock()
	s.files[name] = data
	s.mu.Unlock()
}

// extHelmIndex is a chart repository index.yaml listing one chart.
func extHelmIndex(name, version string, chart []byte) []byte {
	return []byte(fmt.Sprintf(`apiVersion: v1
entries:
  %s:
  - apiVersion: v2
    name: %s
    version: %s
    digest: %s
    urls:
    - %s-%s.tgz
`, name, name, version, digest.FromBytes(chart).Encoded(), name, version))
}

// extFixture is a component with one resource of each access type.
type extFixture struct {
	src, cv, pub, cfg string
	web               *extFiles
	chart, ociChart   []byte
	file              []byte
}

func extSetup(t *testing.T) *extFixture {
	t.Helper()
	ext := agRegistry(t)
	crPushImage(t, ext, "acme/app", "1.4.0", "layer of app 1.4.0")
	ociChart := extChart(t, "ocichart", "0.2.0", "replicas: 2\n")
	extPushChart(t, ext, "charts/ocichart", ociChart, "ocichart", "0.2.0")
	web := extServe(t)
	chart := extChart(t, "webchart", "1.0.0", "replicas: 1\n")
	web.set("charts/webchart-1.0.0.tgz", chart)
	web.set("charts/index.yaml", extHelmIndex("webchart", "1.0.0", chart))
	file := []byte("a file on a web server\n")
	web.set("files/notes.txt", file)

	dir := t.TempDir()
	testutil.WriteFile(t, filepath.Join(dir, "readme.txt"), []byte("local readme\n"), 0o644)
	cons := filepath.Join(dir, "component-constructor.yaml")
	testutil.WriteFile(t, cons, []byte(`components:
- name: example.com/ext/app
  version: 1.0.0
  provider: {name: example.com}
  resources:
  - name: image
    type: ociImage
    version: 1.4.0
    access: {type: OCIImage/v1, imageReference: `+ext+`/acme/app:1.4.0}
  - name: webchart
    type: helmChart
    version: 1.0.0
    access: {type: Helm/v1, helmRepository: `+web.URL+`/charts, helmChart: webchart, version: 1.0.0}
  - name: ocichart
    type: helmChart
    version: 0.2.0
    access: {type: Helm/v1, helmRepository: oci://`+ext+`/charts, helmChart: "ocichart:0.2.0"}
  - name: notes
    type: plainText
    access: {type: Wget/v1, url: `+web.URL+`/files/notes.txt, mediaType: text/plain}
  - name: readme
    type: plainText
    input: {type: file, path: readme.txt, mediaType: text/plain}
`), 0o644)
	src := "ctf::" + filepath.Join(t.TempDir(), "ctf")
	agRun(t, "add", "cv", "--constructor", cons, "--repository", src)
	cfg, pub := agSigningConfig(t)
	agRun(t, "--config", cfg, "sign", "cv", src+"//example.com/ext/app:1.0.0")
	return &extFixture{src: src, cv: "example.com/ext/app:1.0.0", pub: pub, cfg: cfg, web: web, chart: chart, ociChart: ociChart, file: file}
}

// extDownload downloads a resource as a file (charts through the helm
// transformer, as a tar) and returns its bytes.
func extDownload(t *testing.T, ref, name string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "download")
	args := []string{"download", "resource", ref, "--identity", "name=" + name, "--output", out, "--extraction-policy", "disable"}
	if strings.HasSuffix(name, "chart") {
		args = append(args, "--transformer", "helm")
	}
	if _, _, err := run(t, args...); err != nil {
		t.Fatalf("download %s from %s: %v", name, ref, err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func extVerified(t *testing.T, ref, pub string) {
	t.Helper()
	out := agRun(t, "verify", "cv", ref, "--public-key", pub)
	for _, name := range []string{"image", "webchart", "ocichart", "notes", "readme"} {
		if !crCheckLine(out, "resource name="+name, "ok") {
			t.Errorf("verify %s: resource %s not re-hashed:\n%s", ref, name, out)
		}
	}
}

var extResources = []string{"image", "webchart", "ocichart", "notes", "readme"}

func TestExternalContentRoundTrip(t *testing.T) {
	fx := extSetup(t)
	src := fx.src + "//" + fx.cv
	cd := sgGetCV(t, src)
	want := map[string]string{"webchart": digest.FromBytes(fx.chart).Encoded(), "notes": digest.FromBytes(fx.file).Encoded()}
	for name, v := range want {
		if r := acvFindResource(t, cd, name, nil); r.Digest == nil || r.Digest.Value != v || r.Digest.NormalisationAlgorithm != "genericBlobDigest/v1" {
			t.Errorf("resource %s: digest %+v, want genericBlobDigest/v1 %s", name, r.Digest, v)
		}
	}
	extVerified(t, src, fx.pub)
	source := map[string][]byte{}
	for _, name := range extResources {
		source[name] = extDownload(t, src, name)
	}
	// The chart archive comes out byte for byte under Helm's file name.
	if files := acvTarFiles(t, source["webchart"]); !bytes.Equal(files["webchart-1.0.0.tgz"], fx.chart) {
		t.Fatalf("webchart download: %v", acvTarListing(t, source["webchart"]))
	}
	if files := acvTarFiles(t, source["ocichart"]); !bytes.Equal(files["ocichart-0.2.0.tgz"], fx.ociChart) {
		t.Fatalf("ocichart download: %v", acvTarListing(t, source["ocichart"]))
	}
	if !bytes.Equal(source["notes"], fx.file) {
		t.Fatalf("notes download %q", source["notes"])
	}

	// CTF -> registry A (copying everything) -> .tgz -> registry B.
	a, b := agRegistry(t)+"/ocm", agRegistry(t)+"/ocm"
	tgz := filepath.Join(t.TempDir(), "airgap.tgz")
	agRun(t, "transfer", "cv", "--copy-resources", src, a)
	extVerified(t, a+"//"+fx.cv, fx.pub)
	agRun(t, "transfer", "cv", "--copy-resources", a+"//"+fx.cv, "ctf::"+tgz)
	// The archive holds everything: it verifies with external content off.
	out := agRun(t, "verify", "cv", "ctf::"+tgz+"//"+fx.cv, "--public-key", fx.pub, "--external-content=false")
	if strings.Contains(out, "not checked") {
		t.Fatalf("air-gap archive still has external content:\n%s", out)
	}
	agRun(t, "transfer", "cv", "--copy-resources", "ctf::"+tgz+"//"+fx.cv, b)
	extVerified(t, b+"//"+fx.cv, fx.pub)
	for _, r := range sgGetCV(t, b+"//"+fx.cv).Component.Resources {
		if !r.Access.IsLocalBlob() {
			t.Errorf("resource %s in B has access %s, want a local blob", r.Name, r.Access.Type)
		}
	}
	for _, name := range extResources {
		if got := extDownload(t, b+"//"+fx.cv, name); !bytes.Equal(got, source[name]) {
			t.Errorf("resource %s: %d bytes from B, %d from the source", name, len(got), len(source[name]))
		}
	}
	// The chart from the HTTP repository is a pullable OCI Helm artifact in A.
	extCheckChartArtifact(t, a, fx, "webchart", fx.chart)

	// --upload-as ociArtifact: charts and the image get their own repositories.
	c := agRegistry(t) + "/ocm"
	agRun(t, "transfer", "cv", "--copy-resources", "--upload-as", "ociArtifact", src, c)
	extVerified(t, c+"//"+fx.cv, fx.pub)
	cdC := sgGetCV(t, c+"//"+fx.cv)
	if acc := crAccess(t, cdC, "webchart"); !strings.Contains(acc["imageReference"], "/charts/webchart:1.0.0@sha256:") {
		t.Errorf("webchart with --upload-as ociArtifact: access %v", acc)
	}
	for _, name := range extResources {
		if got := extDownload(t, c+"//"+fx.cv, name); !bytes.Equal(got, source[name]) {
			t.Errorf("resource %s: %d bytes from C, %d from the source", name, len(got), len(source[name]))
		}
	}
}

// extCheckChartArtifact pulls a chart resource stored as a local blob with
// plain oras-go, as `helm pull oci://` does: Helm's media types, the chart
// bytes unchanged.
func extCheckChartArtifact(t *testing.T, reg string, fx *extFixture, name string, chart []byte) {
	t.Helper()
	ctx := context.Background()
	cd := sgGetCV(t, reg+"//"+fx.cv)
	lb := acvLocalBlob(t, name, acvFindResource(t, cd, name, nil).Access)
	rr := crRepo(t, reg+"/"+ocimap.RepositoryName(cd.Component.Name))
	store := memory.New()
	root, err := oras.Copy(ctx, rr, lb.LocalReference, store, "chart", oras.DefaultCopyOptions)
	if err != nil {
		t.Fatalf("pulling %s: %v", lb.LocalReference, err)
	}
	rc, err := store.Fetch(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := content.ReadAll(rc, root)
	rc.Close()
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != helmoci.ConfigMediaType || len(m.Layers) != 1 || m.Layers[0].MediaType != helmoci.ChartLayerMediaType {
		t.Fatalf("chart artifact %s: config %s, layers %+v", root.Digest, m.Config.MediaType, m.Layers)
	}
	lrc, err := store.Fetch(ctx, m.Layers[0])
	if err != nil {
		t.Fatal(err)
	}
	got, _ := content.ReadAll(lrc, m.Layers[0])
	lrc.Close()
	if !bytes.Equal(got, chart) {
		t.Fatalf("chart layer differs from the chart archive")
	}
}

// Content that changed since it was signed: download, verify and
// transfer --copy-resources fail naming the resource, and write nothing.
func TestExternalContentChanged(t *testing.T) {
	fx := extSetup(t)
	src := fx.src + "//" + fx.cv
	fx.web.set("files/notes.txt", []byte("tampered\n"))
	out := filepath.Join(t.TempDir(), "notes")
	_, _, err := run(t, "download", "resource", src, "--identity", "name=notes", "--output", out)
	if err == nil || !strings.Contains(err.Error(), "resource name=notes") || !strings.Contains(err.Error(), "digest mismatch") {
		t.Fatalf("download of changed content: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("download of changed content left %s (%v)", out, err)
	}
	vout, _, err := run(t, "verify", "cv", src, "--public-key", fx.pub)
	if err == nil || !strings.Contains(err.Error(), "resource name=notes") {
		t.Fatalf("verify of changed content: %v\n%s", err, vout)
	}
	// Offline, the recorded digest is taken as it is.
	agRun(t, "verify", "cv", src, "--public-key", fx.pub, "--external-content=false")
	target := agRegistry(t) + "/ocm"
	if _, _, err := run(t, "transfer", "cv", "--copy-resources", src, target); err == nil || !strings.Contains(err.Error(), "resource notes") {
		t.Fatalf("transfer of changed content: %v", err)
	}
	if _, _, err := run(t, "get", "cv", target+"//"+fx.cv); err == nil {
		t.Fatal("a transfer that failed left the version in the target")
	}

	// A changed chart archive: named, nothing written.
	fx.web.set("files/notes.txt", fx.file)
	fx.web.set("charts/webchart-1.0.0.tgz", extChart(t, "webchart", "1.0.0", "replicas: 9\n"))
	out = filepath.Join(t.TempDir(), "chart")
	_, _, err = run(t, "download", "resource", src, "--identity", "name=webchart", "--output", out, "--transformer", "helm")
	if err == nil || !strings.Contains(err.Error(), "resource name=webchart") {
		t.Fatalf("download of a changed chart: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("download of a changed chart left %s", out)
	}

	// An access type nobody can fetch cannot travel: the air gap copy fails.
	dir := t.TempDir()
	cons := filepath.Join(dir, "c.yaml")
	testutil.WriteFile(t, cons, []byte(`components:
- name: example.com/ext/s3
  version: 1.0.0
  provider: {name: example.com}
  resources:
  - name: blob
    type: blob
    digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: genericBlobDigest/v1, value: `+strings.Repeat("ab", 32)+`}
    access: {type: s3/v1, bucket: b, key: k}
`), 0o644)
	s3 := "ctf::" + filepath.Join(t.TempDir(), "ctf")
	agRun(t, "add", "cv", "--constructor", cons, "--repository", s3)
	_, _, err = run(t, "transfer", "cv", "--copy-resources", s3+"//example.com/ext/s3:1.0.0", "ctf::"+filepath.Join(t.TempDir(), "out.tgz"))
	if err == nil || !strings.Contains(err.Error(), "resource blob") || !strings.Contains(err.Error(), "cannot be copied") {
		t.Fatalf("transfer of an uncopyable access: %v", err)
	}
	_ = descriptor.AccessHelm
}
