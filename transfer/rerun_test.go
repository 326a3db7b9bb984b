package transfer_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/repository/oci"
	"github.com/ocmgo/ocm/repository/ocimap"
	"github.com/ocmgo/ocm/transfer"
)

// A referenced version pinned by digest that the target has, with all
// below it, is not read from the source: a rerun asks the source for the
// named version only, a new version of the referrer reads only itself.
// Whenever that is not proven (a referenced version missing or different in
// the target, an unpinned reference, a replace policy), the source is
// walked as before.
func TestPinnedVersionsInTargetNotReadFromSource(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}}))
	t.Cleanup(srv.Close)
	proxy := testutil.StartFaultProxy(t, strings.TrimPrefix(srv.URL, "http://"))
	src, err := oci.New(proxy.Host, "ocm", oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := transfer.ComponentVersions(ctx, openCTF(t, testutil.InteropCTF(t, testutil.Dir)), src, []transfer.Ref{appRef}, transfer.Options{Recursive: true}); err != nil {
		t.Fatal(err)
	}
	libPath := "/" + ocimap.RepositoryName(lib) + "/"
	libReads := func() int { return proxy.Count("", libPath) }

	newTarget := func(t *testing.T) *ctf.Writer {
		w, err := ctf.OpenWritable(filepath.Join(t.TempDir(), "target"), ctf.WriteOptions{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Abort() })
		return w
	}
	run := func(t *testing.T, dst ocimap.WriteStore, opts transfer.Options) map[string]transfer.Result {
		t.Helper()
		results, err := transfer.ComponentVersions(ctx, src, dst, []transfer.Ref{appRef}, opts)
		if err != nil {
			t.Fatal(err)
		}
		return byComponent(results)
	}

	t.Run("rerun", func(t *testing.T) {
		dst := newTarget(t)
		run(t, dst, transfer.Options{Recursive: true})
		before := libReads()
		res := run(t, dst, transfer.Options{Recursive: true})
		if n := libReads() - before; n != 0 {
			t.Errorf("the rerun read %s from the source %d times", lib, n)
		}
		if r := res[lib]; !r.AlreadyPresent || !r.FromTarget || r.Skipped == 0 {
			t.Errorf("lib: %+v", r)
		}
		if r := res[app]; !r.AlreadyPresent || r.FromTarget {
			t.Errorf("app: %+v", r)
		}
		// The policy that replaces what differs reads everything.
		before = libReads()
		res = run(t, dst, transfer.Options{Recursive: true, Existing: transfer.ExistingReplace})
		if libReads() == before || res[lib].FromTarget || !res[lib].AlreadyPresent {
			t.Errorf("replace policy: lib %+v, %d reads", res[lib], libReads()-before)
		}
	})

	t.Run("new version of the referrer", func(t *testing.T) {
		dst := newTarget(t)
		run(t, dst, transfer.Options{Recursive: true})
		// app 2.0.0 in the source pins the lib the target has.
		libCD, err := ocimap.New(src, "source").GetComponentVersion(ctx, lib, "0.3.1+build.7")
		if err != nil {
			t.Fatal(err)
		}
		pin, err := normalisation.Digest(libCD.Descriptor, normalisation.JSONv4alpha1, normalisation.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		next := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: "v2"}, Component: descriptor.Component{Name: app, Version: "2.0.0", Provider: "example.com",
			References: []descriptor.Reference{{ElementMeta: descriptor.ElementMeta{Name: "lib", Version: "0.3.1+build.7"}, ComponentName: lib, Digest: pin}}}}
		if _, err := ocimap.NewWriter(src).AddComponentVersion(ctx, next, nil); err != nil {
			t.Fatal(err)
		}
		before := libReads()
		results, err := transfer.ComponentVersions(ctx, src, dst, []transfer.Ref{{Component: app, Version: "2.0.0"}}, transfer.Options{Recursive: true})
		if err != nil {
			t.Fatal(err)
		}
		if n := libReads() - before; n != 0 {
			t.Errorf("the transfer of app 2.0.0 read %s from the source %d times", lib, n)
		}
		res := byComponent(results)
		if r := res[lib]; !r.FromTarget {
			t.Errorf("lib: %+v", r)
		}
		if r := res[app]; r.AlreadyPresent || r.Copied == 0 {
			t.Errorf("app 2.0.0: %+v", r)
		}
	})

	t.Run("referenced version missing in the target", func(t *testing.T) {
		dst := newTarget(t)
		run(t, dst, transfer.Options{})
		res := run(t, dst, transfer.Options{Recursive: true})
		if r := res[lib]; r.AlreadyPresent || r.FromTarget || r.Copied == 0 {
			t.Errorf("lib: %+v", r)
		}
	})

	t.Run("referenced version different in the target", func(t *testing.T) {
		dst := newTarget(t)
		run(t, dst, transfer.Options{})
		other := pushOther(t, dst, lib, "0.3.1+build.7")
		res := run(t, dst, transfer.Options{Recursive: true, Existing: transfer.ExistingSkip})
		if r := res[lib]; !r.VersionSkipped || r.TargetDigest != string(other) {
			t.Errorf("lib: %+v", r)
		}
	})

	t.Run("unpinned reference", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "src")
		leaf := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: "v2"}, Component: descriptor.Component{Name: "example.com/leaf", Version: "1.0.0", Provider: "acme"}}
		root := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: "v2"}, Component: descriptor.Component{Name: "example.com/root", Version: "1.0.0", Provider: "acme",
			References: []descriptor.Reference{{ElementMeta: descriptor.ElementMeta{Name: "leaf", Version: "1.0.0"}, ComponentName: "example.com/leaf"}}}}
		for _, cd := range []*descriptor.Descriptor{leaf, root} {
			if err := testutil.AddComponentVersion(dir, cd); err != nil {
				t.Fatal(err)
			}
		}
		csrc := openCTF(t, dir)
		dst := newTarget(t)
		ref := []transfer.Ref{{Component: "example.com/root", Version: "1.0.0"}}
		for i := range 2 {
			results, err := transfer.ComponentVersions(ctx, csrc, dst, ref, transfer.Options{Recursive: true})
			if err != nil {
				t.Fatal(err)
			}
			r := byComponent(results)["example.com/leaf"]
			if r.FromTarget || r.AlreadyPresent != (i == 1) {
				t.Errorf("run %d: leaf %s", i+1, fmt.Sprintf("%+v", r))
			}
		}
	})
}
