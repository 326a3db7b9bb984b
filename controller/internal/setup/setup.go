// Package setup registers every reconciler of the controller with a
// manager: one place for the manager binary and the end-to-end tests.
package setup

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/ocmgo/ocm/controller/internal/controller/component"
	"github.com/ocmgo/ocm/controller/internal/controller/deployer"
	"github.com/ocmgo/ocm/controller/internal/controller/replication"
	"github.com/ocmgo/ocm/controller/internal/controller/repository"
	"github.com/ocmgo/ocm/controller/internal/controller/resource"
	"github.com/ocmgo/ocm/httpclient"
)

// Options tune the reconcilers; zero values mean each one's default.
type Options struct {
	RepositoryConcurrency, ComponentConcurrency, ResourceConcurrency int
	// DeployerCacheDir and DeployerCacheMaxBytes configure the Deployer's
	// download cache (defaults: a temp directory, 2 GiB; the manager also
	// reads OCM_DEPLOYER_* environment variables).
	DeployerCacheDir      string
	DeployerCacheMaxBytes int64
	// Timeouts bound the phases of every registry request of every
	// reconciler (zero fields: the library's defaults).
	Timeouts httpclient.Timeouts
}

// All registers the Repository, Component, Resource, Deployer and
// Replication reconcilers.
func All(mgr ctrl.Manager, o Options) error {
	rec := mgr.GetEventRecorder("ocm-controller")
	c, r := mgr.GetClient(), mgr.GetAPIReader()
	if err := (&repository.Reconciler{Client: c, APIReader: r, Recorder: rec, Concurrency: o.RepositoryConcurrency, Timeouts: o.Timeouts}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("repository controller: %w", err)
	}
	if err := (&component.Reconciler{Client: c, APIReader: r, Recorder: rec, Concurrency: o.ComponentConcurrency, Timeouts: o.Timeouts}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("component controller: %w", err)
	}
	if err := (&resource.Reconciler{Client: c, APIReader: r, Recorder: rec, Concurrency: o.ResourceConcurrency, Timeouts: o.Timeouts}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("resource controller: %w", err)
	}
	if err := (&deployer.Reconciler{Client: c, APIReader: r, Recorder: rec, CacheDir: o.DeployerCacheDir, CacheMaxBytes: o.DeployerCacheMaxBytes, Timeouts: o.Timeouts}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("deployer controller: %w", err)
	}
	if err := (&replication.Reconciler{Client: c, APIReader: r, Recorder: rec, Timeouts: o.Timeouts}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("replication controller: %w", err)
	}
	return nil
}
