package constructor_test

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

// Add component versions from a constructor to a CTF archive, as
// `ocm add cv` does: parse, open the target for writing, build, commit.
func ExampleBuild() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ocm-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// Inline inputs keep the example free of files; a file input's path
	// resolves against the constructor's directory.
	spec, err := constructor.Parse([]byte(`
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
`), filepath.Join(dir, "component-constructor.yaml"), constructor.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	target := reference.Repository{Type: reference.TypeCTF, FilePath: filepath.Join(dir, "ctf")}
	w, err := repository.OpenWritable(ctx, target, repository.Options{Create: true})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Abort() // nothing is published unless Commit runs
	// A fixed creation time keeps the descriptor, and so its digests, reproducible.
	results, err := constructor.Build(ctx, spec, w, constructor.BuildOptions{CreationTime: "2024-01-01T00:00:00Z"})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		c := r.Descriptor.Component
		for _, res := range c.Resources {
			fmt.Printf("%s:%s resource %s %s %s\n", c.Name, c.Version, res.Name, res.Digest.HashAlgorithm, res.Digest.Value)
		}
	}
	// Output:
	// example.com/hello:1.0.0 resource greeting SHA-256 09ca7e4eaa6e8ae9c7d261167129184883644d07dfba7cbfbc4c8a2e08360d5b
}
