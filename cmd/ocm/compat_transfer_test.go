package main

// Compatibility specs travel as OCI referrers: transfer to a registry
// attaches each spec to its image (referrers API on olareg, the tag schema
// on CNCF distribution), and `compat check --image` on the registry agrees
// with the component-level check.

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/compat"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository/ocimap"
)

func TestCompatReferrersOnTransfer(t *testing.T) {
	const cv = "example.com/compat/layout:1.0.0"
	dir := t.TempDir()
	layout := acvBuildOCILayout(t, filepath.Join(dir, "layout"), "1.0.0")
	acvWrite(t, filepath.Join(dir, "spec.yaml"), []byte(compatSpecYAML))
	cons := filepath.Join(dir, "component-constructor.yaml")
	acvWrite(t, cons, []byte(`name: example.com/compat/layout
version: 1.0.0
provider: {name: example.com}
resources:
- name: image
  type: ociImage
  input: {type: ociImageLayout, path: layout}
  compatibility: {file: spec.yaml}
`))
	src := "ctf::" + filepath.Join(t.TempDir(), "ctf")
	agRun(t, "add", "cv", "--constructor", cons, "--repository", src)
	cfg, pub := agSigningConfig(t)
	agRun(t, "--config", cfg, "sign", "cv", src+"//"+cv)
	gpu, old := compatNodeFile(t, "gpu.json", compatGPUNode), compatNodeFile(t, "old.yaml", compatOldNode)

	for name, host := range map[string]string{"olareg": agRegistry(t), "distribution": testutil.StartDistribution(t)} {
		t.Run(name, func(t *testing.T) {
			target := host + "/ocm"
			_, stderr, err := run(t, "transfer", "cv", src+"//"+cv, target)
			if err != nil {
				t.Fatalf("transfer: %v\n%s", err, stderr)
			}
			if !strings.Contains(stderr, "compatibility spec") || !strings.Contains(stderr, "attached to") {
				t.Errorf("transfer does not report the attachment:\n%s", stderr)
			}
			agRun(t, "verify", "cv", target+"//"+cv, "--public-key", pub)
			// The image is a local blob: its manifest is addressable by digest.
			cd := sgGetCV(t, target+"//"+cv)
			lb := acvLocalBlob(t, "image", acvFindResource(t, cd, "image", nil).Access)
			if lb.LocalReference != layout.manifest.Digest.String() {
				t.Fatalf("image localReference %s, layout manifest %s", lb.LocalReference, layout.manifest.Digest)
			}
			image := target + "/" + ocimap.RepositoryName("example.com/compat/layout") + "@" + lb.LocalReference
			// The referrer is what NFD looks for.
			reg, err := openRegistry(reference.Repository{Type: reference.TypeOCI, BaseURL: host}, nil, true)
			if err != nil {
				t.Fatal(err)
			}
			repo := "ocm/" + ocimap.RepositoryName("example.com/compat/layout")
			subject, err := reg.Resolve(context.Background(), repo, lb.LocalReference)
			if err != nil {
				t.Fatal(err)
			}
			refs, err := reg.Referrers(context.Background(), repo, subject, compat.ArtifactType)
			if err != nil || len(refs) != 1 {
				t.Fatalf("referrers of %s: %v %v", subject.Digest, refs, err)
			}
			// Same verdicts as the component-level check: compatible on the
			// GPU node (exit 0), incompatible on the old one (exit 3).
			for _, node := range []struct {
				file string
				want int
			}{{gpu, 0}, {old, 3}} {
				outImg, _, errImg := run(t, "compat", "check", "--image", image, "--plain-http", "--node", node.file)
				outCV, _, errCV := run(t, "compat", "check", target+"//"+cv, "--node", node.file)
				if compatExit(errImg) != node.want || compatExit(errCV) != node.want {
					t.Fatalf("node %s: --image exit %d (%v), component exit %d (%v), want %d\n%s\n%s",
						filepath.Base(node.file), compatExit(errImg), errImg, compatExit(errCV), errCV, node.want, outImg, outCV)
				}
			}
			// A rerun attaches nothing new.
			_, stderr, err = run(t, "transfer", "cv", src+"//"+cv, target)
			if err != nil || !strings.Contains(stderr, "already attached") {
				t.Fatalf("rerun: %v\n%s", err, stderr)
			}
			if refs, _ := reg.Referrers(context.Background(), repo, subject, compat.ArtifactType); len(refs) != 1 {
				t.Fatalf("%d referrers after a rerun", len(refs))
			}
		})
	}

	// A tampered spec in the archive fails verification and is not attached.
	tampered := filepath.Join(t.TempDir(), "tampered")
	agRun(t, "transfer", "cv", src+"//"+cv, tampered)
	cd := sgGetCV(t, "ctf::"+tampered+"//"+cv)
	spec := acvFindResource(t, cd, "image-compat", nil)
	specLB := acvLocalBlob(t, "spec", spec.Access)
	blob := filepath.Join(tampered, "blobs", strings.Replace(specLB.LocalReference, ":", ".", 1))
	acvWrite(t, blob, []byte(strings.Replace(compatSpecYAML, "5.15", "4.0", 1)))
	if _, _, err := run(t, "verify", "cv", "ctf::"+tampered+"//"+cv, "--public-key", pub); err == nil {
		t.Fatal("verify passes with a tampered compatibility spec")
	}
	if _, _, err := run(t, "compat", "check", "ctf::"+tampered+"//"+cv, "--node", gpu); compatExit(err) != 1 {
		t.Fatalf("compat check of a tampered spec: exit %d (%v), want 1", compatExit(err), err)
	}
	e := agRegistry(t)
	if _, _, err := run(t, "transfer", "cv", "ctf::"+tampered+"//"+cv, e+"/ocm"); err == nil {
		t.Fatal("transfer of a tampered spec succeeds")
	}
}

// add cv --import-compat takes the newest spec attached to an image.
func TestAddImportCompat(t *testing.T) {
	host := agRegistry(t)
	dg := crPushImage(t, host, "acme/app", "1.4.0", "app layer")
	crPushImage(t, host, "acme/tool", "2.0.0", "tool layer")
	reg, err := openRegistry(reference.Repository{Type: reference.TypeOCI, BaseURL: host}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	subject, err := reg.Resolve(context.Background(), "acme/app", dg.String())
	if err != nil {
		t.Fatal(err)
	}
	older := strings.Replace(compatSpecYAML, `["10de"]`, `["ffff"]`, 1)
	for _, a := range []struct{ spec, created string }{{older, "2024-01-01T00:00:00Z"}, {compatSpecYAML, "2025-01-01T00:00:00Z"}} {
		if _, _, err := reg.AttachReferrer(context.Background(), "acme/app", subject, compat.ArtifactType, compat.SpecMediaType, []byte(a.spec), map[string]string{compat.CreatedAnnotation: a.created}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	cons := filepath.Join(dir, "component-constructor.yaml")
	acvWrite(t, cons, []byte(`name: example.com/imported
version: 1.0.0
provider: {name: example.com}
resources:
- name: app
  type: ociImage
  version: 1.4.0
  access: {type: ociArtifact, imageReference: `+host+`/acme/app:1.4.0}
- name: tool
  type: ociImage
  version: 2.0.0
  access: {type: ociArtifact, imageReference: `+host+`/acme/tool:2.0.0}
`))
	archive := "ctf::" + filepath.Join(t.TempDir(), "ctf")
	_, stderr, err := run(t, "add", "cv", "--import-compat", "-c", cons, "-r", archive)
	if err != nil {
		t.Fatalf("add cv --import-compat: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "app-compat <- "+host+"/acme/app:1.4.0") || strings.Contains(stderr, "tool-compat") {
		t.Errorf("import report:\n%s", stderr)
	}
	ref := archive + "//example.com/imported:1.0.0"
	cd := sgGetCV(t, ref)
	r := acvFindResource(t, cd, "app-compat", nil)
	if r.Type != compat.ResourceType || len(r.Labels) != 1 || r.Labels[0].Name != compat.SubjectLabel || !r.Labels[0].Signing {
		t.Fatalf("imported resource %+v", r)
	}
	if got := acvDownload(t, ref, "name=app-compat"); string(got) != compatSpecYAML {
		t.Fatalf("imported spec is not the newest:\n%s", got)
	}
	for _, node := range []struct {
		file string
		want int
	}{{compatNodeFile(t, "gpu.json", compatGPUNode), 0}, {compatNodeFile(t, "old.yaml", compatOldNode), 3}} {
		if _, _, err := run(t, "compat", "check", ref, "--node", node.file); compatExit(err) != node.want {
			t.Fatalf("compat check on %s: exit %d (%v), want %d", node.file, compatExit(err), err, node.want)
		}
	}
}
