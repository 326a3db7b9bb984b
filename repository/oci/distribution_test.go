package oci_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/errdef"

	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/transfer"
)

func startDistribution(t *testing.T) string { return testutil.StartDistribution(t) }

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
