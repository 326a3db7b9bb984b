package download_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ocmgo/ocm/constructor"
	"github.com/ocmgo/ocm/download"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
)

// exampleConstructor holds one component with a text resource; inline
// inputs keep the examples free of files and network.
const exampleConstructor = `
components:
- name: example.com/hello
  version: 1.0.0
  provider:
    name: example.com
  resources:
  - name: greeting
    type: blob
    input:
      type: utf8
      text: hello, world
`

// buildExample builds exampleConstructor into a new CTF archive under dir
// and returns the archive's reference.
func buildExample(ctx context.Context, dir string) (reference.Repository, error) {
	spec, err := constructor.Parse([]byte(exampleConstructor), filepath.Join(dir, "component-constructor.yaml"), constructor.LoadOptions{})
	if err != nil {
		return reference.Repository{}, err
	}
	target := reference.Repository{Type: reference.TypeCTF, FilePath: filepath.Join(dir, "ctf")}
	w, err := repository.OpenWritable(ctx, target, repository.Options{Create: true})
	if err != nil {
		return reference.Repository{}, err
	}
	defer w.Abort()
	// A fixed creation time keeps the descriptor, and so its digests, reproducible.
	if _, err := constructor.Build(ctx, spec, w, constructor.BuildOptions{CreationTime: "2024-01-01T00:00:00Z"}); err != nil {
		return reference.Repository{}, err
	}
	return target, w.Commit()
}

// Download a resource of a component version to a file. The content is
// checked against the digest the descriptor records while it streams, and
// nothing is left at the output path when that check fails.
func ExampleResource() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ocm-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	target, err := buildExample(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}

	repo, err := repository.Open(ctx, target)
	if err != nil {
		log.Fatal(err)
	}
	defer repo.Close()
	cd, err := repo.GetComponentVersion(ctx, "example.com/hello", "1.0.0")
	if err != nil {
		log.Fatal(err)
	}
	out := filepath.Join(dir, "greeting.txt")
	res, err := download.Resource(ctx, repo, cd, 0, out, download.Options{})
	if err != nil {
		log.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s (%s, %s): %s\n", filepath.Base(res.Path), res.Format, res.Digest, data)
	fmt.Println(res.Verified)
	// Output:
	// greeting.txt (file, sha256:09ca7e4eaa6e8ae9c7d261167129184883644d07dfba7cbfbc4c8a2e08360d5b): hello, world
	// [content digest sha256:09ca7e4eaa6e8ae9c7d261167129184883644d07dfba7cbfbc4c8a2e08360d5b resource digest SHA-256/genericBlobDigest/v1]
}
