package access_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
)

func typed(t *testing.T, v map[string]any) *descriptor.Typed {
	t.Helper()
	acc, err := descriptor.NewTyped(v)
	if err != nil {
		t.Fatal(err)
	}
	return &acc
}

func loadConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), ".ocmconfig")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func noDockerConfig(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
}

func TestResolveImage(t *testing.T) {
	noDockerConfig(t)
	host := testutil.StartOlareg(t)
	m := testutil.PushImage(t, host, "app/web", "1.0", []byte("layer"))
	f := access.New(access.Options{})
	ctx := context.Background()
	for _, typ := range []string{"OCIImage/v1", "ociArtifact", "ociArtifact/v1", "ociRegistry/v1", "ociImage", "OCIImage"} {
		t.Run(typ, func(t *testing.T) {
			ref := host + "/app/web:1.0"
			r, err := f.Resolve(ctx, typed(t, map[string]any{"type": typ, "imageReference": ref}))
			if err != nil {
				t.Fatal(err)
			}
			a, err := r.Access.OCIArtifact()
			if err != nil {
				t.Fatal(err)
			}
			if want := ref + "@" + m.Digest.String(); a.ImageReference != want || a.Type != typ {
				t.Errorf("pinned %s %q, want %s %q", a.Type, a.ImageReference, typ, want)
			}
			want := descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "genericBlobDigest/v1", Value: m.Digest.Encoded()}
			if r.Digest != want {
				t.Errorf("digest %+v, want %+v", r.Digest, want)
			}
		})
	}
	// Pinned already: kept as is; the http:// prefix is kept too.
	for _, ref := range []string{host + "/app/web:1.0@" + m.Digest.String(), host + "/app/web@" + m.Digest.String(), "http://" + host + "/app/web:1.0"} {
		r, err := f.Resolve(ctx, typed(t, map[string]any{"type": "ociArtifact", "imageReference": ref}))
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		a, _ := r.Access.OCIArtifact()
		want := strings.TrimSuffix(ref, "@"+m.Digest.String()) + "@" + m.Digest.String()
		if a.ImageReference != want {
			t.Errorf("%s: pinned %q, want %q", ref, a.ImageReference, want)
		}
	}
}

func TestResolveImageErrors(t *testing.T) {
	noDockerConfig(t)
	host := testutil.StartOlareg(t)
	testutil.PushImage(t, host, "app/web", "1.0", []byte("layer"))
	f := access.New(access.Options{})
	missing := "sha256:" + strings.Repeat("a", 64)
	tests := []struct {
		ref      string
		is       error
		contains []string
	}{
		{host + "/app/web:2.0", access.ErrNotFound, []string{host + "/app/web:2.0", `no tag "2.0"`}},
		{host + "/app/web:1.0@" + missing, access.ErrNotFound, []string{host + "/app/web:1.0@" + missing, "no manifest " + missing}},
		{host + "/app/other:1.0", access.ErrNotFound, []string{"app/other"}},
		{host + "/App/web:1.0", nil, []string{`"` + host + "/App/web:1.0" + `"`}},
	}
	for _, tt := range tests {
		_, err := f.Resolve(context.Background(), typed(t, map[string]any{"type": "ociArtifact", "imageReference": tt.ref}))
		if err == nil {
			t.Fatalf("%s: no error", tt.ref)
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%s: %v is not %v", tt.ref, err, tt.is)
		}
		for _, c := range tt.contains {
			if !strings.Contains(err.Error(), c) {
				t.Errorf("%s: error %q does not mention %q", tt.ref, err, c)
			}
		}
	}
}

func TestPinResource(t *testing.T) {
	noDockerConfig(t)
	host := testutil.StartOlareg(t)
	m := testutil.PushImage(t, host, "app/web", "1.0", []byte("layer"))
	f := access.New(access.Options{})
	res := descriptor.Resource{Type: "ociImage", Access: typed(t, map[string]any{"type": "ociArtifact", "imageReference": host + "/app/web:1.0"})}
	res.Name, res.Version = "web", "1.0"
	out, err := f.PinResource(context.Background(), &res)
	if err != nil {
		t.Fatal(err)
	}
	if out.Digest == nil || out.Digest.Value != m.Digest.Encoded() || res.Digest != nil {
		t.Fatalf("digest %+v (input %+v)", out.Digest, res.Digest)
	}
	res.Digest = &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "genericBlobDigest/v1", Value: strings.Repeat("b", 64)}
	_, err = f.PinResource(context.Background(), &res)
	if !errors.Is(err, access.ErrDigestMismatch) || !strings.Contains(err.Error(), "name=web,version=1.0") {
		t.Fatalf("want a digest mismatch naming the resource, got %v", err)
	}
}

func TestRegistryCredentials(t *testing.T) {
	noDockerConfig(t)
	host := testutil.StartOlaregAuth(t, "ocm", "secret")
	m := testutil.PushImageAuth(t, host, "ocm", "secret", "app/web", "1.0", []byte("layer"))
	hostname, port, _ := strings.Cut(host, ":")
	acc := typed(t, map[string]any{"type": "ociArtifact", "imageReference": host + "/app/web:1.0"})
	if _, err := access.New(access.Options{}).Resolve(context.Background(), acc); !errors.Is(err, access.ErrUnauthorized) || !strings.Contains(err.Error(), "{type=OCIRegistry, hostname="+hostname) {
		t.Fatalf("anonymous access to an authenticated registry: %v", err)
	}
	cfg := loadConfig(t, `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: OCIRegistry, hostname: `+hostname+`, port: "`+port+`", path: "app/*"}
    credentials:
    - type: Credentials/v1
      properties: {username: ocm, password: secret}
`)
	r, err := access.New(access.Options{Config: cfg}).Resolve(context.Background(), acc)
	if err != nil {
		t.Fatal(err)
	}
	if r.Digest.Value != m.Digest.Encoded() {
		t.Errorf("digest %s, want %s", r.Digest.Value, m.Digest.Encoded())
	}
}

func TestOCIImageLayer(t *testing.T) {
	noDockerConfig(t)
	host := testutil.StartOlareg(t)
	testutil.PushImage(t, host, "app/web", "1.0", []byte("layer content"))
	d := "sha256:" + sha([]byte("layer content"))
	f := access.New(access.Options{})
	acc := typed(t, map[string]any{"type": "OCIImageLayer/v1", "ref": host + "/app/web", "digest": d, "mediaType": "text/plain"})
	r, err := f.Resolve(context.Background(), acc)
	if err != nil {
		t.Fatal(err)
	}
	if r.Digest.Value != sha([]byte("layer content")) || r.Size != 13 {
		t.Errorf("resolved %+v", r)
	}
	b, err := f.Open(context.Background(), acc)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(b)
	b.Close()
	if err != nil || string(data) != "layer content" || b.MediaType != "text/plain" {
		t.Errorf("read %q %v %s", data, err, b.MediaType)
	}
	_, err = f.Resolve(context.Background(), typed(t, map[string]any{"type": "OCIImageLayer", "ref": host + "/app/web", "digest": "sha256:" + strings.Repeat("c", 64)}))
	if !errors.Is(err, access.ErrNotFound) {
		t.Errorf("missing blob: %v", err)
	}
}

func chart(t *testing.T, name, version string) testutil.HelmChart {
	return testutil.HelmChart{Name: name, Version: version, Archive: testutil.ChartArchive(t, testutil.WriteChart(t, t.TempDir(), name, version))}
}

func TestHelmHTTP(t *testing.T) {
	c1, c2 := chart(t, "podinfo", "6.0.0"), chart(t, "podinfo", "6.1.0")
	c2.AbsoluteURL = true
	pre := chart(t, "podinfo", "7.0.0-rc.1")
	srv := testutil.StartHelmRepo(t, testutil.HTTPServerOptions{}, c1, c2, pre)
	f := access.New(access.Options{})
	ctx := context.Background()
	tests := []struct {
		chart, version string
		want           testutil.HelmChart
	}{
		{"podinfo", "6.0.0", c1},
		{"podinfo:6.0.0", "", c1},
		{"podinfo", "6.1.0", c2}, // absolute URL in the index
		{"podinfo", "", c2},      // highest release
		{"podinfo", "~6.0", c1},  // a constraint, as Helm accepts
		{"podinfo", "7.0.0-rc.1", pre},
	}
	for _, tt := range tests {
		acc := typed(t, map[string]any{"type": "Helm/v1", "helmRepository": srv.URL, "helmChart": tt.chart, "version": tt.version})
		r, err := f.Resolve(ctx, acc)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.chart, tt.version, err)
		}
		want := descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "genericBlobDigest/v1", Value: tt.want.Digest()}
		if r.Digest != want || r.Access != acc {
			t.Errorf("%s %s: %+v, want %+v and the access unchanged", tt.chart, tt.version, r.Digest, want)
		}
		b, err := f.Open(ctx, acc)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(b)
		b.Close()
		if err != nil || !bytes.Equal(data, tt.want.Archive) || b.MediaType != access.MediaTypeHelmChart {
			t.Errorf("%s %s: open: %v, %d bytes, %s", tt.chart, tt.version, err, len(data), b.MediaType)
		}
	}
}

func TestHelmHTTPErrors(t *testing.T) {
	c := chart(t, "podinfo", "6.0.0")
	bad := chart(t, "broken", "1.0.0")
	bad.BadDigest = true
	srv := testutil.StartHelmRepo(t, testutil.HTTPServerOptions{}, c, bad)
	files := testutil.StartFileServer(t, testutil.HTTPServerOptions{}, nil)
	tests := []struct {
		repo, chart, version string
		is                   error
		contains             []string
	}{
		{srv.URL, "podinfo", "9.9.9", access.ErrNotFound, []string{srv.URL + "/index.yaml", `chart "podinfo" has no version "9.9.9"`, "6.0.0"}},
		{srv.URL, "nginx", "1.0.0", access.ErrNotFound, []string{`no chart "nginx"`}},
		{srv.URL, "broken", "1.0.0", access.ErrDigestMismatch, []string{"chart broken version 1.0.0"}},
		{files.URL, "podinfo", "6.0.0", access.ErrNotFound, []string{files.URL + "/index.yaml"}},
	}
	for _, tt := range tests {
		_, err := access.New(access.Options{}).Resolve(context.Background(), typed(t, map[string]any{"type": "helm", "helmRepository": tt.repo, "helmChart": tt.chart, "version": tt.version}))
		if !errors.Is(err, tt.is) {
			t.Fatalf("%s %s: %v is not %v", tt.chart, tt.version, err, tt.is)
		}
		for _, c := range tt.contains {
			if !strings.Contains(err.Error(), c) {
				t.Errorf("%s %s: error %q does not mention %q", tt.chart, tt.version, err, c)
			}
		}
	}
}

func TestHelmHTTPCredentialsAndTLS(t *testing.T) {
	c := chart(t, "podinfo", "6.0.0")
	srv := testutil.StartHelmRepo(t, testutil.HTTPServerOptions{Username: "helm", Password: "pw", TLS: true}, c)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CAPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: nil}}
	client.Transport.(*http.Transport).TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	acc := typed(t, map[string]any{"type": "Helm", "helmRepository": srv.URL, "helmChart": "podinfo", "version": "6.0.0"})

	_, err := access.New(access.Options{}).Resolve(context.Background(), acc)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted TLS server: %v", err)
	}
	_, err = access.New(access.Options{Client: client}).Resolve(context.Background(), acc)
	if !errors.Is(err, access.ErrUnauthorized) || !strings.Contains(err.Error(), "type=HelmChartRepository") {
		t.Fatalf("without credentials: %v", err)
	}
	hostname, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "https://"), ":")
	cfg := loadConfig(t, `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: HelmChartRepository, hostname: `+hostname+`, port: "`+port+`"}
    credentials:
    - type: HelmHTTPCredentials/v1
      username: helm
      password: pw
`)
	r, err := access.New(access.Options{Client: client, Config: cfg}).Resolve(context.Background(), acc)
	if err != nil {
		t.Fatal(err)
	}
	if r.Digest.Value != c.Digest() {
		t.Errorf("digest %s, want %s", r.Digest.Value, c.Digest())
	}
	// The CA can come with the credentials instead (certificateAuthority).
	cfg = loadConfig(t, `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: HelmChartRepository, hostname: `+hostname+`, scheme: https}
    credentials:
    - type: Credentials/v1
      properties:
        username: helm
        password: pw
        certificateAuthority: |
`+indent(string(srv.CAPEM), "          ")+`
`)
	if _, err := access.New(access.Options{Config: cfg}).Resolve(context.Background(), acc); err != nil {
		t.Fatal(err)
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix)
}

func TestHelmOCI(t *testing.T) {
	noDockerConfig(t)
	host := testutil.StartOlareg(t)
	c := chart(t, "podinfo", "6.0.0")
	m := testutil.PushHelmChartOCI(t, host, "charts/podinfo", "podinfo", "6.0.0", c.Archive)
	f := access.New(access.Options{})
	for _, a := range []map[string]any{
		{"type": "Helm/v1", "helmRepository": "oci://" + host + "/charts", "helmChart": "podinfo", "version": "6.0.0"},
		{"type": "helm", "helmRepository": "oci://" + host + "/charts/", "helmChart": "podinfo:6.0.0"},
	} {
		acc := typed(t, a)
		r, err := f.Resolve(context.Background(), acc)
		if err != nil {
			t.Fatal(err)
		}
		if r.Digest.Value != m.Digest.Encoded() || r.Digest.NormalisationAlgorithm != "genericBlobDigest/v1" {
			t.Errorf("digest %+v, want the manifest digest %s", r.Digest, m.Digest)
		}
		b, err := f.Open(context.Background(), acc)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(b)
		b.Close()
		if !bytes.Equal(data, c.Archive) {
			t.Errorf("opened %d bytes, want the chart archive", len(data))
		}
	}
	_, err := f.Resolve(context.Background(), typed(t, map[string]any{"type": "Helm", "helmRepository": "oci://" + host + "/charts", "helmChart": "podinfo", "version": "7.0.0"}))
	if !errors.Is(err, access.ErrNotFound) || !strings.Contains(err.Error(), `no tag "7.0.0"`) {
		t.Errorf("missing chart version: %v", err)
	}
}

func TestHelmOCICredentials(t *testing.T) {
	noDockerConfig(t)
	host := testutil.StartOlaregAuth(t, "ocm", "secret")
	c := chart(t, "podinfo", "6.0.0")
	m := testutil.PushHelmChartOCIAuth(t, host, "ocm", "secret", "charts/podinfo", "podinfo", "6.0.0", c.Archive)
	acc := typed(t, map[string]any{"type": "Helm", "helmRepository": "oci://" + host + "/charts", "helmChart": "podinfo", "version": "6.0.0"})
	if _, err := access.New(access.Options{}).Resolve(context.Background(), acc); !errors.Is(err, access.ErrUnauthorized) {
		t.Fatalf("without credentials: %v", err)
	}
	hostname, port, _ := strings.Cut(host, ":")
	// oci:// charts are registry content: the OCIRegistry consumer applies.
	cfg := loadConfig(t, `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: OCIRegistry, hostname: `+hostname+`, port: "`+port+`", path: charts/podinfo}
    credentials:
    - type: OCICredentials/v1
      username: ocm
      password: secret
`)
	f := access.New(access.Options{Config: cfg})
	r, err := f.Resolve(context.Background(), acc)
	if err != nil {
		t.Fatal(err)
	}
	if r.Digest.Value != m.Digest.Encoded() {
		t.Errorf("digest %s, want %s", r.Digest.Value, m.Digest.Encoded())
	}
	b, err := f.Open(context.Background(), acc)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(b)
	b.Close()
	if err != nil || !bytes.Equal(data, c.Archive) {
		t.Errorf("open: %v, %d bytes", err, len(data))
	}
}

func TestWget(t *testing.T) {
	content := []byte("hello, world\n")
	srv := testutil.StartFileServer(t, testutil.HTTPServerOptions{}, map[string][]byte{"/app.txt": content})
	f := access.New(access.Options{})
	ctx := context.Background()
	for _, u := range []string{srv.URL + "/app.txt", srv.URL + "/redirect/app.txt"} {
		r, err := f.Resolve(ctx, typed(t, map[string]any{"type": "wget", "url": u}))
		if err != nil {
			t.Fatal(err)
		}
		want := descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "genericBlobDigest/v1", Value: sha(content)}
		if r.Digest != want || r.MediaType != "text/plain" || r.Size != int64(len(content)) {
			t.Errorf("%s: %+v", u, r)
		}
	}
	// verb, body and header are sent; the access's media type wins.
	acc := typed(t, map[string]any{"type": "Wget/v1", "url": srv.URL + "/echo", "verb": "POST", "body": []byte("payload"), "header": map[string][]string{"X-Test": {"yes"}}, "mediaType": "application/x-test"})
	b, err := f.Open(ctx, acc)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(b)
	b.Close()
	if string(data) != "POST payload yes" || b.MediaType != "application/x-test" {
		t.Errorf("echo: %q %s", data, b.MediaType)
	}
}

func TestWgetErrors(t *testing.T) {
	srv := testutil.StartFileServer(t, testutil.HTTPServerOptions{}, map[string][]byte{"/app.txt": []byte("x")})
	tlsSrv := testutil.StartFileServer(t, testutil.HTTPServerOptions{TLS: true}, nil)
	tests := []struct {
		name     string
		access   map[string]any
		is       error
		contains []string
	}{
		{"404", map[string]any{"url": srv.URL + "/missing"}, access.ErrNotFound, []string{srv.URL + "/missing", "404"}},
		{"loop", map[string]any{"url": srv.URL + "/loop/a"}, access.ErrRedirect, []string{"redirect loop", srv.URL + "/loop/"}},
		{"noRedirect", map[string]any{"url": srv.URL + "/redirect/app.txt", "noRedirect": true}, access.ErrRedirect, []string{"noRedirect", srv.URL + "/redirect/app.txt"}},
		{"https to http", map[string]any{"url": tlsSrv.URL + "/to?u=" + srv.URL + "/app.txt"}, access.ErrRedirect, []string{"from https to http"}},
		{"scheme", map[string]any{"url": "ftp://example.com/x"}, nil, []string{`unsupported scheme "ftp"`}},
		{"secret in URL", map[string]any{"url": srv.URL + "/missing?token=s3cret"}, access.ErrNotFound, nil},
	}
	client := tlsSrv.Client()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.access["type"] = "wget"
			_, err := access.New(access.Options{Client: client}).Resolve(context.Background(), typed(t, tt.access))
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("%v is not %v", err, tt.is)
			}
			for _, c := range tt.contains {
				if !strings.Contains(err.Error(), c) {
					t.Errorf("error %q does not mention %q", err, c)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the query", err)
			}
		})
	}
}

func TestWgetCredentials(t *testing.T) {
	basic := testutil.StartFileServer(t, testutil.HTTPServerOptions{Username: "u", Password: "p"}, map[string][]byte{"/f": []byte("basic")})
	bearer := testutil.StartFileServer(t, testutil.HTTPServerOptions{Token: "tok"}, map[string][]byte{"/f": []byte("bearer")})
	host := func(u string) (string, string) {
		h, p, _ := strings.Cut(strings.TrimPrefix(u, "http://"), ":")
		return h, p
	}
	bh, bp := host(basic.URL)
	_, tp := host(bearer.URL)
	cfg := loadConfig(t, `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: Wget, hostname: `+bh+`, port: "`+bp+`", path: f}
    credentials:
    - type: WgetCredentials/v1
      username: u
      password: p
  - identity: {type: Wget/v1, hostname: `+bh+`, port: "`+tp+`"}
    credentials:
    - type: Credentials/v1
      properties: {identityToken: tok}
`)
	for _, srv := range []*testutil.Server{basic, bearer} {
		acc := typed(t, map[string]any{"type": "wget", "url": srv.URL + "/f"})
		_, err := access.New(access.Options{}).Resolve(context.Background(), acc)
		if !errors.Is(err, access.ErrUnauthorized) || !strings.Contains(err.Error(), "none are configured") {
			t.Errorf("%s without credentials: %v", srv.URL, err)
		}
		if _, err := access.New(access.Options{Config: cfg}).Resolve(context.Background(), acc); err != nil {
			t.Errorf("%s: %v", srv.URL, err)
		}
	}
}

func TestOpenVerified(t *testing.T) {
	srv := testutil.StartFileServer(t, testutil.HTTPServerOptions{}, map[string][]byte{"/f": []byte("content")})
	f := access.New(access.Options{})
	acc := typed(t, map[string]any{"type": "wget", "url": srv.URL + "/f"})
	good := descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "genericBlobDigest/v1", Value: sha([]byte("content"))}
	b, err := f.OpenVerified(context.Background(), acc, good)
	if err != nil {
		t.Fatal(err)
	}
	if data, err := io.ReadAll(b); err != nil || string(data) != "content" {
		t.Errorf("verified read: %q %v", data, err)
	}
	b.Close()
	bad := good
	bad.Value = sha([]byte("other"))
	b, err = f.OpenVerified(context.Background(), acc, bad)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(b)
	b.Close()
	if !errors.Is(err, access.ErrDigestMismatch) {
		t.Errorf("tampered content read without a mismatch: %v", err)
	}
}

func TestUnsupported(t *testing.T) {
	_, err := access.New(access.Options{}).Resolve(context.Background(), typed(t, map[string]any{"type": "s3", "bucket": "b"}))
	if !errors.Is(err, access.ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("%v", err)
	}
}
