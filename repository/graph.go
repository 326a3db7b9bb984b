package repository

import (
	"context"
	"fmt"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// Node is a component version in a reference graph.
type Node struct {
	Descriptor *descriptor.Descriptor
	// Via is the reference through which the parent reached this node (nil for the root).
	Via *descriptor.Reference
	// Children are the referenced component versions, in reference order.
	Children []*Node
	// Cycle marks a reference back to a component version on the current
	// path; its children are not expanded.
	Cycle bool
}

// GraphConcurrency bounds the component versions Graph loads at a time.
const GraphConcurrency = 8

// Graph resolves component:version and, up to depth levels of component
// references (-1: unlimited), the versions it references, all from repo.
// Cycles are detected and marked, not followed.
func Graph(ctx context.Context, repo Repository, component, version string, depth int) (*Node, error) {
	d, err := repo.GetComponentVersion(ctx, component, version)
	if err != nil {
		return nil, err
	}
	if p, ok := repo.(interface {
		Preload(context.Context, []ocimap.VersionRef, int)
	}); ok && depth < 0 && len(d.Component.References) > 0 {
		// Load the whole graph concurrently first; the walk below then
		// finds every version in the cache, in its own (deterministic) order.
		var roots []ocimap.VersionRef
		for _, ref := range d.Component.References {
			roots = append(roots, ocimap.VersionRef{Component: ref.ComponentName, Version: ref.Version})
		}
		p.Preload(ctx, roots, GraphConcurrency)
	}
	root := &Node{Descriptor: d}
	path := map[string]bool{key(d): true}
	if err := expand(ctx, repo, root, depth, path); err != nil {
		return nil, err
	}
	return root, nil
}

func key(d *descriptor.Descriptor) string { return d.Component.Name + ":" + d.Component.Version }

func expand(ctx context.Context, repo Repository, n *Node, depth int, path map[string]bool) error {
	if depth == 0 {
		return nil
	}
	for i := range n.Descriptor.Component.References {
		ref := &n.Descriptor.Component.References[i]
		k := ref.ComponentName + ":" + ref.Version
		if path[k] {
			n.Children = append(n.Children, &Node{Descriptor: stub(ref), Via: ref, Cycle: true})
			continue
		}
		d, err := repo.GetComponentVersion(ctx, ref.ComponentName, ref.Version)
		if err != nil {
			return fmt.Errorf("resolving reference %q of %s: %w", ref.Name, key(n.Descriptor), err)
		}
		child := &Node{Descriptor: d, Via: ref}
		n.Children = append(n.Children, child)
		path[k] = true
		err = expand(ctx, repo, child, depth-1, path)
		delete(path, k)
		if err != nil {
			return err
		}
	}
	return nil
}

// stub stands for a version that is only named, not loaded (a cycle).
func stub(ref *descriptor.Reference) *descriptor.Descriptor {
	return &descriptor.Descriptor{Component: descriptor.Component{Name: ref.ComponentName, Version: ref.Version}}
}

// Walk visits every node once in depth-first pre-order (cycle markers are skipped).
func (n *Node) Walk(fn func(*Node) error) error {
	seen := map[string]bool{}
	var walk func(*Node) error
	walk = func(x *Node) error {
		if x.Cycle || seen[key(x.Descriptor)] {
			return nil
		}
		seen[key(x.Descriptor)] = true
		if err := fn(x); err != nil {
			return err
		}
		for _, c := range x.Children {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(n)
}
