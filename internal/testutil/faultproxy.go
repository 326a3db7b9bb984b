package testutil

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is what a FaultProxy does to a request a rule matches.
type Fault int

const (
	// FaultSilent accepts the request and never answers (until the client
	// gives up or the test ends).
	FaultSilent Fault = iota + 1
	// FaultTrickle forwards the answer but sends its body in Chunk-byte
	// pieces, Delay apart.
	FaultTrickle
	// FaultReset sends the headers and the first half of the body, then
	// resets the connection (RST).
	FaultReset
	// FaultShort sends the headers (with the full Content-Length) and the
	// first half of the body, then closes the connection cleanly.
	FaultShort
	// FaultCorrupt sends the whole body with its first byte flipped:
	// complete, and wrong.
	FaultCorrupt
)

// FaultRule picks requests by method (empty: any) and a path substring
// (empty: any) and applies Fault to the first Times of them (0: all).
type FaultRule struct {
	Method, PathContains string
	Fault                Fault
	Times                int
	Chunk                int           // FaultTrickle: bytes per piece (default 1024)
	Delay                time.Duration // FaultTrickle: pause between pieces
}

func (r *FaultRule) matches(req *http.Request) bool {
	return (r.Method == "" || r.Method == req.Method) && strings.Contains(req.URL.Path, r.PathContains)
}

// FaultProxy is an HTTP proxy in front of a real registry that injects
// faults by rule and counts the requests it sees.
type FaultProxy struct {
	// Host is the proxy's host:port, to use in place of the registry's.
	Host     string
	upstream string
	tr       *http.Transport
	done     chan struct{}

	mu       sync.Mutex
	rules    []*FaultRule
	used     map[*FaultRule]int
	requests []string // "METHOD path", in arrival order
	ranged   int      // requests with a Range header
	faults   int
}

// StartFaultProxy starts a FaultProxy for the registry at upstream
// (host:port, plain HTTP) on 127.0.0.1 until the test ends.
func StartFaultProxy(t testing.TB, upstream string, rules ...FaultRule) *FaultProxy {
	t.Helper()
	p := &FaultProxy{upstream: upstream, tr: &http.Transport{}, done: make(chan struct{}), used: map[*FaultRule]int{}}
	for i := range rules {
		p.rules = append(p.rules, &rules[i])
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	t.Cleanup(p.tr.CloseIdleConnections)
	t.Cleanup(func() { close(p.done) }) // runs first: releases silent handlers
	p.Host = strings.TrimPrefix(srv.URL, "http://")
	return p
}

// Count returns how many requests with method (empty: any) and a path
// containing pathContains the proxy received.
func (p *FaultProxy) Count(method, pathContains string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.requests {
		m, path, _ := strings.Cut(r, " ")
		if (method == "" || m == method) && strings.Contains(path, pathContains) {
			n++
		}
	}
	return n
}

// Ranged returns how many requests asked for a byte range.
func (p *FaultProxy) Ranged() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ranged
}

// Faults returns how many faults the proxy injected.
func (p *FaultProxy) Faults() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

func (p *FaultProxy) pick(req *http.Request) *FaultRule {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = append(p.requests, req.Method+" "+req.URL.Path)
	if req.Header.Get("Range") != "" {
		p.ranged++
	}
	for _, r := range p.rules {
		if r.matches(req) && (r.Times == 0 || p.used[r] < r.Times) {
			p.used[r]++
			p.faults++
			return r
		}
	}
	return nil
}

func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rule := p.pick(req)
	if rule != nil && rule.Fault == FaultSilent {
		select {
		case <-req.Context().Done():
		case <-p.done:
		}
		return
	}
	out := req.Clone(req.Context())
	out.RequestURI = ""
	out.URL = &url.URL{Scheme: "http", Host: p.upstream, Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	out.Host = req.Host // the registry builds upload locations for the proxy
	if req.ContentLength == 0 {
		out.Body = nil
	}
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	if rule == nil {
		io.Copy(w, resp.Body)
		return
	}
	switch rule.Fault {
	case FaultTrickle:
		chunk := rule.Chunk
		if chunk <= 0 {
			chunk = 1024
		}
		buf := make([]byte, chunk)
		for {
			n, err := io.ReadFull(resp.Body, buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
				rc.Flush()
			}
			if err != nil {
				return
			}
			select {
			case <-time.After(rule.Delay):
			case <-req.Context().Done():
				return
			}
		}
	case FaultCorrupt:
		b, _ := io.ReadAll(resp.Body)
		if len(b) > 0 {
			b[0] ^= 0xff
		}
		w.Write(b)
	case FaultReset, FaultShort:
		size, _ := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
		io.CopyN(w, resp.Body, size/2)
		rc.Flush()
		conn, _, err := rc.Hijack()
		if err != nil {
			return
		}
		if tc, ok := conn.(interface{ SetLinger(int) error }); ok && rule.Fault == FaultReset {
			tc.SetLinger(0) // RST instead of FIN
		}
		conn.Close()
	}
}
