package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func configFrom(t *testing.T, doc string) *Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), ".ocmconfig")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCredentialRepositories(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory")
	}
	tests := []struct {
		name     string
		repos    string
		wantPath []string
		wantErr  string
	}{
		{"file", `[{repository: {type: DockerConfig/v1, dockerConfigFile: /d/config.json, propagateConsumerIdentity: true}}]`, []string{"/d/config.json"}, ""},
		{"home", `[{repository: {type: DockerConfig/v1, dockerConfigFile: "~/.docker/config.json"}}]`, []string{home + "/.docker/config.json"}, ""},
		{"unversioned and default", `[{repository: {type: DockerConfig}}, {repository: {type: DockerConfig/v1, dockerConfig: "{}"}}]`, []string{"", ""}, ""},
		{"unknown type", `[{repository: {type: Vault/v1alpha1}}]`, nil, `repositories[0].repository: unsupported credential repository type "Vault/v1alpha1"`},
		{"no repository", `[{foo: bar}]`, nil, "repositories[0].repository: missing"},
		{"both", `[{repository: {type: DockerConfig/v1, dockerConfig: "{}", dockerConfigFile: /x}}]`, nil, "not both"},
		{"not a list", `{repository: {}}`, nil, "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configFrom(t, "type: credentials.config.ocm.software\nrepositories: "+tt.repos+"\n")
			repos, err := c.CredentialRepositories()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), c.Files[0]) {
					t.Fatalf("want error naming the file and %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(repos) != len(tt.wantPath) {
				t.Fatalf("%d repositories, want %d", len(repos), len(tt.wantPath))
			}
			for i, r := range repos {
				p, err := r.Path()
				if err != nil || p != tt.wantPath[i] {
					t.Errorf("repositories[%d]: path %q (%v), want %q", i, p, err, tt.wantPath[i])
				}
			}
		})
	}
}

func TestProblems(t *testing.T) {
	dir := t.TempDir()
	present := filepath.Join(dir, "config.json")
	if err := os.WriteFile(present, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := configFrom(t, `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software/v1
  repositories:
  - repository: {type: DockerConfig/v1, dockerConfigFile: `+present+`}
  - repository: {type: DockerConfig/v1, dockerConfigFile: `+filepath.Join(dir, "absent.json")+`}
- type: signing.config.ocm.software/v1alpha1
- type: uploader.config.ocm.software
- type: credentials.config.ocm.software.evil
`)
	var got []string
	for _, p := range c.Problems() {
		if p.File != c.Files[0] {
			t.Errorf("problem names file %q, want %q", p.File, c.Files[0])
		}
		got = append(got, p.Type)
	}
	if strings.Join(got, ",") != "uploader.config.ocm.software,credentials.config.ocm.software.evil,DockerConfig/v1" {
		t.Fatalf("problems for types %v", got)
	}
	if err := Strict(c.Problems()); err == nil || !strings.Contains(err.Error(), "absent.json") {
		t.Fatalf("Strict: %v", err)
	}
	if err := Strict(nil); err != nil {
		t.Fatalf("Strict without problems: %v", err)
	}
}

func TestRedacted(t *testing.T) {
	c := configFrom(t, `type: credentials.config.ocm.software
consumers:
- identity: {type: OCIRegistry, hostname: ghcr.io}
  credentials:
  - type: Credentials/v1
    properties: {username: u, password: SECRET, identityToken: SECRET, refresh_token: SECRET, private_key_pem: SECRET, private_key_pem_file: f.pem, certificateAuthority: CA, password_empty_ok: ""}
repositories:
- repository: {type: DockerConfig/v1, dockerConfig: SECRET, dockerConfigFile: ""}
`)
	doc, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if strings.Contains(s, "SECRET") {
		t.Fatalf("secret left: %s", s)
	}
	for _, want := range []string{`"username":"u"`, `"private_key_pem_file":"f.pem"`, `"certificateAuthority":"CA"`, `"password":"\u003credacted\u003e"`, `"dockerConfigFile":""`} {
		if !strings.Contains(s, want) {
			t.Errorf("lacks %s: %s", want, s)
		}
	}
}
