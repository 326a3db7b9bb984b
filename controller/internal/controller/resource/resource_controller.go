// Package resource reconciles Resource objects: it selects one resource of
// a Component's resolved version (by identity through a reference path, or
// by selector), re-checks that the version is the one the Component
// verified, optionally verifies the resource content against its digest,
// and publishes the resource, its access and, for OCI artifacts, where the
// artifact is.
package resource

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	shared "github.com/ocmgo/ocm/controller/internal/controller"
	"github.com/ocmgo/ocm/controller/internal/resolve"
	"github.com/ocmgo/ocm/controller/internal/status"
	"github.com/ocmgo/ocm/httpclient"
	"github.com/ocmgo/ocm/repository"
)

// ResolveTimeout bounds one reconciliation including the content check,
// which streams the resource, unless spec.timeout is set.
const ResolveTimeout = 10 * time.Minute

// DefaultInterval applies when neither the Resource nor its Component names one.
const DefaultInterval = 10 * time.Minute

// Reconciler reconciles Resources.
type Reconciler struct {
	client.Client
	// APIReader reads Secrets and ConfigMaps uncached.
	APIReader client.Reader
	Recorder  status.Recorder
	// Concurrency is the number of Resources reconciled in parallel.
	Concurrency int
	// Timeouts bound the phases of every registry request (zero fields:
	// the library's defaults).
	Timeouts httpclient.Timeouts
}

// +kubebuilder:rbac:groups=delivery.ocm.software,resources=resources,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=delivery.ocm.software,resources=resources/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=delivery.ocm.software,resources=resources/finalizers,verbs=update
// +kubebuilder:rbac:groups=delivery.ocm.software,resources=components;repositories;deployers,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets;configmaps,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile resolves one Resource.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return status.Lifecycle[*v1alpha1.Resource]{
		Client: r.Client, Recorder: r.Recorder, Kind: v1alpha1.KindResource, Timeout: ResolveTimeout,
		Finalizers: []string{v1alpha1.ResourceFinalizer}, Finalize: r.finalize,
		Suspended: func(o *v1alpha1.Resource) bool { return o.Spec.Suspend },
	}.Run(ctx, req, &v1alpha1.Resource{}, r.reconcile)
}

func (r *Reconciler) reconcile(ctx context.Context, obj *v1alpha1.Resource) (result ctrl.Result, retErr error) {

	comp := &v1alpha1.Component{}
	interval := obj.Spec.Interval.Duration
	if err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: obj.Spec.ComponentRef.Name}, comp); err != nil {
		if client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
		status.MarkReconciling(obj, v1alpha1.ReferenceNotReadyReason, "waiting for Component %s to exist", obj.Spec.ComponentRef.Name)
		return ctrl.Result{RequeueAfter: orDefault(interval, DefaultInterval)}, nil
	}
	if interval == 0 {
		interval = orDefault(comp.Spec.Interval.Duration, DefaultInterval)
	}
	if !status.IsReady(comp) || comp.Status.Component.Version == "" {
		// The Component's own message says why (e.g. a refused version).
		why := ""
		if c := status.Ready(comp); c != nil && c.Status == metav1.ConditionFalse && c.Message != "" {
			why = ": " + c.Message
		}
		status.MarkReconciling(obj, v1alpha1.ReferenceNotReadyReason, "waiting for Component %s to be ready%s", comp.Name, why)
		return ctrl.Result{RequeueAfter: interval}, nil
	}

	cfg, err := shared.Configure(ctx, r.Client, r.APIReader, obj, comp, &obj.Status.EffectiveOCMConfig)
	if err != nil {
		return status.Fail(obj, err, v1alpha1.GetConfigurationFailedReason, interval)
	}

	note, err := r.resolve(ctx, obj, comp, cfg)
	if errors.Is(err, errComponentDrift) {
		err = status.Retry(v1alpha1.ComponentDriftResolutionInProgress, err)
	}
	if err != nil {
		return status.Fail(obj, err, v1alpha1.GetOCMResourceFailedReason, interval)
	}
	status.MarkReady(obj, v1alpha1.SucceededReason, "resolved resource %s %s of %s:%s%s", obj.Status.Resource.Name, obj.Status.Resource.Version,
		obj.Status.Component.Component, obj.Status.Component.Version, note)
	return ctrl.Result{RequeueAfter: interval}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// resolve fills the status from the Component's version.
// The returned note describes the content verification for the Ready message.
func (r *Reconciler) resolve(ctx context.Context, obj *v1alpha1.Resource, comp *v1alpha1.Component, cfg *config.Config) (note string, err error) {
	ci := comp.Status.Component
	if ci.RepositorySpec == nil {
		return "", status.Stall(v1alpha1.ReferenceNotReadyReason, fmt.Errorf("the Component %s publishes no repository spec", comp.Name))
	}
	spec, err := repository.ParseSpec(ci.RepositorySpec.Raw)
	if err != nil {
		return "", status.Stall(v1alpha1.InvalidRepositorySpecReason, err)
	}
	lib, err := repository.OpenWithOptions(ctx, spec, shared.RepoOptions(cfg, r.Timeouts))
	if err != nil {
		return "", err
	}
	defer lib.Close()

	g, err := resolve.CheckGraph(ctx, lib, ci.Component, ci.Version)
	if err != nil {
		if errors.Is(err, resolve.ErrIntegrity) {
			return "", status.Stall(v1alpha1.VerificationFailedReason, err)
		}
		return "", err
	}
	// The version must still be the one the Component resolved and verified:
	// a version re-pushed since then is caught here and left to the
	// Component to re-verify.
	if ci.Digest != nil {
		got, err := resolve.DigestOf(g.Root.Digested, ci.Digest.NormalisationAlgorithm, ci.Digest.HashAlgorithm)
		if err != nil {
			return "", status.Stall(v1alpha1.VerificationFailedReason, err)
		}
		if got.Value != ci.Digest.Value {
			return "", fmt.Errorf("%s:%s changed since Component %s resolved it (digest %s, now %s); waiting for the Component to verify it again: %w",
				ci.Component, ci.Version, comp.Name, ci.Digest.Value, got.Value, errComponentDrift)
		}
	}
	var path []v1alpha1.Identity
	switch {
	case obj.Spec.Resource.ByReference != nil:
		path = obj.Spec.Resource.ByReference.ReferencePath
	case obj.Spec.Resource.BySelector != nil:
		path = obj.Spec.Resource.BySelector.ReferencePath
	}
	holder, via, err := g.Follow(path)
	if err != nil {
		return "", status.Stall(v1alpha1.GetReferenceFailedReason, err)
	}
	cd := holder.Digested
	idx, err := resolve.SelectResource(cd, obj.Spec.Resource)
	if err != nil {
		return "", status.Stall(v1alpha1.GetResourceFailedReason, err)
	}
	if obj.Spec.VerificationPolicy != v1alpha1.VerificationPolicyNever {
		switch err := resolve.VerifyResourceContent(ctx, lib, shared.RepoOptions(cfg, r.Timeouts), cd, idx); {
		case errors.Is(err, resolve.ErrContentNotReadable):
			// Like the reference, such content is not a failure: the
			// recorded digest stands, and the Ready message says so.
			note = fmt.Sprintf(", content not verified (%v; recorded digest trusted)", err)
		case errors.Is(err, resolve.ErrIntegrity):
			return "", status.Stall(v1alpha1.VerificationFailedReason, fmt.Errorf("%s:%s refused: %w", cd.Component.Name, cd.Component.Version, err))
		case err != nil:
			return "", err
		default:
			note = ", content verified"
		}
	}
	info, err := resolve.ResourceInfo(&cd.Component.Resources[idx])
	if err != nil {
		return "", status.Stall(v1alpha1.MarshalFailedReason, err)
	}
	oci, err := resolve.OCIArtifact(ctx, spec, lib, cd, idx)
	if err != nil {
		return "", err
	}
	holderInfo := &v1alpha1.ComponentInfo{RepositorySpec: ci.RepositorySpec.DeepCopy(), Component: cd.Component.Name, Version: cd.Component.Version, Digest: ci.Digest}
	if via != nil {
		// The referenced version's digest as the parent records it (and
		// as the graph check recomputed it).
		holderInfo.Digest = nil
		if via.Digest != nil {
			holderInfo.Digest = &v1alpha1.DigestSpec{HashAlgorithm: via.Digest.HashAlgorithm, NormalisationAlgorithm: via.Digest.NormalisationAlgorithm, Value: via.Digest.Value}
		}
	}
	additional, err := resolve.AdditionalStatusFields(obj.Spec.AdditionalStatusFields, info, holderInfo)
	if err != nil {
		return "", status.Stall(v1alpha1.InvalidSpecReason, err)
	}
	obj.Status.Resource = info
	obj.Status.OCIArtifact = oci
	obj.Status.Additional = additional
	obj.Status.Component = holderInfo
	return note, nil
}

var errComponentDrift = errors.New(v1alpha1.ComponentDriftResolutionInProgress)

// finalize releases the Resource once no Deployer references it.
func (r *Reconciler) finalize(ctx context.Context, obj *v1alpha1.Resource) (ctrl.Result, error) {
	return shared.ReleaseWhenUnreferenced(ctx, r.Client, r.APIReader, r.Recorder, obj, v1alpha1.KindResource, v1alpha1.ResourceFinalizer)
}

// SetupWithManager registers the reconciler. A Component change (a new
// version, readiness) re-triggers its Resources; a Deployer going away
// re-triggers the Resource it referenced.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	byComponent := shared.EnqueueReferrers(mgr.GetClient(),
		func() *v1alpha1.ResourceList { return &v1alpha1.ResourceList{} },
		func(l *v1alpha1.ResourceList) []client.Object {
			out := make([]client.Object, len(l.Items))
			for i := range l.Items {
				out[i] = &l.Items[i]
			}
			return out
		},
		func(o client.Object) string { return o.(*v1alpha1.Resource).Spec.ComponentRef.Name })
	byDeployer := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		ref := o.(*v1alpha1.Deployer).Spec.ResourceRef
		if ref.Name == "" || ref.Namespace == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Resource{}, status.SpecChanged()).
		Watches(&v1alpha1.Component{}, byComponent).
		Watches(&v1alpha1.Deployer{}, byDeployer, shared.OnDelete()).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1), RateLimiter: status.RateLimiter()}).
		Named("resource").
		Complete(r)
}
