package httpclient_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ocmgo/ocm/httpclient"
)

const short = 500 * time.Millisecond

func shortTimeouts() httpclient.Timeouts {
	return httpclient.Timeouts{Dial: short, TLSHandshake: short, ResponseHeader: short, IdleBody: short}
}

// holder blocks handlers until the client goes away or release; call
// t.Cleanup(release) after starting the server, so it runs before the
// server's Close waits for the handlers.
func holder() (hold func(http.ResponseWriter, *http.Request), release func()) {
	done := make(chan struct{})
	return func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}, func() { close(done) }
}

func checkTimeout(t *testing.T, err error, start time.Time, phase httpclient.Phase, wantIn ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var te *httpclient.TimeoutError
	if !errors.As(err, &te) || te.Phase != phase || !errors.Is(err, httpclient.ErrTimeout) {
		t.Fatalf("error %v (%T): want a %s timeout", err, err, phase)
	}
	for _, w := range wantIn {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %q", err, w)
		}
	}
	if d := time.Since(start); d > short+2*time.Second {
		t.Errorf("took %s with a %s bound", d, short)
	}
}

// A server that accepts the request and never answers fails it after
// ResponseHeader, naming host, operation and phase.
func TestResponseHeaderTimeout(t *testing.T) {
	h, release := holder()
	srv := httptest.NewServer(http.HandlerFunc(h))
	t.Cleanup(srv.Close)
	t.Cleanup(release)
	c := httpclient.Client(shortTimeouts())
	for _, m := range []string{http.MethodGet, http.MethodPut} {
		start := time.Now()
		req, _ := http.NewRequest(m, srv.URL+"/v2/x/blobs/sha256:1", strings.NewReader("body"))
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		checkTimeout(t, err, start, httpclient.PhaseResponseHeader, strings.TrimPrefix(srv.URL, "http://"), m+" /v2/x/blobs/sha256:1", "response header timeout after 500ms")
	}
}

// A TCP server that never speaks TLS fails the handshake after TLSHandshake.
func TestTLSHandshakeTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	start := time.Now()
	resp, err := httpclient.Client(shortTimeouts()).Get("https://" + l.Addr().String() + "/v2/")
	if err == nil {
		resp.Body.Close()
	}
	checkTimeout(t, err, start, httpclient.PhaseTLSHandshake, l.Addr().String(), "GET /v2/")
}

// A body that stops arriving fails after IdleBody; one that keeps
// arriving, slower in total than IdleBody, completes.
func TestIdleBody(t *testing.T) {
	h, release := holder()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		rc := http.NewResponseController(w)
		if r.URL.Path == "/stall" {
			w.Write([]byte("12345"))
			rc.Flush()
			h(w, r)
			return
		}
		for i := range 10 {
			w.Write([]byte{byte('0' + i)})
			rc.Flush()
			time.Sleep(short / 3)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(release)
	c := httpclient.Client(shortTimeouts())

	start := time.Now()
	resp, err := c.Get(srv.URL + "/trickle")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != "0123456789" {
		t.Fatalf("trickled body %q, %v", b, err)
	}
	if d := time.Since(start); d < 2*short {
		t.Fatalf("trickle took %s only: the test proves nothing", d)
	}

	resp, err = c.Get(srv.URL + "/stall")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start = time.Now()
	b, err = io.ReadAll(resp.Body)
	if string(b) != "12345" {
		t.Errorf("read %q before the stall", b)
	}
	checkTimeout(t, err, start, httpclient.PhaseIdleBody, "GET /stall", "no body bytes received")
}

// A slow consumer is not a stalled server: time between reads does not
// count.
func TestSlowConsumer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 100))
	}))
	t.Cleanup(srv.Close)
	resp, err := httpclient.Client(shortTimeouts()).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := make([]byte, 10)
	for {
		time.Sleep(short / 2)
		_, err := resp.Body.Read(p)
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p = make([]byte, 40)
	}
}

// A server that stops reading a large request body fails the upload after
// IdleBody instead of blocking it forever.
func TestUploadStall(t *testing.T) {
	h, release := holder()
	srv := httptest.NewServer(http.HandlerFunc(h))
	t.Cleanup(srv.Close)
	t.Cleanup(release)
	start := time.Now()
	req, _ := http.NewRequest(http.MethodPatch, srv.URL+"/v2/x/blobs/uploads/1", io.LimitReader(zeros{}, 1<<30))
	resp, err := httpclient.Client(shortTimeouts()).Do(req)
	if err == nil {
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("no error")
	}
	var te *httpclient.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("error %v: want a TimeoutError", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
	t.Logf("%v after %s", err, time.Since(start))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// Zero fields take the defaults, negative ones disable the bound.
func TestWithDefaults(t *testing.T) {
	got := httpclient.Timeouts{IdleBody: -1, Dial: time.Second}.WithDefaults()
	want := httpclient.Timeouts{Dial: time.Second, TLSHandshake: httpclient.DefaultTLSHandshake, ResponseHeader: httpclient.DefaultResponseHeader}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if httpclient.Shared(httpclient.Timeouts{}) != httpclient.Shared(httpclient.Timeouts{}.WithDefaults()) {
		t.Error("Shared does not pool equal settings")
	}
}
