package ctf

import (
	"context"
	"path/filepath"
	"testing"
)

func TestParseDirty(t *testing.T) {
	tests := []struct {
		name    string
		meminfo string
		want    int64
		ok      bool
	}{
		{"both", "MemTotal:       24572904 kB\nDirty:              1024 kB\nWriteback:            16 kB\nAnonPages: 1 kB\n", 1040 << 10, true},
		{"zero", "Dirty: 0 kB\nWriteback: 0 kB\n", 0, true},
		{"no writeback line", "Dirty: 12 kB\n", 0, false},
		{"no unit", "Dirty: 12\nWriteback: 0 kB\n", 0, false},
		{"not a number", "Dirty: x kB\nWriteback: 0 kB\n", 0, false},
		{"negative", "Dirty: -5 kB\nWriteback: 0 kB\n", 0, false},
		{"empty", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseDirty([]byte(tt.meminfo))
			if got != tt.want || ok != tt.ok {
				t.Fatalf("got %d %v, want %d %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	if _, ok := dirtyBytes(); !ok {
		t.Fatal("this machine's /proc/meminfo does not parse")
	}
}

// Both ways of making a commit durable (syncfs with little unwritten data
// about, parallel fsyncs with much) commit new and updated archives.
func TestCommitSyncPaths(t *testing.T) {
	ctx := context.Background()
	for name, limit := range map[string]int64{"syncfs": 1 << 62, "fsync": -1} {
		t.Run(name, func(t *testing.T) {
			old := syncfsDirtyLimit
			syncfsDirtyLimit = limit
			t.Cleanup(func() { syncfsDirtyLimit = old })
			path := filepath.Join(t.TempDir(), "archive")
			for i, version := range []string{"1.0.0", "2.0.0"} {
				w, err := OpenWritable(path, WriteOptions{Create: i == 0})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := pushVersion(ctx, w, testRepo, version, patternData(4096, byte(i)), patternData(8192, byte(i+10))); err != nil {
					t.Fatal(err)
				}
				if err := w.Commit(); err != nil {
					t.Fatalf("commit of %s: %v", version, err)
				}
			}
			a, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			checkVersion(t, a, testRepo, "1.0.0", patternData(4096, 0), patternData(8192, 10))
			checkVersion(t, a, testRepo, "2.0.0", patternData(4096, 1), patternData(8192, 11))
		})
	}
}
