package yamlutil

import (
	"strings"
	"testing"
)

func TestDuplicateKeys(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" = no error
	}{
		{"none", "a: 1\nb: {c: 1, d: 2}\n", ""},
		{"top level", "a: 1\nb: 2\na: 3\n", `duplicate key "a" at line 3 (first at line 1)`},
		{"nested block", "x:\n  y: 1\n  y: 2\n", `duplicate key "y" at line 3 (first at line 2)`},
		{"flow", "x: {k: 1, k: 2}\n", `duplicate key "k" at line 1 (first at line 1)`},
		{"in a list", "l:\n- {n: 1}\n- n: 1\n  n: 2\n", `duplicate key "n" at line 4 (first at line 3)`},
		{"quoted and plain collide in JSON", "\"1\": a\n1: b\n", `duplicate key "1"`},
		{"same key in sibling mappings", "a: {k: 1}\nb: {k: 2}\n", ""},
		{"merge keys are not duplicates", "base: &b {x: 1}\na:\n  <<: *b\n  <<: *b\n", ""},
		{"JSON", `{"a": 1, "a": 2}`, `duplicate key "a"`},
		{"second document", "a: 1\n---\nb: 1\nb: 2\n", `duplicate key "b" at line 4`},
		{"syntax error left to the parser", "a: [\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckDuplicateKeys([]byte(tt.in))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := Decode([]byte("a: 1\na: 2\n"), "doc"); err == nil || !strings.Contains(err.Error(), `duplicate key "a" at line 2`) {
		t.Errorf("Decode: %v", err)
	}
}

func FuzzCheckDuplicateKeys(f *testing.F) {
	for _, s := range []string{"a: 1\na: 2\n", "x: {k: 1, k: 2}", "- [a, {b: c}]", "&a [*a]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = CheckDuplicateKeys([]byte(s))
	})
}
