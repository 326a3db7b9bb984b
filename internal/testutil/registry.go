package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"
)

// StartOlareg runs an in-memory olareg (with the referrers API) on
// 127.0.0.1 until the test ends and returns its host:port.
func StartOlareg(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// DockerRegistryBin is Debian's docker-registry, which scripts/test.sh
// installs. OCM_DOCKER_REGISTRY names another binary of the same kind.
const DockerRegistryBin = "/usr/bin/docker-registry"

// SkipDockerRegistryEnv, set to 1 outside CI, lets a developer without the
// docker-registry package skip the tests that need it. In CI (CI set) a
// missing binary fails them: they must run there.
const SkipDockerRegistryEnv = "OCM_TEST_SKIP_DOCKER_REGISTRY"

// StartDistribution starts the CNCF distribution registry (Debian's
// docker-registry, docker/distribution 2.8: the reference registry, no
// referrers API) as a separate process with filesystem storage in a temp
// dir on 127.0.0.1:<free port>, waits until GET /v2/ answers, and stops it
// when the test ends. It returns host:port.
//
// It runs out of process, and not as distribution/v3 in the test binary, so
// that the root module does not require distribution and, through it,
// OpenTelemetry, gRPC, redis and prometheus: library users inherit every
// requirement of go.mod, test-only or not.
func StartDistribution(t testing.TB) string {
	t.Helper()
	bin := DockerRegistryBin
	if b := os.Getenv("OCM_DOCKER_REGISTRY"); b != "" {
		bin = b
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv(SkipDockerRegistryEnv) == "1" && os.Getenv("CI") == "" {
			t.Skipf("%s not found (%v) and %s=1", bin, err, SkipDockerRegistryEnv)
		}
		t.Fatalf("%s not found (%v): scripts/test.sh installs it (Debian package docker-registry); outside CI, %s=1 skips the tests that need it", bin, err, SkipDockerRegistryEnv)
	}
	// The free port is found by listening and closing, so another process
	// can take it before the registry binds it: try again on a new port.
	var lastErr error
	for range 3 {
		addr, err := startDockerRegistry(t, bin)
		if err == nil {
			return addr
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	t.Fatal(lastErr)
	return ""
}

var errAddrInUse = errors.New("address already in use")

func startDockerRegistry(t testing.TB, bin string) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	addr := l.Addr().String()
	l.Close()

	dir := t.TempDir()
	// A fixed secret keeps the registry from warning about a random one
	// (which only matters behind a load balancer).
	secret := make([]byte, 16)
	rand.Read(secret)
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
  secret: %s
`, filepath.Join(dir, "data"), addr, hex.EncodeToString(secret))), 0o644)
	if err != nil {
		return "", fmt.Errorf("writing the registry config: %w", err)
	}
	logPath := filepath.Join(dir, "registry.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", fmt.Errorf("creating the registry log: %w", err)
	}
	cmd := exec.Command(bin, "serve", config)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	killWithParent(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return "", fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Kill()
		<-exited
		logFile.Close()
	}
	t.Cleanup(func() {
		stop()
		// The registry's own account of a failed test's requests.
		if t.Failed() {
			if log, _ := os.ReadFile(logPath); len(log) > 0 {
				t.Logf("docker-registry on %s logged:\n%s", addr, log)
			}
		}
	})

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err // for stop
			stop()
			log, _ := os.ReadFile(logPath)
			if strings.Contains(string(log), "address already in use") {
				return "", fmt.Errorf("docker-registry on %s: %w", addr, errAddrInUse)
			}
			return "", fmt.Errorf("docker-registry exited early: %v\n%s", err, log)
		default:
		}
		resp, err := client.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr, nil
			}
			err = fmt.Errorf("GET /v2/: %s", resp.Status)
		}
		if time.Now().After(deadline) {
			stop()
			log, _ := os.ReadFile(logPath)
			return "", fmt.Errorf("docker-registry on %s did not answer GET /v2/ within 15s (last error %v)\n%s", addr, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StartOlaregAuth is StartOlareg behind HTTP basic authentication
// (username/password), as registries with htpasswd auth answer.
func StartOlaregAuth(t testing.TB, username, password string) string {
	t.Helper()
	reg := olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != username || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}
