package oci

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ocmgo/ocm/config"
)

func TestCredentials(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	// docker config: base64("duser:dpass")
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{"docker.example.com":{"auth":"ZHVzZXI6ZHBhc3M="}}}`), 0o600)
	cfgFile := filepath.Join(dir, "ocmconfig")
	os.WriteFile(cfgFile, []byte(`type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: OCIRegistry, hostname: reg.example.com, port: "5000", path: "org/*"}
    credentials:
    - type: Credentials/v1
      properties: {username: ocmuser, password: ocmpass}
  - identity: {type: OCIRegistry/v1, hostname: tok.example.com}
    credentials:
    - type: OCICredentials/v1
      identityToken: refresh
`), 0o644)
	cfg, err := config.Load([]string{cfgFile})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		host, path, user, pass, token string
	}{
		{"reg.example.com:5000", "org/team", "ocmuser", "ocmpass", ""},
		{"reg.example.com:5001", "org/team", "", "", ""},   // port differs
		{"reg.example.com:5000", "other/team", "", "", ""}, // path differs
		{"tok.example.com", "", "", "", "refresh"},
		{"docker.example.com", "x", "duser", "dpass", ""},
		{"anon.example.com", "x", "", "", ""},
	}
	for _, tt := range tests {
		cred, err := Credentials(cfg, tt.path)(ctx, tt.host)
		if err != nil {
			t.Fatalf("%s: %v", tt.host, err)
		}
		if cred.Username != tt.user || cred.Password != tt.pass || cred.RefreshToken != tt.token {
			t.Errorf("%s %s: got user %q token %q", tt.host, tt.path, cred.Username, cred.RefreshToken)
		}
	}
}
