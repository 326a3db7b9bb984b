package helmdiff

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"

	"github.com/ocmgo/ocm/constructor/helmchart"
)

// helmGzipPayload is what both Helm's and our gzip Extra field carry. Helm
// 4.3 wraps it in a well-formed subfield header ("rr", length); the
// reference (Helm 4.2) and the replica write it raw after a "+", which is
// what makes the replica byte-identical to the reference's archives.
const helmGzipPayload = "aHR0cHM6Ly95b3V0dS5iZS96OVV6MWljandyTQo="

// TestPackagingMatchesHelm packages chart directories both ways: the
// decompressed tar streams must be equal byte for byte (names, order,
// modes, mtimes, Chart.yaml as re-written, file contents), the gzip
// headers must carry Helm's comment and marker, and the metadata read back
// from the archives must agree.
func TestPackagingMatchesHelm(t *testing.T) {
	for name, build := range map[string]func(t *testing.T, dir string){
		"minimal":            minimalChart,
		"full v2":            fullChart,
		"v1 requirements":    v1Chart,
		"packaged subchart":  packagedSubchart,
		"bom and whitespace": bomChart,
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "chart")
			build(t, dir)

			ours := packageOurs(t, dir)
			theirs := packageHelm(t, dir)

			oursTar, oursHdr := gunzip(t, "our archive", ours)
			theirsTar, theirsHdr := gunzip(t, "Helm's archive", theirs)
			if oursHdr.Comment != theirsHdr.Comment {
				t.Errorf("gzip comment: ours %q, Helm's %q", oursHdr.Comment, theirsHdr.Comment)
			}
			for who, extra := range map[string][]byte{"ours": oursHdr.Extra, "Helm's": theirsHdr.Extra} {
				if !bytes.HasSuffix(extra, []byte(helmGzipPayload)) {
					t.Errorf("gzip extra of %s archive %q does not carry Helm's marker", who, extra)
				}
			}
			// Past the Extra field, the archives are the same bytes: the
			// fixed header (flags, mtime, OS), comment, deflate stream, trailer.
			if !bytes.Equal(ours[:10], theirs[:10]) || !bytes.Equal(afterExtra(ours), afterExtra(theirs)) {
				t.Errorf("gzip bytes differ beyond the Extra field (%d bytes ours, %d Helm's)", len(ours), len(theirs))
			}
			if !bytes.Equal(oursTar, theirsTar) {
				t.Errorf("tar streams differ (%d bytes ours, %d Helm's):\n%s", len(oursTar), len(theirsTar), diffEntries(t, oursTar, theirsTar))
			}

			md, err := helmchart.ReadMetadata(bytes.NewReader(ours))
			if err != nil {
				t.Fatalf("reading our archive back: %v", err)
			}
			hc, err := loader.LoadArchive(bytes.NewReader(ours))
			if err != nil {
				t.Fatalf("Helm loading our archive: %v", err)
			}
			if md.Name != hc.Metadata.Name || md.Version != hc.Metadata.Version || md.APIVersion != hc.Metadata.APIVersion {
				t.Errorf("metadata read back: ours %s %s %s, Helm's %s %s %s", md.APIVersion, md.Name, md.Version, hc.Metadata.APIVersion, hc.Metadata.Name, hc.Metadata.Version)
			}
		})
	}
}

func packageOurs(t *testing.T, dir string) []byte {
	t.Helper()
	c, err := helmchart.LoadDir(dir)
	if err != nil {
		t.Fatalf("helmchart.LoadDir: %v", err)
	}
	tgz, err := helmchart.Package(c, nil, 64<<20)
	if err != nil {
		t.Fatalf("helmchart.Package: %v", err)
	}
	return tgz
}

func packageHelm(t *testing.T, dir string) []byte {
	t.Helper()
	c, err := loader.LoadDir(dir)
	if err != nil {
		t.Fatalf("Helm loader.LoadDir: %v", err)
	}
	return saveHelm(t, c)
}

func saveHelm(t *testing.T, c *chartv2.Chart) []byte {
	t.Helper()
	file, err := chartutil.Save(c, t.TempDir())
	if err != nil {
		t.Fatalf("Helm chartutil.Save: %v", err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// afterExtra is a gzip member from its comment on; both writers set FEXTRA
// and FCOMMENT and no file name (RFC 1952).
func afterExtra(tgz []byte) []byte {
	xlen := int(tgz[10]) | int(tgz[11])<<8
	return tgz[12+xlen:]
}

func gunzip(t *testing.T, what string, tgz []byte) ([]byte, gzip.Header) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return data, zr.Header
}

// diffEntries describes how two tar streams differ, entry by entry.
func diffEntries(t *testing.T, a, b []byte) string {
	t.Helper()
	ea, eb := entries(t, a), entries(t, b)
	var out strings.Builder
	for i := range max(len(ea), len(eb)) {
		var x, y string
		if i < len(ea) {
			x = ea[i]
		}
		if i < len(eb) {
			y = eb[i]
		}
		if x != y {
			fmt.Fprintf(&out, "entry %d:\n  ours:   %s\n  Helm's: %s\n", i, x, y)
		}
	}
	if out.Len() == 0 {
		return "same entries; the tar headers differ in encoding"
	}
	return out.String()
}

func entries(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading tar entry %s: %v", h.Name, err)
		}
		desc := fmt.Sprintf("%s mode=%o mtime=%d size=%d sha256=%x", h.Name, h.Mode, h.ModTime.Unix(), h.Size, sha256.Sum256(body))
		if strings.HasSuffix(h.Name, "Chart.yaml") || strings.HasSuffix(h.Name, "Chart.lock") {
			desc += "\n" + string(body)
		}
		out = append(out, desc)
	}
}

// write creates files under dir (parents as needed) and gives every file
// its own mtime, since Helm stamps each entry with its file's.
func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	// Lexical order, so mtimes are the same from run to run.
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(files[name]), 0o644); err != nil {
			t.Fatal(err)
		}
		mtime = mtime.Add(97 * time.Minute)
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func minimalChart(t *testing.T, dir string) {
	write(t, dir, map[string]string{"Chart.yaml": "apiVersion: v2\nname: minimal\nversion: 0.1.0\n"})
}

func fullChart(t *testing.T, dir string) {
	write(t, dir, map[string]string{
		"Chart.yaml": `apiVersion: v2
name: full
version: 1.2.3-rc.1+build.7
kubeVersion: ">=1.28.0-0"
description: "A chart with   every part\tHelm packages"
type: application
keywords: [web, demo]
home: https://example.com
sources: [https://example.com/src]
maintainers:
  - name: Jane
    email: jane@example.com
    url: https://example.com/jane
icon: https://example.com/icon.png
appVersion: "2.0"
deprecated: false
annotations:
  category: demo
  licenses: Apache-2.0
dependencies:
  - name: sub
    version: 0.2.0
    repository: file://charts/sub
    alias: child
    condition: child.enabled
    tags: [backend]
    import-values:
      - child: exported
        parent: imported
`,
		"Chart.lock": `dependencies:
- name: sub
  repository: file://charts/sub
  version: 0.2.0
digest: sha256:0000000000000000000000000000000000000000000000000000000000000000
generated: "2024-04-01T10:00:00.123456789Z"
`,
		"values.yaml":                   "replicas: 2\nchild:\n  enabled: true\n",
		"values.schema.json":            `{"type":"object","properties":{"replicas":{"type":"integer"}}}`,
		"templates/deployment.yaml":     "kind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
		"templates/_helpers.tpl":        "{{- define \"full.name\" -}}full{{- end -}}\n",
		"templates/NOTES.txt":           "installed\n",
		"templates/.hidden.yaml":        "ignored by Helm's default rule\n",
		"templates/sub/cm.yaml":         "kind: ConfigMap\n",
		"crds/crd.yaml":                 "kind: CustomResourceDefinition\n",
		"files/config.txt":              "a=b\n",
		"README.md":                     "# full\n",
		"scratch.tmp":                   "ignored by .helmignore\n",
		"secret/key":                    "ignored by .helmignore\n",
		"docs/a.md":                     "kept\n",
		"docs/b.md":                     "ignored by .helmignore\n",
		".helmignore":                   "# comment\n*.tmp\nsecret/\ndocs/b.md\n",
		"charts/sub/Chart.yaml":         "apiVersion: v2\nname: sub\nversion: 0.2.0\n",
		"charts/sub/values.yaml":        "exported: 1\n",
		"charts/sub/templates/svc.yaml": "kind: Service\n",
	})
}

func v1Chart(t *testing.T, dir string) {
	write(t, dir, map[string]string{
		"Chart.yaml":        "apiVersion: v1\nname: old\nversion: 3.0.0\nappVersion: \"1\"\n",
		"requirements.yaml": "dependencies:\n- name: dep\n  version: 1.0.0\n  repository: https://charts.example.com\n",
		"requirements.lock": "dependencies:\n- name: dep\n  version: 1.0.0\n  repository: https://charts.example.com\ndigest: sha256:1111111111111111111111111111111111111111111111111111111111111111\ngenerated: \"2023-01-02T03:04:05Z\"\n",
		"values.yaml":       "x: 1\n",
		"templates/a.yaml":  "kind: ConfigMap\n",
	})
}

// packagedSubchart puts a subchart packaged by Helm into charts/.
func packagedSubchart(t *testing.T, dir string) {
	sub := filepath.Join(t.TempDir(), "dep")
	write(t, sub, map[string]string{
		"Chart.yaml":       "apiVersion: v2\nname: dep\nversion: 0.3.0\n",
		"templates/a.yaml": "kind: ConfigMap\n",
	})
	c, err := loader.LoadDir(sub)
	if err != nil {
		t.Fatal(err)
	}
	tgz := saveHelm(t, c)
	write(t, dir, map[string]string{
		"Chart.yaml":            "apiVersion: v2\nname: parent\nversion: 1.0.0\ndependencies:\n- name: dep\n  version: 0.3.0\n  repository: https://charts.example.com\n",
		"charts/dep-0.3.0.tgz":  string(tgz),
		"templates/parent.yaml": "kind: Secret\n",
	})
}

// bomChart has UTF-8 byte order marks (Helm trims them) and metadata
// strings with control characters (Helm sanitizes them).
func bomChart(t *testing.T, dir string) {
	write(t, dir, map[string]string{
		"Chart.yaml":       "\uFEFFapiVersion: v2\nname: bom\nversion: v1.0\ndescription: \"tab\\there\\u0007bell\"\n",
		"values.yaml":      "\uFEFFa: 1\n",
		"templates/a.yaml": "\uFEFFkind: ConfigMap\n",
	})
}
