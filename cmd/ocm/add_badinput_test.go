package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAddCVBadInput: each broken constructor or flag fails with a message
// that says exactly what is wrong, and leaves no archive behind.
func TestAddCVBadInput(t *testing.T) {
	const head = "components:\n- name: example.com/acv/bad\n  version: 1.0.0\n  provider: {name: example.com}\n"
	tests := []struct {
		name string
		// constructor text; {{dir}} is replaced by the constructor's directory.
		constructor string
		setup       func(t *testing.T, dir string)
		// want lists substrings of the error; {{dir}} and {{file}} are replaced.
		want []string
		args []string // extra flags
		// existing: the target archive holds the constructor's version already.
		existing bool
	}{
		{
			name:        "unknown input type",
			constructor: head + "  resources:\n  - {name: r0, type: blob, input: {type: ftp, path: x}}\n",
			want:        []string{`{{file}}: components[0].resources[0].input.type: unknown input type "ftp" (known: file, dir, utf8, helm, wget, ociImageLayout)`},
		},
		{
			name:        "missing path",
			constructor: head + "  resources:\n  - {name: r0, type: blob, input: {type: file, path: nope/missing.bin}}\n",
			want:        []string{`{{file}}: components[0].resources[0].input.path: stat {{dir}}/nope/missing.bin: no such file or directory`},
		},
		{
			name:        "missing path, single-component constructor",
			constructor: "name: example.com/acv/bad\nversion: 1.0.0\nprovider: {name: example.com}\nresources:\n- {name: r0, type: blob, input: {type: utf8, text: a}}\n- {name: r1, type: blob, input: {type: file, path: gone.txt}}\n",
			want:        []string{`{{file}}: resources[1].input.path: stat {{dir}}/gone.txt: no such file or directory`},
		},
		{
			name:        "second component fails",
			constructor: head + "  resources:\n  - {name: r0, type: blob, input: {type: utf8, text: a}}\n- name: example.com/acv/worse\n  version: 1.0.0\n  provider: {name: example.com}\n  resources:\n  - {name: r0, type: blob, input: {type: file, path: gone.bin}}\n",
			want:        []string{`example.com/acv/worse:1.0.0: `, `{{file}}: components[1].resources[0].input.path: stat {{dir}}/gone.bin: no such file or directory`},
		},
		{
			name:        "missing dir path",
			constructor: head + "  resources:\n  - {name: r0, type: blob, input: {type: dir, path: nodir}}\n",
			want:        []string{`{{file}}: components[0].resources[0].input.path: stat {{dir}}/nodir: no such file or directory`},
		},
		{
			name:        "invalid component name",
			constructor: "components:\n- name: Example.com/acv/Bad\n  version: 1.0.0\n  provider: {name: example.com}\n",
			want:        []string{`{{file}}: components[0].name: "Example.com/acv/Bad" does not match ^[a-z]`},
		},
		{
			name:        "component name without a path",
			constructor: "components:\n- name: example.com\n  version: 1.0.0\n  provider: {name: example.com}\n",
			want:        []string{`{{file}}: components[0].name: "example.com" does not match`},
		},
		{
			name:        "invalid version",
			constructor: "components:\n- name: example.com/acv/bad\n  version: one.two\n  provider: {name: example.com}\n",
			want:        []string{`{{file}}: components[0].version: "one.two" is not a (relaxed) semantic version`},
		},
		{
			name:        "invalid resource version",
			constructor: head + "  resources:\n  - {name: r0, version: latest, type: blob, input: {type: utf8, text: a}}\n",
			want:        []string{`{{file}}: components[0].resources[0].version: "latest" is not a (relaxed) semantic version`},
		},
		{
			name:        "duplicate resource identity",
			constructor: head + "  resources:\n  - {name: r0, type: blob, input: {type: utf8, text: a}}\n  - {name: r0, type: blob, input: {type: utf8, text: b}}\n",
			want:        []string{`{{file}}: components[0].resources[1]: duplicate identity name=r0,version=1.0.0 (same as components[0].resources[0])`},
		},
		{
			name:        "duplicate identity with extraIdentity",
			constructor: head + "  resources:\n  - {name: r0, extraIdentity: {os: linux}, type: blob, input: {type: utf8, text: a}}\n  - {name: r0, extraIdentity: {os: linux}, type: blob, input: {type: utf8, text: b}}\n",
			want:        []string{`{{file}}: components[0].resources[1]: duplicate identity name=r0,os=linux,version=1.0.0 (same as components[0].resources[0])`},
		},
		{
			name:        "conflict with an existing version",
			constructor: head + "  resources:\n  - {name: r0, type: blob, input: {type: utf8, text: a}}\n",
			existing:    true,
			want:        []string{"example.com/acv/bad:1.0.0: component version already exists in the target repository (use --component-version-conflict-policy replace or skip)"},
		},
		{
			name:        "symlink out of the dir input",
			constructor: head + "  resources:\n  - {name: r0, type: directoryTree, input: {type: dir, path: tree}}\n",
			setup: func(t *testing.T, dir string) {
				acvWrite(t, filepath.Join(dir, "tree", "ok.txt"), []byte("ok"))
				acvWrite(t, filepath.Join(dir, "secret.txt"), []byte("secret"))
				if err := os.Symlink("../secret.txt", filepath.Join(dir, "tree", "leak")); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{`{{file}}: components[0].resources[0].input.path: symlink {{dir}}/tree/leak -> ../secret.txt points outside the directory {{dir}}/tree (to {{dir}}/secret.txt); set followSymlinks to store the target's content instead`},
		},
		{
			name:        "absolute symlink out of the dir input",
			constructor: head + "  resources:\n  - {name: r0, type: directoryTree, input: {type: dir, path: tree}}\n",
			setup: func(t *testing.T, dir string) {
				acvWrite(t, filepath.Join(dir, "tree", "ok.txt"), []byte("ok"))
				if err := os.MkdirAll(filepath.Join(dir, "tree", "sub"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("/etc/hostname", filepath.Join(dir, "tree", "sub", "leak")); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{`{{file}}: components[0].resources[0].input.path: symlink {{dir}}/tree/sub/leak -> /etc/hostname points outside the directory {{dir}}/tree`},
		},
		{
			name:        "unset variable",
			constructor: "components:\n- name: example.com/acv/bad\n  version: ${ACV_SURELY_UNSET_VARIABLE}\n  provider: {name: example.com}\n",
			want:        []string{`{{file}}: environment variable ${ACV_SURELY_UNSET_VARIABLE} is not set (line 3)`},
		},
		{
			name:        "unreachable registry",
			constructor: head,
			args:        []string{"--repository", "127.0.0.1:1/org"},
			want:        []string{"127.0.0.1:1", "connection refused"},
		},
		{
			name:        "unknown conflict policy",
			constructor: head,
			args:        []string{"--component-version-conflict-policy", "overwrite"},
			want:        []string{`--component-version-conflict-policy "overwrite": use one of abort-and-fail, replace, skip`},
		},
		{
			name:        "missing constructor",
			constructor: "",
			want:        []string{"constructor: stat {{file}}: no such file or directory"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "component-constructor.yaml")
			if tt.constructor != "" {
				acvWrite(t, file, []byte(tt.constructor))
			}
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			archive := filepath.Join(t.TempDir(), "ctf.tar")
			var before map[string]string
			if tt.existing {
				if _, _, err := run(t, "add", "cv", "-r", "ctf::"+archive, "-c", file); err != nil {
					t.Fatal(err)
				}
				before = acvSnapshot(t, archive, "")
			}
			args := append([]string{"add", "cv", "--repository", "ctf::" + archive, "--constructor", file}, tt.args...)
			_, _, err := run(t, args...)
			if err == nil {
				t.Fatalf("add cv succeeded, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				w = strings.ReplaceAll(strings.ReplaceAll(w, "{{file}}", file), "{{dir}}", dir)
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n  %s\ndoes not contain\n  %s", err, w)
				}
			}
			if tt.existing {
				if d := acvDiffSnapshots(before, acvSnapshot(t, archive, "")); d != "" {
					t.Errorf("archive changed: %s", d)
				}
			} else if _, err := os.Stat(archive); !os.IsNotExist(err) {
				t.Errorf("a failed add left %s (%v)", archive, err)
			}
			if s := acvStaging(t, archive); len(s) != 0 {
				t.Errorf("staging left behind: %v", s)
			}
		})
	}
}

// TestAddCVConflictPolicies: an existing version is kept with skip and
// rebuilt with replace.
func TestAddCVConflictPolicies(t *testing.T) {
	const comp = "example.com/acv/conflict"
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		acvWrite(t, p, []byte("name: "+comp+"\nversion: 1.0.0\nprovider: {name: example.com}\nresources:\n- {name: text, type: plainText, input: {type: utf8, text: "+text+"}}\n"))
		return p
	}
	v1, v2 := write("v1.yaml", "first"), write("v2.yaml", "second")
	for _, form := range acvForms {
		t.Run(form, func(t *testing.T) {
			archive := filepath.Join(t.TempDir(), form)
			ref := "ctf::" + archive + "//" + comp + ":1.0.0"
			if _, _, err := run(t, "add", "cv", "-r", "ctf::"+archive, "-c", v1); err != nil {
				t.Fatal(err)
			}
			orig := acvGetCV(t, ref)[0]
			before := acvSnapshot(t, archive, "")

			_, _, err := run(t, "add", "cv", "-r", "ctf::"+archive, "-c", v2)
			if err == nil || !strings.Contains(err.Error(), comp+":1.0.0: component version already exists in the target repository") {
				t.Fatalf("default policy: %v", err)
			}
			out, _, err := run(t, "add", "cv", "-r", "ctf::"+archive, "-c", v2, "--component-version-conflict-policy", "abort-and-fail")
			if err == nil {
				t.Fatalf("abort-and-fail succeeded:\n%s", out)
			}
			if d := acvDiffSnapshots(before, acvSnapshot(t, archive, "")); d != "" {
				t.Fatalf("archive changed by a failed add: %s", d)
			}

			out, _, err = run(t, "add", "cv", "-r", "ctf::"+archive, "-c", v2, "--component-version-conflict-policy", "skip")
			if err != nil {
				t.Fatalf("skip: %v", err)
			}
			if !strings.Contains(out, comp) {
				t.Errorf("skip printed %q", out)
			}
			if d := acvDiffSnapshots(before, acvSnapshot(t, archive, "")); d != "" {
				t.Errorf("skip changed the archive: %s", d)
			}
			if got := acvDownload(t, ref, "name=text"); string(got) != "first" {
				t.Errorf("after skip: %q", got)
			}

			if _, _, err := run(t, "add", "cv", "-r", "ctf::"+archive, "-c", v2, "--component-version-conflict-policy", "replace"); err != nil {
				t.Fatalf("replace: %v", err)
			}
			list := acvGetCV(t, "ctf::"+archive+"//"+comp)
			if len(list) != 1 {
				t.Fatalf("after replace, %d versions listed", len(list))
			}
			repl := list[0]
			if repl.Component.Resources[0].Digest.Value == orig.Component.Resources[0].Digest.Value {
				t.Errorf("replace kept the old descriptor")
			}
			if got := acvDownload(t, ref, "name=text"); string(got) != "second" {
				t.Errorf("after replace: %q", got)
			}
			if s := acvStaging(t, archive); len(s) != 0 {
				t.Errorf("staging left behind: %v", s)
			}
		})
	}
}
