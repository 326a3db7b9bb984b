package descriptor_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/internal/testutil"
)

var decodeSeeds = []string{
	`{"meta":{"schemaVersion":"v2"},"component":{"name":"test.de/x","version":"v1","provider":"p","repositoryContexts":null,"resources":null,"sources":null,"componentReferences":null}}`,
	`
meta: {schemaVersion: v2}
component:
  name: github.com/acme/x
  version: 1.0.0
  creationTime: "2025-03-18T09:44:42Z"
  provider: {name: acme, labels: [{name: team, value: {a: [1, null, "<&>"]}, signing: "true", version: v1}]}
  labels: [{name: l, value: 1.0, merge: {algorithm: default, config: {x: 1}}}]
  repositoryContexts: [{type: OCIRegistry, baseUrl: ghcr.io, subPath: acme}]
  resources:
  - name: r
    version: 1.0.0
    type: blob
    relation: local
    extraIdentity: {os: linux}
    srcRefs: [{identitySelector: {name: s}, labels: [{name: x, value: y}]}]
    access: {type: localBlob, localReference: "sha256:ab", mediaType: text/plain, globalAccess: {type: ociBlob, ref: r, size: 3}}
    digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: genericBlobDigest/v1, value: ab}
  - {name: n, version: 1.0.0, type: blob, relation: local, access: {type: none}}
  sources: [{name: s, version: 1.0.0, type: git, access: {type: git, repoUrl: x}}]
  componentReferences: [{name: ref, componentName: github.com/acme/y, version: 1.0.0, digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: jsonNormalisation/v3, value: cd}}]
signatures:
- name: sig
  digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: jsonNormalisation/v4alpha1, value: ef}
  signature: {algorithm: RSASSA-PSS, mediaType: application/vnd.ocm.signature.rsa.pss, value: "00", issuer: CN=x}
  timestamp: {value: t, time: "2025-01-01T00:00:00Z"}
nestedDigests:
- name: github.com/acme/y
  version: 1.0.0
  digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: jsonNormalisation/v3, value: cd}
  resourceDigests: [{name: r, version: 1.0.0, extraIdentity: {os: linux}, digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: genericBlobDigest/v1, value: ab}}]
`,
	`{"meta":{"schemaVersion":"v2"},"component":{"name":"a.b/c","version":"1","provider":"{\"name\":\"p\",\"labels\":[{\"name\":\"l\",\"value\":null}]}","labels":[{"name":"x"}],"resources":[{"name":"r","version":"1","type":"t","relation":"local","access":null}]}}`,
}

// FuzzDecode: Decode never panics; whatever it accepts re-encodes to JSON
// that decodes again to the same JSON (round-trip stability), and Validate
// and the identity helpers never panic on it.
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	// Real descriptors, when the fixtures are present.
	for _, p := range []string{
		"normalisation/testdata/conformance-v3-01/input.yaml",
		filepath.Join(testutil.InteropDir(f), "ctf", "blobs", "sha256.363507eed72fb5042a1f52dc2e35398f6949d7a5060f56339cdaa3479268e940"),
		filepath.Join(testutil.InteropDir(f), "ctf", "blobs", "sha256.c9b478638c018fe911b420b62737f57f59a20b1709897f245543da73ace06bfc"),
	} {
		if data, err := os.ReadFile(filepath.FromSlash(p)); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := descriptor.Decode(data)
		if err != nil {
			return
		}
		enc1, err := descriptor.EncodeJSON(d)
		if err != nil {
			t.Fatalf("EncodeJSON of a decoded descriptor failed: %v", err)
		}
		d2, err := descriptor.Decode(enc1)
		if err != nil {
			t.Fatalf("re-decoding EncodeJSON output failed: %v\n%s", err, enc1)
		}
		enc2, err := descriptor.EncodeJSON(d2)
		if err != nil {
			t.Fatalf("second EncodeJSON failed: %v", err)
		}
		if !bytes.Equal(enc1, enc2) {
			t.Fatalf("round trip not stable:\n%s\n%s", enc1, enc2)
		}
		// Decode refuses invalid UTF-8, so everything written must be valid,
		// and EncodeYAML escapes what YAML cannot carry.
		if !utf8.Valid(enc1) {
			t.Fatalf("EncodeJSON wrote invalid UTF-8: %q", enc1)
		}
		{
			y, err := descriptor.EncodeYAML(d)
			if err != nil {
				t.Fatalf("EncodeYAML failed: %v", err)
			}
			// YAML may respell raw values (1.0 as 1), but never what is signed.
			dy, err := descriptor.Decode(y)
			if err != nil {
				t.Fatalf("re-decoding EncodeYAML output failed: %v\n%s", err, y)
			}
			for _, alg := range normalisation.Algorithms() {
				n1, err1 := normalisation.Normalise(d, alg)
				n2, err2 := normalisation.Normalise(dy, alg)
				if err1 == nil && err2 == nil && !bytes.Equal(n1, n2) {
					t.Fatalf("YAML round trip changed the %s form:\n%s\n%s", alg, n1, n2)
				}
			}
		}
		_ = descriptor.Validate(d)
		c := &d.Component
		c.ResourceIdentities()
		c.SourceIdentities()
		c.ReferenceIdentities()
		_, _ = c.Provider.Object()
		for i := range c.Resources {
			if a := c.Resources[i].Access; a != nil {
				_, _ = a.LocalBlob()
				_, _ = a.Fields()
			}
		}
	})
}
