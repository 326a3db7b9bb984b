package main

// ocm compat: node, check (component versions and --image), lint. Every
// top-level name starts with compat.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/ocmgo/ocm/compat"
)

// compatSpecYAML needs an NVIDIA GPU and the nvidia module (set gpu) or
// falls back to AVX2 (set cpu).
const compatSpecYAML = `version: v1alpha1
compatibilities:
- tag: gpu
  weight: 100
  description: CUDA build
  rules:
  - name: gpu-driver
    matchFeatures:
    - feature: kernel.loadedmodule
      matchExpressions:
        nvidia: {op: Exists}
    - feature: pci.device
      matchExpressions:
        vendor: {op: In, value: ["10de"]}
  - name: kernel
    matchFeatures:
    - feature: kernel.version
      matchExpressions:
        full: {op: Ge, value: ["5.15"], type: version}
- tag: cpu
  weight: 10
  rules:
  - name: avx2
    matchFeatures:
    - feature: cpu.cpuid
      matchExpressions:
        AVX2: {op: Exists}
`

const compatGPUNode = `{"flags":{"kernel.loadedmodule":{"elements":{"nvidia":{}}},"cpu.cpuid":{"elements":{"AVX2":{}}}},
 "attributes":{"kernel.version":{"elements":{"full":"6.8.0-45-generic","major":"6","minor":"8","revision":"0"}}},
 "instances":{"pci.device":{"elements":[{"attributes":{"vendor":"10de","class":"0302"}}]}}}`

const compatOldNode = `apiVersion: nfd.k8s-sigs.io/v1alpha1
kind: NodeFeature
metadata: {name: old}
spec:
  features:
    flags:
      kernel.loadedmodule: {elements: {nvidia: {}}}
      cpu.cpuid: {elements: {SSE42: {}}}
    attributes:
      kernel.version: {elements: {full: 5.4.0-150-generic, major: "5", minor: "4", revision: "0"}}
    instances:
      pci.device: {elements: [{attributes: {vendor: "10de", class: "0302"}}]}
`

// compatBuild builds example.com/compat:1.0.0 with the constructor sugar
// into a directory CTF and returns the component reference.
func compatBuild(t *testing.T) (ref, archive string) {
	t.Helper()
	dir := t.TempDir()
	acvWrite(t, filepath.Join(dir, "spec.yaml"), []byte(compatSpecYAML))
	c := filepath.Join(dir, "component-constructor.yaml")
	acvWrite(t, c, []byte(`name: example.com/compat
version: 1.0.0
provider: {name: example.com}
resources:
- name: app-image
  type: ociImage
  access: {type: OCIImage, imageReference: "ghcr.io/acme/app:1.0.0"}
  compatibility: {file: spec.yaml}
- name: tool
  type: ociImage
  access: {type: OCIImage, imageReference: "ghcr.io/acme/tool:1.0.0"}
`))
	archive = filepath.Join(dir, "ctf")
	if _, stderr, err := run(t, "add", "cv", "--skip-reference-digest-processing", "-r", "ctf::"+archive, "-c", c); err != nil {
		t.Fatalf("add cv: %v\n%s", err, stderr)
	}
	return "ctf::" + archive + "//example.com/compat:1.0.0", archive
}

func compatNodeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	acvWrite(t, p, []byte(content))
	return p
}

func compatExit(err error) int {
	if err == nil {
		return 0
	}
	return exitCode(err)
}

func TestCompatCheckComponent(t *testing.T) {
	ref, archive := compatBuild(t)

	// The sugar produced a signed, linked imageCompatibility resource whose
	// blob is the spec file, byte for byte.
	cd := acvGetCV(t, ref)[0]
	r := acvFindResource(t, &cd, "app-image-compat", nil)
	if r.Type != compat.ResourceType || r.Relation != "local" || len(r.Labels) != 1 || r.Labels[0].Name != compat.SubjectLabel || !bool(r.Labels[0].Signing) {
		t.Fatalf("generated resource: %+v", r)
	}
	var subject map[string]string
	if err := json.Unmarshal(r.Labels[0].Value, &subject); err != nil || subject["name"] != "app-image" {
		t.Fatalf("subject label %s", r.Labels[0].Value)
	}
	if lb := acvLocalBlob(t, "app-image-compat", r.Access); lb.MediaType != compat.SpecMediaType {
		t.Fatalf("media type %q", lb.MediaType)
	}
	if got := acvDownload(t, ref, "name=app-image-compat"); string(got) != compatSpecYAML {
		t.Fatalf("blob differs from the spec file:\n%s", got)
	}

	gpu := compatNodeFile(t, "gpu.json", compatGPUNode)
	old := compatNodeFile(t, "old.yaml", compatOldNode)

	// Compatible: exit 0, the best set is named.
	out, _, err := run(t, "compat", "check", ref, "--node", gpu)
	if err != nil {
		t.Fatalf("compatible node: %v\n%s", err, out)
	}
	for _, want := range []string{"SPEC: resource name=app-image-compat", "CONSTRAINS: name=app-image", "COMPATIBLE: set #1 (tag gpu, weight 100)", "RESULT: COMPATIBLE"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// Incompatible (old kernel, no AVX2): exit 3, failing expression and
	// observed value named.
	out, _, err = run(t, "compat", "check", ref, "--node", old)
	if compatExit(err) != exitIncompatible {
		t.Fatalf("old node: exit %d (%v)\n%s", compatExit(err), err, out)
	}
	for _, want := range []string{"RULE: kernel - FAIL", "kernel.version.full", `{op: "Ge", value: ["5.15"], type: "version"}`, `"5.4.0-150-generic"`, "cpu.cpuid.AVX2", "absent", "RESULT: INCOMPATIBLE"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(err.Error(), `kernel.version.full {op: "Ge", value: ["5.15"], type: "version"} (observed: "5.4.0-150-generic")`) {
		t.Errorf("error does not explain: %v", err)
	}

	// The process exit codes, as scripts see them.
	if _, code := runBinary(t, "compat", "check", ref, "--node", old); code != exitIncompatible {
		t.Errorf("process exit %d for an incompatible node, want %d", code, exitIncompatible)
	}
	if _, code := runBinary(t, "compat", "check", ref, "--node", gpu); code != 0 {
		t.Errorf("process exit %d for a compatible node", code)
	}

	// Tags: only the cpu set, which the GPU node (AVX2) passes.
	out, _, err = run(t, "compat", "check", ref, "--node", gpu, "--tags", "cpu", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Compatible bool
		Specs      []struct {
			Compatible bool
			Report     compat.Report
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if !res.Compatible || len(res.Specs) != 1 || len(res.Specs[0].Report.Sets) != 1 || res.Specs[0].Report.Sets[0].Tag != "cpu" {
		t.Fatalf("json result %+v", res)
	}

	// --resource: the spec constrains app-image; tool has none.
	if _, _, err := run(t, "compat", "check", ref, "--node", gpu, "--resource", "app-image"); err != nil {
		t.Fatal(err)
	}
	_, _, err = run(t, "compat", "check", ref, "--node", gpu, "--resource", "tool")
	if compatExit(err) != 1 || !strings.Contains(err.Error(), `no image compatibility spec constrains resource "tool"`) {
		t.Fatalf("resource without spec: %v", err)
	}

	// A tampered spec blob fails verification: exit 1, nothing evaluated.
	compatTamper(t, archive, []byte(compatSpecYAML))
	out, _, err = run(t, "compat", "check", ref, "--node", old)
	if compatExit(err) != 1 || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("tampered blob: exit %d, %v\n%s", compatExit(err), err, out)
	}
	if strings.Contains(out, "RESULT") {
		t.Errorf("tampered spec was evaluated:\n%s", out)
	}
}

// compatTamper rewrites the CTF blob holding old (same length, so that
// only the digest check can notice).
func compatTamper(t *testing.T, archive string, old []byte) {
	t.Helper()
	blobs, err := filepath.Glob(filepath.Join(archive, "blobs", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blobs {
		data, err := os.ReadFile(b)
		if err != nil || !bytes.Equal(data, old) {
			continue
		}
		bad := bytes.Replace(data, []byte(`["5.15"]`), []byte(`["1.00"]`), 1)
		if err := os.WriteFile(b, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no blob with the spec in %s", archive)
}

func TestCompatCheckErrors(t *testing.T) {
	dir := t.TempDir()
	c := filepath.Join(dir, "component-constructor.yaml")
	acvWrite(t, c, []byte(`name: example.com/plain
version: 1.0.0
provider: {name: example.com}
resources:
- {name: text, type: plainText, input: {type: utf8, text: hi}}
`))
	archive := filepath.Join(dir, "ctf")
	if _, _, err := run(t, "add", "cv", "--skip-reference-digest-processing", "-r", "ctf::"+archive, "-c", c); err != nil {
		t.Fatal(err)
	}
	node := compatNodeFile(t, "n.json", compatGPUNode)
	_, _, err := run(t, "compat", "check", "ctf::"+archive+"//example.com/plain:1.0.0", "--node", node)
	if compatExit(err) != 1 || !strings.Contains(err.Error(), "has no image compatibility spec") {
		t.Fatalf("no spec: %v", err)
	}
	for _, args := range [][]string{
		{"compat", "check"},
		{"compat", "check", "x", "--node", node, "--local"},
		{"compat", "check", "x", "-o", "yaml"},
		{"compat", "check", "--image", "a/b:c", "extra"},
		{"compat", "check", "ctf::" + archive + "//example.com/plain:1.0.0", "--node", filepath.Join(dir, "missing.json")},
	} {
		if _, _, err := run(t, args...); compatExit(err) != 1 {
			t.Errorf("%v: exit %d (%v)", args, compatExit(err), err)
		}
	}

	// The constructor rejects an invalid spec, naming file, resource and field.
	acvWrite(t, filepath.Join(dir, "bad.yaml"), []byte("version: v1alpha1\ncompatibilities:\n- rules:\n  - name: a\n    matchFeatures:\n    - feature: cpu.cpuid\n      matchExpressions: {avx512f: {op: Foo}}\n"))
	acvWrite(t, c, []byte(`name: example.com/bad
version: 1.0.0
provider: {name: example.com}
resources:
- name: img
  type: ociImage
  access: {type: OCIImage, imageReference: "ghcr.io/acme/app:1.0.0"}
  compatibility: {file: bad.yaml}
`))
	_, _, err = run(t, "add", "cv", "--skip-reference-digest-processing", "-r", "ctf::"+archive, "-c", c)
	if err == nil || !strings.Contains(err.Error(), c+": resources[0].compatibility.file: resource \"img\": invalid image compatibility spec: compatibilities[0].rules[0].matchFeatures[0].matchExpressions.avx512f.op: unknown operator \"Foo\"") {
		t.Fatalf("bad spec: %v", err)
	}
}

// The label form: a spec carried in the label of the constrained resource.
func TestCompatCheckLabelForm(t *testing.T) {
	dir := t.TempDir()
	c := filepath.Join(dir, "component-constructor.yaml")
	acvWrite(t, c, []byte(`name: example.com/labelled
version: 1.0.0
provider: {name: example.com}
resources:
- name: img
  type: ociImage
  access: {type: OCIImage, imageReference: "ghcr.io/acme/app:1.0.0"}
  labels:
  - name: compatibility.ocm.software/nfd-v1alpha1
    signing: true
    value:
      version: v1alpha1
      compatibilities:
      - rules:
        - name: gpu
          matchFeatures:
          - feature: pci.device
            matchExpressions: {vendor: {op: In, value: ["10de"]}}
`))
	archive := filepath.Join(dir, "ctf")
	if _, _, err := run(t, "add", "cv", "--skip-reference-digest-processing", "-r", "ctf::"+archive, "-c", c); err != nil {
		t.Fatal(err)
	}
	ref := "ctf::" + archive + "//example.com/labelled:1.0.0"
	out, stderr, err := run(t, "compat", "check", ref, "--node", compatNodeFile(t, "g.json", compatGPUNode), "--resource", "img")
	if err != nil || !strings.Contains(out, "SPEC: label compatibility.ocm.software/nfd-v1alpha1 of resource name=img") {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(stderr, "not signed") {
		t.Errorf("signed label reported as unsigned: %s", stderr)
	}
	_, _, err = run(t, "compat", "check", ref, "--node", compatNodeFile(t, "o.yaml", strings.ReplaceAll(compatOldNode, "10de", "8086")))
	if compatExit(err) != exitIncompatible {
		t.Fatalf("exit %d: %v", compatExit(err), err)
	}
	// An unsigned label still works, with a warning.
	data, _ := os.ReadFile(c)
	acvWrite(t, c, bytes.Replace(bytes.Replace(data, []byte("signing: true"), []byte("signing: false"), 1), []byte("labelled"), []byte("unsigned"), 1))
	if _, _, err := run(t, "add", "cv", "--skip-reference-digest-processing", "-r", "ctf::"+archive, "-c", c); err != nil {
		t.Fatal(err)
	}
	_, stderr, err = run(t, "compat", "check", "ctf::"+archive+"//example.com/unsigned:1.0.0", "--node", compatNodeFile(t, "g.json", compatGPUNode))
	if err != nil || !strings.Contains(stderr, "compatibility label is not signed") {
		t.Fatalf("unsigned label: %v, stderr %q", err, stderr)
	}
}

func TestCompatNodeAndLint(t *testing.T) {
	root := t.TempDir()
	acvWrite(t, filepath.Join(root, "proc/sys/kernel/osrelease"), []byte("6.8.0-45-generic\n"))
	acvWrite(t, filepath.Join(root, "proc/modules"), []byte("nvidia 1 0 - Live 0x0\n"))
	acvWrite(t, filepath.Join(root, "etc/os-release"), []byte("ID=ubuntu\nVERSION_ID=\"22.04\"\n"))
	out := filepath.Join(t.TempDir(), "node.json")
	if _, _, err := run(t, "compat", "node", "--host-root", root, "-o", out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	f, err := compat.ParseFeatures(data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Attributes["kernel.version"].Elements["full"] != "6.8.0-45-generic" || f.Attributes["system.osrelease"].Elements["VERSION_ID.major"] != "22" {
		t.Fatalf("features %s", data)
	}
	if _, ok := f.Flags["kernel.loadedmodule"].Elements["nvidia"]; !ok {
		t.Fatalf("features %s", data)
	}
	// check --local with the same host root.
	ref, _ := compatBuild(t)
	_, _, err = run(t, "compat", "check", ref, "--local", "--host-root", root)
	if compatExit(err) != exitIncompatible || !strings.Contains(err.Error(), "feature not discovered") {
		t.Fatalf("local: exit %d: %v", compatExit(err), err)
	}

	spec := filepath.Join(t.TempDir(), "spec.yaml")
	acvWrite(t, spec, []byte(compatSpecYAML))
	if o, _, err := run(t, "compat", "lint", spec); err != nil || !strings.Contains(o, "ok") {
		t.Fatalf("clean spec: %v\n%s", err, o)
	}
	acvWrite(t, spec, []byte(strings.Replace(compatSpecYAML, "nvidia: {op: Exists}", "nvidia-drm: {op: Exists}\n        CONFIG_X: {op: NotIn, value: [\"y\"]}", 1)))
	o, _, err := run(t, "compat", "lint", spec)
	if compatExit(err) != 1 || !strings.Contains(o, `matchExpressions.nvidia-drm: /proc/modules lists "nvidia_drm"`) || !strings.Contains(o, "warning:") {
		t.Fatalf("lint: %v\n%s", err, o)
	}
}

// --image: the newest compatibility referrer of an image in an in-process
// registry, found through the referrers API, is evaluated.
func TestCompatCheckImage(t *testing.T) {
	host := agRegistry(t)
	ctx := context.Background()
	repo, err := remote.NewRepository(host + "/acme/app")
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	mem := memory.New()
	layer := compatPush(t, ctx, mem, ocispec.MediaTypeImageLayer, []byte("layer"))
	cfg := compatPush(t, ctx, mem, ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux"}`))
	img, err := oras.PackManifest(ctx, mem, oras.PackManifestVersion1_1, "", oras.PackManifestOptions{Layers: []ocispec.Descriptor{layer}, ConfigDescriptor: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.Tag(ctx, img, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	attach := func(spec, created string) {
		l := compatPush(t, ctx, mem, compat.SpecMediaType, []byte(spec))
		if _, err := oras.PackManifest(ctx, mem, oras.PackManifestVersion1_1, compat.ArtifactType, oras.PackManifestOptions{
			Subject: &img, Layers: []ocispec.Descriptor{l},
			ManifestAnnotations: map[string]string{compat.CreatedAnnotation: created},
		}); err != nil {
			t.Fatal(err)
		}
	}
	// An older artifact that nothing matches, and the newest, the real one.
	attach(strings.Replace(compatSpecYAML, `["10de"]`, `["ffff"]`, 1), "2024-01-01T00:00:00Z")
	attach(compatSpecYAML, "2025-06-01T00:00:00Z")
	// One manifest at a time: olareg loses a referrer when two with the
	// same subject are pushed at once (seen under -race).
	sequential := oras.DefaultExtendedCopyOptions
	sequential.Concurrency = 1
	if _, err := oras.ExtendedCopy(ctx, mem, "1.0.0", repo, "1.0.0", sequential); err != nil {
		t.Fatal(err)
	}
	image := host + "/acme/app:1.0.0"
	out, _, err := run(t, "compat", "check", "--image", image, "--plain-http", "--node", compatNodeFile(t, "g.json", compatGPUNode))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "COMPATIBLE: set #1 (tag gpu, weight 100)") || !strings.Contains(out, "CONSTRAINS: "+img.Digest.String()) {
		t.Fatalf("output:\n%s", out)
	}
	_, _, err = run(t, "compat", "check", "--image", image, "--node", compatNodeFile(t, "o.yaml", compatOldNode), "--platform", "linux/amd64")
	if compatExit(err) != exitIncompatible {
		t.Fatalf("old node: exit %d: %v", compatExit(err), err)
	}
	_, _, err = run(t, "compat", "check", "--image", image, "--node", compatNodeFile(t, "o.yaml", compatOldNode), "--platform", "linux/arm64")
	if compatExit(err) != 1 || !strings.Contains(err.Error(), "does not match target platform") {
		t.Fatalf("wrong platform: %v", err)
	}
	// An image without a compatibility artifact is an error.
	other, err := remote.NewRepository(host + "/acme/other")
	if err != nil {
		t.Fatal(err)
	}
	other.PlainHTTP = true
	if _, err := oras.Copy(ctx, mem, "1.0.0", other, "1.0.0", oras.DefaultCopyOptions); err != nil {
		t.Fatal(err)
	}
	_, _, err = run(t, "compat", "check", "--image", host+"/acme/other:1.0.0", "--node", compatNodeFile(t, "g.json", compatGPUNode))
	if compatExit(err) != 1 || !strings.Contains(err.Error(), "compatibility artifact not found") {
		t.Fatalf("no artifact: %v", err)
	}
	var ee *exitError
	if errors.As(err, &ee) {
		t.Fatalf("a missing artifact is an error, not a verdict: %v", err)
	}
}

func compatPush(t *testing.T, ctx context.Context, mem *memory.Store, mediaType string, data []byte) ocispec.Descriptor {
	t.Helper()
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
	if err := mem.Push(ctx, d, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return d
}

// compatNoReferrersAPI hides the referrers API and the OCI-Subject header,
// so that clients must use the sha256-<hex> tag schema.
type compatNoReferrersAPI struct {
	next http.Handler
	hits *atomic.Int32
}

func (h compatNoReferrersAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/referrers/") {
		h.hits.Add(1)
		http.NotFound(w, r)
		return
	}
	h.next.ServeHTTP(compatStripSubject{w}, r)
}

type compatStripSubject struct{ http.ResponseWriter }

func (s compatStripSubject) WriteHeader(code int) {
	s.Header().Del("OCI-Subject")
	s.ResponseWriter.WriteHeader(code)
}

func TestCompatCheckImageTagSchema(t *testing.T) {
	hits := &atomic.Int32{}
	srv := httptest.NewServer(compatNoReferrersAPI{next: olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}}), hits: hits})
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	repo, err := remote.NewRepository(host + "/acme/app")
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	mem := memory.New()
	layer := compatPush(t, ctx, mem, ocispec.MediaTypeImageLayer, []byte("layer"))
	img, err := oras.PackManifest(ctx, mem, oras.PackManifestVersion1_1, "application/vnd.example", oras.PackManifestOptions{Layers: []ocispec.Descriptor{layer}})
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.Tag(ctx, img, "v1"); err != nil {
		t.Fatal(err)
	}
	l := compatPush(t, ctx, mem, compat.SpecMediaType, []byte(compatSpecYAML))
	if _, err := oras.PackManifest(ctx, mem, oras.PackManifestVersion1_1, compat.ArtifactType, oras.PackManifestOptions{Subject: &img, Layers: []ocispec.Descriptor{l}}); err != nil {
		t.Fatal(err)
	}
	sequential := oras.DefaultExtendedCopyOptions
	sequential.Concurrency = 1
	if _, err := oras.ExtendedCopy(ctx, mem, "v1", repo, "v1", sequential); err != nil {
		t.Fatal(err)
	}
	tags, err := registry.Tags(ctx, repo)
	if err != nil || !slices.Contains(tags, "sha256-"+img.Digest.Encoded()) {
		t.Fatalf("no referrers tag after push: %v %v", tags, err)
	}
	out, _, err := run(t, "compat", "check", "--image", host+"/acme/app:v1", "--node", compatNodeFile(t, "g.json", compatGPUNode))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if hits.Load() == 0 || !strings.Contains(out, "RESULT: COMPATIBLE") {
		t.Fatalf("referrers API hits %d, output:\n%s", hits.Load(), out)
	}
}
