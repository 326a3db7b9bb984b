package repository_test

import (
	"context"
	"testing"

	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
)

// The reference CLI's archive, read in every form, yields descriptors whose
// normalised digests are the ones the reference signed (interop README).
func TestInteropNormalisedDigests(t *testing.T) {
	want := map[string]string{
		"example.com/interop/lib:0.3.1+build.7": "a6f7a4eb5b4dc1fd061b5da0c1b5171f9d6cfa0898823667d8f534df6798f647",
		"example.com/interop/app:1.2.0":         "0e620fa8ae2390bd21cf081c6812cb06734ed8d8830564c2e8db6ecbc95c818b",
	}
	ctx := context.Background()
	for _, f := range testutil.Formats {
		t.Run(string(f), func(t *testing.T) {
			repo, err := repository.Open(ctx, reference.Repository{Type: reference.TypeCTF, FilePath: testutil.InteropCTF(t, f)})
			if err != nil {
				t.Fatal(err)
			}
			defer repo.Close()
			root, err := repository.Graph(ctx, repo, "example.com/interop/app", "1.2.0", -1)
			if err != nil {
				t.Fatal(err)
			}
			seen := 0
			err = root.Walk(func(n *repository.Node) error {
				c := n.Descriptor.Component
				d, err := normalisation.Digest(n.Descriptor, normalisation.JSONv4alpha1, normalisation.SHA256)
				if err != nil {
					return err
				}
				if d.Value != want[c.Name+":"+c.Version] {
					t.Errorf("%s:%s normalised digest %s, want %s", c.Name, c.Version, d.Value, want[c.Name+":"+c.Version])
				}
				if len(n.Descriptor.Signatures) != 1 || n.Descriptor.Signatures[0].Digest.Value != d.Value {
					t.Errorf("%s: signature digest %+v differs from %s", c.Name, n.Descriptor.Signatures, d.Value)
				}
				seen++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if seen != 2 {
				t.Fatalf("walked %d component versions, want app and lib", seen)
			}
			// app's reference to lib records lib's digest.
			if got := root.Children[0].Via.Digest.Value; got != want["example.com/interop/lib:0.3.1+build.7"] {
				t.Fatalf("reference digest %s", got)
			}
		})
	}
}
