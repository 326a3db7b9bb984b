package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"
)

// logSecret is the registry password; no log line may contain it.
const logSecret = "s3cret-Pa55word-never-logged"

// loggingSetup starts a registry that needs credentials behind a proxy that
// answers the first upload start with 503 (so that the retry is logged),
// and writes a configuration with the credentials. It returns the source
// CTF, the target repository and the configuration file.
func loggingSetup(t *testing.T) (src, target, cfgFile string) {
	t.Helper()
	reg := testutil.StartOlaregAuth(t, "ocm-user", logSecret)
	u, err := url.Parse("http://" + reg)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	var failed atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/blobs/uploads") && failed.CompareAndSwap(false, true) {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	hostport := strings.TrimPrefix(srv.URL, "http://")
	host, port, _ := strings.Cut(hostport, ":")
	cfgFile = filepath.Join(t.TempDir(), ".ocmconfig")
	testutil.WriteFile(t, cfgFile, []byte(`type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: OCIRegistry, hostname: `+host+`, port: "`+port+`"}
    credentials: [{type: Credentials/v1, properties: {username: ocm-user, password: `+logSecret+`}}]
`), 0o644)
	return testutil.InteropCTF(t, testutil.Dir), hostport + "/ocm", cfgFile
}

// TestTransferDebugLog is a golden-style check of --loglevel debug: the
// steps of a transfer are there, in order where order is defined, and the
// password is not.
func TestTransferDebugLog(t *testing.T) {
	src, target, cfgFile := loggingSetup(t)
	_, stderr, err := run(t, "--config", cfgFile, "--loglevel", "debug", "transfer", "cv", "--recursive", src+"//"+app+":1.2.0", target)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if strings.Contains(stderr, logSecret) {
		t.Fatalf("the password appears in the log:\n%s", stderr)
	}
	want := []*regexp.Regexp{
		regexp.MustCompile(`level=DEBUG msg="configuration file read" file=` + regexp.QuoteMeta(cfgFile)),
		regexp.MustCompile(`level=DEBUG msg="repository opened" repository=".*` + regexp.QuoteMeta(filepath.Base(src)) + `" mode=read`),
		regexp.MustCompile(`level=DEBUG msg="repository opened" repository=.*` + regexp.QuoteMeta(target) + `.* mode=write`),
		regexp.MustCompile(`level=DEBUG msg="credentials for registry" host=127\.0\.0\.1:\d+ kind="username and password"`),
		regexp.MustCompile(`level=DEBUG msg="registry request failed, retrying if attempts are left" method=POST .* status=503`),
		regexp.MustCompile(`level=DEBUG msg="blob copied" component=` + regexp.QuoteMeta(app) + ` version=1\.2\.0 .* digest=sha256:[0-9a-f]{64} size=\d+ `),
		regexp.MustCompile(`level=DEBUG msg="blob copied" component=` + regexp.QuoteMeta(lib) + ` `),
	}
	for _, re := range want {
		if !re.MatchString(stderr) {
			t.Errorf("no line matches %s", re)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", stderr)
	}

	// A second transfer finds the version in the target: skipped, logged.
	_, stderr, err = run(t, "--config", cfgFile, "--loglevel", "debug", "transfer", "cv", src+"//"+app+":1.2.0", target)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "already present in the target") || strings.Contains(stderr, logSecret) {
		t.Fatalf("second transfer log:\n%s", stderr)
	}

	// At the default level none of the debug records appear.
	_, stderr, err = run(t, "--config", cfgFile, "transfer", "cv", src+"//"+app+":1.2.0", target)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stderr, "level=DEBUG") {
		t.Fatalf("debug records at level info:\n%s", stderr)
	}
}

// TestTransferJSONLog: with --logformat json every line of stderr is one
// JSON object, progress and summary included.
func TestTransferJSONLog(t *testing.T) {
	src, target, cfgFile := loggingSetup(t)
	_, stderr, err := run(t, "--config", cfgFile, "--loglevel", "debug", "--logformat", "json", "transfer", "cv", "--recursive", src+"//"+app+":1.2.0", target)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if strings.Contains(stderr, logSecret) {
		t.Fatalf("the password appears in the log:\n%s", stderr)
	}
	msgs := map[string]int{}
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d is not JSON (%v): %q", i+1, err, line)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Fatalf("line %d has no %q: %s", i+1, k, line)
			}
		}
		msgs[rec["msg"].(string)]++
		if rec["msg"] == "blob copied" {
			if d, _ := rec["digest"].(string); !strings.HasPrefix(d, "sha256:") {
				t.Fatalf("blob record without digest: %s", line)
			}
			if _, ok := rec["size"].(float64); !ok {
				t.Fatalf("blob record without size: %s", line)
			}
		}
		if rec["event"] == "summary" && rec["versionsCopied"] != float64(2) {
			t.Fatalf("summary: %s", line)
		}
	}
	for _, m := range []string{"blob copied", "repository opened", "credentials for registry", "transfer summary"} {
		if msgs[m] == 0 {
			t.Errorf("no %q record in %d lines", m, len(lines))
		}
	}
}
