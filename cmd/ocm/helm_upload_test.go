package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository"
)

// TestHelmInputUploadsToRepository: a helm input with `repository` (the
// reference's upload location) pushes the chart as an OCI Helm artifact to
// that repository:tag and records an OCIImage access pinned to it, with its
// manifest digest, instead of a local blob; the version signs and verifies
// with the chart re-hashed from the registry, and the chart pulls from there.
func TestHelmInputUploadsToRepository(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	registry := testutil.StartOlareg(t)
	dir := t.TempDir()
	testutil.WriteChart(t, dir, "chart", "0.4.0")
	cons := filepath.Join(dir, "component-constructor.yaml")
	testutil.WriteFile(t, cons, []byte(`components:
- name: example.com/helm/upload
  version: 1.0.0
  provider: {name: example.com}
  resources:
  - name: chart
    type: helmChart
    input: {type: helm, path: chart, repository: "`+registry+`/charts/chart:0.4.0"}
`), 0o644)
	archive := filepath.Join(t.TempDir(), "ctf")
	agRun(t, "add", "cv", "--repository", "ctf::"+archive, "--constructor", cons)
	res := resourceMapOf(t, archive, "example.com/helm/upload:1.0.0", "chart")
	acc := res["access"].(map[string]any)
	ref, _ := acc["imageReference"].(string)
	if acc["type"] != "OCIImage/v1" || !strings.HasPrefix(ref, registry+"/charts/chart:0.4.0@sha256:") {
		t.Fatalf("access %v", acc)
	}
	dg := res["digest"].(map[string]any)
	if dg["normalisationAlgorithm"] != "genericBlobDigest/v1" || "sha256:"+dg["value"].(string) != ref[strings.LastIndex(ref, "@")+1:] {
		t.Fatalf("digest %v for %s", dg, ref)
	}

	// The registry holds the chart as an OCI Helm artifact under the tag.
	ctx := context.Background()
	reg, err := repository.OpenRegistry(registry, "", repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := reg.Resolve(ctx, "charts/chart", "0.4.0")
	if err != nil || desc.Digest.String() != ref[strings.LastIndex(ref, "@")+1:] {
		t.Fatalf("tag 0.4.0: %v %v", desc.Digest, err)
	}
	rc, err := reg.Fetch(ctx, "charts/chart", desc)
	if err != nil {
		t.Fatal(err)
	}
	manifest, _ := io.ReadAll(rc)
	rc.Close()
	if !strings.Contains(string(manifest), "application/vnd.cncf.helm.config.v1+json") || !strings.Contains(string(manifest), "application/vnd.cncf.helm.chart.content.v1.tar+gzip") {
		t.Fatalf("manifest %s", manifest)
	}

	cfg, pub := agSigningConfig(t)
	agRun(t, "--config", cfg, "sign", "cv", "ctf::"+archive+"//example.com/helm/upload:1.0.0")
	out := agRun(t, "verify", "cv", "--public-key", pub, "ctf::"+archive+"//example.com/helm/upload:1.0.0")
	if !strings.Contains(out, "resource name=chart") || strings.Contains(out, "not checked") {
		t.Fatalf("verify:\n%s", out)
	}
}
