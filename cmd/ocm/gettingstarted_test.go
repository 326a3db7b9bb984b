package main

// The OCM v2 docs' Getting Started flow (website/content/docs/
// getting-started: create-component-version and deploy-helm-chart), with
// the constructors as printed there and only the registry host rewritten
// to a local one (and, for the chart pinned by digest, the digest of the
// chart served here).

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"
)

func TestGettingStartedFlow(t *testing.T) {
	ghcr := agRegistry(t) // stands in for ghcr.io
	crPushImage(t, ghcr, "stefanprodan/podinfo", "6.9.1", "podinfo 6.9.1")
	chart := extChart(t, "podinfo", "6.11.1", "replicaCount: 1\n")
	chartDigest := extPushChart(t, ghcr, "stefanprodan/charts/podinfo", chart, "podinfo", "6.11.1")

	dir := t.TempDir()
	testutil.WriteFile(t, filepath.Join(dir, "my-local-resource.txt"), []byte("My first local Resource for an OCM component\n"), 0o644)
	testutil.WriteFile(t, filepath.Join(dir, "component-constructor.yaml"), []byte(strings.ReplaceAll(`# yaml-language-server: $schema=https://ocm.software/{{< site-version >}}/schemas/bindings/go/constructor/schema-2020-12.json
components:
- name: github.com/acme.org/helloworld # Must at least be a DNS domain as per RFC 1123.
  version: 1.0.0 # Version conforming to SemVer 2.0.
  provider:
    name: acme.org # You must declare a provider, who serves as the owner of the component.
  resources:
    - name: mylocalfile
      type: blob
      input: # Embed by value
        type: File/v1
        path: ./my-local-resource.txt
    - name: image
      type: ociImage
      version: 1.0.0
      access: # Reference externally
        type: OCIImage/v1
        imageReference: ghcr.io/stefanprodan/podinfo:6.9.1
`, "ghcr.io", ghcr)), 0o644)
	testutil.WriteFile(t, filepath.Join(dir, "helm", "component-constructor.yaml"), []byte(strings.ReplaceAll(strings.ReplaceAll(`components:
  - name: ocm.software/ocm-k8s-toolkit/simple
    provider:
      name: ocm.software
    version: "1.0.0"
    resources:
      - name: helm-resource
        type: helmChart
        version: 1.0.0
        access:
          type: OCIImage/v1
          imageReference: "ghcr.io/stefanprodan/charts/podinfo:6.11.1@sha256:a9b2804ec61795a7457b2303bf9efbc5fba51f856c3945f3bb0af68bf3b35afd"
`, "ghcr.io", ghcr), "sha256:a9b2804ec61795a7457b2303bf9efbc5fba51f856c3945f3bb0af68bf3b35afd", chartDigest.String())), 0o644)

	archive := "ctf::" + filepath.Join(dir, "transport-archive")
	agRun(t, "add", "cv", "--constructor", filepath.Join(dir, "component-constructor.yaml"), "--repository", archive)
	agRun(t, "add", "cv", "--constructor", filepath.Join(dir, "helm", "component-constructor.yaml"), "--repository", archive)
	cfg, pub := agSigningConfig(t)
	const hello, simple = "github.com/acme.org/helloworld:1.0.0", "ocm.software/ocm-k8s-toolkit/simple:1.0.0"
	for _, cv := range []string{hello, simple} {
		agRun(t, "--config", cfg, "sign", "cv", archive+"//"+cv)
		agRun(t, "verify", "cv", archive+"//"+cv, "--public-key", pub)
	}
	repo := agRegistry(t) + "/ocm-tutorial"
	for _, cv := range []string{hello, simple} {
		agRun(t, "transfer", "cv", archive+"//"+cv, repo)
		out := agRun(t, "verify", "cv", repo+"//"+cv, "--public-key", pub)
		if strings.Contains(out, "not checked") {
			t.Errorf("verify %s in the registry left content unchecked:\n%s", cv, out)
		}
	}

	// Download the image as an OCI image layout and the chart with the
	// helm transformer, as the download how-to does.
	work := t.TempDir()
	layout := filepath.Join(work, "image-oci")
	agRun(t, "download", "resource", repo+"//"+hello, "--identity", "name=image", "--output", layout)
	for _, f := range []string{"oci-layout", "index.json"} {
		if _, err := os.Stat(filepath.Join(layout, f)); err != nil {
			t.Errorf("image download: %v", err)
		}
	}
	local := filepath.Join(work, "mylocalfile-downloaded")
	agRun(t, "download", "resource", repo+"//"+hello, "--identity", "name=mylocalfile", "--output", local)
	if data, _ := os.ReadFile(local); string(data) != "My first local Resource for an OCM component\n" {
		t.Errorf("mylocalfile: %q", data)
	}
	tgzDir := filepath.Join(work, "helmchart-tgz")
	agRun(t, "download", "resource", repo+"//"+simple, "--identity", "name=helm-resource", "--output", tgzDir, "--transformer", "helm")
	got, err := os.ReadFile(filepath.Join(tgzDir, "podinfo-6.11.1.tgz"))
	if err != nil || string(got) != string(chart) {
		t.Fatalf("helm transformer: %v (%d bytes, want the chart's %d)", err, len(got), len(chart))
	}
}
