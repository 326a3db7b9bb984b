package oci

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"

	"github.com/ocmgo/ocm/httpclient"
)

// nonLoopbackIP is an address of this machine that is not loopback (plain
// HTTP is implied for loopback hosts, so the probe only runs for others).
func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	t.Skip("this machine has no non-loopback IPv4 address")
	return ""
}

// A request for plain HTTP does not downgrade a registry that speaks TLS:
// the registry is reached over verified HTTPS (its CA from the http
// configuration) with a warning naming the host; a registry without TLS is
// reached over plain HTTP as asked.
func TestPlainHTTPDoesNotDowngradeTLS(t *testing.T) {
	ip := nonLoopbackIP(t)
	serverCert, certDER := selfSigned(t, ip)
	start := func(useTLS bool) *httptest.Server {
		srv := httptest.NewUnstartedServer(olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}}))
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Skipf("cannot listen on %s: %v", ip, err)
		}
		srv.Listener.Close()
		srv.Listener = l
		if useTLS {
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}}
			srv.StartTLS()
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
		return srv
	}
	tlsSrv, plainSrv := start(true), start(false)
	tlsHost := strings.TrimPrefix(tlsSrv.URL, "https://")
	plainHost := strings.TrimPrefix(plainSrv.URL, "http://")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	hc := httpclient.Config{Hosts: map[string]httpclient.Settings{tlsHost: {TLS: httpclient.TLS{CAFile: ca}}}}

	for _, tt := range []struct {
		host      string
		wantPlain bool
	}{{tlsHost, false}, {plainHost, true}} {
		var logs bytes.Buffer
		r, err := New(tt.host, "", Options{PlainHTTP: true, HTTP: hc, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if r.PlainHTTP() != tt.wantPlain {
			t.Errorf("%s: plain HTTP %v, want %v", tt.host, r.PlainHTTP(), tt.wantPlain)
		}
		if err := r.Ping(context.Background()); err != nil {
			t.Errorf("%s: %v", tt.host, err)
		}
		warned := strings.Contains(logs.String(), "the registry offers TLS") && strings.Contains(logs.String(), "host="+tt.host)
		if warned == tt.wantPlain {
			t.Errorf("%s: warning %v, want %v:\n%s", tt.host, warned, !tt.wantPlain, logs.String())
		}
	}
}

// selfSigned is a server certificate for ip, its own CA.
func selfSigned(t *testing.T, ip string) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: ip},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, IPAddresses: []net.IP{net.ParseIP(ip)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, der
}
