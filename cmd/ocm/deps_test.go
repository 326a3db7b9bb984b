package main

// The ocm binary stays lean and the root module's requirements stay few:
// library users inherit every module of the root's go.mod (test-only ones
// too), and the CLI must not link Kubernetes, Helm or a registry server.
// These tests read what the go command itself resolves, so an import or a
// go.mod change that pulls in a forbidden module fails here.

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// forbiddenModules are module path prefixes (whole path elements) that
// ./cmd/ocm must not link. graph marks those that must not appear in the
// root module's requirement graph (go mod graph) either.
var forbiddenModules = []struct {
	prefix string
	graph  bool
	why    string
}{
	{"helm.sh", true, "Helm SDK: chart rendering belongs to the controller module"},
	{"k8s.io", true, "Kubernetes libraries belong to the controller module"},
	{"sigs.k8s.io/controller-runtime", true, "controller framework: belongs to the controller module"},
	// sigs.k8s.io/yaml is allowed (allowedModules); the graph holds its
	// tiny test requirement sigs.k8s.io/randfill, so only the binary check
	// covers the rest of sigs.k8s.io (kustomize, structured-merge-diff...).
	{"sigs.k8s.io", false, "Kubernetes SIG libraries belong to the controller module"},
	{"go.opentelemetry.io", true, "telemetry SDKs (came with distribution/v3)"},
	{"google.golang.org/grpc", true, "gRPC (came with OpenTelemetry exporters)"},
	{"github.com/redis", true, "redis client (came with distribution/v3's cache)"},
	{"github.com/prometheus", true, "metrics (came with distribution/v3)"},
	{"github.com/distribution/distribution", true, "a registry server: tests start Debian's docker-registry out of process"},
	// olareg is a light test requirement of the root module (in-process
	// registry with the referrers API); the binary must not serve registries.
	{"github.com/olareg", false, "a registry server: for tests only"},
	// The SBOM renderers (sbom/) link github.com/CycloneDX/cyclonedx-go and
	// github.com/spdx/tools-golang (its json and v2_3 packages only, which
	// bring github.com/anchore/go-struct-converter). Their module graphs
	// carry validators and parsers the binary must not link: schema
	// validation is a test concern, RDF output is not offered.
	{"github.com/santhosh-tekuri/jsonschema", false, "JSON schema validator: the SBOM tests validate with it"},
	{"github.com/xeipuuv", false, "JSON schema validator of cyclonedx-go's tests"},
	{"github.com/terminalstatic/go-xsd-validate", false, "cgo libxml2 binding of cyclonedx-go's XML tests"},
	{"github.com/spdx/gordf", false, "RDF parser of tools-golang's rdf package, which ocm does not write"},
	// Delivery records are DSSE envelopes written and verified by delivery/
	// itself; secure-systems-lab's DSSE library only checks them in a test.
	{"github.com/secure-systems-lab/go-securesystemslib", false, "DSSE library: the delivery tests verify envelopes with it"},
}

// allowedModules are exceptions to forbiddenModules.
var allowedModules = []string{
	"sigs.k8s.io/yaml", // YAML through encoding/json; no Kubernetes dependencies
}

// viaSigstore are forbidden modules that keyless signing brings in
// (signing/sigstore on sigstore-go, issue 17: the alternative, the
// reference's cosign binary downloaded at run time, is what the issue
// rules out). They are tolerated exactly (no other module of their
// prefix: no OpenTelemetry SDK or exporter, no other Kubernetes library)
// and, in the binary, only where the listed Sigstore-side modules import
// them, so that no OCM package starts using them:
//   - gRPC: the generated Rekor v2 (rekor-tiles) API types and the
//     grpc-gateway runtime they use for HTTP/JSON; no gRPC server or
//     client is started;
//   - the OpenTelemetry API (not the SDK): go-openapi's client runtime of
//     the Rekor v1 API traces through it, a no-op without an SDK;
//   - klog: the logger of certificate-transparency-go, whose SCT
//     verification sigstore-go uses.
//   - go-securesystemslib: DSSE envelopes and canonical JSON of Sigstore's
//     bundle, TUF and in-toto code (OCM's own delivery records do not link it).
var viaSigstore = map[string][]string{
	"google.golang.org/grpc":          {"github.com/grpc-ecosystem/grpc-gateway/v2", "github.com/sigstore/rekor-tiles/v2"},
	"go.opentelemetry.io/otel":        {"github.com/go-openapi/runtime"},
	"go.opentelemetry.io/otel/trace":  {"github.com/go-openapi/runtime"},
	"go.opentelemetry.io/otel/metric": {"github.com/go-openapi/runtime"},
	"go.opentelemetry.io/auto/sdk":    {"github.com/go-openapi/runtime"},
	"k8s.io/klog/v2":                  {"github.com/google/certificate-transparency-go"},
	"github.com/secure-systems-lab/go-securesystemslib": {"github.com/sigstore/sigstore", "github.com/sigstore/sigstore-go", "github.com/sigstore/rekor",
		"github.com/theupdateframework/go-tuf", "github.com/theupdateframework/go-tuf/v2", "github.com/in-toto/in-toto-golang"},
}

// withoutSigstore drops the modules of viaSigstore from mods.
func withoutSigstore(mods []string) []string {
	return slices.DeleteFunc(slices.Clone(mods), func(m string) bool { _, ok := viaSigstore[m]; return ok })
}

// underPrefix reports whether module path is prefix or lies below it in
// whole path elements (k8s.io matches k8s.io/api, not k8s.iox).
func underPrefix(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// forbiddenIn returns "module: why" for each module of mods that
// forbiddenModules forbid (in the binary, or in the module graph when
// graph is set), sorted and once each.
func forbiddenIn(mods []string, graph bool) []string {
	var bad []string
	for _, m := range mods {
		if slices.ContainsFunc(allowedModules, func(a string) bool { return underPrefix(m, a) }) {
			continue
		}
		for _, f := range forbiddenModules {
			if (!graph || f.graph) && underPrefix(m, f.prefix) {
				bad = append(bad, fmt.Sprintf("%s: %s", m, f.why))
				break
			}
		}
	}
	slices.Sort(bad)
	return slices.Compact(bad)
}

func TestForbiddenModulesMatcher(t *testing.T) {
	for _, tc := range []struct {
		mod           string
		binary, graph bool // forbidden in the binary, in the module graph
	}{
		{"helm.sh/helm/v4", true, true},
		{"k8s.io/api", true, true},
		{"k8s.io", true, true},
		{"k8s.iox/other", false, false},
		{"sigs.k8s.io/controller-runtime", true, true},
		{"sigs.k8s.io/kustomize/api", true, false},
		{"sigs.k8s.io/yaml", false, false},
		{"sigs.k8s.io/yamlx", true, false},
		{"go.opentelemetry.io/otel/sdk", true, true},
		{"google.golang.org/grpc", true, true},
		{"google.golang.org/protobuf", false, false},
		{"github.com/redis/go-redis/v9", true, true},
		{"github.com/prometheus/client_golang", true, true},
		{"github.com/distribution/distribution/v3", true, true},
		{"github.com/distribution/reference", false, false},
		{"github.com/olareg/olareg", true, false},
		{"oras.land/oras-go/v2", false, false},
		{"github.com/spf13/cobra", false, false},
		{"github.com/CycloneDX/cyclonedx-go", false, false},
		{"github.com/spdx/tools-golang", false, false},
		{"github.com/santhosh-tekuri/jsonschema/v6", true, false},
		{"github.com/terminalstatic/go-xsd-validate", true, false},
		{"github.com/spdx/gordf", true, false},
		{"github.com/secure-systems-lab/go-securesystemslib", true, false},
	} {
		if got := len(forbiddenIn([]string{tc.mod}, false)) == 1; got != tc.binary {
			t.Errorf("%s forbidden in the binary: %v, want %v", tc.mod, got, tc.binary)
		}
		if got := len(forbiddenIn([]string{tc.mod}, true)) == 1; got != tc.graph {
			t.Errorf("%s forbidden in the module graph: %v, want %v", tc.mod, got, tc.graph)
		}
	}
	// A dependency list as go list prints it: each forbidden module
	// reported once, with its reason.
	got := forbiddenIn([]string{"github.com/spf13/cobra", "k8s.io/api", "sigs.k8s.io/yaml", "k8s.io/api", "helm.sh/helm/v4"}, false)
	want := []string{"helm.sh/helm/v4: Helm SDK: chart rendering belongs to the controller module", "k8s.io/api: Kubernetes libraries belong to the controller module"}
	if !slices.Equal(got, want) {
		t.Errorf("forbiddenIn = %q, want %q", got, want)
	}
}

// goCmd runs the go command in the test's directory (cmd/ocm).
func goCmd(t *testing.T, args ...string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to read the dependencies: %v", err)
	}
	out, err := exec.Command(goBin, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// The modules of every package linked into the ocm binary (test files are
// not part of -deps without -test).
func TestBinaryDependencies(t *testing.T) {
	out := goCmd(t, "list", "-deps", "-f", "{{.ImportPath}} {{with .Module}}{{.Path}}{{else}}std{{end}} {{join .Imports \",\"}}", ".")
	moduleOf := map[string]string{}
	var mods []string
	type pkg struct{ path, module, imports string }
	var pkgs []pkg
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			t.Fatalf("go list line %q", line)
		}
		p := pkg{path: f[0], module: f[1]}
		if len(f) > 2 {
			p.imports = f[2]
		}
		pkgs = append(pkgs, p)
		moduleOf[p.path] = p.module
		mods = append(mods, p.module)
	}
	if !slices.Contains(mods, "oras.land/oras-go/v2") {
		t.Fatalf("go list -deps does not list oras-go, which ocm links: is the output what this test expects?\n%s", out)
	}
	for _, bad := range forbiddenIn(withoutSigstore(mods), false) {
		t.Errorf("cmd/ocm links %s (go list -deps ./cmd/ocm)", bad)
	}
	// The tolerated modules only where Sigstore's libraries import them.
	for _, p := range pkgs {
		for _, imp := range strings.Split(p.imports, ",") {
			allowed, tolerated := viaSigstore[moduleOf[imp]]
			if !tolerated || p.module == moduleOf[imp] || slices.Contains(allowed, p.module) {
				continue
			}
			if _, alsoTolerated := viaSigstore[p.module]; alsoTolerated {
				continue
			}
			t.Errorf("%s (module %s) imports %s: that module is linked only for Sigstore's libraries (viaSigstore)", p.path, p.module, imp)
		}
	}
}

// Every module in the root module's requirement graph, which library users
// inherit.
func TestModuleGraph(t *testing.T) {
	out := goCmd(t, "mod", "graph")
	requiredBy := map[string][]string{}
	var mods []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		from, to, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("go mod graph line %q", line)
		}
		path, _, _ := strings.Cut(to, "@")
		fromPath, _, _ := strings.Cut(from, "@")
		if _, seen := requiredBy[path]; !seen {
			mods = append(mods, path)
		}
		requiredBy[path] = append(requiredBy[path], fromPath)
	}
	if !slices.Contains(mods, "oras.land/oras-go/v2") {
		t.Fatalf("go mod graph does not list oras-go, which the root requires: is the output what this test expects?\n%s", out)
	}
	for _, bad := range forbiddenIn(mods, true) {
		path, _, _ := strings.Cut(bad, ":")
		if onlyViaSigstore(path, requiredBy[path]) {
			continue
		}
		t.Errorf("the root module's graph holds %s (required by %s)", bad, strings.Join(slices.Compact(slices.Sorted(slices.Values(requiredBy[path]))), ", "))
	}
}

// sigstoreSide are the modules of Sigstore's libraries (and the libraries
// they build on) whose go.mod files bring forbidden modules into the
// graph: the test tolerates requirements of theirs, not of anything else.
var sigstoreSide = []string{
	"github.com/sigstore", "github.com/google/certificate-transparency-go", "github.com/go-openapi/runtime",
	"github.com/grpc-ecosystem/grpc-gateway/v2", "github.com/in-toto/in-toto-golang", "github.com/google/go-containerregistry",
	"google.golang.org/genproto/googleapis/api",
}

// onlyViaSigstore reports whether a forbidden module of the graph is there
// only for Sigstore's libraries: each module requiring it is Sigstore-side
// or forbidden itself (reached the same way), and the root requires it
// only if it is one of the modules the binary links for Sigstore
// (viaSigstore; the go command lists those as indirect requirements).
func onlyViaSigstore(path string, requirers []string) bool {
	for _, r := range requirers {
		_, linked := viaSigstore[path]
		switch {
		case r == "github.com/ocmgo/ocm" && linked:
		case slices.ContainsFunc(sigstoreSide, func(p string) bool { return underPrefix(r, p) }):
		case len(forbiddenIn([]string{r}, true)) > 0:
		default:
			return false
		}
	}
	return true
}
