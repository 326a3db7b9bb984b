package ocimap

import (
	"context"
	"sync"

	"github.com/ocmgo/ocm/descriptor"
)

// VersionRef names a component version.
type VersionRef struct{ Component, Version string }

// Preload loads the component versions reachable from roots through
// component references into the repository's cache, up to limit (at least
// 1) at a time. A walk that then follows the graph in its own order
// (GetComponentVersion) finds every version loaded instead of waiting for
// one round trip after another. Errors are not reported here: the walk
// meets them again, in its order.
func (r *Repository) Preload(ctx context.Context, roots []VersionRef, limit int) {
	r.preload(ctx, roots, limit, true, nil)
}

// PreloadExcept is Preload that does not follow the references for which
// except (called concurrently) is true.
func (r *Repository) PreloadExcept(ctx context.Context, roots []VersionRef, limit int, except func(descriptor.Reference) bool) {
	r.preload(ctx, roots, limit, true, except)
}

// PreloadVersions is Preload without following references.
func (r *Repository) PreloadVersions(ctx context.Context, refs []VersionRef, limit int) {
	r.preload(ctx, refs, limit, false, nil)
}

func (r *Repository) preload(ctx context.Context, roots []VersionRef, limit int, follow bool, except func(descriptor.Reference) bool) {
	limit = max(limit, 1)
	var (
		mu   sync.Mutex
		seen = map[VersionRef]bool{}
		wg   sync.WaitGroup
		sem  = make(chan struct{}, limit)
	)
	var visit func(ref VersionRef)
	visit = func(ref VersionRef) {
		mu.Lock()
		if seen[ref] {
			mu.Unlock()
			return
		}
		seen[ref] = true
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			cv, ok, err := r.FindComponentVersion(ctx, ref.Component, ref.Version)
			<-sem
			if err != nil || !ok || !follow {
				return
			}
			for _, cr := range cv.Descriptor.Component.References {
				if except == nil || !except(cr) {
					visit(VersionRef{cr.ComponentName, cr.Version})
				}
			}
		}()
	}
	for _, ref := range roots {
		visit(ref)
	}
	wg.Wait()
}
