package constructor

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/internal/testutil"
)

func openWith(t *testing.T, f *access.Fetcher, spec, baseDir string) (*Content, error) {
	t.Helper()
	return openInput(WithFetcher(context.Background(), f), typed(t, spec), &where{file: "component-constructor.yaml", path: "components[0].resources[2]", baseDir: baseDir, env: envMap(nil)})
}

func TestWgetInput(t *testing.T) {
	srv := testutil.StartFileServer(t, testutil.HTTPServerOptions{}, map[string][]byte{"/notes.txt": []byte("notes\n")})
	for _, tt := range []struct{ spec, mediaType, content string }{
		{`{"type":"wget","url":"` + srv.URL + `/notes.txt"}`, "text/plain", "notes\n"},
		{`{"type":"Wget/v1","url":"` + srv.URL + `/redirect/notes.txt","mediaType":"text/markdown"}`, "text/markdown", "notes\n"},
		{`{"type":"wget","url":"` + srv.URL + `/echo","verb":"PUT","body":"aGk=","header":{"X-Test":["v"]}}`, "text/plain; charset=utf-8", "PUT hi v"},
	} {
		c, err := openWith(t, nil, tt.spec, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		rc, err := c.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if string(data) != tt.content || c.MediaType != tt.mediaType {
			t.Errorf("%s: %q %q", tt.spec, data, c.MediaType)
		}
	}
	c, err := openWith(t, nil, `{"type":"wget","url":"`+srv.URL+`/gone"}`, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Open()
	wantErr(t, err, "components[0].resources[2].input.url:", srv.URL+"/gone", "not found")
}

func TestHelmInputRemote(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	chartDir := testutil.WriteChart(t, t.TempDir(), "podinfo", "6.9.1")
	archive := testutil.ChartArchive(t, chartDir)
	local := filepath.Join(t.TempDir(), "podinfo-6.9.1.tgz")
	if err := os.WriteFile(local, archive, 0o644); err != nil {
		t.Fatal(err)
	}
	// What a downloaded chart must become: the artifact of the same archive
	// given by path.
	want, err := openHelmInput(t, `{"type":"helm","path":"`+local+`"}`, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantManifest, _, _, _ := helmParts(t, want)

	repo := testutil.StartHelmRepo(t, testutil.HTTPServerOptions{}, testutil.HelmChart{Name: "podinfo", Version: "6.9.1", Archive: archive})
	reg := testutil.StartOlareg(t)
	testutil.PushHelmChartOCI(t, reg, "charts/podinfo", "podinfo", "6.9.1", archive)
	for _, spec := range []string{
		`{"type":"helm","helmRepository":"` + repo.URL + `/podinfo:6.9.1"}`,
		`{"type":"helm","helmRepository":"` + repo.URL + `/podinfo:1.0.0","version":"6.9.1"}`,
		`{"type":"helm","helmRepository":"` + repo.URL + `/charts/podinfo-6.9.1.tgz"}`,
		`{"type":"helm","helmRepository":"oci://` + reg + `/charts/podinfo:6.9.1"}`,
		`{"type":"helm","helmRepository":"oci://` + reg + `/charts/podinfo","version":"6.9.1"}`,
	} {
		c, err := openWith(t, nil, spec, "")
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		m, _, _, layer := helmParts(t, c)
		if c.Artifact.Root.Digest != want.Artifact.Root.Digest || !bytes.Equal(layer, archive) || m.Config.Digest != wantManifest.Config.Digest {
			t.Errorf("%s: artifact %s, want %s (that of the archive given by path)", spec, c.Artifact.Root.Digest, want.Artifact.Root.Digest)
		}
		if err := c.Artifact.Close(); err != nil {
			t.Error(err)
		}
	}
	for _, tt := range []struct{ spec, want string }{
		{`{"type":"helm","helmRepository":"` + repo.URL + `/podinfo:9.9.9"}`, `chart "podinfo" has no version "9.9.9"`},
		{`{"type":"helm","helmRepository":"` + repo.URL + `/nginx:1.0.0"}`, `no chart "nginx"`},
		{`{"type":"helm","helmRepository":"oci://` + reg + `/charts/podinfo:9.9.9"}`, `no tag "9.9.9"`},
	} {
		_, err := openWith(t, nil, tt.spec, "")
		wantErr(t, err, "components[0].resources[2].input.helmRepository:", tt.want)
	}
}

func TestHelmInputTLSAndCredentials(t *testing.T) {
	archive := testutil.ChartArchive(t, testutil.WriteChart(t, t.TempDir(), "podinfo", "6.9.1"))
	repo := testutil.StartHelmRepo(t, testutil.HTTPServerOptions{TLS: true, Username: "u", Password: "p"}, testutil.HelmChart{Name: "podinfo", Version: "6.9.1", Archive: archive})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), repo.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	spec := `{"type":"helm","helmRepository":"` + repo.URL + `/podinfo:6.9.1","caCertFile":"ca.pem"}`
	_, err := openWith(t, nil, `{"type":"helm","helmRepository":"`+repo.URL+`/podinfo:6.9.1"}`, dir)
	wantErr(t, err, "input.helmRepository:", "certificate")
	_, err = openWith(t, nil, spec, dir)
	wantErr(t, err, "input.helmRepository:", "unauthorized", "type=HelmChartRepository")

	hostport := strings.TrimPrefix(repo.URL, "https://")
	host, port, _ := strings.Cut(hostport, ":")
	cfgFile := filepath.Join(dir, ".ocmconfig")
	os.WriteFile(cfgFile, []byte(`type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: HelmChartRepository, hostname: `+host+`, port: "`+port+`"}
    credentials: [{type: HelmHTTPCredentials/v1, username: u, password: p}]
`), 0o600)
	cfg, err := config.Load([]string{cfgFile})
	if err != nil {
		t.Fatal(err)
	}
	c, err := openWith(t, access.New(access.Options{Config: cfg}), spec, dir)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, layer := helmParts(t, c)
	if !bytes.Equal(layer, archive) {
		t.Error("layer is not the downloaded chart")
	}
	c.Artifact.Close()
	// caCert inline works the same.
	inline := `{"type":"helm","helmRepository":"` + repo.URL + `/podinfo:6.9.1","caCert":` + jsonString(string(repo.CAPEM)) + `}`
	if _, err := openWith(t, access.New(access.Options{Config: cfg}), inline, dir); err != nil {
		t.Fatal(err)
	}
}

func jsonString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
