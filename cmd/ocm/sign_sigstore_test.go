package main

// Keyless signing with Sigstore through the CLI against the local stack
// (internal/sigstoretest): sign with an OIDC token from .ocmconfig or the
// environment, verify offline with only the trusted root file at every hop
// of CTF -> registry -> .tgz, and the rejections. Every top-level name
// starts with ks.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/sigstoretest"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/signing/sigstore"
)

const ksConstructor = `components:
- name: example.com/keyless/app
  version: 1.0.0
  provider: {name: example.com}
  resources:
  - {name: readme, type: plainText, input: {type: file, path: app.txt, mediaType: text/plain}}
  componentReferences:
  - {name: lib, componentName: example.com/keyless/lib, version: 1.0.0}
- name: example.com/keyless/lib
  version: 1.0.0
  provider: {name: example.com}
  resources:
  - {name: readme, type: plainText, input: {type: file, path: lib.txt, mediaType: text/plain}}
  componentReferences:
  - {name: base, componentName: example.com/keyless/base, version: 1.0.0}
- name: example.com/keyless/base
  version: 1.0.0
  provider: {name: example.com}
  resources:
  - {name: readme, type: plainText, input: {type: file, path: base.txt, mediaType: text/plain}}
`

// ksYAML writes v as YAML to dir/name and returns the path.
func ksYAML(t *testing.T, dir, name string, v any) string {
	t.Helper()
	data, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	testutil.WriteFile(t, p, data, 0o600)
	return p
}

// ksConfigs writes the signer's .ocmconfig (token and signing config, no
// trusted root), the verifier's (the trusted root file only) and a
// verifier spec for alice at the stack's issuer.
func ksConfigs(t *testing.T, st *sigstoretest.Stack) (signCfg, verifyCfg, verifySpec string) {
	t.Helper()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token.jwt")
	testutil.WriteFile(t, tokenFile, []byte(st.Token(t, "alice@example.com")), 0o600)
	signCfg = ksYAML(t, dir, "sign.ocmconfig", map[string]any{"type": "generic.config.ocm.software/v1", "configurations": []any{
		map[string]any{"type": "credentials.config.ocm.software", "consumers": []any{map[string]any{
			"identity":    map[string]string{"type": sigstore.SignerIdentityType, "signature": "default"},
			"credentials": []any{map[string]string{"type": "OIDCIdentityToken/v1alpha1", "tokenFile": "token.jwt"}},
		}}},
		map[string]any{"type": "signing.config.ocm.software/v1alpha1", "signer": map[string]string{
			"type": "SigstoreSigningConfiguration/v1alpha1", "signingConfig": st.SigningConfig}},
	}})
	verifyCfg = ksYAML(t, dir, "verify.ocmconfig", map[string]any{"type": "generic.config.ocm.software/v1", "configurations": []any{
		map[string]any{"type": "credentials.config.ocm.software", "consumers": []any{map[string]any{
			"identity":    map[string]string{"type": sigstore.VerifierIdentityType, "signature": "default"},
			"credentials": []any{map[string]string{"type": "TrustedRoot/v1alpha1", "trustedRootJSONFile": st.TrustedRoot}},
		}}},
	}})
	verifySpec = ksYAML(t, dir, "verify.yaml", map[string]string{"type": "SigstoreVerificationConfiguration/v1alpha1",
		"certificateIdentity": "alice@example.com", "certificateOIDCIssuer": st.Issuer.URL})
	return signCfg, verifyCfg, verifySpec
}

// ksVerified checks verify cv's table: the keyless signature verified with
// identity and issuer named, every other row ok.
func ksVerified(t *testing.T, out, cv, issuer string) {
	t.Helper()
	rows := sgVerifyLines(t, out)
	want := [3]string{cv, "signature default (Sigstore/v1alpha1)", "verified (identity alice@example.com, issuer " + issuer + ")"}
	if len(rows) == 0 || rows[0] != want {
		t.Fatalf("first row %q, want %q\n%s", rows, want, out)
	}
	versions := map[string]bool{}
	for _, r := range rows[1:] {
		versions[r[0]] = true
		if r[2] != "ok" {
			t.Fatalf("row %q is not ok\n%s", r, out)
		}
	}
	if len(versions) != 3 {
		t.Fatalf("%d component versions verified, want 3\n%s", len(versions), out)
	}
}

func TestKeylessSignTransferVerify(t *testing.T) {
	st := sigstoretest.Shared(t)
	const cv = "example.com/keyless/app:1.0.0"
	src := sgBuild(t, ksConstructor, map[string]string{"app.txt": "app\n", "lib.txt": "lib\n", "base.txt": "base\n"}, "ctf")
	signCfg, verifyCfg, verifySpec := ksConfigs(t, st)
	t.Setenv(sigstore.EnvIDToken, "")

	start := time.Now()
	out := agRun(t, "--config", signCfg, "sign", "cv", src+"//"+cv)
	t.Logf("sign cv (3 versions, Fulcio + TSA + Rekor v2): %s", time.Since(start))
	if !strings.Contains(out, "algorithm: Sigstore/v1alpha1") || !strings.Contains(out, "mediaType: "+sigstore.MediaType) {
		t.Fatalf("sign output:\n%s", out)
	}
	sig := sgSignature(t, sgGetCV(t, src+"//"+cv), "default")
	if id, err := sigstore.BundleIdentity(sig.Signature.Value); err != nil || id.Subject != "alice@example.com" {
		t.Fatalf("bundle identity %+v %v", id, err)
	}

	// Every hop verifies offline with the trusted root file alone.
	a := agRegistry(t) + "/ocm"
	tgz := filepath.Join(t.TempDir(), "airgap.tgz")
	agRun(t, "transfer", "cv", "--recursive", src+"//"+cv, a)
	agRun(t, "transfer", "cv", "--recursive", a+"//"+cv, tgz)
	for _, repo := range []string{src, a, "ctf::" + tgz} {
		start := time.Now()
		out := agRun(t, "--config", verifyCfg, "verify", "cv", repo+"//"+cv, "--verifier-spec", verifySpec)
		t.Logf("verify cv at %s: %s", repo, time.Since(start))
		ksVerified(t, out, cv, st.Issuer.URL)
	}
}

// TestKeylessSignerSpecAndEnvToken: --signer-spec with a
// SigstoreSigningConfiguration and the token from $SIGSTORE_ID_TOKEN; the
// verifier from the configuration's verifier entry.
func TestKeylessSignerSpecAndEnvToken(t *testing.T) {
	st := sigstoretest.Shared(t)
	const cv = "example.com/keyless/app:1.0.0"
	src := sgBuild(t, ksConstructor, map[string]string{"app.txt": "app\n", "lib.txt": "lib\n", "base.txt": "base\n"}, "ctf")
	dir := t.TempDir()
	spec := ksYAML(t, dir, "sign.yaml", map[string]string{"type": "SigstoreSigningConfiguration/v1alpha1", "signingConfig": st.SigningConfigTSA})
	t.Setenv(sigstore.EnvIDToken, st.Token(t, "bob@example.com"))
	agRun(t, "sign", "cv", src+"//"+cv, "--signer-spec", spec)

	cfg := ksYAML(t, dir, "verify.ocmconfig", map[string]any{"type": "generic.config.ocm.software/v1", "configurations": []any{
		map[string]any{"type": "credentials.config.ocm.software", "consumers": []any{map[string]any{
			"identity":    map[string]string{"type": sigstore.VerifierIdentityType, "signature": "default"},
			"credentials": []any{map[string]string{"type": "TrustedRoot/v1alpha1", "trustedRootJSON": string(st.TrustedRootJSON)}},
		}}},
		map[string]any{"type": "signing.config.ocm.software/v1alpha1", "verifier": map[string]any{
			"type": "SigstoreVerificationConfiguration/v1alpha1", "privateInfrastructure": true,
			"certificateIdentityRegexp": `^bob@example\.com$`, "certificateOIDCIssuerRegexp": "^http://127\\.0\\.0\\.1:"}},
	}})
	out := agRun(t, "--config", cfg, "verify", "cv", src+"//"+cv)
	if !strings.Contains(out, "verified (identity bob@example.com, issuer "+st.Issuer.URL+")") {
		t.Fatalf("verify output:\n%s", out)
	}
	// download --verify checks the keyless signature the same way.
	dl := filepath.Join(t.TempDir(), "readme")
	agRun(t, "--config", cfg, "download", "resource", src+"//"+cv, "--identity", "name=readme", "--output", dl, "--verify")
	if got, err := os.ReadFile(dl); err != nil || string(got) != "app\n" {
		t.Fatalf("downloaded %q, %v", got, err)
	}
}

// TestKeylessRejected: each failure through the CLI, non-zero with a
// message naming the cause.
func TestKeylessRejected(t *testing.T) {
	st := sigstoretest.Shared(t)
	const comp, version = "example.com/keyless/app", "1.0.0"
	const cv = comp + ":" + version
	src := sgBuild(t, ksConstructor, map[string]string{"app.txt": "app\n", "lib.txt": "lib\n", "base.txt": "base\n"}, "ctf")
	signCfg, verifyCfg, verifySpec := ksConfigs(t, st)
	t.Setenv(sigstore.EnvIDToken, "")
	agRun(t, "--config", signCfg, "sign", "cv", src+"//"+cv)
	dir := t.TempDir()
	spec := func(name, identity, issuer string) string {
		return ksYAML(t, dir, name, map[string]string{"type": "SigstoreVerificationConfiguration/v1alpha1", "certificateIdentity": identity, "certificateOIDCIssuer": issuer})
	}
	noRoot := ksYAML(t, dir, "empty.ocmconfig", map[string]any{"type": "generic.config.ocm.software/v1", "configurations": []any{}})

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"wrong identity", []string{"--config", verifyCfg, "verify", "cv", src + "//" + cv, "--verifier-spec", spec("mallory.yaml", "mallory@example.com", st.Issuer.URL)},
			[]string{"FAILED", "mallory@example.com", "signed by identity alice@example.com"}},
		{"wrong issuer", []string{"--config", verifyCfg, "verify", "cv", src + "//" + cv, "--verifier-spec", spec("issuer.yaml", "alice@example.com", "https://accounts.example.com")},
			[]string{"FAILED", "https://accounts.example.com"}},
		{"missing trusted root", []string{"--config", noRoot, "verify", "cv", src + "//" + cv, "--verifier-spec", verifySpec},
			[]string{"no trusted root configured", "type=SigstoreVerifier/v1alpha1, signature=default"}},
		{"no verifier spec", []string{"--config", verifyCfg, "verify", "cv", src + "//" + cv},
			[]string{"SigstoreVerificationConfiguration/v1alpha1", "--verifier-spec"}},
		{"no token", []string{"--config", noRoot, "sign", "cv", src + "//" + cv, "--force", "--signer-spec", ksYAML(t, dir, "s.yaml", map[string]string{"type": "SigstoreSigningConfiguration/v1alpha1", "signingConfig": st.SigningConfig})},
			[]string{"no OIDC identity token", "SIGSTORE_ID_TOKEN", "type=SigstoreSigner/v1alpha1, signature=default"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := run(t, tc.args...)
			if err == nil {
				t.Fatalf("succeeded:\n%s", out)
			}
			if miss := sgContainsAll(out+stderr+err.Error(), tc.want...); miss != "" {
				t.Fatalf("output does not mention %q:\n%s\n%s\n%v", miss, out, stderr, err)
			}
		})
	}

	// A tampered descriptor: the signed digest no longer matches.
	sgReplace(t, src, comp, version, func(cd *descriptor.Descriptor) {
		cd.Component.Provider = "mallory.example.com"
	})
	out, _, err := run(t, "--config", verifyCfg, "verify", "cv", src+"//"+cv, "--verifier-spec", verifySpec)
	if err == nil || !strings.Contains(err.Error(), "descriptor digest mismatch") {
		t.Fatalf("tampered descriptor: %v\n%s", err, out)
	}
}

// TestKeylessGraph200Versions: the 200-version DAG signed keylessly at its
// root through the CLI and verified offline; the times are logged (the
// closing note of issue 17 quotes them).
func TestKeylessGraph200Versions(t *testing.T) {
	st := sigstoretest.Shared(t)
	archive := sgBuildGraph(t, sgGraphSize, sgGraphNode, sgGraphChildren)
	root, rootVersion := sgGraphNode(0)
	ref := archive + "//" + root + ":" + rootVersion
	signCfg, verifyCfg, verifySpec := ksConfigs(t, st)
	t.Setenv(sigstore.EnvIDToken, "")

	start := time.Now()
	agRun(t, "--config", signCfg, "sign", "cv", ref)
	t.Logf("sign cv over %d versions (content re-hashed, Fulcio + TSA + Rekor v2): %s", sgGraphSize, time.Since(start))
	for _, args := range [][]string{{}, {"--no-content"}} {
		start = time.Now()
		out := agRun(t, append([]string{"--config", verifyCfg, "verify", "cv", ref, "--verifier-spec", verifySpec}, args...)...)
		t.Logf("verify cv %v over %d versions: %s", args, sgGraphSize, time.Since(start))
		rows := sgVerifyLines(t, out)
		want := [3]string{root + ":" + rootVersion, "signature default (Sigstore/v1alpha1)", "verified (identity alice@example.com, issuer " + st.Issuer.URL + ")"}
		if rows[0] != want {
			t.Fatalf("first row %q, want %q", rows[0], want)
		}
		versions := map[string]bool{}
		for _, r := range rows[1:] {
			versions[r[0]] = true
			if r[2] != "ok" {
				t.Fatalf("row %q", r)
			}
		}
		if len(versions) != sgGraphSize {
			t.Fatalf("%d versions verified, want %d", len(versions), sgGraphSize)
		}
	}
}
