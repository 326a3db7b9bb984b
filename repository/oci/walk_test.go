package oci_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"oras.land/oras-go/v2/errdef"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// requestCounter counts the requests a registry serves, by method and by
// manifest or blob.
type requestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *requestCounter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "other"
		switch {
		case strings.Contains(r.URL.Path, "/manifests/"):
			kind = "manifest"
		case strings.Contains(r.URL.Path, "/blobs/"):
			kind = "blob"
		case strings.HasSuffix(r.URL.Path, "/tags/list"):
			kind = "tags"
		}
		c.mu.Lock()
		c.n[r.Method+" "+kind]++
		c.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (c *requestCounter) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// Reading a graph of component versions from a registry: each version
// costs one GET of its manifest by tag (no HEAD) and one of its descriptor;
// Preload loads the graph concurrently, after which
// the walks (repository.Graph, ocimap.Graph of a version) make no request.
// An existence check of a missing version does not list the versions.
func TestGraphWalkRequests(t *testing.T) {
	ctx := context.Background()
	counter := &requestCounter{n: map[string]int{}}
	host := startRegistry(t, true, counter.wrap)
	reg := newRegistry(t, host, "ocm")
	const children = 6
	w := ocimap.NewWriter(reg)
	root := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: "v2"}, Component: descriptor.Component{Name: "example.com/root", Version: "1.0.0", Provider: "acme"}}
	for i := range children {
		name := fmt.Sprintf("example.com/child%d", i)
		cd := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: "v2"}, Component: descriptor.Component{Name: name, Version: "1.0.0", Provider: "acme"}}
		if _, err := w.AddComponentVersion(ctx, cd, nil); err != nil {
			t.Fatal(err)
		}
		root.Component.References = append(root.Component.References, descriptor.Reference{ElementMeta: descriptor.ElementMeta{Name: fmt.Sprintf("c%d", i), Version: "1.0.0"}, ComponentName: name})
	}
	if _, err := w.AddComponentVersion(ctx, root, nil); err != nil {
		t.Fatal(err)
	}

	counter.reset()
	repo := ocimap.New(reg, "the registry")
	repo.Preload(ctx, []ocimap.VersionRef{{Component: "example.com/root", Version: "1.0.0"}}, 4)
	// Per version: the manifest by tag and the descriptor layer; the
	// component config is known from the manifest (it is the canonical
	// encoding naming the descriptor layer), so it is not read.
	want := map[string]int{"GET manifest": children + 1, "GET blob": children + 1}
	if got := counter.reset(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Preload: requests %v, want %v", got, want)
	}
	cv, err := repo.GetComponentVersion(ctx, "example.com/root", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range cv.Descriptor.Component.References {
		if _, err := repo.GetComponentVersion(ctx, ref.ComponentName, ref.Version); err != nil {
			t.Fatal(err)
		}
	}
	nodes, err := ocimap.Graph(ctx, repo.Fetcher(cv), cv.Root)
	if err != nil || len(nodes) == 0 || nodes[len(nodes)-1].Descriptor.Digest != cv.Root.Digest {
		t.Fatalf("graph of the root: %v %v", nodes, err)
	}
	if got := counter.reset(); len(got) != 0 {
		t.Errorf("walk after Preload: requests %v, want none", got)
	}

	// repository.Graph over a fresh repository preloads by itself.
	g, err := repository.Graph(ctx, repository.FromStore(reg, "the registry", nil), "example.com/root", "1.0.0", -1)
	if err != nil || len(g.Children) != children {
		t.Fatalf("repository.Graph: %v %v", g, err)
	}
	if got := counter.reset(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("repository.Graph: requests %v, want %v", got, want)
	}

	// A missing version: FindComponentVersion says so without listing the
	// tags; GetComponentVersion's error lists them.
	_, ok, err := repo.FindComponentVersion(ctx, "example.com/root", "9.9.9")
	if ok || err != nil {
		t.Fatalf("FindComponentVersion of a missing version: %v %v", ok, err)
	}
	if got := counter.reset(); got["GET tags"] != 0 {
		t.Errorf("FindComponentVersion listed tags: %v", got)
	}
	_, err = repo.GetComponentVersion(ctx, "example.com/root", "9.9.9")
	if !errors.Is(err, errdef.ErrNotFound) || !strings.Contains(err.Error(), "versions: 1.0.0") {
		t.Errorf("GetComponentVersion of a missing version: %v", err)
	}
}
