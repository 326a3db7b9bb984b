package config

import "testing"

func TestURLIdentityMatches(t *testing.T) {
	req := map[string]string{"type": "HelmChartRepository", "scheme": "https", "hostname": "charts.example.com", "path": "stable/apps"}
	tests := []struct {
		name     string
		consumer map[string]string
		request  map[string]string
		want     bool
	}{
		{"type and host", map[string]string{"type": "HelmChartRepository", "hostname": "charts.example.com"}, req, true},
		{"versioned type", map[string]string{"type": "HelmChartRepository/v1", "hostname": "charts.example.com"}, req, true},
		{"host case", map[string]string{"type": "HelmChartRepository", "hostname": "Charts.Example.com"}, req, true},
		{"other type", map[string]string{"type": "Wget", "hostname": "charts.example.com"}, req, false},
		{"other host", map[string]string{"type": "HelmChartRepository", "hostname": "example.com"}, req, false},
		{"no type", map[string]string{"hostname": "charts.example.com"}, req, false},
		{"default https port", map[string]string{"type": "HelmChartRepository", "hostname": "charts.example.com", "port": "443"}, req, true},
		{"other port", map[string]string{"type": "HelmChartRepository", "hostname": "charts.example.com", "port": "8443"}, req, false},
		{"scheme agrees", map[string]string{"type": "HelmChartRepository", "hostname": "charts.example.com", "scheme": "https"}, req, true},
		{"oci is https", map[string]string{"type": "HelmChartRepository", "hostname": "charts.example.com", "scheme": "oci"}, req, true},
		{"scheme differs", map[string]string{"type": "HelmChartRepository", "hostname": "charts.example.com", "scheme": "http"}, req, false},
		{"path glob", map[string]string{"type": "HelmChartRepository", "hostname": "charts.example.com", "path": "stable/*"}, req, true},
		{"path prefix", map[string]string{"type": "HelmChartRepository", "hostname": "charts.example.com", "path": "stable"}, req, true},
		{"path differs", map[string]string{"type": "HelmChartRepository", "hostname": "charts.example.com", "path": "incubator/*"}, req, false},
		{"longer path", map[string]string{"type": "HelmChartRepository", "hostname": "charts.example.com", "path": "stable/apps/x"}, req, false},
		{"extra attribute", map[string]string{"type": "HelmChartRepository", "hostname": "charts.example.com", "team": "a"}, req, false},
		{"registry port", map[string]string{"type": "OCIRegistry", "hostname": "127.0.0.1", "port": "5000"}, map[string]string{"type": "OCIRegistry", "hostname": "127.0.0.1", "port": "5000", "path": "a/b"}, true},
		{"registry any port", map[string]string{"type": "OCIRegistry", "hostname": "127.0.0.1"}, map[string]string{"type": "OCIRegistry", "hostname": "127.0.0.1", "port": "5000"}, true},
	}
	for _, tt := range tests {
		if got := URLIdentityMatches(tt.consumer, tt.request); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTypedHTTPCredentials(t *testing.T) {
	entries, err := Parse([]byte(`type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: HelmChartRepository, hostname: h}
    credentials: [{type: HelmHTTPCredentials/v1, username: u, password: p, certFile: c.pem, keyFile: k.pem}]
  - identity: {type: Wget, hostname: w}
    credentials: [{type: WgetCredentials, identityToken: tok, certificateAuthority: CA}]
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Entries: entries}
	c, ok, err := cfg.CredentialsFor(map[string]string{"type": "HelmChartRepository", "hostname": "h", "scheme": "https"})
	if err != nil || !ok || c.Get(PropUsername) != "u" || c.Get(PropPassword) != "p" || c.Get(PropCertFile) != "c.pem" || c.Get(PropKeyFile) != "k.pem" {
		t.Errorf("helm: %v %v %v", c.Properties, ok, err)
	}
	c, ok, err = cfg.CredentialsFor(map[string]string{"type": "Wget", "hostname": "w", "path": "x"})
	if err != nil || !ok || c.Get(PropIdentityToken) != "tok" || c.Get(PropCertificateAuthority) != "CA" {
		t.Errorf("wget: %v %v %v", c.Properties, ok, err)
	}
	if _, ok, _ := (*Config)(nil).CredentialsFor(map[string]string{"type": "Wget"}); ok {
		t.Error("a nil config has credentials")
	}
}
