// Command manager runs the OCM controllers (delivery.ocm.software/v1alpha1):
// Repository, Component and Resource, and the Deployer and Replication
// controllers registered in setupReconcilers.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/setup"
	"github.com/ocmgo/ocm/httpclient"
)

// Leader election keeps its lease in the manager's namespace.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete

// options are the manager's command-line settings.
type options struct {
	metricsAddr           string
	probeAddr             string
	leaderElect           bool
	leaderElectionID      string
	leaderElectionNS      string
	repositoryConcurrency int
	componentConcurrency  int
	resourceConcurrency   int
	timeouts              httpclient.Timeouts
}

func main() {
	var o options
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", "0", "address of the metrics endpoint (e.g. :8080); 0 disables it")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	flag.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader, so that only one replica reconciles")
	flag.StringVar(&o.leaderElectionID, "leader-election-id", "controller.delivery.ocm.software", "name of the leader election lease")
	flag.StringVar(&o.leaderElectionNS, "leader-election-namespace", "", "namespace of the leader election lease (default: the manager's own namespace)")
	flag.IntVar(&o.repositoryConcurrency, "repository-controller-concurrency", 2, "Repositories reconciled in parallel")
	flag.IntVar(&o.componentConcurrency, "component-controller-concurrency", 4, "Components reconciled in parallel")
	flag.IntVar(&o.resourceConcurrency, "resource-controller-concurrency", 4, "Resources reconciled in parallel")
	flag.DurationVar(&o.timeouts.Dial, "http-dial-timeout", 0, fmt.Sprintf("bound on connecting to a registry (0: %s, negative: none)", httpclient.DefaultDial))
	flag.DurationVar(&o.timeouts.TLSHandshake, "http-tls-handshake-timeout", 0, fmt.Sprintf("bound on a registry's TLS handshake (0: %s, negative: none)", httpclient.DefaultTLSHandshake))
	flag.DurationVar(&o.timeouts.ResponseHeader, "http-response-header-timeout", 0, fmt.Sprintf("bound on waiting for a registry's response headers (0: %s, negative: none)", httpclient.DefaultResponseHeader))
	flag.DurationVar(&o.timeouts.IdleBody, "http-idle-body-timeout", 0, fmt.Sprintf("bound on a body transfer receiving or sending nothing; a slow transfer that keeps going is never cut (0: %s, negative: none)", httpclient.DefaultIdleBody))
	zopts := zap.Options{}
	zopts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zopts)))

	if err := run(ctrl.SetupSignalHandler(), ctrl.GetConfigOrDie(), o); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}

// NewScheme returns the scheme with the Kubernetes core kinds and this
// module's API.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}

// run runs the manager against the API server of cfg until ctx ends.
func run(ctx context.Context, cfg *rest.Config, o options) error {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  NewScheme(),
		Metrics:                 metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress:  o.probeAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        o.leaderElectionID,
		LeaderElectionNamespace: o.leaderElectionNS,
		// A stopping leader gives the lease up at once, so that a rolling
		// update hands over without waiting for the lease to expire. Safe
		// because the manager exits right after Start returns.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	if err := setup.All(mgr, setup.Options{RepositoryConcurrency: o.repositoryConcurrency, ComponentConcurrency: o.componentConcurrency, ResourceConcurrency: o.resourceConcurrency, Timeouts: o.timeouts}); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("ready check: %w", err)
	}
	return mgr.Start(ctx)
}
