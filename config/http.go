package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"
)

// HTTPType configures the HTTP clients (registries and external content),
// as the reference's http.config.ocm.software/v1alpha1.
const HTTPType = "http.config.ocm.software"

// Duration is a duration written as a Go duration string ("30s", "5m") or
// a number of nanoseconds, as the reference accepts both.
type Duration time.Duration

// UnmarshalJSON reads "30s" or 30000000000.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch t := v.(type) {
	case float64:
		*d = Duration(time.Duration(t))
	case string:
		p, err := time.ParseDuration(t)
		if err != nil {
			return fmt.Errorf("invalid duration %q (want e.g. 30s, 5m or nanoseconds)", t)
		}
		*d = Duration(p)
	default:
		return fmt.Errorf("a duration must be a string like 30s or a number of nanoseconds, not %s", string(b))
	}
	return nil
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// HTTPTimeouts are the timeout fields of an HTTP configuration. Nil means
// "not set here" (inherit, or the default); as in the reference, zero means
// no bound.
type HTTPTimeouts struct {
	// Timeout bounds a whole request including its body (off by default:
	// it would cut a large blob on a slow link; see IdleBodyTimeout).
	Timeout *Duration `json:"timeout,omitempty"`
	// TCPDialTimeout bounds connecting.
	TCPDialTimeout *Duration `json:"tcpDialTimeout,omitempty"`
	// TCPKeepAlive is the keep-alive probe interval (negative: none).
	TCPKeepAlive *Duration `json:"tcpKeepAlive,omitempty"`
	// TLSHandshakeTimeout bounds the TLS handshake.
	TLSHandshakeTimeout *Duration `json:"tlsHandshakeTimeout,omitempty"`
	// ResponseHeaderTimeout bounds the wait for response headers.
	ResponseHeaderTimeout *Duration `json:"responseHeaderTimeout,omitempty"`
	// IdleConnTimeout closes pooled connections idle this long.
	IdleConnTimeout *Duration `json:"idleConnTimeout,omitempty"`
	// IdleBodyTimeout (ours) bounds a body transfer that makes no progress:
	// no byte received (or sent) for this long.
	IdleBodyTimeout *Duration `json:"idleBodyTimeout,omitempty"`
}

// HTTPTLS are the TLS fields. InsecureSkipVerify is the reference's; the
// file fields are ours (relative paths resolve against the directory of
// the configuration file that names them).
type HTTPTLS struct {
	InsecureSkipVerify *bool `json:"insecureSkipVerify,omitempty"`
	// CAFile is a PEM file of CA certificates trusted besides the system's.
	CAFile string `json:"caFile,omitempty"`
	// ClientCertFile and ClientKeyFile are a PEM client certificate (chain)
	// and its key, presented to servers that ask for one (mutual TLS).
	ClientCertFile string `json:"clientCertFile,omitempty"`
	ClientKeyFile  string `json:"clientKeyFile,omitempty"`
}

// HTTPRetry is the retry policy for transient registry failures (5xx,
// 429, network errors): MaxRetries -1 disables retries, 0 retries without
// bound, nil keeps the default (5); waits grow exponentially between
// MinWait (200ms) and MaxWait (3s).
type HTTPRetry struct {
	MaxRetries *int      `json:"maxRetries,omitempty"`
	MinWait    *Duration `json:"minWait,omitempty"`
	MaxWait    *Duration `json:"maxWait,omitempty"`
}

// HTTPHost are the settings of one host; set fields override the global
// ones.
type HTTPHost struct {
	HTTPTimeouts
	HTTPTLS
	Retry *HTTPRetry `json:"retry,omitempty"`
}

// HTTPConfig is the merged http.config.ocm.software configuration.
type HTTPConfig struct {
	HTTPHost
	// Hosts maps "host" (every port) or "host:port" to its overrides.
	Hosts map[string]HTTPHost `json:"hosts,omitempty"`
}

// HTTPField is one field of a global or host entry.
type HTTPField struct {
	Name, Type string
}

// HTTPFields lists the fields of a global or host entry (the JSON names of
// HTTPHost), so that documentation and the unknown-field check follow the
// struct.
func HTTPFields() []HTTPField {
	var out []HTTPField
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			typ := "string"
			switch ft := f.Type; {
			case ft == reflect.TypeOf((*Duration)(nil)):
				typ = "duration"
			case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Bool:
				typ = "bool"
			case ft == reflect.TypeOf((*HTTPRetry)(nil)):
				typ = "{maxRetries, minWait, maxWait}"
			}
			out = append(out, HTTPField{Name: name, Type: typ})
		}
	}
	walk(reflect.TypeOf(HTTPHost{}))
	return out
}

var httpFields = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range HTTPFields() {
		m[f.Name] = true
	}
	return m
}()

// unknownHTTPFields names fields of an http configuration entry that
// nothing reads, as paths ("hosts[\"h\"].tls").
func unknownHTTPFields(raw json.RawMessage) []string {
	var doc map[string]json.RawMessage
	if json.Unmarshal(raw, &doc) != nil {
		return nil
	}
	var out []string
	check := func(prefix string, m map[string]json.RawMessage, extra ...string) {
		for k := range m {
			if httpFields[k] || k == "type" && prefix == "" {
				continue
			}
			if len(extra) > 0 && k == extra[0] {
				continue
			}
			out = append(out, prefix+k)
		}
	}
	check("", doc, "hosts")
	var hosts map[string]map[string]json.RawMessage
	if h, ok := doc["hosts"]; ok && json.Unmarshal(h, &hosts) == nil {
		for name, m := range hosts {
			check(fmt.Sprintf("hosts[%q].", name), m)
		}
	}
	for _, scope := range append([]map[string]json.RawMessage{doc}, valuesOf(hosts)...) {
		var r map[string]json.RawMessage
		if scope["retry"] != nil && json.Unmarshal(scope["retry"], &r) == nil {
			for k := range r {
				if k != "maxRetries" && k != "minWait" && k != "maxWait" {
					out = append(out, "retry."+k)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func valuesOf(m map[string]map[string]json.RawMessage) []map[string]json.RawMessage {
	out := make([]map[string]json.RawMessage, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// HTTP returns the merged HTTP configuration: entries in precedence order,
// set fields of later entries overriding earlier ones, host entries merged
// per key. Errors name the file and the field.
func (c *Config) HTTP() (HTTPConfig, error) {
	var out HTTPConfig
	for _, e := range c.EntriesOfType(HTTPType) {
		var h HTTPConfig
		dec := json.NewDecoder(bytes.NewReader(e.Raw))
		if err := dec.Decode(&h); err != nil {
			return HTTPConfig{}, fmt.Errorf("config file %s: %s: %w", e.Source, e.Type, err)
		}
		dir := ""
		if e.Source != "" {
			dir = filepath.Dir(e.Source)
		}
		h.resolveFiles(dir)
		if err := h.validate(); err != nil {
			return HTTPConfig{}, fmt.Errorf("config file %s: %s: %w", e.Source, e.Type, err)
		}
		out.HTTPHost = mergeHost(out.HTTPHost, h.HTTPHost)
		for k, v := range h.Hosts {
			if out.Hosts == nil {
				out.Hosts = map[string]HTTPHost{}
			}
			out.Hosts[strings.ToLower(k)] = mergeHost(out.Hosts[strings.ToLower(k)], v)
		}
	}
	return out, nil
}

// ForHost returns the settings in effect for host (a URL host, host:port
// or [v6]:port): the global ones overridden by the entry for "host:port",
// or else by the entry for the host name alone.
func (h HTTPConfig) ForHost(host string) HTTPHost {
	for _, k := range HostKeys(host) {
		if o, ok := h.Hosts[k]; ok {
			return mergeHost(h.HTTPHost, o)
		}
	}
	return h.HTTPHost
}

// HostKeys are the Hosts keys that apply to host, most specific first.
func HostKeys(host string) []string {
	host = strings.ToLower(host)
	if host == "" {
		return nil
	}
	if name := (&url.URL{Host: host}).Hostname(); name != host {
		return []string{host, name}
	}
	return []string{host}
}

// resolveFiles makes the TLS files of h and its hosts relative to dir
// (the configuration file's directory).
func (h *HTTPConfig) resolveFiles(dir string) {
	h.HTTPTLS.resolveFiles(dir)
	for k, v := range h.Hosts {
		v.HTTPTLS.resolveFiles(dir)
		h.Hosts[k] = v
	}
}

func (t *HTTPTLS) resolveFiles(dir string) {
	for _, p := range []*string{&t.CAFile, &t.ClientCertFile, &t.ClientKeyFile} {
		if *p != "" && !filepath.IsAbs(*p) && dir != "" {
			*p = filepath.Join(dir, *p)
		}
	}
}

func (h HTTPConfig) validate() error {
	if err := h.HTTPHost.validate(); err != nil {
		return err
	}
	keys := make([]string, 0, len(h.Hosts))
	for k := range h.Hosts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "" || strings.ContainsAny(k, "/ ") {
			return fmt.Errorf("hosts[%q]: a key is a host name or host:port", k)
		}
		v := h.Hosts[k]
		if err := v.validate(); err != nil {
			return fmt.Errorf("hosts[%q].%w", k, err)
		}
	}
	return nil
}

type fieldError struct {
	field string
	msg   string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func (h HTTPHost) validate() error {
	for _, f := range []struct {
		name string
		v    *Duration
	}{
		{"timeout", h.Timeout}, {"tcpDialTimeout", h.TCPDialTimeout}, {"tlsHandshakeTimeout", h.TLSHandshakeTimeout},
		{"responseHeaderTimeout", h.ResponseHeaderTimeout}, {"idleConnTimeout", h.IdleConnTimeout}, {"idleBodyTimeout", h.IdleBodyTimeout},
	} {
		if f.v != nil && *f.v < 0 {
			return &fieldError{f.name, fmt.Sprintf("%s is negative (0 means no bound)", time.Duration(*f.v))}
		}
	}
	if (h.ClientCertFile == "") != (h.ClientKeyFile == "") {
		return &fieldError{"clientCertFile", "clientCertFile and clientKeyFile go together"}
	}
	if r := h.Retry; r != nil {
		if r.MaxRetries != nil && *r.MaxRetries < -1 {
			return &fieldError{"retry.maxRetries", fmt.Sprintf("%d (want -1 to disable, 0 for no bound, or a positive count)", *r.MaxRetries)}
		}
		if r.MinWait != nil && *r.MinWait < 0 || r.MaxWait != nil && *r.MaxWait < 0 {
			return &fieldError{"retry", "minWait and maxWait must not be negative"}
		}
		if r.MinWait != nil && r.MaxWait != nil && *r.MinWait > *r.MaxWait {
			return &fieldError{"retry.minWait", fmt.Sprintf("%s exceeds maxWait %s", time.Duration(*r.MinWait), time.Duration(*r.MaxWait))}
		}
	}
	return nil
}

func mergeHost(dst, src HTTPHost) HTTPHost {
	set := func(d **Duration, s *Duration) {
		if s != nil {
			*d = s
		}
	}
	set(&dst.Timeout, src.Timeout)
	set(&dst.TCPDialTimeout, src.TCPDialTimeout)
	set(&dst.TCPKeepAlive, src.TCPKeepAlive)
	set(&dst.TLSHandshakeTimeout, src.TLSHandshakeTimeout)
	set(&dst.ResponseHeaderTimeout, src.ResponseHeaderTimeout)
	set(&dst.IdleConnTimeout, src.IdleConnTimeout)
	set(&dst.IdleBodyTimeout, src.IdleBodyTimeout)
	if src.InsecureSkipVerify != nil {
		dst.InsecureSkipVerify = src.InsecureSkipVerify
	}
	for _, f := range []struct{ d, s *string }{{&dst.CAFile, &src.CAFile}, {&dst.ClientCertFile, &src.ClientCertFile}, {&dst.ClientKeyFile, &src.ClientKeyFile}} {
		if *f.s != "" {
			*f.d = *f.s
		}
	}
	if src.Retry != nil {
		r := HTTPRetry{}
		if dst.Retry != nil {
			r = *dst.Retry
		}
		if src.Retry.MaxRetries != nil {
			r.MaxRetries = src.Retry.MaxRetries
		}
		if src.Retry.MinWait != nil {
			r.MinWait = src.Retry.MinWait
		}
		if src.Retry.MaxWait != nil {
			r.MaxWait = src.Retry.MaxWait
		}
		dst.Retry = &r
	}
	return dst
}
