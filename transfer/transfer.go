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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"

	"github.com/ocmgo/ocm/repository/ocimap"
)

// DefaultConcurrency is the number of blobs of one version copied in parallel
// when Options.Concurrency is not set.
const DefaultConcurrency = 4

// Limits of the graph walk: manifests are read into memory.
const (
	maxManifestSize = 4 << 20
	maxDepth        = 8
)

// Ref names a component version.
type Ref struct {
	Component string
	Version   string
}

func (r Ref) String() string { return r.Component + ":" + r.Version }

// Options configure ComponentVersions.
type Options struct {
	// Recursive also transfers every version referenced through
	// componentReferences, transitively, from the same source.
	Recursive bool
	// Concurrency bounds the blobs of one version copied in parallel;
	// zero means DefaultConcurrency.
	Concurrency int
	// DryRun computes what would be copied (reading the target to see what
	// it has) without writing anything.
	DryRun bool
	// Overwrite moves a target tag that points at different content. By
	// default such a version is an error and nothing is written.
	Overwrite bool
	// Progress, if set, receives one line per event. It may be called
	// concurrently.
	Progress func(event string)
	// SourceName names the source in messages ("CTF archive ./x"); when
	// empty, src's String method or "the source repository".
	SourceName string
}

// Result reports the transfer of one component version. Copied and Skipped
// count the pieces of content (blobs, manifests, indexes) of the version's
// graph: copied to the target, or skipped because the target had them. In a
// dry run Copied counts what would be copied.
type Result struct {
	Component string `json:"component"`
	Version   string `json:"version"`
	// Digest is the digest of what the tag points to (manifest or index).
	Digest  string `json:"digest"`
	Copied  int    `json:"copied"`
	Skipped int    `json:"skipped"`
	// AlreadyPresent: the target's tag already pointed at the same digest;
	// nothing was written.
	AlreadyPresent bool `json:"alreadyPresent,omitempty"`
	// Replaced: the target's tag pointed at other content and was moved (Overwrite).
	Replaced bool `json:"replaced,omitempty"`
	DryRun   bool `json:"dryRun,omitempty"`
}

// ConflictError reports versions whose tag in the target points at other
// content than in the source.
type ConflictError struct {
	Versions []Conflict
}

// Conflict is one version whose target tag points elsewhere.
type Conflict struct {
	Ref            Ref
	Source, Target digest.Digest
}

func (e *ConflictError) Error() string {
	var parts []string
	for _, c := range e.Versions {
		parts = append(parts, fmt.Sprintf("%s (target %s, source %s)", c.Ref, c.Target, c.Source))
	}
	return "component version already exists in the target with different content: " + strings.Join(parts, ", ") + "; nothing was transferred"
}

// version is one planned transfer.
type version struct {
	ref     Ref
	cv      *ocimap.ComponentVersion
	fetcher content.Fetcher
	present bool // target tag points at cv.Root already
	replace bool // target tag points elsewhere
}

// ComponentVersions copies refs (and, with Recursive, everything they
// reference) from src to dst. Referenced versions are transferred before the
// versions referencing them; each version once, cycles included. Per version,
// content goes in the order blobs → manifests → index → tag, so a tag never
// points at incomplete content; what dst has already is skipped, so a rerun
// after a failure only copies what is missing.
//
// Before anything is written, every version's target tag is checked: all
// conflicts (tag pointing at other content) are reported together in a
// *ConflictError unless Overwrite is set. On an error, the results of the
// versions completed so far are returned with it.
func ComponentVersions(ctx context.Context, src ocimap.Store, dst ocimap.WriteStore, refs []Ref, opts Options) ([]Result, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Progress == nil {
		opts.Progress = func(string) {}
	}
	plan, err := planVersions(ctx, src, opts.SourceName, refs, opts.Recursive)
	if err != nil {
		return nil, err
	}
	var conflicts []Conflict
	for _, v := range plan {
		target, err := dst.Resolve(ctx, v.cv.Repository, ocimap.ToTag(v.ref.Version))
		switch {
		case errors.Is(err, errdef.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("checking %s in the target: %w", v.ref, err)
		case target.Digest == v.cv.Root.Digest:
			v.present = true
		case opts.Overwrite:
			v.replace = true
		default:
			conflicts = append(conflicts, Conflict{Ref: v.ref, Source: v.cv.Root.Digest, Target: target.Digest})
		}
	}
	if len(conflicts) > 0 {
		return nil, &ConflictError{Versions: conflicts}
	}
	var results []Result
	for _, v := range plan {
		res, err := copyVersion(ctx, dst, v, opts)
		if err != nil {
			return results, fmt.Errorf("transferring %s: %w", v.ref, err)
		}
		results = append(results, res)
	}
	return results, nil
}

// planVersions reads refs from src and, when recursive, what they
// reference, in post-order (referenced versions first), each once.
func planVersions(ctx context.Context, src ocimap.Store, where string, refs []Ref, recursive bool) ([]*version, error) {
	if s, ok := src.(fmt.Stringer); ok && where == "" {
		where = s.String()
	}
	if where == "" {
		where = "the source repository"
	}
	repo := ocimap.New(src, where)
	var plan []*version
	visited := map[Ref]bool{}
	var visit func(r Ref, via string) error
	visit = func(r Ref, via string) error {
		if visited[r] {
			return nil // done, or on the current path (a cycle)
		}
		visited[r] = true
		cv, err := repo.GetComponentVersion(ctx, r.Component, r.Version)
		if err != nil {
			if via != "" {
				return fmt.Errorf("resolving reference of %s: %w", via, err)
			}
			return err
		}
		if recursive {
			for _, cr := range cv.Descriptor.Component.References {
				if err := visit(Ref{Component: cr.ComponentName, Version: cr.Version}, r.String()); err != nil {
					return err
				}
			}
		}
		plan = append(plan, &version{ref: r, cv: cv, fetcher: repo.Fetcher(cv)})
		return nil
	}
	for _, r := range refs {
		if err := visit(r, ""); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// node is one piece of content of a version's graph; manifests and
// indexes carry their verified bytes.
type node struct {
	desc ocispec.Descriptor
	data []byte
}

// walk lists root's graph in post-order: everything a manifest or index
// references comes before it; each digest once.
func walk(ctx context.Context, fetcher content.Fetcher, root ocispec.Descriptor) ([]node, error) {
	var out []node
	seen := map[digest.Digest]bool{}
	var visit func(d ocispec.Descriptor, depth int) error
	visit = func(d ocispec.Descriptor, depth int) error {
		if seen[d.Digest] {
			return nil
		}
		seen[d.Digest] = true
		if depth > maxDepth {
			return fmt.Errorf("OCI graph below %s nests too deep", root.Digest)
		}
		if err := d.Digest.Validate(); err != nil {
			return fmt.Errorf("invalid digest %q: %w", d.Digest, err)
		}
		if d.Size < 0 {
			return fmt.Errorf("%s has negative size %d", d.Digest, d.Size)
		}
		if !ocimap.IsManifest(d.MediaType) {
			out = append(out, node{desc: d})
			return nil
		}
		if d.Size > maxManifestSize {
			return fmt.Errorf("manifest %s is %d bytes, more than %d", d.Digest, d.Size, maxManifestSize)
		}
		rc, err := fetcher.Fetch(ctx, d)
		if err != nil {
			return fmt.Errorf("fetching manifest %s: %w", d.Digest, err)
		}
		data, err := content.ReadAll(rc, d)
		rc.Close()
		if err != nil {
			return fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		var m struct {
			Config    *ocispec.Descriptor  `json:"config"`
			Layers    []ocispec.Descriptor `json:"layers"`
			Manifests []ocispec.Descriptor `json:"manifests"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		children := append([]ocispec.Descriptor{}, m.Manifests...)
		if m.Config != nil {
			children = append(children, *m.Config)
		}
		for _, c := range append(children, m.Layers...) {
			if err := visit(c, depth+1); err != nil {
				return err
			}
		}
		out = append(out, node{desc: d, data: data})
		return nil
	}
	if err := visit(root, 0); err != nil {
		return nil, err
	}
	return out, nil
}

func copyVersion(ctx context.Context, dst ocimap.WriteStore, v *version, opts Options) (Result, error) {
	res := Result{Component: v.ref.Component, Version: v.ref.Version, Digest: string(v.cv.Root.Digest), DryRun: opts.DryRun}
	nodes, err := walk(ctx, v.fetcher, v.cv.Root)
	if err != nil {
		return res, err
	}
	if v.present {
		res.AlreadyPresent = true
		res.Skipped = len(nodes)
		opts.Progress(fmt.Sprintf("%s: already present in the target (%s)", v.ref, v.cv.Root.Digest))
		return res, nil
	}
	repo := v.cv.Repository
	verb := "copied"
	if opts.DryRun {
		verb = "would copy"
	}
	var copied, skipped atomic.Int64
	// transferOne copies one node unless the target has it.
	transferOne := func(ctx context.Context, n node) error {
		ok, err := dst.Exists(ctx, repo, n.desc)
		if err != nil {
			return err
		}
		if ok {
			skipped.Add(1)
			return nil
		}
		if !opts.DryRun {
			if n.data != nil {
				err = dst.Push(ctx, repo, n.desc, bytes.NewReader(n.data))
			} else {
				err = copyBlob(ctx, v.fetcher, dst, repo, n.desc)
			}
			if err != nil {
				return err
			}
		}
		copied.Add(1)
		opts.Progress(fmt.Sprintf("%s: %s %s %s (%d bytes)", v.ref, verb, n.desc.MediaType, n.desc.Digest, n.desc.Size))
		return nil
	}
	// Blobs in parallel.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for _, n := range nodes {
		if n.data != nil {
			continue
		}
		g.Go(func() error { return transferOne(gctx, n) })
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	// Then manifests and indexes, children before parents.
	for _, n := range nodes {
		if n.data == nil {
			continue
		}
		if err := transferOne(ctx, n); err != nil {
			return res, err
		}
	}
	res.Copied, res.Skipped = int(copied.Load()), int(skipped.Load())
	res.Replaced = v.replace
	if opts.DryRun {
		opts.Progress(fmt.Sprintf("%s: would tag %s as %s", v.ref, v.cv.Root.Digest, ocimap.ToTag(v.ref.Version)))
		return res, nil
	}
	if err := dst.Tag(ctx, repo, v.cv.Root, ocimap.ToTag(v.ref.Version)); err != nil {
		return res, err
	}
	opts.Progress(fmt.Sprintf("%s: tagged %s as %s", v.ref, v.cv.Root.Digest, ocimap.ToTag(v.ref.Version)))
	return res, nil
}

// copyBlob streams desc from the source to the target, verifying size and
// digest while reading: a mismatch fails the read before the target's
// writer sees the end of the stream.
func copyBlob(ctx context.Context, fetcher content.Fetcher, dst ocimap.WriteStore, repo string, desc ocispec.Descriptor) error {
	rc, err := fetcher.Fetch(ctx, desc)
	if err != nil {
		return fmt.Errorf("fetching blob %s: %w", desc.Digest, err)
	}
	defer rc.Close()
	vr := &verifyingReader{vr: content.NewVerifyReader(rc, desc)}
	if err := dst.Push(ctx, repo, desc, vr); err != nil {
		if vr.err != nil {
			return fmt.Errorf("source blob %s: %w", desc.Digest, vr.err)
		}
		return err
	}
	if vr.err != nil {
		return fmt.Errorf("source blob %s: %w", desc.Digest, vr.err)
	}
	return nil
}

// verifyingReader turns the end of a stream whose size or digest does not
// match into an error.
type verifyingReader struct {
	vr  *content.VerifyReader
	err error
}

func (r *verifyingReader) Read(p []byte) (int, error) {
	n, err := r.vr.Read(p)
	if err == io.EOF {
		if verr := r.vr.Verify(); verr != nil {
			r.err = verr
			return n, verr
		}
	} else if err != nil {
		r.err = err
	}
	return n, err
}
