package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		types   []string
		wantErr string
	}{
		{"empty", "", nil, ""},
		{"generic", "type: generic.config.ocm.software/v1\nconfigurations:\n- type: credentials.config.ocm.software\n  consumers: []\n- type: signing.config.ocm.software/v1alpha1\n", []string{"credentials.config.ocm.software", "signing.config.ocm.software/v1alpha1"}, ""},
		{"nested", "type: generic.config.ocm.software/v1\nconfigurations:\n- type: generic.config.ocm.software/v1\n  configurations:\n  - type: a.b/v1\n", []string{"a.b/v1"}, ""},
		{"single entry", "type: credentials.config.ocm.software\n", []string{"credentials.config.ocm.software"}, ""},
		{"no type", "configurations: []\n", nil, "missing field type"},
		{"entry without type", "type: generic.config.ocm.software/v1\nconfigurations:\n- foo: bar\n", nil, "configurations[0]: expected an object with a type"},
		{"bad yaml", "type: [\n", nil, "parsing YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := Parse([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want error containing %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Type)
			}
			if strings.Join(got, ",") != strings.Join(tt.types, ",") {
				t.Fatalf("types %v, want %v", got, tt.types)
			}
		})
	}
}

func TestLoadExplicitAndLookup(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	os.WriteFile(a, []byte("type: generic.config.ocm.software/v1\nconfigurations:\n- type: x.config/v1\n"), 0o644)
	cfg, err := Load([]string{a})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Entries) != 1 || cfg.Entries[0].Source != a || len(cfg.EntriesOfType("x.config")) != 1 {
		t.Fatalf("unexpected config %+v", cfg)
	}
	if _, err := Load([]string{filepath.Join(dir, "missing")}); err == nil || !strings.Contains(err.Error(), "missing: does not exist") {
		t.Fatalf("want error naming the missing file, got %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("configurations: 1\n"), 0o644)
	if _, err := Load([]string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("want error naming %s, got %v", bad, err)
	}

	// A key given twice is an error naming the file, the key and both lines.
	dup := filepath.Join(dir, "dup.yaml")
	os.WriteFile(dup, []byte("type: generic.config.ocm.software/v1\nconfigurations:\n- type: credentials.config.ocm.software\n  consumers: []\n  consumers: [{}]\n"), 0o644)
	if _, err := Load([]string{dup}); err == nil || !strings.Contains(err.Error(), dup) || !strings.Contains(err.Error(), `duplicate key "consumers" at line 5 (first at line 4)`) {
		t.Fatalf("want error naming %s and the duplicate key, got %v", dup, err)
	}

	// Automatic lookup: $OCM_CONFIG and $HOME/.ocmconfig are both read, in order.
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("OCM_CONFIG", a)
	os.WriteFile(filepath.Join(home, ".ocmconfig"), []byte("type: y.config/v1\n"), 0o644)
	cfg, err = Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Files) < 2 || cfg.Files[0] != a || cfg.Files[1] != filepath.Join(home, ".ocmconfig") {
		t.Fatalf("lookup read %v", cfg.Files)
	}
}
