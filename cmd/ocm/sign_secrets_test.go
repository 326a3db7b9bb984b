package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/signing"
)

// sgSecretLines are the lines of a private key PEM worth looking for in
// output: the BEGIN/END lines and every base64 line long enough not to
// occur by chance.
func sgSecretLines(pemData []byte) []string {
	var out []string
	for _, l := range strings.Split(string(pemData), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "-----") || len(l) >= 16 {
			out = append(out, l)
		}
	}
	return out
}

// sgFindSecret returns the first line of a secret that text contains.
func sgFindSecret(text string, secrets map[string][]string) (name, line string) {
	for name, lines := range secrets {
		for _, l := range lines {
			if strings.Contains(text, l) {
				return name, l
			}
		}
	}
	return "", ""
}

// sgAssertNoSecret fails if any line of a secret appears in text.
func sgAssertNoSecret(t *testing.T, what, text string, secrets map[string][]string) {
	t.Helper()
	if name, l := sgFindSecret(text, secrets); name != "" {
		t.Errorf("%s contains a line of the %s: %q\n%s", what, name, l, text)
	}
}

// Private keys never reach the output: not after signing (yaml, json,
// dry-run, debug logging), and not in errors (wrong key types, keys where
// other files are expected, mismatched chains), in-process and from the
// binary (which prints the error itself).
func TestSignNeverPrintsPrivateKeys(t *testing.T) {
	dir := t.TempDir()
	key := sgKey(t, sgKeyPlain)
	rsaPEM := sgPrivatePEM(key)
	priv, pub := sgKeyFiles(t, dir, "rsa", key)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8PEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	pkcs8File := filepath.Join(dir, "rsa-pkcs8.priv")
	testutil.WriteFile(t, pkcs8File, pkcs8PEM, 0o600)

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})
	ecFile := filepath.Join(dir, "ec.priv")
	testutil.WriteFile(t, ecFile, ecPEM, 0o600)
	ec8DER, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	ec8PEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ec8DER})
	ec8File := filepath.Join(dir, "ec-pkcs8.priv")
	testutil.WriteFile(t, ec8File, ec8PEM, 0o600)
	// The same RSA key with a corrupted body (valid base64, invalid DER).
	broken := strings.Replace(string(rsaPEM), "\n", "\nAAAA", 2)
	secrets := map[string][]string{
		"RSA private key": sgSecretLines(rsaPEM), "PKCS#8 RSA private key": sgSecretLines(pkcs8PEM),
		"EC private key": sgSecretLines(ecPEM), "PKCS#8 EC private key": sgSecretLines(ec8PEM),
		"corrupted RSA private key": sgSecretLines([]byte(broken)),
	}
	// The detector itself finds a key, also one body line in other text.
	for name, pemData := range map[string][]byte{"rsa": rsaPEM, "ec": ecPEM, "broken": []byte(broken)} {
		lines := strings.Split(string(pemData), "\n")
		if found, _ := sgFindSecret("Error: x "+lines[2]+" y", secrets); found == "" || len(sgSecretLines(pemData)) < 3 {
			t.Fatalf("the secret detector misses the %s key", name)
		}
	}

	p := sgNewPKI(t) // a chain whose leaf does not certify key
	chainFile := filepath.Join(dir, "other-chain.pem")
	testutil.WriteFile(t, chainFile, sgCertsPEM(p.leaf, p.inter), 0o644)

	cfg := func(name string, props map[string]string, encoding string) string {
		var signers []sgSigner
		if encoding != "" {
			signers = []sgSigner{{Encoding: encoding}}
		}
		return sgConfig(t, filepath.Join(dir, name), []sgCred{{Signature: "default", Algorithm: "RSASSA-PSS", Props: props}}, signers)
	}
	goodFile := cfg("file.ocmconfig", map[string]string{"private_key_pem_file": priv}, "")
	goodInline := cfg("inline.ocmconfig", map[string]string{"private_key_pem": string(rsaPEM)}, "")
	pkcs8Cfg := cfg("pkcs8.ocmconfig", map[string]string{"private_key_pem_file": pkcs8File}, "")
	ecCfg := cfg("ec.ocmconfig", map[string]string{"private_key_pem_file": ecFile}, "")
	ec8Cfg := cfg("ec8.ocmconfig", map[string]string{"private_key_pem": string(ec8PEM)}, "")
	brokenCfg := cfg("broken.ocmconfig", map[string]string{"private_key_pem": broken}, "")
	pubAsPriv := cfg("pub-as-priv.ocmconfig", map[string]string{"private_key_pem_file": pub}, "")
	keyAsChain := cfg("key-as-chain.ocmconfig", map[string]string{"private_key_pem": string(rsaPEM), "public_key_pem": string(rsaPEM)}, "PEM")
	wrongChain := cfg("wrong-chain.ocmconfig", map[string]string{"private_key_pem_file": priv, "public_key_pem_file": chainFile}, "PEM")
	keyAsVerifyKey := cfg("key-as-pub.ocmconfig", map[string]string{"public_key_pem": string(rsaPEM)}, "")

	// Broken YAML around an inline key, and the key's lines as a list.
	indent := func(prefix string) string {
		var b strings.Builder
		for _, l := range strings.Split(strings.TrimSpace(string(rsaPEM)), "\n") {
			b.WriteString(prefix + l + "\n")
		}
		return b.String()
	}
	head := "type: generic.config.ocm.software/v1\nconfigurations:\n- type: credentials.config.ocm.software\n  consumers:\n" +
		"  - identity: {type: RSA/v1alpha1, algorithm: RSASSA-PSS, signature: default}\n    credentials:\n    - type: Credentials/v1\n      properties:\n"
	badYAML := filepath.Join(dir, "bad-yaml.ocmconfig")
	testutil.WriteFile(t, badYAML, []byte(head+"        private_key_pem: |\n"+indent("          ")+"        other: [unclosed\n"), 0o600)
	keyList := filepath.Join(dir, "key-list.ocmconfig")
	testutil.WriteFile(t, keyList, []byte(head+"        private_key_pem:\n"+indent("          - ")), 0o600)

	base := sgBuild(t, sgChainConstructor, map[string]string{"readme.txt": "secrets test\n"}, "ctf")
	const comp = "example.com/chain/app:2.0.0"
	signed := filepath.Join(t.TempDir(), "signed")
	testutil.CopyDir(t, base, signed)
	if _, _, err := run(t, "--config", goodFile, "sign", "cv", signed+"//"+comp); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		archive string // base (unsigned) when empty
		args    []string
		wantErr string // "" : must succeed
	}{
		{"sign yaml", "", []string{"--config", goodFile, "sign", "cv", "REF"}, ""},
		{"sign json inline key", "", []string{"--config", goodInline, "sign", "cv", "REF", "-o", "json"}, ""},
		{"sign pkcs8", "", []string{"--config", pkcs8Cfg, "sign", "cv", "REF"}, ""},
		{"dry-run debug", "", []string{"--config", goodInline, "--loglevel", "debug", "sign", "cv", "REF", "--dry-run"}, ""},
		{"dry-run json log to stdout", "", []string{"--config", goodInline, "--loglevel", "debug", "--logformat", "json", "--logoutput", "stdout", "sign", "cv", "REF", "--dry-run", "-o", "json"}, ""},
		{"already signed", signed, []string{"--config", goodInline, "sign", "cv", "REF"}, "already has a signature"},
		{"EC key", "", []string{"--config", ecCfg, "sign", "cv", "REF"}, "only RSA keys are supported"},
		{"PKCS#8 EC key inline", "", []string{"--config", ec8Cfg, "sign", "cv", "REF"}, "only RSA keys are supported"},
		{"corrupted key", "", []string{"--config", brokenCfg, "sign", "cv", "REF"}, "private key"},
		{"public key as private key", "", []string{"--config", pubAsPriv, "sign", "cv", "REF"}, "no RSA private key"},
		{"private key as chain", "", []string{"--config", keyAsChain, "sign", "cv", "REF"}, "certificate chain"},
		{"chain of another key", "", []string{"--config", wrongChain, "sign", "cv", "REF"}, "does not certify the signing key"},
		{"private key as signer spec", "", []string{"--config", goodInline, "sign", "cv", "REF", "--signer-spec", priv}, "--signer-spec"},
		{"private key as config file", "", []string{"--config", priv, "sign", "cv", "REF"}, "config file"},
		{"private key as --public-key", signed, []string{"verify", "cv", "REF", "--public-key", priv}, "no RSA public key"},
		{"private key as configured public key", signed, []string{"--config", keyAsVerifyKey, "verify", "cv", "REF"}, "no RSA public key"},
		{"broken YAML around an inline key", "", []string{"--config", badYAML, "sign", "cv", "REF"}, "parsing YAML"},
		{"key lines as a list", "", []string{"--config", keyList, "sign", "cv", "REF"}, "cannot unmarshal"},
		{"bad output format", "", []string{"--config", goodInline, "sign", "cv", "REF", "-o", "table"}, "--output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.archive
			if src == "" {
				src = base
			}
			archive := filepath.Join(t.TempDir(), "ctf")
			testutil.CopyDir(t, src, archive)
			args := append([]string(nil), tt.args...)
			for i, a := range args {
				if a == "REF" {
					args[i] = archive + "//" + comp
				}
			}
			out, stderr, err := run(t, args...)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("%v\n%s%s", err, out, stderr)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("want an error containing %q, got %v\n%s%s", tt.wantErr, err, out, stderr)
			}
			if err != nil {
				t.Logf("error: %v", err)
			}
			sgAssertNoSecret(t, "stdout", out, secrets)
			sgAssertNoSecret(t, "stderr", stderr, secrets)
			if err != nil {
				sgAssertNoSecret(t, "the error", err.Error(), secrets)
				// The binary prints the error itself.
				testutil.CopyDir(t, src, archive+"-bin")
				for i, a := range args {
					args[i] = strings.Replace(a, archive+"//", archive+"-bin//", 1)
				}
				combined, code := runBinary(t, args...)
				if code == 0 {
					t.Fatalf("binary exited 0:\n%s", combined)
				}
				sgAssertNoSecret(t, "the binary's output", combined, secrets)
			}
		})
	}
}

// create rsakeypair writes the private key with mode 0600 and prints only
// the file names.
func TestSignCreateKeyPairPrintsNoKey(t *testing.T) {
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "k.priv"), filepath.Join(dir, "k.pub")
	out, stderr, err := run(t, "create", "rsakeypair", priv, pub)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signing.ParsePrivateKey(data); err != nil {
		t.Fatalf("private key file: %v", err)
	}
	sgAssertNoSecret(t, "create rsakeypair output", out+stderr, map[string][]string{"generated key": sgSecretLines(data)})
	if fi, err := os.Stat(priv); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file mode: %v %v", fi.Mode(), err)
	}
	pubData, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	if k, _, err := signing.ParsePublicKey(pubData); err != nil || k.N.BitLen() != 2048 {
		t.Fatalf("public key file: %v", err)
	}
	// An existing key is not overwritten.
	if _, _, err := run(t, "create", "rsakeypair", priv, pub); err == nil || !strings.Contains(err.Error(), "not overwriting") {
		t.Fatalf("second create: %v", err)
	}
	if again, _ := os.ReadFile(priv); string(again) != string(data) {
		t.Fatal("the private key was overwritten")
	}
}

// Signing without a configured key names the config files that were read.
func TestSignWithoutKeyNamesConfigFiles(t *testing.T) {
	dir := t.TempDir()
	_, pub := sgKeyFiles(t, dir, "rsa", sgKey(t, sgKeyPlain))
	archive := sgBuild(t, sgChainConstructor, map[string]string{"readme.txt": "no key\n"}, "ctf")
	ref := archive + "//example.com/chain/app:2.0.0"
	// A config with a signer entry, a consumer for another signature and one with only a public key.
	cfg := sgConfig(t, filepath.Join(dir, "partial.ocmconfig"), []sgCred{
		{Signature: "other", Algorithm: "RSASSA-PSS", Props: map[string]string{"private_key_pem_file": filepath.Join(dir, "rsa.priv")}},
		{Signature: "default", Algorithm: "RSASSA-PKCS1-V1_5", Props: map[string]string{"public_key_pem_file": pub}},
	}, []sgSigner{{Algorithm: "RSASSA-PKCS1-V1_5"}})
	second := sgConfig(t, filepath.Join(dir, "second.ocmconfig"), nil, nil)

	tests := []struct {
		name  string
		args  []string
		files []string
	}{
		{"no consumer", []string{"--config", second, "sign", "cv", ref, "--signature", "nokey"}, []string{second}},
		{"consumer without private key", []string{"--config", cfg, "--config", second, "sign", "cv", ref}, []string{cfg, second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := testutil.Snapshot(t, archive, nil)
			_, _, err := run(t, tt.args...)
			if err == nil {
				t.Fatal("signing without a key succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, "no private key configured") || !strings.Contains(msg, "config files read:") {
				t.Fatalf("error does not say that no key is configured and which files were read: %v", err)
			}
			for _, f := range tt.files {
				if !strings.Contains(msg, f) {
					t.Errorf("error does not name the config file %s: %v", f, err)
				}
			}
			if d := testutil.DiffSnapshots(before, testutil.Snapshot(t, archive, nil)); d != "" {
				t.Errorf("archive changed: %s", d)
			}
			combined, code := runBinary(t, tt.args...)
			if code == 0 || !strings.Contains(combined, "no private key configured") {
				t.Fatalf("binary: exit %d\n%s", code, combined)
			}
		})
	}
}
