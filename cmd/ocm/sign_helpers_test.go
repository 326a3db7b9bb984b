package main

// Helpers shared by the sign_*_test.go files (ocm sign cv / verify cv
// acceptance tests). Every top-level name starts with sg so that it does not
// clash with test files others add to this package.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// Indexes into the key pool. Each key is generated once per test binary.
const (
	sgKeyRoot      = iota // root CA
	sgKeyInter            // intermediate CA
	sgKeyLeaf             // leaf (code signing)
	sgKeyOtherRoot        // an unrelated CA
	sgKeyPlain            // plain (hex) signatures
	sgKeyCount
)

var (
	sgKeysOnce sync.Once
	sgKeys     [sgKeyCount]*rsa.PrivateKey
	sgKeysErr  error
)

// sgKey returns pool key i (2048 bits), generating the whole pool in
// parallel on first use.
func sgKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	sgKeysOnce.Do(func() {
		var wg sync.WaitGroup
		errs := make([]error, sgKeyCount)
		for i := range sgKeys {
			wg.Go(func() { sgKeys[i], errs[i] = rsa.GenerateKey(rand.Reader, 2048) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				sgKeysErr = err
			}
		}
	})
	if sgKeysErr != nil {
		t.Fatal(sgKeysErr)
	}
	return sgKeys[i]
}

// sgPrivatePEM is the PKCS#1 PEM of key.
func sgPrivatePEM(key *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

// sgPublicPEM is the PKIX PEM of key's public key.
func sgPublicPEM(t testing.TB, key *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// sgKeyFiles writes key as dir/<name>.priv (0600) and dir/<name>.pub.
func sgKeyFiles(t testing.TB, dir, name string, key *rsa.PrivateKey) (priv, pub string) {
	t.Helper()
	priv, pub = filepath.Join(dir, name+".priv"), filepath.Join(dir, name+".pub")
	testutil.WriteFile(t, priv, sgPrivatePEM(key), 0o600)
	testutil.WriteFile(t, pub, sgPublicPEM(t, key), 0o644)
	return priv, pub
}

// sgCred is a credentials consumer {type: RSA/v1alpha1, algorithm, signature}
// with Credentials/v1 properties.
type sgCred struct {
	Signature, Algorithm string
	Props                map[string]string
}

// sgSigner is a signing.config.ocm.software/v1alpha1 entry for one signature
// name ("" for the entry without a name).
type sgSigner struct {
	Signature, Algorithm, Encoding string
}

// sgConfig writes an .ocmconfig (YAML) with the given consumers and signer
// entries and returns its path.
func sgConfig(t testing.TB, path string, creds []sgCred, signers []sgSigner) string {
	t.Helper()
	var consumers []any
	for _, c := range creds {
		consumers = append(consumers, map[string]any{
			"identity":    map[string]string{"type": "RSA/v1alpha1", "algorithm": c.Algorithm, "signature": c.Signature},
			"credentials": []any{map[string]any{"type": "Credentials/v1", "properties": c.Props}},
		})
	}
	configs := []any{map[string]any{"type": "credentials.config.ocm.software", "consumers": consumers}}
	for _, s := range signers {
		signer := map[string]string{"type": "RSASigningConfiguration/v1alpha1"}
		if s.Algorithm != "" {
			signer["signatureAlgorithm"] = s.Algorithm
		}
		if s.Encoding != "" {
			signer["signatureEncodingPolicy"] = s.Encoding
		}
		entry := map[string]any{"type": "signing.config.ocm.software/v1alpha1", "signer": signer}
		if s.Signature != "" {
			entry["signature"] = s.Signature
		}
		configs = append(configs, entry)
	}
	data, err := yaml.Marshal(map[string]any{"type": "generic.config.ocm.software/v1", "configurations": configs})
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, path, data, 0o600)
	return path
}

// sgBuild runs `ocm add cv` with the constructor text (inputs in files,
// relative to the constructor) and returns the archive path (a directory
// unless name ends in .tar/.tgz).
func sgBuild(t *testing.T, constructorYAML string, files map[string]string, name string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		testutil.WriteFile(t, filepath.Join(dir, p), []byte(content), 0o644)
	}
	cons := filepath.Join(dir, "component-constructor.yaml")
	testutil.WriteFile(t, cons, []byte(constructorYAML), 0o644)
	archive := filepath.Join(t.TempDir(), name)
	if _, stderr, err := run(t, "add", "cv", "--constructor", cons, "--repository", archive); err != nil {
		t.Fatalf("add cv: %v\n%s", err, stderr)
	}
	return archive
}

// sgGetCV reads a component version with `get cv -o json`.
func sgGetCV(t *testing.T, ref string) *descriptor.Descriptor {
	t.Helper()
	list := acvGetCV(t, ref)
	if len(list) != 1 {
		t.Fatalf("get cv %s: %d component versions, want 1", ref, len(list))
	}
	return &list[0]
}

// sgSignature returns the signature called name, failing when there is not exactly one.
func sgSignature(t testing.TB, cd *descriptor.Descriptor, name string) descriptor.Signature {
	t.Helper()
	var found []descriptor.Signature
	for _, s := range cd.Signatures {
		if s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s:%s has %d signatures named %q, want 1 (all: %+v)", cd.Component.Name, cd.Component.Version, len(found), name, cd.Signatures)
	}
	return found[0]
}

// sgReplace rewrites the descriptor of component:version in a CTF archive
// the way sign does (ocimap ReplaceDescriptor), after mutate changed a copy.
func sgReplace(t testing.TB, archive, component, version string, mutate func(cd *descriptor.Descriptor)) {
	t.Helper()
	ctx := context.Background()
	w, err := ctf.OpenWritable(archive, ctf.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	cv, err := ocimap.New(w, "CTF archive "+archive).GetComponentVersion(ctx, component, version)
	if err != nil {
		t.Fatal(err)
	}
	data, err := descriptor.EncodeJSON(cv.Descriptor)
	if err != nil {
		t.Fatal(err)
	}
	cd, err := descriptor.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	mutate(cd)
	if _, err := ocimap.NewWriter(w).ReplaceDescriptor(ctx, cv, cd); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// sgBlobPath is the file of a LocalBlob resource of cd in a CTF directory.
func sgBlobPath(t testing.TB, ctfDir string, cd *descriptor.Descriptor, resource string) string {
	t.Helper()
	for _, r := range cd.Component.Resources {
		if r.Name != resource {
			continue
		}
		lb, err := r.Access.LocalBlob()
		if err != nil {
			t.Fatal(err)
		}
		return filepath.Join(ctfDir, "blobs", strings.Replace(lb.LocalReference, ":", ".", 1))
	}
	t.Fatalf("%s has no resource %s", cd.Component.Name, resource)
	return ""
}

// sgFlipByte flips one bit of the byte at offset i of a file.
func sgFlipByte(t testing.TB, path string, i int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[i%len(data)] ^= 0x01
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sgContainsAll reports the first of wants that s does not contain ("" when all are there).
func sgContainsAll(s string, wants ...string) string {
	for _, w := range wants {
		if !strings.Contains(s, w) {
			return w
		}
	}
	return ""
}

// sgVerifyLines parses verify cv's table into (component version, check, result) rows.
func sgVerifyLines(t testing.TB, out string) [][3]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "COMPONENT VERSION") {
		t.Fatalf("verify output has no table header:\n%s", out)
	}
	checkCol := strings.Index(lines[0], "CHECK")
	resultCol := strings.Index(lines[0], "RESULT")
	var rows [][3]string
	for _, l := range lines[1:] {
		if len(l) < resultCol {
			t.Fatalf("short verify line %q", l)
		}
		rows = append(rows, [3]string{strings.TrimSpace(l[:checkCol]), strings.TrimSpace(l[checkCol:resultCol]), strings.TrimSpace(l[resultCol:])})
	}
	return rows
}
