package sbom_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/santhosh-tekuri/jsonschema/v6"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdxlib"

	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/sbom"
)

const (
	appDigest = "0e620fa8ae2390bd21cf081c6812cb06734ed8d8830564c2e8db6ecbc95c818b"
	libDigest = "a6f7a4eb5b4dc1fd061b5da0c1b5171f9d6cfa0898823667d8f534df6798f647"
	imagePURL = "pkg:oci/podinfo@sha256%3A262578cde928d5c9eba3bce079976444f624c13ed0afb741d90d5423877496cb?repository_url=ghcr.io/stefanprodan/podinfo&tag=6.9.1"
)

var opts = sbom.Options{ToolName: "ocm", ToolVersion: "test", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Serial: "0b9f1c5e-3a52-4d47-9a0e-1c2d3e4f5a6b"}

// interopGraph is app → lib from the reference CLI's signed archive.
func interopGraph(t *testing.T) []*repository.Node {
	t.Helper()
	spec, err := reference.ParseRepository("ctf::" + testutil.InteropCTF(t, testutil.Dir))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Open(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	root, err := repository.Graph(context.Background(), repo, "example.com/interop/app", "1.2.0", -1)
	if err != nil {
		t.Fatal(err)
	}
	return []*repository.Node{root}
}

// compile loads a schema and those it references, each file under its id.
func compile(t *testing.T, root string, files map[string]string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for id, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile(root)
	if err != nil {
		t.Fatalf("compiling %s: %v", root, err)
	}
	return s
}

// cycloneDXSchema is the 1.6 schema shipped in the cyclonedx-go module.
func cycloneDXSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/CycloneDX/cyclonedx-go").Output()
	if err != nil {
		t.Fatalf("locating the cyclonedx-go module: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "schema")
	const base = "http://cyclonedx.org/schema/"
	return compile(t, base+"bom-1.6.schema.json", map[string]string{
		base + "bom-1.6.schema.json":  filepath.Join(dir, "bom-1.6.schema.json"),
		base + "spdx.schema.json":     filepath.Join(dir, "spdx.schema.json"),
		base + "jsf-0.82.schema.json": filepath.Join(dir, "jsf-0.82.schemax.json"),
	})
}

func spdxSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	const id = "http://spdx.org/rdf/terms/2.3"
	return compile(t, id, map[string]string{id: filepath.Join("testdata", "spdx-2.3.schema.json")})
}

func validate(t *testing.T, s *jsonschema.Schema, doc []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(inst)
}

func sha256Hex(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestCycloneDXInterop(t *testing.T) {
	var buf bytes.Buffer
	if err := sbom.WriteCycloneDX(&buf, interopGraph(t), opts); err != nil {
		t.Fatal(err)
	}
	if err := validate(t, cycloneDXSchema(t), buf.Bytes()); err != nil {
		t.Fatalf("CycloneDX output does not validate against bom-1.6.schema.json: %v\n%s", err, buf.String())
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(buf.Bytes()), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatal(err)
	}
	if bom.SpecVersion != cdx.SpecVersion1_6 || bom.SerialNumber != "urn:uuid:"+opts.Serial || bom.Metadata.Timestamp != "2026-01-02T03:04:05Z" {
		t.Errorf("header: spec %v serial %q time %q", bom.SpecVersion, bom.SerialNumber, bom.Metadata.Timestamp)
	}
	app := bom.Metadata.Component
	if app == nil || app.Name != "example.com/interop/app" || app.Version != "1.2.0" || app.Supplier == nil || app.Supplier.Name != "example.com" {
		t.Fatalf("metadata.component = %+v", app)
	}
	props := func(c *cdx.Component) map[string][]string {
		m := map[string][]string{}
		if c.Properties != nil {
			for _, p := range *c.Properties {
				m[p.Name] = append(m[p.Name], p.Value)
			}
		}
		return m
	}
	if got := props(app)["ocm:descriptor:digest"]; len(got) != 1 || !strings.HasSuffix(got[0], ":"+appDigest) {
		t.Errorf("app descriptor digest %q, want …:%s", got, appDigest)
	}
	if got := props(app)["ocm:signature"]; len(got) != 1 || !strings.HasPrefix(got[0], "default RSASSA-PSS ") {
		t.Errorf("app signature property %q", got)
	}
	res := map[string]cdx.Component{}
	for _, c := range *app.Components {
		res[c.Name] = c
	}
	if len(res) != 4 {
		t.Fatalf("app resources %d, want 4", len(res))
	}
	greeting := res["greeting"]
	if greeting.Hashes == nil || (*greeting.Hashes)[0] != (cdx.Hash{Algorithm: cdx.HashAlgoSHA256, Value: sha256Hex(t, filepath.Join(testutil.InteropDir(t), "data", "hello.txt"))}) {
		t.Errorf("greeting hashes %+v", greeting.Hashes)
	}
	img := res["image"]
	if img.Type != cdx.ComponentTypeContainer || img.PackageURL != imagePURL {
		t.Errorf("image: type %q purl %q, want container %q", img.Type, img.PackageURL, imagePURL)
	}
	if res["chart"].Type != cdx.ComponentTypeApplication || res["config"].Type != cdx.ComponentTypeFile {
		t.Errorf("types: chart %q config %q", res["chart"].Type, res["config"].Type)
	}
	if bom.Components == nil || len(*bom.Components) != 1 {
		t.Fatalf("components: %+v", bom.Components)
	}
	lib := &(*bom.Components)[0]
	if lib.Name != "example.com/interop/lib" || lib.Version != "0.3.1+build.7" {
		t.Fatalf("lib = %s %s", lib.Name, lib.Version)
	}
	lp := props(lib)
	if got := lp["ocm:descriptor:digest"]; len(got) != 1 || !strings.HasSuffix(got[0], ":"+libDigest) {
		t.Errorf("lib descriptor digest %q", got)
	}
	if got := lp["ocm:label:example.com/tier"]; len(got) != 1 || got[0] != "gold" {
		t.Errorf("lib label %q", got)
	}
	if got := lp["ocm:provider:label:team"]; len(got) != 1 || got[0] != "platform" {
		t.Errorf("lib provider label %q", got)
	}
	var payload *cdx.Component
	for i, c := range *lib.Components {
		if c.Name == "payload" {
			payload = &(*lib.Components)[i]
		}
	}
	if payload == nil || payload.Hashes == nil || (*payload.Hashes)[0].Value != sha256Hex(t, filepath.Join(testutil.InteropDir(t), "data", "random.bin")) {
		t.Errorf("payload hash %+v", payload)
	}
	if !strings.Contains(props(payload)["ocm:resource:identity"][0], "arch=amd64") {
		t.Errorf("payload identity %q", props(payload)["ocm:resource:identity"])
	}
	deps := map[string][]string{}
	for _, d := range *bom.Dependencies {
		if d.Dependencies != nil {
			deps[d.Ref] = *d.Dependencies
		} else {
			deps[d.Ref] = nil
		}
	}
	if got := deps[app.BOMRef]; len(got) != 1 || got[0] != lib.BOMRef {
		t.Errorf("app dependsOn %q, want [%s]", got, lib.BOMRef)
	}
	if _, ok := deps[lib.BOMRef]; !ok {
		t.Errorf("lib has no dependency entry")
	}
}

func TestSPDXInterop(t *testing.T) {
	var buf bytes.Buffer
	if err := sbom.WriteSPDX(&buf, interopGraph(t), opts); err != nil {
		t.Fatal(err)
	}
	if err := validate(t, spdxSchema(t), buf.Bytes()); err != nil {
		t.Fatalf("SPDX output does not validate against the SPDX 2.3 schema: %v\n%s", err, buf.String())
	}
	doc, err := spdxjson.Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := spdxlib.ValidateDocument(doc); err != nil {
		t.Fatalf("tools-golang rejects the document: %v", err)
	}
	if doc.DocumentName != "example.com/interop/app:1.2.0" || !strings.HasSuffix(doc.DocumentNamespace, opts.Serial) || doc.CreationInfo.Created != "2026-01-02T03:04:05Z" {
		t.Errorf("header: %q %q %q", doc.DocumentName, doc.DocumentNamespace, doc.CreationInfo.Created)
	}
	if len(doc.Packages) != 8 {
		t.Fatalf("%d packages, want 2 component versions + 6 resources", len(doc.Packages))
	}
	byName := map[string]int{}
	for i, p := range doc.Packages {
		byName[p.PackageName] = i
	}
	img := doc.Packages[byName["image"]]
	if img.PrimaryPackagePurpose != "CONTAINER" || len(img.PackageExternalReferences) != 1 || img.PackageExternalReferences[0].Locator != imagePURL {
		t.Errorf("image package %+v", img)
	}
	if p := doc.Packages[byName["payload"]]; len(p.PackageChecksums) != 1 || p.PackageChecksums[0].Value != sha256Hex(t, filepath.Join(testutil.InteropDir(t), "data", "random.bin")) {
		t.Errorf("payload checksums %+v", p.PackageChecksums)
	}
	lib := doc.Packages[byName["example.com/interop/lib"]]
	if lib.PackageSupplier == nil || lib.PackageSupplier.Supplier != "example.com" {
		t.Errorf("lib supplier %+v", lib.PackageSupplier)
	}
	var notes []string
	for _, a := range lib.Annotations {
		notes = append(notes, a.AnnotationComment)
	}
	all := strings.Join(notes, "\n")
	for _, want := range []string{"ocm label example.com/tier: gold", "ocm provider label team: platform", "ocm signature release RSASSA-PKCS1-V1_5"} {
		if !strings.Contains(all, want) {
			t.Errorf("lib annotations lack %q:\n%s", want, all)
		}
	}
	count := map[string]int{}
	for _, r := range doc.Relationships {
		count[r.Relationship]++
		if r.Relationship == "DEPENDS_ON" && (r.RefA.ElementRefID != doc.Packages[byName["example.com/interop/app"]].PackageSPDXIdentifier || r.RefB.ElementRefID != lib.PackageSPDXIdentifier) {
			t.Errorf("DEPENDS_ON %v → %v", r.RefA, r.RefB)
		}
	}
	if count["DESCRIBES"] != 1 || count["CONTAINS"] != 6 || count["DEPENDS_ON"] != 1 {
		t.Errorf("relationships %v", count)
	}
}

// The schemas must be able to fail: a document missing what they require,
// or holding what they forbid, is rejected.
func TestSchemasRejectBrokenDocuments(t *testing.T) {
	roots := interopGraph(t)
	for _, tc := range []struct {
		name   string
		write  func(*bytes.Buffer) error
		schema func(*testing.T) *jsonschema.Schema
		break_ func(map[string]any)
	}{
		{"cyclonedx bad hash", func(b *bytes.Buffer) error { return sbom.WriteCycloneDX(b, roots, opts) }, cycloneDXSchema, func(m map[string]any) {
			c := m["components"].([]any)[0].(map[string]any)["components"].([]any)[0].(map[string]any)
			c["hashes"] = []any{map[string]any{"alg": "SHA-256", "content": "not-hex"}}
		}},
		{"cyclonedx bad type", func(b *bytes.Buffer) error { return sbom.WriteCycloneDX(b, roots, opts) }, cycloneDXSchema, func(m map[string]any) {
			m["metadata"].(map[string]any)["component"].(map[string]any)["type"] = "ocm-component"
		}},
		{"spdx no creation info", func(b *bytes.Buffer) error { return sbom.WriteSPDX(b, roots, opts) }, spdxSchema, func(m map[string]any) {
			delete(m, "creationInfo")
		}},
		{"spdx bad purpose", func(b *bytes.Buffer) error { return sbom.WriteSPDX(b, roots, opts) }, spdxSchema, func(m map[string]any) {
			m["packages"].([]any)[0].(map[string]any)["primaryPackagePurpose"] = "COMPONENT"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.write(&buf); err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			tc.break_(m)
			broken, _ := json.Marshal(m)
			if err := validate(t, tc.schema(t), broken); err == nil {
				t.Fatal("the broken document validates")
			}
		})
	}
}

func TestSerialAndMultipleRoots(t *testing.T) {
	roots := interopGraph(t)
	if _, err := sbom.CycloneDX(roots, sbom.Options{Serial: "not-a-uuid"}); err == nil || !strings.Contains(err.Error(), "not-a-uuid") {
		t.Errorf("bad serial: %v", err)
	}
	// Two roots sharing lib: no subject, each version once.
	lib := roots[0].Children[0]
	both := []*repository.Node{roots[0], {Descriptor: lib.Descriptor}}
	a, err := sbom.CycloneDX(both, sbom.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Metadata.Component != nil || len(*a.Components) != 2 {
		t.Errorf("two roots: subject %v, %d components", a.Metadata.Component, len(*a.Components))
	}
	b, err := sbom.CycloneDX(both, sbom.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.SerialNumber == b.SerialNumber {
		t.Errorf("two documents share serial %s", a.SerialNumber)
	}
	doc, err := sbom.SPDX(both, sbom.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Packages) != 8 || doc.DocumentName != "ocm" {
		t.Errorf("two roots: %d packages, name %q", len(doc.Packages), doc.DocumentName)
	}
}
