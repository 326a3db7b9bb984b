package deployer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/compatgate"
	"github.com/ocmgo/ocm/controller/internal/status"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository"
)

// maxConditionMessage keeps the Compatible message readable (one line per
// distinct node profile can grow long).
const maxConditionMessage = 2000

// checkCompatibility evaluates the image-compatibility specs of the
// deployed component version against the cluster, sets the Compatible
// condition and, under Enforce, stops the apply while no node is known to
// match. It never undeploys: what was applied stays until a later apply.
func (r *Reconciler) checkCompatibility(ctx context.Context, obj *v1alpha1.Deployer, repo repository.Repository, cd *descriptor.Descriptor) error {
	r.cluster.ensureNodeFeatures(r.RESTMapper())
	out, err := compatgate.Check(ctx, r.APIReader, repo, cd, obj.Spec.Compatibility)
	if err != nil {
		if errors.Is(err, compatgate.ErrListing) {
			return status.Retry(compatgate.ReasonIncompatibleCluster, err)
		}
		return status.Stall(v1alpha1.VerificationFailedReason, fmt.Errorf("image compatibility: %w", err))
	}
	before := apimeta.FindStatusCondition(obj.Status.Conditions, compatgate.ConditionType)
	if out == nil {
		apimeta.RemoveStatusCondition(&obj.Status.Conditions, compatgate.ConditionType)
		return nil
	}
	msg := out.Message
	if len(msg) > maxConditionMessage {
		msg = msg[:maxConditionMessage] + " …"
	}
	apimeta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{
		Type: compatgate.ConditionType, Status: out.Status, Reason: out.Reason, Message: msg, ObservedGeneration: obj.Generation,
	})
	changed := before == nil || before.Status != out.Status
	if r.Recorder != nil && changed {
		kind := "Normal"
		if out.Status != metav1.ConditionTrue {
			kind = "Warning"
		}
		r.Recorder.Eventf(obj, nil, kind, out.Reason, "CheckCompatibility", "%s", msg)
	}
	if out.Block {
		return status.Stall(compatgate.ReasonIncompatibleCluster, fmt.Errorf("policy Enforce: %s", msg))
	}
	return nil
}

// clusterWatcher re-queues the Deployers that check compatibility when
// nodes come, go or change labels, and when NFD's NodeFeatures change.
// Metadata-only informers: node status heartbeats are ignored.
type clusterWatcher struct {
	md     metadata.Interface
	list   func(ctx context.Context) []client.Object
	events chan event.GenericEvent

	mu       sync.Mutex
	ctx      context.Context
	features bool // NodeFeature informer started
}

// Start implements manager.Runnable.
func (w *clusterWatcher) Start(ctx context.Context) error {
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
	w.run(ctx, schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, true)
	<-ctx.Done()
	return nil
}

// NeedLeaderElection: only the leader reconciles.
func (w *clusterWatcher) NeedLeaderElection() bool { return true }

// ensureNodeFeatures starts the NodeFeature informer once NFD's CRD is
// known (it may be installed after the manager started).
func (w *clusterWatcher) ensureNodeFeatures(mapper apimeta.RESTMapper) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.features || w.ctx == nil {
		return
	}
	m, err := mapper.RESTMapping(compatgate.NodeFeatureGVK.GroupKind(), compatgate.NodeFeatureGVK.Version)
	if err != nil {
		return
	}
	w.features = true
	w.run(w.ctx, m.Resource, false)
}

func (w *clusterWatcher) run(ctx context.Context, gvr schema.GroupVersionResource, labelsOnly bool) {
	inf := metadatainformer.NewFilteredMetadataInformer(w.md, gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
	_ = inf.SetTransform(func(obj any) (any, error) {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			m.ManagedFields = nil
		}
		return obj, nil
	})
	var started atomic.Bool
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) {
			if started.Load() {
				w.notify(ctx)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*metav1.PartialObjectMetadata)
			n, ok2 := newObj.(*metav1.PartialObjectMetadata)
			if !ok1 || !ok2 || o.ResourceVersion == n.ResourceVersion {
				return
			}
			if labelsOnly && equalLabels(o.Labels, n.Labels) {
				return
			}
			w.notify(ctx)
		},
		DeleteFunc: func(any) { w.notify(ctx) },
	})
	go inf.RunWithContext(ctx)
	go func() {
		if cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			started.Store(true)
			w.notify(ctx) // a new source of features: check again
		}
	}()
}

func equalLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func (w *clusterWatcher) notify(ctx context.Context) {
	for _, d := range w.list(ctx) {
		select {
		case w.events <- event.GenericEvent{Object: d}:
		default: // a full queue means reconciles are pending anyway
		}
	}
}

// compatDeployers lists the Deployers for which the cluster matters.
func (r *Reconciler) compatDeployers(ctx context.Context) []client.Object {
	var list v1alpha1.DeployerList
	if err := r.List(ctx, &list); err != nil {
		return nil
	}
	var out []client.Object
	for i := range list.Items {
		d := &list.Items[i]
		if (d.Spec.Compatibility != nil && d.Spec.Compatibility.Policy != v1alpha1.CompatibilityPolicyIgnore) ||
			apimeta.FindStatusCondition(d.Status.Conditions, compatgate.ConditionType) != nil {
			out = append(out, &v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: d.Name}})
		}
	}
	return out
}
