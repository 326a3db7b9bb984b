package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/internal/sigstoretest"
	"github.com/ocmgo/ocm/internal/testutil"
)

// TestMain lets the test binary act as the ocm binary for exit-code tests.
func TestMain(m *testing.M) {
	if os.Getenv("OCM_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	// The Sigstore stack of the keyless tests, if one was started, stops
	// after the tests.
	os.Exit(sigstoretest.Main(m))
}

// run executes the CLI in-process.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append([]string{"--config", emptyConfig(t)}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// runBinary executes the CLI as a process and returns its exit code.
func runBinary(t *testing.T, args ...string) (string, int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"--config", emptyConfig(t)}, args...)...)
	cmd.Env = append(os.Environ(), "OCM_TEST_RUN_MAIN=1")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func emptyConfig(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "ocmconfig")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	app = "example.com/interop/app"
	lib = "example.com/interop/lib"
)

func TestGetCVYAMLMatchesReference(t *testing.T) {
	for _, f := range testutil.Formats {
		t.Run(string(f), func(t *testing.T) {
			archive := testutil.InteropCTF(t, f)
			for comp, file := range map[string]string{app + ":1.2.0": "app.descriptor.yaml", lib + ":0.3.1+build.7": "lib.descriptor.yaml"} {
				out, _, err := run(t, "get", "cv", "ctf::"+archive+"//"+comp, "-o", "yaml")
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
					t.Fatalf("get cv %s -o yaml differs from the reference's %s:\n%s", comp, file, out)
				}
			}
		})
	}
}

func TestGetCVTreeRecursive(t *testing.T) {
	archive := testutil.InteropCTF(t, testutil.Tar)
	out, _, err := run(t, "get", "cv", archive+"//"+app+":1.2.0", "--recursive", "-o", "tree")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("want header, app and lib lines, got:\n%s", out)
	}
	if f := strings.Fields(lines[1]); len(f) != 3 || f[0] != app || f[1] != "1.2.0" || f[2] != "example.com" {
		t.Fatalf("root line %q", lines[1])
	}
	if f := strings.Fields(lines[2]); len(f) != 4 || f[0] != "└─" || f[1] != lib || f[2] != "0.3.1+build.7" {
		t.Fatalf("child line %q", lines[2])
	}
	// Without --recursive the reference is not followed.
	out, _, err = run(t, "get", "cv", archive+"//"+app+":1.2.0", "-o", "tree")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, lib) {
		t.Fatalf("tree without --recursive shows lib:\n%s", out)
	}
}

func TestGetCVListing(t *testing.T) {
	archive := testutil.InteropCTF(t, testutil.Dir)
	tests := []struct {
		args []string
		want []string // COMPONENT VERSION pairs
	}{
		{[]string{archive}, []string{app + " 1.2.0", lib + " 0.3.1+build.7"}},
		{[]string{archive + "//" + lib}, []string{lib + " 0.3.1+build.7"}},
		{[]string{archive + "//" + lib, "--latest"}, []string{lib + " 0.3.1+build.7"}},
		{[]string{archive + "//" + lib, "--semver-constraint", ">= 1.0.0"}, nil},
		{[]string{archive + "//" + app + ":1.2.0", "--recursive"}, []string{app + " 1.2.0", lib + " 0.3.1+build.7"}},
	}
	for _, tt := range tests {
		out, _, err := run(t, append([]string{"get", "cv"}, tt.args...)...)
		if len(tt.want) == 0 {
			if err == nil || !strings.Contains(err.Error(), "no version of "+lib) {
				t.Fatalf("%v: want 'no version' error, got %v\n%s", tt.args, err, out)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			f := strings.Fields(l)
			got = append(got, f[0]+" "+f[1])
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Fatalf("%v: got %v, want %v", tt.args, got, tt.want)
		}
	}
	out, _, err := run(t, "get", "cv", archive+"//"+lib+":0.3.1+build.7", "-o", "ndjson")
	if err != nil || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"version":"0.3.1+build.7"`) {
		t.Fatalf("ndjson: %v\n%s", err, out)
	}
	out, _, err = run(t, "get", "cv", archive+"//"+lib+":0.3.1+build.7", "-o", "json")
	var list []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 {
		t.Fatalf("json: %v\n%s", err, out)
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func TestDownloadEveryLocalBlob(t *testing.T) {
	blobs := []struct {
		comp, identity, digest string
	}{
		{lib + ":0.3.1+build.7", "name=notes", "7aedb009fbd24190ba5679f205a6595a11993478c46ec90af2517a3aece613fe"},
		{lib + ":0.3.1+build.7", "name=payload,arch=amd64", "b66c55511ca4ccd8a5840ae35cf088f86d584761862f071a98630908079010f7"},
		{app + ":1.2.0", "name=greeting", "52317437fa926e1c419a252e3c9976afe403049cc819b2015492472c77a13746"},
		{app + ":1.2.0", "name=config", "ea3d8d98c80a23a94541e9332a6c17e8a2b2509ea4c301d5336d14eb62827442"},
	}
	for _, f := range testutil.Formats {
		t.Run(string(f), func(t *testing.T) {
			archive := testutil.InteropCTF(t, f)
			outDir := t.TempDir()
			for _, b := range blobs {
				out := filepath.Join(outDir, strings.ReplaceAll(b.identity, ",", "_"))
				if _, _, err := run(t, "download", "resource", archive+"//"+b.comp, "--identity", b.identity, "--output", out, "--extraction-policy", "disable"); err != nil {
					t.Fatalf("download %s: %v", b.identity, err)
				}
				if got := sha256File(t, out); got != b.digest {
					t.Fatalf("%s: downloaded bytes hash to %s, want %s", b.identity, got, b.digest)
				}
			}
			// The helm chart is a native OCI artifact: an OCI layout tar whose manifest is the descriptor's digest.
			out := filepath.Join(outDir, "chart.tar")
			if _, _, err := run(t, "download", "resource", archive+"//"+app+":1.2.0", "--identity", "name=chart", "--output", out, "--extraction-policy", "disable"); err != nil {
				t.Fatal(err)
			}
			layout := filepath.Join(outDir, "chart-layout")
			if err := os.MkdirAll(layout, 0o755); err != nil {
				t.Fatal(err)
			}
			if msg, err := exec.Command("tar", "-xf", out, "-C", layout).CombinedOutput(); err != nil {
				t.Fatalf("tar: %v %s", err, msg)
			}
			checkOCILayout(t, layout, "sha256:1b7c23bd9006e1b83f710e972e61bdf4288924552833a47014623a4213356482")
		})
	}
}

// checkOCILayout asserts an OCI image layout directory whose single manifest
// has digest want and whose blobs all hash to their names.
func checkOCILayout(t *testing.T, dir, want string) {
	t.Helper()
	var idx struct {
		Manifests []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != want {
		t.Fatalf("index.json manifests %+v, want one with %s", idx.Manifests, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("want manifest, config and chart layer, got %d blobs", len(entries))
	}
	for _, e := range entries {
		if got := sha256File(t, filepath.Join(dir, "blobs", "sha256", e.Name())); got != e.Name() {
			t.Fatalf("blob %s hashes to %s", e.Name(), got)
		}
	}
}

func TestDownloadExtractionAuto(t *testing.T) {
	archive := testutil.InteropCTF(t, testutil.Tgz)
	outDir := t.TempDir()
	// The helm chart becomes an OCI layout directory.
	chart := filepath.Join(outDir, "chart")
	if _, _, err := run(t, "download", "resource", archive+"//"+app+":1.2.0", "--identity", "name=chart", "--output", chart); err != nil {
		t.Fatal(err)
	}
	checkOCILayout(t, chart, "sha256:1b7c23bd9006e1b83f710e972e61bdf4288924552833a47014623a4213356482")
	// The gzipped tar of the config directory is unpacked with the input's files.
	config := filepath.Join(outDir, "config")
	if _, _, err := run(t, "download", "resource", archive+"//"+app+":1.2.0", "--identity", "name=config", "--output", config); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"app.yaml", "flags.ini"} {
		got, err := os.ReadFile(filepath.Join(config, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(testutil.InteropDir(t), "data", "config", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s differs from the input file", name)
		}
	}
	// Plain text stays a file; without --output the resource name is used.
	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd) })
	if err := os.Chdir(outDir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "download", "resource", archive+"//"+app+":1.2.0", "--identity", "name=greeting"); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(testutil.InteropDir(t), "data", "hello.txt"))
	if got, err := os.ReadFile(filepath.Join(outDir, "greeting")); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("greeting: %v %q", err, got)
	}
}
