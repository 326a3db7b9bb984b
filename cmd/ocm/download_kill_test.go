package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ocmgo/ocm/internal/testutil"
)

// A download killed (SIGKILL) while the blob streams in leaves nothing in
// the output directory: not the output, not a temp file beside it.
func TestDownloadKilledLeavesNothing(t *testing.T) {
	src := t.TempDir()
	const size = 32 << 20
	acvSparse(t, filepath.Join(src, "big.bin"), size)
	constructor := filepath.Join(src, "component-constructor.yaml")
	testutil.WriteFile(t, constructor, []byte(`name: example.com/dlkill
version: 1.0.0
provider: {name: example.com}
resources:
- name: big
  type: blob
  input: {type: file, path: big.bin, mediaType: application/octet-stream}
`), 0o644)
	archive := filepath.Join(t.TempDir(), "ctf")
	if _, _, err := run(t, "add", "cv", "--repository", "ctf::"+archive, "--constructor", constructor); err != nil {
		t.Fatal(err)
	}
	host := testutil.StartOlareg(t)
	if _, _, err := run(t, "transfer", "cv", "ctf::"+archive+"//example.com/dlkill:1.0.0", host+"/ocm"); err != nil {
		t.Fatal(err)
	}
	// The blob arrives at about 6 MiB/s: seconds to kill the download in.
	proxy := testutil.StartFaultProxy(t, host, testutil.FaultRule{Method: "GET", PathContains: "/blobs/", Fault: testutil.FaultTrickle, Chunk: 64 << 10, Delay: 10 * time.Millisecond})
	out := t.TempDir()
	p := acvStart(t, nil, "download", "resource", proxy.Host+"/ocm//example.com/dlkill:1.0.0", "--identity", "name=big", "--output", filepath.Join(out, "big.bin"))
	if !acvPoll(30*time.Second, func() bool { return proxy.Count("GET", "/blobs/") > 0 }) {
		t.Fatalf("the download never fetched the blob; stderr:\n%s", p.stderr.String())
	}
	time.Sleep(500 * time.Millisecond) // well into the stream
	select {
	case <-p.done:
		t.Fatalf("the download ended before it could be killed (err %v):\n%s", p.err, p.stderr.String())
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if exited, _ := p.wait(30 * time.Second); !exited {
		t.Fatal("the download did not end after SIGKILL")
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind in the output directory: %s", e.Name())
	}
}
