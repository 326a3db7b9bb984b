package oci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"

	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/transfer"
)

func startDistribution(t *testing.T) string { return testutil.StartDistribution(t) }

func TestDistributionBlobsManifestsTags(t *testing.T) {
	ctx := context.Background()
	host := startDistribution(t)
	reg := newRegistry(t, host, "base/path")
	const repo = "test/repo"

	// PushBlob: digest unknown, twice (the second is a no-op).
	layerData := []byte("hello, distribution")
	layer, err := reg.PushBlob(ctx, repo, "text/plain", bytes.NewReader(layerData))
	if err != nil {
		t.Fatal(err)
	}
	if layer.Digest != digest.FromBytes(layerData) || layer.Size != int64(len(layerData)) || layer.MediaType != "text/plain" {
		t.Fatalf("PushBlob descriptor %+v", layer)
	}
	if again, err := reg.PushBlob(ctx, repo, "text/plain", bytes.NewReader(layerData)); err != nil || again.Digest != layer.Digest {
		t.Fatalf("second PushBlob: %+v %v", again, err)
	}
	big := bytes.Repeat([]byte("fedcba9876543210"), 1<<18) // 4 MiB
	bigDesc, err := reg.PushBlob(ctx, repo, "application/octet-stream", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fetchAll(t, reg, repo, bigDesc), big) {
		t.Fatal("big blob differs")
	}

	// Push: known descriptor.
	cfgData := []byte("{}")
	cfg := ocispec.Descriptor{MediaType: "application/vnd.test.config+json", Digest: digest.FromBytes(cfgData), Size: int64(len(cfgData))}
	if ok, err := reg.Exists(ctx, repo, cfg); err != nil || ok {
		t.Fatalf("Exists before push: %v %v", ok, err)
	}
	if err := reg.Push(ctx, repo, cfg, bytes.NewReader(cfgData)); err != nil {
		t.Fatal(err)
	}
	if ok, err := reg.Exists(ctx, repo, cfg); err != nil || !ok {
		t.Fatalf("Exists after push: %v %v", ok, err)
	}
	bad := cfg
	bad.Digest = digest.FromString("other")
	if err := reg.Push(ctx, repo, bad, bytes.NewReader(cfgData)); err == nil {
		t.Fatal("Push with a wrong digest succeeded")
	}

	manifest, _ := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    cfg,
		Layers:    []ocispec.Descriptor{layer, bigDesc},
	})
	mdesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(manifest), Size: int64(len(manifest))}
	if err := reg.Push(ctx, repo, mdesc, bytes.NewReader(manifest)); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"v2", "v1", "1.0.0.build-3"} {
		if err := reg.Tag(ctx, repo, mdesc, tag); err != nil {
			t.Fatal(err)
		}
	}
	tags, err := reg.Tags(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(tags)
	if want := []string{"1.0.0.build-3", "v1", "v2"}; !slices.Equal(tags, want) {
		t.Fatalf("tags %v, want %v", tags, want)
	}
	got, err := reg.Resolve(ctx, repo, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != mdesc.Digest || got.Size != mdesc.Size || got.MediaType != mdesc.MediaType {
		t.Fatalf("Resolve = %+v, want %+v", got, mdesc)
	}
	if byDigest, err := reg.Resolve(ctx, repo, string(mdesc.Digest)); err != nil || byDigest.Digest != mdesc.Digest {
		t.Fatalf("Resolve by digest: %+v %v", byDigest, err)
	}
	if !bytes.Equal(fetchAll(t, reg, repo, got), manifest) {
		t.Fatal("manifest differs")
	}
	if !bytes.Equal(fetchAll(t, reg, repo, layer), layerData) {
		t.Fatal("layer differs")
	}
	if ok, err := reg.Exists(ctx, repo, mdesc); err != nil || !ok {
		t.Fatalf("Exists(manifest) = %v %v", ok, err)
	}
	// The repository really lives below the sub path.
	raw := newRegistry(t, host, "")
	if _, err := raw.Resolve(ctx, "base/path/"+repo, "v1"); err != nil {
		t.Fatalf("resolving with the full name: %v", err)
	}
}

func TestDistributionNotFound(t *testing.T) {
	ctx := context.Background()
	host := startDistribution(t)
	reg := newRegistry(t, host, "sub")
	const repo = "present"
	blob, err := reg.PushBlob(ctx, repo, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	missing := ocispec.Descriptor{MediaType: "text/plain", Digest: digest.FromString("missing"), Size: 7}
	missingManifest := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("missing"), Size: 7}
	check := func(what, repoName string, err error) {
		t.Helper()
		if !errors.Is(err, errdef.ErrNotFound) {
			t.Errorf("%s: %v does not wrap errdef.ErrNotFound", what, err)
			return
		}
		if msg := err.Error(); !strings.Contains(msg, host) || !strings.Contains(msg, "sub/"+repoName) {
			t.Errorf("%s: %q does not name registry %s and repository sub/%s", what, msg, host, repoName)
		}
	}
	_, err = reg.Resolve(ctx, repo, "nope")
	check("Resolve missing tag", repo, err)
	_, err = reg.Resolve(ctx, "absent", "v1")
	check("Resolve in missing repository", "absent", err)
	_, err = reg.Fetch(ctx, repo, missing)
	check("Fetch missing blob", repo, err)
	_, err = reg.Fetch(ctx, repo, missingManifest)
	check("Fetch missing manifest", repo, err)
	// Distribution answers 404 NAME_UNKNOWN for the tags of an unknown
	// repository: that is an error wrapping errdef.ErrNotFound.
	_, err = reg.Tags(ctx, "absent")
	check("Tags of missing repository", "absent", err)
	if err != nil && !strings.Contains(err.Error(), "name unknown") {
		t.Errorf("Tags of missing repository: %q lacks the registry's message", err)
	}
	err = reg.Tag(ctx, repo, missingManifest, "v1")
	check("Tag missing manifest", repo, err)
	if ok, err := reg.Exists(ctx, repo, missing); ok || err != nil {
		t.Errorf("Exists(missing) = %v, %v", ok, err)
	}
	if ok, err := reg.Exists(ctx, "other", blob); ok || err != nil {
		t.Errorf("Exists in other repository = %v, %v", ok, err)
	}
	if _, err := reg.Tags(ctx, "Not/Valid"); err == nil {
		t.Error("Tags of an invalid repository name succeeded")
	}
}

// The reference CLI's signed CTF, transferred recursively into distribution,
// reads back with the normalised digests the reference signed.
func TestDistributionTransferInterop(t *testing.T) {
	ctx := context.Background()
	a, err := ctf.Open(testutil.InteropCTF(t, testutil.Dir))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	host := startDistribution(t)
	reg := newRegistry(t, host, "ocm")

	const appName, libName = "example.com/interop/app", "example.com/interop/lib"
	results, err := transfer.ComponentVersions(ctx, a, reg, []transfer.Ref{{Component: appName, Version: "1.2.0"}}, transfer.Options{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0].Component != libName || results[1].Component != appName || results[0].Copied == 0 || results[1].Copied == 0 {
		t.Fatalf("results %+v", results)
	}

	r := repository.FromStore(reg, reg.String(), nil)
	defer r.Close()
	want := map[[2]string]string{
		{libName, "0.3.1+build.7"}: "a6f7a4eb5b4dc1fd061b5da0c1b5171f9d6cfa0898823667d8f534df6798f647",
		{appName, "1.2.0"}:         "0e620fa8ae2390bd21cf081c6812cb06734ed8d8830564c2e8db6ecbc95c818b",
	}
	for cv, wantDigest := range want {
		cd, err := r.GetComponentVersion(ctx, cv[0], cv[1])
		if err != nil {
			t.Fatal(err)
		}
		d, err := normalisation.Digest(cd, normalisation.JSONv4alpha1, normalisation.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if d.Value != wantDigest {
			t.Errorf("%s:%s normalised digest %s, want %s", cv[0], cv[1], d.Value, wantDigest)
		}
		for _, res := range cd.Component.Resources {
			if !res.Access.IsLocalBlob() {
				continue
			}
			lb, err := res.Access.LocalBlob()
			if err != nil {
				t.Fatal(err)
			}
			desc, fetcher, err := r.GetLocalBlob(ctx, cv[0], cv[1], lb.LocalReference)
			if err != nil {
				t.Fatalf("%s:%s resource %s: %v", cv[0], cv[1], res.Name, err)
			}
			rc, err := fetcher.Fetch(ctx, desc)
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if digest.FromBytes(data) != desc.Digest {
				t.Errorf("%s:%s resource %s: content does not match %s", cv[0], cv[1], res.Name, desc.Digest)
			}
		}
	}
	if _, err := r.GetComponentVersion(ctx, libName, "9.9.9"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("missing version: %v", err)
	}
	if _, err := r.GetComponentVersion(ctx, "example.com/absent", "1.0.0"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("missing component: %v", err)
	}

	// Again: everything is present already.
	again, err := transfer.ComponentVersions(ctx, a, reg, []transfer.Ref{{Component: appName, Version: "1.2.0"}}, transfer.Options{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range again {
		if !res.AlreadyPresent || res.Copied != 0 {
			t.Errorf("second transfer: %+v", res)
		}
	}
}
