// Package deployer reconciles Deployers: it downloads the resource a
// Resource object resolved (verified against the descriptor, whose digest
// is checked against the one the Component verified), decodes it
// (manifests, a tar of manifests, or a Helm chart rendered client-side) and
// applies it with server-side apply under a KEP-3659 ApplySet whose parent
// is the Deployer. Objects that leave the resource are pruned once every
// apply succeeded; changes to deployed objects are corrected.
package deployer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/ocmgo/ocm/blob"
	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	shared "github.com/ocmgo/ocm/controller/internal/controller"
	"github.com/ocmgo/ocm/controller/internal/deploy"
	"github.com/ocmgo/ocm/controller/internal/metrics"
	"github.com/ocmgo/ocm/controller/internal/resolve"
	"github.com/ocmgo/ocm/controller/internal/status"
	"github.com/ocmgo/ocm/delivery"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/download"
	"github.com/ocmgo/ocm/httpclient"
	"github.com/ocmgo/ocm/repository"
)

// Names the deployer stamps and manages by, as the reference controller.
const (
	managerName       = "deployer.delivery.ocm.software"
	toolingID         = managerName + "/v1alpha1"
	labelManagedBy    = "app.kubernetes.io/managed-by"
	labelName         = "app.kubernetes.io/name"
	labelVersion      = "app.kubernetes.io/version"
	labelPartOf       = "app.kubernetes.io/part-of"
	labelInstance     = "app.kubernetes.io/instance"
	labelComponent    = "app.kubernetes.io/component"
	annDigestPrefix   = "digest.resource.delivery.ocm.software/"
	annIdentityPrefix = "identity.resource.delivery.ocm.software/"
	annAccess         = "resource.delivery.ocm.software/access"
	annComponentName  = "component.delivery.ocm.software/name"
	annComponentVer   = "component.delivery.ocm.software/version"

	resourceRefIndex = ".spec.resourceRef"
	// DefaultInterval re-applies a Ready deployment when its Resource sets no interval.
	DefaultInterval = 10 * time.Minute
	// DefaultTimeout bounds one reconciliation unless spec.timeout is set.
	DefaultTimeout = 10 * time.Minute
	// DefaultCacheMaxBytes caps the on-disk download cache.
	DefaultCacheMaxBytes = 2 << 30
)

// Reconciler reconciles Deployers.
type Reconciler struct {
	client.Client
	// APIReader reads Secrets and ConfigMaps uncached.
	APIReader client.Reader
	Recorder  status.Recorder
	// Concurrency is the number of Deployers reconciled in parallel.
	Concurrency int
	// ApplyConcurrency bounds parallel applies within one Deployer (default 4).
	ApplyConcurrency int
	// CacheDir holds downloaded resources (default <tmp>/ocm-deployer-cache);
	// CacheMaxBytes caps it (default DefaultCacheMaxBytes).
	CacheDir      string
	CacheMaxBytes int64
	// Timeouts bound the phases of every registry request (zero fields:
	// the library's defaults).
	Timeouts httpclient.Timeouts

	applier *deploy.Applier
	// restConfig and impersonated build and keep the appliers of
	// Deployers with a serviceAccountName, by namespace/name.
	restConfig   *rest.Config
	mu           sync.Mutex
	impersonated map[string]*deploy.Applier
	cache        *deploy.Cache
	// discovery tells charts the cluster's version and APIs (.Capabilities).
	discovery discovery.DiscoveryInterface
	watcher   *driftWatcher
	cluster   *clusterWatcher
}

// +kubebuilder:rbac:groups=delivery.ocm.software,resources=deployers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=delivery.ocm.software,resources=deployers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=delivery.ocm.software,resources=deployers/finalizers,verbs=update
// +kubebuilder:rbac:groups=delivery.ocm.software,resources=resources;components;repositories,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets;configmaps,verbs=get
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=create
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=nfd.k8s-sigs.io,resources=nodefeatures,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=impersonate
//
// Applying what a resource contains needs rights on those kinds; they are
// granted separately (the chart's deployer ClusterRole, config/default's
// deployer_role.yaml), so operators can narrow them to what they deliver.

// Reconcile deploys one Deployer's resource.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return status.Lifecycle[*v1alpha1.Deployer]{
		Client: r.Client, Recorder: r.Recorder, Kind: v1alpha1.KindDeployer, Timeout: DefaultTimeout, Finalize: r.finalize,
		Finalizers: []string{v1alpha1.DeployerApplySetPruneFinalizer, v1alpha1.DeployerWatchFinalizer},
		Suspended:  func(o *v1alpha1.Deployer) bool { return o.Spec.Suspend },
	}.Run(ctx, req, &v1alpha1.Deployer{}, r.reconcile)
}

func (r *Reconciler) reconcile(ctx context.Context, obj *v1alpha1.Deployer) (result ctrl.Result, retErr error) {
	res, err := r.readyResource(ctx, obj)
	if err != nil {
		if res == nil || obj.Status.LastApplied == nil {
			// The Resource watch triggers this Deployer when that changes.
			status.RemoveCondition(obj, v1alpha1.HeldBackCondition)
			status.MarkReconciling(obj, v1alpha1.ResourceIsNotAvailable, "%s", err)
			return ctrl.Result{}, nil
		}
		// Keep serving what was applied last (drift, prune) until the
		// Resource is Ready again; its watch brings us back then.
		status.MarkReconciling(obj, v1alpha1.ResourceIsNotAvailable, "%s", err)
		if herr := r.serveLastApplied(ctx, obj, res, v1alpha1.ResourceIsNotAvailable, err); herr != nil {
			return status.Fail(obj, herr, v1alpha1.ApplyFailed, DefaultInterval)
		}
		return ctrl.Result{}, nil
	}
	interval := res.Spec.Interval.Duration
	if interval <= 0 {
		interval = DefaultInterval
	}
	want := appliedVersion(res)
	start := time.Now()
	out, err := r.deploy(ctx, obj, res, want, false)
	if err != nil {
		result, failErr := status.Fail(obj, err, v1alpha1.ApplyFailed, interval)
		if last := obj.Status.LastApplied; last != nil && !sameVersion(*last, want) {
			// A newer version is refused (or cannot be had right now):
			// the last one stays in force, with drift corrected.
			if herr := r.serveLastApplied(ctx, obj, res, status.RetryReason(err, v1alpha1.ApplyFailed), err); herr != nil {
				failErr = errors.Join(failErr, herr)
			}
		}
		return result, failErr
	}
	obj.Status.Deployed = out.refs
	obj.Status.LastApplied = &want
	status.RemoveCondition(obj, v1alpha1.HeldBackCondition)
	status.MarkReady(obj, v1alpha1.SucceededReason, "Applied version %s of %s (%d objects)", res.Status.Resource.Version, res.Status.Component.Component+":"+res.Status.Component.Version, len(out.refs))
	log.FromContext(ctx).V(1).Info("deployed", "objects", len(out.refs), "duration", time.Since(start).String())
	r.recordDeployment(ctx, obj, want, out)
	if c := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.RecordedCondition); c != nil && c.Status == metav1.ConditionFalse {
		interval = min(interval, time.Minute)
	}
	return ctrl.Result{RequeueAfter: interval}, nil
}

// serveLastApplied re-applies the last applied version (correcting drift
// and pruning as for any apply) while the current one is held back for
// cause, and records why in the HeldBack condition.
func (r *Reconciler) serveLastApplied(ctx context.Context, obj *v1alpha1.Deployer, res *v1alpha1.Resource, reason string, cause error) error {
	last := *obj.Status.LastApplied
	what := fmt.Sprintf("version %s of %s:%s", last.Resource.Version, last.Component.Component, last.Component.Version)
	out, err := r.deploy(ctx, obj, res, last, true)
	if err != nil {
		status.SetCondition(obj, v1alpha1.HeldBackCondition, metav1.ConditionTrue, reason,
			fmt.Sprintf("%v; re-applying the last applied %s failed too: %v", cause, what, err))
		return fmt.Errorf("re-applying the last applied %s: %w", what, err)
	}
	obj.Status.Deployed = out.refs
	status.SetCondition(obj, v1alpha1.HeldBackCondition, metav1.ConditionTrue, reason,
		fmt.Sprintf("%v; serving the last applied %s (%d objects)", cause, what, len(out.refs)))
	log.FromContext(ctx).Info("held back; serving the last applied version", "reason", reason, "cause", cause.Error(),
		"component", last.Component.Component, "version", last.Component.Version, "objects", len(out.refs))
	// A version applied but not recorded yet (recording failed) is
	// recorded now.
	r.recordDeployment(ctx, obj, last, out)
	return nil
}

// appliedVersion is what res currently selects.
func appliedVersion(res *v1alpha1.Resource) v1alpha1.AppliedVersion {
	ri := res.Status.Resource
	return v1alpha1.AppliedVersion{
		Component: *res.Status.Component.DeepCopy(),
		Resource:  v1alpha1.AppliedResource{Name: ri.Name, Version: ri.Version, ExtraIdentity: maps.Clone(ri.ExtraIdentity), Digest: ri.Digest.DeepCopy()},
	}
}

func sameVersion(a, b v1alpha1.AppliedVersion) bool {
	return a.Component.Component == b.Component.Component && a.Component.Version == b.Component.Version &&
		equalDigest(a.Component.Digest, b.Component.Digest) && a.Resource.Name == b.Resource.Name &&
		a.Resource.Version == b.Resource.Version && maps.Equal(a.Resource.ExtraIdentity, b.Resource.ExtraIdentity) &&
		equalDigest(a.Resource.Digest, b.Resource.Digest)
}

func equalDigest(a, b *v1alpha1.DigestSpec) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// readyResource returns the referenced Resource when it is Ready and has
// resolved a resource; otherwise an error saying why, and the Resource if
// it exists (its last resolved version may still be served).
func (r *Reconciler) readyResource(ctx context.Context, obj *v1alpha1.Deployer) (*v1alpha1.Resource, error) {
	key := types.NamespacedName{Namespace: obj.Spec.ResourceRef.Namespace, Name: obj.Spec.ResourceRef.Name}
	if key.Namespace == "" {
		key.Namespace = metav1.NamespaceDefault
	}
	res := &v1alpha1.Resource{}
	if err := r.Get(ctx, key, res); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("resource %s not found", key)
		}
		return nil, fmt.Errorf("resource %s: %w", key, err)
	}
	if !res.DeletionTimestamp.IsZero() {
		return res, fmt.Errorf("resource %s is being deleted", key)
	}
	if !status.IsReady(res) {
		if c := status.Ready(res); c != nil && c.Message != "" {
			return res, fmt.Errorf("resource %s is not ready: %s", key, c.Message)
		}
		return res, fmt.Errorf("resource %s is not ready", key)
	}
	if res.Status.Resource == nil || res.Status.Component == nil || res.Status.Component.RepositorySpec == nil {
		return res, fmt.Errorf("resource %s has not resolved a resource yet", key)
	}
	return res, nil
}

// deploy downloads, verifies, decodes and applies version v of res's
// resource; it returns the deployed objects. lastApplied marks a re-apply
// of the version last applied, whose cluster compatibility was checked
// when it was first applied.
func (r *Reconciler) deploy(ctx context.Context, obj *v1alpha1.Deployer, res *v1alpha1.Resource, v v1alpha1.AppliedVersion, lastApplied bool) (*applyOutcome, error) {
	if v.Component.RepositorySpec == nil {
		return nil, status.Stall(v1alpha1.GetRepositoryFailedReason, fmt.Errorf("%s:%s: no repository spec", v.Component.Component, v.Component.Version))
	}
	cfg, err := shared.Configure(ctx, r.Client, r.APIReader, obj, res, &obj.Status.EffectiveOCMConfig)
	if err != nil {
		return nil, err
	}
	spec, err := repository.ParseSpec(v.Component.RepositorySpec.Raw)
	if err != nil {
		return nil, status.Stall(v1alpha1.GetRepositoryFailedReason, err)
	}
	repo, err := repository.OpenWithOptions(ctx, spec, shared.RepoOptions(cfg, r.Timeouts))
	if err != nil {
		return nil, status.Retry(v1alpha1.GetRepositoryFailedReason, err)
	}
	defer repo.Close()

	comp := v.Component
	graph, err := resolve.CheckGraph(ctx, repo, comp.Component, comp.Version)
	if err != nil {
		return nil, status.Retry(v1alpha1.GetComponentVersionFailedReason, fmt.Errorf("component version %s:%s: %w", comp.Component, comp.Version, err))
	}
	// The descriptor read now must be the one the Component verified.
	if d := comp.Digest; d != nil {
		got, err := resolve.DigestOf(graph.Root.Digested, d.NormalisationAlgorithm, d.HashAlgorithm)
		if err != nil {
			return nil, status.Stall(v1alpha1.VerificationFailedReason, err)
		}
		if got.Value != d.Value {
			return nil, status.Stall(v1alpha1.VerificationFailedReason, fmt.Errorf("component version %s:%s has digest %s, but the Component verified %s", comp.Component, comp.Version, got.Value, d.Value))
		}
	}
	// Status.component names the version holding the resource (the end of
	// a referencePath), with the digest its parent records for it.
	cd := graph.Root.Digested
	idx, err := findResource(cd, v.Resource)
	if err != nil {
		return nil, status.Stall(v1alpha1.GetOCMResourceFailedReason, err)
	}
	if !lastApplied {
		if err := r.checkCompatibility(ctx, obj, repo, cd); err != nil {
			return nil, err
		}
	}
	rd := cd.Component.Resources[idx].Digest
	if want := v.Resource.Digest; want != nil && (rd == nil || rd.HashAlgorithm != want.HashAlgorithm || rd.NormalisationAlgorithm != want.NormalisationAlgorithm || rd.Value != want.Value) {
		return nil, status.Stall(v1alpha1.VerificationFailedReason, fmt.Errorf("resource %s: descriptor digest differs from the Resource's %s:%s", v.Resource.Name, want.HashAlgorithm, want.Value))
	}
	key, err := cacheKey(&cd.Component.Resources[idx])
	if err != nil {
		return nil, status.Stall(v1alpha1.GetOCMResourceFailedReason, err)
	}

	filled := false
	path, release, err := r.cache.Get(ctx, key, func(ctx context.Context, p string) error {
		filled = true
		_, err := download.Resource(ctx, repo, cd, idx, p, download.Options{Extraction: download.ExtractDisable})
		return err
	})
	if err == nil {
		metrics.CacheRequests.WithLabelValues(map[bool]string{true: "miss", false: "hit"}[filled]).Inc()
		metrics.CacheBytes.Set(float64(r.cache.Size()))
	}
	if err != nil {
		var mm *blob.MismatchError
		if errors.As(err, &mm) || isMismatch(err) {
			return nil, status.Stall(v1alpha1.VerificationFailedReason, err)
		}
		return nil, status.Retry(v1alpha1.GetOCMResourceFailedReason, err)
	}
	defer release()

	var helmErr error
	src, format, err := deploy.Open(path, deploy.Options{HelmFrom: func() (deploy.HelmOptions, error) {
		opts, err := r.helmOptions(ctx, obj, res.Namespace)
		helmErr = err
		return opts, err
	}})
	if helmErr != nil {
		return nil, helmErr // carries its own reason (values not found, invalid spec)
	}
	if err != nil {
		return nil, status.Stall(v1alpha1.MarshalFailedReason, err)
	}
	// Manifests without a namespace go to "default", as with the reference;
	// a chart's go to its release namespace, as `helm install -n` does.
	defaultNS := metav1.NamespaceDefault
	if format == deploy.FormatHelmChart || format == deploy.FormatOCILayout {
		defaultNS = res.Namespace
	}
	parent := deploy.Parent{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.KindDeployer, Name: obj.Name}
	applier, err := r.applierFor(obj)
	if err != nil {
		return nil, status.Retry(v1alpha1.ApplyFailed, err)
	}
	out, err := applier.Apply(ctx, parent, src, deploy.ApplyOptions{
		Mutate:           stamper(obj, res, &cd.Component.Resources[idx], cd),
		Owner:            ownerRef(obj),
		DefaultNamespace: defaultNS,
	})
	var se *deploy.SourceError
	if errors.As(err, &se) {
		return nil, status.Stall(v1alpha1.MarshalFailedReason, err)
	}
	var ce *deploy.ConflictError
	if errors.As(err, &ce) {
		// Until the other Deployer lets go of the object (or this one's
		// resource stops containing it).
		return nil, status.Stall(v1alpha1.ObjectConflictReason, err)
	}
	if out != nil {
		// Watch what was applied even after a partial failure, so drift on
		// those is seen too.
		r.watch(ctx, out.Applied)
	}
	if err != nil {
		return nil, status.Retry(v1alpha1.ApplyFailed, err)
	}
	outcome := &applyOutcome{
		refs: make([]v1alpha1.DeployedObjectReference, len(out.Applied)), objects: make([]delivery.DeployedObject, len(out.Applied)),
		pruned: len(out.Pruned), spec: spec, cfg: cfg, applySet: parent.ID(), ns: res.Namespace,
		resource: cd.Component.ResourceIdentities()[idx].String(),
	}
	for i, a := range out.Applied {
		outcome.refs[i] = v1alpha1.DeployedObjectReference{APIVersion: a.APIVersion, Kind: a.Kind, Name: a.Name, Namespace: a.Namespace, UID: a.UID}
		outcome.objects[i] = delivery.DeployedObject{APIVersion: a.APIVersion, Kind: a.Kind, Namespace: a.Namespace, Name: a.Name, Digest: a.Digest}
	}
	metrics.DeployedObjects.WithLabelValues("apply").Add(float64(len(out.Applied)))
	metrics.DeployedObjects.WithLabelValues("prune").Add(float64(len(out.Pruned)))
	log.FromContext(ctx).Info("applied", "component", comp.Component, "version", comp.Version, "resource", v.Resource.Name,
		"applied", len(out.Applied), "pruned", len(out.Pruned), "lastApplied", lastApplied)
	return outcome, nil
}

// isMismatch recognises the download's verification failures that are not
// typed (manifest and artifact digests are reported as formatted errors).
func isMismatch(err error) bool {
	s := err.Error()
	return strings.Contains(s, "digest mismatch") || strings.Contains(s, "size mismatch")
}

// findResource finds the resource the Resource resolved, by its identity.
func findResource(cd *descriptor.Descriptor, info v1alpha1.AppliedResource) (int, error) {
	id := descriptor.Identity{"name": info.Name}
	maps.Copy(id, info.ExtraIdentity)
	if info.Version != "" {
		id["version"] = info.Version
	}
	matches := cd.Component.SelectResources(id)
	if len(matches) != 1 {
		return 0, fmt.Errorf("resource %s: %d matches in %s:%s", id, len(matches), cd.Component.Name, cd.Component.Version)
	}
	return matches[0], nil
}

// cacheKey addresses content: the resource digest when the descriptor has
// one (checked on download), else the local blob's content digest.
func cacheKey(r *descriptor.Resource) (string, error) {
	if d := r.Digest; d != nil && d.Value != "" {
		return d.HashAlgorithm + "/" + d.NormalisationAlgorithm + "/" + d.Value, nil
	}
	if r.Access != nil && r.Access.IsLocalBlob() {
		lb, err := r.Access.LocalBlob()
		if err != nil {
			return "", err
		}
		return "localReference/" + lb.LocalReference, nil
	}
	return "", fmt.Errorf("resource %s has neither a digest nor a local blob access", r.Name)
}

func ownerRef(obj *v1alpha1.Deployer) *metav1.OwnerReference {
	t := true
	return &metav1.OwnerReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.KindDeployer, Name: obj.Name, UID: obj.UID, Controller: &t}
}

// stamper sets the labels and annotations the reference deployer stamps.
func stamper(obj *v1alpha1.Deployer, res *v1alpha1.Resource, r *descriptor.Resource, cd *descriptor.Descriptor) func(*unstructured.Unstructured) {
	labels := map[string]string{labelManagedBy: managerName}
	setLabel := func(k, v string) {
		if len(v) > validation.LabelValueMaxLength {
			v = v[:validation.LabelValueMaxLength]
		}
		// A value that is no valid label value is left out rather than
		// failing every apply.
		if len(validation.IsValidLabelValue(v)) == 0 {
			labels[k] = v
		}
	}
	setLabel(labelComponent, res.Name)
	setLabel(labelName, res.Name)
	setLabel(labelVersion, r.Version)
	setLabel(labelInstance, string(res.UID))
	setLabel(labelPartOf, obj.Name)
	anns := map[string]string{
		annIdentityPrefix + "name":    r.Name,
		annIdentityPrefix + "version": r.Version,
		annComponentName:              cd.Component.Name,
		annComponentVer:               cd.Component.Version,
	}
	for k, v := range r.ExtraIdentity {
		anns[annIdentityPrefix+k] = v
	}
	if d := r.Digest; d != nil {
		anns[annDigestPrefix+"value"] = d.Value
		anns[annDigestPrefix+"hashAlgorithm"] = d.HashAlgorithm
		anns[annDigestPrefix+"normalisationAlgorithm"] = d.NormalisationAlgorithm
	}
	if r.Access != nil {
		if raw, err := r.Access.MarshalJSON(); err == nil {
			anns[annAccess] = string(raw)
		}
	}
	return func(u *unstructured.Unstructured) {
		l := u.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		maps.Copy(l, labels)
		u.SetLabels(l)
		a := u.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		maps.Copy(a, anns)
		u.SetAnnotations(a)
	}
}

// applierFor returns the applier for obj's objects: the manager's own, or
// one impersonating obj's ServiceAccount (in the Resource's namespace), so
// that a Deployer can do no more than that ServiceAccount may. The
// ApplySet parent (the Deployer) is always written as the manager.
func (r *Reconciler) applierFor(obj *v1alpha1.Deployer) (*deploy.Applier, error) {
	sa := obj.Spec.ServiceAccountName
	if sa == "" {
		return r.applier, nil
	}
	ns := obj.Spec.ResourceRef.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	key := ns + "/" + sa
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.impersonated[key]; ok {
		return a, nil
	}
	cfg := rest.CopyConfig(r.restConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + sa}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for ServiceAccount %s: %w", key, err)
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for ServiceAccount %s: %w", key, err)
	}
	a := *r.applier
	a.Dynamic, a.Metadata, a.ParentDynamic = dyn, md, r.applier.Dynamic
	r.impersonated[key] = &a
	return &a, nil
}

// watch starts drift watches for the kinds applied.
func (r *Reconciler) watch(ctx context.Context, applied []deploy.ObjectRef) {
	seen := map[schema.GroupVersionKind]bool{}
	for _, a := range applied {
		gvk := schema.FromAPIVersionAndKind(a.APIVersion, a.Kind)
		if seen[gvk] {
			continue
		}
		seen[gvk] = true
		if m, err := r.applier.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err == nil && !r.watcher.Ensure(ctx, m.Resource) {
			log.FromContext(ctx).Info("drift is corrected at the interval only: the manager may not watch this kind", "resource", m.Resource.String())
		}
	}
}

// mayListAndWatch asks the API server whether the manager may list and
// watch gvr in all namespaces. When it cannot tell, it says yes: the
// informer then reports what is wrong.
func mayListAndWatch(ctx context.Context, c authorizationv1client.SelfSubjectAccessReviewsGetter, gvr schema.GroupVersionResource) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, verb := range []string{"list", "watch"} {
		r, err := c.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Group: gvr.Group, Version: gvr.Version, Resource: gvr.Resource},
		}}, metav1.CreateOptions{})
		if err != nil {
			return true
		}
		if !r.Status.Allowed {
			return false
		}
	}
	return true
}

// finalize prunes the ApplySet and releases the Deployer.
func (r *Reconciler) finalize(ctx context.Context, obj *v1alpha1.Deployer) (ctrl.Result, error) {
	if controllerutil.ContainsFinalizer(obj, v1alpha1.DeployerApplySetPruneFinalizer) {
		parent := deploy.Parent{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.KindDeployer, Name: obj.Name}
		applier, err := r.applierFor(obj)
		if err != nil {
			return ctrl.Result{}, err
		}
		pruned, err := applier.Prune(ctx, parent)
		if err != nil {
			base := obj.DeepCopy()
			status.MarkRetrying(obj, v1alpha1.DeletionFailedReason, err)
			return ctrl.Result{}, errors.Join(err, status.PatchStatus(ctx, r.Client, obj, base))
		}
		metrics.DeployedObjects.WithLabelValues("prune").Add(float64(len(pruned)))
		log.FromContext(ctx).Info("pruned on deletion", "pruned", len(pruned))
	}
	base := obj.DeepCopy()
	controllerutil.RemoveFinalizer(obj, v1alpha1.DeployerApplySetPruneFinalizer)
	controllerutil.RemoveFinalizer(obj, v1alpha1.DeployerWatchFinalizer)
	if err := client.IgnoreNotFound(r.Patch(ctx, obj, client.MergeFrom(base))); err != nil {
		return ctrl.Result{}, fmt.Errorf("removing finalizers: %w", err)
	}
	return ctrl.Result{}, nil
}

// SetupWithManager registers the reconciler with its Resource watch and
// the drift watches.
//
// Unset settings come from the environment (the chart sets them), so the
// manager needs no deployer-specific flags: OCM_DEPLOYER_CONCURRENCY,
// OCM_DEPLOYER_APPLY_CONCURRENCY, OCM_DEPLOYER_CACHE_DIR,
// OCM_DEPLOYER_CACHE_MAX_BYTES.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	ctx := context.Background()
	if r.Concurrency <= 0 {
		r.Concurrency = envInt("OCM_DEPLOYER_CONCURRENCY", 4)
	}
	if r.ApplyConcurrency <= 0 {
		r.ApplyConcurrency = envInt("OCM_DEPLOYER_APPLY_CONCURRENCY", 4)
	}
	if r.CacheDir == "" {
		r.CacheDir = os.Getenv("OCM_DEPLOYER_CACHE_DIR")
	}
	if r.CacheMaxBytes <= 0 {
		r.CacheMaxBytes = int64(envInt("OCM_DEPLOYER_CACHE_MAX_BYTES", DefaultCacheMaxBytes))
	}
	cfg := mgr.GetConfig()
	r.restConfig, r.impersonated = cfg, map[string]*deploy.Applier{}
	dyn, err := dynamic.NewForConfigAndClient(cfg, mgr.GetHTTPClient())
	if err != nil {
		return fmt.Errorf("deployer: %w", err)
	}
	md, err := metadata.NewForConfigAndClient(cfg, mgr.GetHTTPClient())
	if err != nil {
		return fmt.Errorf("deployer: %w", err)
	}
	r.applier = &deploy.Applier{
		Dynamic: dyn, Metadata: md, Mapper: mgr.GetRESTMapper(),
		FieldManager: managerName, Tooling: toolingID, Concurrency: r.ApplyConcurrency,
	}
	if r.CacheDir == "" {
		r.CacheDir = filepath.Join(os.TempDir(), "ocm-deployer-cache")
	}
	if r.cache, err = deploy.NewCache(r.CacheDir, r.CacheMaxBytes); err != nil {
		return fmt.Errorf("deployer: %w", err)
	}
	if r.discovery, err = discovery.NewDiscoveryClientForConfigAndClient(cfg, mgr.GetHTTPClient()); err != nil {
		return fmt.Errorf("deployer: %w", err)
	}
	r.watcher = newDriftWatcher(md)
	authz, err := authorizationv1client.NewForConfigAndClient(cfg, mgr.GetHTTPClient())
	if err != nil {
		return fmt.Errorf("deployer: %w", err)
	}
	r.watcher.mayWatch = func(ctx context.Context, gvr schema.GroupVersionResource) bool {
		return mayListAndWatch(ctx, authz, gvr)
	}
	if err := mgr.Add(r.watcher); err != nil {
		return fmt.Errorf("deployer: %w", err)
	}
	r.cluster = &clusterWatcher{md: md, list: r.compatDeployers, events: make(chan event.GenericEvent, 256)}
	if err := mgr.Add(r.cluster); err != nil {
		return fmt.Errorf("deployer: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.Deployer{}, resourceRefIndex, func(o client.Object) []string {
		ref := o.(*v1alpha1.Deployer).Spec.ResourceRef
		ns := ref.Namespace
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		return []string{ns + "/" + ref.Name}
	}); err != nil {
		return fmt.Errorf("deployer: indexing %s: %w", resourceRefIndex, err)
	}
	byResource := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		var list v1alpha1.DeployerList
		if err := r.List(ctx, &list, client.MatchingFields{resourceRefIndex: o.GetNamespace() + "/" + o.GetName()}); err != nil {
			return nil
		}
		reqs := make([]reconcile.Request, len(list.Items))
		for i := range list.Items {
			reqs[i] = reconcile.Request{NamespacedName: types.NamespacedName{Name: list.Items[i].Name}}
		}
		return reqs
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Deployer{}, status.SpecChanged()).
		Watches(&v1alpha1.Resource{}, byResource).
		WatchesRawSource(source.Channel(r.watcher.events, &handler.EnqueueRequestForObject{})).
		WatchesRawSource(source.Channel(r.cluster.events, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1), RateLimiter: status.RateLimiter()}).
		Named("deployer").
		Complete(r)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
