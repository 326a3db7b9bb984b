package deploy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func names(t *testing.T, src Source) []string {
	t.Helper()
	var out []string
	err := src.Each(context.Background(), func(u *unstructured.Unstructured) error {
		out = append(out, u.GetKind()+"/"+u.GetName())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type tarEntry struct {
	name, body string
	typ        byte
}

func makeTar(t *testing.T, gz bool, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	var zw *gzip.Writer
	var tw *tar.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(zw)
	} else {
		tw = tar.NewWriter(&buf)
	}
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: typ}
		if typ != tar.TypeReg {
			h.Size = 0
		}
		if typ == tar.TypeSymlink {
			h.Linkname = e.body
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

const cmA = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n"
const cmB = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n"

func TestDecodeTable(t *testing.T) {
	rgd := `apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: app
spec:
  schema: {apiVersion: v1alpha1, kind: App}
  resources: []
`
	tests := []struct {
		name    string
		data    []byte
		format  Format
		want    []string
		wantErr string
	}{
		{name: "multi-doc yaml", data: []byte(cmA + "---\n" + cmB), format: FormatManifests, want: []string{"ConfigMap/a", "ConfigMap/b"}},
		{name: "empty documents skipped", data: []byte("---\n---\n" + cmA + "---\n# only a comment\n"), format: FormatManifests, want: []string{"ConfigMap/a"}},
		{name: "json stream", data: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}` + "\n" + `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}`), format: FormatManifests, want: []string{"ConfigMap/a", "Secret/s"}},
		{name: "list flattened", data: []byte("apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(cmA, "\n", "\n  ") + "\n"), format: FormatManifests, want: []string{"ConfigMap/a"}},
		{name: "kro rgd", data: []byte(rgd), format: FormatManifests, want: []string{"ResourceGraphDefinition/app"}},
		{name: "no kind", data: []byte("apiVersion: v1\nmetadata:\n  name: a\n"), format: FormatManifests, wantErr: "no kind"},
		{name: "no name", data: []byte("apiVersion: v1\nkind: ConfigMap\n"), format: FormatManifests, wantErr: "no metadata.name"},
		{name: "generateName refused", data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: x-\n"), format: FormatManifests, wantErr: "generateName"},
		{name: "bad yaml", data: []byte("apiVersion: [\n"), format: FormatManifests, wantErr: "document 1"},
		{name: "tar", data: makeTar(t, false, tarEntry{name: "dir/", typ: tar.TypeDir}, tarEntry{name: "dir/a.yaml", body: cmA}, tarEntry{name: "README.md", body: "x"}, tarEntry{name: "b.json", body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}`}), format: FormatTar, want: []string{"ConfigMap/a", "ConfigMap/b"}},
		{name: "tgz", data: makeTar(t, true, tarEntry{name: "x.yml", body: cmA + "---\n" + cmB}), format: FormatTar, want: []string{"ConfigMap/a", "ConfigMap/b"}},
		{name: "tgz with a corrupt gzip checksum", data: func() []byte {
			b := makeTar(t, true, tarEntry{name: "x.yml", body: cmA})
			b[len(b)-8] ^= 1 // CRC-32 of the gzip trailer
			return b
		}(), format: FormatTar, wantErr: "gzip: invalid checksum"},
		{name: "tar symlink ignored", data: makeTar(t, false, tarEntry{name: "l.yaml", body: "/etc/passwd", typ: tar.TypeSymlink}, tarEntry{name: "a.yaml", body: cmA}), format: FormatTar, want: []string{"ConfigMap/a"}},
		{name: "tar traversal refused", data: makeTar(t, false, tarEntry{name: "../evil.yaml", body: cmA}), format: FormatTar, wantErr: "leaves the archive"},
		{name: "tar absolute refused", data: makeTar(t, false, tarEntry{name: "/evil.yaml", body: cmA}), format: FormatTar, wantErr: "unsafe path"},
		{name: "tar without manifests", data: makeTar(t, false, tarEntry{name: "a.txt", body: "x"}), format: FormatTar, wantErr: "no .yaml"},
		{name: "error names tar entry", data: makeTar(t, false, tarEntry{name: "bad.yaml", body: "kind: X\n"}), format: FormatTar, wantErr: "bad.yaml: document 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, "res", tt.data)
			src, format, err := Open(p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if format != tt.format {
				t.Fatalf("format %q, want %q", format, tt.format)
			}
			var got []string
			err = src.Each(context.Background(), func(u *unstructured.Unstructured) error {
				got = append(got, u.GetKind()+"/"+u.GetName())
				return nil
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			// A second pass yields the same (the applier iterates several times).
			if again := names(t, src); strings.Join(again, ",") != strings.Join(got, ",") {
				t.Fatalf("second pass %v differs from %v", again, got)
			}
		})
	}
}

func TestDecodeRejectsHugeDocument(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n")
	line := "  k" + strings.Repeat("x", 1000) + ": v\n"
	for b.Len() < MaxObjectSize+len(line) {
		b.WriteString(line)
	}
	err := DecodeManifests(strings.NewReader(b.String()), "", func(*unstructured.Unstructured) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("error %v, want a size error", err)
	}
}

func FuzzDecodeManifests(f *testing.F) {
	f.Add([]byte(cmA + "---\n" + cmB))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}]}`))
	f.Add([]byte("---\n- a\n- b\n"))
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: 5\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = DecodeManifests(bytes.NewReader(data), "fuzz", func(u *unstructured.Unstructured) error {
			// Whatever is yielded must be something the applier can address.
			if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
				t.Fatalf("yielded an object without apiVersion/kind/name: %v", u.Object)
			}
			return nil
		})
	})
}
