package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func loadHTTP(t *testing.T, docs ...string) (*Config, string) {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for i, d := range docs {
		p := filepath.Join(dir, "c"+string(rune('0'+i))+".yaml")
		if err := os.WriteFile(p, []byte(d), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	cfg, err := Load(files)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, dir
}

func dur(d *Duration) time.Duration {
	if d == nil {
		return -42
	}
	return time.Duration(*d)
}

// Later files override set fields; host entries merge per key; a host
// entry overrides the global values it sets; "host" covers every port and
// "host:port" wins over it; relative files resolve against the config file.
func TestHTTPMergeAndHosts(t *testing.T) {
	cfg, dir := loadHTTP(t, `type: generic.config.ocm.software/v1
configurations:
- type: http.config.ocm.software/v1alpha1
  tcpDialTimeout: 10s
  responseHeaderTimeout: 20s
  retry: {maxRetries: 2}
  hosts:
    reg.example: {responseHeaderTimeout: 5s, caFile: ca.pem}
`, `type: http.config.ocm.software
tcpDialTimeout: 3000000000
idleBodyTimeout: 0s
retry: {maxWait: 1s}
hosts:
  reg.example:5000: {insecureSkipVerify: true}
  REG.example: {responseHeaderTimeout: 7s}
`)
	h, err := cfg.HTTP()
	if err != nil {
		t.Fatal(err)
	}
	if dur(h.TCPDialTimeout) != 3*time.Second || dur(h.ResponseHeaderTimeout) != 20*time.Second || dur(h.IdleBodyTimeout) != 0 {
		t.Errorf("global: dial %s header %s idle %s", dur(h.TCPDialTimeout), dur(h.ResponseHeaderTimeout), dur(h.IdleBodyTimeout))
	}
	if h.Retry == nil || h.Retry.MaxRetries == nil || *h.Retry.MaxRetries != 2 || dur(h.Retry.MaxWait) != time.Second {
		t.Errorf("retry not merged field by field: %+v", h.Retry)
	}
	all := h.ForHost("reg.example:443")
	if dur(all.ResponseHeaderTimeout) != 7*time.Second || all.CAFile != filepath.Join(dir, "ca.pem") || dur(all.TCPDialTimeout) != 3*time.Second {
		t.Errorf("reg.example:443: header %s, caFile %q, dial %s", dur(all.ResponseHeaderTimeout), all.CAFile, dur(all.TCPDialTimeout))
	}
	port := h.ForHost("reg.example:5000")
	if port.InsecureSkipVerify == nil || !*port.InsecureSkipVerify || dur(port.ResponseHeaderTimeout) != 20*time.Second {
		t.Errorf("reg.example:5000 entry does not win: %+v", port)
	}
	if other := h.ForHost("other:1"); other.InsecureSkipVerify != nil || dur(other.ResponseHeaderTimeout) != 20*time.Second {
		t.Errorf("other host: %+v", other)
	}
	if p := cfg.Problems(); len(p) != 0 {
		t.Errorf("problems in a valid http config: %v", p)
	}
}

func TestHTTPErrors(t *testing.T) {
	for _, tt := range []struct{ name, doc, want string }{
		{"bad duration", "tcpDialTimeout: soon", `invalid duration "soon"`},
		{"negative", "responseHeaderTimeout: -1s", "responseHeaderTimeout: -1s is negative"},
		{"host negative", "hosts:\n  r.example: {idleBodyTimeout: -2s}", `hosts["r.example"].idleBodyTimeout: -2s is negative`},
		{"cert without key", "clientCertFile: c.pem", "clientCertFile and clientKeyFile go together"},
		{"retries", "retry: {maxRetries: -2}", "retry.maxRetries: -2"},
		{"waits", "retry: {minWait: 2s, maxWait: 1s}", "retry.minWait: 2s exceeds maxWait 1s"},
		{"host key", "hosts:\n  'a/b': {}", `hosts["a/b"]: a key is a host name or host:port`},
		{"wrong type", "insecureSkipVerify: maybe", "insecureSkipVerify"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, dir := loadHTTP(t, "type: http.config.ocm.software/v1alpha1\n"+tt.doc+"\n")
			_, err := cfg.HTTP()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), filepath.Join(dir, "c0.yaml")) {
				t.Fatalf("want an error naming the file and %q, got %v", tt.want, err)
			}
		})
	}
}

// Fields nothing reads are reported with their path, never dropped silently.
func TestHTTPUnknownFields(t *testing.T) {
	cfg, _ := loadHTTP(t, `type: http.config.ocm.software/v1alpha1
timout: 3s
retry: {maxRetry: 1}
hosts:
  r.example: {tls: {ca: x}}
`)
	var got []string
	for _, p := range cfg.Problems() {
		got = append(got, p.Message)
	}
	want := []string{
		"http.config.ocm.software/v1alpha1: field hosts[\"r.example\"].tls is not supported and is ignored",
		"http.config.ocm.software/v1alpha1: field retry.maxRetry is not supported and is ignored",
		"http.config.ocm.software/v1alpha1: field timout is not supported and is ignored",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
}

// The documented field list is the struct's.
func TestHTTPFields(t *testing.T) {
	var names []string
	for _, f := range HTTPFields() {
		names = append(names, f.Name+":"+f.Type)
	}
	want := "timeout:duration tcpDialTimeout:duration tcpKeepAlive:duration tlsHandshakeTimeout:duration responseHeaderTimeout:duration idleConnTimeout:duration idleBodyTimeout:duration insecureSkipVerify:bool caFile:string clientCertFile:string clientKeyFile:string retry:{maxRetries, minWait, maxWait}"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("fields:\n got %s\nwant %s", got, want)
	}
}
