package main

// Every component constructor of the reference OCM v2 docs
// (website/content/docs) that can be built without network, copied
// verbatim into testdata/refdocs/<doc>-<n>.yaml, is built with `ocm add cv`
// and checked against the identities, types, accesses and digests it must
// produce. Constructors whose resources are given by access to public
// registries are built with --skip-reference-digest-processing: the access
// is recorded as written and carries no digest, so signing them must be
// refused with an error naming the resource; the others are signed and
// verified.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/descriptor"
)

type refdocResource struct {
	name, version, typ string
	accessType         string
	// imageReference, when set, is the reference the access must keep as
	// written in the doc (the resource was not resolved).
	imageReference string
	// digestOf names a testdata/refdocs file whose sha256 is the
	// resource's genericBlobDigest/v1; empty means no digest is recorded.
	digestOf string
	// content, when set, is the exact blob whose sha256 is the digest.
	content string
	// recorded is a digest value checked by hand once (tar archives of
	// directories and Helm chart manifests, whose bytes the CLI produces).
	recorded string
	// mediaType of a LocalBlob/v1 access.
	mediaType string
}

type refdocComponent struct {
	name, version, provider string
	resources               []refdocResource
	// references are name=componentName:version of componentReferences.
	references []string
}

type refdocCase struct {
	file       string
	skipRefs   bool
	components []refdocComponent
	// noSign says why signing is not attempted: it would fetch resource
	// content from a public host to check it.
	noSign string
	// unresolved maps a component version to the resource that signing
	// must name when it refuses (for an aggregator: the first unresolved
	// resource of its references); versions not in it must sign and verify.
	unresolved map[string]string
}

func podinfo(name, version, typ, ref string) refdocResource {
	return refdocResource{name: name, version: version, typ: typ, accessType: "OCIImage/v1", imageReference: ref}
}

// ociManifest is the manifest of testdata/refdocs/oci-layout (the only
// manifest of its index.json).
const ociManifest = "oci-layout/blobs/sha256/da98e0eceae451141d16e3dd2aecc8ed987d551de9c14aa7a19277e86e352b40"

var refdocCases = []refdocCase{
	{
		// getting-started/create-component-version.md, "Define the component".
		file: "create-component-version-1.yaml", skipRefs: true,
		components: []refdocComponent{{name: "github.com/acme.org/helloworld", version: "1.0.0", provider: "acme.org", resources: []refdocResource{
			{name: "mylocalfile", version: "1.0.0", typ: "blob", accessType: "LocalBlob/v1", digestOf: "my-local-resource.txt", mediaType: "text/plain; charset=utf-8"},
			podinfo("image", "1.0.0", "ociImage", "ghcr.io/stefanprodan/podinfo:6.9.1"),
		}}},
		unresolved: map[string]string{"github.com/acme.org/helloworld:1.0.0": "image"},
	},
	{
		// getting-started/deploy-helm-chart.md: the chart is pinned by
		// digest, which becomes the resource digest without a fetch.
		file: "deploy-helm-chart-1.yaml", skipRefs: true,
		components: []refdocComponent{{name: "ocm.software/ocm-k8s-toolkit/simple", version: "1.0.0", provider: "ocm.software", resources: []refdocResource{
			{name: "helm-resource", version: "1.0.0", typ: "helmChart", accessType: "OCIImage/v1",
				imageReference: "ghcr.io/stefanprodan/charts/podinfo:6.11.1@sha256:a9b2804ec61795a7457b2303bf9efbc5fba51f856c3945f3bb0af68bf3b35afd",
				recorded:       "a9b2804ec61795a7457b2303bf9efbc5fba51f856c3945f3bb0af68bf3b35afd"},
		}}},
		noSign: "signing checks the chart's manifest in ghcr.io",
	},
	{
		// how-to/add-and-verify-ownership.md; <your-org> is the doc's
		// placeholder, kept verbatim (an unresolved access is not parsed).
		file: "add-and-verify-ownership-1.yaml", skipRefs: true,
		components: []refdocComponent{{name: "ocm.software/ownership-demo", version: "1.0.0", provider: "ocm.software", resources: []refdocResource{
			podinfo("backend", "1.0.0", "ociArtifact", "ghcr.io/stefanprodan/podinfo:6.7.1"),
			podinfo("backend-ref", "1.0.0", "ociArtifact", "ghcr.io/<your-org>/podinfo:6.7.1"),
		}}},
		unresolved: map[string]string{"ocm.software/ownership-demo:1.0.0": "backend"},
	},
	{
		// how-to/container-image-usage.md.
		file: "container-image-usage-1.yaml", skipRefs: true,
		components: []refdocComponent{{name: "ocm.software/how-to-container-image-usage", version: "1.0.0", provider: "test.domain", resources: []refdocResource{
			podinfo("image", "1.0.0", "ociImage", "ghcr.io/stefanprodan/podinfo:6.7.1"),
		}}},
		unresolved: map[string]string{"ocm.software/how-to-container-image-usage:1.0.0": "image"},
	},
	{
		// how-to/model-products.md: the services heredoc plus the appended
		// product heredoc (`cat >>`), as the doc builds the file.
		file: "model-products-1.yaml", skipRefs: true,
		components: []refdocComponent{
			{name: "ocm.software/how-to/backend", version: "3.1.0", provider: "ocm.software", resources: []refdocResource{podinfo("image", "3.1.0", "ociImage", "ghcr.io/stefanprodan/podinfo:6.9.0")}},
			{name: "ocm.software/how-to/frontend", version: "1.5.0", provider: "ocm.software", resources: []refdocResource{podinfo("image", "1.5.0", "ociImage", "ghcr.io/stefanprodan/podinfo:6.9.1")}},
			{name: "ocm.software/how-to/cache", version: "2.0.0", provider: "ocm.software", resources: []refdocResource{podinfo("image", "7.2.4", "ociImage", "docker.io/library/redis:7.2.4")}},
			{name: "ocm.software/how-to/product", version: "2.0.0", provider: "ocm.software", references: []string{
				"backend=ocm.software/how-to/backend:3.1.0", "frontend=ocm.software/how-to/frontend:1.5.0", "cache=ocm.software/how-to/cache:2.0.0"}},
		},
		unresolved: map[string]string{"ocm.software/how-to/backend:3.1.0": "image", "ocm.software/how-to/frontend:1.5.0": "image",
			"ocm.software/how-to/cache:2.0.0": "image", "ocm.software/how-to/product:2.0.0": "image"},
	},
	{
		// how-to/model-products.md, the backend patch release.
		file: "model-products-2.yaml", skipRefs: true,
		components: []refdocComponent{
			{name: "ocm.software/how-to/backend", version: "3.2.0", provider: "ocm.software", resources: []refdocResource{podinfo("image", "3.2.0", "ociImage", "ghcr.io/stefanprodan/podinfo:6.9.1")}},
			{name: "ocm.software/how-to/frontend", version: "1.5.0", provider: "ocm.software", resources: []refdocResource{podinfo("image", "1.5.0", "ociImage", "ghcr.io/stefanprodan/podinfo:6.9.1")}},
			{name: "ocm.software/how-to/cache", version: "2.0.0", provider: "ocm.software", resources: []refdocResource{podinfo("image", "7.2.4", "ociImage", "docker.io/library/redis:7.2.4")}},
			{name: "ocm.software/how-to/product", version: "2.1.0", provider: "ocm.software", references: []string{
				"backend=ocm.software/how-to/backend:3.2.0", "frontend=ocm.software/how-to/frontend:1.5.0", "cache=ocm.software/how-to/cache:2.0.0"}},
		},
		unresolved: map[string]string{"ocm.software/how-to/backend:3.2.0": "image", "ocm.software/how-to/frontend:1.5.0": "image",
			"ocm.software/how-to/cache:2.0.0": "image", "ocm.software/how-to/product:2.1.0": "image"},
	},
	{
		// tutorials/signing/plain.md (also the start of pem.md and gpg.md).
		file:       "signing-plain-1.yaml",
		components: []refdocComponent{{name: "github.com/acme.org/helloworld", version: "1.0.0", provider: "acme.org"}},
	},
	{
		// how-to/transfer-helm-charts.md: a chart in a Helm repository.
		file: "transfer-helm-charts-1.yaml", skipRefs: true,
		components: []refdocComponent{{name: "example.com/my-app", version: "1.0.0", provider: "example.com", resources: []refdocResource{
			{name: "my-chart", version: "1.0.0", typ: "helmChart", accessType: "Helm/v1"},
		}}},
		unresolved: map[string]string{"example.com/my-app:1.0.0": "my-chart"},
	},
	{
		// tutorials/working-with-oci: an OCI image layout directory
		// (dir/v1 with the OCI layout media type) is stored as its manifest.
		file: "working-with-oci-1.yaml",
		components: []refdocComponent{{name: "github.com/acme.org/native-oci-demo", version: "1.0.0", provider: "acme.org", resources: []refdocResource{
			{name: "my-oci-artifact", version: "1.0.0", typ: "ociArtifact", accessType: "LocalBlob/v1", digestOf: ociManifest, mediaType: "application/vnd.oci.image.manifest.v1+json"},
		}}},
	},
	{
		// tutorials/working-with-oci: the legacy access type name
		// ociArtifact is kept as written.
		file: "working-with-oci-2.yaml", skipRefs: true,
		components: []refdocComponent{{name: "github.com/acme.org/transfer-demo", version: "1.0.0", provider: "acme.org", resources: []refdocResource{
			{name: "app-image", version: "1.0.0", typ: "ociImage", accessType: "ociArtifact", imageReference: "ghcr.io/stefanprodan/podinfo:6.9.1"},
		}}},
		unresolved: map[string]string{"github.com/acme.org/transfer-demo:1.0.0": "app-image"},
	},
	{
		// tutorials/working-with-oci, "Create the component constructor"
		// after fetching with ORAS; our layout stands in for podinfo's.
		file: "working-with-oci-3.yaml",
		components: []refdocComponent{{name: "github.com/acme.org/fetched-oci-demo", version: "1.0.0", provider: "acme.org", resources: []refdocResource{
			{name: "app-image", version: "1.0.0", typ: "ociArtifact", accessType: "LocalBlob/v1", digestOf: ociManifest, mediaType: "application/vnd.oci.image.manifest.v1+json"},
		}}},
	},
}

func TestRefDocsConstructors(t *testing.T) {
	cfg, pub := agSigningConfig(t)
	for _, tc := range refdocCases {
		t.Run(strings.TrimSuffix(tc.file, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "refdocs", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), "components:") {
				t.Fatalf("%s is not a constructor", tc.file)
			}
			archive := "ctf::" + filepath.Join(t.TempDir(), "ctf")
			args := []string{"add", "cv", "--constructor", filepath.Join("testdata", "refdocs", tc.file), "--repository", archive}
			if tc.skipRefs {
				args = append(args, "--skip-reference-digest-processing")
			}
			if _, stderr, err := run(t, args...); err != nil {
				t.Fatalf("ocm add cv %s: %v\n%s", tc.file, err, stderr)
			}
			for _, want := range tc.components {
				cv := want.name + ":" + want.version
				cd := sgGetCV(t, archive+"//"+cv)
				checkRefdocComponent(t, cd, want)
				if tc.noSign != "" {
					continue
				}
				if res, ok := tc.unresolved[cv]; ok {
					_, stderr, err := run(t, "--config", cfg, "sign", "cv", archive+"//"+cv)
					if err == nil {
						t.Errorf("sign %s succeeded with unresolved resources", cv)
					} else if msg := err.Error() + stderr; !strings.Contains(msg, "name="+res) || !strings.Contains(msg, "no digest") {
						t.Errorf("sign %s: error does not name unresolved resource %s:\n%s", cv, res, msg)
					}
					continue
				}
				if _, stderr, err := run(t, "--config", cfg, "sign", "cv", archive+"//"+cv); err != nil {
					t.Fatalf("sign %s: %v\n%s", cv, err, stderr)
				}
				out, stderr, err := run(t, "verify", "cv", archive+"//"+cv, "--public-key", pub)
				if err != nil || !strings.Contains(out, "verified") || strings.Contains(out, "not checked") {
					t.Fatalf("verify %s: %v\n%s%s", cv, err, out, stderr)
				}
			}
		})
	}
}

func checkRefdocComponent(t *testing.T, cd *descriptor.Descriptor, want refdocComponent) {
	t.Helper()
	c := cd.Component
	id := want.name + ":" + want.version
	if c.Name != want.name || c.Version != want.version {
		t.Errorf("component %s:%s, want %s", c.Name, c.Version, id)
	}
	if got := string(c.Provider); got != want.provider {
		t.Errorf("%s: provider %q, want %q", id, got, want.provider)
	}
	if len(c.Resources) != len(want.resources) {
		t.Fatalf("%s: %d resources, want %d", id, len(c.Resources), len(want.resources))
	}
	for i, w := range want.resources {
		r := c.Resources[i]
		if r.Name != w.name || r.Version != w.version || len(r.ExtraIdentity) != 0 {
			t.Errorf("%s: resource %d identity name=%s version=%s extra=%v, want name=%s version=%s", id, i, r.Name, r.Version, r.ExtraIdentity, w.name, w.version)
		}
		if r.Type != w.typ {
			t.Errorf("%s: resource %s type %q, want %q", id, w.name, r.Type, w.typ)
		}
		if r.Access == nil || r.Access.Type != w.accessType {
			t.Fatalf("%s: resource %s access %v, want type %s", id, w.name, r.Access, w.accessType)
		}
		var access map[string]any
		if err := json.Unmarshal(r.Access.Raw, &access); err != nil {
			t.Fatal(err)
		}
		if w.imageReference != "" && access["imageReference"] != w.imageReference {
			t.Errorf("%s: resource %s imageReference %v, want %s as written", id, w.name, access["imageReference"], w.imageReference)
		}
		if w.mediaType != "" && access["mediaType"] != w.mediaType {
			t.Errorf("%s: resource %s mediaType %v, want %s", id, w.name, access["mediaType"], w.mediaType)
		}
		var value string
		switch {
		case w.digestOf != "":
			blob, err := os.ReadFile(filepath.Join("testdata", "refdocs", w.digestOf))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(blob)
			value = hex.EncodeToString(sum[:])
		case w.content != "":
			sum := sha256.Sum256([]byte(w.content))
			value = hex.EncodeToString(sum[:])
		case w.recorded != "":
			value = w.recorded
		default:
			if r.Digest != nil {
				t.Errorf("%s: resource %s has digest %+v, want none (reference not resolved)", id, w.name, *r.Digest)
			}
			continue
		}
		wantDigest := descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "genericBlobDigest/v1", Value: value}
		if r.Digest == nil || *r.Digest != wantDigest {
			t.Errorf("%s: resource %s digest %+v, want %+v", id, w.name, r.Digest, wantDigest)
		}
		if w.accessType == "LocalBlob/v1" && access["localReference"] != "sha256:"+wantDigest.Value {
			t.Errorf("%s: resource %s localReference %v, want sha256:%s", id, w.name, access["localReference"], wantDigest.Value)
		}
	}
	var refs []string
	for _, r := range c.References {
		refs = append(refs, r.Name+"="+r.ComponentName+":"+r.Version)
		if r.Digest == nil || r.Digest.NormalisationAlgorithm != "jsonNormalisation/v4alpha1" || len(r.Digest.Value) != 64 {
			t.Errorf("%s: reference %s digest %+v, want a jsonNormalisation/v4alpha1 digest", id, r.Name, r.Digest)
		}
	}
	if strings.Join(refs, " ") != strings.Join(want.references, " ") {
		t.Errorf("%s: references %v, want %v", id, refs, want.references)
	}
}

// Resource snippets of the docs (a `resources:` list without the component
// around it, copied verbatim into testdata/refdocs/fragments) are built in a
// minimal component ocm.software/refdocs/<fragment>:1.0.0 next to a copy of
// the input files, so the relative paths resolve as in the docs.
var refdocFragments = []struct {
	file     string
	resource refdocResource
	// sourceDateEpoch: the input is packaged like `helm package`, which
	// records file modification times unless SOURCE_DATE_EPOCH clamps them.
	sourceDateEpoch bool
	// skipRefs and noSign as in refdocCase.
	skipRefs bool
	noSign   string
}{
	// getting-started/create-component-version.md, tab "Local File".
	{file: "create-component-version-file.yaml", resource: refdocResource{name: "config", version: "1.0.0", typ: "blob", accessType: "LocalBlob/v1", digestOf: "config.yaml"}},
	// getting-started/create-component-version.md, tab "Helm Chart", local:
	// stored as an OCI Helm artifact, the digest is its manifest's.
	{file: "create-component-version-helm.yaml", sourceDateEpoch: true, resource: refdocResource{name: "chart", version: "1.0.0", typ: "helmChart", accessType: "LocalBlob/v1",
		recorded: "bc9387cb579541d9679b1c1fe0aff5bb9a4fd633b918a17229b172bab2c095f1", mediaType: "application/vnd.oci.image.manifest.v1+json"}},
	// getting-started/create-component-version.md, tab "Directory".
	{file: "create-component-version-dir.yaml", resource: refdocResource{name: "manifests", version: "1.0.0", typ: "blob", accessType: "LocalBlob/v1",
		recorded: "5fa660ef4aa85c25d0f4a0543e5821643e83ec478057fa54dfcb2a0cb22f469a", mediaType: "application/x-tar+gzip"}},
	// reference/input-and-access-types.md, Dir/v1.
	{file: "input-and-access-types-dir.yaml", resource: refdocResource{name: "deploy-manifests", version: "1.0.0", typ: "blob", accessType: "LocalBlob/v1",
		recorded: "6fb5328729d1fa8381fd0108939ae62c2737bbb0109aaa608df886beb1e2eca6", mediaType: "application/x-tar+gzip"}},
	// reference/input-and-access-types.md, File/v1.
	{file: "input-and-access-types-file.yaml", resource: refdocResource{name: "config", version: "1.0.0", typ: "blob", accessType: "LocalBlob/v1", digestOf: "config.yaml", mediaType: "application/yaml"}},
	// reference/input-and-access-types.md, "Embedding OCI Image Layouts":
	// the layout tar is stored as its manifest.
	{file: "input-and-access-types-oci-tar.yaml", resource: refdocResource{name: "my-oci-artifact", version: "1.0.0", typ: "ociArtifact", accessType: "LocalBlob/v1",
		digestOf: ociManifest, mediaType: "application/vnd.oci.image.manifest.v1+json"}},
	// reference/input-and-access-types.md, UTF8/v1 json: stored compact.
	{file: "input-and-access-types-utf8.yaml", resource: refdocResource{name: "config-data", version: "1.0.0", typ: "blob", accessType: "LocalBlob/v1",
		content: `{"env":"production","replicas":3}`, mediaType: "application/json"}},
	// how-to/add-resources-from-http-urls.md, "Pin a digest": a Wget/v1
	// access with the digest given in the constructor, kept as given.
	{file: "add-resources-from-http-urls-access.yaml", skipRefs: true, noSign: "signing fetches the URL to check the digest",
		resource: refdocResource{name: "ocm-cli", version: "1.0.0", typ: "blob", accessType: "Wget/v1",
			recorded: "6e3205bbad194f902ee8bdc5a712c47f7a5443fabfd066ef1e95088c837fe0ae"}},
	// reference/input-and-access-types.md, Helm/v1 "Local chart" (the
	// first of its three documents; the other two fetch charts over the
	// network). Like the reference CLI, the chart is stored as a local blob
	// and `repository` (docker.io/charts/myapp:1.0.0) is only validated and
	// named in a warning; nothing is contacted.
	{file: "input-and-access-types-helm.yaml", resource: refdocResource{name: "my-chart", version: "1.0.0", typ: "helmChart", accessType: "LocalBlob/v1",
		recorded: "bc9387cb579541d9679b1c1fe0aff5bb9a4fd633b918a17229b172bab2c095f1", mediaType: "application/vnd.oci.image.manifest.v1+json"},
		sourceDateEpoch: true},
}

func TestRefDocsFragments(t *testing.T) {
	cfg, pub := agSigningConfig(t)
	for _, tc := range refdocFragments {
		name := strings.TrimSuffix(tc.file, ".yaml")
		t.Run(name, func(t *testing.T) {
			// A fresh copy: new modification times, so recorded tar
			// digests also prove they do not depend on them.
			if tc.sourceDateEpoch {
				t.Setenv("SOURCE_DATE_EPOCH", "946684800")
			}
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "refdocs"))); err != nil {
				t.Fatal(err)
			}
			frag, err := os.ReadFile(filepath.Join(dir, "fragments", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(strings.Split(string(frag), "\n"), "resources:") {
				t.Fatalf("%s is not a resources snippet", tc.file)
			}
			component := "ocm.software/refdocs/" + name
			var b strings.Builder
			b.WriteString("components:\n- name: " + component + "\n  version: 1.0.0\n  provider:\n    name: ocm.software\n")
			for _, line := range strings.Split(strings.TrimRight(string(frag), "\n"), "\n") {
				b.WriteString("  " + line + "\n")
			}
			constructor := filepath.Join(dir, name+".yaml")
			if err := os.WriteFile(constructor, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			archive := "ctf::" + filepath.Join(t.TempDir(), "ctf")
			args := []string{"add", "cv", "--constructor", constructor, "--repository", archive}
			if tc.skipRefs {
				args = append(args, "--skip-reference-digest-processing")
			}
			if _, stderr, err := run(t, args...); err != nil {
				t.Fatalf("ocm add cv %s: %v\n%s", tc.file, err, stderr)
			}
			cv := component + ":1.0.0"
			cd := sgGetCV(t, archive+"//"+cv)
			checkRefdocComponent(t, cd, refdocComponent{name: component, version: "1.0.0", provider: "ocm.software", resources: []refdocResource{tc.resource}})
			if tc.noSign != "" {
				return
			}
			if _, stderr, err := run(t, "--config", cfg, "sign", "cv", archive+"//"+cv); err != nil {
				t.Fatalf("sign %s: %v\n%s", cv, err, stderr)
			}
			out, stderr, err := run(t, "verify", "cv", archive+"//"+cv, "--public-key", pub)
			if err != nil || !strings.Contains(out, "verified") || strings.Contains(out, "not checked") {
				t.Fatalf("verify %s: %v\n%s%s", cv, err, out, stderr)
			}
		})
	}
}
