// Package httpclient builds the one HTTP transport every registry and
// external-content connection uses. It bounds the phases in which a silent
// peer would otherwise hang a process (connect, TLS handshake, waiting for
// response headers, a stalled body) but never the total duration of a
// request: a large blob on a slow link that keeps sending completes.
package httpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ocmgo/ocm/config"
)

// Defaults of Timeouts' fields.
const (
	DefaultDial           = 30 * time.Second
	DefaultTLSHandshake   = 30 * time.Second
	DefaultResponseHeader = 60 * time.Second
	DefaultIdleBody       = 60 * time.Second
)

// Timeouts bound the phases of a request. A zero field takes its default;
// a negative one disables that bound.
type Timeouts struct {
	// Dial bounds establishing the TCP connection.
	Dial time.Duration
	// TLSHandshake bounds the TLS handshake.
	TLSHandshake time.Duration
	// ResponseHeader bounds the wait for response headers once the request
	// (and its body) has been written.
	ResponseHeader time.Duration
	// IdleBody bounds the time a response body read waits without
	// receiving a byte, and the time a write to the connection (a request
	// body the server stopped reading) makes no progress; the total time
	// of a body is unbounded.
	IdleBody time.Duration
}

func pick(v, def time.Duration) time.Duration {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// WithDefaults returns t with zero fields set to their defaults and
// negative fields set to zero (unbounded).
func (t Timeouts) WithDefaults() Timeouts {
	return Timeouts{
		Dial:           pick(t.Dial, DefaultDial),
		TLSHandshake:   pick(t.TLSHandshake, DefaultTLSHandshake),
		ResponseHeader: pick(t.ResponseHeader, DefaultResponseHeader),
		IdleBody:       pick(t.IdleBody, DefaultIdleBody),
	}
}

// Phase names which bound fired.
type Phase string

const (
	PhaseDial           Phase = "connect"
	PhaseTLSHandshake   Phase = "TLS handshake"
	PhaseResponseHeader Phase = "response header"
	PhaseIdleBody       Phase = "idle body"
	PhaseTotal          Phase = "total request"
)

// ErrTimeout is matched (errors.Is) by every *TimeoutError.
var ErrTimeout = errors.New("timeout")

// TimeoutError reports that a bound of Timeouts fired. It deliberately
// does not implement net.Error: retrying transports (oras') must not
// multiply a silent server's timeout by their attempts.
type TimeoutError struct {
	Host   string // host[:port]
	Op     string // method and path, "GET /v2/x/blobs/sha256:..."
	Phase  Phase
	After  time.Duration
	Reason string
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s %s: %s timeout after %s: %s", e.Host, e.Op, e.Phase, e.After, e.Reason)
}

// Is makes errors.Is(err, ErrTimeout) and context.DeadlineExceeded-style
// checks by callers work.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// Transport is an http.RoundTripper over an *http.Transport that enforces
// the bounds of its Settings and names host, operation and phase in
// timeout errors. A Transport built from a Config routes each request to
// the settings of its host.
type Transport struct {
	// Base does the work; its dial, TLS and header timeouts are set by New.
	Base     *http.Transport
	settings Settings // with defaults applied
	hosts    map[string]*Transport
}

// New returns a Transport with the proxy settings of http.DefaultTransport
// and the bounds of t.
func New(t Timeouts) *Transport {
	tr, _ := newHost(Settings{Timeouts: t}) // no files to read: cannot fail
	return tr
}

// NewFor returns a Transport for c: per-host settings for the hosts it
// names, the default settings for every other host. It fails when a CA or
// client certificate file cannot be used.
func NewFor(c Config) (*Transport, error) {
	tr, err := newHost(c.Settings)
	if err != nil {
		return nil, err
	}
	for host, s := range c.Hosts {
		h, err := newHost(s)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", host, err)
		}
		if tr.hosts == nil {
			tr.hosts = map[string]*Transport{}
		}
		tr.hosts[host] = h
	}
	return tr, nil
}

func newHost(s Settings) (*Transport, error) {
	s = s.withDefaults()
	t := s.Timeouts
	tc, err := s.TLS.config()
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: t.Dial, KeepAlive: s.KeepAlive}
	dial := d.DialContext
	if t.IdleBody > 0 {
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &writeBoundConn{Conn: c, idle: t.IdleBody}, nil
		}
	}
	base := &http.Transport{
		Proxy:             http.ProxyFromEnvironment,
		DialContext:       dial,
		ForceAttemptHTTP2: true,
		MaxIdleConns:      100,
		// Graph walks and blob copies keep up to --concurrency-limit requests
		// to one registry in flight; with the default of 2 idle connections
		// per host most of them would be closed and dialled again.
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       s.IdleConn,
		TLSHandshakeTimeout:   t.TLSHandshake,
		ResponseHeaderTimeout: t.ResponseHeader,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       tc,
	}
	return &Transport{Base: base, settings: s}, nil
}

// Timeouts returns the default bounds in effect.
func (t *Transport) Timeouts() Timeouts { return t.settings.Timeouts }

// ForHost returns the Transport requests to host (host[:port]) use.
func (t *Transport) ForHost(host string) *Transport {
	for _, k := range config.HostKeys(host) {
		if h, ok := t.hosts[k]; ok {
			return h
		}
	}
	return t
}

// CloneWithTLS returns a clone of t whose TLS settings are t's (TLS 1.2 at
// least when it has none) changed by mutate.
func CloneWithTLS(t *http.Transport, mutate func(*tls.Config) error) (*http.Transport, error) {
	out := t.Clone()
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if out.TLSClientConfig != nil {
		tc = out.TLSClientConfig.Clone()
	}
	if err := mutate(tc); err != nil {
		return nil, err
	}
	out.TLSClientConfig = tc
	return out, nil
}

// WithTLS returns a copy of t whose TLS settings, for every host, are
// those of t changed by mutate (extra roots, a client certificate).
func (t *Transport) WithTLS(mutate func(*tls.Config) error) (*Transport, error) {
	one := func(h *Transport) (*Transport, error) {
		base, err := CloneWithTLS(h.Base, mutate)
		if err != nil {
			return nil, err
		}
		return &Transport{Base: base, settings: h.settings}, nil
	}
	out, err := one(t)
	if err != nil {
		return nil, err
	}
	for k, h := range t.hosts {
		c, err := one(h)
		if err != nil {
			return nil, err
		}
		if out.hosts == nil {
			out.hosts = map[string]*Transport{}
		}
		out.hosts[k] = c
	}
	return out, nil
}

// Client returns an HTTP client over a new Transport with bounds t.
func Client(t Timeouts) *http.Client { return &http.Client{Transport: New(t)} }

func op(req *http.Request) string { return req.Method + " " + req.URL.Path }

// RoundTrip sends req with the settings of its host and wraps the
// response body so that a read that receives nothing for IdleBody (or
// runs past Total) fails with a TimeoutError.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	h := t.ForHost(req.URL.Host)
	ctx, cancel := context.WithCancelCause(req.Context())
	if total := h.settings.Total; total > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, total, &TimeoutError{Host: req.URL.Host, Op: op(req), Phase: PhaseTotal, After: total, Reason: "the request did not complete"})
		inner := cancel
		cancel = func(cause error) { stop(); inner(cause) }
	}
	resp, err := h.Base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel(nil)
		return nil, h.classify(req, ctx, err)
	}
	if h.settings.IdleBody <= 0 || resp.Body == nil || resp.Body == http.NoBody {
		resp.Body = &cancelBody{ReadCloser: resp.Body, ctx: ctx, cancel: cancel}
		return resp, nil
	}
	resp.Body = &idleBody{rc: resp.Body, ctx: ctx, cancel: cancel, idle: h.settings.IdleBody, host: req.URL.Host, op: op(req)}
	return resp, nil
}

// timeoutCause is the TimeoutError that ended ctx, if one did.
func timeoutCause(ctx context.Context) *TimeoutError {
	var te *TimeoutError
	if errors.As(context.Cause(ctx), &te) {
		return te
	}
	return nil
}

// classify turns the transport's timeout errors into TimeoutErrors.
func (t *Transport) classify(req *http.Request, ctx context.Context, err error) error {
	if req.Context().Err() != nil {
		return err // the caller's own cancellation or deadline
	}
	if te := timeoutCause(ctx); te != nil {
		return te
	}
	timeouts := t.settings.Timeouts
	te := &TimeoutError{Host: req.URL.Host, Op: op(req)}
	var oe *net.OpError
	msg := err.Error()
	switch {
	case errors.As(err, &oe) && oe.Op == "dial" && oe.Timeout():
		te.Phase, te.After, te.Reason = PhaseDial, timeouts.Dial, "the connection could not be established"
	case strings.Contains(msg, "TLS handshake timeout"):
		te.Phase, te.After, te.Reason = PhaseTLSHandshake, timeouts.TLSHandshake, "the server did not complete the TLS handshake"
	case strings.Contains(msg, "timeout awaiting response headers"):
		te.Phase, te.After, te.Reason = PhaseResponseHeader, timeouts.ResponseHeader, "the server accepted the request but sent no response"
	case errors.As(err, &oe) && oe.Op == "write" && oe.Timeout():
		te.Phase, te.After, te.Reason = PhaseIdleBody, timeouts.IdleBody, "the server stopped reading the request"
	default:
		return err
	}
	return te
}

// writeBoundConn fails a Write that makes no progress for idle: a server
// that stops reading a request body would otherwise block the upload
// before any response timeout starts.
type writeBoundConn struct {
	net.Conn
	idle time.Duration
}

func (c *writeBoundConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// cancelBody releases the request context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		if te := timeoutCause(b.ctx); te != nil {
			return n, te
		}
	}
	return n, err
}

func (b *cancelBody) Close() error {
	var err error
	if b.ReadCloser != nil {
		err = b.ReadCloser.Close()
	}
	b.cancel(nil)
	return err
}

// idleBody fails a Read that waits longer than idle for a byte. Only the
// time inside Read counts: a slow consumer is not the server's fault.
type idleBody struct {
	rc       io.ReadCloser
	ctx      context.Context
	cancel   context.CancelCauseFunc
	idle     time.Duration
	host, op string

	mu    sync.Mutex
	timer *time.Timer
	fired bool
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.fired {
		b.mu.Unlock()
		return 0, b.timeoutErr()
	}
	if b.timer == nil {
		b.timer = time.AfterFunc(b.idle, b.fire)
	} else {
		b.timer.Reset(b.idle)
	}
	b.mu.Unlock()
	n, err := b.rc.Read(p)
	b.mu.Lock()
	b.timer.Stop()
	fired := b.fired
	b.mu.Unlock()
	if err != nil && err != io.EOF {
		if fired {
			return n, b.timeoutErr()
		}
		if te := timeoutCause(b.ctx); te != nil {
			return n, te
		}
	}
	return n, err
}

func (b *idleBody) fire() {
	b.mu.Lock()
	b.fired = true
	b.mu.Unlock()
	b.cancel(b.timeoutErr())
}

func (b *idleBody) timeoutErr() error {
	return &TimeoutError{Host: b.host, Op: b.op, Phase: PhaseIdleBody, After: b.idle, Reason: "no body bytes received"}
}

func (b *idleBody) Close() error {
	b.mu.Lock()
	if b.timer != nil {
		b.timer.Stop()
	}
	b.mu.Unlock()
	err := b.rc.Close()
	b.cancel(nil)
	return err
}

var (
	sharedMu sync.Mutex
	shared   = map[string]*Transport{}
)

// Shared returns the process-wide Transport for bounds t, so that
// connections are pooled across the registries and sources opened with
// the same settings (as http.DefaultTransport pools them).
func Shared(t Timeouts) *Transport {
	tr, _ := SharedFor(Config{Settings: Settings{Timeouts: t}}) // no files: cannot fail
	return tr
}

// SharedFor is Shared for a whole Config.
func SharedFor(c Config) (*Transport, error) {
	key, err := c.key()
	if err != nil {
		return nil, err
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if tr, ok := shared[key]; ok {
		return tr, nil
	}
	tr, err := NewFor(c)
	if err != nil {
		return nil, err
	}
	shared[key] = tr
	return tr, nil
}
