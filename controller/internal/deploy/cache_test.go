package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ocmgo/ocm/blob"
)

func fillWith(data string, calls *atomic.Int32) func(context.Context, string) error {
	return func(_ context.Context, p string) error {
		calls.Add(1)
		f, err := blob.CreateAtomic(p)
		if err != nil {
			return err
		}
		defer f.Abort()
		if _, err := f.WriteString(data); err != nil {
			return err
		}
		return f.Commit()
	}
}

func TestCacheLRUAndCap(t *testing.T) {
	dir := t.TempDir()
	c, err := NewCache(dir, 25)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var calls atomic.Int32
	get := func(key, data string) string {
		t.Helper()
		p, release, err := c.Get(ctx, key, fillWith(data, &calls))
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := get("sha256:a", "aaaaaaaaaa"); got != "aaaaaaaaaa" {
		t.Fatalf("got %q", got)
	}
	get("sha256:b", "bbbbbbbbbb")
	get("sha256:a", "unused") // hit: a becomes most recent
	if calls.Load() != 2 {
		t.Fatalf("fill called %d times, want 2", calls.Load())
	}
	get("sha256:c", "cccccccccc") // 30 > 25: b, the least recently used, goes
	if c.Size() != 20 {
		t.Fatalf("size %d, want 20", c.Size())
	}
	if get("sha256:a", "x") != "aaaaaaaaaa" || calls.Load() != 3 {
		t.Fatalf("a was evicted instead of b (calls %d)", calls.Load())
	}
	get("sha256:b", "bbbbbbbbbb")
	if calls.Load() != 4 {
		t.Fatalf("b should have been refetched, calls %d", calls.Load())
	}

	// An entry in use survives eviction until released.
	p, release, err := c.Get(ctx, "sha256:big", fillWith(string(make([]byte, 40)), &calls))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("entry in use was evicted: %v", err)
	}
	release()
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("oversized idle entry kept: %v", err)
	}
	if c.Size() > 25 {
		t.Fatalf("size %d over the cap", c.Size())
	}

	// A reopened cache adopts the entries and drops temp files.
	if err := os.WriteFile(filepath.Join(dir, ".leftover.tmp-1"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c2, err := NewCache(dir, 25)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Size() != c.Size() {
		t.Fatalf("reopened size %d, want %d", c2.Size(), c.Size())
	}
	if _, err := os.Stat(filepath.Join(dir, ".leftover.tmp-1")); !os.IsNotExist(err) {
		t.Fatal("temp file left behind")
	}
}

func TestCacheFailedFillLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	c, err := NewCache(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("digest mismatch")
	_, _, err = c.Get(context.Background(), "sha256:x", func(_ context.Context, p string) error {
		f, err := blob.CreateAtomic(p)
		if err != nil {
			return err
		}
		f.WriteString("tampered")
		f.Abort() // as the verifying download does on a mismatch
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v", err)
	}
	des, _ := os.ReadDir(dir)
	if len(des) != 0 || c.Size() != 0 {
		t.Fatalf("failed fill left %d files, size %d", len(des), c.Size())
	}
}

func TestCacheSingleFill(t *testing.T) {
	c, err := NewCache(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, release, err := c.Get(context.Background(), "k", fillWith("data", &calls))
			if err != nil {
				t.Error(err)
				return
			}
			release()
		})
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("fill ran %d times for concurrent Gets, want 1", calls.Load())
	}
}
