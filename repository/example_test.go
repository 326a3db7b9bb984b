package repository_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ocmgo/ocm/constructor"
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

// Open a repository from its reference and list what it holds.
func Example_openAndList() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ocm-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if _, err := buildExample(ctx, dir); err != nil {
		log.Fatal(err)
	}

	// The same syntax as on the command line: a path is a CTF archive,
	// ghcr.io/org/repo an OCI registry.
	spec, err := reference.ParseRepository(filepath.Join(dir, "ctf"))
	if err != nil {
		log.Fatal(err)
	}
	repo, err := repository.Open(ctx, spec)
	if err != nil {
		log.Fatal(err)
	}
	defer repo.Close()
	components, err := repo.ListComponents(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range components {
		versions, err := repo.ListVersions(ctx, c)
		if err != nil {
			log.Fatal(err)
		}
		for _, v := range versions {
			cd, err := repo.GetComponentVersion(ctx, c, v)
			if err != nil {
				log.Fatal(err)
			}
			fmt.Printf("%s:%s provider %s, %d resource(s)\n", c, v, cd.Component.Provider, len(cd.Component.Resources))
		}
	}
	// Output:
	// example.com/hello:1.0.0 provider example.com, 1 resource(s)
}
