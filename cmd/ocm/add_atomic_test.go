package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocmgo/ocm/internal/testutil"
)

var acvForms = []string{"ctf", "ctf.tar", "ctf.tgz"}

const (
	acvBaseComponent = "example.com/acv/base"
	acvBaseText      = "the pre-existing version's payload"
)

// acvBaseArchive creates an archive of the given form holding acvBaseComponent:1.0.0.
func acvBaseArchive(t *testing.T, form string) string {
	t.Helper()
	dir := t.TempDir()
	c := filepath.Join(dir, "base", "component-constructor.yaml")
	testutil.WriteFile(t, c, []byte(`components:
- name: `+acvBaseComponent+`
  version: 1.0.0
  provider: {name: example.com}
  resources:
  - name: payload
    type: plainText
    input: {type: utf8, text: "`+acvBaseText+`"}
  - name: data
    type: blob
    input: {type: file, path: data.bin, mediaType: application/octet-stream}
`), 0o644)
	testutil.WriteFile(t, filepath.Join(dir, "base", "data.bin"), []byte(strings.Repeat("0123456789abcdef", 4096)), 0o644)
	archive := filepath.Join(dir, "archive", form)
	if _, _, err := run(t, "add", "cv", "-r", "ctf::"+archive, "-c", c); err != nil {
		t.Fatalf("creating the base archive: %v", err)
	}
	return archive
}

// acvCheckBaseReadable checks that get cv and download still work for the
// pre-existing version and that only the components in want are listed.
func acvCheckBaseReadable(t *testing.T, archive string, want ...string) {
	t.Helper()
	var got []string
	for _, d := range acvGetCV(t, "ctf::"+archive) {
		got = append(got, d.Component.Name+":"+d.Component.Version)
	}
	if !slices.Equal(got, want) {
		t.Errorf("archive lists %v, want %v", got, want)
	}
	if l := acvGetCV(t, "ctf::"+archive+"//"+acvBaseComponent+":1.0.0"); len(l) != 1 {
		t.Errorf("get cv of the base version: %d descriptors", len(l))
	}
	if got := acvDownload(t, "ctf::"+archive+"//"+acvBaseComponent+":1.0.0", "name=payload"); string(got) != acvBaseText {
		t.Errorf("downloaded payload %q", got)
	}
}

// acvSiblings lists the names in the archive's parent directory.
func acvSiblings(t *testing.T, archive string) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Dir(archive))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// TestAddCVFailureLeavesArchiveUntouched: a constructor whose third resource
// is missing fails naming the file, the field and the path, and changes
// nothing.
func TestAddCVFailureLeavesArchiveUntouched(t *testing.T) {
	src := t.TempDir()
	constructor := filepath.Join(src, "broken-constructor.yaml")
	testutil.WriteFile(t, constructor, []byte(`components:
- name: example.com/acv/broken
  version: 1.0.0
  provider: {name: example.com}
  resources:
  - name: big
    type: blob
    input: {type: file, path: big.bin}
  - name: text
    type: plainText
    input: {type: utf8, text: hello}
  - name: missing
    type: blob
    input: {type: file, path: missing/nothing.bin}
`), 0o644)
	testutil.WriteFile(t, filepath.Join(src, "big.bin"), make([]byte, 1<<20), 0o644)
	missing := filepath.Join(src, "missing", "nothing.bin")
	for _, form := range acvForms {
		t.Run(form, func(t *testing.T) {
			archive := acvBaseArchive(t, form)
			before := testutil.Snapshot(t, archive, nil)
			siblings := acvSiblings(t, archive)
			_, _, err := run(t, "add", "cv", "--repository", "ctf::"+archive, "--constructor", constructor)
			if err == nil {
				t.Fatal("add cv with a missing input succeeded")
			}
			for _, want := range []string{constructor, "components[0].resources[2].input.path", missing} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
			if d := testutil.DiffSnapshots(before, testutil.Snapshot(t, archive, nil)); d != "" {
				t.Errorf("archive changed: %s", d)
			}
			if s := acvStaging(t, archive); len(s) != 0 {
				t.Errorf("staging left behind: %v", s)
			}
			if got := acvSiblings(t, archive); !slices.Equal(got, siblings) {
				t.Errorf("archive directory holds %v, before %v", got, siblings)
			}
			acvCheckBaseReadable(t, archive, acvBaseComponent+":1.0.0")
		})
	}
	// Into a new archive: nothing is created.
	for _, form := range acvForms {
		t.Run("new "+form, func(t *testing.T) {
			archive := filepath.Join(t.TempDir(), form)
			if _, _, err := run(t, "add", "cv", "--repository", "ctf::"+archive, "--constructor", constructor); err == nil {
				t.Fatal("add cv with a missing input succeeded")
			}
			if _, err := os.Stat(archive); !os.IsNotExist(err) {
				t.Errorf("a failed add created %s (%v)", archive, err)
			}
			if s := acvStaging(t, archive); len(s) != 0 {
				t.Errorf("staging left behind: %v", s)
			}
		})
	}
}

// TestAddCVKilled interrupts (SIGINT) or kills (SIGKILL) `ocm add cv` while
// it streams a 200 MiB blob into the archive: the archive stays as it was.
func TestAddCVKilled(t *testing.T) {
	src := t.TempDir()
	constructor := filepath.Join(src, "component-constructor.yaml")
	testutil.WriteFile(t, constructor, []byte(`components:
- name: example.com/acv/big
  version: 1.0.0
  provider: {name: example.com}
  resources:
  - name: small
    type: plainText
    input: {type: utf8, text: small}
  - name: big
    type: blob
    input: {type: file, path: big.bin, mediaType: application/octet-stream}
`), 0o644)
	const bigSize = 200 << 20
	acvSparse(t, filepath.Join(src, "big.bin"), bigSize)

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		for _, form := range acvForms {
			t.Run(sig.String()+"/"+form, func(t *testing.T) {
				archive := acvBaseArchive(t, form)
				before := testutil.Snapshot(t, archive, func(rel string) bool { return strings.Contains(rel, ".ocm-staging-") })
				p := acvStart(t, nil, "add", "cv", "--repository", "ctf::"+archive, "--constructor", constructor)
				// Wait until the big blob is being written to the staging directory.
				var staged int64
				midWrite := acvPoll(60*time.Second, func() bool {
					select {
					case <-p.done:
						return true
					default:
					}
					for _, dir := range acvStaging(t, archive) {
						des, _ := os.ReadDir(dir)
						for _, de := range des {
							if fi, err := de.Info(); err == nil && fi.Size() >= 1<<20 && fi.Size() < bigSize {
								staged = fi.Size()
								return true
							}
						}
					}
					return false
				})
				select {
				case <-p.done:
					t.Fatalf("add cv ended before it could be signalled (err %v):\n%s%s", p.err, p.stdout.String(), p.stderr.String())
				default:
				}
				if !midWrite {
					t.Fatalf("the big blob never showed up in a staging directory; stderr:\n%s", p.stderr.String())
				}
				if err := p.cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				exited, code := p.wait(30 * time.Second)
				if !exited {
					t.Fatalf("add cv did not end within 30s of %s", sig)
				}
				t.Logf("signalled at %d MiB staged; exit code %d; stderr: %s", staged>>20, code, strings.TrimSpace(p.stderr.String()))
				if code == 0 {
					t.Fatalf("add cv succeeded although it got %s mid-write", sig)
				}
				after := testutil.Snapshot(t, archive, func(rel string) bool { return strings.Contains(rel, ".ocm-staging-") })
				if d := testutil.DiffSnapshots(before, after); d != "" {
					t.Errorf("archive changed: %s", d)
				}
				if sig == syscall.SIGINT {
					if s := acvStaging(t, archive); len(s) != 0 {
						t.Errorf("an interrupted add left staging behind: %v", s)
					}
				}
				acvCheckBaseReadable(t, archive, acvBaseComponent+":1.0.0")

				// The next writer removes what a killed one left behind.
				next := filepath.Join(t.TempDir(), "component-constructor.yaml")
				testutil.WriteFile(t, next, []byte("name: example.com/acv/next\nversion: 1.0.0\nprovider: {name: example.com}\nresources:\n- {name: note, type: plainText, input: {type: utf8, text: next}}\n"), 0o644)
				if _, _, err := run(t, "add", "cv", "--repository", "ctf::"+archive, "--constructor", next); err != nil {
					t.Fatalf("add cv after the %s: %v", sig, err)
				}
				if s := acvStaging(t, archive); len(s) != 0 {
					t.Errorf("stale staging not removed by the next writer: %v", s)
				}
				acvCheckBaseReadable(t, archive, acvBaseComponent+":1.0.0", "example.com/acv/next:1.0.0")
			})
		}
	}
}
