// Package sigstoretest starts a local Sigstore stack for tests on
// 127.0.0.1: an in-process OIDC issuer, Fulcio with an ephemeral CA that
// trusts it, a timestamp authority with an in-memory signer and a Rekor v2
// (rekor-tiles, POSIX storage) transparency log, built by
// hack/sigstore-stack.sh from the Go module proxy. It writes the trusted
// root and the signing config for that stack.
package sigstoretest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvStack names the directory with the stack's binaries (the output of
// hack/sigstore-stack.sh).
const EnvStack = "OCM_SIGSTORE_STACK"

// Stack is a running stack.
type Stack struct {
	Dir         string // binaries
	Work        string // state, logs, trusted root, signing config
	Issuer      *Issuer
	FulcioURL   string
	TSAURL      string // the timestamp endpoint
	RekorURL    string
	TrustedRoot string // path of the trusted root JSON
	// SigningConfig is the path of the Sigstore signing config with
	// Fulcio, the TSA and Rekor v2; SigningConfigTSA has Fulcio and the
	// TSA only (no transparency log).
	SigningConfig, SigningConfigTSA string
	// TrustedRootJSON is the content of TrustedRoot.
	TrustedRootJSON []byte
	// FulcioRoot is the ephemeral CA's root certificate.
	FulcioRoot *x509.Certificate
	// Startup is how long starting the stack took.
	Startup time.Duration

	procs []proc
}

// proc is a started service; done closes when its Wait returned (one
// goroutine waits, Close only kills and waits for done).
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

var (
	shared    *Stack
	sharedErr error
	once      sync.Once
)

// BinaryDir returns where the stack's binaries are: $OCM_SIGSTORE_STACK,
// else the newest complete build in the test-assets cache; "" if none.
func BinaryDir() string {
	if d := os.Getenv(EnvStack); d != "" {
		return d
	}
	cache := os.Getenv("OCM_TEST_ASSETS_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "ocm-test-assets")
	}
	dirs, _ := filepath.Glob(filepath.Join(cache, "sigstore-*"))
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if complete(d) {
			return d
		}
	}
	return ""
}

var binaries = []string{"fulcio", "timestamp-server", "rekor-server", "cosign"}

func complete(dir string) bool {
	for _, b := range binaries {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// Shared returns the stack of this test binary, starting it on first use.
// Without the binaries the test is skipped, unless CI is set: CI builds
// them (scripts/test.sh), so there their absence is a failure.
func Shared(tb testing.TB) *Stack {
	tb.Helper()
	dir := BinaryDir()
	if dir == "" || !complete(dir) {
		msg := fmt.Sprintf("sigstore stack binaries not found (%s unset and no complete build in the test-assets cache): run eval \"$(bash hack/sigstore-stack.sh)\"", EnvStack)
		if os.Getenv("CI") != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	once.Do(func() { shared, sharedErr = Start(dir) })
	if sharedErr != nil {
		tb.Fatalf("starting the sigstore stack from %s: %v", dir, sharedErr)
	}
	return shared
}

// Main runs the tests and stops the shared stack after them; use it as
// TestMain's body: os.Exit(sigstoretest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	StopShared()
	return code
}

// StopShared stops the shared stack if one was started (for a TestMain
// whose m.Run is called elsewhere).
func StopShared() {
	if shared != nil {
		shared.Close()
	}
}

// Start starts every service of the stack from the binaries in dir.
func Start(dir string) (s *Stack, err error) {
	start := time.Now()
	work, err := os.MkdirTemp("", "ocm-sigstore-stack-")
	if err != nil {
		return nil, err
	}
	s = &Stack{Dir: dir, Work: work}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()
	if s.Issuer, err = NewIssuer(); err != nil {
		return s, err
	}
	ports, err := freePorts(7)
	if err != nil {
		return s, err
	}
	// Fulcio: ephemeral CA, no CT log, trusting the test's issuer only.
	fcfg := map[string]any{"OIDCIssuers": map[string]any{s.Issuer.URL: map[string]string{
		"IssuerURL": s.Issuer.URL, "ClientID": ClientID, "Type": "email"}}}
	fcfgPath := filepath.Join(work, "fulcio-config.json")
	if err := writeJSONFile(fcfgPath, fcfg); err != nil {
		return s, err
	}
	s.FulcioURL = "http://127.0.0.1:" + ports[0]
	if err := s.spawn("fulcio", "serve", "--ca=ephemeralca", "--config-path="+fcfgPath, "--host=127.0.0.1", "--port="+ports[0],
		"--grpc-host=127.0.0.1", "--grpc-port="+ports[1], "--metrics-port="+ports[2], "--ct-log-url=", "--log_type=prod",
		// Its legacy gRPC server listens on a fixed abstract socket by
		// default: two stacks on one machine (parallel test binaries)
		// would collide there.
		"--legacy-unix-domain-socket=@ocm-"+filepath.Base(work)+"-fulcio"); err != nil {
		return s, err
	}
	// Timestamp authority with an in-memory signer.
	tsaBase := "http://127.0.0.1:" + ports[3]
	s.TSAURL = tsaBase + "/api/v1/timestamp"
	if err := s.spawn("timestamp-server", "--host=127.0.0.1", "--port="+ports[3]); err != nil {
		return s, err
	}
	// Rekor v2 on local storage; the checkpoint origin is the host name of
	// its URL, which verifiers derive from the trusted root's baseUrl.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return s, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return s, err
	}
	keyPath := filepath.Join(work, "rekor-key.pem")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return s, err
	}
	s.RekorURL = "http://127.0.0.1:" + ports[4]
	if err := s.spawn("rekor-server", "serve", "--http-address=127.0.0.1", "--http-port="+ports[4], "--grpc-address=127.0.0.1",
		"--grpc-port="+ports[5], "--http-metrics-port="+ports[6], "--hostname=127.0.0.1", "--storage-dir="+filepath.Join(work, "rekor"),
		"--signer-filepath="+keyPath, "--checkpoint-interval=500ms", "--batch-max-age=20ms"); err != nil {
		return s, err
	}

	// Wait for the services, then collect their certificates.
	var bundle struct {
		Chains []struct {
			Certificates []string `json:"certificates"`
		} `json:"chains"`
	}
	body, err := s.await(s.FulcioURL + "/api/v2/trustBundle")
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(body, &bundle); err != nil || len(bundle.Chains) == 0 {
		return s, fmt.Errorf("fulcio trust bundle %s: %v", body, err)
	}
	var fulcioChain []*x509.Certificate
	for _, c := range bundle.Chains[0].Certificates {
		certs, err := parsePEMCerts([]byte(c))
		if err != nil {
			return s, err
		}
		fulcioChain = append(fulcioChain, certs...)
	}
	if len(fulcioChain) == 0 {
		return s, errors.New("fulcio trust bundle holds no certificate")
	}
	s.FulcioRoot = fulcioChain[len(fulcioChain)-1]
	body, err = s.await(tsaBase + "/api/v1/timestamp/certchain")
	if err != nil {
		return s, err
	}
	tsaChain, err := parsePEMCerts(body)
	if err != nil || len(tsaChain) == 0 {
		return s, fmt.Errorf("TSA certificate chain: %v", err)
	}
	if _, err := s.await(s.RekorURL + "/healthz"); err != nil {
		return s, err
	}

	// Trusted root and signing configs for this stack.
	s.TrustedRootJSON, err = TrustedRoot(s.FulcioURL, fulcioChain, s.TSAURL, tsaChain, s.RekorURL, pub)
	if err != nil {
		return s, err
	}
	s.TrustedRoot = filepath.Join(work, "trusted_root.json")
	if err := os.WriteFile(s.TrustedRoot, s.TrustedRootJSON, 0o644); err != nil {
		return s, err
	}
	s.SigningConfig = filepath.Join(work, "signing_config.json")
	if err := writeJSONFile(s.SigningConfig, SigningConfig(s.FulcioURL, s.TSAURL, s.RekorURL)); err != nil {
		return s, err
	}
	s.SigningConfigTSA = filepath.Join(work, "signing_config_tsa.json")
	if err := writeJSONFile(s.SigningConfigTSA, SigningConfig(s.FulcioURL, s.TSAURL, "")); err != nil {
		return s, err
	}
	s.Startup = time.Since(start)
	return s, nil
}

// Token returns an OIDC identity token of the stack's issuer for email.
func (s *Stack) Token(tb testing.TB, email string) string {
	tb.Helper()
	tok, err := s.Issuer.Token(email, 10*time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// Cosign is the path of the cosign binary.
func (s *Stack) Cosign() string { return filepath.Join(s.Dir, "cosign") }

// Close stops every service and removes the state.
func (s *Stack) Close() {
	for _, p := range s.procs {
		p.cmd.Process.Kill()
		<-p.done
	}
	if s.Issuer != nil {
		s.Issuer.Close()
	}
	os.RemoveAll(s.Work)
}

func (s *Stack) spawn(name string, args ...string) error {
	log, err := os.Create(filepath.Join(s.Work, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(s.Dir, name), args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = s.Work, log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	p := proc{cmd: cmd, done: make(chan struct{})}
	s.procs = append(s.procs, p)
	go func() { cmd.Wait(); log.Close(); close(p.done) }()
	return nil
}

// await polls url until it answers 200 (60s at most: a cold start of the
// three services on a loaded 2-core machine takes a few seconds).
func (s *Stack) await(url string) ([]byte, error) {
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 5 * time.Second}
	var last error
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && rerr == nil {
				return body, nil
			}
			err = fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("%s did not become ready: %v%s", url, last, s.logTails())
}

// logTails returns the last lines of every service's log, for errors
// (Close removes the logs).
func (s *Stack) logTails() string {
	var b strings.Builder
	for _, p := range s.procs {
		name := filepath.Base(p.cmd.Path)
		data, _ := os.ReadFile(filepath.Join(s.Work, name+".log"))
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 5 {
			lines = lines[len(lines)-5:]
		}
		fmt.Fprintf(&b, "\n%s log:\n  %s", name, strings.Join(lines, "\n  "))
	}
	return b.String()
}

// TrustedRoot returns a Sigstore trusted root (JSON) for a Fulcio CA, a
// timestamp authority (chains leaf first) and a Rekor v2 log with an
// Ed25519 key; tsaURL and rekorURL may be empty.
func TrustedRoot(fulcioURL string, fulcioChain []*x509.Certificate, tsaURL string, tsaChain []*x509.Certificate, rekorURL string, rekorKey ed25519.PublicKey) ([]byte, error) {
	start := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	chain := func(certs []*x509.Certificate) map[string]any {
		var out []map[string]string
		for _, c := range certs {
			out = append(out, map[string]string{"rawBytes": base64.StdEncoding.EncodeToString(c.Raw)})
		}
		return map[string]any{"certificates": out}
	}
	tr := map[string]any{
		"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
		"certificateAuthorities": []any{map[string]any{
			"subject": map[string]string{"organization": "ocm-test", "commonName": "fulcio"},
			"uri":     fulcioURL, "certChain": chain(fulcioChain), "validFor": map[string]string{"start": start},
		}},
		"ctlogs": []any{}, "tlogs": []any{}, "timestampAuthorities": []any{},
	}
	if tsaURL != "" {
		tr["timestampAuthorities"] = []any{map[string]any{
			"subject": map[string]string{"organization": "ocm-test", "commonName": "tsa"},
			"uri":     tsaURL, "certChain": chain(tsaChain), "validFor": map[string]string{"start": start},
		}}
	}
	if rekorURL != "" {
		pkix, err := x509.MarshalPKIXPublicKey(rekorKey)
		if err != nil {
			return nil, err
		}
		tr["tlogs"] = []any{map[string]any{
			"baseUrl": rekorURL, "hashAlgorithm": "SHA2_256",
			"publicKey": map[string]any{"rawBytes": base64.StdEncoding.EncodeToString(pkix), "keyDetails": "PKIX_ED25519", "validFor": map[string]string{"start": start}},
			"logId":     map[string]string{"keyId": base64.StdEncoding.EncodeToString(RekorLogID("127.0.0.1", rekorKey))},
		}}
	}
	return json.MarshalIndent(tr, "", "  ")
}

// RekorLogID is the log ID of a Rekor v2 log with an Ed25519 key: the
// untruncated C2SP signed-note key hash, SHA-256(origin "\n" 0x01 key).
func RekorLogID(origin string, key ed25519.PublicKey) []byte {
	h := sha256.New()
	h.Write([]byte(origin + "\n"))
	h.Write([]byte{0x01})
	h.Write(key)
	return h.Sum(nil)
}

// SigningConfig returns a Sigstore signing config v0.2 for the services;
// tsaURL or rekorURL may be empty.
func SigningConfig(fulcioURL, tsaURL, rekorURL string) map[string]any {
	valid := map[string]string{"start": time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)}
	svc := func(url string, version int) []any {
		if url == "" {
			return []any{}
		}
		return []any{map[string]any{"url": url, "majorApiVersion": version, "validFor": valid, "operator": "ocm-test"}}
	}
	return map[string]any{
		"mediaType":       "application/vnd.dev.sigstore.signingconfig.v0.2+json",
		"caUrls":          svc(fulcioURL, 1),
		"oidcUrls":        []any{},
		"rekorTlogUrls":   svc(rekorURL, 2),
		"rekorTlogConfig": map[string]string{"selector": "ANY"},
		"tsaUrls":         svc(tsaURL, 1),
		"tsaConfig":       map[string]string{"selector": "ANY"},
	}
}

func parsePEMCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out, nil
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

func freePorts(n int) ([]string, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	var out []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		out = append(out, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	return out, nil
}

func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
