package integrity

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
)

func openCTF(t *testing.T, path string) repository.Repository {
	t.Helper()
	repo, err := repository.Open(context.Background(), reference.Repository{Type: reference.TypeCTF, FilePath: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	return repo
}

func TestInteropGraphVerifies(t *testing.T) {
	for _, f := range testutil.Formats {
		t.Run(string(f), func(t *testing.T) {
			repo := openCTF(t, testutil.InteropCTF(t, f))
			// Fail closed: the image on ghcr.io cannot be reached here.
			closed, err := NewEngine(repo, Options{Content: true}).Version(context.Background(), "example.com/interop/app", "1.2.0")
			if err != nil {
				t.Fatal(err)
			}
			if closed.Err == nil || !errors.Is(closed.Err, ErrNoContentAccess) || !strings.Contains(closed.Err.Error(), "resource name=image: access type ociArtifact") {
				t.Fatalf("unreachable external content: got %v, want ErrNoContentAccess naming the image", closed.Err)
			}
			// Offline: its recorded digest is taken as is.
			e := NewEngine(repo, Options{Content: true, Offline: true})
			res, err := e.Version(context.Background(), "example.com/interop/app", "1.2.0")
			if err != nil {
				t.Fatal(err)
			}
			if res.Err != nil {
				t.Fatalf("interop archive does not verify: %v", res.Err)
			}
			statuses := map[string]string{}
			for _, el := range res.Elements {
				statuses[el.Kind+" "+el.Identity] = el.Status
			}
			want := map[string]string{
				"resource name=greeting": StatusOK, "resource name=config": StatusOK, "resource name=chart": StatusOK,
				"resource name=image": StatusNotChecked, // external registry
				"reference name=lib (example.com/interop/lib:0.3.1+build.7)": StatusOK,
			}
			for k, v := range want {
				if statuses[k] != v {
					t.Errorf("%s: status %q, want %q (all: %v)", k, statuses[k], v, statuses)
				}
			}
			if len(e.Results()) != 2 {
				t.Fatalf("want app and lib checked, got %d", len(e.Results()))
			}
		})
	}
}

func TestTamperedBlobNamed(t *testing.T) {
	dir := testutil.InteropCTF(t, testutil.Dir)
	p := filepath.Join(dir, "blobs", "sha256.b66c55511ca4ccd8a5840ae35cf088f86d584761862f071a98630908079010f7")
	data, _ := os.ReadFile(p)
	data[10] ^= 1
	os.WriteFile(p, data, 0o644)
	repo := openCTF(t, dir)
	e := NewEngine(repo, Options{Content: true, Offline: true})
	res, err := e.Version(context.Background(), "example.com/interop/app", "1.2.0")
	if err != nil {
		t.Fatal(err)
	}
	want := "example.com/interop/app:1.2.0: reference name=lib (example.com/interop/lib:0.3.1+build.7): referenced component version does not verify: example.com/interop/lib:0.3.1+build.7; example.com/interop/lib:0.3.1+build.7: resource name=payload,arch=amd64: content digest (localReference sha256:b66c55511ca4ccd8a5840ae35cf088f86d584761862f071a98630908079010f7) mismatch"
	if res.Err == nil || e.Err() == nil || !strings.Contains(e.Err().Error(), want) {
		t.Fatalf("got %v\nwant it to contain %q", e.Err(), want)
	}
	// Without content checks the recorded digests are trusted.
	res, _ = NewEngine(openCTF(t, dir), Options{}).Version(context.Background(), "example.com/interop/app", "1.2.0")
	if res.Err != nil {
		t.Fatalf("without content checks: %v", res.Err)
	}
}
