package main

// Helpers shared by the add_*_test.go files (ocm add cv acceptance tests).
// Every top-level name starts with acv so that it does not clash with test
// files others add to this package.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
)

// acvSparse creates a file of size bytes that holds only zeros (sparse).
func acvSparse(t testing.TB, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func acvSHA256(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func acvGunzip(t testing.TB, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

// acvGetCV runs `get cv <ref> -o json` in-process and decodes the descriptors.
func acvGetCV(t *testing.T, ref string) []descriptor.Descriptor {
	t.Helper()
	out, _, err := run(t, "get", "cv", ref, "-o", "json")
	if err != nil {
		t.Fatalf("get cv %s: %v", ref, err)
	}
	var list []descriptor.Descriptor
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("get cv %s -o json: %v\n%s", ref, err, out)
	}
	return list
}

// acvGetCVYAML runs `get cv <ref> -o yaml` in-process and decodes the descriptors.
func acvGetCVYAML(t *testing.T, ref string) []descriptor.Descriptor {
	t.Helper()
	out, _, err := run(t, "get", "cv", ref, "-o", "yaml")
	if err != nil {
		t.Fatalf("get cv %s -o yaml: %v", ref, err)
	}
	var list []descriptor.Descriptor
	if err := yaml.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("get cv %s -o yaml is not a descriptor list: %v\n%s", ref, err, out)
	}
	return list
}

// acvDownload downloads a resource with --extraction-policy disable and returns its bytes.
func acvDownload(t *testing.T, ref, identity string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "download")
	if _, _, err := run(t, "download", "resource", ref, "--identity", identity, "--output", out, "--extraction-policy", "disable"); err != nil {
		t.Fatalf("download resource %s --identity %s: %v", ref, identity, err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// acvTarListing lists a tar: "d 755 name/", "f 644 name <content>", "l 777 name -> target".
func acvTarListing(t testing.TB, data []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			out = append(out, fmt.Sprintf("d %o %s", h.Mode, h.Name))
		case tar.TypeReg:
			body, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("f %o %s %q", h.Mode, h.Name, body))
		case tar.TypeSymlink:
			out = append(out, fmt.Sprintf("l %o %s -> %s", h.Mode, h.Name, h.Linkname))
		default:
			out = append(out, fmt.Sprintf("? %c %s", h.Typeflag, h.Name))
		}
	}
}

// acvTarFiles reads the regular files of a tar into a map.
func acvTarFiles(t testing.TB, data []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		if h.Typeflag == tar.TypeReg {
			body, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[strings.TrimPrefix(h.Name, "./")] = body
		}
	}
}

// acvLayout is an OCI image layout as download writes it (a tar), parsed.
type acvLayout struct {
	files    map[string][]byte
	index    ocispec.Index
	manifest ocispec.Manifest
	raw      []byte // manifest bytes
}

func (l *acvLayout) blob(t testing.TB, d digest.Digest) []byte {
	t.Helper()
	data, ok := l.files["blobs/"+d.Algorithm().String()+"/"+d.Encoded()]
	if !ok {
		t.Fatalf("layout has no blob %s (files: %v)", d, slices.Sorted(maps.Keys(l.files)))
	}
	if got := digest.FromBytes(data); got != d {
		t.Fatalf("layout blob %s hashes to %s", d, got)
	}
	return data
}

// acvParseLayout reads a downloaded OCI layout tar whose index.json lists
// exactly one manifest, which must be want.
func acvParseLayout(t testing.TB, data []byte, want digest.Digest) *acvLayout {
	t.Helper()
	l := &acvLayout{files: acvTarFiles(t, data)}
	if _, ok := l.files["oci-layout"]; !ok {
		t.Fatalf("layout tar without oci-layout (files: %v)", slices.Sorted(maps.Keys(l.files)))
	}
	if err := json.Unmarshal(l.files["index.json"], &l.index); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	if len(l.index.Manifests) != 1 || l.index.Manifests[0].Digest != want {
		t.Fatalf("index.json manifests %+v, want exactly %s", l.index.Manifests, want)
	}
	l.raw = l.blob(t, want)
	if err := json.Unmarshal(l.raw, &l.manifest); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return l
}

// acvOCILayout is what acvBuildOCILayout wrote.
type acvOCILayout struct {
	dir                     string
	manifest, config, layer ocispec.Descriptor
	manifestRaw, layerTarGz []byte
	configRaw               []byte
}

// acvBuildOCILayout writes an OCI image layout with oras' OCI store: a
// config, a gzipped tar layer and an image manifest tagged tag.
func acvBuildOCILayout(t testing.TB, dir, tag string) *acvOCILayout {
	t.Helper()
	ctx := context.Background()
	store, err := oci.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	push := func(mediaType string, data []byte) ocispec.Descriptor {
		d := content.NewDescriptorFromBytes(mediaType, data)
		if err := store.Push(ctx, d, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	var layerBuf bytes.Buffer
	zw := gzip.NewWriter(&layerBuf)
	tw := tar.NewWriter(zw)
	body := []byte("hello from the image layer\n")
	tw.WriteHeader(&tar.Header{Name: "etc/motd", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)})
	tw.Write(body)
	tw.Close()
	zw.Close()
	l := &acvOCILayout{dir: dir, layerTarGz: layerBuf.Bytes()}
	l.configRaw = []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	l.config = push(ocispec.MediaTypeImageConfig, l.configRaw)
	l.layer = push(ocispec.MediaTypeImageLayerGzip, l.layerTarGz)
	m := ocispec.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      l.config,
		Layers:      []ocispec.Descriptor{l.layer},
		Annotations: map[string]string{ocispec.AnnotationCreated: "2024-01-01T00:00:00Z", ocispec.AnnotationTitle: filepath.Base(dir)},
	}
	l.manifestRaw, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	l.manifest = push(ocispec.MediaTypeImageManifest, l.manifestRaw)
	if err := store.Tag(ctx, l.manifest, tag); err != nil {
		t.Fatal(err)
	}
	return l
}

// acvWriteChart writes a small Helm chart directory.
func acvWriteChart(t testing.TB, dir, name, version string) {
	t.Helper()
	testutil.WriteFile(t, filepath.Join(dir, "Chart.yaml"), []byte("apiVersion: v2\nname: "+name+"\nversion: "+version+"\ndescription: a chart for tests\ntype: application\n"), 0o644)
	testutil.WriteFile(t, filepath.Join(dir, "values.yaml"), []byte("greeting: hello\n"), 0o644)
	testutil.WriteFile(t, filepath.Join(dir, "templates", "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n"), 0o644)
}

// acvStaging lists staging directories a writer of archive left: siblings
// ".<name>.ocm-staging-*" and, for a directory archive, ".ocm-staging-*" inside.
func acvStaging(t testing.TB, archive string) []string {
	t.Helper()
	var found []string
	scan := func(dir string) {
		des, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, de := range des {
			if strings.Contains(de.Name(), ".ocm-staging-") {
				found = append(found, filepath.Join(dir, de.Name()))
			}
		}
	}
	scan(filepath.Dir(archive))
	if fi, err := os.Stat(archive); err == nil && fi.IsDir() {
		scan(archive)
	}
	return found
}

// acvSafeBuffer is a bytes.Buffer safe for a writing process and a polling test.
type acvSafeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *acvSafeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *acvSafeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// acvProc is the ocm CLI started as a subprocess (the test binary re-executing main).
type acvProc struct {
	cmd    *exec.Cmd
	stdout acvSafeBuffer
	stderr acvSafeBuffer
	done   chan struct{}
	err    error
}

// acvStart starts ocm with args (after --config <empty>) and extra environment.
func acvStart(t *testing.T, env []string, args ...string) *acvProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &acvProc{done: make(chan struct{})}
	p.cmd = exec.Command(exe, append([]string{"--config", emptyConfig(t)}, args...)...)
	p.cmd.Env = append(append(os.Environ(), "OCM_TEST_RUN_MAIN=1"), env...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the process to end, at most timeout; it reports whether it
// ended and its exit code (-1 when killed by a signal).
func (p *acvProc) wait(timeout time.Duration) (exited bool, code int) {
	select {
	case <-p.done:
	case <-time.After(timeout):
		return false, 0
	}
	if p.err == nil {
		return true, 0
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return true, ee.ExitCode()
	}
	return true, -2
}

// acvPoll calls cond every few milliseconds until it is true or timeout passes.
func acvPoll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return cond()
}

// acvCopyFile copies a regular file.
func acvCopyFile(t testing.TB, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, dst, data, 0o644)
}

// acvFindResource returns the resource with the given name (and extra identity).
func acvFindResource(t testing.TB, cd *descriptor.Descriptor, name string, extra map[string]string) *descriptor.Resource {
	t.Helper()
	for i := range cd.Component.Resources {
		r := &cd.Component.Resources[i]
		if r.Name != name {
			continue
		}
		match := true
		for k, v := range extra {
			if r.ExtraIdentity[k] != v {
				match = false
			}
		}
		if match {
			return r
		}
	}
	t.Fatalf("%s:%s has no resource %s %v", cd.Component.Name, cd.Component.Version, name, extra)
	return nil
}

// acvLocalBlob decodes a LocalBlob access.
func acvLocalBlob(t testing.TB, what string, acc *descriptor.Typed) *descriptor.LocalBlobAccess {
	t.Helper()
	if acc == nil || !acc.IsLocalBlob() {
		t.Fatalf("%s: access %v is not a LocalBlob", what, acc)
	}
	lb, err := acc.LocalBlob()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return lb
}
