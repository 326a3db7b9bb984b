package access

import (
	"errors"
	"testing"
)

const testIndex = `apiVersion: v1
entries:
  app:
  - name: app
    version: 1.0.0
    digest: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    urls: [charts/app-1.0.0.tgz]
  - name: app
    version: 1.2.0
    urls: ["https://cdn.example.com/app-1.2.0.tgz"]
  - name: app
    version: 2.0.0-beta.1
    urls: [app-2.0.0-beta.1.tgz]
  odd:
  - name: odd
    version: not-semver
    urls: []
`

func TestHelmIndexLookup(t *testing.T) {
	ix, err := parseHelmIndex([]byte(testIndex), "test")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		chart, version, wantVersion, wantURL string
		err                                  error
	}{
		{"app", "1.0.0", "1.0.0", "https://repo.example.com/sub/charts/app-1.0.0.tgz", nil},
		{"app", "", "1.2.0", "https://cdn.example.com/app-1.2.0.tgz", nil},
		{"app", "^1.0", "1.2.0", "https://cdn.example.com/app-1.2.0.tgz", nil},
		{"app", "2.0.0-beta.1", "2.0.0-beta.1", "https://repo.example.com/sub/app-2.0.0-beta.1.tgz", nil},
		{"app", "3.0.0", "", "", ErrNotFound},
		{"app", "not a constraint!", "", "", ErrNotFound},
		{"none", "1.0.0", "", "", ErrNotFound},
		{"odd", "", "", "", ErrNotFound},
	}
	for _, tt := range tests {
		e, err := ix.lookup(tt.chart, tt.version, "test")
		if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
			t.Errorf("%s %q: error %v, want %v", tt.chart, tt.version, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		u, err := e.chartURL("https://repo.example.com/sub")
		if e.Version != tt.wantVersion || err != nil || u != tt.wantURL {
			t.Errorf("%s %q: %s %s %v", tt.chart, tt.version, e.Version, u, err)
		}
	}
	e, _ := ix.lookup("odd", "not-semver", "test")
	if _, err := e.chartURL("https://x"); err == nil {
		t.Error("an entry without URLs has a chart URL")
	}
	for _, bad := range []string{"", "entries: {}", "apiVersion: v1\nentries: [1]", "{"} {
		if _, err := parseHelmIndex([]byte(bad), "bad"); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzHelmIndex(f *testing.F) {
	f.Add([]byte(testIndex), "app", "1.0.0")
	f.Add([]byte("apiVersion: v1\nentries:\n  a:\n  - null\n"), "a", "")
	f.Add([]byte("apiVersion: v1\nentries:\n  a:\n  - version: '>1'\n    digest: sha256:zz\n    urls: ['%zz']\n"), "a", ">0")
	f.Fuzz(func(t *testing.T, data []byte, chart, version string) {
		ix, err := parseHelmIndex(data, "fuzz")
		if err != nil {
			return
		}
		e, err := ix.lookup(chart, version, "fuzz")
		if err != nil {
			return
		}
		_, _ = e.chartURL("https://repo.example.com/x")
		_, _ = e.indexDigest()
	})
}
