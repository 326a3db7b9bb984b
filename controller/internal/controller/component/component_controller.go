// Package component reconciles Component objects: it resolves the highest
// version of a component that satisfies the semver constraint and filter,
// applies the downgrade policy, verifies signatures and content, and
// publishes the version and its digest for Resources and Replications.
package component

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	shared "github.com/ocmgo/ocm/controller/internal/controller"
	"github.com/ocmgo/ocm/controller/internal/resolve"
	"github.com/ocmgo/ocm/controller/internal/status"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/httpclient"
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/repository"
)

// ResolveTimeout bounds one resolution including content verification,
// which streams every resource of the version, unless spec.timeout is set.
const ResolveTimeout = 10 * time.Minute

// Reconciler reconciles Components.
type Reconciler struct {
	client.Client
	// APIReader reads Secrets and ConfigMaps uncached.
	APIReader client.Reader
	Recorder  status.Recorder
	// Concurrency is the number of Components reconciled in parallel.
	Concurrency int
	// Timeouts bound the phases of every registry request (zero fields:
	// the library's defaults).
	Timeouts httpclient.Timeouts
}

// +kubebuilder:rbac:groups=delivery.ocm.software,resources=components,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=delivery.ocm.software,resources=components/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=delivery.ocm.software,resources=components/finalizers,verbs=update
// +kubebuilder:rbac:groups=delivery.ocm.software,resources=repositories;resources;replications,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets;configmaps,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func stall(reason string, format string, args ...any) error {
	return status.Stall(reason, fmt.Errorf(format, args...))
}

// Reconcile resolves one Component.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return status.Lifecycle[*v1alpha1.Component]{
		Client: r.Client, Recorder: r.Recorder, Kind: v1alpha1.KindComponent, Timeout: ResolveTimeout,
		Finalizers: []string{v1alpha1.ComponentFinalizer}, Finalize: r.finalize,
		Suspended: func(o *v1alpha1.Component) bool { return o.Spec.Suspend },
	}.Run(ctx, req, &v1alpha1.Component{}, r.reconcile)
}

func (r *Reconciler) reconcile(ctx context.Context, obj *v1alpha1.Component) (result ctrl.Result, retErr error) {
	interval := obj.Spec.Interval.Duration

	repo := &v1alpha1.Repository{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: obj.Spec.RepositoryRef.Name}, repo); err != nil {
		if client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
		status.MarkReconciling(obj, v1alpha1.ReferenceNotReadyReason, "waiting for Repository %s to exist", obj.Spec.RepositoryRef.Name)
		return ctrl.Result{RequeueAfter: interval}, nil
	}
	if !status.IsReady(repo) {
		status.MarkReconciling(obj, v1alpha1.ReferenceNotReadyReason, "waiting for Repository %s to be ready", repo.Name)
		return ctrl.Result{RequeueAfter: interval}, nil
	}

	cfg, err := shared.Configure(ctx, r.Client, r.APIReader, obj, repo, &obj.Status.EffectiveOCMConfig)
	if err != nil {
		return status.Fail(obj, err, v1alpha1.GetConfigurationFailedReason, interval)
	}

	info, msg, err := r.resolve(ctx, obj, repo, cfg)
	if err != nil {
		return status.Fail(obj, err, v1alpha1.GetComponentVersionFailedReason, interval)
	}
	obj.Status.Component = *info
	status.MarkReady(obj, v1alpha1.SucceededReason, "%s", msg)
	return ctrl.Result{RequeueAfter: interval}, nil
}

// resolve selects, checks and verifies the version; stalled errors
// (status.Stall) need a change to go away, others are retried.
func (r *Reconciler) resolve(ctx context.Context, obj *v1alpha1.Component, repoObj *v1alpha1.Repository, cfg *config.Config) (*v1alpha1.ComponentInfo, string, error) {
	spec, err := repository.ParseSpec(repoObj.Spec.RepositorySpec.Raw)
	if err != nil {
		return nil, "", stall(v1alpha1.InvalidRepositorySpecReason, "Repository %s: %v", repoObj.Name, err)
	}
	lib, err := repository.OpenWithOptions(ctx, spec, shared.RepoOptions(cfg, r.Timeouts))
	if err != nil {
		return nil, "", err
	}
	defer lib.Close()

	name := obj.Spec.Component
	versions, err := lib.ListVersions(ctx, name)
	if err != nil {
		return nil, "", fmt.Errorf("listing versions of %s: %w", name, err)
	}
	version, err := repository.Selection{Constraint: obj.Spec.Semver, Filter: obj.Spec.SemverFilter}.Latest(versions)
	switch {
	case errors.Is(err, repository.ErrInvalidSelection):
		return nil, "", status.Stall(v1alpha1.InvalidSpecReason, err)
	case errors.Is(err, repository.ErrNoMatchingVersion):
		return nil, "", status.Stall(v1alpha1.NoMatchingVersionReason, err)
	case err != nil:
		return nil, "", err
	}
	if err := r.checkDowngrade(ctx, lib, obj, version); err != nil {
		return nil, "", err
	}
	cd, err := lib.GetComponentVersion(ctx, name, version)
	if err != nil {
		return nil, "", fmt.Errorf("reading %s:%s: %w", name, version, err)
	}

	var digested *descriptor.Descriptor
	norm, hash := resolve.DefaultNormalisation, resolve.DefaultHash
	msg := fmt.Sprintf("resolved %s:%s", name, version)
	if len(obj.Spec.Verify) > 0 {
		names := make([]string, len(obj.Spec.Verify))
		for i, v := range obj.Spec.Verify {
			names[i] = v.Signature
			sig := findSignature(cd, v.Signature)
			if sig == nil {
				return nil, "", stall(v1alpha1.VerificationFailedReason, "%s:%s has no signature %q (it has: %s)", name, version, v.Signature, signatureNames(cd))
			}
			if i == 0 {
				norm, hash = sig.Digest.NormalisationAlgorithm, sig.Digest.HashAlgorithm
			}
		}
		keys, verifiers, err := resolve.VerificationKeys(ctx, r.APIReader, obj.Namespace, obj.Spec.Verify)
		if err != nil {
			return nil, "", err
		}
		// External content is re-hashed when a Resource selects it
		// (ocm.VerifyResourceContent); here its signed digest is taken.
		res, err := integrity.Verify(ctx, lib, name, version, integrity.VerifyOptions{Signatures: names, Content: true, Keys: keys, Verifiers: verifiers, Offline: true})
		if err != nil {
			if res != nil {
				// The checks ran and one failed: retrying will not help.
				return nil, "", stall(v1alpha1.VerificationFailedReason, "%v", err)
			}
			return nil, "", fmt.Errorf("verifying %s:%s: %w", name, version, err)
		}
		digested = res.Versions[name+":"+version].Digested
		msg += fmt.Sprintf(", signature(s) %s and content verified", strings.Join(names, ", "))
		for _, sr := range res.Signatures {
			if sr.Signer != "" {
				msg += fmt.Sprintf("; %s signed by %s", sr.Name, sr.Signer)
			}
		}
	} else {
		// Without signatures to check, the reference digests are still
		// recomputed, so that the published digest covers everything a
		// Resource may reach through a reference path.
		g, err := resolve.CheckGraph(ctx, lib, name, version)
		if err != nil {
			if errors.Is(err, resolve.ErrIntegrity) {
				return nil, "", stall(v1alpha1.VerificationFailedReason, "%v", err)
			}
			return nil, "", err
		}
		digested = g.Root.Digested
		if len(cd.Signatures) > 0 {
			norm, hash = cd.Signatures[0].Digest.NormalisationAlgorithm, cd.Signatures[0].Digest.HashAlgorithm
		}
	}
	digest, err := resolve.DigestOf(digested, norm, hash)
	if err != nil {
		return nil, "", stall(v1alpha1.VerificationFailedReason, "%v", err)
	}
	return &v1alpha1.ComponentInfo{
		RepositorySpec: repoObj.Spec.RepositorySpec.DeepCopy(),
		Component:      name,
		Version:        version,
		Digest:         digest,
	}, msg, nil
}

// checkDowngrade applies the downgrade policy when the selected version is
// lower than the one resolved before.
func (r *Reconciler) checkDowngrade(ctx context.Context, lib repository.Repository, obj *v1alpha1.Component, version string) error {
	cur := obj.Status.Component
	if cur.Version == "" || cur.Component != obj.Spec.Component {
		return nil
	}
	if !repository.IsDowngrade(cur.Version, version) {
		return nil
	}
	switch obj.Spec.DowngradePolicy {
	case v1alpha1.DowngradePolicyEnforce:
		return nil
	case v1alpha1.DowngradePolicyAllow:
		cd, err := lib.GetComponentVersion(ctx, cur.Component, cur.Version)
		if err != nil {
			return fmt.Errorf("reading current version %s:%s for its downgrade label: %w", cur.Component, cur.Version, err)
		}
		constraint, ok := labelString(cd.Component.Labels, v1alpha1.DowngradePolicyLabel)
		if !ok {
			return stall(v1alpha1.DowngradeDeniedReason, "downgrade from %s to %s denied: %s:%s has no label %s (downgradePolicy Allow)", cur.Version, version, cur.Component, cur.Version, v1alpha1.DowngradePolicyLabel)
		}
		allowed, err := repository.DowngradeAllowed(constraint, version)
		if err != nil {
			return stall(v1alpha1.DowngradeDeniedReason, "downgrade from %s to %s denied: label %s of %s:%s is not a semver constraint: %v", cur.Version, version, v1alpha1.DowngradePolicyLabel, cur.Component, cur.Version, err)
		}
		if !allowed {
			return stall(v1alpha1.DowngradeDeniedReason, "downgrade from %s to %s denied: %s:%s allows downgrades to %q only", cur.Version, version, cur.Component, cur.Version, constraint)
		}
		return nil
	default:
		return stall(v1alpha1.DowngradeDeniedReason, "downgrade from %s to %s denied by downgradePolicy Deny; still at %s", cur.Version, version, cur.Version)
	}
}

func labelString(labels []descriptor.Label, name string) (string, bool) {
	for _, l := range labels {
		if l.Name == name {
			var s string
			if err := json.Unmarshal(l.Value, &s); err == nil {
				return s, true
			}
			return string(l.Value), true
		}
	}
	return "", false
}

func findSignature(cd *descriptor.Descriptor, name string) *descriptor.Signature {
	for i := range cd.Signatures {
		if cd.Signatures[i].Name == name {
			return &cd.Signatures[i]
		}
	}
	return nil
}

func signatureNames(cd *descriptor.Descriptor) string {
	if len(cd.Signatures) == 0 {
		return "none"
	}
	names := make([]string, len(cd.Signatures))
	for i, s := range cd.Signatures {
		names[i] = fmt.Sprintf("%q", s.Name)
	}
	return strings.Join(names, ", ")
}

// finalize releases the Component once no Resource or Replication
// references it.
func (r *Reconciler) finalize(ctx context.Context, obj *v1alpha1.Component) (ctrl.Result, error) {
	return shared.ReleaseWhenUnreferenced(ctx, r.Client, r.APIReader, r.Recorder, obj, v1alpha1.KindComponent, v1alpha1.ComponentFinalizer)
}

// SetupWithManager registers the reconciler. A Repository change (it
// becoming Ready, a new effective configuration) re-triggers the Components
// reading from it; Resources and Replications going away re-trigger a
// Component waiting for deletion.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	byRepository := shared.EnqueueReferrers(mgr.GetClient(),
		func() *v1alpha1.ComponentList { return &v1alpha1.ComponentList{} },
		func(l *v1alpha1.ComponentList) []client.Object {
			out := make([]client.Object, len(l.Items))
			for i := range l.Items {
				out[i] = &l.Items[i]
			}
			return out
		},
		func(o client.Object) string { return o.(*v1alpha1.Component).Spec.RepositoryRef.Name })
	byResource := shared.EnqueueReferenced(func(o client.Object) string {
		return o.(*v1alpha1.Resource).Spec.ComponentRef.Name
	})
	byReplication := shared.EnqueueReferenced(func(o client.Object) string {
		return o.(*v1alpha1.Replication).Spec.ComponentRef.Name
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Component{}, status.SpecChanged()).
		Watches(&v1alpha1.Repository{}, byRepository).
		Watches(&v1alpha1.Resource{}, byResource, shared.OnDelete()).
		Watches(&v1alpha1.Replication{}, byReplication, shared.OnDelete()).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1), RateLimiter: status.RateLimiter()}).
		Named("component").
		Complete(r)
}
