package sigstore_test

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/sigstoretest"
	"github.com/ocmgo/ocm/signing/sigstore"
)

// TestCosignInterop: cosign v3 (built from the module proxy) accepts our
// bundles for the raw digest bytes, and we accept bundles cosign made over
// the same bytes with the same stack: the wire format is cosign's, which
// is what the reference OCM v2 handler runs. The stack has no CT log, so
// cosign is told not to require SCTs (--insecure-ignore-sct); everything
// else, chain, identity, issuer, timestamps and the Rekor v2 entry, it checks.
func TestCosignInterop(t *testing.T) {
	st := sigstoretest.Shared(t)
	tr, err := sigstore.ParseTrustedRoot(st.TrustedRootJSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, signingConfig string
		private             bool
	}{{"tsa+rekor", st.SigningConfig, false}, {"tsa only", st.SigningConfigTSA, true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := digestOf("cosign " + tc.name)
			data := filepath.Join(dir, "digest.bin")
			if err := os.WriteFile(data, mustHex(t, d.Value), 0o644); err != nil {
				t.Fatal(err)
			}
			verifyArgs := []string{"verify-blob", "--trusted-root", st.TrustedRoot, "--certificate-identity", "alice@example.com",
				"--certificate-oidc-issuer", st.Issuer.URL, "--insecure-ignore-sct"}
			if tc.private {
				verifyArgs = append(verifyArgs, "--insecure-ignore-tlog", "--use-signed-timestamps")
			}

			// ours -> cosign
			sig, err := stackSigner(t, st, tc.signingConfig, "alice@example.com").Sign(d)
			if err != nil {
				t.Fatal(err)
			}
			ours := filepath.Join(dir, "ours.json")
			raw, _ := base64.StdEncoding.DecodeString(sig.Value)
			if err := os.WriteFile(ours, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			cosign(t, st, append(verifyArgs, "--bundle", ours, data)...)
			// cosign must also refuse it for other bytes (the check is real).
			other := filepath.Join(dir, "other.bin")
			os.WriteFile(other, []byte("other"), 0o644)
			if out, err := exec.Command(st.Cosign(), append(verifyArgs, "--bundle", ours, other)...).CombinedOutput(); err == nil {
				t.Fatalf("cosign verified our bundle for other bytes:\n%s", out)
			}

			// cosign -> ours
			theirs := filepath.Join(dir, "theirs.json")
			tokenFile := filepath.Join(dir, "token")
			if err := os.WriteFile(tokenFile, []byte(st.Token(t, "alice@example.com")), 0o600); err != nil {
				t.Fatal(err)
			}
			cosign(t, st, "sign-blob", "--yes", "--signing-config", tc.signingConfig, "--trusted-root", st.TrustedRoot,
				"--identity-token", tokenFile, "--bundle", theirs, data)
			bundle, err := os.ReadFile(theirs)
			if err != nil {
				t.Fatal(err)
			}
			cfg := verifyConfig(st.Issuer.URL, "alice@example.com")
			cfg.PrivateInfrastructure = tc.private
			theirSig := descriptor.SignatureSpec{Algorithm: sigstore.Algorithm, MediaType: sigstore.MediaType, Value: base64.StdEncoding.EncodeToString(bundle)}
			id, err := (&sigstore.Verifier{Config: cfg, TrustedRoot: tr}).Verify(d, theirSig)
			if err != nil {
				t.Fatalf("cosign's bundle: %v\n%s", err, bundle)
			}
			if id.Subject != "alice@example.com" {
				t.Fatalf("identity %+v", id)
			}
			if _, err := (&sigstore.Verifier{Config: cfg, TrustedRoot: tr}).Verify(digestOf("other"), theirSig); err == nil {
				t.Fatal("cosign's bundle verified for another digest")
			}
		})
	}
}

func cosign(t *testing.T, st *sigstoretest.Stack, args ...string) {
	t.Helper()
	cmd := exec.Command(st.Cosign(), args...)
	// No TUF, no ambient credentials: everything comes from the flags.
	cmd.Env = append(os.Environ(), "TUF_ROOT="+t.TempDir(), "SIGSTORE_ID_TOKEN=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
