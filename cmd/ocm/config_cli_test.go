package main

import (
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"
)

// A registry that needs credentials is reached with credentials given only
// through a DockerConfig/v1 repository entry of .ocmconfig: a file named
// directly, a file under ~, and an inline config.json.
func TestDockerConfigRepositoryCredentials(t *testing.T) {
	// Neither the default docker config nor a consumer supplies anything.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	home := t.TempDir()
	t.Setenv("HOME", home)
	reg := testutil.StartOlaregAuth(t, "dcuser", "dcpass")
	dockerJSON := `{"auths":{"` + reg + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("dcuser:dcpass")) + `"}}}`
	direct := filepath.Join(t.TempDir(), "config.json")
	testutil.WriteFile(t, direct, []byte(dockerJSON), 0o600)
	testutil.WriteFile(t, filepath.Join(home, ".docker-ocm", "config.json"), []byte(dockerJSON), 0o600)

	src := testutil.InteropCTF(t, testutil.Dir)
	ref := src + "//" + lib + ":0.3.1+build.7"
	if _, _, err := run(t, "transfer", "cv", ref, reg+"/anon"); err == nil || !strings.Contains(err.Error(), "credential not found") {
		t.Fatalf("transfer without credentials: %v, want no credentials", err)
	}
	for _, c := range []struct{ name, repo string }{
		{"file", `{type: DockerConfig/v1, dockerConfigFile: "` + direct + `", propagateConsumerIdentity: true}`},
		{"home", `{type: DockerConfig/v1, dockerConfigFile: "~/.docker-ocm/config.json"}`},
		{"inline", `{type: DockerConfig, dockerConfig: '` + dockerJSON + `'}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), ".ocmconfig")
			testutil.WriteFile(t, cfg, []byte(`type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  repositories:
  - repository: `+c.repo+`
`), 0o644)
			target := reg + "/" + c.name
			if _, stderr, err := run(t, "--config", cfg, "transfer", "cv", ref, target); err != nil {
				t.Fatalf("transfer with %s: %v\n%s", c.name, err, stderr)
			}
			out, stderr, err := run(t, "--config", cfg, "get", "cv", target+"//"+lib+":0.3.1+build.7", "-o", "yaml")
			if err != nil || !strings.Contains(out, "name: "+lib) {
				t.Fatalf("get cv with %s: %v\n%s%s", c.name, err, out, stderr)
			}
			if strings.Contains(stderr, "warn") {
				t.Fatalf("unexpected warning: %s", stderr)
			}
		})
	}
}

// Configuration nothing reads is named with its file: a warning, or an
// error under --strict-config; so is a repository entry of unknown type.
func TestConfigNeverSilentlyIgnored(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, ".ocmconfig")
	testutil.WriteFile(t, cfg, []byte(`type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers: []
- type: keys.config.ocm.software
  privateKeys: {}
- type: credentials.config.ocm.software
  repositories:
  - repository: {type: DockerConfig/v1, dockerConfigFile: "`+filepath.Join(dir, "missing.json")+`"}
`), 0o644)
	_, stderr, err := run(t, "--config", cfg, "get", "config")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`configuration type \"keys.config.ocm.software\" is not supported and is ignored`, "file=" + cfg, "type=keys.config.ocm.software", "missing.json offers no credentials"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("warning lacks %q:\n%s", want, stderr)
		}
	}
	_, _, err = run(t, "--strict-config", "--config", cfg, "get", "config")
	if err == nil || !strings.Contains(err.Error(), "config file "+cfg+`: configuration type "keys.config.ocm.software" is not supported`) || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("--strict-config: %v", err)
	}

	bad := filepath.Join(dir, "bad.ocmconfig")
	testutil.WriteFile(t, bad, []byte(`type: credentials.config.ocm.software
repositories:
- repository: {type: Vault/v1alpha1, address: "https://vault.example"}
`), 0o644)
	_, _, err = run(t, "--config", bad, "transfer", "cv", testutil.InteropCTF(t, testutil.Dir)+"//"+lib+":0.3.1+build.7", testutil.StartOlaregAuth(t, "u", "p")+"/x")
	if err == nil || !strings.Contains(err.Error(), "config file "+bad+": credentials.config.ocm.software repositories[0].repository: unsupported credential repository type \"Vault/v1alpha1\"") {
		t.Fatalf("unknown repository type: %v", err)
	}
}

// get config prints the merged configuration of every file read, in
// order, with no secret value.
func TestGetConfigRedactsSecrets(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.ocmconfig")
	b := filepath.Join(dir, "b.ocmconfig")
	testutil.WriteFile(t, a, []byte(`type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: OCIRegistry, hostname: ghcr.io}
    credentials:
    - {type: OCICredentials/v1, username: alice, password: s3cret-pw, identityToken: s3cret-idt, accessToken: s3cret-at}
  - identity: {type: RSA/v1alpha1, algorithm: RSASSA-PSS, signature: default}
    credentials:
    - {type: RSACredentials/v1, privateKeyPEM: "-----BEGIN RSA PRIVATE KEY-----s3cret-key", publicKeyPEMFile: keys/pub.pem}
  repositories:
  - repository: {type: DockerConfig/v1, dockerConfig: '{"auths":{"x":{"auth":"s3cret-auth"}}}'}
`), 0o644)
	testutil.WriteFile(t, b, []byte(`type: credentials.config.ocm.software
consumers:
- identity: {type: Wget, hostname: example.com}
  credentials:
  - {type: Credentials/v1, properties: {username: bob, password: s3cret-2, private_key_pem_file: /k.pem, privateKey: s3cret-pk}}
- identity: {type: HelmChartRepository, hostname: charts.example.com}
  credentials:
  - {type: HelmHTTPCredentials/v1, username: carol, password: s3cret-3, certFile: c.pem, keyFile: k.pem}
`), 0o644)
	for _, format := range []string{"yaml", "json"} {
		out, _, err := run(t, "--config", a, "--config", b, "get", "config", "-o", format)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "s3cret") {
			t.Fatalf("%s output shows a secret:\n%s", format, out)
		}
		for _, want := range []string{"generic.config.ocm.software/v1", "alice", "bob", "carol", "keys/pub.pem", "/k.pem", "k.pem", "<redacted>", "DockerConfig/v1", "RSASSA-PSS"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s output lacks %q:\n%s", format, want, out)
			}
		}
		if i, j := strings.Index(out, "alice"), strings.Index(out, "bob"); i > j {
			t.Errorf("%s output is not in file order:\n%s", format, out)
		}
		if format == "yaml" && !strings.Contains(out, "# read "+a+"\n# read "+b) {
			t.Errorf("yaml output does not name the files read:\n%s", out)
		}
	}
}
