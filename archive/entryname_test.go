package archive

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

func TestEntryName(t *testing.T) {
	for _, tc := range []struct {
		name, want, reason string
	}{
		{name: "a", want: "a"},
		{name: "a/b/c.txt", want: "a/b/c.txt"},
		{name: "./a", want: "a"},
		{name: "./", want: "."},
		{name: ".", want: "."},
		{name: "a//b/", want: "a/b"},
		{name: "a/./b", want: "a/b"},
		{name: "..a/b..", want: "..a/b.."},
		{name: "", reason: "empty name"},
		{name: "/etc/passwd", reason: "absolute path"},
		{name: "/", reason: "absolute path"},
		{name: "a\\..\\b", reason: "backslash or NUL in name"},
		{name: "a\x00b", reason: "backslash or NUL in name"},
		{name: "..", reason: `".." element leaves the archive`},
		{name: "../evil", reason: `".." element leaves the archive`},
		{name: "a/../../evil", reason: `".." element leaves the archive`},
		{name: "a/../b", reason: `".." element leaves the archive`},
		{name: "a/..", reason: `".." element leaves the archive`},
		{name: "blobs/../index", reason: `".." element leaves the archive`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EntryName(tc.name)
			if tc.reason == "" {
				if err != nil || got != tc.want {
					t.Fatalf("EntryName(%q) = %q, %v; want %q, nil", tc.name, got, err, tc.want)
				}
				return
			}
			var ne *NameError
			if !errors.As(err, &ne) || ne.Reason != tc.reason || ne.Name != tc.name || !errors.Is(err, ErrUnsafeName) {
				t.Fatalf("EntryName(%q) = %q, %v; want a NameError with reason %q", tc.name, got, err, tc.reason)
			}
		})
	}
}

// FuzzEntryName checks the promise, not the table: an accepted name is
// clean, local and free of "..", and stays below any root it is joined to.
func FuzzEntryName(f *testing.F) {
	for _, s := range []string{"a", "./", "a/../b", "../x", "/abs", "a\\b", "a/./b//c", "..a", "C:/x", "NUL"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := EntryName(name)
		if err != nil {
			if got != "" || !errors.Is(err, ErrUnsafeName) || !strings.HasPrefix(err.Error(), "unsafe entry") {
				t.Fatalf("EntryName(%q) = %q, %v", name, got, err)
			}
			return
		}
		if got != path.Clean(got) || !filepath.IsLocal(filepath.FromSlash(got)) || strings.ContainsAny(got, "\\\x00") {
			t.Fatalf("EntryName(%q) = %q: not clean and local", name, got)
		}
		for elem := range strings.SplitSeq(got, "/") {
			if elem == ".." {
				t.Fatalf("EntryName(%q) = %q: contains ..", name, got)
			}
		}
		root := filepath.FromSlash("/root")
		joined := filepath.Join(root, filepath.FromSlash(got))
		if rel, err := filepath.Rel(root, joined); err != nil || !filepath.IsLocal(rel) {
			t.Fatalf("EntryName(%q) = %q escapes the root: %q", name, got, joined)
		}
	})
}
