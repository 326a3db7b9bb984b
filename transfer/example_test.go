package transfer_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ocmgo/ocm/constructor"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/transfer"
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

// Transfer a component version, with everything it references, from one
// repository to another (here two CTF archives; a registry works the same).
func ExampleComponentVersions() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ocm-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	source, err := buildExample(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}

	src, err := repository.OpenStore(ctx, source, repository.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	dst, err := repository.OpenWritable(ctx, reference.Repository{Type: reference.TypeCTF, FilePath: filepath.Join(dir, "copy")}, repository.Options{Create: true})
	if err != nil {
		log.Fatal(err)
	}
	defer dst.Abort()
	results, err := transfer.ComponentVersions(ctx, src, dst, []transfer.Ref{{Component: "example.com/hello", Version: "1.0.0"}}, transfer.Options{Recursive: true})
	if err != nil {
		log.Fatal(err)
	}
	if err := dst.Commit(); err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		fmt.Printf("%s:%s copied %d blob(s), %d bytes\n", r.Component, r.Version, r.Copied, r.BytesCopied)
	}

	// A second run finds everything in place and writes nothing.
	again, err := repository.OpenWritable(ctx, reference.Repository{Type: reference.TypeCTF, FilePath: filepath.Join(dir, "copy")}, repository.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer again.Abort()
	results, err = transfer.ComponentVersions(ctx, src, again, []transfer.Ref{{Component: "example.com/hello", Version: "1.0.0"}}, transfer.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := again.Commit(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("again: already present %v\n", results[0].AlreadyPresent)
	// Output:
	// example.com/hello:1.0.0 copied 4 blob(s), 1869 bytes
	// again: already present true
}
