package httpclient_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/httpclient"
	"github.com/ocmgo/ocm/internal/testutil"
)

func fromConfig(t *testing.T, doc string) httpclient.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), ".ocmconfig")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpclient.FromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Unset fields keep our defaults, a configured zero disables a bound (as
// in the reference), hosts get complete settings.
func TestFromConfig(t *testing.T) {
	h := fromConfig(t, `type: http.config.ocm.software/v1alpha1
tcpDialTimeout: 5s
idleBodyTimeout: 0
timeout: 10m
retry: {maxRetries: 0}
hosts:
  r.example: {responseHeaderTimeout: 2s, insecureSkipVerify: true}
`)
	want := httpclient.Settings{
		Timeouts: httpclient.Timeouts{Dial: 5 * time.Second, IdleBody: -1},
		Total:    10 * time.Minute,
		Retry:    httpclient.Retry{MaxRetries: math.MaxInt32},
	}
	if h.Settings != want {
		t.Errorf("default settings %+v, want %+v", h.Settings, want)
	}
	want.ResponseHeader, want.TLS.InsecureSkipVerify = 2*time.Second, true
	if got := h.ForHost("r.example:443"); got != want {
		t.Errorf("r.example settings %+v, want %+v", got, want)
	}
	if got := h.InsecureHosts(); len(got) != 1 || got[0] != "r.example" {
		t.Errorf("insecure hosts %v", got)
	}
	if got := h.WithTimeouts(httpclient.Timeouts{Dial: time.Second}).ForHost("r.example").Dial; got != time.Second {
		t.Errorf("program override not applied to hosts: dial %s", got)
	}
}

// A configured total bound ends a request whose body is still coming.
func TestTotalTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 50; i++ {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}))
	t.Cleanup(srv.Close)
	tr, err := httpclient.NewFor(httpclient.Config{Settings: httpclient.Settings{Total: short}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	checkTimeout(t, err, start, httpclient.PhaseTotal, "GET /slow", "total request timeout after 500ms")
}

// Per-host settings apply to their host only.
func TestPerHostTimeouts(t *testing.T) {
	h, release := holder()
	a := httptest.NewServer(http.HandlerFunc(h))
	b := httptest.NewServer(http.HandlerFunc(h))
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	t.Cleanup(release)
	hostA := strings.TrimPrefix(a.URL, "http://")
	tr, err := httpclient.NewFor(httpclient.Config{Hosts: map[string]httpclient.Settings{hostA: {Timeouts: httpclient.Timeouts{ResponseHeader: short}}}})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: tr}
	start := time.Now()
	_, err = c.Get(a.URL + "/a")
	checkTimeout(t, err, start, httpclient.PhaseResponseHeader, hostA)

	ctx, cancel := context.WithTimeout(context.Background(), 3*short)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.URL+"/b", nil)
	_, err = c.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("host b: want the caller's deadline (default 60s header bound), got %v", err)
	}
}

// caFile trusts a private CA, clientCertFile/clientKeyFile answer a server
// that requires a client certificate; without them the connection fails.
func TestTLSFiles(t *testing.T) {
	certPEM, keyPEM := testutil.ClientCertificate(t)
	block, _ := pem.Decode(certPEM)
	clientCA, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(clientCA)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello "+r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca := write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	cert, key := write("client.pem", certPEM), write("client-key.pem", keyPEM)
	host := strings.TrimPrefix(srv.URL, "https://")

	get := func(c httpclient.Config) (string, error) {
		tr, err := httpclient.NewFor(c)
		if err != nil {
			return "", err
		}
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	good := httpclient.Settings{TLS: httpclient.TLS{CAFile: ca, ClientCertFile: cert, ClientKeyFile: key}}
	if got, err := get(httpclient.Config{Hosts: map[string]httpclient.Settings{host: good}}); err != nil || got != "hello ocm test client" {
		t.Fatalf("with caFile and client certificate: %q, %v", got, err)
	}
	if _, err := get(httpclient.Config{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without caFile: want a certificate error, got %v", err)
	}
	noClient := httpclient.Settings{TLS: httpclient.TLS{CAFile: ca}}
	if _, err := get(httpclient.Config{Hosts: map[string]httpclient.Settings{host: noClient}}); err == nil {
		t.Error("a server requiring a client certificate accepted none")
	}
	missing := httpclient.Settings{TLS: httpclient.TLS{CAFile: filepath.Join(dir, "nope.pem")}}
	if _, err := httpclient.NewFor(httpclient.Config{Hosts: map[string]httpclient.Settings{host: missing}}); err == nil || !strings.Contains(err.Error(), "caFile") || !strings.Contains(err.Error(), host) {
		t.Errorf("missing caFile: want an error naming host and caFile, got %v", err)
	}
}
