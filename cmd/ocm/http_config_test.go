package main

import (
	"encoding/pem"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
)

// silentRegistry accepts connections and never answers, until the test ends.
func silentRegistry(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// The timeouts of http.config.ocm.software bound every command that talks
// to a registry: against a registry that accepts and never answers, pull
// (get, transfer from) and push (transfer to) exit non-zero within the
// configured bound, naming the host, the operation and the timeout.
func TestHTTPConfigTimeoutsBoundCommands(t *testing.T) {
	host := silentRegistry(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "http.ocmconfig")
	// Only this host gets the short bound: the per-host entry is what applies.
	doc := "type: http.config.ocm.software/v1alpha1\nhosts:\n  '" + host + "': {responseHeaderTimeout: 1s}\n"
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "ctf")
	cd := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: "v2"}, Component: descriptor.Component{
		Name: "example.com/silent", Version: "1.0.0", Provider: "acme"}}
	if err := testutil.AddComponentVersion(archive, cd); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"get", []string{"get", "cv", host + "//example.com/silent:1.0.0"}},
		{"pull", []string{"transfer", "cv", host + "//example.com/silent:1.0.0", filepath.Join(dir, "out")}},
		{"push", []string{"transfer", "cv", "ctf::" + archive + "//example.com/silent:1.0.0", host}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			out, code := runBinary(t, append([]string{"--config", cfg}, tt.args...)...)
			took := time.Since(start)
			if code == 0 {
				t.Fatalf("exit 0 against a silent registry:\n%s", out)
			}
			for _, want := range []string{host, "/v2/", "response header timeout after 1s"} {
				if !strings.Contains(out, want) {
					t.Errorf("output does not name %q:\n%s", want, out)
				}
			}
			// One bound per request, no retry multiplying it; generous for CI load.
			if took > 10*time.Second {
				t.Errorf("took %s with a 1s bound", took)
			}
		})
	}
}

// A registry on TLS with a private CA is reached with the caFile of its
// hosts entry in .ocmconfig; without it the certificate is refused.
func TestHTTPConfigCAFile(t *testing.T) {
	srv := httptest.NewTLSServer(olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	dir := t.TempDir()
	testutil.WriteFile(t, filepath.Join(dir, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	cfg := filepath.Join(dir, "tls.ocmconfig")
	testutil.WriteFile(t, cfg, []byte("type: http.config.ocm.software/v1alpha1\nhosts:\n  '"+host+"': {caFile: ca.pem}\n"), 0o600)
	archive := filepath.Join(dir, "ctf")
	cd := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: "v2"}, Component: descriptor.Component{
		Name: "example.com/tls", Version: "1.0.0", Provider: "acme"}}
	if err := testutil.AddComponentVersion(archive, cd); err != nil {
		t.Fatal(err)
	}
	target := "https://" + host
	if _, stderr, err := run(t, "transfer", "cv", "ctf::"+archive+"//example.com/tls:1.0.0", target); err == nil || !strings.Contains(err.Error()+stderr, "certificate") {
		t.Fatalf("without caFile: want a certificate error, got %v %s", err, stderr)
	}
	if _, stderr, err := run(t, "--config", cfg, "transfer", "cv", "ctf::"+archive+"//example.com/tls:1.0.0", target); err != nil {
		t.Fatalf("with caFile: %v\n%s", err, stderr)
	}
	out, stderr, err := run(t, "--config", cfg, "get", "cv", target+"//example.com/tls:1.0.0")
	if err != nil || !strings.Contains(out, "example.com/tls") {
		t.Fatalf("get with caFile: %v\n%s%s", err, out, stderr)
	}
}
