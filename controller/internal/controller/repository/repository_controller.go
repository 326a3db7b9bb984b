// Package repository reconciles Repository objects: it checks that the OCM
// repository they name is reachable with their configuration, at every
// interval, and publishes their effective configuration for Components.
package repository

import (
	"context"
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	shared "github.com/ocmgo/ocm/controller/internal/controller"
	"github.com/ocmgo/ocm/controller/internal/status"
	"github.com/ocmgo/ocm/httpclient"
	"github.com/ocmgo/ocm/repository"
)

// CheckTimeout bounds one reachability check as a whole (unless
// spec.timeout is set), besides the per-phase HTTP timeouts (Timeouts), so
// that nothing can hold a worker.
const CheckTimeout = 30 * time.Second

// checkTimeout is CheckTimeout, or longer when the configured phases of
// one request add up to more: the phase that fires names itself.
func checkTimeout(t httpclient.Timeouts) time.Duration {
	t = t.WithDefaults()
	return max(CheckTimeout, t.Dial+t.TLSHandshake+t.ResponseHeader+time.Second)
}

// Reconciler reconciles Repositories.
type Reconciler struct {
	client.Client
	// APIReader reads Secrets and ConfigMaps uncached, so the manager needs
	// no cluster-wide watch on them.
	APIReader client.Reader
	Recorder  status.Recorder
	// Concurrency is the number of Repositories reconciled in parallel.
	Concurrency int
	// Timeouts bound the phases of every registry request (zero fields:
	// the library's defaults).
	Timeouts httpclient.Timeouts
}

// +kubebuilder:rbac:groups=delivery.ocm.software,resources=repositories,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=delivery.ocm.software,resources=repositories/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=delivery.ocm.software,resources=repositories/finalizers,verbs=update
// +kubebuilder:rbac:groups=delivery.ocm.software,resources=components;replications,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets;configmaps,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile checks one Repository.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return status.Lifecycle[*v1alpha1.Repository]{
		Client: r.Client, Recorder: r.Recorder, Kind: v1alpha1.KindRepository, Timeout: checkTimeout(r.Timeouts),
		Finalizers: []string{v1alpha1.RepositoryFinalizer}, Finalize: r.finalize,
		Suspended: func(o *v1alpha1.Repository) bool { return o.Spec.Suspend },
	}.Run(ctx, req, &v1alpha1.Repository{}, r.reconcile)
}

func (r *Reconciler) reconcile(ctx context.Context, obj *v1alpha1.Repository) (result ctrl.Result, retErr error) {
	interval := obj.Spec.Interval.Duration

	spec, err := repository.ParseSpec(rawSpec(obj))
	if err != nil {
		status.MarkStalled(obj, v1alpha1.InvalidRepositorySpecReason, err)
		return ctrl.Result{RequeueAfter: interval}, nil
	}
	cfg, err := shared.Configure(ctx, r.Client, r.APIReader, obj, nil, &obj.Status.EffectiveOCMConfig)
	if err != nil {
		return status.Fail(obj, err, v1alpha1.GetConfigurationFailedReason, interval)
	}

	if err := repository.Ping(ctx, spec, shared.RepoOptions(cfg, r.Timeouts)); err != nil {
		reason := status.RetryReason(err, v1alpha1.RepositoryUnreachableReason)
		err = fmt.Errorf("%s is not reachable: %w", spec, err)
		status.MarkRetrying(obj, reason, err)
		log.FromContext(ctx).Info("repository unreachable", "repository", spec.String(), "reason", reason, "error", err.Error())
		return ctrl.Result{}, err
	}
	status.MarkReady(obj, v1alpha1.SucceededReason, "%s is reachable", spec)
	return ctrl.Result{RequeueAfter: interval}, nil
}

func rawSpec(obj *v1alpha1.Repository) []byte {
	if obj.Spec.RepositorySpec == nil {
		return nil
	}
	return obj.Spec.RepositorySpec.Raw
}

// finalize releases the Repository once nothing references it any more;
// until then the deletion waits and the Ready condition says who holds it.
func (r *Reconciler) finalize(ctx context.Context, obj *v1alpha1.Repository) (ctrl.Result, error) {
	return shared.ReleaseWhenUnreferenced(ctx, r.Client, r.APIReader, r.Recorder, obj, v1alpha1.KindRepository, v1alpha1.RepositoryFinalizer)
}

// SetupWithManager registers the reconciler. Deleting a Component or
// Replication re-triggers the Repository it referenced, so that a pending
// deletion completes at once.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	byComponent := shared.EnqueueReferenced(func(o client.Object) string {
		return o.(*v1alpha1.Component).Spec.RepositoryRef.Name
	})
	byReplication := shared.EnqueueReferenced(func(o client.Object) string {
		return o.(*v1alpha1.Replication).Spec.TargetRepositoryRef.Name
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Repository{}, status.SpecChanged()).
		Watches(&v1alpha1.Component{}, byComponent, shared.OnDelete()).
		Watches(&v1alpha1.Replication{}, byReplication, shared.OnDelete()).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1), RateLimiter: status.RateLimiter()}).
		Named("repository").
		Complete(r)
}
