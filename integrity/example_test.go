package integrity_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ocmgo/ocm/constructor"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/signing"
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

// Sign a component version and verify it, with an RSA key pair held in
// memory (the CLI reads keys from files or the credentials configuration).
func ExampleVerify() {
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
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}

	// Sign: every digest is recomputed from content, then the signature is
	// stored in the descriptor. Commit publishes it.
	w, err := repository.OpenWritable(ctx, target, repository.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Abort()
	sig, err := integrity.SignStored(ctx, w, w.String(), "example.com/hello", "1.0.0", integrity.SignOptions{
		Name:   "release",
		Signer: signing.Signer{Algorithm: signing.AlgorithmRSAPSS, Key: key},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("signed %s: %s over %s %s\n", sig.Name, sig.Signature.Algorithm, sig.Digest.NormalisationAlgorithm, sig.Digest.HashAlgorithm)

	// Verify: any failed check is a non-nil error; the result details
	// every signature and element either way.
	repo, err := repository.Open(ctx, target)
	if err != nil {
		log.Fatal(err)
	}
	defer repo.Close()
	keys := func(descriptor.Signature) (signing.VerifyOptions, error) {
		return signing.VerifyOptions{PublicKey: &key.PublicKey}, nil
	}
	res, err := integrity.Verify(ctx, repo, "example.com/hello", "1.0.0", integrity.VerifyOptions{Content: true, Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range res.Signatures {
		fmt.Printf("signature %s verified\n", s.Name)
	}
	for _, el := range res.Versions["example.com/hello:1.0.0"].Elements {
		fmt.Printf("%s %s: %s\n", el.Kind, el.Identity, el.Status)
	}
	// Output:
	// signed release: RSASSA-PSS over jsonNormalisation/v4alpha1 SHA-256
	// signature release verified
	// resource name=greeting: ok
}
