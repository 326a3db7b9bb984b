package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"
)

// download --verify checks the signature before writing anything.
func TestDownloadVerify(t *testing.T) {
	archive := testutil.InteropCTF(t, testutil.Tgz)
	pub := filepath.Join(testutil.InteropDir(t), "public-key.pem")
	out := filepath.Join(t.TempDir(), "greeting")
	if _, _, err := run(t, "download", "resource", archive+"//"+app+":1.2.0", "--identity", "name=greeting", "--output", out, "--verify", "--public-key", pub); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(out); len(data) == 0 {
		t.Fatal("nothing downloaded")
	}
	// Another key: nothing is written.
	dir := t.TempDir()
	other := filepath.Join(dir, "other.pub")
	if _, _, err := run(t, "create", "rsakeypair", filepath.Join(dir, "other.priv"), other); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(t.TempDir(), "greeting")
	_, _, err := run(t, "download", "resource", archive+"//"+lib+":0.3.1+build.7", "--identity", "name=notes", "--output", out2, "--verify", "--public-key", other)
	if err == nil || !strings.Contains(err.Error(), `not downloading: verifying example.com/interop/lib:0.3.1+build.7: signature "release": RSASSA-PKCS1-V1_5 signature`) {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Fatal("output written although verification failed")
	}
	// No key at all: a clear message naming the config files read.
	_, _, err = run(t, "download", "resource", archive+"//"+lib+":0.3.1+build.7", "--identity", "name=notes", "--output", out2, "--verify")
	if err == nil || !strings.Contains(err.Error(), `no public key configured for signature "release"`) {
		t.Fatalf("got %v", err)
	}
	if _, _, err := run(t, "download", "resource", archive+"//"+lib+":0.3.1+build.7", "--identity", "name=notes", "--signature", "release"); err == nil || !strings.Contains(err.Error(), "need --verify") {
		t.Fatalf("got %v", err)
	}
}
