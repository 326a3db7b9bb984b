package main

// add cv and sign cv writing straight into an OCI registry.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// rwSetup writes agConstructor's inputs below dir and returns the constructor.
func rwSetup(t *testing.T, dir string) string {
	t.Helper()
	acvWrite(t, filepath.Join(dir, "data", "readme.txt"), []byte("air-gapped readme\n"))
	acvWrite(t, filepath.Join(dir, "data", "config", "app.yaml"), []byte("replicas: 3\n"))
	acvWrite(t, filepath.Join(dir, "data", "config", "sub", "flags.ini"), []byte("[x]\ny=1\n"))
	acvWriteChart(t, filepath.Join(dir, "chart"), "airgap", "0.2.0")
	cons := filepath.Join(dir, "component-constructor.yaml")
	acvWrite(t, cons, []byte(agConstructor))
	return cons
}

func TestAddAndSignInRegistry(t *testing.T) {
	const comp, cv = "example.com/airgap/app", "example.com/airgap/app:1.0.0"
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	cons := rwSetup(t, t.TempDir())
	reg := agRegistry(t) + "/ocm"
	agRun(t, "add", "cv", "--constructor", cons, "--repository", reg)
	// The same constructor into a CTF gives the same descriptor: the
	// registry path is the same build, not a second implementation.
	ctfRef := "ctf::" + filepath.Join(t.TempDir(), "ctf")
	agRun(t, "add", "cv", "--constructor", cons, "--repository", ctfRef)
	fromReg, fromCTF := sgGetCV(t, reg+"//"+cv), sgGetCV(t, ctfRef+"//"+cv)
	a, _ := descriptor.EncodeJSON(fromReg)
	b, _ := descriptor.EncodeJSON(fromCTF)
	if string(a) != string(b) {
		t.Fatalf("descriptor in the registry differs from the CTF build:\n%s\n%s", a, b)
	}
	if n := agSameDownloads(t, ctfRef, reg, cv); n != 3 {
		t.Fatalf("compared %d resources, want 3", n)
	}
	agCheckHelmPullable(t, reg, comp, "1.0.0", "chart")

	// Adding it again fails (abort-and-fail) and names the version.
	if _, stderr, err := run(t, "add", "cv", "--constructor", cons, "--repository", reg); err == nil || !strings.Contains(err.Error()+stderr, "1.0.0") {
		t.Fatalf("second add: err %v, stderr %s", err, stderr)
	}

	cfg, pub := agSigningConfig(t)
	agRun(t, "--config", cfg, "sign", "cv", reg+"//"+cv)
	if s := sgSignature(t, sgGetCV(t, reg+"//"+cv), "default"); s.Signature.Algorithm != "RSASSA-PSS" {
		t.Fatalf("signature algorithm %q", s.Signature.Algorithm)
	}
	agRun(t, "verify", "cv", reg+"//"+cv, "--public-key", pub)
	if _, _, err := run(t, "--config", cfg, "sign", "cv", reg+"//"+cv); err == nil {
		t.Fatal("signing twice under the same name without --force succeeds")
	}
	// Local blobs survive the descriptor replacement.
	if n := agSameDownloads(t, ctfRef, reg, cv); n != 3 {
		t.Fatalf("after signing: compared %d resources, want 3", n)
	}
	agCheckHelmPullable(t, reg, comp, "1.0.0", "chart")
}

// A failing add leaves no tag in the registry.
func TestAddToRegistryFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	cons := rwSetup(t, dir)
	if err := os.Remove(filepath.Join(dir, "data", "readme.txt")); err != nil {
		t.Fatal(err)
	}
	host := agRegistry(t)
	_, stderr, err := run(t, "add", "cv", "--constructor", cons, "--repository", host+"/ocm")
	if err == nil || !strings.Contains(err.Error()+stderr, "readme.txt") {
		t.Fatalf("add with a missing input: err %v, stderr %s", err, stderr)
	}
	repo, err := remote.NewRepository(host + "/ocm/component-descriptors/example.com/airgap/app")
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	var tags []string
	_ = repo.Tags(context.Background(), "", func(ts []string) error { tags = append(tags, ts...); return nil })
	if len(tags) != 0 {
		t.Fatalf("tags after a failed add: %v", tags)
	}
}

// --referrer-tracking: the version names the Component Index as subject and
// the registry's referrers API lists it.
func TestAddReferrerTracking(t *testing.T) {
	cons := rwSetup(t, t.TempDir())
	host := agRegistry(t)
	agRun(t, "add", "cv", "--referrer-tracking", "--constructor", cons, "--repository", host+"/ocm")
	repo, err := remote.NewRepository(host + "/ocm/component-descriptors/example.com/airgap/app")
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	var found []string
	err = repo.Referrers(context.Background(), ocimap.ComponentIndex, "", func(refs []ocispec.Descriptor) error {
		for _, r := range refs {
			found = append(found, r.Annotations[ocimap.AnnotationComponentVersion])
		}
		return nil
	})
	if err != nil || len(found) != 1 || found[0] != "example.com/airgap/app:1.0.0" {
		t.Fatalf("referrers of the component index: %v %v", found, err)
	}
	if out := agRun(t, "get", "cv", host+"/ocm//example.com/airgap/app", "-o", "json"); !strings.Contains(out, `"1.0.0"`) {
		t.Fatalf("get cv: %s", out)
	}
}
