package deployer

import (
	"context"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
)

// driftWatcher runs one metadata-only informer per resource type the
// deployers applied, restricted to objects labelled as managed by the
// deployer. A change or deletion of such an object sends its controlling
// Deployer into the reconcile queue, which re-applies the desired state.
// Metadata informers keep only object metadata (managedFields stripped),
// so watching a 50 MiB bundle costs little memory.
type driftWatcher struct {
	client metadata.Interface
	events chan event.GenericEvent
	// mayWatch, if set, says whether the manager may list and watch gvr
	// cluster-wide. Without that right (deny by default, Deployers with a
	// ServiceAccount) no informer is started, which would fail and retry
	// forever; drift is then corrected at the interval.
	mayWatch func(ctx context.Context, gvr schema.GroupVersionResource) bool
	// denied holds when the right was last found missing, to ask again
	// only every deniedRecheck.
	denied map[schema.GroupVersionResource]time.Time

	mu        sync.Mutex
	ctx       context.Context
	informers map[schema.GroupVersionResource]struct{}
	pending   []schema.GroupVersionResource
}

func newDriftWatcher(c metadata.Interface) *driftWatcher {
	return &driftWatcher{client: c, events: make(chan event.GenericEvent, 1024), informers: map[schema.GroupVersionResource]struct{}{}, denied: map[schema.GroupVersionResource]time.Time{}}
}

// Start implements manager.Runnable: informers live as long as the manager.
func (w *driftWatcher) Start(ctx context.Context) error {
	w.mu.Lock()
	w.ctx = ctx
	pending := w.pending
	w.pending = nil
	w.mu.Unlock()
	for _, gvr := range pending {
		w.run(ctx, gvr)
	}
	<-ctx.Done()
	return nil
}

// NeedLeaderElection: only the leader reconciles, so only it needs the watches.
func (w *driftWatcher) NeedLeaderElection() bool { return true }

// deniedRecheck is how often a missing watch right is asked for again.
const deniedRecheck = 5 * time.Minute

// Ensure starts watching gvr once; it reports false when the manager may
// not watch gvr.
func (w *driftWatcher) Ensure(ctx context.Context, gvr schema.GroupVersionResource) bool {
	w.mu.Lock()
	_, ok := w.informers[gvr]
	at, wasDenied := w.denied[gvr]
	w.mu.Unlock()
	if ok {
		return true
	}
	if wasDenied && time.Since(at) < deniedRecheck {
		return false
	}
	if w.mayWatch != nil && !w.mayWatch(ctx, gvr) {
		w.mu.Lock()
		w.denied[gvr] = time.Now()
		w.mu.Unlock()
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.denied, gvr)
	if _, ok := w.informers[gvr]; ok {
		return true
	}
	w.informers[gvr] = struct{}{}
	if w.ctx == nil {
		w.pending = append(w.pending, gvr)
		return true
	}
	w.run(w.ctx, gvr)
	return true
}

func (w *driftWatcher) run(ctx context.Context, gvr schema.GroupVersionResource) {
	inf := metadatainformer.NewFilteredMetadataInformer(w.client, gvr, metav1.NamespaceAll, 0, cache.Indexers{}, func(o *metav1.ListOptions) {
		o.LabelSelector = labelManagedBy + "=" + managerName
	}).Informer()
	_ = inf.SetTransform(func(obj any) (any, error) {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			m.ManagedFields = nil
		}
		return obj, nil
	})
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		// Adds are the initial list or the deployer's own creations: no drift.
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*metav1.PartialObjectMetadata)
			n, ok2 := newObj.(*metav1.PartialObjectMetadata)
			if ok1 && ok2 && o.ResourceVersion != n.ResourceVersion {
				w.notify(n)
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
				w.notify(m)
			}
		},
	})
	go inf.RunWithContext(ctx)
}

// notify enqueues the Deployer that controls obj. The send never blocks an
// informer for long: a full queue means a reconcile is pending anyway.
func (w *driftWatcher) notify(obj *metav1.PartialObjectMetadata) {
	for _, ref := range obj.OwnerReferences {
		if ref.Controller == nil || !*ref.Controller || ref.Kind != v1alpha1.KindDeployer || ref.APIVersion != v1alpha1.GroupVersion.String() {
			continue
		}
		d := &v1alpha1.Deployer{}
		d.Name = ref.Name
		select {
		case w.events <- event.GenericEvent{Object: d}:
		case <-time.After(time.Second):
		}
	}
}
