package httpclient

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"time"

	"github.com/ocmgo/ocm/config"
)

// Defaults of Settings' fields beyond Timeouts.
const (
	DefaultKeepAlive = 30 * time.Second
	DefaultIdleConn  = 90 * time.Second
)

// TLS are the TLS settings of a host.
type TLS struct {
	// CAFile is a PEM file of CA certificates trusted besides the system's.
	CAFile string
	// ClientCertFile and ClientKeyFile are a PEM client certificate and key
	// for servers that ask for one.
	ClientCertFile, ClientKeyFile string
	// InsecureSkipVerify accepts any server certificate. Only where the
	// user asks for it, never by default.
	InsecureSkipVerify bool
}

// Retry is the registry retry policy (5xx, 429, network errors). Zero
// fields take the defaults (5 retries, waits growing from 200ms to 3s); a
// negative MaxRetries disables retrying.
type Retry struct {
	MaxRetries       int
	MinWait, MaxWait time.Duration
}

// Settings are everything that shapes the connections to one host.
type Settings struct {
	Timeouts
	// Total bounds a whole request including its body; zero (the default)
	// means no bound, so a large blob on a slow link completes.
	Total time.Duration
	// KeepAlive is the TCP keep-alive interval (zero: the default;
	// negative: no probes). IdleConn closes pooled connections idle this
	// long (zero: the default; negative: never).
	KeepAlive, IdleConn time.Duration
	TLS                 TLS
	Retry               Retry
}

func (s Settings) withDefaults() Settings {
	s.Timeouts = s.Timeouts.WithDefaults()
	if s.KeepAlive == 0 {
		s.KeepAlive = DefaultKeepAlive
	}
	s.IdleConn = pick(s.IdleConn, DefaultIdleConn)
	if s.Total < 0 {
		s.Total = 0
	}
	return s
}

// Config is the HTTP configuration of a process: default Settings and, per
// host ("host" for every port or "host:port"), complete Settings that
// replace them.
type Config struct {
	Settings
	Hosts map[string]Settings
}

// ForHost returns the settings for host (host[:port]).
func (c Config) ForHost(host string) Settings {
	for _, k := range config.HostKeys(host) {
		if s, ok := c.Hosts[k]; ok {
			return s
		}
	}
	return c.Settings
}

// WithTimeouts returns c with the non-zero fields of t replacing the
// timeouts of every host: an explicit bound set by a program (a test, a
// controller flag) wins over configuration files.
func (c Config) WithTimeouts(t Timeouts) Config {
	over := func(s Settings) Settings {
		for _, f := range []struct {
			d *time.Duration
			v time.Duration
		}{
			{&s.Dial, t.Dial}, {&s.TLSHandshake, t.TLSHandshake}, {&s.ResponseHeader, t.ResponseHeader}, {&s.IdleBody, t.IdleBody},
		} {
			if f.v != 0 {
				*f.d = f.v
			}
		}
		return s
	}
	out := Config{Settings: over(c.Settings)}
	if len(c.Hosts) > 0 {
		out.Hosts = make(map[string]Settings, len(c.Hosts))
		for k, s := range c.Hosts {
			out.Hosts[k] = over(s)
		}
	}
	return out
}

// InsecureHosts names the scopes that skip TLS verification ("*" for the
// default settings), for warnings.
func (c Config) InsecureHosts() []string {
	var out []string
	if c.TLS.InsecureSkipVerify {
		out = append(out, "*")
	}
	for k, s := range c.Hosts {
		if s.TLS.InsecureSkipVerify && !c.TLS.InsecureSkipVerify {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// key identifies the effective settings: equal keys, equal transports.
func (c Config) key() (string, error) {
	d := Config{Settings: c.Settings.withDefaults(), Hosts: map[string]Settings{}}
	for k, s := range c.Hosts {
		d.Hosts[k] = s.withDefaults()
	}
	b, err := json.Marshal(d)
	return string(b), err
}

// config builds the tls.Config; file errors name the file.
func (t TLS) config() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // only where the user asks
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("caFile: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("caFile %s: no PEM certificate in it", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.ClientCertFile != "" || t.ClientKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.ClientCertFile, t.ClientKeyFile)
		if err != nil {
			return nil, fmt.Errorf("clientCertFile %s / clientKeyFile %s: %w", t.ClientCertFile, t.ClientKeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// FromConfig turns the http.config.ocm.software entries of cfg (nil: none)
// into a Config. Unset fields keep our defaults; as in the reference, a
// configured zero means "no bound".
func FromConfig(cfg *config.Config) (Config, error) {
	if cfg == nil {
		return Config{}, nil
	}
	h, err := cfg.HTTP()
	if err != nil {
		return Config{}, err
	}
	out := Config{Settings: settingsOf(h.HTTPHost)}
	for k := range h.Hosts {
		if out.Hosts == nil {
			out.Hosts = map[string]Settings{}
		}
		out.Hosts[k] = settingsOf(h.ForHost(k))
	}
	return out, nil
}

// bound maps a configured duration: unset → 0 (our default), 0 → -1 (no
// bound), else itself.
func bound(d *config.Duration) time.Duration {
	switch {
	case d == nil:
		return 0
	case *d == 0:
		return -1
	}
	return time.Duration(*d)
}

func settingsOf(h config.HTTPHost) Settings {
	s := Settings{
		Timeouts: Timeouts{
			Dial:           bound(h.TCPDialTimeout),
			TLSHandshake:   bound(h.TLSHandshakeTimeout),
			ResponseHeader: bound(h.ResponseHeaderTimeout),
			IdleBody:       bound(h.IdleBodyTimeout),
		},
		IdleConn: bound(h.IdleConnTimeout),
		TLS:      TLS{CAFile: h.CAFile, ClientCertFile: h.ClientCertFile, ClientKeyFile: h.ClientKeyFile},
	}
	if h.Timeout != nil {
		s.Total = time.Duration(*h.Timeout)
	}
	if h.TCPKeepAlive != nil {
		s.KeepAlive = time.Duration(*h.TCPKeepAlive)
		if s.KeepAlive == 0 {
			s.KeepAlive = DefaultKeepAlive
		}
	}
	if h.InsecureSkipVerify != nil {
		s.TLS.InsecureSkipVerify = *h.InsecureSkipVerify
	}
	if r := h.Retry; r != nil {
		if r.MaxRetries != nil {
			switch n := *r.MaxRetries; {
			case n == 0: // the reference's "no bound"
				s.Retry.MaxRetries = math.MaxInt32
			default:
				s.Retry.MaxRetries = n
			}
		}
		if r.MinWait != nil {
			s.Retry.MinWait = time.Duration(*r.MinWait)
		}
		if r.MaxWait != nil {
			s.Retry.MaxWait = time.Duration(*r.MaxWait)
		}
	}
	return s
}
