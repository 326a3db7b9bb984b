package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/internal/testutil"
)

const dockerRegistryBin = "/usr/bin/docker-registry"

// startDockerRegistry starts Debian's docker-registry (docker/distribution
// 2.8, no referrers API) with filesystem storage in a temp dir on
// 127.0.0.1:<free port>, waits until GET /v2/ answers, and stops it when
// the test ends. It returns host:port.
func startDockerRegistry(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(dockerRegistryBin); err != nil {
		t.Skipf("%s not found (%v): scripts/test.sh installs it (Debian package docker-registry)", dockerRegistryBin, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	dir := t.TempDir()
	config := filepath.Join(dir, "config.yml")
	err = os.WriteFile(config, []byte(fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), addr)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "registry.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dockerRegistryBin, "serve", config)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		logFile.Close()
	})

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			log, _ := os.ReadFile(logPath)
			t.Fatalf("docker-registry exited early: %v\n%s", err, log)
		default:
		}
		resp, err := client.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("docker-registry on %s did not answer GET /v2/ (last error %v)\n%s", addr, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// End to end against a real, widely deployed registry started by the test:
// transfer the interop archive into it, then get, verify and download from it.
func TestDockerRegistryEndToEnd(t *testing.T) {
	registry := startDockerRegistry(t) + "/ocm"
	src := testutil.InteropCTF(t, testutil.Dir)

	out, _, err := run(t, "transfer", "cv", "--recursive", "-o", "json", src+"//"+app+":1.2.0", registry)
	if err != nil {
		t.Fatalf("transfer: %v", err)
	}
	res := transferResults(t, out)
	if len(res) != 2 || res[0].Component != lib || res[1].Component != app || res[0].Copied == 0 || res[1].Copied == 0 {
		t.Fatalf("transfer results %+v", res)
	}

	// get cv -o yaml equals the reference's descriptors.
	for comp, file := range map[string]string{app + ":1.2.0": "app.descriptor.yaml", lib + ":0.3.1+build.7": "lib.descriptor.yaml"} {
		out, _, err := run(t, "get", "cv", registry+"//"+comp, "-o", "yaml")
		if err != nil {
			t.Fatalf("get cv %s: %v", comp, err)
		}
		want, err := os.ReadFile(filepath.Join(testutil.InteropDir(t), file))
		if err != nil {
			t.Fatal(err)
		}
		var got, exp any
		if err := yaml.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("output is not YAML: %v\n%s", err, out)
		}
		if err := yaml.Unmarshal(want, &exp); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, exp) {
			t.Fatalf("get cv %s -o yaml from the registry differs from the reference's %s:\n%s", comp, file, out)
		}
	}

	pub := filepath.Join(testutil.InteropDir(t), "public-key.pem")
	if _, _, err := run(t, "verify", "cv", registry+"//"+app+":1.2.0", "--public-key", pub, "--external-content=false"); err != nil {
		t.Fatalf("verify cv: %v", err)
	}

	dl := filepath.Join(t.TempDir(), "payload")
	if _, _, err := run(t, "download", "resource", registry+"//"+lib+":0.3.1+build.7", "--identity", "name=payload,arch=amd64", "--output", dl, "--extraction-policy", "disable"); err != nil {
		t.Fatalf("download resource: %v", err)
	}
	if got, want := sha256File(t, dl), "b66c55511ca4ccd8a5840ae35cf088f86d584761862f071a98630908079010f7"; got != want {
		t.Fatalf("downloaded payload hashes to %s, want %s", got, want)
	}
}
