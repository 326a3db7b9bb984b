package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestGenerateDocs: a file for every command in every mode, each naming its
// command; nothing else (no temporary directory) is left behind, and the
// output is reproducible.
func TestGenerateDocs(t *testing.T) {
	var cmds []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.IsAvailableCommand() && c.Parent() != nil {
			return
		}
		cmds = append(cmds, strings.ReplaceAll(c.CommandPath(), " ", "_"))
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRootCommand())
	for _, tc := range []struct{ mode, ext, contains string }{
		{"markdown", ".md", "## "},
		{"man", ".1", ".TH \"OCM\" \"1\""},
		{"restructured", ".rst", ".. _"},
		{"yaml", ".yaml", "name: "},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "docs")
			t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
			if _, stderr, err := run(t, "generate", "docs", "--mode", tc.mode, "-d", dir); err != nil {
				t.Fatalf("%v: %s", err, stderr)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Fatalf("left behind: %s", e.Name())
				}
				have[e.Name()] = true
			}
			for _, c := range cmds {
				if tc.mode == "man" {
					c = strings.ReplaceAll(c, "_", "-")
				}
				if !have[c+tc.ext] {
					t.Errorf("no %s%s among %d files", c, tc.ext, len(entries))
				}
			}
			name := cmds[len(cmds)-1]
			if tc.mode == "man" {
				name = strings.ReplaceAll(name, "_", "-")
			}
			data, err := os.ReadFile(filepath.Join(dir, name+tc.ext))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), tc.contains) || strings.Contains(string(data), "Auto generated") {
				t.Fatalf("%s:\n%s", name, data)
			}
			// Again: the same bytes.
			again := filepath.Join(t.TempDir(), "docs")
			if _, _, err := run(t, "generate", "docs", "--mode", tc.mode, "-d", again); err != nil {
				t.Fatal(err)
			}
			data2, err := os.ReadFile(filepath.Join(again, name+tc.ext))
			if err != nil || string(data2) != string(data) {
				t.Fatalf("not reproducible: %v", err)
			}
		})
	}
	if _, _, err := run(t, "generate", "docs", "--mode", "pdf", "-d", t.TempDir()); err == nil || !strings.Contains(err.Error(), `--mode "pdf"`) {
		t.Fatalf("--mode pdf: %v", err)
	}
}
