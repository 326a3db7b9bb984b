package repository_test

import (
	"context"
	"slices"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/oci"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// untagged drops Tag calls: a version only the Component Index finds.
type untagged struct{ ocimap.WriteStore }

func (untagged) Tag(context.Context, string, ocispec.Descriptor, string) error { return nil }

// A registry opened through the one opener lists versions that only the
// referrers of the Component Index name: the opener's wrapper does not
// hide the registry's referrers API.
func TestOpenedRegistryListsUntaggedVersions(t *testing.T) {
	ctx := context.Background()
	host := testutil.StartOlareg(t)
	reg, err := oci.New(host, "ocm", oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		version string
		store   ocimap.WriteStore
	}{{"1.0.0", reg}, {"2.0.0", untagged{reg}}} {
		w := ocimap.NewWriter(v.store)
		w.ReferrerTracking = true
		cd := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: "v2"},
			Component: descriptor.Component{Name: "example.com/indexed", Version: v.version, Provider: "example.com"}}
		if _, err := w.AddComponentVersion(ctx, cd, nil); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := repository.OpenWithOptions(ctx, reference.Repository{Type: reference.TypeOCI, BaseURL: host, SubPath: "ocm"}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	versions, err := repo.ListVersions(ctx, "example.com/indexed")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1.0.0", "2.0.0"}; !slices.Equal(versions, want) {
		t.Fatalf("versions %v, want %v", versions, want)
	}
}
