package repository_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/repository/oci"
)

// A reference like 127.0.0.1:<port>/sub//component:version opens a registry
// (plain HTTP on loopback) and reads what the reference CLI wrote.
func TestOpenRegistryReference(t *testing.T) {
	srv := httptest.NewServer(olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()

	// Copy the interop archive's tagged versions into the registry under "ocm".
	src, err := ctf.Open(testutil.InteropCTF(t, testutil.Dir))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	reg, err := oci.New(host, "ocm", oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range src.Index().Artifacts {
		if a.Tag == "" {
			continue
		}
		root, err := src.Resolve(ctx, a.Repository, a.Tag)
		if err != nil {
			t.Fatal(err)
		}
		if err := oras.CopyGraph(ctx, storeAdapter{src, a.Repository}, pusher{reg, a.Repository}, root, oras.DefaultCopyGraphOptions); err != nil {
			t.Fatal(err)
		}
		if err := reg.Tag(ctx, a.Repository, root, a.Tag); err != nil {
			t.Fatal(err)
		}
	}

	ref, err := reference.Parse(host + "/ocm//example.com/interop/app:1.2.0")
	if err != nil {
		t.Fatal(err)
	}
	if ref.Repository.Type != reference.TypeOCI {
		t.Fatalf("%s parsed as %s", host, ref.Repository.Type)
	}
	repo, err := repository.Open(ctx, ref.Repository)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	root, err := repository.Graph(ctx, repo, ref.Component, ref.Version, -1)
	if err != nil {
		t.Fatal(err)
	}
	d, err := normalisation.Digest(root.Descriptor, normalisation.JSONv4alpha1, normalisation.SHA256)
	if err != nil || d.Value != "0e620fa8ae2390bd21cf081c6812cb06734ed8d8830564c2e8db6ecbc95c818b" {
		t.Fatalf("app from the registry digests to %v (%v)", d, err)
	}
	if len(root.Children) != 1 || root.Children[0].Descriptor.Component.Name != "example.com/interop/lib" {
		t.Fatalf("reference to lib not resolved in the registry")
	}
}

// storeAdapter and pusher bind a repository name to the stores for oras.CopyGraph.
type storeAdapter struct {
	a    *ctf.Archive
	repo string
}

func (s storeAdapter) Fetch(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	return s.a.Fetch(ctx, s.repo, d)
}
func (s storeAdapter) Exists(ctx context.Context, d ocispec.Descriptor) (bool, error) {
	return s.a.Exists(ctx, d)
}

type pusher struct {
	r    *oci.Registry
	repo string
}

func (p pusher) Fetch(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	return p.r.Fetch(ctx, p.repo, d)
}
func (p pusher) Exists(ctx context.Context, d ocispec.Descriptor) (bool, error) {
	return p.r.Exists(ctx, p.repo, d)
}
func (p pusher) Push(ctx context.Context, d ocispec.Descriptor, r io.Reader) error {
	return p.r.Push(ctx, p.repo, d, r)
}
