package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/internal/testutil"
)

// End to end against a real, widely deployed registry started by the test:
// transfer the interop archive into it, then get, verify and download from it.
func TestDockerRegistryEndToEnd(t *testing.T) {
	registry := testutil.StartDistribution(t) + "/ocm"
	src := testutil.InteropCTF(t, testutil.Dir)

	out, _, err := run(t, "transfer", "cv", "--recursive", "-o", "json", src+"//"+app+":1.2.0", registry)
	if err != nil {
		t.Fatalf("transfer: %v", err)
	}
	res := transferResults(t, out)
	if len(res) != 2 || res[0].Component != lib || res[1].Component != app || res[0].Copied == 0 || res[1].Copied == 0 {
		t.Fatalf("transfer results %+v", res)
	}

	// get cv -o yaml equals the reference's descriptors.
	for comp, file := range map[string]string{app + ":1.2.0": "app.descriptor.yaml", lib + ":0.3.1+build.7": "lib.descriptor.yaml"} {
		out, _, err := run(t, "get", "cv", registry+"//"+comp, "-o", "yaml")
		if err != nil {
			t.Fatalf("get cv %s: %v", comp, err)
		}
		want, err := os.ReadFile(filepath.Join(testutil.InteropDir(t), file))
		if err != nil {
			t.Fatal(err)
		}
		var got, exp any
		if err := yaml.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("output is not YAML: %v\n%s", err, out)
		}
		if err := yaml.Unmarshal(want, &exp); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, exp) {
			t.Fatalf("get cv %s -o yaml from the registry differs from the reference's %s:\n%s", comp, file, out)
		}
	}

	pub := filepath.Join(testutil.InteropDir(t), "public-key.pem")
	if _, _, err := run(t, "verify", "cv", registry+"//"+app+":1.2.0", "--public-key", pub, "--external-content=false"); err != nil {
		t.Fatalf("verify cv: %v", err)
	}

	dl := filepath.Join(t.TempDir(), "payload")
	if _, _, err := run(t, "download", "resource", registry+"//"+lib+":0.3.1+build.7", "--identity", "name=payload,arch=amd64", "--output", dl, "--extraction-policy", "disable"); err != nil {
		t.Fatalf("download resource: %v", err)
	}
	if got, want := sha256File(t, dl), "b66c55511ca4ccd8a5840ae35cf088f86d584761862f071a98630908079010f7"; got != want {
		t.Fatalf("downloaded payload hashes to %s, want %s", got, want)
	}
}
