package oci_test

import (
	"context"
	"slices"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository/ocimap"
	"github.com/ocmgo/ocm/transfer"
)

// untagged drops Tag calls: a version that only the referrers of the
// Component Index can find.
type untagged struct{ ocimap.WriteStore }

func (untagged) Tag(context.Context, string, ocispec.Descriptor, string) error { return nil }

func ciDescriptor(version string) *descriptor.Descriptor {
	return &descriptor.Descriptor{
		Meta:      descriptor.Meta{SchemaVersion: "v2"},
		Component: descriptor.Component{Name: "example.com/indexed", Version: version, Provider: "example.com"},
	}
}

func TestComponentIndexDiscovery(t *testing.T) {
	for name, host := range map[string]func(*testing.T) string{
		"olareg (referrers API)":    func(t *testing.T) string { return startRegistry(t, false) },
		"distribution (tag schema)": startDistribution,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			reg := newRegistry(t, host(t), "ocm")
			w := ocimap.NewWriter(reg)
			w.ReferrerTracking = true
			for _, v := range []string{"1.0.0", "2.0.0+build.1"} {
				if _, err := w.AddComponentVersion(ctx, ciDescriptor(v), nil); err != nil {
					t.Fatal(err)
				}
			}
			hidden := ocimap.NewWriter(untagged{reg})
			hidden.ReferrerTracking = true
			if _, err := hidden.AddComponentVersion(ctx, ciDescriptor("3.0.0"), nil); err != nil {
				t.Fatal(err)
			}
			repo := ocimap.New(reg, "test registry")
			versions, err := repo.ListVersions(ctx, "example.com/indexed")
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"1.0.0", "2.0.0+build.1", "3.0.0"}; !slices.Equal(versions, want) {
				t.Fatalf("versions %v, want %v (3.0.0 only through the referrers of the component index)", versions, want)
			}
			cv, err := repo.GetComponentVersion(ctx, "example.com/indexed", "3.0.0")
			if err != nil {
				t.Fatal(err)
			}
			if s := cv.Subject(); s == nil || s.Digest != ocimap.ComponentIndex.Digest {
				t.Fatalf("subject %+v", s)
			}
			// By tag only, the untagged version is missing (even when the
			// repository has it cached), the tagged ones are there.
			for _, fresh := range []bool{false, true} {
				r := repo
				if fresh {
					r = ocimap.New(reg, "test registry")
				}
				if cv, ok, err := r.FindTaggedVersion(ctx, "example.com/indexed", "3.0.0"); err != nil || ok || cv != nil {
					t.Fatalf("FindTaggedVersion of the untagged 3.0.0 (fresh %v): found %v (%v), %v", fresh, ok, cv != nil, err)
				}
				if _, ok, err := r.FindTaggedVersion(ctx, "example.com/indexed", "1.0.0"); err != nil || !ok {
					t.Fatalf("FindTaggedVersion of 1.0.0 (fresh %v): %v %v", fresh, ok, err)
				}
			}
			// The index itself is stored, byte-exact.
			if ok, err := reg.Exists(ctx, ocimap.RepositoryName("example.com/indexed"), ocimap.ComponentIndex); err != nil || !ok {
				t.Fatalf("component index stored: %v %v", ok, err)
			}
			// Signing (ReplaceDescriptor) keeps the subject, even without tracking.
			cv1, err := repo.GetComponentVersion(ctx, "example.com/indexed", "1.0.0")
			if err != nil {
				t.Fatal(err)
			}
			cd := ciDescriptor("1.0.0")
			cd.Component.Labels = []descriptor.Label{{Name: "x", Value: []byte(`"y"`)}}
			if _, err := ocimap.NewWriter(reg).ReplaceDescriptor(ctx, cv1, cd); err != nil {
				t.Fatal(err)
			}
			again, err := ocimap.New(reg, "test registry").GetComponentVersion(ctx, "example.com/indexed", "1.0.0")
			if err != nil || again.Subject() == nil || len(again.Descriptor.Component.Labels) != 1 {
				t.Fatalf("after ReplaceDescriptor: %v %+v", err, again)
			}
			// A transfer into another sub path keeps the subject and stores the index.
			other := newRegistry(t, reg.Host(), "copy")
			if _, err := transfer.ComponentVersions(ctx, reg, other, []transfer.Ref{{Component: "example.com/indexed", Version: "2.0.0+build.1"}}, transfer.Options{}); err != nil {
				t.Fatal(err)
			}
			if ok, err := other.Exists(ctx, ocimap.RepositoryName("example.com/indexed"), ocimap.ComponentIndex); err != nil || !ok {
				t.Fatalf("component index in the transfer target: %v %v", ok, err)
			}
		})
	}
}
