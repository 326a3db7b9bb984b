package constructor

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/internal/testutil"
)

// copyChart copies the fixture chart; with mtime > 0 every file and
// directory gets that mtime (as the reference's checkout had).
func copyChart(t *testing.T, mtime int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "chart")
	testutil.CopyDir(t, filepath.Join(testutil.InteropDir(t), "chart"), dir)
	if mtime > 0 {
		setMtimes(t, dir, time.Unix(mtime, 0))
	}
	return dir
}

func setMtimes(t *testing.T, dir string, mt time.Time) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, mt, mt)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func openHelmInput(t *testing.T, spec string, baseDir string, env map[string]string) (*Content, error) {
	t.Helper()
	return openInput(context.Background(), typed(t, spec), &where{file: "component-constructor.yaml", path: "components[0].resources[2]", baseDir: baseDir, env: envMap(env)})
}

func helmParts(t *testing.T, c *Content) (manifest ocispec.Manifest, raw, config, layer []byte) {
	t.Helper()
	if c.Artifact == nil || c.Open != nil {
		t.Fatalf("helm input must give an artifact only: %+v", c)
	}
	a := c.Artifact
	if a.Root.MediaType != ocispec.MediaTypeImageManifest {
		t.Fatalf("root media type %s", a.Root.MediaType)
	}
	raw = fetch(t, a.Store, a.Root)
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	if manifest.Config.MediaType != HelmConfigMediaType {
		t.Fatalf("config media type %s", manifest.Config.MediaType)
	}
	if len(manifest.Layers) == 0 || manifest.Layers[0].MediaType != HelmChartLayerMediaType {
		t.Fatalf("layers %+v", manifest.Layers)
	}
	return manifest, raw, fetch(t, a.Store, manifest.Config), fetch(t, a.Store, manifest.Layers[0])
}

// TestHelmChartDirReproducesReference packages the fixture chart with the
// mtimes its files had when the reference packaged it, and SOURCE_DATE_EPOCH
// set to the time the reference stamped on the manifest: every byte of
// manifest, config and layer must equal the reference's.
func TestHelmChartDirReproducesReference(t *testing.T) {
	dir := copyChart(t, fixtureChartMtime)
	c, err := openHelmInput(t, `{"type":"helm","path":"chart"}`, filepath.Dir(dir),
		map[string]string{"SOURCE_DATE_EPOCH": strconv.Itoa(fixtureChartCreated)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Artifact.Close()
	_, raw, config, layer := helmParts(t, c)
	if got := sha256Hex(config); got != fixtureChartConfig {
		t.Errorf("config %s = %s, want the reference's %s", got, config, fixtureChartConfig)
	}
	if got := sha256Hex(layer); got != fixtureChartLayer {
		t.Errorf("layer digest %s, want the reference's %s", got, fixtureChartLayer)
	}
	if !bytes.Equal(layer, fixtureBlob(t, fixtureChartLayer)) {
		t.Errorf("layer bytes differ from the reference's")
	}
	if !bytes.Equal(raw, fixtureBlob(t, fixtureChartManifest)) {
		t.Errorf("manifest differs:\n got %s\nwant %s", raw, fixtureBlob(t, fixtureChartManifest))
	}
	if c.Artifact.Root.Digest.Encoded() != fixtureChartManifest || c.Artifact.Root.Size != int64(len(raw)) {
		t.Errorf("root %+v", c.Artifact.Root)
	}
}

func TestHelmChartDir(t *testing.T) {
	refLayer := func(t *testing.T) []byte { return fixtureBlob(t, fixtureChartLayer) }
	tests := []struct {
		name     string
		mtime    int64 // 0: fresh copy (mtime now)
		env      map[string]string
		wantSame bool // layer equals the reference's
		created  string
	}{
		{name: "file mtimes, no SOURCE_DATE_EPOCH", mtime: fixtureChartMtime, wantSame: true},
		{name: "fresh checkout clamped to SOURCE_DATE_EPOCH", env: map[string]string{"SOURCE_DATE_EPOCH": strconv.Itoa(fixtureChartMtime)}, wantSame: true, created: "2026-11-23T02:03:19Z"},
		{name: "older files are not clamped", mtime: fixtureChartMtime, env: map[string]string{"SOURCE_DATE_EPOCH": "1900000000"}, wantSame: true, created: "2030-03-17T17:46:40Z"},
		{name: "other mtimes give other bytes", mtime: fixtureChartMtime + 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyChart(t, tc.mtime)
			c, err := openHelmInput(t, `{"type":"Helm/v1","path":"`+dir+`"}`, "", tc.env)
			if err != nil {
				t.Fatal(err)
			}
			m, _, config, layer := helmParts(t, c)
			if sha256Hex(config) != fixtureChartConfig {
				t.Errorf("config %s", config)
			}
			if same := bytes.Equal(layer, refLayer(t)); same != tc.wantSame {
				t.Errorf("layer equal to the reference's: %v, want %v", same, tc.wantSame)
			}
			if got := m.Annotations[ocispec.AnnotationCreated]; got != tc.created {
				t.Errorf("created annotation %q, want %q", got, tc.created)
			}
			if tc.created == "" && m.Annotations != nil {
				t.Errorf("unexpected annotations %v", m.Annotations)
			}
			// Deterministic: a second run gives the same manifest digest.
			c2, err := openHelmInput(t, `{"type":"helm","path":"`+dir+`"}`, "", tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if c2.Artifact.Root.Digest != c.Artifact.Root.Digest {
				t.Errorf("second run gave %s, first %s", c2.Artifact.Root.Digest, c.Artifact.Root.Digest)
			}
		})
	}
}

func TestHelmPackagedChartVerbatim(t *testing.T) {
	dir := t.TempDir()
	tgz := filepath.Join(dir, "podinfo-mini-0.1.0.tgz")
	if err := os.WriteFile(tgz, fixtureBlob(t, fixtureChartLayer), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := openHelmInput(t, `{"type":"helm","path":"podinfo-mini-0.1.0.tgz"}`, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, _, config, layer := helmParts(t, c)
	if sha256Hex(config) != fixtureChartConfig {
		t.Errorf("config %s", config)
	}
	if m.Layers[0].Digest.Encoded() != fixtureChartLayer || !bytes.Equal(layer, fixtureBlob(t, fixtureChartLayer)) {
		t.Errorf("layer %s is not the packaged chart verbatim", m.Layers[0].Digest)
	}
	if len(m.Layers) != 1 {
		t.Errorf("layers %+v", m.Layers)
	}

	// A provenance file next to it becomes a second layer.
	if err := os.WriteFile(tgz+".prov", []byte("-----BEGIN PGP SIGNED MESSAGE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = openHelmInput(t, `{"type":"helm","path":"podinfo-mini-0.1.0.tgz"}`, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, _, _, _ = helmParts(t, c)
	if len(m.Layers) != 2 || m.Layers[1].MediaType != HelmProvLayerMediaType {
		t.Fatalf("layers %+v", m.Layers)
	}
	if got := fetch(t, c.Artifact.Store, m.Layers[1]); string(got) != "-----BEGIN PGP SIGNED MESSAGE-----\n" {
		t.Errorf("prov %q", got)
	}

	// A chart changed after it was opened fails when streamed.
	if err := os.WriteFile(tgz, []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := c.Artifact.Store.Fetch(context.Background(), m.Layers[0])
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	r.Close()
	wantErr(t, err, "changed since it was read")
}

// tarNames lists a (gzipped) tar's entries as "name mode mtime".
func tarEntries(t *testing.T, tgz []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h.Name)
	}
}

func TestHelmChartLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mychart")
	writeFile(t, filepath.Join(dir, "Chart.yaml"), "apiVersion: v2\nname: mychart\nversion: 1.2.3\nappVersion: \"1.0\"\n", 0o644)
	writeFile(t, filepath.Join(dir, "values.yaml"), "a: 1\n", 0o644)
	writeFile(t, filepath.Join(dir, "values.schema.json"), `{"type":"object"}`, 0o644)
	writeFile(t, filepath.Join(dir, "README.md"), "readme", 0o644)
	writeFile(t, filepath.Join(dir, "NOTES.skip"), "x", 0o644)
	writeFile(t, filepath.Join(dir, ".helmignore"), "# comment\n*.skip\nsecret/\n", 0o644)
	writeFile(t, filepath.Join(dir, "secret", "key"), "k", 0o644)
	writeFile(t, filepath.Join(dir, "templates", "b.yaml"), "b", 0o644)
	writeFile(t, filepath.Join(dir, "templates", "a.yaml"), "\xEF\xBB\xBFa", 0o644)
	writeFile(t, filepath.Join(dir, "templates", ".hidden"), "h", 0o644)
	writeFile(t, filepath.Join(dir, "charts", "sub", "Chart.yaml"), "apiVersion: v2\nname: sub\nversion: 0.1.0\n", 0o644)
	writeFile(t, filepath.Join(dir, "charts", "sub", "templates", "s.yaml"), "s", 0o644)

	c, err := openHelmInput(t, `{"type":"helm","path":"`+dir+`"}`, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, config, layer := helmParts(t, c)
	if string(config) != `{"name":"mychart","version":"1.2.3"}` {
		t.Errorf("config %s", config)
	}
	want := []string{
		"mychart/Chart.yaml", "mychart/values.yaml", "mychart/values.schema.json",
		"mychart/templates/a.yaml", "mychart/templates/b.yaml",
		"mychart/.helmignore", "mychart/README.md",
		"mychart/charts/sub/Chart.yaml", "mychart/charts/sub/templates/s.yaml",
	}
	if got := tarEntries(t, layer); !slices.Equal(got, want) {
		t.Errorf("entries\n got %q\nwant %q", got, want)
	}
	files := untarMap(t, layer)
	if got := files["mychart/Chart.yaml"]; got != "apiVersion: v2\nappVersion: \"1.0\"\nname: mychart\nversion: 1.2.3\n" {
		t.Errorf("Chart.yaml re-written as %q", got)
	}
	if files["mychart/templates/a.yaml"] != "a" {
		t.Errorf("BOM not trimmed: %q", files["mychart/templates/a.yaml"])
	}
}

func untarMap(t *testing.T, tgz []byte) map[string]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		out[h.Name] = string(data)
	}
}

func TestHelmErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "noversion", "Chart.yaml"), "apiVersion: v2\nname: x\n", 0o644)
	writeFile(t, filepath.Join(dir, "badvalues", "Chart.yaml"), "apiVersion: v2\nname: x\nversion: 1.0.0\n", 0o644)
	writeFile(t, filepath.Join(dir, "badvalues", "values.yaml"), "- a list\n", 0o644)
	writeFile(t, filepath.Join(dir, "nochart", "values.yaml"), "a: 1\n", 0o644)
	writeFile(t, filepath.Join(dir, "notgz.tgz"), "plain text", 0o644)
	writeFile(t, filepath.Join(dir, "ok", "Chart.yaml"), "apiVersion: v2\nname: x\nversion: 1.0.0\n", 0o644)
	tests := []struct {
		name string
		spec string
		want []string
	}{
		{"helm repository scheme", `{"type":"helm","helmRepository":"ftp://charts.example.com/x-1.0.0.tgz"}`,
			[]string{"components[0].resources[2].input.helmRepository: \"ftp://charts.example.com/x-1.0.0.tgz\" is not an oci://, http:// or https:// reference"}},
		{"oci chart without version", `{"type":"helm","helmRepository":"oci://127.0.0.1:1/charts/x"}`,
			[]string{"input.helmRepository:", "the chart version must be given"}},
		{"upload without tag", `{"type":"helm","path":"ok","repository":"127.0.0.1:1/charts/x"}`,
			[]string{`input.repository: "127.0.0.1:1/charts/x" must name a tag (the chart version) and no digest`}},
		{"upload tag is not the chart version", `{"type":"helm","path":"ok","repository":"127.0.0.1:1/charts/x:2.0.0"}`,
			[]string{`input.repository: tag "2.0.0" of 127.0.0.1:1/charts/x:2.0.0 does not match the chart version "1.0.0"`}},
		{"upload reference invalid", `{"type":"helm","path":"ok","repository":"127.0.0.1:1/Charts/x:1.0.0"}`,
			[]string{`input.repository: image reference "127.0.0.1:1/Charts/x:1.0.0"`}},
		{"missing version", `{"type":"helm","path":"noversion"}`,
			[]string{"component-constructor.yaml: components[0].resources[2].input.path: loading chart", "chart.metadata.version is required"}},
		{"bad values", `{"type":"helm","path":"badvalues"}`, []string{"cannot load values.yaml"}},
		{"no Chart.yaml", `{"type":"helm","path":"nochart"}`, []string{"Chart.yaml file is missing"}},
		{"not a tgz", `{"type":"helm","path":"notgz.tgz"}`, []string{"input.path: loading chart"}},
		{"missing path", `{"type":"helm","path":"nothere"}`, []string{"input.path: stat", "no such file"}},
		{"both", `{"type":"helm","path":"a","helmRepository":"b"}`, []string{"only one of path or helmRepository"}},
		{"unknown field", `{"type":"helm","path":"noversion","x":1}`, []string{"input.x: unknown field"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := openHelmInput(t, tc.spec, dir, nil)
			wantErr(t, err, tc.want...)
		})
	}
	_, err := openHelmInput(t, `{"type":"helm","path":"badvalues"}`, dir, map[string]string{"SOURCE_DATE_EPOCH": "yesterday"})
	wantErr(t, err, `SOURCE_DATE_EPOCH="yesterday"`)
}

func TestHelmChartSymlinks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "linked")
	writeFile(t, filepath.Join(dir, "Chart.yaml"), "apiVersion: v2\nname: linked\nversion: 1.0.0\n", 0o644)
	shared := filepath.Join(filepath.Dir(dir), "shared")
	writeFile(t, filepath.Join(shared, "cm.yaml"), "kind: ConfigMap\n", 0o644)
	if err := os.Symlink(shared, filepath.Join(dir, "templates")); err != nil {
		t.Fatal(err)
	}
	c, err := openHelmInput(t, `{"type":"helm","path":"`+dir+`"}`, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, layer := helmParts(t, c)
	if got := untarMap(t, layer)["linked/templates/cm.yaml"]; got != "kind: ConfigMap\n" {
		t.Errorf("linked template %q", got)
	}
	if err := os.Symlink("..", filepath.Join(shared, "loop")); err != nil {
		t.Fatal(err)
	}
	_, err = openHelmInput(t, `{"type":"helm","path":"`+dir+`"}`, "", nil)
	wantErr(t, err, "symlink cycle")
}
