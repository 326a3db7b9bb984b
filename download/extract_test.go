package download

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/descriptor"
)

type entry struct {
	hdr  tar.Header
	data string
}

func tarStream(t testing.TB, entries ...entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.data))
	}
	tw.Close()
	return buf.Bytes()
}

func TestExtractTar(t *testing.T) {
	data := tarStream(t,
		entry{hdr: tar.Header{Name: "./dir/", Typeflag: tar.TypeDir}},
		entry{hdr: tar.Header{Name: "dir/a.txt"}, data: "a"},
		entry{hdr: tar.Header{Name: "bin/run", Mode: 0o755}, data: "#!/bin/sh"},
		entry{hdr: tar.Header{Name: "dir/link", Typeflag: tar.TypeSymlink, Linkname: "a.txt"}},
		entry{hdr: tar.Header{Name: "hard", Typeflag: tar.TypeLink, Linkname: "dir/a.txt"}},
	)
	dir := t.TempDir()
	if err := ExtractTar(context.Background(), bytes.NewReader(data), dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"dir/a.txt": "a", "bin/run": "#!/bin/sh", "dir/link": "a", "hard": "a"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != want {
			t.Fatalf("%s: %q %v", name, got, err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, "bin/run")); fi.Mode().Perm() != 0o755 {
		t.Fatalf("executable bit lost: %v", fi.Mode())
	}
}

func TestExtractTarRefusesEscapes(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		want    string
	}{
		{"dot dot", []entry{{hdr: tar.Header{Name: "a/../../evil"}, data: "x"}}, `unsafe entry "a/../../evil": ".." element leaves the archive`},
		{"inner dot dot", []entry{{hdr: tar.Header{Name: "a/../b"}, data: "x"}}, `unsafe entry "a/../b": ".." element leaves the archive`},
		{"empty name", []entry{{hdr: tar.Header{Name: ""}, data: "x"}}, `unsafe entry "": empty name`},
		{"absolute", []entry{{hdr: tar.Header{Name: "/tmp/evil"}, data: "x"}}, `unsafe entry "/tmp/evil": absolute path`},
		{"backslash", []entry{{hdr: tar.Header{Name: `..\evil`}, data: "x"}}, "backslash or NUL in name"},
		{"absolute symlink", []entry{{hdr: tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}}}, `tar entry "l": link target "/etc/passwd" leaves the archive`},
		{"relative symlink out", []entry{{hdr: tar.Header{Name: "d/l", Typeflag: tar.TypeSymlink, Linkname: "../../x"}}}, `tar entry "d/l": link target "../../x" leaves the archive`},
		{"write through symlinked dir", []entry{
			{hdr: tar.Header{Name: "d", Typeflag: tar.TypeSymlink, Linkname: "."}},
			{hdr: tar.Header{Name: "e", Typeflag: tar.TypeSymlink, Linkname: "d/../.."}},
		}, `link target "d/../.." leaves the archive`},
		{"hard link out", []entry{{hdr: tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../x"}}}, `tar entry "h": hard link target "../x" leaves the archive`},
		{"device", []entry{{hdr: tar.Header{Name: "dev", Typeflag: tar.TypeChar}}}, `tar entry "dev": type "3" not allowed`},
		{"fifo", []entry{{hdr: tar.Header{Name: "fifo", Typeflag: tar.TypeFifo}}}, `tar entry "fifo": type "6" not allowed`},
		{"duplicate file", []entry{{hdr: tar.Header{Name: "a"}, data: "1"}, {hdr: tar.Header{Name: "a"}, data: "2"}}, `tar entry "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			os.Mkdir(dir, 0o755)
			err := ExtractTar(context.Background(), bytes.NewReader(tarStream(t, tt.entries...)), dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want error containing %q", err, tt.want)
			}
			entries, _ := os.ReadDir(parent)
			if len(entries) != 1 {
				t.Fatalf("something was written beside the output directory: %v", entries)
			}
		})
	}
	// A truncated stream is reported as such.
	data := tarStream(t, entry{hdr: tar.Header{Name: "a"}, data: strings.Repeat("x", 4096)})
	err := ExtractTar(context.Background(), bytes.NewReader(data[:1000]), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "truncated tar") {
		t.Fatalf("got %v", err)
	}
}

func TestClassify(t *testing.T) {
	tests := map[string]blobKind{
		"application/x-tar": kindTar,
		"application/tar":   kindTar,
		"application/vnd.ocm.software.oci.layout.v1+tar":      kindTar,
		"application/x-tar+gzip":                              kindTarGzip,
		"application/x-tgz":                                   kindTarGzip,
		"application/vnd.oci.image.manifest.v1+tar+gzip":      kindTarGzip,
		"application/vnd.cncf.helm.chart.content.v1.tar+gzip": kindTarGzip,
		"application/gzip":                                    kindGzip,
		"application/octet-stream+gzip":                       kindGzip,
		"text/plain":                                          kindPlain,
		"application/octet-stream":                            kindPlain,
		"":                                                    kindPlain,
	}
	for mt, want := range tests {
		if got := classify(mt); got != want {
			t.Errorf("classify(%q) = %v, want %v", mt, got, want)
		}
	}
}

func TestOutputPath(t *testing.T) {
	label := func(name, value string) descriptor.Label {
		v, _ := json.Marshal(value)
		return descriptor.Label{Name: name, Value: v}
	}
	tests := []struct {
		res     descriptor.Resource
		want    string
		wantErr string
	}{
		{descriptor.Resource{ElementMeta: descriptor.ElementMeta{Name: "chart"}}, "chart", ""},
		{descriptor.Resource{ElementMeta: descriptor.ElementMeta{Name: "bin", ExtraIdentity: map[string]string{"os": "linux", "arch": "amd64/v8"}}}, "bin-amd64-v8-linux", ""},
		{descriptor.Resource{ElementMeta: descriptor.ElementMeta{Name: "x", Labels: []descriptor.Label{label(LabelDownloadNameLegacy, "old.txt"), label(LabelDownloadName, "sub/new.txt")}}}, "sub/new.txt", ""},
		{descriptor.Resource{ElementMeta: descriptor.ElementMeta{Name: "x", Labels: []descriptor.Label{label(LabelDownloadName, "../../etc/passwd")}}}, "", "must be a relative path inside the working directory"},
		{descriptor.Resource{ElementMeta: descriptor.ElementMeta{Name: "x", Labels: []descriptor.Label{label(LabelDownloadName, "/etc/passwd")}}}, "", "must be a relative path inside the working directory"},
	}
	for _, tt := range tests {
		got, err := OutputPath(&tt.res)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%+v: got %q %v, want error %q", tt.res, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%+v: got %q %v, want %q", tt.res, got, err, tt.want)
		}
	}
}

// FuzzExtractTar: whatever the tar holds, extraction never writes outside
// its directory and never panics.
func FuzzExtractTar(f *testing.F) {
	f.Add(tarStream(f, entry{hdr: tar.Header{Name: "a/b.txt"}, data: "x"}))
	f.Add(tarStream(f, entry{hdr: tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../x"}}))
	f.Add(tarStream(f, entry{hdr: tar.Header{Name: "d", Typeflag: tar.TypeSymlink, Linkname: "."}}, entry{hdr: tar.Header{Name: "d/f"}, data: "y"}))
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "out")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = ExtractTar(context.Background(), bytes.NewReader(data), dir)
		entries, err := os.ReadDir(parent)
		if err != nil || len(entries) != 1 || entries[0].Name() != "out" {
			t.Fatalf("extraction wrote outside its directory: %v", entries)
		}
	})
}
