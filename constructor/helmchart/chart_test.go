package helmchart

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestPackageCap(t *testing.T) {
	c := &Chart{metadata: &Metadata{APIVersion: "v2", Name: "x", Version: "1.0.0"},
		templates: []chartFile{{name: "templates/big", data: bytes.Repeat([]byte{'x'}, 4096)}}}
	if _, err := Package(c, nil, 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := Package(c, nil, 64); err == nil || !strings.Contains(err.Error(), "larger than 64 bytes") {
		t.Fatalf("Package over the cap: got %v, want an error naming the cap", err)
	}
}

func TestIgnoreRules(t *testing.T) {
	r := &ignoreRules{}
	for _, rule := range []string{"*.tmp", "/top.txt", "docs/*.md", "build/"} {
		if err := r.parseRule(rule); err != nil {
			t.Fatal(err)
		}
	}
	r.addDefaults()
	file, dir := fakeInfo(false), fakeInfo(true)
	cases := []struct {
		name   string
		isDir  bool
		ignore bool
	}{
		{"a.tmp", false, true},
		{"sub/a.tmp", false, true}, // no slash in the rule: the base name is matched
		{"top.txt", false, true},
		{"sub/top.txt", false, false},
		{"docs/x.md", false, true},
		{"x.md", false, false},
		{"build", true, true},
		{"build", false, false}, // a trailing slash matches directories only
		{"templates/.x", false, true},
		{"templates/x", false, false},
	}
	for _, c := range cases {
		fi := file
		if c.isDir {
			fi = dir
		}
		if got := r.ignore(c.name, fi); got != c.ignore {
			t.Errorf("ignore(%q, dir=%v) = %v", c.name, c.isDir, got)
		}
	}
	if err := (&ignoreRules{}).parseRule("a/**/b"); err == nil || !strings.Contains(err.Error(), "double-star") {
		t.Errorf("** accepted: %v", err)
	}
}

type fakeInfo bool

func (f fakeInfo) Name() string { return "x" }
func (f fakeInfo) Size() int64  { return 0 }
func (f fakeInfo) Mode() os.FileMode {
	return map[bool]os.FileMode{true: os.ModeDir, false: 0}[bool(f)]
}
func (f fakeInfo) ModTime() time.Time { return time.Time{} }
func (f fakeInfo) IsDir() bool        { return bool(f) }
func (f fakeInfo) Sys() any           { return nil }
