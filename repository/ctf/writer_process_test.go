package ctf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ocmgo/ocm/internal/testutil"
)

// A writer killed while streaming a blob leaves the archive as it was; the
// next writer removes its staging directory.
func TestWriterCrashWhilePushing(t *testing.T) {
	for _, format := range allFormats {
		t.Run(format.String(), func(t *testing.T) {
			path := newArchive(t, format)
			checkCrash(t, path, "push", false)
		})
	}
}

// A writer killed inside Commit, right before the rename that publishes,
// leaves the archive readable as it was (a tar or tgz byte-identical; a
// directory may hold extra unreferenced blobs), and a new archive absent.
func TestWriterCrashWhileCommitting(t *testing.T) {
	for _, format := range allFormats {
		t.Run(format.String()+"/update", func(t *testing.T) {
			checkCrash(t, newArchive(t, format), "commit", format == FormatDirectory)
		})
		t.Run(format.String()+"/create", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), archiveName(format))
			c := startChild(t, "commit", path)
			c.expect(t, "publishing")
			c.kill(t)
			if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("killed create left %s: %v", path, err)
			}
			w, err := OpenWritable(path, WriteOptions{Create: true})
			if err != nil {
				t.Fatal(err)
			}
			w.Abort()
			if snap := snapshot(t, filepath.Dir(path)); len(snap) != 0 {
				t.Errorf("left behind: %v", slices.Sorted(maps.Keys(snap)))
			}
		})
	}
}

func checkCrash(t *testing.T, path, mode string, orphanBlobsOK bool) {
	parent := filepath.Dir(path)
	before := snapshot(t, parent)
	files := readArchive(t, path)

	c := startChild(t, mode, path)
	c.expect(t, map[string]string{"push": "pushing", "commit": "publishing"}[mode])
	c.kill(t)

	crashed, stale := withoutStaging(snapshot(t, parent))
	if !stale {
		t.Fatal("the killed writer left no staging directory; the test did not test anything")
	}
	if orphanBlobsOK {
		for k := range crashed {
			if _, ok := before[k]; !ok && filepath.Dir(k) == filepath.Join(filepath.Base(path), "blobs") {
				delete(crashed, k)
			}
		}
	}
	if d := testutil.DiffSnapshots(before, crashed); d != "" {
		t.Errorf("after the kill: %s", d)
	}
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, a, testRepo, "1.0.0", v1Layers...)
	if _, err := a.Resolve(context.Background(), testRepo, "child"); err == nil {
		t.Error("the killed writer's tag is visible")
	}
	a.Close()
	after := readArchive(t, path)
	for name, data := range files {
		if !bytes.Equal(after[name], data) {
			t.Errorf("%s changed", name)
		}
	}

	// The next writer cleans up (the lock died with the child).
	w, err := OpenWritable(path, WriteOptions{LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stagingDir(w)); err != nil {
		t.Fatal(err)
	}
	own := map[string]bool{}
	for k := range snapshot(t, parent) {
		own[k] = true
	}
	w.Abort()
	got, stale := withoutStaging(snapshot(t, parent))
	if stale {
		t.Error("stale staging directory survived the next OpenWritable")
	}
	if !orphanBlobsOK {
		if d := testutil.DiffSnapshots(before, snapshot(t, parent)); d != "" {
			t.Errorf("after cleanup: %s", d)
		}
	} else {
		if d := testutil.DiffSnapshots(crashed, withoutOrphans(got, before, path)); d != "" {
			t.Errorf("after cleanup: %s", d)
		}
	}
}

func withoutOrphans(snap, before map[string]string, path string) map[string]string {
	out := maps.Clone(snap)
	for k := range out {
		if _, ok := before[k]; !ok && filepath.Dir(k) == filepath.Join(filepath.Base(path), "blobs") {
			delete(out, k)
		}
	}
	return out
}

func TestWriterLockInProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ctf.tar")
	w1, err := OpenWritable(path, WriteOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w1.Abort()

	// A second writer in the same process waits, then gives up.
	waits := 0
	start := time.Now()
	_, err = OpenWritable(path, WriteOptions{Create: true, LockTimeout: 300 * time.Millisecond, OnWait: func() { waits++ }})
	var locked *LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("second writer: %v", err)
	}
	want := fmt.Sprintf("CTF archive %s is locked by another ocm process (lock file %s.lock); gave up after 300ms", path, path)
	if err.Error() != want {
		t.Errorf("error %q\n want %q", err, want)
	}
	if waits != 1 || time.Since(start) < 300*time.Millisecond {
		t.Errorf("OnWait called %d times, waited %v", waits, time.Since(start))
	}

	// With a longer timeout it proceeds once the first commits, and sees
	// what the first wrote.
	waiting := make(chan struct{})
	type result struct {
		w   *Writer
		err error
	}
	got := make(chan result, 1)
	go func() {
		w, err := OpenWritable(path, WriteOptions{Create: true, LockTimeout: 30 * time.Second, OnWait: func() { close(waiting) }})
		got <- result{w, err}
	}()
	select {
	case <-waiting:
	case r := <-got:
		t.Fatalf("third writer did not wait: %v", r.err)
	}
	if _, err := pushVersion(ctx, w1, testRepo, "1.0.0", v1Layers...); err != nil {
		t.Fatal(err)
	}
	if err := w1.Commit(); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.w.Abort()
	checkVersion(t, r.w, testRepo, "1.0.0", v1Layers...)
	if _, err := pushVersion(ctx, r.w, testRepo, "2.0.0", []byte("two")); err != nil {
		t.Fatal(err)
	}
	if err := r.w.Commit(); err != nil {
		t.Fatal(err)
	}

	// Many writers at once: each version lands, none is lost.
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			w, err := OpenWritable(path, WriteOptions{LockTimeout: time.Minute})
			if err != nil {
				t.Error(err)
				return
			}
			defer w.Abort()
			if _, err := pushVersion(ctx, w, testRepo, fmt.Sprintf("3.0.%d", i), []byte{byte(i)}); err != nil {
				t.Error(err)
				return
			}
			if err := w.Commit(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tags, _ := a.Tags(ctx, testRepo)
	if len(tags) != 8 {
		t.Errorf("tags %q, want 8", tags)
	}
	checkVersion(t, a, testRepo, "1.0.0", v1Layers...)
	checkVersion(t, a, testRepo, "2.0.0", []byte("two"))
	for i := range 6 {
		checkVersion(t, a, testRepo, fmt.Sprintf("3.0.%d", i), []byte{byte(i)})
	}
}

func TestWriterLockAcrossProcesses(t *testing.T) {
	for _, format := range allFormats {
		t.Run(format.String(), func(t *testing.T) {
			path := newArchive(t, format)
			c := startChild(t, "hold", path)
			c.expect(t, "locked")
			_, err := OpenWritable(path, WriteOptions{LockTimeout: 200 * time.Millisecond})
			want := fmt.Sprintf("CTF archive %s is locked by another ocm process (lock file %s.lock); gave up after 200ms", path, path)
			if err == nil || err.Error() != want {
				t.Fatalf("got %v\nwant %s", err, want)
			}
			waiting := make(chan struct{})
			type result struct {
				w   *Writer
				err error
			}
			got := make(chan result, 1)
			go func() {
				w, err := OpenWritable(path, WriteOptions{LockTimeout: time.Minute, OnWait: func() { close(waiting) }})
				got <- result{w, err}
			}()
			select {
			case <-waiting:
			case r := <-got:
				t.Fatalf("writer did not wait: %v", r.err)
			}
			c.stdin.Close() // let the child commit
			r := <-got
			if r.err != nil {
				t.Fatal(r.err)
			}
			c.expect(t, "committed")
			checkVersion(t, r.w, testRepo, "1.0.0", v1Layers...)
			checkVersion(t, r.w, testRepo, "child", []byte("child layer"))
			r.w.Abort()
			if err := c.cmd.Wait(); err != nil {
				t.Fatalf("child: %v", err)
			}

			// A killed holder releases the lock with its life.
			c = startChild(t, "hold", path)
			c.expect(t, "locked")
			c.kill(t)
			start := time.Now()
			w, err := OpenWritable(path, WriteOptions{LockTimeout: 10 * time.Second, OnWait: func() { t.Error("waited for a dead process") }})
			if err != nil {
				t.Fatal(err)
			}
			w.Abort()
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
