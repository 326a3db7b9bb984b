package main

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"
)

const payloadBlob = "sha256.b66c55511ca4ccd8a5840ae35cf088f86d584761862f071a98630908079010f7"

// tarCTF writes a tar CTF with the interop index and the given extra entries.
func tarCTF(t *testing.T, extra ...*tar.Header) string {
	t.Helper()
	index, err := os.ReadFile(filepath.Join(testutil.InteropDir(t), "ctf", "artifact-index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "artifact-index.json", Mode: 0o644, Size: int64(len(index)), Typeflag: tar.TypeReg})
	tw.Write(index)
	for _, h := range extra {
		if h.Typeflag == tar.TypeReg {
			h.Size = 4
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte("evil"))
		}
	}
	tw.Close()
	p := filepath.Join(t.TempDir(), "bad.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInput(t *testing.T) {
	libRef := "//" + lib + ":0.3.1+build.7"
	tests := []struct {
		name string
		// setup returns the command line after "ocm".
		setup func(t *testing.T) []string
		want  string
	}{
		{"missing blob", func(t *testing.T) []string {
			dir := testutil.InteropCTF(t, testutil.Dir)
			os.Remove(filepath.Join(dir, "blobs", payloadBlob))
			return []string{"download", "resource", dir + libRef, "--identity", "name=payload", "--output", filepath.Join(t.TempDir(), "out")}
		}, "resource name=payload,arch=amd64 of example.com/interop/lib:0.3.1+build.7: blob sha256:b66c55511ca4ccd8a5840ae35cf088f86d584761862f071a98630908079010f7 not found in CTF archive"},
		{"missing descriptor blob", func(t *testing.T) []string {
			dir := testutil.InteropCTF(t, testutil.Dir)
			os.Remove(filepath.Join(dir, "blobs", "sha256.363507eed72fb5042a1f52dc2e35398f6949d7a5060f56339cdaa3479268e940"))
			return []string{"get", "cv", dir + libRef}
		}, "blob sha256:363507eed72fb5042a1f52dc2e35398f6949d7a5060f56339cdaa3479268e940 not found in CTF archive"},
		{"truncated tar", func(t *testing.T) []string {
			p := testutil.InteropCTF(t, testutil.Tar)
			fi, _ := os.Stat(p)
			os.Truncate(p, fi.Size()/2)
			return []string{"get", "cv", p + libRef}
		}, "truncated tar"},
		{"truncated tgz", func(t *testing.T) []string {
			p := testutil.InteropCTF(t, testutil.Tgz)
			fi, _ := os.Stat(p)
			os.Truncate(p, fi.Size()/2)
			return []string{"get", "cv", "ctf::" + p + libRef}
		}, "truncated tar"},
		{"corrupted artifact-index.json", func(t *testing.T) []string {
			dir := testutil.InteropCTF(t, testutil.Dir)
			os.WriteFile(filepath.Join(dir, "artifact-index.json"), []byte(`{"schemaVersion":1,"artifacts":[{"repository":`), 0o644)
			return []string{"get", "cv", dir + libRef}
		}, "parsing artifact-index.json of CTF archive"},
		{"missing artifact-index.json", func(t *testing.T) []string {
			dir := testutil.InteropCTF(t, testutil.Dir)
			os.Remove(filepath.Join(dir, "artifact-index.json"))
			return []string{"get", "cv", dir + libRef}
		}, "artifact-index.json not found"},
		{"tar entry with ..", func(t *testing.T) []string {
			return []string{"get", "cv", tarCTF(t, &tar.Header{Name: "blobs/../../evil", Mode: 0o644, Typeflag: tar.TypeReg}) + libRef}
		}, `unsafe entry "blobs/../../evil"`},
		{"tar entry with absolute path", func(t *testing.T) []string {
			return []string{"get", "cv", tarCTF(t, &tar.Header{Name: "/etc/evil", Mode: 0o644, Typeflag: tar.TypeReg}) + libRef}
		}, `unsafe entry "/etc/evil"`},
		{"tar symlink leaving the archive", func(t *testing.T) []string {
			return []string{"get", "cv", tarCTF(t, &tar.Header{Name: "blobs/" + payloadBlob, Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink}) + libRef}
		}, `link entry "blobs/` + payloadBlob + `" not allowed`},
		{"directory blob symlink leaving the archive", func(t *testing.T) []string {
			dir := testutil.InteropCTF(t, testutil.Dir)
			outside := filepath.Join(t.TempDir(), "outside")
			os.WriteFile(outside, bytes.Repeat([]byte{1}, 300000), 0o644)
			os.Remove(filepath.Join(dir, "blobs", payloadBlob))
			os.Symlink(outside, filepath.Join(dir, "blobs", payloadBlob))
			return []string{"download", "resource", dir + libRef, "--identity", "name=payload", "--output", filepath.Join(t.TempDir(), "out")}
		}, "blob sha256:b66c55511ca4ccd8a5840ae35cf088f86d584761862f071a98630908079010f7 (blobs/" + payloadBlob + "): openat blobs/" + payloadBlob + ": path escapes from parent"},
		{"unknown component", func(t *testing.T) []string {
			return []string{"get", "cv", testutil.InteropCTF(t, testutil.Dir) + "//example.com/interop/nope:1.0.0"}
		}, "component example.com/interop/nope not found in CTF archive"},
		{"unknown version", func(t *testing.T) []string {
			return []string{"get", "cv", testutil.InteropCTF(t, testutil.Dir) + "//" + app + ":9.9.9"}
		}, "component version example.com/interop/app:9.9.9 not found in CTF archive"},
		{"unknown resource", func(t *testing.T) []string {
			return []string{"download", "resource", testutil.InteropCTF(t, testutil.Dir) + libRef, "--identity", "name=nope"}
		}, "no resource with identity name=nope in example.com/interop/lib:0.3.1+build.7 (resources: name=notes; name=payload,arch=amd64)"},
		{"invalid reference", func(t *testing.T) []string {
			return []string{"get", "cv", "ctf::./x//Example.com/app:1.0.0"}
		}, `invalid component reference "ctf::./x//Example.com/app:1.0.0": component name "Example.com/app" does not match`},
		{"invalid version in reference", func(t *testing.T) []string {
			return []string{"download", "resource", "./x//example.com/app:one", "--identity", "name=a"}
		}, `invalid component reference "./x//example.com/app:one": version "one" is not a (relaxed) semantic version`},
		{"missing archive", func(t *testing.T) []string {
			return []string{"get", "cv", filepath.Join(t.TempDir(), "nope") + libRef}
		}, "opening CTF archive"},
		{"bad output format", func(t *testing.T) []string {
			return []string{"get", "cv", "./x" + libRef, "-o", "xml"}
		}, `--output "xml": use one of table, yaml, json, ndjson, tree`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.setup(t)
			_, _, err := run(t, args...)
			if err == nil {
				t.Fatalf("%v succeeded, want error containing %q", args, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%v:\n got error %q\nwant it to contain %q", args, err, tt.want)
			}
		})
	}
}

// A tampered blob fails the download with a non-zero exit code, names the
// resource, and leaves nothing at (or beside) the output path.
func TestTamperedBlobDownload(t *testing.T) {
	for _, f := range testutil.Formats {
		t.Run(string(f), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ctf")
			testutil.CopyDir(t, filepath.Join(testutil.InteropDir(t), "ctf"), dir)
			blobPath := filepath.Join(dir, "blobs", payloadBlob)
			data, _ := os.ReadFile(blobPath)
			data[1000] ^= 0xff // same size, different content
			os.WriteFile(blobPath, data, 0o644)
			archive := dir
			switch f {
			case testutil.Tar:
				archive = testutil.PackCTF(t, dir, filepath.Join(t.TempDir(), "ctf.tar"), false)
			case testutil.Tgz:
				archive = testutil.PackCTF(t, dir, filepath.Join(t.TempDir(), "ctf.tgz"), true)
			}
			outDir := t.TempDir()
			out := filepath.Join(outDir, "payload.bin")
			for _, policy := range []string{"disable", "auto"} {
				msg, code := runBinary(t, "download", "resource", "ctf::"+archive+"//"+lib+":0.3.1+build.7", "--identity", "name=payload,arch=amd64", "--output", out, "--extraction-policy", policy)
				if code == 0 {
					t.Fatalf("download of a tampered blob succeeded:\n%s", msg)
				}
				want := "resource name=payload,arch=amd64 of example.com/interop/lib:0.3.1+build.7: content digest (localReference sha256:b66c55511ca4ccd8a5840ae35cf088f86d584761862f071a98630908079010f7) mismatch"
				if !strings.Contains(msg, want) {
					t.Fatalf("error output %q does not contain %q", msg, want)
				}
				entries, _ := os.ReadDir(outDir)
				if len(entries) != 0 {
					t.Fatalf("output directory holds %v after a failed download", entries)
				}
			}
		})
	}
}
