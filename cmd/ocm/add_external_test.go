package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/internal/testutil"
)

// extServers starts what the external-content tests reach: a registry with
// an image by tag and a chart, a Helm chart repository and a file server.
type extServers struct {
	registry, imageDigest, chartOCIDigest string
	helm, files                           *testutil.Server
	chartDigest, fileDigest               string
}

func startExtServers(t *testing.T, helmOpts, fileOpts testutil.HTTPServerOptions) *extServers {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	s := &extServers{registry: testutil.StartOlareg(t)}
	s.imageDigest = testutil.PushImage(t, s.registry, "acme/web", "1.27", []byte("web layer")).Digest.String()
	c := testutil.HelmChart{Name: "podinfo", Version: "6.9.1", Archive: testutil.ChartArchive(t, testutil.WriteChart(t, t.TempDir(), "podinfo", "6.9.1"))}
	s.chartOCIDigest = testutil.PushHelmChartOCI(t, s.registry, "charts/podinfo", "podinfo", "6.9.1", c.Archive).Digest.String()
	s.helm = testutil.StartHelmRepo(t, helmOpts, c)
	s.chartDigest = c.Digest()
	content := []byte("#!/bin/sh\necho hello\n")
	s.files = testutil.StartFileServer(t, fileOpts, map[string][]byte{"/install.sh": content})
	s.fileDigest = acvSHA256(content)
	return s
}

func (s *extServers) constructor(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	testutil.WriteFile(t, filepath.Join(dir, "notes.txt"), []byte("release notes\n"), 0o644)
	cons := filepath.Join(dir, "component-constructor.yaml")
	// The reference documentation's first component (a local file and an
	// image by tag), with a chart from each kind of Helm repository and a
	// file from a web server.
	testutil.WriteFile(t, cons, []byte(`components:
- name: github.com/acme.org/helloworld
  version: 1.0.0
  provider: {name: acme.org}
  resources:
  - name: mylocalfile
    type: blob
    input: {type: file, path: ./notes.txt}
  - name: image
    type: ociImage
    version: 1.0.0
    access:
      type: ociArtifact
      imageReference: `+s.registry+`/acme/web:1.27
  - name: chart
    type: helmChart
    access: {type: helm/v1, helmRepository: `+s.helm.URL+`, helmChart: podinfo, version: 6.9.1}
  - name: chart-oci
    type: helmChart
    access: {type: Helm, helmRepository: oci://`+s.registry+`/charts, helmChart: "podinfo:6.9.1"}
  - name: installer
    type: blob
    access: {type: wget, url: `+s.files.URL+`/install.sh, mediaType: text/x-shellscript}
`), 0o644)
	return cons
}

func resourceMap(t *testing.T, archive, name string) map[string]any {
	t.Helper()
	return resourceMapOf(t, archive, "github.com/acme.org/helloworld:1.0.0", name)
}

func resourceMapOf(t *testing.T, archive, cv, name string) map[string]any {
	t.Helper()
	cds := acvGetCV(t, "ctf::"+archive+"//"+cv)
	r := acvFindResource(t, &cds[0], name, nil)
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(data, &m)
	return m
}

func yamlMap(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAddCVExternalContent adds resources given only by accesses and
// checks what is recorded against what the reference CLI records for the
// same constructor (its digest processors: bindings/go/oci repository.go
// processOCIImageDigest, helm/digest, wget/repository): the image reference
// pinned as written plus "@<manifest digest>", and genericBlobDigest/v1
// SHA-256 digests of the manifest, the chart archive (the index digest),
// the oci:// chart manifest and the downloaded file. Checked by hand with
// the reference CLI (monorepo commit 8d5af580bf1f) on the same constructor
// and servers (image as http://host/acme/web:1.27, since it reaches even
// loopback registries over TLS, and without the oci:// chart, which its Helm
// client fetches over TLS only): the stored descriptors were equal as JSON,
// the pinned reference kept the http:// prefix and the tag.
func TestAddCVExternalContent(t *testing.T) {
	s := startExtServers(t, testutil.HTTPServerOptions{}, testutil.HTTPServerOptions{})
	archive := filepath.Join(t.TempDir(), "ctf")
	agRun(t, "add", "cv", "--repository", "ctf::"+archive, "--constructor", s.constructor(t))

	want := map[string]string{
		"image": `name: image
version: 1.0.0
type: ociImage
relation: external
access:
  type: ociArtifact
  imageReference: ` + s.registry + `/acme/web:1.27@` + s.imageDigest + `
digest:
  hashAlgorithm: SHA-256
  normalisationAlgorithm: genericBlobDigest/v1
  value: ` + strings.TrimPrefix(s.imageDigest, "sha256:"),
		"chart": `name: chart
version: 1.0.0
type: helmChart
relation: external
access: {type: helm/v1, helmRepository: ` + s.helm.URL + `, helmChart: podinfo, version: 6.9.1}
digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: genericBlobDigest/v1, value: ` + s.chartDigest + `}`,
		"chart-oci": `name: chart-oci
version: 1.0.0
type: helmChart
relation: external
access: {type: Helm, helmRepository: "oci://` + s.registry + `/charts", helmChart: "podinfo:6.9.1"}
digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: genericBlobDigest/v1, value: ` + strings.TrimPrefix(s.chartOCIDigest, "sha256:") + `}`,
		"installer": `name: installer
version: 1.0.0
type: blob
relation: external
access: {type: wget, url: "` + s.files.URL + `/install.sh", mediaType: text/x-shellscript}
digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: genericBlobDigest/v1, value: ` + s.fileDigest + `}`,
	}
	for name, w := range want {
		if got, want := resourceMap(t, archive, name), yamlMap(t, w); !reflect.DeepEqual(got, want) {
			t.Errorf("resource %s:\n got %v\nwant %v", name, got, want)
		}
	}

	// Every resource now has a digest: the component version can be signed
	// (and verified) without reaching the external content again.
	cfg, pub := agSigningConfig(t)
	agRun(t, "--config", cfg, "sign", "cv", "ctf::"+archive+"//github.com/acme.org/helloworld:1.0.0")
	agRun(t, "verify", "cv", "--public-key", pub, "ctf::"+archive+"//github.com/acme.org/helloworld:1.0.0")
}

// TestAddCVSkipDigestProcessing: offline, nothing is pinned and no digest
// fetched; signing then names the resource without a digest and the fix.
func TestAddCVSkipDigestProcessing(t *testing.T) {
	s := startExtServers(t, testutil.HTTPServerOptions{}, testutil.HTTPServerOptions{})
	archive := filepath.Join(t.TempDir(), "ctf")
	cons := s.constructor(t)
	s.helm.Close()
	s.files.Close()
	agRun(t, "add", "cv", "--skip-reference-digest-processing", "--repository", "ctf::"+archive, "--constructor", cons)
	img := resourceMap(t, archive, "image")
	if acc := img["access"].(map[string]any); acc["imageReference"] != s.registry+"/acme/web:1.27" || img["digest"] != nil {
		t.Errorf("image added offline: %v", img)
	}
	cfg, _ := agSigningConfig(t)
	_, _, err := run(t, "--config", cfg, "sign", "cv", "ctf::"+archive+"//github.com/acme.org/helloworld:1.0.0")
	if err == nil {
		t.Fatal("signed a component version with resources without digests")
	}
	// The image's registry is still up: sign re-hashes it and records its
	// digest. The chart and the file are out of reach: named, with the fix.
	for _, w := range []string{"resource name=chart has no digest", "helm/v1 access", "name=installer", "hint:", "without --skip-reference-digest-processing"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("sign error does not mention %q:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), "name=image") {
		t.Errorf("sign names the reachable image:\n%v", err)
	}
}

// TestSignUnsupportedAccessWithoutDigest: an access type nothing here
// reaches (no digest processing, as in the reference) is added without a
// digest; signing names it, without the hint that re-adding would help.
func TestSignUnsupportedAccessWithoutDigest(t *testing.T) {
	cons := filepath.Join(t.TempDir(), "component-constructor.yaml")
	testutil.WriteFile(t, cons, []byte(`components:
- name: example.com/s3
  version: 1.0.0
  provider: {name: example.com}
  resources:
  - {name: data, type: blob, access: {type: s3/v1, bucket: b, key: k}}
`), 0o644)
	archive := filepath.Join(t.TempDir(), "ctf")
	agRun(t, "add", "cv", "--repository", "ctf::"+archive, "--constructor", cons)
	if d := resourceMapOf(t, archive, "example.com/s3:1.0.0", "data")["digest"]; d != nil {
		t.Fatalf("digest %v for an access nothing reaches", d)
	}
	cfg, _ := agSigningConfig(t)
	_, _, err := run(t, "--config", cfg, "sign", "cv", "ctf::"+archive+"//example.com/s3:1.0.0")
	if err == nil || !strings.Contains(err.Error(), "resource name=data") || !strings.Contains(err.Error(), "s3/v1") || strings.Contains(err.Error(), "hint:") {
		t.Fatalf("sign: %v", err)
	}
}

// TestAddCVExternalBadInput: each unreachable or wrong external content
// fails the add with a message naming the resource and the cause, and
// leaves no archive behind.
func TestAddCVExternalBadInput(t *testing.T) {
	s := startExtServers(t, testutil.HTTPServerOptions{}, testutil.HTTPServerOptions{})
	missing := "sha256:" + strings.Repeat("e", 64)
	tests := []struct {
		name, access string
		want         []string
	}{
		{"unknown tag", `{type: ociArtifact, imageReference: ` + s.registry + `/acme/web:9.9}`, []string{"resources[0]", "name=bad", s.registry + "/acme/web:9.9", `no tag "9.9"`}},
		{"unknown digest", `{type: ociArtifact, imageReference: "` + s.registry + `/acme/web:1.27@` + missing + `"}`, []string{"name=bad", "no manifest " + missing}},
		{"chart version", `{type: helm, helmRepository: ` + s.helm.URL + `, helmChart: podinfo, version: 1.0.0}`, []string{"name=bad", "/index.yaml", `chart "podinfo" has no version "1.0.0"`, "6.9.1"}},
		{"chart", `{type: helm, helmRepository: ` + s.helm.URL + `, helmChart: nginx}`, []string{"name=bad", `no chart "nginx"`}},
		{"wget 404", `{type: wget, url: ` + s.files.URL + `/missing.sh}`, []string{"name=bad", s.files.URL + "/missing.sh", "404"}},
		{"redirect loop", `{type: wget, url: ` + s.files.URL + `/loop/a}`, []string{"name=bad", "redirect loop", s.files.URL + "/loop/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cons := filepath.Join(t.TempDir(), "component-constructor.yaml")
			testutil.WriteFile(t, cons, []byte(`components:
- name: example.com/bad
  version: 1.0.0
  provider: {name: example.com}
  resources:
  - name: bad
    type: blob
    access: `+tt.access+`
`), 0o644)
			archive := filepath.Join(t.TempDir(), "ctf")
			_, _, err := run(t, "add", "cv", "--repository", "ctf::"+archive, "--constructor", cons)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			if _, serr := os.Stat(archive); serr == nil {
				t.Errorf("a failed add left %s", archive)
			}
		})
	}
}

// TestAddCVExternalCredentials: registry, Helm repository and web server
// all require credentials; .ocmconfig consumers of each kind supply them.
func TestAddCVExternalCredentials(t *testing.T) {
	s := startExtServers(t, testutil.HTTPServerOptions{Username: "helm", Password: "hpw"}, testutil.HTTPServerOptions{Token: "wtok"})
	reg := testutil.StartOlaregAuth(t, "oci", "opw")
	d := testutil.PushImageAuth(t, reg, "oci", "opw", "private/app", "2.0", []byte("private")).Digest
	host := func(u string) (string, string) {
		h, p, _ := strings.Cut(strings.TrimPrefix(u, "http://"), ":")
		return h, p
	}
	rh, rp := host(reg)
	hh, hp := host(s.helm.URL)
	wh, wp := host(s.files.URL)
	cfgFile := filepath.Join(t.TempDir(), ".ocmconfig")
	testutil.WriteFile(t, cfgFile, []byte(`type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: OCIRegistry, hostname: `+rh+`, port: "`+rp+`"}
    credentials: [{type: Credentials/v1, properties: {username: oci, password: opw}}]
  - identity: {type: HelmChartRepository, hostname: `+hh+`, port: "`+hp+`"}
    credentials: [{type: Credentials/v1, properties: {username: helm, password: hpw}}]
  - identity: {type: Wget, hostname: `+wh+`, port: "`+wp+`"}
    credentials: [{type: Credentials/v1, properties: {identityToken: wtok}}]
`), 0o644)
	cons := filepath.Join(t.TempDir(), "component-constructor.yaml")
	testutil.WriteFile(t, cons, []byte(`components:
- name: example.com/private
  version: 1.0.0
  provider: {name: example.com}
  resources:
  - {name: image, type: ociImage, access: {type: OCIImage/v1, imageReference: "`+reg+`/private/app:2.0"}}
  - {name: chart, type: helmChart, access: {type: Helm/v1, helmRepository: "`+s.helm.URL+`", helmChart: "podinfo:6.9.1"}}
  - {name: file, type: blob, access: {type: Wget/v1, url: "`+s.files.URL+`/install.sh"}}
`), 0o644)
	archive := filepath.Join(t.TempDir(), "ctf")
	_, _, err := run(t, "add", "cv", "--repository", "ctf::"+archive, "--constructor", cons)
	if err == nil || !strings.Contains(err.Error(), "unauthorized") || !strings.Contains(err.Error(), "credentials for consumer {type=") {
		t.Fatalf("add without credentials: %v", err)
	}
	agRun(t, "--config", cfgFile, "add", "cv", "--repository", "ctf::"+archive, "--constructor", cons)
	cds := acvGetCV(t, "ctf::"+archive+"//example.com/private:1.0.0")
	for name, value := range map[string]string{"image": d.Encoded(), "chart": s.chartDigest, "file": s.fileDigest} {
		if r := acvFindResource(t, &cds[0], name, nil); r.Digest == nil || r.Digest.Value != value {
			t.Errorf("%s: digest %+v, want %s", name, r.Digest, value)
		}
	}
}
