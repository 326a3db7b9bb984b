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
// Timeouts and names host, operation and phase in timeout errors.
type Transport struct {
	// Base does the work; its dial, TLS and header timeouts are set by New.
	Base     *http.Transport
	timeouts Timeouts // with defaults applied
}

// New returns a Transport with the proxy settings of http.DefaultTransport
// and the bounds of t.
func New(t Timeouts) *Transport {
	t = t.WithDefaults()
	d := &net.Dialer{Timeout: t.Dial, KeepAlive: 30 * time.Second}
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
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   t.TLSHandshake,
		ResponseHeaderTimeout: t.ResponseHeader,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	return &Transport{Base: base, timeouts: t}
}

// Timeouts returns the bounds in effect.
func (t *Transport) Timeouts() Timeouts { return t.timeouts }

// Clone returns a Transport with a clone of Base (for changing TLS
// settings) and the same bounds.
func (t *Transport) Clone() *Transport {
	return &Transport{Base: t.Base.Clone(), timeouts: t.timeouts}
}

// Client returns an HTTP client over a new Transport with bounds t.
func Client(t Timeouts) *http.Client { return &http.Client{Transport: New(t)} }

func op(req *http.Request) string { return req.Method + " " + req.URL.Path }

// RoundTrip sends req and wraps the response body so that a read that
// receives nothing for IdleBody fails.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	resp, err := t.Base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel(nil)
		return nil, t.classify(req, err)
	}
	if t.timeouts.IdleBody <= 0 || resp.Body == nil || resp.Body == http.NoBody {
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
		return resp, nil
	}
	resp.Body = &idleBody{rc: resp.Body, cancel: cancel, idle: t.timeouts.IdleBody, host: req.URL.Host, op: op(req)}
	return resp, nil
}

// classify turns the transport's timeout errors into TimeoutErrors.
func (t *Transport) classify(req *http.Request, err error) error {
	if req.Context().Err() != nil {
		return err // the caller's own cancellation or deadline
	}
	te := &TimeoutError{Host: req.URL.Host, Op: op(req)}
	var oe *net.OpError
	msg := err.Error()
	switch {
	case errors.As(err, &oe) && oe.Op == "dial" && oe.Timeout():
		te.Phase, te.After, te.Reason = PhaseDial, t.timeouts.Dial, "the connection could not be established"
	case strings.Contains(msg, "TLS handshake timeout"):
		te.Phase, te.After, te.Reason = PhaseTLSHandshake, t.timeouts.TLSHandshake, "the server did not complete the TLS handshake"
	case strings.Contains(msg, "timeout awaiting response headers"):
		te.Phase, te.After, te.Reason = PhaseResponseHeader, t.timeouts.ResponseHeader, "the server accepted the request but sent no response"
	case errors.As(err, &oe) && oe.Op == "write" && oe.Timeout():
		te.Phase, te.After, te.Reason = PhaseIdleBody, t.timeouts.IdleBody, "the server stopped reading the request"
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
	cancel context.CancelCauseFunc
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
	if fired && err != nil && err != io.EOF {
		return n, b.timeoutErr()
	}
	return n, err
}

func (b *idleBody) fire() {
	b.mu.Lock()
	b.fired = true
	b.mu.Unlock()
	b.cancel(ErrTimeout)
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
	shared   = map[Timeouts]*Transport{}
)

// Shared returns the process-wide Transport for bounds t, so that
// connections are pooled across the registries and sources opened with
// the same settings (as http.DefaultTransport pools them).
func Shared(t Timeouts) *Transport {
	t = t.WithDefaults()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if tr, ok := shared[t]; ok {
		return tr
	}
	tr := New(t)
	shared[t] = tr
	return tr
}
