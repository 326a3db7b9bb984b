package ctf_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// A Writer is the CTF implementation of ocimap.WriteStore.
var _ ocimap.WriteStore = (*ctf.Writer)(nil)

// addVersion writes component name:version with one local blob through the
// OCM mapping and returns the blob.
func addVersion(t *testing.T, w *ctf.Writer, name, version string) []byte {
	t.Helper()
	ctx := context.Background()
	data := []byte("local blob of " + name + ":" + version)
	repo := ocimap.RepositoryName(name)
	blob, err := w.PushBlob(ctx, repo, "text/plain", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	cd, err := descriptor.Decode([]byte(fmt.Sprintf(`meta:
  schemaVersion: v2
component:
  name: %s
  version: %s
  provider: acme
  repositoryContexts: []
  sources: []
  componentReferences: []
  resources:
  - name: data
    version: 1.0.0
    type: plainText
    relation: local
    access:
      type: localBlob
      localReference: %s
      mediaType: text/plain
`, name, version, blob.Digest)))
	if err != nil {
		t.Fatal(err)
	}
	refs := []ocimap.ArtifactRef{{Kind: "resource", Identity: map[string]string{"name": "data", "version": "1.0.0"}}}
	if _, err := ocimap.NewWriter(w).AddComponentVersion(ctx, cd, []ocimap.LocalBlob{{Descriptor: blob, Artifacts: refs}}); err != nil {
		t.Fatal(err)
	}
	return data
}

// checkComponentVersion reads name:version back through the OCM mapping,
// including its local blob.
func checkComponentVersion(t *testing.T, store ocimap.Store, name, version string, blob []byte) {
	t.Helper()
	ctx := context.Background()
	r := ocimap.New(store, "test")
	cv, err := r.GetComponentVersion(ctx, name, version)
	if err != nil {
		t.Fatal(err)
	}
	if cv.Descriptor.Component.Name != name || cv.Descriptor.Component.Version != version {
		t.Fatalf("read %s:%s", cv.Descriptor.Component.Name, cv.Descriptor.Component.Version)
	}
	if blob == nil {
		return
	}
	lb, err := cv.Descriptor.Component.Resources[0].Access.LocalBlob()
	if err != nil {
		t.Fatal(err)
	}
	ld, err := cv.LocalBlob(lb.LocalReference)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := r.Fetcher(cv).Fetch(ctx, ld)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, blob) {
		t.Fatalf("local blob of %s:%s = %q", name, version, got)
	}
}

var formats = map[testutil.Format]string{testutil.Dir: "ctf", testutil.Tar: "ctf.tar", testutil.Tgz: "ctf.tgz"}

func TestWriterComponentVersions(t *testing.T) {
	for _, f := range testutil.Formats {
		t.Run(string(f), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), formats[f])
			w, err := ctf.OpenWritable(path, ctf.WriteOptions{Create: true})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			b1 := addVersion(t, w, "example.com/written", "1.0.0+b1")
			checkComponentVersion(t, w, "example.com/written", "1.0.0+b1", b1) // pending content is readable
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}

			w, err = ctf.OpenWritable(path, ctf.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			b2 := addVersion(t, w, "example.com/written", "2.0.0")
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			a, err := ctf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			checkComponentVersion(t, a, "example.com/written", "1.0.0+b1", b1)
			checkComponentVersion(t, a, "example.com/written", "2.0.0", b2)
			versions, err := ocimap.New(a, "test").ListVersions(context.Background(), "example.com/written")
			if err != nil || !slices.Equal(versions, []string{"1.0.0+b1", "2.0.0"}) {
				t.Errorf("versions %q %v", versions, err)
			}
		})
	}
}

// Adding a version to the reference CLI's archive keeps everything it held.
func TestWriterUpdatesReferenceArchive(t *testing.T) {
	original := filesOf(t, filepath.Join(testutil.InteropDir(t), "ctf"))
	origIndex, err := ctf.ParseIndex(original[ctf.IndexFileName])
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range testutil.Formats {
		t.Run(string(f), func(t *testing.T) {
			path := testutil.InteropCTF(t, f)
			w, err := ctf.OpenWritable(path, ctf.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			blob := addVersion(t, w, "example.com/interop/app", "1.3.0")
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}

			a, err := ctf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			checkComponentVersion(t, a, "example.com/interop/app", "1.3.0", blob)
			checkComponentVersion(t, a, "example.com/interop/app", "1.2.0", nil)
			checkComponentVersion(t, a, "example.com/interop/lib", "0.3.1+build.7", nil)
			// The original entries come first, unchanged; untagged ones still
			// resolve by digest.
			idx := a.Index()
			if len(idx.Artifacts) <= len(origIndex.Artifacts) || !slices.Equal(idx.Artifacts[:len(origIndex.Artifacts)], origIndex.Artifacts) {
				t.Errorf("original index entries changed:\n%+v", idx.Artifacts)
			}
			for _, e := range origIndex.Artifacts {
				if _, err := a.Resolve(context.Background(), e.Repository, e.Digest); err != nil {
					t.Error(err)
				}
			}
			after := filesOf(t, path)
			for name, data := range original {
				if name != ctf.IndexFileName && !bytes.Equal(after[name], data) {
					t.Errorf("%s changed or vanished", name)
				}
			}
			for name, data := range after {
				if b, ok := strings.CutPrefix(name, "blobs/"); ok {
					sum := sha256.Sum256(data)
					if b != "sha256."+hex.EncodeToString(sum[:]) {
						t.Errorf("%s does not hash to its name", name)
					}
				}
			}
			if d, err := a.Resolve(context.Background(), ocimap.RepositoryName("example.com/interop/app"), "1.3.0"); err != nil || d.MediaType != ocispec.MediaTypeImageManifest {
				t.Errorf("new version resolves to %v, %v", d, err)
			}
		})
	}
}

// filesOf returns the regular files of a CTF directory, tar or tgz by name.
func filesOf(t *testing.T, path string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	if fi, err := os.Stat(path); err != nil {
		t.Fatal(err)
	} else if fi.IsDir() {
		for _, name := range []string{ctf.IndexFileName, "blobs"} {
			if name == "blobs" {
				des, err := os.ReadDir(filepath.Join(path, "blobs"))
				if err != nil {
					t.Fatal(err)
				}
				for _, de := range des {
					files["blobs/"+de.Name()], _ = os.ReadFile(filepath.Join(path, "blobs", de.Name()))
				}
				continue
			}
			files[name], _ = os.ReadFile(filepath.Join(path, name))
		}
		return files
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		if r, err = gzip.NewReader(r); err != nil {
			t.Fatal(err)
		}
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			files[strings.TrimPrefix(hdr.Name, "./")], _ = io.ReadAll(tr)
		}
	}
}
