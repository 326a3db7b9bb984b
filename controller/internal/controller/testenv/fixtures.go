package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/repository/oci"
	"github.com/ocmgo/ocm/repository/ocimap"
	"github.com/ocmgo/ocm/signing"
)

// Resource describes a resource of a component version built by Push.
type Resource struct {
	Name, Version, Type string
	ExtraIdentity       map[string]string
	// Labels are JSON values by label name.
	Labels map[string]any
	// Data is stored as a local blob with MediaType (default text/plain).
	Data      []byte
	MediaType string
	// Tampered, when set with Data, is what the registry holds instead:
	// the descriptor records Data's digest (a blob replaced after the
	// version was built).
	Tampered []byte
	// Artifact, when set instead of Data, is an OCI manifest already pushed
	// to the component's repository (see PushImage), stored as a local blob.
	Artifact *ocispec.Descriptor
	// Access, when set instead of Data, is recorded as is (e.g. an
	// ociArtifact access), with Digest.
	Access *descriptor.Typed
	Digest *descriptor.DigestSpec
}

// Reference is a component reference of a version built by Push.
type Reference struct {
	Name, Component, Version string
}

// CV describes a component version for Push.
type CV struct {
	Name, Version string
	Labels        map[string]any
	Resources     []Resource
	References    []Reference
}

func labels(t testing.TB, m map[string]any) []descriptor.Label {
	var out []descriptor.Label
	for k, v := range m {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, descriptor.Label{Name: k, Value: raw})
	}
	return out
}

// Registry opens the test registry at host as a write store.
func Registry(t testing.TB, host string) *oci.Registry {
	t.Helper()
	reg, err := oci.New(host, "", oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// Push writes cv into the registry at host, its local blobs included.
func Push(t testing.TB, host string, cv CV) {
	t.Helper()
	ctx := context.Background()
	reg := Registry(t, host)
	repoName := ocimap.RepositoryName(cv.Name)
	cd := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: descriptor.SchemaVersion}}
	cd.Component.Name, cd.Component.Version, cd.Component.Provider = cv.Name, cv.Version, "acme.org"
	cd.Component.Labels = labels(t, cv.Labels)
	cd.Component.RepositoryContexts = []descriptor.Typed{}
	cd.Component.Sources = []descriptor.Source{}
	cd.Component.References = []descriptor.Reference{}
	cd.Component.Resources = []descriptor.Resource{}
	var blobs []ocimap.LocalBlob
	for _, r := range cv.Resources {
		res := descriptor.Resource{Type: r.Type, Relation: "local", Access: r.Access, Digest: r.Digest}
		res.Name, res.Version, res.ExtraIdentity, res.Labels = r.Name, r.Version, r.ExtraIdentity, labels(t, r.Labels)
		if res.Type == "" {
			res.Type = "plainText"
		}
		if r.Data != nil || r.Artifact != nil {
			mt := r.MediaType
			if mt == "" {
				mt = "text/plain"
			}
			var desc ocispec.Descriptor
			if r.Artifact != nil {
				desc, mt = *r.Artifact, r.Artifact.MediaType
			} else {
				var err error
				stored := r.Data
				if r.Tampered != nil {
					stored = r.Tampered
				}
				if desc, err = reg.PushBlob(ctx, repoName, mt, bytes.NewReader(stored)); err != nil {
					t.Fatal(err)
				}
			}
			acc, err := descriptor.NewTyped(descriptor.LocalBlobAccess{Type: "localBlob/v1", LocalReference: desc.Digest.String(), MediaType: mt})
			if err != nil {
				t.Fatal(err)
			}
			res.Access = &acc
			res.Digest = &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "genericBlobDigest/v1", Value: desc.Digest.Encoded()}
			if r.Tampered != nil {
				res.Digest.Value = digest.FromBytes(r.Data).Encoded()
			}
			id := map[string]string{"name": r.Name, "version": r.Version}
			for k, v := range r.ExtraIdentity {
				id[k] = v
			}
			blobs = append(blobs, ocimap.LocalBlob{Descriptor: desc, Artifacts: []ocimap.ArtifactRef{{Kind: "resource", Identity: id}}})
		}
		cd.Component.Resources = append(cd.Component.Resources, res)
	}
	for _, ref := range cv.References {
		r := descriptor.Reference{ComponentName: ref.Component}
		r.Name, r.Version = ref.Name, ref.Version
		cd.Component.References = append(cd.Component.References, r)
	}
	if _, err := ocimap.NewWriter(reg).AddComponentVersion(ctx, cd, blobs); err != nil {
		t.Fatal(err)
	}
}

// Sign signs component:version in the registry at host with signer under
// the signature name, and stores the signed descriptor.
func Sign(t testing.TB, host, component, version, name string, signer integrity.DigestSigner) {
	t.Helper()
	ctx := context.Background()
	reg := Registry(t, host)
	if _, err := integrity.SignStored(ctx, reg, reg.String(), component, version, integrity.SignOptions{Name: name, Signer: signer}); err != nil {
		t.Fatal(err)
	}
}

// KeyPair returns a new RSA key and its public key as PKIX PEM.
func KeyPair(t testing.TB) (*rsa.PrivateKey, []byte) {
	t.Helper()
	privPEM, pubPEM, err := signing.GenerateKeyPair(2048)
	if err != nil {
		t.Fatal(err)
	}
	key, err := signing.ParsePrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	return key, pubPEM
}

// CertChain returns a signer whose key is certified by a new intermediate
// under a new root CA, and the root certificate as PEM: a PEM signature by
// the signer verifies against that root alone.
func CertChain(t testing.TB, algorithm string) (signing.Signer, []byte) {
	t.Helper()
	mk := func(cn string, ca bool, parent *x509.Certificate, parentKey *rsa.PrivateKey) (*x509.Certificate, *rsa.PrivateKey) {
		key, _ := KeyPair(t)
		serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: ca,
		}
		if ca {
			tmpl.KeyUsage |= x509.KeyUsageCertSign
		} else {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
		}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return cert, key
	}
	root, rootKey := mk("test root", true, nil, nil)
	inter, interKey := mk("test intermediate", true, root, rootKey)
	leaf, leafKey := mk("acme.org signer", false, inter, interKey)
	rootPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw})
	return signing.Signer{Algorithm: algorithm, Key: leafKey, Chain: []*x509.Certificate{leaf, inter}}, rootPEM
}

// PushImage stores a small OCI image (config and one layer) in the registry
// at host as repository:tag (untagged when tag is empty) and returns its
// manifest descriptor.
func PushImage(t testing.TB, host, repository, tag string, layer []byte) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	reg := Registry(t, host)
	cfgData := []byte(`{"architecture":"amd64","os":"linux"}`)
	push := func(mt string, data []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(data), Size: int64(len(data))}
		if err := reg.Push(ctx, repository, d, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cfg := push(ocispec.MediaTypeImageConfig, cfgData)
	l := push(ocispec.MediaTypeImageLayer, layer)
	m, err := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{l}})
	if err != nil {
		t.Fatal(err)
	}
	md := push(ocispec.MediaTypeImageManifest, m)
	if tag != "" {
		if err := reg.Tag(ctx, repository, md, tag); err != nil {
			t.Fatal(err)
		}
	}
	return md
}
