package main

// The reference's conformance scenario "sovereign" (conformance/scenarios/
// sovereign in the OCM monorepo) through our CLI: a notes component built
// from an OCI image layout, a postgres component with a public image by tag
// and a Helm chart, a product component referencing both; signed, verified,
// carried across an air gap with transfer --copy-resources --recursive,
// imported into the cluster's registry and verified there, then upgraded.
// The Taskfile's tasks map onto sv* steps of the same name; commands, flags
// and working directories are the Taskfile's. Our fixtures stand in for
// what the scenario builds with docker buildx and pulls from docker.io.
// Every top-level name starts with sv.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"sigs.k8s.io/yaml"
)

const (
	svProduct  = "acme.org/sovereign/product"
	svNotes    = "acme.org/sovereign/notes"
	svPostgres = "acme.org/sovereign/postgres"
	// svPostgresVersion is the Taskfile's POSTGRES_VERSION: the image tag.
	svPostgresVersion = "18"
)

// svScenario is the scenario directory: components/{notes,postgres,product}
// with their constructors and deploy files, tmp/ for keys and archives.
type svScenario struct {
	dir string
	// notesRoot is the digest of the notes image built for each version.
	notesRoot map[string]digest.Digest
	// postgresDigest is the manifest digest of postgres:18 in the public
	// registry of each round.
	postgresDigest map[string]digest.Digest
}

func (s *svScenario) path(p ...string) string {
	return filepath.Join(append([]string{s.dir}, p...)...)
}

// svWriteScenario writes the scenario's files. The constructors are the
// scenario's, with docker.io replaced by the public registry standing in
// for it (${DOCKER_IO}, set per round).
func svWriteScenario(t *testing.T) *svScenario {
	s := &svScenario{dir: t.TempDir(), notesRoot: map[string]digest.Digest{}, postgresDigest: map[string]digest.Digest{}}
	files := map[string]string{
		"components/notes/component-constructor.yaml": `# sovereign-notes: the service image (built from source into an OCI
# layout), its chart and API descriptions, all stored by value.
components:
  - name: "${NAME}"
    version: "${VERSION}"
    provider:
      name: ocm.software/sovereign
    resources:
      - name: image
        type: ociImage
        relation: local
        version: "${VERSION}"
        input:
          type: file
          mediaType: application/vnd.ocm.software.oci.layout.v1+tar+gzip
          path: "${OCI_LAYOUT}"
      - name: helm-chart
        type: helmChart
        relation: local
        input:
          type: helm
          path: ./deploy/chart
      - name: openapi-spec
        type: blob
        relation: local
        input:
          type: file
          path: ./deploy/openapi/spec.yaml
          mediaType: application/vnd.oai.openapi+yaml
      - name: ord-document
        type: blob
        relation: local
        input:
          type: file
          path: ./deploy/ord/document.json
          mediaType: application/vnd.open-resource-discovery.v1+json
`,
		"components/postgres/component-constructor.yaml": `# PostgreSQL: the public image by reference, the chart by value.
components:
  - name: "${NAME}"
    version: "${VERSION}"
    provider:
      name: ocm.software/sovereign
    resources:
      - name: image
        type: ociImage
        version: "${POSTGRES_VERSION}"
        access:
          type: ociArtifact
          imageReference: ${DOCKER_IO}/library/postgres:${POSTGRES_VERSION}
      - name: helm-chart
        type: helmChart
        relation: local
        input:
          type: helm
          path: ./deploy/chart
`,
		"components/product/component-constructor.yaml": `# The product: both services by reference, and the graph that deploys them.
components:
  - name: "${NAME}"
    version: "${VERSION}"
    provider:
      name: ocm.software/sovereign
    componentReferences:
      - name: notes
        componentName: acme.org/sovereign/notes
        version: "${VERSION}"
      - name: postgres
        componentName: acme.org/sovereign/postgres
        version: "${VERSION}"
    resources:
      - name: product-rgd
        type: blob
        relation: local
        input:
          type: file
          path: ./deploy/rgd.yaml
          mediaType: application/vnd.cncf.kro.resourcegraphdefinition.v1+yaml
`,
		// The signing and verification configs as the scenario has them:
		// only credentials, the key files relative to the working directory.
		"components/product/config/sign.yaml": `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
    - identity:
        type: RSA/v1alpha1
        algorithm: RSASSA-PSS
        signature: default
      credentials:
        - type: Credentials/v1
          properties:
            private_key_pem_file: ../../tmp/keys/acme-private.pem
`,
		"components/product/config/verify.yaml": `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
    - identity:
        type: RSA/v1alpha1
        algorithm: RSASSA-PSS
        signature: default
      credentials:
        - type: Credentials/v1
          properties:
            public_key_pem_file: ../../tmp/keys/acme-public.pem
`,
		"components/product/deploy/rgd.yaml": `apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: sovereign-product
spec:
  schema:
    apiVersion: v1alpha1
    kind: SovereignProduct
    spec:
      version: string | default="1.0.0"
  resources:
    - id: notesComponent
      template:
        apiVersion: delivery.ocm.software/v1alpha1
        kind: Component
        metadata:
          name: sovereign-notes
        spec:
          component: acme.org/sovereign/notes
          semver: ${schema.spec.version}
`,
		"components/notes/deploy/openapi/spec.yaml": `openapi: 3.0.3
info:
  title: Notes
  version: 1.0.0
paths:
  /readyz:
    get:
      responses:
        '200':
          description: ready
  /notes:
    get:
      responses:
        '200':
          description: all notes
`,
		"components/notes/deploy/ord/document.json": `{"openResourceDiscovery":"1.9","apiResources":[{"ordId":"acme:apiResource:notes:v1","title":"Notes API","resourceDefinitions":[{"type":"openapi-v3","mediaType":"application/vnd.oai.openapi+yaml","url":"/openapi/spec.yaml"}]}]}
`,
	}
	for _, c := range []struct{ component, chart, appVersion, template string }{
		{"notes", "sovereign-notes", "1.0.0", "kind: Deployment\n"},
		{"postgres", "sovereign-postgres", svPostgresVersion, "kind: StatefulSet\n"},
	} {
		base := "components/" + c.component + "/deploy/chart/"
		files[base+"Chart.yaml"] = "apiVersion: v2\nname: " + c.chart + "\ntype: application\nversion: 1.0.0\nappVersion: \"" + c.appVersion + "\"\n"
		files[base+"values.yaml"] = "replicaCount: 1\nimage:\n  repository: " + c.component + "\n"
		files[base+"templates/_helpers.tpl"] = `{{- define "` + c.chart + `.name" -}}{{ .Chart.Name }}{{- end -}}` + "\n"
		files[base+"templates/workload.yaml"] = "apiVersion: apps/v1\n" + c.template +
			"metadata:\n  name: {{ include \"" + c.chart + ".name\" . }}\nspec:\n  replicas: {{ .Values.replicaCount }}\n"
		files[base+"templates/service.yaml"] = "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ include \"" + c.chart + ".name\" . }}\n"
	}
	for p, data := range files {
		testutil.WriteFile(t, s.path(p), []byte(data), 0o644)
	}
	return s
}

// svNotesLayout writes what `docker buildx build --output type=oci,dest=…`
// writes for one platform: an (uncompressed) tar of an OCI image layout
// whose index.json lists an image index holding the image manifest and a
// provenance attestation manifest. It returns the image index's digest.
func svNotesLayout(t *testing.T, dest, version string) digest.Digest {
	t.Helper()
	blobs := map[digest.Digest][]byte{}
	add := func(mediaType string, data []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
		blobs[d.Digest] = data
		return d
	}
	manifest := func(m ocispec.Manifest) []byte {
		m.Versioned, m.MediaType = specs.Versioned{SchemaVersion: 2}, ocispec.MediaTypeImageManifest
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	var layer bytes.Buffer
	zw := gzip.NewWriter(&layer)
	tw := tar.NewWriter(zw)
	bin := []byte("sovereign-notes " + version + "\n")
	tw.WriteHeader(&tar.Header{Name: "app/sovereign-notes", Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg})
	tw.Write(bin)
	tw.Close()
	zw.Close()
	platform := &ocispec.Platform{Architecture: "amd64", OS: "linux"}
	cfg := add(ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux","config":{"Cmd":["./sovereign-notes"],"WorkingDir":"/app"},"rootfs":{"type":"layers","diff_ids":[]}}`))
	img := add(ocispec.MediaTypeImageManifest, manifest(ocispec.Manifest{Config: cfg, Layers: []ocispec.Descriptor{add(ocispec.MediaTypeImageLayerGzip, layer.Bytes())}}))
	img.Platform = platform
	att := add(ocispec.MediaTypeImageManifest, manifest(ocispec.Manifest{
		Config: add(ocispec.MediaTypeImageConfig, []byte(`{"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]}}`)),
		Layers: []ocispec.Descriptor{add("application/vnd.in-toto+json", []byte(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2"}`))},
	}))
	att.Platform = &ocispec.Platform{Architecture: "unknown", OS: "unknown"}
	att.Annotations = map[string]string{"vnd.docker.reference.digest": img.Digest.String(), "vnd.docker.reference.type": "attestation-manifest"}
	idx, err := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{img, att}})
	if err != nil {
		t.Fatal(err)
	}
	root := add(ocispec.MediaTypeImageIndex, idx)
	root.Annotations = map[string]string{"io.containerd.image.name": "docker.io/library/" + version + ":latest", ocispec.AnnotationRefName: "latest"}
	top, _ := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{root}})

	var out bytes.Buffer
	w := tar.NewWriter(&out)
	put := func(name string, data []byte) {
		if err := w.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	put(ocispec.ImageLayoutFile, []byte(`{"imageLayoutVersion":"1.0.0"}`))
	put(ocispec.ImageIndexFile, top)
	var ds []string
	for d := range blobs {
		ds = append(ds, d.String())
	}
	sort.Strings(ds)
	for _, d := range ds {
		put("blobs/sha256/"+strings.TrimPrefix(d, "sha256:"), blobs[digest.Digest(d)])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, dest, out.Bytes(), 0o644)
	return root.Digest
}

// svRegistry is an olareg on 127.0.0.1 that the test can stop early.
func svRegistry(t *testing.T) (host string, stop func()) {
	srv := httptest.NewServer(olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), srv.Close
}

// svKeys is product:keys: an RSA 4096 key pair as `openssl genpkey` and
// `openssl rsa -pubout` write it (PKCS#8, PKIX), in tmp/keys.
func svKeys(t *testing.T, s *svScenario) {
	key, err := rsa.GenerateKey(rand.Reader, 4096)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, s.path("tmp/keys/acme-private.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv}), 0o644)
	testutil.WriteFile(t, s.path("tmp/keys/acme-public.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}

// svIn runs the CLI in dir (the Taskfile's `dir:` for a task).
func svIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	t.Chdir(dir)
	return agRun(t, args...)
}

// svBuildProduct is build:product (build:notes, build:postgres, then the
// product, signed) into the transport archive ctf.
func svBuildProduct(t *testing.T, s *svScenario, ctf, version string) {
	t.Helper()
	t.Setenv("VERSION", version)
	t.Setenv("POSTGRES_VERSION", svPostgresVersion)

	t.Setenv("NAME", svNotes)
	t.Setenv("OCI_LAYOUT", "./deploy/notes.tar.gz")
	layout := s.path("components/notes/deploy/notes.tar.gz")
	s.notesRoot[version] = svNotesLayout(t, layout, version)
	svIn(t, s.path("components/notes"), "add", "componentversion", "--repository", ctf,
		"--component-version-conflict-policy=replace", "--constructor", "component-constructor.yaml")
	// The Taskfile removes the layout once added: the archive holds the image.
	if err := os.Remove(layout); err != nil {
		t.Fatal(err)
	}

	t.Setenv("NAME", svPostgres)
	svIn(t, s.path("components/postgres"), "add", "componentversion", "--repository", ctf,
		"--component-version-conflict-policy=replace", "--constructor", "component-constructor.yaml")

	if _, err := os.Stat(s.path("tmp/keys/acme-private.pem")); err != nil {
		svKeys(t, s)
	}
	t.Setenv("NAME", svProduct)
	svIn(t, s.path("components/product"), "add", "componentversion", "--repository", ctf,
		"--component-version-conflict-policy=replace", "--constructor", "component-constructor.yaml")
	svIn(t, s.path("components/product"), "--config", "./config/sign.yaml", "sign", "componentversion", ctf+"//"+svProduct+":"+version)
}

// svVerify is the Taskfile's verify task (in components/product with
// config/verify.yaml). Every resource of the product and of the components
// it references must have been re-hashed: nothing taken on trust.
func svVerify(t *testing.T, s *svScenario, ref string) {
	t.Helper()
	out := svIn(t, s.path("components/product"), "--config", "./config/verify.yaml", "verify", "componentversion", ref)
	if strings.Contains(out, "not checked") {
		t.Errorf("verify %s left content unchecked:\n%s", ref, out)
	}
	version := ref[strings.LastIndex(ref, ":")+1:]
	product := svProduct + ":" + version
	want := map[string]string{
		product + " signature default (RSASSA-PSS)": "verified",
		product + " reference name=notes":           "ok",
		product + " reference name=postgres":        "ok",
	}
	// The signature covers the references' digests, and those cover every
	// resource of notes and postgres: each is re-hashed too.
	for cv, names := range svResources {
		for _, name := range names {
			want[cv+":"+version+" resource name="+name] = "ok"
		}
	}
	for check, result := range want {
		cv, what, _ := strings.Cut(check, " ")
		if !svCheckLine(out, cv, what, result) {
			t.Errorf("verify %s: no %q with %s:\n%s", ref, check, result, out)
		}
	}
}

// svCheckLine reports whether a verify table has a line for component
// version cv whose check starts with check and whose result is result.
func svCheckLine(out, cv, check, result string) bool {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 2 && f[0] == cv && strings.HasPrefix(strings.Join(f[1:len(f)-1], " "), check) {
			return f[len(f)-1] == result
		}
	}
	return false
}

var svResources = map[string][]string{
	svNotes:    {"image", "helm-chart", "openapi-spec", "ord-document"},
	svPostgres: {"image", "helm-chart"},
	svProduct:  {"product-rgd"},
}

// svDownloads downloads every resource of the three components (images as
// OCI layout tars, charts through the helm transformer).
func svDownloads(t *testing.T, repo, version string) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	for cv, names := range svResources {
		for _, name := range names {
			got[cv+" "+name] = extDownload(t, repo+"//"+cv+":"+version, name)
		}
	}
	return got
}

// svCheckSources checks downloads against what went in: the files byte for
// byte, the images by their root digest (all blobs present), the charts'
// files as written.
func svCheckSources(t *testing.T, s *svScenario, got map[string][]byte, version string) {
	t.Helper()
	for key, file := range map[string]string{
		svNotes + " openapi-spec":  "components/notes/deploy/openapi/spec.yaml",
		svNotes + " ord-document":  "components/notes/deploy/ord/document.json",
		svProduct + " product-rgd": "components/product/deploy/rgd.yaml",
	} {
		want, err := os.ReadFile(s.path(file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[key], want) {
			t.Errorf("%s: %d bytes, want %s (%d bytes)", key, len(got[key]), file, len(want))
		}
	}
	svCheckImage(t, svNotes+" image", got[svNotes+" image"], s.notesRoot[version], 7)
	svCheckImage(t, svPostgres+" image", got[svPostgres+" image"], s.postgresDigest[version], 3)
	for _, c := range []struct{ cv, component, chart string }{
		{svNotes, "notes", "sovereign-notes"},
		{svPostgres, "postgres", "sovereign-postgres"},
	} {
		tgz := acvTarFiles(t, got[c.cv+" helm-chart"])[c.chart+"-1.0.0.tgz"]
		if tgz == nil {
			t.Errorf("%s helm-chart: no %s-1.0.0.tgz in %v", c.cv, c.chart, acvTarListing(t, got[c.cv+" helm-chart"]))
			continue
		}
		files := acvTarFiles(t, acvGunzip(t, tgz))
		for _, f := range []string{"Chart.yaml", "values.yaml", "templates/_helpers.tpl", "templates/workload.yaml", "templates/service.yaml"} {
			want, err := os.ReadFile(s.path("components", c.component, "deploy/chart", f))
			if err != nil {
				t.Fatal(err)
			}
			got := files[c.chart+"/"+f]
			if f == "Chart.yaml" {
				// Packaging rewrites Chart.yaml as Helm does: same fields.
				got, want = svYAML(t, got), svYAML(t, want)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s helm-chart: %s/%s differs from the chart directory's", c.cv, c.chart, f)
			}
		}
	}
}

// svYAML is data's YAML as canonical JSON.
func svYAML(t *testing.T, data []byte) []byte {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return out
}

// svCheckImage checks a downloaded OCI layout tar: index.json lists root,
// and it holds blobs (each hashing to its name).
func svCheckImage(t *testing.T, what string, data []byte, root digest.Digest, blobs int) {
	t.Helper()
	files := acvTarFiles(t, data)
	var index ocispec.Index
	if err := json.Unmarshal(files["index.json"], &index); err != nil {
		t.Errorf("%s: index.json: %v", what, err)
		return
	}
	if len(index.Manifests) != 1 || index.Manifests[0].Digest != root {
		t.Errorf("%s: index.json lists %+v, want %s", what, index.Manifests, root)
	}
	n := 0
	for name, b := range files {
		if hex, ok := strings.CutPrefix(name, "blobs/sha256/"); ok {
			if digest.FromBytes(b).Encoded() != hex {
				t.Errorf("%s: blob %s does not hash to its name", what, name)
			}
			n++
		}
	}
	if n != blobs {
		t.Errorf("%s: %d blobs, want %d", what, n, blobs)
	}
}

func TestSovereignScenario(t *testing.T) {
	s := svWriteScenario(t)
	// The cluster's registry (registry:5000 in the scenario) outlives the
	// rounds; the public registry and the developer's archives do not.
	cluster, _ := svRegistry(t)
	for _, version := range []string{"1.0.0", "1.1.0"} { // task run, then task upgrade
		t.Run(version, func(t *testing.T) {
			// docker.io, reachable from the developer's workstation only.
			dockerIO, stopDockerIO := svRegistry(t)
			t.Setenv("DOCKER_IO", dockerIO)
			s.postgresDigest[version] = crPushImage(t, dockerIO, "library/postgres", svPostgresVersion, "postgres "+svPostgresVersion+" for "+version)
			ctf := s.path("tmp/transport-archive-" + version)
			airgap := s.path("tmp/airgap-archive-" + version + ".tgz")

			svBuildProduct(t, s, ctf, version)
			// add cv pinned the image it found by tag and recorded its digest.
			pg := sgGetCV(t, ctf+"//"+svPostgres+":"+version)
			if acc := crAccess(t, pg, "image"); acc["imageReference"] != dockerIO+"/library/postgres:18@"+s.postgresDigest[version].String() {
				t.Errorf("postgres image access %v, want the tag pinned to %s", acc, s.postgresDigest[version])
			}
			if r := acvFindResource(t, pg, "image", nil); r.Digest == nil || r.Digest.NormalisationAlgorithm != "genericBlobDigest/v1" || "sha256:"+r.Digest.Value != s.postgresDigest[version].String() {
				t.Errorf("postgres image digest %+v, want genericBlobDigest/v1 %s", r.Digest, s.postgresDigest[version])
			}
			notes := acvFindResource(t, sgGetCV(t, ctf+"//"+svNotes+":"+version), "image", nil)
			if notes.Digest == nil || "sha256:"+notes.Digest.Value != s.notesRoot[version].String() {
				t.Errorf("notes image digest %+v, want the layout's image index %s", notes.Digest, s.notesRoot[version])
			}
			source := svDownloads(t, ctf, version)
			svCheckSources(t, s, source, version)

			// transfer:airgap: verify, then copy everything into the archive.
			svVerify(t, s, ctf+"//"+svProduct+":"+version)
			svIn(t, s.dir, "transfer", "cv", "--copy-resources", "--recursive", ctf+"//"+svProduct+":"+version, airgap)

			// Across the gap: neither docker.io nor the transport archive.
			stopDockerIO()
			if err := os.RemoveAll(ctf); err != nil {
				t.Fatal(err)
			}
			for cv := range svResources {
				for _, r := range sgGetCV(t, "ctf::"+airgap+"//"+cv+":"+version).Component.Resources {
					if !r.Access.IsLocalBlob() {
						t.Errorf("%s resource %s in the air-gap archive: access %s, want a local blob", cv, r.Name, r.Access.Type)
					}
				}
			}
			svVerify(t, s, "ctf::"+airgap+"//"+svProduct+":"+version)

			// cluster:import, and what the cluster's Component verifies.
			svIn(t, s.dir, "transfer", "cv", "--copy-resources", "--recursive", airgap+"//"+svProduct+":"+version, "http://"+cluster)
			if err := os.Remove(airgap); err != nil {
				t.Fatal(err)
			}
			svVerify(t, s, "http://"+cluster+"//"+svProduct+":"+version)
			imported := svDownloads(t, "http://"+cluster, version)
			for key, want := range source {
				if !bytes.Equal(imported[key], want) {
					t.Errorf("%s: %d bytes from the cluster registry, %d from the transport archive", key, len(imported[key]), len(want))
				}
			}
			svCheckSources(t, s, imported, version)
		})
	}
	// After the upgrade both versions are in the cluster registry and verify.
	svVerify(t, s, "http://"+cluster+"//"+svProduct+":1.0.0")
	if cd := sgGetCV(t, "http://"+cluster+"//"+svNotes+":1.1.0"); acvFindResource(t, cd, "image", nil).Digest.Value != s.notesRoot["1.1.0"].Encoded() {
		t.Errorf("notes 1.1.0 in the cluster registry does not carry the 1.1.0 image")
	}
}
