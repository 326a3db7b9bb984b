package integrity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/repository/ocimap"
	"github.com/ocmgo/ocm/signing"
)

// Helpers here start with ig so that they do not clash with other test files.

var (
	igKeyOnce sync.Once
	igKeyVal  *rsa.PrivateKey
	igKeyErr  error
)

// igKey is a 2048-bit key generated once per test binary.
func igKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	igKeyOnce.Do(func() { igKeyVal, igKeyErr = rsa.GenerateKey(rand.Reader, 2048) })
	if igKeyErr != nil {
		t.Fatal(igKeyErr)
	}
	return igKeyVal
}

// igNode is one component version of a generated graph.
type igNode struct {
	name, version string
	blob          []byte // a LocalBlob resource "data" when set
	children      []int  // indexes of referenced nodes, all higher
	noRefDigest   bool   // leave the reference digests out
	absent        bool   // computed (for digests) but not written
}

// igBuild writes nodes into a CTF directory, bottom up, with correct
// resource and reference digests (jsonNormalisation/v4alpha1, SHA-256).
func igBuild(t testing.TB, nodes []igNode) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ctf")
	cds := make([]*descriptor.Descriptor, len(nodes))
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		cd := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: "v2"}}
		cd.Component.Name, cd.Component.Version, cd.Component.Provider = n.name, n.version, "example.com"
		var layers []testutil.Layer
		if n.blob != nil {
			d := digest.FromBytes(n.blob)
			acc, err := descriptor.NewTyped(map[string]string{"type": "LocalBlob/v1", "localReference": d.String(), "mediaType": "application/octet-stream"})
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(n.blob)
			cd.Component.Resources = append(cd.Component.Resources, descriptor.Resource{
				ElementMeta: descriptor.ElementMeta{Name: "data", Version: n.version},
				Type:        "blob", Relation: "local", Access: &acc,
				Digest: &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: normalisation.GenericBlobDigestV1, Value: hex.EncodeToString(sum[:])},
			})
			layers = append(layers, testutil.Layer{MediaType: "application/octet-stream", Data: n.blob})
		}
		for _, c := range n.children {
			ref := descriptor.Reference{
				ElementMeta:   descriptor.ElementMeta{Name: fmt.Sprintf("r%03d", c), Version: nodes[c].version},
				ComponentName: nodes[c].name,
			}
			if !n.noRefDigest {
				d, err := normalisation.Digest(cds[c], normalisation.JSONv4alpha1, normalisation.SHA256)
				if err != nil {
					t.Fatal(err)
				}
				ref.Digest = d
			}
			cd.Component.References = append(cd.Component.References, ref)
		}
		cds[i] = cd
		if n.absent {
			continue
		}
		if err := testutil.AddComponentVersion(dir, cd, layers...); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// igSign signs component:version and writes the result back as `sign cv` does.
func igSign(t testing.TB, archive, component, version string, opts SignOptions) (*descriptor.Signature, error) {
	t.Helper()
	ctx := context.Background()
	w, err := ctf.OpenWritable(archive, ctf.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	sig, err := SignStored(ctx, w, "test archive", component, version, opts)
	if err != nil {
		return nil, err
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	return sig, nil
}

func igKeys(key *rsa.PrivateKey) KeyLookup {
	return func(descriptor.Signature) (signing.VerifyOptions, error) {
		return signing.VerifyOptions{PublicKey: &key.PublicKey}, nil
	}
}

// igChain is a -> b -> c with a blob each.
func igChain() []igNode {
	return []igNode{
		{name: "example.com/ig/a", version: "1.0.0", blob: []byte("a data"), children: []int{1}},
		{name: "example.com/ig/b", version: "1.0.0", blob: []byte("b data"), children: []int{2}},
		{name: "example.com/ig/c", version: "1.0.0", blob: []byte("c data")},
	}
}

// Sign and Verify through the library: every version of the graph is
// checked once, from content, and the results say so per element.
func TestSignVerifyLibraryRoundTrip(t *testing.T) {
	archive := igBuild(t, igChain())
	key := igKey(t)
	for _, o := range []SignOptions{
		{Signer: signing.Signer{Algorithm: signing.AlgorithmRSAPSS, Key: key}},
		{Name: "legacy", Normalisation: normalisation.JSONv1, Hash: normalisation.SHA512, Signer: signing.Signer{Algorithm: signing.AlgorithmRSAPKCS1v15, Key: key}},
	} {
		if _, err := igSign(t, archive, "example.com/ig/a", "1.0.0", o); err != nil {
			t.Fatalf("sign %q: %v", o.Name, err)
		}
	}
	res, err := Verify(context.Background(), igOpen(t, archive), "example.com/ig/a", "1.0.0", VerifyOptions{Content: true, Keys: igKeys(key)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil {
		t.Fatalf("verify: %v", res.Err)
	}
	if len(res.Signatures) != 2 || res.Signatures[0].Name != "default" || res.Signatures[1].Name != "legacy" {
		t.Fatalf("signatures %+v", res.Signatures)
	}
	if len(res.Versions) != 3 {
		t.Fatalf("%d versions checked, want 3", len(res.Versions))
	}
	for key, v := range res.Versions {
		for _, el := range v.Elements {
			if el.Status != StatusOK || el.Err != nil {
				t.Errorf("%s: %s %s: %s %v", key, el.Kind, el.Identity, el.Status, el.Err)
			}
		}
	}

	// Signing again under a name in use needs Force, which replaces in place.
	if _, err := igSign(t, archive, "example.com/ig/a", "1.0.0", SignOptions{Signer: signing.Signer{Algorithm: signing.AlgorithmRSAPSS, Key: key}}); !errors.Is(err, ErrSignatureExists) || !strings.Contains(err.Error(), `already has a signature named "default"`) {
		t.Fatalf("second default signature: %v", err)
	}
	sig, err := igSign(t, archive, "example.com/ig/a", "1.0.0", SignOptions{Force: true, Hash: normalisation.SHA512, Signer: signing.Signer{Algorithm: signing.AlgorithmRSAPSS, Key: key}})
	if err != nil {
		t.Fatal(err)
	}
	cd, err := igOpen(t, archive).GetComponentVersion(context.Background(), "example.com/ig/a", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if len(cd.Signatures) != 2 || cd.Signatures[0].Name != "default" || cd.Signatures[0].Digest != sig.Digest || sig.Digest.HashAlgorithm != "SHA-512" {
		t.Fatalf("signatures after Force: %+v", cd.Signatures)
	}

	// No key lookup: fails closed.
	res, err = Verify(context.Background(), igOpen(t, archive), "example.com/ig/a", "1.0.0", VerifyOptions{})
	if err == nil || res == nil || res.Err != err || !strings.Contains(err.Error(), "no verification key configured") {
		t.Fatalf("verify without keys: %v (result %+v)", err, res)
	}
}

func igOpen(t testing.TB, archive string) repository.Repository {
	t.Helper()
	a, err := ctf.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return repository.FromStore(a, "test archive", a)
}

// Sign refuses content that does not match what is recorded, naming the
// element; a missing referenced version and a reference cycle are errors,
// not hangs.
func TestSignRefusesBrokenGraphs(t *testing.T) {
	key := igKey(t)
	signer := SignOptions{Signer: signing.Signer{Algorithm: signing.AlgorithmRSAPSS, Key: key}}

	t.Run("tampered blob two levels down", func(t *testing.T) {
		archive := igBuild(t, igChain())
		p := filepath.Join(archive, "blobs", "sha256."+digest.FromBytes([]byte("c data")).Encoded())
		if err := os.WriteFile(p, []byte("C data"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := igSign(t, archive, "example.com/ig/a", "1.0.0", signer)
		// Every failing version is named once with its own failed elements.
		for _, want := range []string{
			"not signing: ",
			"example.com/ig/a:1.0.0: reference name=r001 (example.com/ig/b:1.0.0): referenced component version does not verify: example.com/ig/b:1.0.0",
			"example.com/ig/b:1.0.0: reference name=r002 (example.com/ig/c:1.0.0): referenced component version does not verify: example.com/ig/c:1.0.0",
			"example.com/ig/c:1.0.0: resource name=data: content digest",
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v\nwant it to contain %q", err, want)
			}
		}
	})
	t.Run("missing referenced version", func(t *testing.T) {
		nodes := igChain()
		nodes[2].absent = true // b references c, which is not there
		archive := igBuild(t, nodes)
		_, err := igSign(t, archive, "example.com/ig/a", "1.0.0", signer)
		if err == nil || !strings.Contains(err.Error(), "reference name=r002 (example.com/ig/c:1.0.0)") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("cycle", func(t *testing.T) {
		// a -> b -> a, without reference digests (no correct ones exist).
		nodes := []igNode{
			{name: "example.com/ig/a", version: "1.0.0", children: []int{1}, noRefDigest: true},
			{name: "example.com/ig/b", version: "1.0.0", noRefDigest: true},
		}
		archive := igBuild(t, nodes)
		// Close the cycle: b references a.
		ctx := context.Background()
		w, err := ctf.OpenWritable(archive, ctf.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cv, err := ocimap.New(w, "x").GetComponentVersion(ctx, "example.com/ig/b", "1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		cd := *cv.Descriptor
		cd.Component.References = []descriptor.Reference{{ElementMeta: descriptor.ElementMeta{Name: "back", Version: "1.0.0"}, ComponentName: "example.com/ig/a"}}
		if _, err := ocimap.NewWriter(w).ReplaceDescriptor(ctx, cv, &cd); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		_, err = igSign(t, archive, "example.com/ig/a", "1.0.0", signer)
		if err == nil || !strings.Contains(err.Error(), "component reference cycle through example.com/ig/a:1.0.0") {
			t.Fatalf("got %v", err)
		}
	})
}

// A failure deep in a DAG is reported once per failing element, not once
// per path: with 12 diamonds (4096 paths) and a tampered bottom the error
// must stay small.
func TestVerifyDAGFailureNotRepeatedPerPath(t *testing.T) {
	const diamonds = 12
	n := 3*diamonds + 1
	nodes := make([]igNode, n)
	for i := range nodes {
		nodes[i] = igNode{name: fmt.Sprintf("example.com/ladder/n%02d", i), version: "1.0.0"}
		switch {
		case i == n-1:
			nodes[i].blob = []byte("bottom")
		case i%3 == 0:
			nodes[i].children = []int{i + 1, i + 2}
		case i%3 == 1:
			nodes[i].children = []int{i + 2}
		default:
			nodes[i].children = []int{i + 1}
		}
	}
	archive := igBuild(t, nodes)
	p := filepath.Join(archive, "blobs", "sha256."+digest.FromBytes([]byte("bottom")).Encoded())
	if err := os.WriteFile(p, []byte("BOTTOM"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := NewEngine(igOpen(t, archive), Options{Content: true})
	res, err := e.Version(context.Background(), nodes[0].name, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if res.Err == nil || e.Err() == nil {
		t.Fatal("tampered bottom not detected")
	}
	msg := e.Err().Error()
	bottomErr := nodes[n-1].name + ":1.0.0: resource name=data: content digest"
	if c := strings.Count(msg, bottomErr); c != 1 || len(msg) > 16<<10 {
		t.Fatalf("the bottom's failure appears %d times in a %d-byte error; want it once", c, len(msg))
	}
}
