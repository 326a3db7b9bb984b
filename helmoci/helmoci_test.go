package helmoci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content/memory"
)

func chartTgz(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, data := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write([]byte(data))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestReadMetadata(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // name-version, or an error substring
	}{
		{"chart", map[string]string{"app/Chart.yaml": "name: app\nversion: 1.2.3\n", "app/values.yaml": "x: 1\n"}, "app-1.2.3"},
		{"dot slash", map[string]string{"./app/Chart.yaml": "name: app\nversion: 1.0.0\n"}, "app-1.0.0"},
		{"subchart only", map[string]string{"app/charts/sub/Chart.yaml": "name: sub\nversion: 1.0.0\n"}, "has no <chart>/Chart.yaml"},
		{"top level", map[string]string{"Chart.yaml": "name: app\nversion: 1.0.0\n"}, "has no <chart>/Chart.yaml"},
		{"no version", map[string]string{"app/Chart.yaml": "name: app\n"}, "has no name or version"},
		{"bad yaml", map[string]string{"app/Chart.yaml": "name: [\n"}, "Chart.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md, err := ReadMetadata(bytes.NewReader(chartTgz(t, tc.files)))
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got = md.Name + "-" + md.Version
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := ReadMetadata(strings.NewReader("not gzip")); err == nil {
		t.Fatal("not gzip: no error")
	}
}

// A converted chart yields its archive digest; a changed config or an
// annotation added to the manifest is not the conversion.
func TestChartDigest(t *testing.T) {
	ctx := context.Background()
	chart := chartTgz(t, map[string]string{"app/Chart.yaml": "name: app\nversion: 1.2.3\n"})
	build := func(config []byte, mutate func([]byte) []byte) (*memory.Store, ocispec.Descriptor) {
		s := memory.New()
		push := func(mt string, data []byte) ocispec.Descriptor {
			d := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(data), Size: int64(len(data))}
			s.Push(ctx, d, bytes.NewReader(data))
			return d
		}
		cfg := push(ConfigMediaType, config)
		layer := push(ChartLayerMediaType, chart)
		m := Manifest(cfg, layer, nil)
		if mutate != nil {
			m = mutate(m)
		}
		return s, push(ocispec.MediaTypeImageManifest, m)
	}
	s, root := build(Config("app", "1.2.3"), nil)
	got, err := ChartDigest(ctx, s, root)
	if err != nil || got != digest.FromBytes(chart) {
		t.Fatalf("conversion: %s, %v; want %s", got, err, digest.FromBytes(chart))
	}
	s, root = build(Config("evil", "1.2.3"), nil)
	if _, err := ChartDigest(ctx, s, root); !errors.Is(err, ErrNotConversion) {
		t.Fatalf("renamed config: %v", err)
	}
	s, root = build(Config("app", "1.2.3"), func(m []byte) []byte {
		return bytes.Replace(m, []byte(`"layers"`), []byte(`"annotations":{"x":"y"},"layers"`), 1)
	})
	if _, err := ChartDigest(ctx, s, root); !errors.Is(err, ErrNotConversion) {
		t.Fatalf("annotated manifest: %v", err)
	}
}

func FuzzReadMetadata(f *testing.F) {
	f.Add(chartTgz(f, map[string]string{"app/Chart.yaml": "name: app\nversion: 1.2.3\n"}))
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := ReadMetadata(bytes.NewReader(data))
		if err == nil && (md.Name == "" || md.Version == "") {
			t.Fatalf("accepted metadata without name or version: %+v", md)
		}
	})
}
