package controller

import (
	"time"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/httpclient"
	"github.com/ocmgo/ocm/repository"
)

// httpConfig is the HTTP configuration of an object's remote accesses: the
// http.config.ocm.software entries of its effective configuration, with
// the manager's timeouts as defaults for the phases those leave unset, so
// that a silent registry fails a reconcile instead of holding a worker.
// Nil when the entries are invalid: opening with cfg then reports that.
func httpConfig(cfg *config.Config, defaults httpclient.Timeouts) *httpclient.Config {
	h, err := httpclient.FromConfig(cfg)
	if err != nil {
		return nil
	}
	fill := func(s httpclient.Settings) httpclient.Settings {
		for _, f := range []struct {
			d *time.Duration
			v time.Duration
		}{
			{&s.Dial, defaults.Dial}, {&s.TLSHandshake, defaults.TLSHandshake},
			{&s.ResponseHeader, defaults.ResponseHeader}, {&s.IdleBody, defaults.IdleBody},
		} {
			if *f.d == 0 {
				*f.d = f.v
			}
		}
		return s
	}
	h.Settings = fill(h.Settings)
	for k, s := range h.Hosts {
		h.Hosts[k] = fill(s)
	}
	return &h
}

// RepoOptions are the library options of every registry access of the
// reconcilers: the object's effective configuration (credentials, HTTP
// settings) and the manager's HTTP timeouts where that sets none.
func RepoOptions(cfg *config.Config, defaults httpclient.Timeouts) repository.Options {
	if h := httpConfig(cfg, defaults); h != nil {
		return repository.Options{Config: cfg, HTTP: h}
	}
	return repository.Options{Config: cfg, Timeouts: defaults}
}

// AccessOptions are RepoOptions for external content.
func AccessOptions(cfg *config.Config, defaults httpclient.Timeouts) access.Options {
	if h := httpConfig(cfg, defaults); h != nil {
		return access.Options{Config: cfg, HTTP: h}
	}
	return access.Options{Config: cfg, Timeouts: defaults}
}
