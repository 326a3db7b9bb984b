package main

// transfer --copy-resources and --upload-as ociArtifact: external OCI
// artifacts copied by value, accesses rewritten, signatures intact.

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
)

// crPushImage pushes a one-layer image to host/repo:tag and returns its
// manifest digest.
func crPushImage(t *testing.T, host, repo, tag, layer string) digest.Digest {
	t.Helper()
	ctx := context.Background()
	store := memory.New()
	push := func(mediaType string, data []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
		if err := store.Push(ctx, d, strings.NewReader(string(data))); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cfg := push(ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux"}`))
	l := push(ocispec.MediaTypeImageLayer, []byte(layer))
	m, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{l}})
	md := push(ocispec.MediaTypeImageManifest, m)
	if err := store.Tag(ctx, md, tag); err != nil {
		t.Fatal(err)
	}
	rr := crRepo(t, host+"/"+repo)
	if _, err := oras.Copy(ctx, store, tag, rr, tag, oras.DefaultCopyOptions); err != nil {
		t.Fatal(err)
	}
	return md.Digest
}

func crRepo(t *testing.T, name string) *remote.Repository {
	t.Helper()
	rr, err := remote.NewRepository(name)
	if err != nil {
		t.Fatal(err)
	}
	rr.PlainHTTP = true
	return rr
}

func crAccess(t *testing.T, cd *descriptor.Descriptor, name string) map[string]string {
	t.Helper()
	r := acvFindResource(t, cd, name, nil)
	var acc map[string]string
	if err := json.Unmarshal(r.Access.Raw, &acc); err != nil {
		t.Fatal(err)
	}
	return acc
}

func TestTransferCopyResources(t *testing.T) {
	const cv = "example.com/cr/app:1.0.0"
	ext := agRegistry(t)
	imgDigest := crPushImage(t, ext, "acme/app", "1.4.0", "layer of app 1.4.0")
	imageRef := fmt.Sprintf("%s/acme/app:1.4.0@%s", ext, imgDigest)

	dir := t.TempDir()
	acvWriteChart(t, filepath.Join(dir, "chart"), "crchart", "0.3.0")
	testutil.WriteFile(t, filepath.Join(dir, "readme.txt"), []byte("copy resources\n"), 0o644)
	cons := filepath.Join(dir, "component-constructor.yaml")
	testutil.WriteFile(t, cons, []byte(`components:
- name: example.com/cr/app
  version: 1.0.0
  provider: {name: example.com}
  resources:
  - name: image
    type: ociImage
    version: 1.4.0
    access:
      type: ociArtifact
      imageReference: `+imageRef+`
  - name: chart
    type: helmChart
    input: {type: helm, path: chart}
  - name: readme
    type: plainText
    input: {type: file, path: readme.txt}
`), 0o644)
	src := "ctf::" + filepath.Join(t.TempDir(), "ctf")
	agRun(t, "add", "cv", "--constructor", cons, "--repository", src)
	cfg, pub := agSigningConfig(t)
	agRun(t, "--config", cfg, "sign", "cv", src+"//"+cv)

	// Without --copy-resources the image stays a reference.
	plain := agRegistry(t) + "/ocm"
	agRun(t, "transfer", "cv", src+"//"+cv, plain)
	if acc := crAccess(t, sgGetCV(t, plain+"//"+cv), "image"); acc["imageReference"] != imageRef {
		t.Fatalf("without --copy-resources: access %v", acc)
	}

	// localBlob: the image becomes a local blob with its manifest digest.
	b := agRegistry(t) + "/ocm"
	agRun(t, "transfer", "cv", "--copy-resources", src+"//"+cv, b)
	acc := crAccess(t, sgGetCV(t, b+"//"+cv), "image")
	if !strings.HasPrefix(acc["type"], "localBlob") && !strings.HasPrefix(acc["type"], "LocalBlob") || acc["localReference"] != imgDigest.String() || acc["mediaType"] != ocispec.MediaTypeImageManifest || acc["referenceName"] != "acme/app:1.4.0" {
		t.Fatalf("--copy-resources: image access %v", acc)
	}
	out := agRun(t, "verify", "cv", b+"//"+cv, "--public-key", pub)
	// The image's content is checked: as a local blob in B, and in its
	// registry where it stayed external.
	if !crCheckLine(out, "resource name=image", "ok") {
		t.Errorf("verify in B does not check the image:\n%s", out)
	}
	if out := agRun(t, "verify", "cv", plain+"//"+cv, "--public-key", pub, "--external-content=false"); !crCheckLine(out, "resource name=image", "not checked") {
		t.Errorf("verify --external-content=false claims to have checked an external image:\n%s", out)
	}
	if out := agRun(t, "verify", "cv", plain+"//"+cv, "--public-key", pub); !crCheckLine(out, "resource name=image", "ok") {
		t.Errorf("verify does not check the external image by default:\n%s", out)
	}
	// Rerun: nothing to do.
	res := transferResults(t, agRun(t, "transfer", "cv", "--copy-resources", "-o", "json", src+"//"+cv, b))
	if len(res) != 1 || !res[0].AlreadyPresent {
		t.Fatalf("rerun: %+v", res)
	}

	// ociArtifact: image and chart in their own repositories of C.
	cHost := agRegistry(t)
	c := cHost + "/ocm"
	agRun(t, "transfer", "cv", "--copy-resources", "--upload-as", "ociArtifact", src+"//"+cv, c)
	cd := sgGetCV(t, c+"//"+cv)
	acc = crAccess(t, cd, "image")
	if want := c + "/acme/app:1.4.0@" + imgDigest.String(); acc["imageReference"] != want || !strings.HasPrefix(acc["type"], "ociArtifact") {
		t.Fatalf("--upload-as ociArtifact: image access %v, want imageReference %s", acc, want)
	}
	if d, err := crRepo(t, c+"/acme/app").Resolve(context.Background(), "1.4.0"); err != nil || d.Digest != imgDigest {
		t.Fatalf("image in C: %v %v", d.Digest, err)
	}
	chartAcc := crAccess(t, cd, "chart")
	chartRef := chartAcc["imageReference"]
	// The helm input records no referenceName: <component>/<resource>:<version>.
	if !strings.HasPrefix(chartRef, c+"/example.com/cr/app/chart:1.0.0@sha256:") {
		t.Fatalf("chart access %v", chartAcc)
	}
	name, dg, _ := strings.Cut(strings.TrimPrefix(chartRef, cHost+"/"), "@")
	repo, _, _ := strings.Cut(name, ":")
	if d, err := crRepo(t, cHost+"/"+repo).Resolve(context.Background(), "1.0.0"); err != nil || d.Digest.String() != dg {
		t.Fatalf("chart in C at %s: %v %v", repo, d.Digest, err)
	}
	if acc := crAccess(t, cd, "readme"); !strings.HasPrefix(strings.ToLower(acc["type"]), "localblob") {
		t.Fatalf("readme is no longer a local blob: %v", acc)
	}
	out = agRun(t, "verify", "cv", c+"//"+cv, "--public-key", pub, "--external-content")
	for _, r := range []string{"image", "chart", "readme"} {
		if !crCheckLine(out, "resource name="+r, "ok") {
			t.Errorf("verify in C does not check %s:\n%s", r, out)
		}
	}

	// And back into local blobs through an archive: still verifies.
	tgz := filepath.Join(t.TempDir(), "airgap.tgz")
	agRun(t, "transfer", "cv", "--copy-resources", c+"//"+cv, tgz)
	d := agRegistry(t) + "/ocm"
	agRun(t, "transfer", "cv", "ctf::"+tgz+"//"+cv, d)
	if acc := crAccess(t, sgGetCV(t, d+"//"+cv), "chart"); acc["localReference"] != dg {
		t.Fatalf("chart after the round trip: %v", acc)
	}
	agRun(t, "verify", "cv", d+"//"+cv, "--public-key", pub)
	if n := agSameDownloads(t, b, d, cv); n != 3 {
		t.Fatalf("compared %d local resources, want 3", n)
	}

	// The registry now serves other content under the pinned tag: the
	// digest check refuses it and the target gets no tag.
	crPushImage(t, ext, "acme/app", "1.4.0", "something else")
	cons2 := strings.Replace(imageRef, "@"+imgDigest.String(), "", 1)
	_ = cons2
	e := agRegistry(t)
	srcNoPin := "ctf::" + filepath.Join(t.TempDir(), "ctf2")
	testutil.WriteFile(t, cons, []byte(`components:
- name: example.com/cr/app
  version: 1.0.0
  provider: {name: example.com}
  resources:
  - name: image
    type: ociImage
    version: 1.4.0
    digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: genericBlobDigest/v1, value: `+imgDigest.Encoded()+`}
    access:
      type: ociArtifact
      imageReference: `+cons2+`
`), 0o644)
	agRun(t, "add", "cv", "--skip-reference-digest-processing", "--constructor", cons, "--repository", srcNoPin)
	_, stderr, err := run(t, "transfer", "cv", "--copy-resources", srcNoPin+"//"+cv, e+"/ocm")
	if err == nil || !strings.Contains(err.Error(), "resource digest") || !strings.Contains(err.Error(), "image") {
		t.Fatalf("transfer of a changed image: err %v\n%s", err, stderr)
	}
	var tags []string
	_ = crRepo(t, e+"/ocm/component-descriptors/example.com/cr/app").Tags(context.Background(), "", func(ts []string) error { tags = append(tags, ts...); return nil })
	if len(tags) != 0 {
		t.Fatalf("tags after a refused transfer: %v", tags)
	}
}

// crCheckLine reports whether a verify table has a line with check and result.
func crCheckLine(out, check, result string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, check) {
			return strings.HasSuffix(strings.TrimSpace(l), "  "+result)
		}
	}
	return false
}
