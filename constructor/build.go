package constructor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"strconv"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/content"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// ConflictPolicy says what happens when a component version already exists in the target.
type ConflictPolicy string

const (
	AbortAndFail ConflictPolicy = "abort-and-fail"
	Replace      ConflictPolicy = "replace"
	Skip         ConflictPolicy = "skip"
)

// BuildOptions tune Build.
type BuildOptions struct {
	ConflictPolicy ConflictPolicy
	// Concurrency bounds how many inputs of a component are processed at once (default 4).
	Concurrency int
	// CreationTime is written to component.creationTime when the constructor
	// has none. Empty: SOURCE_DATE_EPOCH if set, else no creationTime (as the
	// reference writes it, so the same inputs give the same digests).
	CreationTime string
	// Progress, if set, wraps the stream of each input (e.g. a progress bar); name is the element's path.
	Progress func(name string, size int64, r io.Reader) io.Reader
	Logger   *slog.Logger
	// ReferrerTracking names the OCM Component Index as OCI subject of every
	// version (ocimap.Writer.ReferrerTracking).
	ReferrerTracking bool
	// External resolves resources that only have an access to external
	// content (OCI images, Helm charts, wget), as the reference does: an
	// image reference by tag is pinned to its digest, and the digest of
	// the content is recorded (a digest the constructor gives must agree).
	// Nil is SkipDigestProcessing.
	External *access.Fetcher
	// SkipDigestProcessing records access-only resources without reaching
	// their content (offline): nothing is pinned and only a digest the
	// access itself states (an image reference pinned by digest) is
	// recorded; signing fails naming any resource left without a digest.
	SkipDigestProcessing bool
}

// Result is one component version of the constructor.
type Result struct {
	Descriptor *descriptor.Descriptor
	// Skipped is set when the version existed and the policy was Skip.
	Skipped bool
}

// Build constructs every component of spec and adds it to store. Components
// are built in reference order, so references to components of the same
// constructor get the digests of what was just built; references to other
// components are digested from the versions already in store. Nothing is
// tagged for a component until all its content is stored.
func Build(ctx context.Context, spec *Spec, store ocimap.WriteStore, opts BuildOptions) ([]Result, error) {
	if opts.ConflictPolicy == "" {
		opts.ConflictPolicy = AbortAndFail
	}
	switch opts.ConflictPolicy {
	case AbortAndFail, Replace, Skip:
	default:
		return nil, fmt.Errorf("unknown conflict policy %q (abort-and-fail, replace, skip)", opts.ConflictPolicy)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CreationTime == "" {
		t, err := creationTime()
		if err != nil {
			return nil, err
		}
		opts.CreationTime = t
	}
	order, err := buildOrder(spec)
	if err != nil {
		return nil, err
	}
	ctx = WithFetcher(ctx, opts.External)
	b := &builder{store: store, repo: ocimap.New(store, "the target repository"), opts: opts, built: map[string]*descriptor.Descriptor{}}
	results := make([]Result, len(spec.Components))
	for _, i := range order {
		res, err := b.component(ctx, &spec.Components[i], fmt.Sprintf("components[%d]", i))
		if err != nil {
			return nil, fmt.Errorf("%s:%s: %w", spec.Components[i].Name, spec.Components[i].Version, err)
		}
		results[i] = res
	}
	return results, nil
}

func makeOrNil[T any](n int) []T {
	if n == 0 {
		return nil
	}
	return make([]T, n)
}

// creationTime is SOURCE_DATE_EPOCH as RFC 3339 UTC seconds, or "".
func creationTime() (string, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return "", nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return "", fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", s)
	}
	return time.Unix(sec, 0).UTC().Format(time.RFC3339), nil
}

// buildOrder sorts components so that referenced ones of the same
// constructor come first; a reference cycle is an error.
func buildOrder(spec *Spec) ([]int, error) {
	index := map[string]int{}
	for i, c := range spec.Components {
		index[c.Name+":"+c.Version] = i
	}
	state := make([]int, len(spec.Components)) // 0 new, 1 visiting, 2 done
	var order []int
	var visit func(i int, path []string) error
	visit = func(i int, path []string) error {
		c := &spec.Components[i]
		path = append(path, c.Name+":"+c.Version)
		switch state[i] {
		case 1:
			return fmt.Errorf("component references form a cycle: %s", strings.Join(path, " -> "))
		case 2:
			return nil
		}
		state[i] = 1
		for _, r := range c.References {
			if j, ok := index[r.ComponentName+":"+r.Version]; ok {
				if err := visit(j, path); err != nil {
					return err
				}
			}
		}
		state[i] = 2
		order = append(order, i)
		return nil
	}
	for i := range spec.Components {
		if err := visit(i, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

type builder struct {
	store ocimap.WriteStore
	repo  *ocimap.Repository
	opts  BuildOptions
	built map[string]*descriptor.Descriptor
}

// ErrVersionExists is the conflict of policy AbortAndFail: the target
// repository has the component version already.
var ErrVersionExists = errors.New("component version already exists in the target repository")

func (b *builder) component(ctx context.Context, c *Component, path string) (Result, error) {
	key := c.Name + ":" + c.Version
	existing, found, err := b.repo.FindComponentVersion(ctx, c.Name, c.Version)
	switch {
	case err != nil:
		return Result{}, err
	case found:
		switch b.opts.ConflictPolicy {
		case AbortAndFail:
			return Result{}, ErrVersionExists
		case Skip:
			b.opts.Logger.Info("component version exists, skipped", "component", key)
			b.built[key] = existing.Descriptor
			return Result{Descriptor: existing.Descriptor, Skipped: true}, nil
		}
	}

	cd := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: descriptor.SchemaVersion}}
	cc := &cd.Component
	cc.Name, cc.Version = c.Name, c.Version
	cc.CreationTime = c.CreationTime
	if cc.CreationTime == "" {
		cc.CreationTime = b.opts.CreationTime
	}
	cc.Labels = c.Labels
	if err := cc.Provider.Set(descriptor.ProviderObject{Name: c.Provider.Name, Labels: c.Provider.Labels}); err != nil {
		return Result{}, fmt.Errorf("%s.provider: %w", path, err)
	}
	repoName := ocimap.RepositoryName(c.Name)

	// Empty lists stay nil and are written as null, as the reference writes them.
	cc.Resources = makeOrNil[descriptor.Resource](len(c.Resources))
	cc.Sources = makeOrNil[descriptor.Source](len(c.Sources))
	// One slot per element, so the manifest lists blobs in descriptor order
	// whatever finished first.
	slots := make([]*ocimap.LocalBlob, len(c.Resources)+len(c.Sources))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.opts.Concurrency)
	for i := range c.Resources {
		r := &c.Resources[i]
		out := &cc.Resources[i]
		p := fmt.Sprintf("%s.resources[%d]", path, i)
		*out = descriptor.Resource{ElementMeta: r.ElementMeta, Type: r.Type, Relation: r.Relation, SrcRefs: r.SrcRefs, Access: r.Access, Digest: r.Digest}
		g.Go(func() error {
			if r.Input == nil && r.compatBlob == nil {
				return b.external(gctx, p, out)
			}
			lb, acc, dg, err := b.store1(gctx, repoName, p, r.openContent, "resource", r.ElementMeta)
			if err != nil {
				return err
			}
			if r.Digest != nil && !access.SameDigest(r.Digest, dg) {
				return fmt.Errorf("%s.digest: the constructor pins %s %s, the input has %s %s", p, r.Digest.HashAlgorithm, r.Digest.Value, dg.HashAlgorithm, dg.Value)
			}
			out.Access, out.Digest = acc, dg
			if lb.Descriptor.Digest != "" { // uploaded artifacts stay outside
				slots[i] = &lb
			}
			return nil
		})
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		out := &cc.Sources[i]
		p := fmt.Sprintf("%s.sources[%d]", path, i)
		*out = descriptor.Source{ElementMeta: s.ElementMeta, Type: s.Type, Access: s.Access}
		if s.Input == nil {
			continue
		}
		g.Go(func() error {
			lb, acc, _, err := b.store1(gctx, repoName, p, s.OpenInput, "source", s.ElementMeta)
			if err != nil {
				return err
			}
			out.Access = acc
			if lb.Descriptor.Digest != "" {
				slots[len(c.Resources)+i] = &lb
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return Result{}, err
	}

	cc.References = makeOrNil[descriptor.Reference](len(c.References))
	for i, r := range c.References {
		p := fmt.Sprintf("%s.componentReferences[%d]", path, i)
		refCD, ok := b.built[r.ComponentName+":"+r.Version]
		if !ok {
			cv, err := b.repo.GetComponentVersion(ctx, r.ComponentName, r.Version)
			if err != nil {
				return Result{}, fmt.Errorf("%s: referenced component version %s:%s is neither in the constructor nor in the target repository: %w", p, r.ComponentName, r.Version, err)
			}
			refCD = cv.Descriptor
		}
		dg, err := normalisation.Digest(refCD, normalisation.JSONv4alpha1, normalisation.SHA256)
		if err != nil {
			return Result{}, fmt.Errorf("%s: digesting %s:%s: %w", p, r.ComponentName, r.Version, err)
		}
		if r.Digest != nil && !access.SameDigest(r.Digest, dg) {
			return Result{}, fmt.Errorf("%s.digest: the constructor pins %s, %s:%s has %s", p, r.Digest.Value, r.ComponentName, r.Version, dg.Value)
		}
		cc.References[i] = descriptor.Reference{ElementMeta: r.ElementMeta, ComponentName: r.ComponentName, Digest: dg}
	}
	if err := descriptor.Validate(cd); err != nil {
		return Result{}, err
	}
	var blobs []ocimap.LocalBlob
	for _, lb := range slots {
		if lb != nil {
			blobs = append(blobs, *lb)
		}
	}
	w := ocimap.NewWriter(b.store)
	w.ReferrerTracking = b.opts.ReferrerTracking
	if _, err := w.AddComponentVersion(ctx, cd, blobs); err != nil {
		return Result{}, err
	}
	b.built[key] = cd
	return Result{Descriptor: cd}, nil
}

// store1 opens an input, stores its content and returns the local blob, the
// LocalBlob access and the digest to record.
func (b *builder) store1(ctx context.Context, repo, path string, open func(context.Context) (*Content, error), kind string, meta descriptor.ElementMeta) (ocimap.LocalBlob, *descriptor.Typed, *descriptor.DigestSpec, error) {
	c, err := open(ctx)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return ocimap.LocalBlob{}, nil, nil, err // names its file and field already
		}
		return ocimap.LocalBlob{}, nil, nil, fmt.Errorf("%s.input: %w", path, err)
	}
	identity := maps.Clone(meta.ExtraIdentity)
	if identity == nil {
		identity = map[string]string{}
	}
	identity["name"], identity["version"] = meta.Name, meta.Version
	var desc ocispec.Descriptor
	if c.Artifact != nil && c.Artifact.Upload != nil {
		// As the reference CLI does (its upload path is unreachable): the
		// chart is stored with the component version; say so.
		b.opts.Logger.Warn("helm input: the chart is stored with the component version, not uploaded to the repository it names (as the reference CLI does); transfer --upload-as ociArtifact puts it into a registry",
			"resource", path, "repository", c.Artifact.Upload.String())
	}
	if c.Artifact != nil {
		defer c.Artifact.Close()
		if err := pushGraph(ctx, b.store, repo, c.Artifact.Store, c.Artifact.Root); err != nil {
			return ocimap.LocalBlob{}, nil, nil, fmt.Errorf("%s.input: storing OCI artifact: %w", path, err)
		}
		desc = c.Artifact.Root
	} else {
		rc, err := c.Open()
		if err != nil {
			return ocimap.LocalBlob{}, nil, nil, fmt.Errorf("%s.input: %w", path, err)
		}
		var r io.Reader = rc
		if b.opts.Progress != nil {
			r = b.opts.Progress(path, c.Size, rc)
		}
		mediaType := c.MediaType
		if mediaType == "" {
			mediaType = "application/octet-stream"
		}
		desc, err = b.store.PushBlob(ctx, repo, mediaType, r)
		rc.Close()
		if err != nil {
			return ocimap.LocalBlob{}, nil, nil, fmt.Errorf("%s.input: %w", path, err)
		}
	}
	acc, err := descriptor.NewTyped(descriptor.LocalBlobAccess{Type: "LocalBlob/v1", LocalReference: desc.Digest.String(), MediaType: desc.MediaType})
	if err != nil {
		return ocimap.LocalBlob{}, nil, nil, err
	}
	// Like the reference: genericBlobDigest/v1 of the blob, which for a
	// native OCI artifact is its manifest digest.
	dg := &descriptor.DigestSpec{HashAlgorithm: normalisation.SHA256, NormalisationAlgorithm: normalisation.GenericBlobDigestV1, Value: desc.Digest.Encoded()}
	lb := ocimap.LocalBlob{Descriptor: desc, Artifacts: []ocimap.ArtifactRef{{Kind: kind, Identity: identity}}}
	return lb, &acc, dg, nil
}

// pushGraph copies root and everything it references from src into the
// store, children first, skipping what the store already has.
func pushGraph(ctx context.Context, store ocimap.WriteStore, repo string, src content.ReadOnlyStorage, root ocispec.Descriptor) error {
	ok, err := store.Exists(ctx, repo, root)
	if err != nil || ok {
		return err
	}
	children, err := content.Successors(ctx, src, root)
	if err != nil {
		return err
	}
	for _, c := range children {
		if err := pushGraph(ctx, store, repo, src, c); err != nil {
			return err
		}
	}
	rc, err := src.Fetch(ctx, root)
	if err != nil {
		return err
	}
	defer rc.Close()
	return store.Push(ctx, repo, root, rc)
}

// external resolves an access-only resource (BuildOptions.External).
func (b *builder) external(ctx context.Context, path string, out *descriptor.Resource) error {
	switch {
	case out.Access == nil:
		return nil
	case b.opts.SkipDigestProcessing || b.opts.External == nil:
		pinAccessDigest(out)
		return nil
	case !access.Supported(out.Access) && out.Digest != nil:
		b.opts.Logger.Warn("no digest processing for this access type; the digest given is recorded unchecked",
			"resource", path, "access", out.Access.Type)
		return nil
	case !access.Supported(out.Access):
		b.opts.Logger.Warn("no digest processing for this access type; the resource is added without a digest",
			"resource", path, "access", out.Access.Type)
		return nil
	}
	pinned, err := b.opts.External.PinResource(ctx, out)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	*out = *pinned
	return nil
}

// pinAccessDigest records the digest an OCI image reference pins
// (…@sha256:<hex>) when the constructor gives none, as the reference does.
func pinAccessDigest(r *descriptor.Resource) {
	if r.Digest != nil || r.Access == nil {
		return
	}
	acc, err := r.Access.OCIArtifact()
	if err != nil {
		return
	}
	img, err := reference.ParseImage(acc.ImageReference)
	if err != nil {
		return
	}
	if alg, hex, ok := strings.Cut(img.Digest, ":"); ok && alg == "sha256" {
		r.Digest = &descriptor.DigestSpec{HashAlgorithm: normalisation.SHA256, NormalisationAlgorithm: normalisation.GenericBlobDigestV1, Value: hex}
	}
}
