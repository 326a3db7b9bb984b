package status

import (
	"context"
	"fmt"
	"slices"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
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
	if err := c.Status().Patch(ctx, obj, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("writing status: %w", client.IgnoreNotFound(err))
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
	if err := c.Patch(ctx, obj, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("removing finalizer %s: %w", finalizer, client.IgnoreNotFound(err))
	}
	return nil
}
