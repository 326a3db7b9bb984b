package main

// The air-gap flow end to end through the CLI: build, sign, push to
// registry A, pull into a .tgz, push into registry B, verify and download
// there. Every top-level name starts with ag.

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// agRegistry starts an in-memory olareg on 127.0.0.1 and returns its host:port.
func agRegistry(t *testing.T) string { return testutil.StartOlareg(t) }

// agRun runs the CLI and fails the test on an error.
func agRun(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, err := run(t, args...)
	if err != nil {
		t.Fatalf("ocm %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// agAirgap transfers component:version (recursively) from src to registry
// A, from A into a new .tgz, and from the .tgz into registry B. It returns
// A's and B's repository (host:port/ocm).
//
// copyFlags go to the first hop: --copy-resources fetches external images,
// which the interop archive has on ghcr.io, unreachable from the tests.
func agAirgap(t *testing.T, src, cv string, copyFlags ...string) (a, b string) {
	t.Helper()
	a, b = agRegistry(t)+"/ocm", agRegistry(t)+"/ocm"
	tgz := filepath.Join(t.TempDir(), "airgap.tgz")
	agRun(t, append(append([]string{"transfer", "cv", "--recursive"}, copyFlags...), src+"//"+cv, a)...)
	agRun(t, "transfer", "cv", "--recursive", a+"//"+cv, tgz)
	agRun(t, "transfer", "cv", "--recursive", "ctf::"+tgz+"//"+cv, b)
	return a, b
}

// agSigningConfig creates an RSA key pair with the CLI and an .ocmconfig
// that signs with it as "default" (RSASSA-PSS); it returns the config and
// the public key file.
func agSigningConfig(t *testing.T) (cfg, pub string) {
	t.Helper()
	keys := t.TempDir()
	priv, pub := filepath.Join(keys, "key.priv"), filepath.Join(keys, "key.pub")
	agRun(t, "create", "rsakeypair", priv, pub)
	cfg = sgConfig(t, filepath.Join(keys, ".ocmconfig"),
		[]sgCred{{Signature: "default", Algorithm: "RSASSA-PSS", Props: map[string]string{"private_key_pem_file": priv}}},
		[]sgSigner{{Signature: "default", Algorithm: "RSASSA-PSS"}})
	return cfg, pub
}

// agIdentity is the --identity argument of a resource.
func agIdentity(r *descriptor.Resource) string {
	parts := []string{"name=" + r.Name}
	var keys []string
	for k := range r.ExtraIdentity {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+r.ExtraIdentity[k])
	}
	return strings.Join(parts, ",")
}

// agSameDownloads downloads every local resource of cv from the source and
// from target; the bytes must be identical. It returns how many were compared.
func agSameDownloads(t *testing.T, src, target, cv string) int {
	t.Helper()
	cd := sgGetCV(t, src+"//"+cv)
	n := 0
	for i := range cd.Component.Resources {
		r := &cd.Component.Resources[i]
		if r.Access == nil || !r.Access.IsLocalBlob() {
			continue
		}
		id := agIdentity(r)
		want := acvDownload(t, src+"//"+cv, id)
		got := acvDownload(t, target+"//"+cv, id)
		if len(want) == 0 || !bytes.Equal(got, want) {
			t.Errorf("%s resource %s: %d bytes from %s, %d bytes (sha256 %s) from the source (sha256 %s)",
				cv, id, len(got), target, len(want), acvSHA256(got), acvSHA256(want))
		}
		n++
	}
	return n
}

// agCheckHelmPullable fetches the chart resource of cv from the registry
// repository reg (host:port/ocm) with plain oras-go.
func agCheckHelmPullable(t *testing.T, reg, component, version, resource string) {
	t.Helper()
	ctx := context.Background()
	cd := sgGetCV(t, reg+"//"+component+":"+version)
	lb := acvLocalBlob(t, "chart", acvFindResource(t, cd, resource, nil).Access)
	dg, err := digest.Parse(lb.LocalReference)
	if err != nil {
		t.Fatalf("chart localReference %q: %v", lb.LocalReference, err)
	}
	rr, err := remote.NewRepository(reg + "/" + ocimap.RepositoryName(component))
	if err != nil {
		t.Fatal(err)
	}
	rr.PlainHTTP = true
	desc, rc, err := rr.Manifests().FetchReference(ctx, dg.String())
	if err != nil {
		t.Fatalf("fetching chart manifest %s: %v", dg, err)
	}
	data, err := content.ReadAll(rc, desc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := digest.FromBytes(data); got != dg {
		t.Fatalf("chart manifest hashes to %s, want %s", got, dg)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != "application/vnd.cncf.helm.config.v1+json" {
		t.Errorf("chart config media type %q", m.Config.MediaType)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != "application/vnd.cncf.helm.chart.content.v1.tar+gzip" {
		t.Errorf("chart layers %+v", m.Layers)
	}
	store := memory.New()
	root, err := oras.Copy(ctx, rr, dg.String(), store, "chart", oras.DefaultCopyOptions)
	if err != nil {
		t.Fatalf("oras.Copy of the chart: %v", err)
	}
	if root.Digest != dg {
		t.Fatalf("oras.Copy root %s, want %s", root.Digest, dg)
	}
	for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if ok, err := store.Exists(ctx, d); err != nil || !ok {
			t.Errorf("chart %s %s not copied (%v)", d.MediaType, d.Digest, err)
		}
	}
}

const agConstructor = `components:
- name: example.com/airgap/app
  version: 1.0.0
  provider:
    name: example.com
  resources:
  - name: readme
    type: plainText
    input:
      type: file
      path: data/readme.txt
      mediaType: text/plain
  - name: config
    type: directoryTree
    input:
      type: dir
      path: data/config
      compress: true
  - name: chart
    type: helmChart
    input:
      type: helm
      path: chart
`

func TestAirgapOwnComponent(t *testing.T) {
	const comp, cv = "example.com/airgap/app", "example.com/airgap/app:1.0.0"
	dir := t.TempDir()
	testutil.WriteFile(t, filepath.Join(dir, "data", "readme.txt"), []byte("air-gapped readme\n"), 0o644)
	testutil.WriteFile(t, filepath.Join(dir, "data", "config", "app.yaml"), []byte("replicas: 3\n"), 0o644)
	testutil.WriteFile(t, filepath.Join(dir, "data", "config", "sub", "flags.ini"), []byte("[x]\ny=1\n"), 0o644)
	acvWriteChart(t, filepath.Join(dir, "chart"), "airgap", "0.2.0")
	cons := filepath.Join(dir, "component-constructor.yaml")
	testutil.WriteFile(t, cons, []byte(agConstructor), 0o644)
	src := "ctf::" + filepath.Join(t.TempDir(), "ctf")
	agRun(t, "add", "cv", "--constructor", cons, "--repository", src)

	cfg, pub := agSigningConfig(t)
	keys := filepath.Dir(pub)
	agRun(t, "--config", cfg, "sign", "cv", src+"//"+cv)
	if s := sgSignature(t, sgGetCV(t, src+"//"+cv), "default"); s.Signature.Algorithm != "RSASSA-PSS" {
		t.Fatalf("signature algorithm %q", s.Signature.Algorithm)
	}
	agRun(t, "verify", "cv", src+"//"+cv, "--public-key", pub)

	a, b := agAirgap(t, src, cv, "--copy-resources")
	agRun(t, "verify", "cv", b+"//"+cv, "--public-key", pub)
	// A wrong key fails in B: the verification is not vacuous.
	otherPriv, otherPub := filepath.Join(keys, "other.priv"), filepath.Join(keys, "other.pub")
	agRun(t, "create", "rsakeypair", otherPriv, otherPub)
	if _, _, err := run(t, "verify", "cv", b+"//"+cv, "--public-key", otherPub); err == nil {
		t.Fatal("verify cv in B passes with an unrelated key")
	}
	if n := agSameDownloads(t, src, b, cv); n != 3 {
		t.Fatalf("compared %d resources, want 3", n)
	}
	agCheckHelmPullable(t, a, comp, "1.0.0", "chart")
}

func TestAirgapInterop(t *testing.T) {
	src := "ctf::" + testutil.InteropCTF(t, testutil.Dir)
	pub := filepath.Join(testutil.InteropDir(t), "public-key.pem")
	a, b := agAirgap(t, src, app+":1.2.0")
	for _, cv := range []string{app + ":1.2.0", lib + ":0.3.1+build.7"} {
		// The interop image lives on ghcr.io, out of reach: offline.
		agRun(t, "verify", "cv", b+"//"+cv, "--public-key", pub, "--external-content=false")
	}
	if n := agSameDownloads(t, src, b, app+":1.2.0"); n != 3 {
		t.Fatalf("app: compared %d resources, want 3", n)
	}
	if n := agSameDownloads(t, src, b, lib+":0.3.1+build.7"); n != 2 {
		t.Fatalf("lib: compared %d resources, want 2", n)
	}
	agCheckHelmPullable(t, a, app, "1.2.0", "chart")
}
