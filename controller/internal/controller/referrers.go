// Package controller holds what the reconcilers of this module share:
// finding the objects that reference an object (for deletion guards and for
// watches that fan out to referrers).
package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/status"
)

// Referrers lists, as "Kind namespace/name", the objects that reference the
// object of kind (Repository, Component or Resource) at key: Components and
// Replications for a Repository, Resources and Replications for a Component,
// Deployers for a Resource. Objects being deleted do not count.
func Referrers(ctx context.Context, c client.Reader, kind string, key types.NamespacedName) ([]string, error) {
	var out []string
	add := func(k string, obj client.Object) {
		if !obj.GetDeletionTimestamp().IsZero() {
			return
		}
		name := obj.GetName()
		if ns := obj.GetNamespace(); ns != "" {
			name = ns + "/" + name
		}
		out = append(out, k+" "+name)
	}
	inNS := client.InNamespace(key.Namespace)
	switch kind {
	case v1alpha1.KindRepository:
		var comps v1alpha1.ComponentList
		if err := c.List(ctx, &comps, inNS); err != nil {
			return nil, fmt.Errorf("listing components: %w", err)
		}
		for i := range comps.Items {
			if comps.Items[i].Spec.RepositoryRef.Name == key.Name {
				add(v1alpha1.KindComponent, &comps.Items[i])
			}
		}
		var reps v1alpha1.ReplicationList
		if err := c.List(ctx, &reps, inNS); err != nil {
			return nil, fmt.Errorf("listing replications: %w", err)
		}
		for i := range reps.Items {
			if reps.Items[i].Spec.TargetRepositoryRef.Name == key.Name {
				add(v1alpha1.KindReplication, &reps.Items[i])
			}
		}
	case v1alpha1.KindComponent:
		var res v1alpha1.ResourceList
		if err := c.List(ctx, &res, inNS); err != nil {
			return nil, fmt.Errorf("listing resources: %w", err)
		}
		for i := range res.Items {
			if res.Items[i].Spec.ComponentRef.Name == key.Name {
				add(v1alpha1.KindResource, &res.Items[i])
			}
		}
		var reps v1alpha1.ReplicationList
		if err := c.List(ctx, &reps, inNS); err != nil {
			return nil, fmt.Errorf("listing replications: %w", err)
		}
		for i := range reps.Items {
			if reps.Items[i].Spec.ComponentRef.Name == key.Name {
				add(v1alpha1.KindReplication, &reps.Items[i])
			}
		}
	case v1alpha1.KindResource:
		var deps v1alpha1.DeployerList
		if err := c.List(ctx, &deps); err != nil {
			return nil, fmt.Errorf("listing deployers: %w", err)
		}
		for i := range deps.Items {
			ref := deps.Items[i].Spec.ResourceRef
			if ref.Name == key.Name && ref.Namespace == key.Namespace {
				add(v1alpha1.KindDeployer, &deps.Items[i])
			}
		}
	default:
		return nil, fmt.Errorf("no referrers known for kind %s", kind)
	}
	return out, nil
}

// EnqueueReferrers maps an event on a referenced object to requests for
// the objects of the same namespace that reference it by name, as selected
// by refName (which returns the referenced name, or "").
func EnqueueReferrers[L client.ObjectList](c client.Reader, newList func() L, items func(L) []client.Object, refName func(client.Object) string) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		list := newList()
		if err := c.List(ctx, list, client.InNamespace(obj.GetNamespace())); err != nil {
			// The cache only fails when it is not started; the referrers'
			// own interval picks the change up anyway.
			return nil
		}
		var reqs []reconcile.Request
		for _, it := range items(list) {
			if refName(it) == obj.GetName() {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(it)})
			}
		}
		return reqs
	})
}

// EnqueueReferenced maps an event on a referring object to a request for
// the object it references by name in its namespace (refName returns that
// name, or "" for none).
func EnqueueReferenced(refName func(client.Object) string) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
		name := refName(obj)
		if name == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}}}
	})
}

// OnDelete passes the events that can release a finalizer of a referenced
// object: a referrer being marked for deletion or going away.
func OnDelete() builder.Predicates {
	return builder.WithPredicates(predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectNew != nil && !e.ObjectNew.GetDeletionTimestamp().IsZero()
		},
	})
}

// ReleaseWhenUnreferenced is the finalizer step of an object that others
// reference by name (a Repository, Component or Resource): it removes
// finalizer once no object references obj; until then the deletion waits,
// Ready says who holds it, and the referrers going away re-trigger obj
// through the watches (the requeue is a safety net only). Referrers are
// listed through live, an uncached reader: a referrer created just before
// the deletion may not be in the cache yet, and releasing on a stale list
// would delete what it still uses.
func ReleaseWhenUnreferenced[T status.Object](ctx context.Context, c client.Client, live client.Reader, rec status.Recorder, obj T, kind, finalizer string) (ctrl.Result, error) {
	holders, err := Referrers(ctx, live, kind, client.ObjectKeyFromObject(obj))
	if err != nil {
		return ctrl.Result{}, err
	}
	if len(holders) > 0 {
		base := obj.DeepCopyObject().(T)
		before := status.Ready(obj)
		status.MarkStalled(obj, v1alpha1.DeletionBlockedReason, fmt.Errorf("deletion waits until no object references the %s: %v", strings.ToLower(kind), holders))
		status.RecordTransition(rec, obj, before)
		return ctrl.Result{RequeueAfter: time.Minute}, status.PatchStatus(ctx, c, obj, base)
	}
	return ctrl.Result{}, status.RemoveFinalizer(ctx, c, obj, finalizer)
}
