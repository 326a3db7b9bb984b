// Package transfer copies component versions between stores that follow the
// OCM OCI mapping (CTF archives, OCI registries), by value: the descriptor
// manifest, its config, every layer (local blobs) and, for versions stored as
// an image index, every native OCI artifact with all its content. The stored
// bytes are copied verbatim, so digests and signatures are unchanged.
//
// Resources with an external access (e.g. an ociArtifact access pointing at
// another registry) are not part of the version's OCI graph and stay
// references.
package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/httpclient"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// ErrArtifactTarget is returned for UploadOCIArtifact to a target that is
// not an OCI registry (ImageReferencer).
var ErrArtifactTarget = errors.New("OCI artifacts can be uploaded as artifacts to an OCI registry only")

// DefaultConcurrency bounds, when Options.Concurrency is not set, both the
// component versions in flight and the blobs copied in parallel.
const DefaultConcurrency = 4

// Ref names a component version.
type Ref struct {
	Component string
	Version   string
}

func (r Ref) String() string { return r.Component + ":" + r.Version }

// ExistingPolicy says what to do with a version the target has already
// (its tag exists in the target).
type ExistingPolicy string

const (
	// ExistingDefault skips a version whose target tag points at the same
	// digest and fails (before anything is written) when it points at
	// different content.
	ExistingDefault ExistingPolicy = ""
	// ExistingSkip leaves a version alone whatever the target has: identical
	// content is reported AlreadyPresent, different content VersionSkipped.
	ExistingSkip ExistingPolicy = "skip"
	// ExistingReplace copies the version and moves a tag pointing at
	// different content (reported Replaced).
	ExistingReplace ExistingPolicy = "replace"
	// ExistingFail fails (before anything is written) when the target has
	// the version at all, even with identical content.
	ExistingFail ExistingPolicy = "fail"
)

// ParseExistingPolicy accepts "", "skip", "replace" and "fail".
func ParseExistingPolicy(s string) (ExistingPolicy, error) {
	switch p := ExistingPolicy(s); p {
	case ExistingDefault, ExistingSkip, ExistingReplace, ExistingFail:
		return p, nil
	}
	return "", fmt.Errorf("unknown existing-version policy %q: use skip, replace or fail", s)
}

// Options configure ComponentVersions.
type Options struct {
	// Recursive also transfers every version referenced through
	// componentReferences, transitively, from the same source. Each
	// reference digest recorded in a descriptor must match the referenced
	// version (ErrReferenceDigest) unless SkipReferenceDigests is set.
	Recursive bool
	// SkipReferenceDigests copies a graph whose reference digests no
	// longer match the referenced versions (only when the user asks).
	SkipReferenceDigests bool
	// Concurrency bounds the component versions transferred in parallel and,
	// separately, the blobs copied in parallel over all of them; zero means
	// DefaultConcurrency.
	Concurrency int
	// DryRun computes what would be copied (reading the target to see what
	// it has) without writing anything.
	DryRun bool
	// Existing is the policy for versions the target has already.
	Existing ExistingPolicy
	// Overwrite is the older spelling of Existing: ExistingReplace. Setting
	// it together with another non-default Existing is an error.
	Overwrite bool
	// Progress, if set, receives one line per event. It may be called
	// concurrently.
	Progress func(event string)
	// Logger, if set, receives debug records for every blob copied or
	// skipped (digest, size, media type) and every upload retry with its
	// cause.
	Logger *slog.Logger
	// WrapBlob, if set, is called for every blob streamed from the source
	// (not for manifests, and not in a dry run) with the source stream; the
	// transfer reads the returned reader instead. done, if not nil, is called
	// once when the blob is finished, with nil or the error. It may be
	// called concurrently.
	WrapBlob func(ref Ref, desc ocispec.Descriptor, r io.Reader) (wrapped io.Reader, done func(err error))
	// CopyResources also copies resources with external content by
	// value: OCI artifacts (ociArtifact and its spellings, Helm charts in
	// oci:// repositories) and Helm charts from HTTP(S) chart repositories
	// (converted to OCI Helm artifacts, helmoci) into the version as local
	// blobs, or with UploadAs UploadOCIArtifact into their own repositories
	// of the target; wget and registry-blob content as local blobs. Their
	// access changes; their digest, and so every signature, stays. Content
	// that cannot be copied fails the transfer (ErrNotCopyable).
	CopyResources bool
	// UploadAs is how OCI artifacts are stored; "" means UploadLocalBlob.
	// UploadOCIArtifact needs a target that implements ImageReferencer and
	// moves local blobs that are OCI artifacts out of the version too.
	UploadAs UploadMode
	// External reaches external content. Needed with CopyResources.
	External *access.Fetcher
	// AfterVersion, if set, is called for every version complete in the
	// target (copied or found there; not in a dry run, not for skipped
	// versions, not for versions taken from the target, Result.FromTarget),
	// e.g. to attach or carry referrers.
	// An error fails the transfer; the version stays complete.
	AfterVersion func(ctx context.Context, v Done) error
	// SourceName names the source in messages ("CTF archive ./x"); when
	// empty, src's String method or "the source repository".
	SourceName string
}

// Done is a version complete in the target, as AfterVersion sees it.
type Done struct {
	Ref Ref
	// Descriptor is the descriptor as the target stores it; Repository is
	// the version's OCI repository.
	Descriptor *descriptor.Descriptor
	Repository string
	// SourceRoot is the version's manifest or index in the source.
	SourceRoot ocispec.Descriptor
}

// Result reports the transfer of one component version. Copied and Skipped
// count the pieces of content (blobs, manifests, indexes) of the version's
// graph: copied to the target, or skipped because the target had them;
// BytesCopied and BytesSkipped are their sizes. In a dry run Copied and
// BytesCopied count what would be copied.
type Result struct {
	Component string `json:"component"`
	Version   string `json:"version"`
	// Digest is the digest of what the tag points to (manifest or index).
	Digest       string `json:"digest"`
	Copied       int    `json:"copied"`
	Skipped      int    `json:"skipped"`
	BytesCopied  int64  `json:"bytesCopied"`
	BytesSkipped int64  `json:"bytesSkipped"`
	// AlreadyPresent: the target's tag already pointed at the same digest;
	// nothing was written.
	AlreadyPresent bool `json:"alreadyPresent,omitempty"`
	// FromTarget: present, found in the target as a reference pins it,
	// with everything below, and not read from the source (see
	// ComponentVersions).
	FromTarget bool `json:"fromTarget,omitempty"`
	// VersionSkipped: the target's tag pointed at other content and was left
	// alone (ExistingSkip); nothing was written or compared.
	VersionSkipped bool `json:"versionSkipped,omitempty"`
	// TargetDigest is what the target's tag pointed at before the transfer,
	// when it existed.
	TargetDigest string `json:"targetDigest,omitempty"`
	// Replaced: the target's tag pointed at other content and was moved
	// (ExistingReplace).
	Replaced bool `json:"replaced,omitempty"`
	DryRun   bool `json:"dryRun,omitempty"`
}

// ConflictError reports versions the target has already and that the
// existing-version policy does not allow: tags pointing at other content
// (default policy) or, with ExistingFail, any existing tag.
type ConflictError struct {
	Versions []Conflict
}

// Conflict is one version whose target tag exists; Source == Target when
// the content is identical (only an error with ExistingFail).
type Conflict struct {
	Ref            Ref
	Source, Target digest.Digest
}

func (e *ConflictError) Error() string {
	var parts []string
	identical := false
	for _, c := range e.Versions {
		if c.Source == c.Target {
			identical = true
			parts = append(parts, fmt.Sprintf("%s (identical, %s)", c.Ref, c.Target))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s (target %s, source %s)", c.Ref, c.Target, c.Source))
	}
	what := "component version already exists in the target with different content: "
	if identical {
		what = "component version already exists in the target: "
	}
	return what + strings.Join(parts, ", ") + "; nothing was transferred"
}

// version is one planned transfer.
type version struct {
	ref     Ref
	cv      *ocimap.ComponentVersion
	fetcher content.Fetcher
	// root is what the target tag will point at: cv.Root, or the new root
	// when rewriteVersion changed accesses (then pushes is set).
	root   ocispec.Descriptor
	pushes []push
	// targetCD is the descriptor as the target stores it (set with pushes).
	targetCD *descriptor.Descriptor
	deps     []*version // planned before it, transferred before it (cycles cut)
	target   digest.Digest
	present  bool // target tag points at cv.Root already
	// fromTarget: present, cv read from the target (inTarget).
	fromTarget bool
	absent     bool // the target has no such version (inTarget found out)
	replace    bool // target tag points elsewhere and is moved
	skip       bool // target tag points elsewhere and is left alone

	done chan struct{} // closed when finished, ok set before
	ok   bool
	res  Result
}

// ComponentVersions copies refs (and, with Recursive, everything they
// reference) from src to dst. Each version is transferred once, cycles
// included; up to Options.Concurrency versions in parallel, a version only
// after the versions it references (except along a cycle). Per version,
// content goes in the order blobs → manifests → index → tag, so a tag never
// points at incomplete content; what dst has already is skipped, so a rerun
// after a failure only copies what is missing.
//
// What the target has is not read again from the source, as oras copies
// skip a manifest the target has: a referenced version whose reference
// carries a digest, that the target has with that digest, and below which
// the same holds for every reference, is taken from the target with
// everything below it (Result.FromTarget) without reading it from the
// source. So a rerun of a recursive transfer of a pinned graph reads the
// named versions only, and a new version of a product reads only what is
// new. The reference digests fix everything signatures cover; what they do
// not — a signature added in the source to a referenced version later,
// referrers such as delivery records attached to it — is left as the
// target has it. A replace or fail policy for existing versions,
// CopyResources and UploadOCIArtifact always walk the source.
//
// Before anything is written, every version's target tag is checked against
// Options.Existing: all versions the policy refuses are reported together in
// a *ConflictError. The results come in dependency order (referenced
// versions first). On an error, no further version is started, and the
// results of the versions completed are returned with the first error.
func ComponentVersions(ctx context.Context, src ocimap.Store, dst ocimap.WriteStore, refs []Ref, opts Options) ([]Result, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Progress == nil {
		opts.Progress = func(string) {}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if _, err := ParseExistingPolicy(string(opts.Existing)); err != nil {
		return nil, err
	}
	if opts.Overwrite {
		if opts.Existing != ExistingDefault && opts.Existing != ExistingReplace {
			return nil, fmt.Errorf("overwrite contradicts the existing-version policy %q", opts.Existing)
		}
		opts.Existing = ExistingReplace
	}
	plan, err := planVersions(ctx, src, dst, refs, opts)
	if err != nil {
		return nil, err
	}
	switch opts.UploadAs {
	case "", UploadLocalBlob, UploadOCIArtifact:
	default:
		return nil, fmt.Errorf("unknown upload mode %q: use localBlob or ociArtifact", opts.UploadAs)
	}
	sp := &spool{}
	defer sp.cleanup()
	for _, v := range plan {
		if err := rewriteVersion(ctx, v, dst, opts, sp); err != nil {
			return nil, err
		}
	}
	if err := checkExisting(ctx, dst, plan, opts); err != nil {
		return nil, err
	}

	g, gctx := errgroup.WithContext(ctx)
	versionSlots := make(chan struct{}, opts.Concurrency)
	blobSlots := make(chan struct{}, opts.Concurrency)
	for _, v := range plan {
		g.Go(func() (err error) {
			defer close(v.done)
			for _, d := range v.deps {
				select {
				case <-d.done:
					if !d.ok {
						return nil // the failure is reported by d
					}
				case <-gctx.Done():
					return nil
				}
			}
			select {
			case versionSlots <- struct{}{}:
			case <-gctx.Done():
				return nil
			}
			defer func() { <-versionSlots }()
			if gctx.Err() != nil {
				return nil
			}
			res, err := copyVersion(gctx, dst, v, opts, blobSlots)
			if err != nil {
				return fmt.Errorf("transferring %s: %w", v.ref, err)
			}
			if opts.AfterVersion != nil && !opts.DryRun && !res.VersionSkipped && !v.fromTarget {
				cd := v.targetCD
				if cd == nil {
					cd = v.cv.Descriptor
				}
				if err := opts.AfterVersion(gctx, Done{Ref: v.ref, Descriptor: cd, Repository: v.cv.Repository, SourceRoot: v.cv.Root}); err != nil {
					return fmt.Errorf("transferring %s: %w", v.ref, err)
				}
			}
			v.res, v.ok = res, true
			return nil
		})
	}
	err = g.Wait()
	var results []Result
	for _, v := range plan {
		if v.ok {
			results = append(results, v.res)
		}
	}
	if err == nil && ctx.Err() != nil && len(results) < len(plan) {
		err = ctx.Err()
	}
	return results, err
}

// checkExisting resolves every planned version's tag in the target and
// applies the existing-version policy.
func checkExisting(ctx context.Context, dst ocimap.WriteStore, plan []*version, opts Options) error {
	var conflicts []Conflict
	for _, v := range plan {
		if v.fromTarget || v.absent {
			continue // known from inTarget already
		}
		target, err := dst.Resolve(ctx, v.cv.Repository, ocimap.ToTag(v.ref.Version))
		switch {
		case errors.Is(err, errdef.ErrNotFound):
			continue
		case err != nil:
			return fmt.Errorf("checking %s in the target: %w", v.ref, err)
		}
		v.target = target.Digest
		same := target.Digest == v.root.Digest
		switch {
		case opts.Existing == ExistingFail:
			conflicts = append(conflicts, Conflict{Ref: v.ref, Source: v.root.Digest, Target: target.Digest})
		case same:
			v.present = true
		case opts.Existing == ExistingSkip:
			v.skip = true
		case opts.Existing == ExistingReplace:
			v.replace = true
		default:
			conflicts = append(conflicts, Conflict{Ref: v.ref, Source: v.root.Digest, Target: target.Digest})
		}
	}
	if len(conflicts) > 0 {
		return &ConflictError{Versions: conflicts}
	}
	return nil
}

// planVersions reads refs from src and, when recursive, what they
// reference, in post-order (referenced versions first), each once. The
// versions are loaded up to concurrency at a time before the walk, which
// then finds them in the repository's cache. Referenced versions the target
// has as pinned (inTarget) are taken from the target instead.
func planVersions(ctx context.Context, src ocimap.Store, dst ocimap.WriteStore, refs []Ref, opts Options) ([]*version, error) {
	where := opts.SourceName
	if s, ok := src.(fmt.Stringer); ok && where == "" {
		where = s.String()
	}
	if where == "" {
		where = "the source repository"
	}
	recursive, checkDigests := opts.Recursive, !opts.SkipReferenceDigests
	repo := ocimap.New(src, where)
	var pinned *inTarget
	if recursive && !opts.CopyResources && opts.UploadAs != UploadOCIArtifact &&
		(opts.Existing == ExistingDefault || opts.Existing == ExistingSkip) {
		pinned = &inTarget{repo: ocimap.New(dst, "the target"), found: map[Ref]*ocimap.ComponentVersion{}, missing: map[Ref]bool{}}
	}
	if recursive || len(refs) > 1 {
		roots := make([]ocimap.VersionRef, 0, len(refs))
		for _, r := range refs {
			roots = append(roots, ocimap.VersionRef{Component: r.Component, Version: r.Version})
		}
		switch {
		case pinned != nil:
			repo.PreloadExcept(ctx, roots, opts.Concurrency, func(cr descriptor.Reference) bool { return pinned.has(ctx, cr) != nil })
		case recursive:
			repo.Preload(ctx, roots, opts.Concurrency)
		default:
			repo.PreloadVersions(ctx, roots, opts.Concurrency)
		}
	}
	var plan []*version
	visited := map[Ref]bool{}
	planned := map[Ref]*version{}
	var visit func(r Ref, via string, fromTarget *ocimap.ComponentVersion) error
	visit = func(r Ref, via string, fromTarget *ocimap.ComponentVersion) error {
		if visited[r] {
			return nil // done, or on the current path (a cycle)
		}
		visited[r] = true
		var v *version
		if cv := fromTarget; cv != nil {
			v = &version{ref: r, cv: cv, fetcher: pinned.repo.Fetcher(cv), root: cv.Root, target: cv.Root.Digest, present: true, fromTarget: true, done: make(chan struct{})}
		} else {
			cv, err := repo.GetComponentVersion(ctx, r.Component, r.Version)
			if err != nil {
				if via != "" {
					return fmt.Errorf("resolving reference of %s: %w", via, err)
				}
				return err
			}
			v = &version{ref: r, cv: cv, fetcher: repo.Fetcher(cv), root: cv.Root, absent: pinned.absent(r), done: make(chan struct{})}
		}
		if recursive {
			for _, cr := range v.cv.Descriptor.Component.References {
				cref := Ref{Component: cr.ComponentName, Version: cr.Version}
				var tcv *ocimap.ComponentVersion
				if pinned != nil {
					// Below a version from the target everything is
					// there (inTarget.has checked it).
					tcv = pinned.has(ctx, cr)
				}
				if err := visit(cref, r.String(), tcv); err != nil {
					return err
				}
				// A reference still on the DFS path (a cycle) is not in
				// planned yet and is not waited for.
				d := planned[cref]
				if d != nil && !slices.Contains(v.deps, d) {
					v.deps = append(v.deps, d)
				}
				// inTarget.has checked the digests it answered for.
				if d != nil && checkDigests && cr.Digest != nil && tcv == nil {
					if err := checkReferenceDigest(r, &cr, d.cv.Descriptor); err != nil {
						return err
					}
				}
			}
		}
		planned[r] = v
		plan = append(plan, v)
		return nil
	}
	for _, r := range refs {
		if err := visit(r, "", nil); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// inTarget finds referenced versions the target has already as their
// references pin them, so that they need not be read from the source:
// the reference carries a digest, the target has the version with that
// digest, and the same holds, recursively, for everything that version
// references. Answers are kept; has may be called concurrently.
type inTarget struct {
	repo    *ocimap.Repository
	mu      sync.Mutex
	found   map[Ref]*ocimap.ComponentVersion // nil value: not (completely) there
	missing map[Ref]bool                     // not there at all
}

// absent reports whether the target was found not to have r (so that the
// existing-version check need not ask again); false when not asked.
func (t *inTarget) absent(r Ref) bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.missing[r]
}

// has returns the target's version for cr, or nil when cr is not pinned or
// the target does not have it completely.
func (t *inTarget) has(ctx context.Context, cr descriptor.Reference) *ocimap.ComponentVersion {
	return t.check(ctx, cr, map[Ref]bool{})
}

func (t *inTarget) check(ctx context.Context, cr descriptor.Reference, path map[Ref]bool) *ocimap.ComponentVersion {
	r := Ref{Component: cr.ComponentName, Version: cr.Version}
	if cr.Digest == nil || path[r] {
		return nil
	}
	t.mu.Lock()
	cv, known := t.found[r]
	t.mu.Unlock()
	if !known {
		cv = t.lookup(ctx, r, path)
		t.mu.Lock()
		t.found[r] = cv
		t.mu.Unlock()
	}
	// The answer for r holds for any reference pinning the same digest.
	if cv == nil || checkReferenceDigest(r, &cr, cv.Descriptor) != nil {
		return nil
	}
	return cv
}

// lookup reads r from the target and checks that everything it references
// is there completely.
func (t *inTarget) lookup(ctx context.Context, r Ref, path map[Ref]bool) *ocimap.ComponentVersion {
	// By tag only (as the existing-version check resolves it): on a first
	// transfer most versions are not there, and that costs one request.
	cv, ok, err := t.repo.FindTaggedVersion(ctx, r.Component, r.Version)
	if err == nil && !ok {
		t.mu.Lock()
		t.missing[r] = true
		t.mu.Unlock()
	}
	if err != nil || !ok {
		return nil // not there, or unreadable: the source decides
	}
	path[r] = true
	defer delete(path, r)
	for _, cr := range cv.Descriptor.Component.References {
		if t.check(ctx, cr, path) == nil {
			return nil
		}
	}
	return cv
}

// ErrReferenceDigest marks a reference whose recorded digest does not match
// the referenced version in the source: the graph is inconsistent (a
// version was replaced after its referrer was built or signed).
var ErrReferenceDigest = errors.New("reference digest does not match the referenced version")

func checkReferenceDigest(from Ref, cr *descriptor.Reference, referenced *descriptor.Descriptor) error {
	actual, err := normalisation.Digest(referenced, cr.Digest.NormalisationAlgorithm, cr.Digest.HashAlgorithm)
	if err != nil {
		return fmt.Errorf("%s: reference name=%s (%s:%s): %w", from, cr.Name, cr.ComponentName, cr.Version, err)
	}
	if !access.SameDigest(cr.Digest, actual) {
		return fmt.Errorf("%s: reference name=%s: %w: %s records %s %s, %s:%s normalises to %s", from, cr.Name, ErrReferenceDigest, from, cr.Digest.HashAlgorithm, cr.Digest.Value, cr.ComponentName, cr.Version, actual.Value)
	}
	return nil
}

func copyVersion(ctx context.Context, dst ocimap.WriteStore, v *version, opts Options, blobSlots chan struct{}) (Result, error) {
	res := Result{Component: v.ref.Component, Version: v.ref.Version, Digest: string(v.root.Digest), TargetDigest: string(v.target), DryRun: opts.DryRun}
	if v.skip {
		res.VersionSkipped = true
		opts.Progress(fmt.Sprintf("%s: skipped, the target has other content (%s)", v.ref, v.target))
		return res, nil
	}
	pushes := v.pushes
	if pushes == nil {
		nodes, err := ocimap.Graph(ctx, v.fetcher, v.cv.Root)
		if err != nil {
			return res, err
		}
		pushes = []push{{repo: v.cv.Repository, tag: ocimap.ToTag(v.ref.Version), root: v.cv.Root, items: withFetcher(nodes, v.fetcher)}}
	}
	if v.present {
		res.AlreadyPresent = true
		for _, p := range pushes {
			res.Skipped += len(p.items)
			for _, it := range p.items {
				res.BytesSkipped += it.Descriptor.Size
			}
		}
		res.FromTarget = v.fromTarget
		if v.fromTarget {
			opts.Progress(fmt.Sprintf("%s: already present in the target (%s, as its referrer pins it; not read from the source)", v.ref, v.root.Digest))
		} else {
			opts.Progress(fmt.Sprintf("%s: already present in the target (%s)", v.ref, v.root.Digest))
		}
		return res, nil
	}
	if s := v.cv.Subject(); s != nil && s.Digest == ocimap.ComponentIndex.Digest && !opts.DryRun {
		// The version names the Component Index as subject: the target
		// gets the (fixed) index too, so that the subject exists there.
		if err := ocimap.EnsureComponentIndex(ctx, dst, v.cv.Repository); err != nil {
			return res, err
		}
	}
	var c counters
	// Artifacts of --upload-as ociArtifact first, the version (and its tag) last.
	for _, p := range pushes {
		if err := copyPush(ctx, dst, v, p, opts, blobSlots, &c); err != nil {
			return res, err
		}
	}
	res.Copied, res.Skipped = int(c.copied.Load()), int(c.skipped.Load())
	res.BytesCopied, res.BytesSkipped = c.bytesCopied.Load(), c.bytesSkipped.Load()
	res.Replaced = v.replace
	return res, nil
}

type counters struct {
	copied, skipped, bytesCopied, bytesSkipped atomic.Int64
}

// copyPush copies one repository's content: blobs in parallel, then
// manifests and indexes (children before parents), then the tag.
func copyPush(ctx context.Context, dst ocimap.WriteStore, v *version, p push, opts Options, blobSlots chan struct{}, c *counters) error {
	verb := "copied"
	if opts.DryRun {
		verb = "would copy"
	}
	// transferOne copies one node unless the target has it.
	transferOne := func(ctx context.Context, n item) error {
		ok, err := dst.Exists(ctx, p.repo, n.Descriptor)
		if err != nil {
			return err
		}
		if ok {
			c.skipped.Add(1)
			c.bytesSkipped.Add(n.Descriptor.Size)
			opts.Logger.Debug("blob skipped, the target has it", blobAttrs(v.ref, p.repo, n.Descriptor)...)
			return nil
		}
		if !opts.DryRun {
			if n.Data != nil {
				err = dst.Push(ctx, p.repo, n.Descriptor, bytes.NewReader(n.Data))
			} else {
				err = copyBlob(ctx, opts.Logger, n.fetcher, dst, p.repo, n.Descriptor, func(r io.Reader) (io.Reader, func(error)) {
					if opts.WrapBlob == nil {
						return r, nil
					}
					return opts.WrapBlob(v.ref, n.Descriptor, r)
				})
			}
			if err != nil {
				return err
			}
		}
		c.copied.Add(1)
		c.bytesCopied.Add(n.Descriptor.Size)
		if opts.DryRun {
			opts.Logger.Debug("blob would be copied", blobAttrs(v.ref, p.repo, n.Descriptor)...)
		} else {
			opts.Logger.Debug("blob copied", blobAttrs(v.ref, p.repo, n.Descriptor)...)
		}
		opts.Progress(fmt.Sprintf("%s: %s %s %s (%d bytes)", v.ref, verb, n.Descriptor.MediaType, n.Descriptor.Digest, n.Descriptor.Size))
		return nil
	}
	// Blobs in parallel, bounded over all versions by blobSlots.
	g, gctx := errgroup.WithContext(ctx)
	for _, n := range p.items {
		if n.Data != nil {
			continue
		}
		select {
		case blobSlots <- struct{}{}:
		case <-gctx.Done():
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			defer func() { <-blobSlots }()
			return transferOne(gctx, n)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, n := range p.items {
		if n.Data == nil {
			continue
		}
		if err := transferOne(ctx, n); err != nil {
			return err
		}
	}
	if p.tag == "" {
		return nil
	}
	target := p.repo + ":" + p.tag
	if opts.DryRun {
		opts.Progress(fmt.Sprintf("%s: would tag %s as %s", v.ref, p.root.Digest, target))
		return nil
	}
	if err := dst.Tag(ctx, p.repo, p.root, p.tag); err != nil {
		return err
	}
	opts.Progress(fmt.Sprintf("%s: tagged %s as %s", v.ref, p.root.Digest, target))
	return nil
}

// copyBlob streams desc from the source to the target, verifying size and
// digest while reading: a mismatch fails the read before the target's
// writer sees the end of the stream.
//
// wrap may wrap the source stream (for progress display); its done function,
// if any, is called with the outcome.
// blobAttrs are the log attributes of one blob of a version.
func blobAttrs(ref Ref, repo string, desc ocispec.Descriptor) []any {
	return []any{"component", ref.Component, "version", ref.Version, "repository", repo,
		"digest", string(desc.Digest), "size", desc.Size, "mediaType", desc.MediaType}
}

func copyBlob(ctx context.Context, logger *slog.Logger, fetcher content.Fetcher, dst ocimap.WriteStore, repo string, desc ocispec.Descriptor, wrap func(io.Reader) (io.Reader, func(error))) (err error) {
	// A streamed upload cannot be rewound by the HTTP retry layer, so a
	// failed upload is retried here with a fresh stream from the source.
	for attempt := 0; ; attempt++ {
		err = copyBlobOnce(ctx, fetcher, dst, repo, desc, wrap)
		if err == nil || attempt == maxUploadAttempts-1 || !retryableUpload(err) {
			return err
		}
		logger.Debug("blob upload failed, retrying", "digest", string(desc.Digest), "size", desc.Size,
			"attempt", attempt+1, "cause", err.Error())
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
		}
	}
}

// maxUploadAttempts bounds the retries of one blob upload.
const maxUploadAttempts = 5

// retryableUpload: server errors, throttling and broken connections, but
// never a source that failed verification.
func retryableUpload(err error) bool {
	// A timeout means a silent peer; retrying would multiply the bound.
	if errors.Is(err, errSourceBlob) || errors.Is(err, errSourceRead) || errors.Is(err, httpclient.ErrTimeout) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) {
		// 413: the registry refused one request that large; the next
		// attempt goes in chunks (repository/oci).
		return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestEntityTooLarge
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF)
}

// errSourceBlob marks a source blob that arrived complete but does not
// match its descriptor: tampered with or corrupted at the source, never
// retried.
var errSourceBlob = errors.New("source blob does not match its descriptor (tampered with or corrupted at the source)")

// errSourceRead marks a source stream that broke; the source store has
// already resumed it as often as it would (repository/oci), so it is not
// retried here either.
var errSourceRead = errors.New("reading the source blob failed")

func copyBlobOnce(ctx context.Context, fetcher content.Fetcher, dst ocimap.WriteStore, repo string, desc ocispec.Descriptor, wrap func(io.Reader) (io.Reader, func(error))) (err error) {
	rc, err := fetcher.Fetch(ctx, desc)
	if err != nil {
		return fmt.Errorf("fetching blob %s: %w", desc.Digest, err)
	}
	defer rc.Close()
	src, done := wrap(rc)
	if done != nil {
		defer func() { done(err) }()
	}
	vr := &verifyingReader{vr: content.NewVerifyReader(src, desc), desc: desc}
	perr := dst.Push(ctx, repo, desc, vr)
	switch {
	case vr.err != nil:
		return fmt.Errorf("source blob %s: %w: %w", desc.Digest, errSourceBlob, vr.err)
	case vr.readErr != nil:
		return fmt.Errorf("source blob %s: %w: %w", desc.Digest, errSourceRead, vr.readErr)
	}
	return perr
}

// verifyingReader turns the end of a stream whose size or digest does not
// match into an error (err), and remembers a broken stream (readErr) apart
// from it, so that a reset is never reported as a mismatch. It is a
// blob.VerifiedStream: a target that stages the stream (a CTF) does not
// hash it a second time.
type verifyingReader struct {
	vr      *content.VerifyReader
	desc    ocispec.Descriptor
	err     error
	readErr error
}

// Verifies implements blob.VerifiedStream: Read never returns io.EOF
// unless the stream had exactly desc's size and digest.
func (r *verifyingReader) Verifies() (digest.Digest, int64) { return r.desc.Digest, r.desc.Size }

func (r *verifyingReader) Read(p []byte) (int, error) {
	n, err := r.vr.Read(p)
	if err == io.EOF {
		if verr := r.vr.Verify(); verr != nil {
			r.err = verr
			return n, verr
		}
	} else if err != nil {
		r.readErr = err
	}
	return n, err
}
