package oci_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/errdef"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/repository/oci"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// A component version written through ocimap.Writer reads back through
// repository.FromStore, local blob included.
func TestComponentVersionRoundTrip(t *testing.T) {
	ctx := context.Background()
	host := startRegistry(t, true)
	reg := newRegistry(t, host, "ocm")
	const name, version = "example.com/demo", "1.0.0+build.5"
	repo := ocimap.RepositoryName(name)

	data := []byte("local text blob\n")
	blob, err := reg.PushBlob(ctx, repo, "text/plain", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	cd, err := descriptor.Decode([]byte(fmt.Sprintf(`meta:
  schemaVersion: v2
component:
  name: %s
  version: %s
  provider: acme
  repositoryContexts: []
  sources: []
  componentReferences: []
  resources:
  - name: text
    version: 1.0.0
    type: plainText
    relation: local
    access:
      type: localBlob
      localReference: %s
      mediaType: text/plain
`, name, version, blob.Digest)))
	if err != nil {
		t.Fatal(err)
	}
	refs := []ocimap.ArtifactRef{{Kind: "resource", Identity: map[string]string{"name": "text", "version": "1.0.0"}}}
	root, err := ocimap.NewWriter(reg).AddComponentVersion(ctx, cd, []ocimap.LocalBlob{{Descriptor: blob, Artifacts: refs}})
	if err != nil {
		t.Fatal(err)
	}
	if root.MediaType != ocispec.MediaTypeImageManifest {
		t.Fatalf("root %+v", root)
	}
	tags, err := reg.Tags(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 1 || tags[0] != ocimap.ToTag(version) {
		t.Fatalf("tags %v", tags)
	}

	r := repository.FromStore(reg, reg.String(), nil)
	defer r.Close()
	got, err := r.GetComponentVersion(ctx, name, version)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := descriptor.EncodeJSON(cd)
	gotJSON, _ := descriptor.EncodeJSON(got)
	if !bytes.Equal(want, gotJSON) {
		t.Fatalf("descriptor differs:\n%s\n%s", gotJSON, want)
	}
	desc, fetcher, err := r.GetLocalBlob(ctx, name, version, string(blob.Digest))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := fetcher.Fetch(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	gotData, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotData, data) {
		t.Fatalf("local blob %q, want %q", gotData, data)
	}

	versions, err := ocimap.New(reg, "test").ListVersions(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 1 || versions[0] != version {
		t.Fatalf("versions %v", versions)
	}
	if _, err := r.GetComponentVersion(ctx, name, "9.9.9"); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("missing version: %v", err)
	}
	if _, err := r.GetComponentVersion(ctx, "example.com/absent", "1.0.0"); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("missing component: %v", err)
	}
}

// ctfSource and registryTarget bind one repository of a store to oras' content interfaces.
type ctfSource struct {
	a    *ctf.Archive
	repo string
}

func (s ctfSource) Fetch(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	return s.a.Fetch(ctx, s.repo, d)
}

func (s ctfSource) Exists(ctx context.Context, d ocispec.Descriptor) (bool, error) {
	return s.a.Exists(ctx, d)
}

type registryTarget struct {
	r    *oci.Registry
	repo string
}

func (s registryTarget) Fetch(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	return s.r.Fetch(ctx, s.repo, d)
}

func (s registryTarget) Exists(ctx context.Context, d ocispec.Descriptor) (bool, error) {
	return s.r.Exists(ctx, s.repo, d)
}

func (s registryTarget) Push(ctx context.Context, d ocispec.Descriptor, r io.Reader) error {
	return s.r.Push(ctx, s.repo, d, r)
}

// The reference CLI's signed CTF, copied into a registry graph by graph,
// reads back with the normalised digests the reference signed.
func TestCopyInteropCTF(t *testing.T) {
	ctx := context.Background()
	a, err := ctf.Open(testutil.InteropCTF(t, testutil.Dir))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	host := startRegistry(t, true)
	reg := newRegistry(t, host, "interop/copy")

	repos, err := a.Repositories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	copied := 0
	for _, repo := range repos {
		tags, err := a.Tags(ctx, repo)
		if err != nil {
			t.Fatal(err)
		}
		for _, tag := range tags {
			root, err := a.Resolve(ctx, repo, tag)
			if err != nil {
				t.Fatal(err)
			}
			if err := oras.CopyGraph(ctx, ctfSource{a, repo}, registryTarget{reg, repo}, root, oras.DefaultCopyGraphOptions); err != nil {
				t.Fatalf("copying %s:%s: %v", repo, tag, err)
			}
			if err := reg.Tag(ctx, repo, root, tag); err != nil {
				t.Fatal(err)
			}
			copied++
		}
	}
	if copied < 2 {
		t.Fatalf("copied %d tagged graphs", copied)
	}
	gotRepos, err := reg.Repositories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(gotRepos) != fmt.Sprint(repos) {
		t.Fatalf("registry repositories %v, CTF %v", gotRepos, repos)
	}

	r := repository.FromStore(reg, reg.String(), nil)
	defer r.Close()
	want := map[[2]string]string{
		{"example.com/interop/lib", "0.3.1+build.7"}: "a6f7a4eb5b4dc1fd061b5da0c1b5171f9d6cfa0898823667d8f534df6798f647",
		{"example.com/interop/app", "1.2.0"}:         "0e620fa8ae2390bd21cf081c6812cb06734ed8d8830564c2e8db6ecbc95c818b",
	}
	for cv, wantDigest := range want {
		cd, err := r.GetComponentVersion(ctx, cv[0], cv[1])
		if err != nil {
			t.Fatal(err)
		}
		d, err := normalisation.Digest(cd, normalisation.JSONv4alpha1, normalisation.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if d.Value != wantDigest {
			t.Errorf("%s:%s normalised digest %s, want %s", cv[0], cv[1], d.Value, wantDigest)
		}
		// Every local blob is readable from the registry and matches the CTF.
		for _, res := range cd.Component.Resources {
			if !res.Access.IsLocalBlob() {
				continue
			}
			lb, err := res.Access.LocalBlob()
			if err != nil {
				t.Fatal(err)
			}
			desc, fetcher, err := r.GetLocalBlob(ctx, cv[0], cv[1], lb.LocalReference)
			if err != nil {
				t.Fatalf("%s:%s resource %s: %v", cv[0], cv[1], res.Name, err)
			}
			got := readAll(t, ctx, func() (io.ReadCloser, error) { return fetcher.Fetch(ctx, desc) })
			orig := readAll(t, ctx, func() (io.ReadCloser, error) { return a.Fetch(ctx, ocimap.RepositoryName(cv[0]), desc) })
			if !bytes.Equal(got, orig) {
				t.Errorf("%s:%s resource %s: registry and CTF content differ", cv[0], cv[1], res.Name)
			}
		}
	}
}

func readAll(t *testing.T, _ context.Context, open func() (io.ReadCloser, error)) []byte {
	t.Helper()
	rc, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
