package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository/ctf"
)

const acvWaitingLine = "waiting for another ocm process"

// acvCompConstructor writes a constructor for component name:1.0.0 with a
// text resource and a file of size bytes; it returns the constructor path.
func acvCompConstructor(t *testing.T, dir, name string, size int) string {
	t.Helper()
	c := filepath.Join(dir, "component-constructor.yaml")
	testutil.WriteFile(t, c, []byte(fmt.Sprintf(`name: %s
version: 1.0.0
provider: {name: example.com}
resources:
- {name: text, type: plainText, input: {type: utf8, text: "%s"}}
- {name: data, type: blob, input: {type: file, path: data.bin, mediaType: application/octet-stream}}
`, name, name)), 0o644)
	data := make([]byte, size)
	copy(data, name) // distinct content per component
	testutil.WriteFile(t, filepath.Join(dir, "data.bin"), data, 0o644)
	return c
}

// acvCheckComponents checks that archive lists exactly the components (at
// 1.0.0) and that each one's text resource downloads.
func acvCheckComponents(t *testing.T, archive string, names ...string) {
	t.Helper()
	var got, want []string
	for _, d := range acvGetCV(t, "ctf::"+archive) {
		got = append(got, d.Component.Name+":"+d.Component.Version)
	}
	for _, n := range names {
		want = append(want, n+":1.0.0")
		if n == acvBaseComponent {
			continue // has no text resource; acvCheckBaseReadable covers it
		}
		if b := acvDownload(t, "ctf::"+archive+"//"+n+":1.0.0", "name=text"); string(b) != n {
			t.Errorf("%s: text resource %q", n, b)
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("archive lists %v, want %v", got, want)
	}
}

// TestAddCVConcurrentProcesses runs two `ocm add cv` processes into the same
// new .tar archive at once: both succeed and the archive holds both components.
func TestAddCVConcurrentProcesses(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "shared.tar")
	names := []string{"example.com/acv/first", "example.com/acv/second"}
	var procs []*acvProc
	for _, n := range names {
		c := acvCompConstructor(t, t.TempDir(), n, 8<<20)
		procs = append(procs, acvStart(t, nil, "add", "cv", "--repository", "ctf::"+archive, "--constructor", c))
	}
	waited := 0
	for i, p := range procs {
		exited, code := p.wait(60 * time.Second)
		if !exited || code != 0 {
			t.Fatalf("process %d (%s): exited %v code %d\n%s%s", i, names[i], exited, code, p.stdout.String(), p.stderr.String())
		}
		if strings.Contains(p.stderr.String(), acvWaitingLine) {
			waited++
		}
		if s := strings.TrimSpace(p.stderr.String()); s != "" && !strings.Contains(s, acvWaitingLine) {
			t.Errorf("process %d: unexpected stderr %q", i, s)
		}
	}
	t.Logf("%d of 2 processes reported waiting for the lock", waited)
	if s := acvStaging(t, archive); len(s) != 0 {
		t.Errorf("staging left behind: %v", s)
	}
	acvCheckComponents(t, archive, names...)
}

// TestAddCVWaitsForLock holds the archive's lock while two `ocm add cv`
// processes start: both report that they wait, and both succeed once the
// lock is released.
func TestAddCVWaitsForLock(t *testing.T) {
	for _, form := range []string{"new.tar", "new", "existing.tar", "existing.tgz", "existing"} {
		t.Run(form, func(t *testing.T) {
			var archive string
			want := []string{"example.com/acv/one", "example.com/acv/two"}
			if strings.HasPrefix(form, "existing") {
				archive = acvBaseArchive(t, "ctf"+strings.TrimPrefix(form, "existing"))
				want = append(want, acvBaseComponent)
			} else {
				archive = filepath.Join(t.TempDir(), form)
			}
			w, err := ctf.OpenWritable(archive, ctf.WriteOptions{Create: true})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			var procs []*acvProc
			for _, n := range want[:2] {
				c := acvCompConstructor(t, t.TempDir(), n, 64<<10)
				procs = append(procs, acvStart(t, nil, "add", "cv", "--repository", "ctf::"+archive, "--constructor", c))
			}
			for i, p := range procs {
				if !acvPoll(30*time.Second, func() bool { return strings.Contains(p.stderr.String(), acvWaitingLine) }) {
					t.Fatalf("process %d does not report waiting for the lock; stderr:\n%s", i, p.stderr.String())
				}
			}
			if err := w.Abort(); err != nil {
				t.Fatal(err)
			}
			for i, p := range procs {
				exited, code := p.wait(60 * time.Second)
				if !exited || code != 0 {
					t.Fatalf("process %d: exited %v code %d\n%s", i, exited, code, p.stderr.String())
				}
			}
			acvCheckComponents(t, archive, want...)
		})
	}
}

// TestAddCVInterruptWhileWaitingForLock: Ctrl-C must stop an `ocm add cv`
// that waits for another process's lock (the lock wait is 2 minutes).
func TestAddCVInterruptWhileWaitingForLock(t *testing.T) {
	archive := acvBaseArchive(t, "ctf.tar")
	before := testutil.Snapshot(t, archive, nil)
	w, err := ctf.OpenWritable(archive, ctf.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	c := acvCompConstructor(t, t.TempDir(), "example.com/acv/patient", 1024)
	p := acvStart(t, nil, "add", "cv", "--repository", "ctf::"+archive, "--constructor", c)
	if !acvPoll(30*time.Second, func() bool { return strings.Contains(p.stderr.String(), acvWaitingLine) }) {
		t.Fatalf("the process does not report waiting for the lock; stderr:\n%s", p.stderr.String())
	}
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	exited, code := p.wait(3 * time.Second)
	if !exited {
		p.cmd.Process.Kill()
		w.Abort()
		t.Fatal("ocm add cv ignored SIGINT while waiting for the archive lock")
	}
	if code == 0 {
		t.Errorf("interrupted add cv exited 0")
	}
	w.Abort()
	if d := testutil.DiffSnapshots(before, testutil.Snapshot(t, archive, nil)); d != "" {
		t.Errorf("archive changed: %s", d)
	}
}
