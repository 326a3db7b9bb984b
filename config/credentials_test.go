package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCredentialsLookup(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "key.pem"), []byte("PRIVATE"), 0o600)
	cfgFile := filepath.Join(dir, "ocmconfig")
	os.WriteFile(cfgFile, []byte(`type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: RSA/v1alpha1, algorithm: RSASSA-PSS, signature: default}
    credentials:
    - type: Credentials/v1
      properties: {private_key_pem_file: key.pem, public_key_pem: PUBLIC}
  - identity: {type: RSA, algorithm: RSASSA-PKCS1-V1_5, signature: release}
    credentials:
    - type: RSACredentials/v1
      privateKeyPEM: INLINE
  - identities:
    - {type: OCIRegistry, hostname: ghcr.io}
    credentials:
    - type: OCICredentials/v1
      username: u
      password: secret-password
- type: signing.config.ocm.software/v1alpha1
  signer: {type: RSASigningConfiguration/v1alpha1, signatureAlgorithm: RSASSA-PKCS1-V1_5}
- type: signing.config.ocm.software/v1alpha1
  signature: pem
  signer: {type: RSASigningConfiguration/v1alpha1, signatureEncodingPolicy: PEM}
`), 0o644)
	cfg, err := Load([]string{cfgFile})
	if err != nil {
		t.Fatal(err)
	}
	c, ok, err := cfg.Credentials(map[string]string{"type": "RSA/v1alpha1", "algorithm": "RSASSA-PSS", "signature": "default"})
	if err != nil || !ok {
		t.Fatalf("default: %v %v", ok, err)
	}
	key, err := c.ReadPEM(PropPrivateKeyPEM, PropPrivateKeyPEMFile)
	if err != nil || string(key) != "PRIVATE" {
		t.Fatalf("key file relative to the config: %q %v", key, err)
	}
	if pub, _ := c.ReadPEM(PropPublicKeyPEM, PropPublicKeyPEMFile); string(pub) != "PUBLIC" {
		t.Fatalf("public %q", pub)
	}
	c, ok, _ = cfg.Credentials(map[string]string{"type": "RSA/v1alpha1", "algorithm": "RSASSA-PKCS1-V1_5", "signature": "release"})
	if !ok || c.Get(PropPrivateKeyPEM) != "INLINE" {
		t.Fatalf("typed RSACredentials: %v %v", ok, c)
	}
	if _, ok, _ := cfg.Credentials(map[string]string{"type": "RSA/v1alpha1", "algorithm": "RSASSA-PSS", "signature": "other"}); ok {
		t.Fatal("identity must match on every attribute")
	}
	c, ok, _ = cfg.Credentials(map[string]string{"type": "OCIRegistry", "hostname": "ghcr.io"})
	if !ok || c.Get(PropPassword) != "secret-password" {
		t.Fatalf("OCI credentials: %v", ok)
	}
	if strings.Contains(c.String(), "secret-password") || strings.Contains(fmtV(c), "secret") {
		t.Fatalf("credentials printed: %s", c)
	}
	sc, err := cfg.Signer("default", false)
	if err != nil || sc.SignatureAlgorithm != "RSASSA-PKCS1-V1_5" || sc.SignatureEncodingPolicy != "Plain" {
		t.Fatalf("fallback signer %+v %v", sc, err)
	}
	sc, _ = cfg.Signer("pem", false)
	if sc.SignatureAlgorithm != "RSASSA-PKCS1-V1_5" || sc.SignatureEncodingPolicy != "PEM" {
		t.Fatalf("named signer %+v", sc)
	}
	if sc, _ := (&Config{}).Signer("x", true); sc.SignatureAlgorithm != "RSASSA-PSS" {
		t.Fatalf("default verifier %+v", sc)
	}
}

func fmtV(c Credentials) string { return c.String() }
