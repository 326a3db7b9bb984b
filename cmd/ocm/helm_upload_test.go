package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"
)

// TestHelmInputRepositoryField: `repository` on a helm input (the
// reference's upload location) is validated as the reference validates it
// (a tag equal to the chart version) and, as the reference CLI does, the
// chart is still stored as a local blob — with a warning that names the
// location instead of silently ignoring it. Nothing is contacted.
func TestHelmInputRepositoryField(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteChart(t, dir, "chart", "0.4.0")
	cons := filepath.Join(dir, "component-constructor.yaml")
	write := func(repo string) {
		testutil.WriteFile(t, cons, []byte(`components:
- name: example.com/helm/upload
  version: 1.0.0
  provider: {name: example.com}
  resources:
  - name: chart
    type: helmChart
    input: {type: helm, path: chart, repository: "`+repo+`"}
`), 0o644)
	}
	// An unreachable host: any attempt to upload would fail the add.
	write("127.0.0.1:1/charts/chart:0.4.0")
	archive := filepath.Join(t.TempDir(), "ctf")
	_, stderr, err := run(t, "add", "cv", "--repository", "ctf::"+archive, "--constructor", cons)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "not uploaded to the repository it names") || !strings.Contains(stderr, "127.0.0.1:1/charts/chart:0.4.0") {
		t.Errorf("no warning naming the repository:\n%s", stderr)
	}
	res := resourceMapOf(t, archive, "example.com/helm/upload:1.0.0", "chart")
	if acc := res["access"].(map[string]any); acc["type"] != "LocalBlob/v1" || acc["mediaType"] != "application/vnd.oci.image.manifest.v1+json" {
		t.Fatalf("access %v", acc)
	}
	// The tag must be the chart version, as the reference checks.
	write("127.0.0.1:1/charts/chart:9.9.9")
	_, _, err = run(t, "add", "cv", "--repository", "ctf::"+filepath.Join(t.TempDir(), "ctf"), "--constructor", cons)
	if err == nil || !strings.Contains(err.Error(), `input.repository: tag "9.9.9"`) || !strings.Contains(err.Error(), `chart version "0.4.0"`) {
		t.Fatalf("mismatching tag: %v", err)
	}
}
