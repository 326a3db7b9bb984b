package controller

import (
	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/httpclient"
	"github.com/ocmgo/ocm/repository"
)

// RepoOptions are the library options of every registry access of the
// reconcilers: the object's effective configuration and the manager's HTTP
// timeouts, so that a silent registry fails a reconcile instead of holding
// a worker.
func RepoOptions(cfg *config.Config, t httpclient.Timeouts) repository.Options {
	return repository.Options{Config: cfg, Timeouts: t}
}
