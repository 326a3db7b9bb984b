package access

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/httpclient"
)

// Consumer identity types of HTTP(S) sources, as the reference names them.
const (
	ConsumerHelmChartRepository = "HelmChartRepository"
	ConsumerWget                = "Wget"
)

// httpRequest is one request to an HTTP(S) source.
type httpRequest struct {
	url        string
	method     string
	header     map[string][]string
	body       []byte
	noRedirect bool
	// consumer is the credentials consumer type; credURL the URL whose
	// identity credentials are looked up for (the repository for charts).
	consumer, credURL string
}

// safeURLString drops user information, query and fragment, which may hold
// secrets, from a URL for messages.
func safeURLString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return safeURL(u)
}

func safeURL(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
	return c.String()
}

// urlIdentity is the consumer identity of a URL, the reference's way
// (type, scheme, hostname, port, path without leading slash).
func urlIdentity(consumer string, u *url.URL) map[string]string {
	id := map[string]string{config.IDType: consumer, config.IDHostname: u.Hostname()}
	if u.Scheme != "" {
		id[config.IDScheme] = u.Scheme
	}
	if p := u.Port(); p != "" {
		id[config.IDPort] = p
	}
	if p := strings.TrimPrefix(u.Path, "/"); p != "" {
		id[config.IDPath] = p
	}
	return id
}

func describeIdentity(id map[string]string) string {
	var parts []string
	for _, k := range []string{config.IDType, config.IDScheme, config.IDHostname, config.IDPort, config.IDPath} {
		if v := id[k]; v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// do sends req and returns a 2xx response; anything else is an error
// naming the URL (without secrets).
func (f *Fetcher) do(ctx context.Context, req httpRequest) (*http.Response, error) {
	u, err := url.Parse(req.url)
	if err != nil {
		return nil, fmt.Errorf("URL %s: %w", safeURLString(req.url), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %s: unsupported scheme %q (http or https)", safeURL(u), u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("URL %s: user information is not allowed in URLs; configure credentials for the consumer", safeURL(u))
	}
	credURL := u
	if req.credURL != "" {
		if credURL, err = url.Parse(req.credURL); err != nil {
			return nil, fmt.Errorf("URL %s: %w", safeURLString(req.credURL), err)
		}
	}
	id := urlIdentity(req.consumer, credURL)
	creds, haveCreds, err := f.opts.Config.CredentialsFor(id)
	if err != nil {
		return nil, err
	}
	// Credentials belong to the host they are configured for: a chart URL
	// on another host gets none.
	if haveCreds && !strings.EqualFold(credURL.Host, u.Host) {
		haveCreds = false
	}
	client, err := f.httpClient(u, req.noRedirect, creds, haveCreds)
	if err != nil {
		return nil, fmt.Errorf("URL %s: credentials from %s: %w", safeURL(u), creds.Source, err)
	}
	method := req.method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader // a typed nil *bytes.Reader would not be nil
	if len(req.body) > 0 {
		body = bytes.NewReader(req.body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("URL %s: %w", safeURL(u), err)
	}
	for k, vs := range req.header {
		for _, v := range vs {
			hreq.Header.Add(k, v)
		}
	}
	hreq.Header.Set("User-Agent", "ocmgo")
	if haveCreds {
		switch {
		case creds.Get(config.PropIdentityToken) != "":
			hreq.Header.Set("Authorization", "Bearer "+creds.Get(config.PropIdentityToken))
		case creds.Get(config.PropUsername) != "":
			hreq.SetBasicAuth(creds.Get(config.PropUsername), creds.Get(config.PropPassword))
		}
	}
	resp, err := client.Do(hreq)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %s: %w", method, safeURL(u), err)
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp, nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %w: the server answers %s (to %s) and the access does not follow redirects (noRedirect)",
			method, safeURL(u), ErrRedirect, resp.Status, safeURLString(resp.Header.Get("Location")))
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		resp.Body.Close()
		found := "none are configured"
		if haveCreds {
			found = "those from " + creds.Source + " were refused"
		}
		return nil, fmt.Errorf("%s %s: %w: %s; credentials for consumer %s: %s", method, safeURL(u), ErrUnauthorized, resp.Status, describeIdentity(id), found)
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %w (%s)", method, safeURL(u), ErrNotFound, resp.Status)
	default:
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %s", method, safeURL(u), resp.Status)
	}
}

// httpClient returns a client with the redirect policy and, when the
// credentials carry them, a client certificate and an extra CA.
func (f *Fetcher) httpClient(u *url.URL, noRedirect bool, creds config.Credentials, haveCreds bool) (*http.Client, error) {
	c, err := f.baseClient()
	if err != nil {
		return nil, err
	}
	max := f.opts.MaxRedirects
	c.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		if noRedirect {
			return http.ErrUseLastResponse
		}
		prev := via[len(via)-1]
		if prev.URL.Scheme == "https" && next.URL.Scheme != "https" {
			return fmt.Errorf("%w: %s redirects from https to %s", ErrRedirect, safeURL(prev.URL), safeURL(next.URL))
		}
		for _, v := range via {
			if v.URL.String() == next.URL.String() {
				return fmt.Errorf("%w: redirect loop: %s redirects back to %s", ErrRedirect, safeURL(prev.URL), safeURL(next.URL))
			}
		}
		if len(via) >= max {
			return fmt.Errorf("%w: more than %d redirects, the last to %s", ErrRedirect, max, safeURL(next.URL))
		}
		return nil
	}
	if !haveCreds {
		return c, nil
	}
	certPEM, keyPEM, err := clientCertificate(creds)
	if err != nil {
		return nil, err
	}
	caPEM := creds.Get(config.PropCertificateAuthority)
	if certPEM == nil && caPEM == "" {
		return c, nil
	}
	if u.Scheme != "https" {
		return c, nil
	}
	err = withTLS(c, func(tc *tls.Config) error {
		if certPEM != nil {
			cert, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				return fmt.Errorf("client certificate: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		if caPEM != "" {
			if err := addRootCAs(tc, []byte(caPEM)); err != nil {
				return fmt.Errorf("certificateAuthority: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// baseClient is a copy of the configured client, with the shared bounded
// transport of the HTTP configuration unless the client brings its own.
func (f *Fetcher) baseClient() (*http.Client, error) {
	c := &http.Client{}
	if f.opts.Client != nil {
		*c = *f.opts.Client
	}
	if c.Transport == nil {
		h, err := f.opts.repositoryOptions().HTTPConfig()
		if err != nil {
			return nil, err
		}
		if c.Transport, err = httpclient.SharedFor(h); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// withTLS gives c a clone of its transport whose TLS settings mutate changed.
func withTLS(c *http.Client, mutate func(*tls.Config) error) error {
	var (
		t   http.RoundTripper
		err error
	)
	switch bt := c.Transport.(type) {
	case nil:
		t, err = httpclient.CloneWithTLS(http.DefaultTransport.(*http.Transport), mutate)
	case *http.Transport:
		t, err = httpclient.CloneWithTLS(bt, mutate)
	case *httpclient.Transport:
		t, err = bt.WithTLS(mutate)
	default:
		return fmt.Errorf("cannot change TLS settings of a %T transport", c.Transport)
	}
	if err != nil {
		return err
	}
	c.Transport = t
	return nil
}

// addRootCAs trusts the PEM certificates in caPEM besides the roots tc has
// (the system's when it names none).
func addRootCAs(tc *tls.Config, caPEM []byte) error {
	pool := tc.RootCAs
	if pool == nil {
		var err error
		if pool, err = x509.SystemCertPool(); err != nil {
			pool = x509.NewCertPool()
		}
	} else {
		pool = pool.Clone()
	}
	if !pool.AppendCertsFromPEM(caPEM) {
		return errors.New("no PEM certificate found")
	}
	tc.RootCAs = pool
	return nil
}

// clientCertificate reads a client certificate from inline PEM
// (certificate, privateKey: wget) or files (certFile, keyFile: Helm;
// relative to the config file that names them).
func clientCertificate(creds config.Credentials) (cert, key []byte, err error) {
	if c := creds.Get(config.PropCertificate); c != "" {
		return []byte(c), []byte(creds.Get(config.PropPrivateKey)), nil
	}
	cf, kf := creds.Get(config.PropCertFile), creds.Get(config.PropKeyFile)
	if cf == "" {
		return nil, nil, nil
	}
	read := func(p string) ([]byte, error) {
		if !filepath.IsAbs(p) && creds.Source != "" {
			p = filepath.Join(filepath.Dir(creds.Source), p)
		}
		return os.ReadFile(p)
	}
	if cert, err = read(cf); err != nil {
		return nil, nil, err
	}
	if key, err = read(kf); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}
