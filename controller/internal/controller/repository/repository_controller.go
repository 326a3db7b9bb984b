// Package repository reconciles Repository objects: it checks that the OCM
// repository they name is reachable with their configuration, at every
// interval, and publishes their effective configuration for Components.
package repository

import (
	"context"
	"errors"
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	shared "github.com/ocmgo/ocm/controller/internal/controller"
	"github.com/ocmgo/ocm/controller/internal/ocm"
	"github.com/ocmgo/ocm/controller/internal/status"
)

// CheckTimeout bounds one reachability check, so that a registry that
// accepts connections but never answers cannot hold a worker.
const CheckTimeout = 30 * time.Second

// Reconciler reconciles Repositories.
type Reconciler struct {
	client.Client
	// APIReader reads Secrets and ConfigMaps uncached, so the manager needs
	// no cluster-wide watch on them.
	APIReader client.Reader
	Recorder  status.Recorder
	// Concurrency is the number of Repositories reconciled in parallel.
	Concurrency int
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
		Client: r.Client, Recorder: r.Recorder, Finalizers: []string{v1alpha1.RepositoryFinalizer}, Finalize: r.finalize,
		Suspended: func(o *v1alpha1.Repository) bool { return o.Spec.Suspend },
	}.Run(ctx, req, &v1alpha1.Repository{}, r.reconcile)
}

func (r *Reconciler) reconcile(ctx context.Context, obj *v1alpha1.Repository) (result ctrl.Result, retErr error) {
	interval := obj.Spec.Interval.Duration

	spec, err := ocm.ParseRepositorySpec(rawSpec(obj))
	if err != nil {
		status.MarkStalled(obj, v1alpha1.InvalidRepositorySpecReason, err)
		return ctrl.Result{RequeueAfter: interval}, nil
	}
	effective, err := ocm.EffectiveConfig(ctx, r.Client, obj, nil)
	if err != nil {
		status.MarkRetrying(obj, v1alpha1.GetConfigurationFailedReason, err)
		return ctrl.Result{}, err
	}
	cfg, err := ocm.LoadConfig(ctx, r.APIReader, effective)
	if err != nil {
		status.MarkRetrying(obj, v1alpha1.GetConfigurationFailedReason, err)
		return ctrl.Result{}, err
	}
	obj.Status.EffectiveOCMConfig = effective

	checkCtx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	if err := ocm.CheckReachable(checkCtx, spec, cfg); err != nil {
		if errors.Is(err, ocm.ErrInvalidSpec) {
			status.MarkStalled(obj, v1alpha1.InvalidRepositorySpecReason, err)
			return ctrl.Result{RequeueAfter: interval}, nil
		}
		err = fmt.Errorf("%s is not reachable: %w", spec, err)
		status.MarkRetrying(obj, v1alpha1.RepositoryUnreachableReason, err)
		log.FromContext(ctx).V(1).Info("repository unreachable", "repository", spec.String(), "error", err.Error())
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
