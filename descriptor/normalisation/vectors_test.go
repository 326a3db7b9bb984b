package normalisation_test

import "strings"

// Test descriptors. Sources are named per vector; "asserted" values are
// compared by an upstream test, "computed" ones come from the spec digest's
// independent model (docs: shared/notes/ocm-spec.md §2.7, §8).

// cd1 is CD1 from OCM v1 api/ocm/compdesc/norm_test.go (§2.7 b).
const cd1 = `
component:
  componentReferences: []
  name: github.com/vasu1124/introspect
  provider: internal
  repositoryContexts:
  - baseUrl: ghcr.io/vasu1124/ocm
    componentNameMapping: urlPath
    type: ociRegistry
  resources:
  - access:
      localReference: sha256:7f0168496f273c1e2095703a050128114d339c580b0906cd124a93b66ae471e2
      mediaType: application/vnd.docker.distribution.manifest.v2+tar+gzip
      referenceName: vasu1124/introspect:1.0.0
      type: localBlob
    digest:
      hashAlgorithm: SHA-256
      normalisationAlgorithm: ociArtifactDigest/v1
      value: 6a1c7637a528ab5957ab60edf73b5298a0a03de02a96be0313ee89b22544840c
    labels:
    - name: label1
      value: foo
    - name: label2
      value: bar
      signing: true
      mergeAlgorithm: test
    name: introspect-image
    relation: local
    type: ociImage
    version: 1.0.0
  - access:
      localReference: sha256:d1187ac17793b2f5fa26175c21cabb6ce388871ae989e16ff9a38bd6b32507bf
      mediaType: ""
      type: localBlob
    digest:
      hashAlgorithm: SHA-256
      normalisationAlgorithm: genericBlobDigest/v1
      value: d1187ac17793b2f5fa26175c21cabb6ce388871ae989e16ff9a38bd6b32507bf
    name: introspect-blueprint
    relation: local
    type: landscaper.gardener.cloud/blueprint
    version: 1.0.0
  - access:
      localReference: sha256:4186663939459149a21c0bb1cd7b8ff86e0021b29ca45069446d046f808e6bfe
      mediaType: application/vnd.oci.image.manifest.v1+tar+gzip
      referenceName: vasu1124/helm/introspect-helm:0.1.0
      type: localBlob
    digest:
      hashAlgorithm: SHA-256
      normalisationAlgorithm: ociArtifactDigest/v1
      value: 6229be2be7e328f74ba595d93b814b590b1aa262a1b85e49cc1492795a9e564c
    name: introspect-helm
    relation: external
    type: helm
    version: 0.1.0
  sources:
  - access:
      repository: github.com/vasu1124/introspect
      type: git
    name: introspect
    type: git
    version: 1.0.0
  version: 1.0.0
meta:
  schemaVersion: v2
`

// cd2 is CD2 from the same test: other repositoryContexts, globalAccess and
// access type; it must normalise exactly like cd1.
const cd2 = `
component:
  componentReferences: []
  name: github.com/vasu1124/introspect
  provider: internal
  repositoryContexts:
  - baseUrl: ghcr.io/vasu1124/ocm
    componentNameMapping: urlPath
    type: ociRegistry
  - baseUrl: ghcr.io
    componentNameMapping: urlPath
    subPath: mandelsoft/cnudie
    type: OCIRegistry
  resources:
  - access:
      globalAccess:
        digest: sha256:7f0168496f273c1e2095703a050128114d339c580b0906cd124a93b66ae471e2
        mediaType: application/vnd.docker.distribution.manifest.v2+tar+gzip
        ref: ghcr.io/mandelsoft/cnudie/component-descriptors/github.com/vasu1124/introspect
        size: 29047129
        type: ociBlob
      localReference: sha256:7f0168496f273c1e2095703a050128114d339c580b0906cd124a93b66ae471e2
      mediaType: application/vnd.docker.distribution.manifest.v2+tar+gzip
      type: localBlob
    digest:
      hashAlgorithm: SHA-256
      normalisationAlgorithm: ociArtifactDigest/v1
      value: 6a1c7637a528ab5957ab60edf73b5298a0a03de02a96be0313ee89b22544840c
    labels:
    - name: label1
      value: foo
    - name: label2
      value: bar
      signing: true
    name: introspect-image
    relation: local
    type: ociImage
    version: 1.0.0
  - access:
      globalAccess:
        digest: sha256:d1187ac17793b2f5fa26175c21cabb6ce388871ae989e16ff9a38bd6b32507bf
        ref: ghcr.io/mandelsoft/cnudie/component-descriptors/github.com/vasu1124/introspect
        size: 632
        type: ociBlob
      localReference: sha256:d1187ac17793b2f5fa26175c21cabb6ce388871ae989e16ff9a38bd6b32507bf
      mediaType: ""
      type: localBlob
    digest:
      hashAlgorithm: SHA-256
      normalisationAlgorithm: genericBlobDigest/v1
      value: d1187ac17793b2f5fa26175c21cabb6ce388871ae989e16ff9a38bd6b32507bf
    name: introspect-blueprint
    relation: local
    type: landscaper.gardener.cloud/blueprint
    version: 1.0.0
  - access:
      imageReference: ghcr.io/mandelsoft/cnudie/vasu1124/helm/introspect-helm:0.1.0
      type: ociRegistry
    digest:
      hashAlgorithm: SHA-256
      normalisationAlgorithm: ociArtifactDigest/v1
      value: 6229be2be7e328f74ba595d93b814b590b1aa262a1b85e49cc1492795a9e564c
    name: introspect-helm
    relation: external
    type: helm
    version: 0.1.0
  sources:
  - access:
      repository: github.com/vasu1124/introspect
      type: git
    name: introspect
    type: git
    version: 1.0.0
  version: 1.0.0
meta:
  schemaVersion: v2
`

// cd1NullRefs is the OCM v2 TestNormalization input (§8 row 2): cd1 with
// componentReferences: null.
var cd1NullRefs = strings.Replace(cd1, "componentReferences: []", "componentReferences: null", 1)

// cd1None is cd1 plus a resource with none access that carries a digest
// (norm_test "with none access"; the digest must disappear).
var cd1None = strings.Replace(cd1, "  sources:\n", `  - access:
      type: none
    digest: {hashAlgorithm: x, normalisationAlgorithm: "y", value: z} # unquoted y is a YAML 1.1 bool
    name: none
    relation: local
    type: plainText
    version: v1
  sources:
`, 1)

// complexProvider is norm_test "complex provider": cd1 with nil lists,
// component labels and a provider with labels (JSON string in v2).
const complexProvider = `
component:
  componentReferences: null
  labels:
  - {name: volatile, value: comp-value1}
  - {name: non-volatile, value: comp-value2, signing: true}
  name: github.com/vasu1124/introspect
  provider: '{"name":"internal","labels":[{"name":"volatile","value":"prov-value1"},{"name":"non-volatile","value":"prov-value2","signing":true}]}'
  repositoryContexts:
  - {baseUrl: ghcr.io/vasu1124/ocm, componentNameMapping: urlPath, type: ociRegistry}
  resources: null
  sources: null
  version: 1.0.0
meta:
  schemaVersion: v2
`

// complexProviderObject is the same with the provider written as an object,
// which descriptor.Decode accepts and stores as the JSON string.
const complexProviderObject = `
component:
  componentReferences: null
  labels:
  - {name: volatile, value: comp-value1}
  - {name: non-volatile, value: comp-value2, signing: true}
  name: github.com/vasu1124/introspect
  provider:
    name: internal
    labels:
    - {name: volatile, value: prov-value1}
    - {name: non-volatile, value: prov-value2, signing: true}
  repositoryContexts: null
  resources: null
  sources: null
  version: 1.0.0
meta:
  schemaVersion: v2
`

// duplicate is norm_test "normalization and legacy extra identity defaulting".
const duplicate = `
component:
  version: 1.0.0
  componentReferences: []
  name: ocm.software/duplicate-resource/test
  provider: internal
  repositoryContexts: []
  resources:
  - name: image
    relation: local
    type: ociImage
    version: 1.0.0
    access:
      imageReference: ghcr.io/bla:1.0.0
      type: ociRegistry
  - name: image
    relation: local
    type: ociImage
    version: 2.0.0
    access:
      imageReference: ghcr.io/bla:2.0.0
      type: ociRegistry
  sources: []
meta:
  schemaVersion: v2
`

// hashX, hashXRes, hashY, hashXRef: OCM v1 components/hash/cmd_test.go (§2.7 c).
const hashX = `
meta: {schemaVersion: v2}
component:
  name: test.de/x
  version: v1
  provider: mandelsoft
  repositoryContexts: []
  resources: []
  sources: []
  componentReferences: []
`

const hashXRes = `
meta: {schemaVersion: v2}
component:
  name: test.de/x
  version: v1
  provider: mandelsoft
  repositoryContexts: []
  resources:
  - name: test
    version: v1
    type: plainText
    relation: local
    access: {type: localBlob, localReference: sha256.810ff2fb242a5dee4220f2cb0e6a519891fb67f2f828a6cab4ef8894633b1f50, mediaType: text/plain}
    digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: genericBlobDigest/v1, value: 810ff2fb242a5dee4220f2cb0e6a519891fb67f2f828a6cab4ef8894633b1f50}
  sources: []
  componentReferences: []
`

const hashY = `
meta: {schemaVersion: v2}
component:
  name: test.de/y
  version: v1
  provider: mandelsoft
  repositoryContexts: []
  resources: []
  sources: []
  componentReferences: []
`

// hashXRef has no reference digest: the test computes it from hashY.
const hashXRef = `
meta: {schemaVersion: v2}
component:
  name: test.de/x
  version: v1
  provider: mandelsoft
  repositoryContexts: []
  resources: []
  sources: []
  componentReferences:
  - {name: ref, componentName: test.de/y, version: v1}
`

// v2Probe is the input of the spec digest's run of OCM v2's v4alpha1 code (§2.6).
const v2Probe = `
meta: {schemaVersion: v2}
component:
  name: test.de/x
  version: v1
  provider: mandelsoft
  repositoryContexts: null
  resources: null
  sources: null
  componentReferences:
  - name: ref
    componentName: test.de/y
    version: v1
    labels:
    - {name: vol, value: a}
    - {name: sig, value: {k: null, z: 1}, signing: true}
    digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: jsonNormalisation/v3, value: bd420aea257660f444b39165cee42b905e48165021781e2468dcf8e1cbc0151d}
  - name: ref2
    componentName: test.de/y
    version: v2
`

// quirks holds the other probe facts: an EXCLUDE-FROM-SIGNATURE resource,
// a label value 1.0 (JSON input, so the literal reaches the normaliser) and
// HTML characters.
const quirks = `{"meta":{"schemaVersion":"v2"},"component":{"name":"test.de/x","version":"v1","provider":"a<&>b",
"repositoryContexts":null,"sources":null,"componentReferences":null,
"labels":[{"name":"num","value":1.0,"signing":true},{"name":"html","value":"<&>","signing":true}],
"resources":[{"name":"excluded","version":"v1","type":"blob","relation":"local",
 "access":{"type":"localBlob","localReference":"sha256:00"},
 "digest":{"hashAlgorithm":"NO-DIGEST","normalisationAlgorithm":"EXCLUDE-FROM-SIGNATURE","value":"NO-DIGEST"}}]}}`

// specSimple is the SPEC signing example (§2.7 a, v3alpha1) in v2 form with
// the resource digests that signing adds.
const specSimple = `
meta: {schemaVersion: v2}
component:
  name: ocm.software/simpleapp
  version: 0.1.0
  provider: ocm.software
  repositoryContexts: []
  resources:
  - access: {localReference: "sha256:dea5de3e6f20fc58bfa8c2a25043f628c730960d46100b83540a30ed0a4e7910", mediaType: application/vnd.oci.image.manifest.v1+tar+gzip, referenceName: "ocm.software/simpleapp/echoserver:0.1.0", type: localBlob}
    digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: ociArtifactDigest/v1, value: 5e28862f7ad5b71f3f5c5dc7a4ccc8c3d3cb87f5e5774458d895d831d3765548}
    name: chart
    relation: local
    type: helmChart
    version: 0.1.0
  - access: {imageReference: "gcr.io/google_containers/echoserver:1.10", type: OCIImage}
    digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: ociArtifactDigest/v1, value: cb5c1bddd1b5665e1867a7fa1b5fa843a47ee433bbb75d4293888b71def53229}
    name: image
    relation: external
    type: ociImage
    version: "1.0"
  sources:
  - access: {commit: e39625d6e919d33267da4778a1842670ce2bbf77, repoUrl: github.com/open-component-model/ocm, type: github}
    name: source
    type: filesytem
    version: 0.1.0
  componentReferences: []
`

// compat is OCM v1 signing/signingtest/testdata/compat/component-archive/
// component-descriptor.yaml (§8 row 5), signed with jsonNormalisation/v1 by an
// old OCM v1 that did not yet write "extraIdentity":null.
const compat = `
component:
  componentReferences: []
  name: github.com/mandelsoft/test
  provider: mandelsoft
  repositoryContexts: []
  resources:
  - access:
      localReference: sha256.c893900c1106f13d55648a425f502dd6518e40eaa3ac7d24023d4c73d55dc12e
      mediaType: application/octet-stream
      type: localBlob
    digest:
      hashAlgorithm: sha256
      normalisationAlgorithm: genericBlobDigest/v1
      value: c893900c1106f13d55648a425f502dd6518e40eaa3ac7d24023d4c73d55dc12e
    name: text
    relation: local
    type: PlainText
    version: 1.0.0
  sources: []
  version: 1.0.0
meta:
  schemaVersion: v2
signatures:
- digest:
    hashAlgorithm: sha256
    normalisationAlgorithm: jsonNormalisation/v1
    value: b06e4c1a68274b876661f9fbf1f100526d289745f6ee847bfef702007b5b14cf
  name: test
  signature:
    algorithm: RSASSA-PKCS1-V1_5
    mediaType: application/vnd.ocm.signature.rsa
    value: 4447c988ecb26352019bdfd5b3e69005eff685ed1ff699f937091ecad6a3bc2156f8d3e9cb3ba3b9d7ea203a5e7a3af5dcb756553fad33b159134cd306ff072544fe6dd991bc51b3ff5de8dcd3d0a401e768523545c5e343c5010073570975dcaa15217b1338810983b68fb4eb878ad26a1c6c3bc441b0f2029cab6b2a352ae40c979b6098a1a880a2ea0e4747c7f88863c4c91543bf457b0f3a396334e4f6155075fc46b8d45cfa34171108c42bc1f779a03bc0844bf91d50d2b6eeba71806a34d18230b911e80871a544d2b499c20d170e8a2b86f85a799b60cf540925425f5f6ff8ef36d8b63dfe0ffd82e635faa5be2a58e5078925d66e494d43fa10948e
`

// podinfo is the component of OCM v1 api/tech/signing/handlers/sigstore/
// testdata/component-descriptor-signed.yaml (§8 row 6), verbatim except that
// the two sigstore signature values (base64 Rekor entries, several KB, not
// part of any normalisation) are cut short.
const podinfo = `
component:
  componentReferences: []
  creationTime: "2026-01-19T11:18:36Z"
  name: ocm.software/podinfo-comp
  provider: acme.org
  repositoryContexts: []
  resources:
    - access:
        imageReference: ghcr.io/stefanprodan/charts/podinfo:6.7.1
        type: ociArtifact
      digest:
        hashAlgorithm: SHA-256
        normalisationAlgorithm: ociArtifactDigest/v1
        value: 4d5bd3562f0b150bd6cdfdbfb149e7e4ac36e555e25baa1da9f511f4d9fb7391
      name: podinfo-image
      relation: external
      type: ociImage
      version: 1.0.0
    - access:
        imageReference: ghcr.io/stefanprodan/charts/podinfo:6.8.0
        type: ociArtifact
      digest:
        hashAlgorithm: SHA-256
        normalisationAlgorithm: ociArtifactDigest/v1
        value: 2360bdf32ddc50c05f8e128118173343b0a012a338daf145b16e0da9c80081a4
      name: podinfo-chart
      relation: external
      type: helmChart
      version: 6.8.0
  sources: []
  version: 1.0.0
meta:
  schemaVersion: v2
signatures:
  - digest:
      hashAlgorithm: SHA-256
      normalisationAlgorithm: jsonNormalisation/v3
      value: 20d12fdfaf1f57c970d63608db4eaeaab934527ab19caac9b4518502d31c5d72
    name: sigstore-legacy
    signature:
      algorithm: sigstore
      mediaType: application/vnd.ocm.signature.sigstore
      value: eyIxMDhlOTE4NmU4YzU2NzdhMmUzNWEyOWEyNjgxM2M3MDUyZGQyOTJmMDY3ZDFkNmY5NGQyZDJiNTBiZThlOWY4MjU1ZTU3ZTk5NDIxNGE2NSI6
`

// helloworld is component-descriptor.yaml inside the descriptor layer
// sha256:7164be67… of OCM v2 bindings/go/ctf/testdata/compatibility/01
// (a CTF written by OCM v1 0.20.0; §8 row 7).
const helloworld = `component:
  componentReferences: []
  creationTime: "2025-03-18T09:44:42Z"
  name: github.com/acme.org/helloworld
  provider: acme.org
  repositoryContexts: []
  resources:
  - access:
      localReference: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
      mediaType: application/octet-stream
      type: localBlob
    digest:
      hashAlgorithm: SHA-256
      normalisationAlgorithm: genericBlobDigest/v1
      value: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    name: resource
    relation: local
    type: something
    version: 6.7.1
  sources: []
  version: 1.0.0
meta:
  schemaVersion: v2
`
