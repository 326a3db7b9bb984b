// Package replication reconciles Replications: whenever the Component they
// follow resolves a version whose digest differs from the last one
// transferred, that version is copied to the target Repository with the
// library's transfer (parallel; content the target has is skipped), and the
// copy is checked against the digest the Component verified.
package replication

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	shared "github.com/ocmgo/ocm/controller/internal/controller"
	"github.com/ocmgo/ocm/controller/internal/resolve"
	"github.com/ocmgo/ocm/controller/internal/status"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/httpclient"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/transfer"
)

const (
	// MaxFailedEvents bounds status.lastFailedTransferEvents.
	MaxFailedEvents = 10
	// DefaultInterval re-checks a Replication when its spec sets no interval.
	DefaultInterval = 10 * time.Minute
	// TransferTimeout bounds one transfer.
	TransferTimeout = 30 * time.Minute
)

// Reconciler reconciles Replications.
type Reconciler struct {
	client.Client
	APIReader client.Reader
	Recorder  status.Recorder
	// Concurrency is the number of Replications reconciled in parallel.
	Concurrency int
	// TransferConcurrency bounds parallel versions and blobs of one transfer.
	TransferConcurrency int
	// Timeouts bound the phases of every registry request (zero fields:
	// the library's defaults).
	Timeouts httpclient.Timeouts
}

// +kubebuilder:rbac:groups=delivery.ocm.software,resources=replications,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=delivery.ocm.software,resources=replications/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=delivery.ocm.software,resources=replications/finalizers,verbs=update
// +kubebuilder:rbac:groups=delivery.ocm.software,resources=components;repositories,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets;configmaps,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile replicates one Replication's component version.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return status.Lifecycle[*v1alpha1.Replication]{
		Client: r.Client, Recorder: r.Recorder, Kind: v1alpha1.KindReplication, Timeout: TransferTimeout,
		Finalizers: []string{v1alpha1.ReplicationFinalizer}, Finalize: r.finalize,
		Suspended: func(o *v1alpha1.Replication) bool { return o.Spec.Suspend },
	}.Run(ctx, req, &v1alpha1.Replication{}, r.reconcile)
}

func (r *Reconciler) reconcile(ctx context.Context, obj *v1alpha1.Replication) (result ctrl.Result, retErr error) {
	interval := obj.Spec.Interval.Duration
	if interval <= 0 {
		interval = DefaultInterval
	}

	comp := &v1alpha1.Component{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: obj.Spec.ComponentRef.Name}, comp); err != nil {
		status.MarkReconciling(obj, v1alpha1.ReferenceNotReadyReason, "component %s: %s", obj.Spec.ComponentRef.Name, client.IgnoreNotFound(err))
		return ctrl.Result{RequeueAfter: interval}, nil
	}
	info := comp.Status.Component
	if !status.IsReady(comp) || info.Version == "" || info.Digest == nil || info.RepositorySpec == nil {
		status.MarkReconciling(obj, v1alpha1.ReferenceNotReadyReason, "component %s has not resolved a verified version yet", comp.Name)
		return ctrl.Result{}, nil // the Component watch brings us back
	}
	if obj.Status.LastTransferredDigest == info.Digest.Value && obj.Status.LastTransferredVersion == info.Version && obj.Status.ObservedGeneration == obj.Generation {
		status.MarkReady(obj, v1alpha1.SucceededReason, "%s:%s is replicated", info.Component, info.Version)
		return ctrl.Result{RequeueAfter: interval}, nil
	}

	target := &v1alpha1.Repository{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: obj.Spec.TargetRepositoryRef.Name}, target); err != nil {
		status.MarkReconciling(obj, v1alpha1.ReferenceNotReadyReason, "target repository %s: %s", obj.Spec.TargetRepositoryRef.Name, client.IgnoreNotFound(err))
		return ctrl.Result{RequeueAfter: interval}, nil
	}

	// Target credentials come from the target Repository's configuration.
	cfg, err := shared.Configure(ctx, r.Client, r.APIReader, obj, comp, &obj.Status.EffectiveOCMConfig, target.Status.EffectiveOCMConfig...)
	if err != nil {
		return status.Fail(obj, err, v1alpha1.GetConfigurationFailedReason, interval)
	}

	topts, err := transferOptions(cfg, r.Timeouts)
	if err != nil {
		status.MarkStalled(obj, v1alpha1.GetConfigurationFailedReason, err)
		return ctrl.Result{RequeueAfter: interval}, nil
	}

	srcSpec, err := repository.ParseSpec(info.RepositorySpec.Raw)
	if err != nil {
		status.MarkStalled(obj, v1alpha1.InvalidRepositorySpecReason, err)
		return ctrl.Result{RequeueAfter: interval}, nil
	}
	var rawTarget []byte
	if target.Spec.RepositorySpec != nil {
		rawTarget = target.Spec.RepositorySpec.Raw
	}
	dstSpec, err := repository.ParseSpec(rawTarget)
	if err != nil {
		status.MarkStalled(obj, v1alpha1.InvalidRepositorySpecReason, fmt.Errorf("target: %w", err))
		return ctrl.Result{RequeueAfter: interval}, nil
	}

	started := metav1.Now()
	res, err := r.transfer(ctx, srcSpec, dstSpec, cfg, topts, info)
	if err != nil {
		obj.Status.LastFailedTransferEvents = append(obj.Status.LastFailedTransferEvents, v1alpha1.TransferEvent{
			Component: info.Component, Version: info.Version, StartTime: started, EndTime: metav1.Now(), Error: err.Error(),
		})
		if n := len(obj.Status.LastFailedTransferEvents); n > MaxFailedEvents {
			obj.Status.LastFailedTransferEvents = obj.Status.LastFailedTransferEvents[n-MaxFailedEvents:]
		}
		var ce *transfer.ConflictError
		if errors.As(err, &ce) || errors.Is(err, errDigestMismatch) {
			// The target holds other content under this version: retrying
			// cannot fix that, a change of the target can.
			status.MarkStalled(obj, v1alpha1.ReplicationFailedReason, err)
			return ctrl.Result{RequeueAfter: interval}, nil
		}
		status.MarkRetrying(obj, status.RetryReason(err, v1alpha1.ReplicationFailedReason), err)
		return ctrl.Result{}, err
	}
	obj.Status.LastTransferredVersion = info.Version
	obj.Status.LastTransferredDigest = info.Digest.Value
	c := info
	obj.Status.Component = &c
	log.FromContext(ctx).Info("replicated", "component", info.Component, "version", info.Version, "copied", res.Copied, "skipped", res.Skipped, "bytes", res.BytesCopied)
	status.MarkReady(obj, v1alpha1.SucceededReason, "Replicated %s:%s to %s (%d copied, %d already present)", info.Component, info.Version, dstSpec, res.Copied, res.Skipped)
	return ctrl.Result{RequeueAfter: interval}, nil
}

var errDigestMismatch = errors.New("replicated component version differs from the verified one")

// transfer copies the version and checks what the target now holds.
func (r *Reconciler) transfer(ctx context.Context, srcSpec, dstSpec reference.Repository, cfg *config.Config, opts transfer.Options, info v1alpha1.ComponentInfo) (transfer.Result, error) {
	repoOpts := shared.RepoOptions(cfg, r.Timeouts)
	src, err := repository.OpenStore(ctx, srcSpec, repoOpts)
	if err != nil {
		return transfer.Result{}, fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	repoOpts.Create = true
	dst, err := repository.OpenWritable(ctx, dstSpec, repoOpts)
	if err != nil {
		return transfer.Result{}, fmt.Errorf("target: %w", err)
	}
	defer dst.Abort()
	opts.Concurrency, opts.SourceName = r.TransferConcurrency, src.String()
	results, err := transfer.ComponentVersions(ctx, src, dst, []transfer.Ref{{Component: info.Component, Version: info.Version}}, opts)
	if err != nil {
		return transfer.Result{}, fmt.Errorf("transferring %s:%s to %s: %w", info.Component, info.Version, dstSpec, err)
	}
	if err := dst.Commit(); err != nil {
		return transfer.Result{}, fmt.Errorf("target: %w", err)
	}
	var total transfer.Result
	for _, res := range results {
		total.Copied += res.Copied
		total.Skipped += res.Skipped
		total.BytesCopied += res.BytesCopied
	}
	if err := verifyTarget(ctx, srcSpec, dstSpec, shared.RepoOptions(cfg, r.Timeouts), info, opts.Recursive); err != nil {
		return total, err
	}
	return total, nil
}

// transferOptions reads the transfer.config.ocm.software entries of the
// Replication's configuration, as the reference does: recursive -1 copies
// every referenced version, copyMode allResources also external content
// (reached with the same credentials and timeouts), uploadType ociArtifact
// stores copied OCI artifacts in their own repositories.
func transferOptions(cfg *config.Config, timeouts httpclient.Timeouts) (transfer.Options, error) {
	var opts transfer.Options
	ts, err := cfg.Transfer()
	if err != nil {
		return opts, fmt.Errorf("transfer configuration: %w", err)
	}
	if ts == nil {
		return opts, nil
	}
	opts.Recursive = ts.Recursive == config.RecursiveAll
	if ts.CopyMode == config.CopyModeAllResources {
		opts.CopyResources = true
		opts.External = access.New(shared.AccessOptions(cfg, timeouts))
	}
	if ts.UploadType == config.UploadAsOCIArtifact {
		opts.UploadAs = transfer.UploadOCIArtifact
	}
	return opts, nil
}

// verifyTarget recomputes the component digest in the target: the copy must
// be the version the Component verified, even if the source changed
// meanwhile. A recursive copy is checked as a graph (every reference digest
// recomputed from the copied versions). Otherwise the referenced versions
// need not be in the target: the descriptor is checked with the reference
// digests it records, and those it does not record are taken from the
// source's graph (they are what the Component's digest covers).
func verifyTarget(ctx context.Context, srcSpec, spec reference.Repository, opts repository.Options, info v1alpha1.ComponentInfo, recursive bool) error {
	repo, err := repository.OpenWithOptions(ctx, spec, opts)
	if err != nil {
		return fmt.Errorf("reading back target: %w", err)
	}
	defer repo.Close()
	var cd *descriptor.Descriptor
	if recursive {
		g, err := resolve.CheckGraph(ctx, repo, info.Component, info.Version)
		if err != nil {
			return fmt.Errorf("reading back target: %w", err)
		}
		cd = g.Root.Digested
	} else {
		if cd, err = repo.GetComponentVersion(ctx, info.Component, info.Version); err != nil {
			return fmt.Errorf("reading back target: %w", err)
		}
		if cd, err = withSourceReferenceDigests(ctx, srcSpec, opts, cd); err != nil {
			return err
		}
	}
	got, err := resolve.DigestOf(cd, info.Digest.NormalisationAlgorithm, info.Digest.HashAlgorithm)
	if err != nil {
		return fmt.Errorf("reading back target: %w", err)
	}
	if got.Value != info.Digest.Value {
		return fmt.Errorf("%w: target has %s, the Component verified %s", errDigestMismatch, got.Value, info.Digest.Value)
	}
	return nil
}

// withSourceReferenceDigests returns cd with the reference digests it does
// not record filled in from the source's checked graph.
func withSourceReferenceDigests(ctx context.Context, srcSpec reference.Repository, opts repository.Options, cd *descriptor.Descriptor) (*descriptor.Descriptor, error) {
	missing := false
	for _, r := range cd.Component.References {
		missing = missing || r.Digest == nil
	}
	if !missing {
		return cd, nil
	}
	src, err := repository.OpenWithOptions(ctx, srcSpec, opts)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	g, err := resolve.CheckGraph(ctx, src, cd.Component.Name, cd.Component.Version)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	out := *cd
	out.Component.References = slices.Clone(cd.Component.References)
	for i := range out.Component.References {
		r := &out.Component.References[i]
		if r.Digest != nil {
			continue
		}
		for _, f := range g.Root.Digested.Component.References {
			if f.Name == r.Name && f.Version == r.Version && f.ComponentName == r.ComponentName && maps.Equal(f.ExtraIdentity, r.ExtraIdentity) {
				r.Digest = f.Digest
			}
		}
	}
	return &out, nil
}

// SetupWithManager registers the reconciler; a Component resolving a new
// version triggers the Replications that follow it.
// Unset concurrency comes from OCM_REPLICATION_CONCURRENCY (default 4).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Concurrency <= 0 {
		r.Concurrency = 4
		if v, err := strconv.Atoi(os.Getenv("OCM_REPLICATION_CONCURRENCY")); err == nil && v > 0 {
			r.Concurrency = v
		}
	}
	byComponent := shared.EnqueueReferrers(mgr.GetClient(), func() *v1alpha1.ReplicationList { return &v1alpha1.ReplicationList{} },
		func(l *v1alpha1.ReplicationList) []client.Object {
			out := make([]client.Object, len(l.Items))
			for i := range l.Items {
				out[i] = &l.Items[i]
			}
			return out
		},
		func(o client.Object) string { return o.(*v1alpha1.Replication).Spec.ComponentRef.Name })
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Replication{}, status.SpecChanged()).
		Watches(&v1alpha1.Component{}, byComponent).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1), RateLimiter: status.RateLimiter()}).
		Named("replication").
		Complete(r)
}

// finalize: nothing to undo, replicated versions stay in the target.
func (r *Reconciler) finalize(ctx context.Context, obj *v1alpha1.Replication) (ctrl.Result, error) {
	return ctrl.Result{}, status.RemoveFinalizer(ctx, r.Client, obj, v1alpha1.ReplicationFinalizer)
}
