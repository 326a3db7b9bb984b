package integrity

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// Element statuses.
const (
	StatusOK         = "ok"          // recomputed and equal to the recorded digest
	StatusComputed   = "computed"    // no digest was recorded; it was computed
	StatusNotChecked = "not checked" // the recorded digest was taken as is
	StatusMismatch   = "mismatch"
	StatusError      = "error"
)

// Options say how digests are computed.
type Options struct {
	// Normalisation and Hash for component digests where no recorded
	// reference digest says otherwise (default jsonNormalisation/v4alpha1, SHA-256).
	Normalisation string
	Hash          string
	// Content re-hashes local blobs; without it recorded resource digests are trusted.
	Content bool
	// External lets Content also check resources whose access points
	// outside the repository (an OCI artifact in a registry). Without it,
	// such a resource fails with ErrNoContentAccess unless Offline is set.
	External External
	// Offline takes the recorded digests of external content as they are
	// (status "not checked"), for archives that travelled without it. A
	// resource without a recorded digest still fails.
	Offline bool
	// RequireDigests fails resources with content but no recorded digest
	// (verification: the signature does not cover such content) instead of
	// computing their digest (signing).
	RequireDigests bool
	// Concurrency bounds the component versions loaded and the resources
	// hashed at a time; zero means DefaultConcurrency.
	Concurrency int
}

// DefaultConcurrency is the default of Options.Concurrency.
const DefaultConcurrency = 8

// ErrNoDigest marks a resource with content but no recorded digest: a
// signature over the descriptor says nothing about its content.
var ErrNoDigest = access.ErrNoDigest

// ElementResult is the outcome for one resource or reference.
type ElementResult struct {
	Kind     string // "resource" or "reference"
	Identity string
	Status   string
	Recorded *descriptor.DigestSpec
	Actual   *descriptor.DigestSpec
	Err      error
}

// VersionResult is the outcome for one component version.
type VersionResult struct {
	Component, Version string
	Elements           []ElementResult
	// Digested is the descriptor with every digest filled in and checked.
	Digested *descriptor.Descriptor
	// Err is set when any element failed (or a referenced version did).
	Err error
}

// ErrReferenceFails marks a reference whose version failed its own checks.
var ErrReferenceFails = errors.New("referenced component version does not verify")

// Engine recomputes digests over a repository's component graph, each
// version once per engine.
type Engine struct {
	repo     repository.Repository
	opts     Options
	done     map[string]*VersionResult
	visiting map[string]bool
	// digests holds resource digests computed ahead (prefetch), by
	// "component:version#index".
	digests map[string]digestResult
}

type digestResult struct {
	d   *descriptor.DigestSpec
	err error
}

// NewEngine returns an engine reading from repo.
func NewEngine(repo repository.Repository, opts Options) *Engine {
	if opts.Normalisation == "" {
		opts.Normalisation = normalisation.JSONv4alpha1
	}
	if opts.Hash == "" {
		opts.Hash = normalisation.SHA256
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	return &Engine{repo: repo, opts: opts, done: map[string]*VersionResult{}, visiting: map[string]bool{}, digests: map[string]digestResult{}}
}

// Results returns every version result computed so far.
func (e *Engine) Results() map[string]*VersionResult { return e.done }

// Err reports every version that failed, each once with its own failed
// elements (sorted by version), so the message grows with the number of
// failures, not with the number of paths through the graph.
func (e *Engine) Err() error {
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(e.done)) {
		if err := e.done[key].Err; err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return joinErrors(errs)
}

// Version loads component:version and checks it (see Check).
func (e *Engine) Version(ctx context.Context, component, version string) (*VersionResult, error) {
	key := component + ":" + version
	if r, ok := e.done[key]; ok {
		return r, nil
	}
	cd, err := e.repo.GetComponentVersion(ctx, component, version)
	if err != nil {
		return nil, err
	}
	return e.Check(ctx, cd)
}

// Check recomputes the resource digests of cd (from content when
// Options.Content) and its reference digests (recursively, from the
// referenced versions in the repository) and compares them with what cd
// records. The error names every element that failed.
func (e *Engine) Check(ctx context.Context, cd *descriptor.Descriptor) (*VersionResult, error) {
	key := cd.Component.Name + ":" + cd.Component.Version
	if r, ok := e.done[key]; ok {
		return r, nil
	}
	if e.visiting[key] {
		return nil, fmt.Errorf("component reference cycle through %s", key)
	}
	if len(e.visiting) == 0 {
		e.prefetch(ctx, cd)
	}
	e.visiting[key] = true
	defer delete(e.visiting, key)

	res := &VersionResult{Component: cd.Component.Name, Version: cd.Component.Version}
	digested := *cd
	digested.Component.Resources = append([]descriptor.Resource(nil), cd.Component.Resources...)
	digested.Component.References = append([]descriptor.Reference(nil), cd.Component.References...)
	var errs []error

	ids := cd.Component.ResourceIdentities()
	for i := range digested.Component.Resources {
		r := &digested.Component.Resources[i]
		el := ElementResult{Kind: "resource", Identity: ids[i].String(), Recorded: r.Digest}
		switch {
		case r.Access == nil || r.Access.IsNone():
			el.Status = StatusOK
			if r.Digest != nil {
				el.Status, el.Err = StatusError, errors.New("a resource without content (access none) must not have a digest")
			}
		case r.Digest == nil && e.opts.RequireDigests:
			el.Status, el.Err = StatusError, ErrNoDigest
		case r.Digest != nil && !e.opts.Content:
			el.Status, el.Actual = StatusNotChecked, r.Digest
		default:
			dr, ok := e.digests[fmt.Sprintf("%s#%d", key, i)]
			if !ok {
				dr.d, dr.err = resourceDigest(ctx, e.repo, cd, i, e.opts.External)
			}
			actual, err := dr.d, dr.err
			switch {
			case errors.Is(err, ErrNoContentAccess) && r.Digest != nil && e.opts.Offline:
				el.Status, el.Actual = StatusNotChecked, r.Digest
			case errors.Is(err, ErrNoContentAccess) && r.Digest == nil && access.Supported(r.Access):
				// External content added unresolved and not reachable now:
				// nothing to sign.
				el.Status, el.Err = StatusError, &access.MissingDigestError{Resource: ids[i].String(), AccessType: r.Access.Type}
			case err != nil:
				el.Status, el.Err = StatusError, err
			case r.Digest == nil:
				el.Status, el.Actual = StatusComputed, actual
				r.Digest = actual
			case SameDigest(r.Digest, actual):
				el.Status, el.Actual = StatusOK, actual
			default:
				el.Status, el.Actual = StatusMismatch, actual
				el.Err = fmt.Errorf("digest mismatch: descriptor records %s %s, content has %s", r.Digest.HashAlgorithm, r.Digest.Value, actual.Value)
			}
		}
		if el.Err != nil {
			var missing *access.MissingDigestError
			if errors.As(el.Err, &missing) {
				errs = append(errs, el.Err) // names the resource already
			} else {
				errs = append(errs, fmt.Errorf("resource %s: %w", el.Identity, el.Err))
			}
		}
		res.Elements = append(res.Elements, el)
	}

	refIDs := cd.Component.ReferenceIdentities()
	for i := range digested.Component.References {
		ref := &digested.Component.References[i]
		el := ElementResult{Kind: "reference", Identity: refIDs[i].String() + " (" + ref.ComponentName + ":" + ref.Version + ")", Recorded: ref.Digest}
		child, err := e.Version(ctx, ref.ComponentName, ref.Version)
		if err == nil && child.Err != nil {
			// Name the failed version, not its whole error: that is reported
			// once by Engine.Err, however many paths lead to it.
			err = fmt.Errorf("%w: %s:%s", ErrReferenceFails, ref.ComponentName, ref.Version)
		}
		if err == nil {
			norm, hash := e.opts.Normalisation, e.opts.Hash
			if ref.Digest != nil && ref.Digest.NormalisationAlgorithm != "" {
				norm, hash = ref.Digest.NormalisationAlgorithm, ref.Digest.HashAlgorithm
			}
			var actual *descriptor.DigestSpec
			actual, err = normalisation.Digest(child.Digested, norm, hash)
			el.Actual = actual
			switch {
			case err != nil:
			case ref.Digest == nil:
				el.Status = StatusComputed
				ref.Digest = actual
			case SameDigest(ref.Digest, actual):
				el.Status = StatusOK
			default:
				el.Status = StatusMismatch
				err = fmt.Errorf("digest mismatch: descriptor records %s %s, %s:%s normalises to %s", ref.Digest.HashAlgorithm, ref.Digest.Value, ref.ComponentName, ref.Version, actual.Value)
			}
		}
		if err != nil {
			if el.Status == "" {
				el.Status = StatusError
			}
			el.Err = err
			errs = append(errs, fmt.Errorf("reference %s: %w", el.Identity, err))
		}
		res.Elements = append(res.Elements, el)
	}
	res.Digested = &digested
	if len(errs) > 0 {
		res.Err = fmt.Errorf("%s: %w", key, joinErrors(errs))
	}
	e.done[key] = res
	return res, nil
}

// needsContent reports whether Check hashes resource i of cd.
func (e *Engine) needsContent(r *descriptor.Resource) bool {
	switch {
	case r.Access == nil || r.Access.IsNone():
		return false
	case r.Digest == nil && e.opts.RequireDigests:
		return false
	case r.Digest != nil && !e.opts.Content:
		return false
	}
	return true
}

// preloader is a repository that loads a graph of versions concurrently
// (repository.FromStore over ocimap.Repository).
type preloader interface {
	Preload(ctx context.Context, roots []ocimap.VersionRef, limit int)
}

// prefetch does the slow part of checking cd's graph concurrently, up to
// Options.Concurrency at a time: it loads every version reachable from cd
// and computes every resource digest that Check will need from content.
// Check then walks the graph in its own order, so results and errors stay
// the same, without waiting for one request after another. Errors are
// kept for Check to report.
func (e *Engine) prefetch(ctx context.Context, cd *descriptor.Descriptor) {
	var roots []ocimap.VersionRef
	for _, ref := range cd.Component.References {
		roots = append(roots, ocimap.VersionRef{Component: ref.ComponentName, Version: ref.Version})
	}
	if p, ok := e.repo.(preloader); ok && len(roots) > 0 {
		p.Preload(ctx, roots, e.opts.Concurrency)
	}
	// Every version of the graph, once (loaded by Preload: cache hits).
	type job struct {
		key string
		cd  *descriptor.Descriptor
		i   int
	}
	var jobs []job
	seen := map[string]bool{}
	var walk func(d *descriptor.Descriptor)
	walk = func(d *descriptor.Descriptor) {
		key := d.Component.Name + ":" + d.Component.Version
		if seen[key] || e.done[key] != nil {
			return
		}
		seen[key] = true
		for i := range d.Component.Resources {
			if e.needsContent(&d.Component.Resources[i]) {
				jobs = append(jobs, job{fmt.Sprintf("%s#%d", key, i), d, i})
			}
		}
		for _, ref := range d.Component.References {
			if child, err := e.repo.GetComponentVersion(ctx, ref.ComponentName, ref.Version); err == nil {
				walk(child)
			}
		}
	}
	walk(cd)
	if len(jobs) < 2 {
		return
	}
	results := make([]digestResult, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.opts.Concurrency)
	for n, j := range jobs {
		g.Go(func() error {
			d, err := resourceDigest(gctx, e.repo, j.cd, j.i, e.opts.External)
			results[n] = digestResult{d, err}
			return nil
		})
	}
	g.Wait()
	for n, j := range jobs {
		if ctx.Err() == nil {
			e.digests[j.key] = results[n]
		}
	}
}

// joinErrors joins on one line, as CLI errors print.
func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	return &multiError{errs: errs, msg: strings.Join(msgs, "; ")}
}

type multiError struct {
	errs []error
	msg  string
}

func (m *multiError) Error() string   { return m.msg }
func (m *multiError) Unwrap() []error { return m.errs }
