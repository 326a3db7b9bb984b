package status

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/metrics"
)

// Backoff bounds of the retry rate limiter: failures are retried after
// BackoffBase, doubling up to BackoffMax, so an unreachable registry costs a
// handful of attempts per minute, not a hot loop.
const (
	BackoffBase = 500 * time.Millisecond
	BackoffMax  = 5 * time.Minute
)

// RateLimiter returns the per-object exponential backoff for failed
// reconciles used by every controller of this module.
func RateLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](BackoffBase, BackoffMax)
}

// SpecChanged lets through updates that change the spec (generation),
// annotations (e.g. a reconcile request) or finalizers, but not the status
// writes of the controller itself, which would otherwise trigger a
// reconcile each.
func SpecChanged() builder.Predicates {
	return builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, finalizersChanged))
}

var finalizersChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	if e.ObjectOld == nil || e.ObjectNew == nil {
		return false
	}
	return !slices.Equal(e.ObjectOld.GetFinalizers(), e.ObjectNew.GetFinalizers())
}}

// PatchStatus writes obj's status as a merge patch against base (the
// object as read); an unchanged status sends an empty patch, which the API
// server ignores without a new resource version.
func PatchStatus(ctx context.Context, c client.Client, obj, base client.Object) error {
	// A deleted object has no status to write: not an error.
	if err := client.IgnoreNotFound(c.Status().Patch(ctx, obj, client.MergeFrom(base))); err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	return nil
}

// EnsureFinalizer adds the finalizer when missing, with a patch of the
// metadata only.
func EnsureFinalizer(ctx context.Context, c client.Client, obj client.Object, finalizer string) error {
	if controllerutil.ContainsFinalizer(obj, finalizer) {
		return nil
	}
	base := obj.DeepCopyObject().(client.Object)
	controllerutil.AddFinalizer(obj, finalizer)
	if err := c.Patch(ctx, obj, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("adding finalizer %s: %w", finalizer, err)
	}
	return nil
}

// RemoveFinalizer removes the finalizer, with a patch of the metadata only.
func RemoveFinalizer(ctx context.Context, c client.Client, obj client.Object, finalizer string) error {
	if !controllerutil.ContainsFinalizer(obj, finalizer) {
		return nil
	}
	base := obj.DeepCopyObject().(client.Object)
	controllerutil.RemoveFinalizer(obj, finalizer)
	if err := client.IgnoreNotFound(c.Patch(ctx, obj, client.MergeFrom(base))); err != nil {
		return fmt.Errorf("removing finalizer %s: %w", finalizer, err)
	}
	return nil
}

// Lifecycle is what every reconciler of this module does around its own
// work: load the object, hand an object being deleted to Finalize, make
// sure the finalizers are set, bound the work by spec.timeout (else
// Timeout), write the status once at the end (a merge patch against the
// object as read) with an event when Ready changes, report a handled
// reconcile request (status.lastHandledReconcileAt), record metrics, log a
// refusal, and stop while the object is suspended.
type Lifecycle[T Object] struct {
	Client     client.Client
	Recorder   Recorder
	Kind       string
	Finalizers []string
	Finalize   func(ctx context.Context, obj T) (ctrl.Result, error)
	Suspended  func(obj T) bool
	// Timeout bounds one reconciliation unless spec.timeout is set; zero
	// means unbounded.
	Timeout time.Duration
}

// Run reconciles the object req names into obj (an empty object of the
// kind) with reconcile.
func (l Lifecycle[T]) Run(ctx context.Context, req ctrl.Request, obj T, reconcile func(ctx context.Context, obj T) (ctrl.Result, error)) (result ctrl.Result, retErr error) {
	if err := l.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			metrics.Forget(l.Kind, req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		return l.Finalize(ctx, obj)
	}
	// Finalizers first: an object deleted in the middle of the work is
	// still cleaned up.
	for _, f := range l.Finalizers {
		if err := EnsureFinalizer(ctx, l.Client, obj, f); err != nil {
			return ctrl.Result{}, err
		}
	}
	base := obj.DeepCopyObject().(T)
	before := Ready(obj)
	start := time.Now()
	suspended := l.Suspended(obj)
	defer func() {
		if v, ok := obj.GetAnnotations()[v1alpha1.ReconcileRequestAnnotation]; ok {
			obj.SetLastHandledReconcileAt(v)
		}
		if err := PatchStatus(ctx, l.Client, obj, base); err != nil {
			retErr = errors.Join(retErr, err)
		}
		RecordTransition(l.Recorder, obj, before)
		res := outcome(obj, suspended, retErr)
		metrics.RecordReconcile(l.Kind, obj.GetNamespace(), obj.GetName(), time.Since(start), res, suspended, obj.GetConditions())
		if res == metrics.ResultStalled {
			c := apimeta.FindStatusCondition(obj.GetConditions(), v1alpha1.StalledCondition)
			log.FromContext(ctx).Info("refused", "reason", c.Reason, "message", c.Message)
		}
	}()
	if suspended {
		MarkSuspended(obj)
		return ctrl.Result{}, nil
	}
	timeout := l.Timeout
	if t := obj.GetTimeout(); t != nil && t.Duration > 0 {
		timeout = t.Duration
	}
	if timeout > 0 {
		// The status write above keeps ctx: it must not inherit this
		// deadline.
		rctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return reconcile(rctx, obj)
	}
	return reconcile(ctx, obj)
}

// outcome classifies a finished reconciliation for metrics.
func outcome(obj Object, suspended bool, err error) string {
	switch {
	case suspended:
		return metrics.ResultSuspended
	case apimeta.IsStatusConditionTrue(obj.GetConditions(), v1alpha1.StalledCondition):
		return metrics.ResultStalled
	case err != nil:
		return metrics.ResultRetry
	case apimeta.IsStatusConditionTrue(obj.GetConditions(), v1alpha1.ReadyCondition):
		return metrics.ResultSuccess
	}
	return metrics.ResultProgressing
}
