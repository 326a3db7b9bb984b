package ctf

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func FuzzParseIndex(f *testing.F) {
	good := digestOf(goodBlob)
	f.Add(goodIndex())
	f.Add([]byte(`{"schemaVersion":1,"artifacts":null}`))
	f.Add([]byte(`{"schemaVersion":1,"artifacts":[{"repository":"r","digest":"` + good + `"}]}`))
	f.Add([]byte(`{"schemaVersion":2,"artifacts":[]}`))
	f.Add([]byte(`{"schemaVersion":1,"artifacts":[{"repository":"r","digest":"sha256:../../x"}]}`))
	f.Add([]byte(`{"schemaVersion":1,"artifacts":[{"repository":"r","digest":"` + good + `","x":1}]}`))
	f.Add([]byte(`{"schemaVersion":1,"artifacts":[`))
	if data, err := os.ReadFile(filepath.Join(interopCTF(f), IndexFileName)); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := ParseIndex(data)
		if err != nil {
			return
		}
		if idx.SchemaVersion != 1 {
			t.Fatalf("accepted schemaVersion %d", idx.SchemaVersion)
		}
		for _, a := range idx.Artifacts {
			if a.Repository == "" || digest.Digest(a.Digest).Validate() != nil {
				t.Fatalf("accepted invalid entry %+v", a)
			}
		}
	})
}

// FuzzOpenTar opens arbitrary bytes as a CTF file (a tar, or a tgz when they
// start with the gzip magic) and exercises every read path. Nothing may panic
// and nothing may be read from outside the archive.
func FuzzOpenTar(f *testing.F) {
	small := tarBytes(f, []tarEntry{file(IndexFileName, goodIndex()), dirEntry("blobs/"), file("blobs/"+blobFile(goodBlob), goodBlob)})
	f.Add(small)
	f.Add(gzipBytes(f, small))
	f.Add(small[:len(small)/2])
	f.Add(tarBytes(f, []tarEntry{file("./"+IndexFileName, []byte(`{"schemaVersion":1,"artifacts":null}`))}))
	f.Add(tarBytes(f, []tarEntry{file(IndexFileName, indexJSON("r", "", digestOf(goodBlob), ""))}))
	f.Add(tarBytes(f, []tarEntry{file(IndexFileName, []byte(`{"schemaVersion":1,`))}))
	f.Add(tarBytes(f, []tarEntry{file("../evil", []byte("x"))}))
	f.Add(tarBytes(f, []tarEntry{file(IndexFileName, goodIndex()), file("blobs/"+blobFile(goodBlob), goodBlob), file("./blobs/"+blobFile(goodBlob), goodBlob)}))
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b})
	ctx := context.Background()
	// One directory for all inputs: t.TempDir per input halves the exec rate.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		tmp, err := os.CreateTemp(dir, "fuzz-*.tar")
		if err != nil {
			t.Fatal(err)
		}
		path := tmp.Name()
		defer os.Remove(path)
		_, err = tmp.Write(data)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		a, err := Open(path)
		if err != nil {
			return
		}
		defer a.Close()
		repos, err := a.Repositories(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, repo := range repos {
			tags, err := a.Tags(ctx, repo)
			if err != nil {
				t.Fatal(err)
			}
			for _, tag := range tags {
				_, _ = a.Resolve(ctx, repo, tag)
			}
		}
		for _, art := range a.Index().Artifacts {
			_, _ = a.Resolve(ctx, art.Repository, art.Digest)
			desc := ocispec.Descriptor{Digest: digest.Digest(art.Digest)}
			ok, err := a.Exists(ctx, desc)
			if err != nil {
				t.Fatalf("Exists(%s) of an indexed digest: %v", art.Digest, err)
			}
			if !ok {
				continue
			}
			rc, err := a.Fetch(ctx, art.Repository, desc)
			if err != nil {
				t.Fatalf("Fetch(%s) after Exists: %v", art.Digest, err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("reading %s: %v", art.Digest, err)
			}
			// Served bytes must come from the archive, never from elsewhere.
			if len(got) > 0 && !bytes.Contains(data, got) && a.Format() == FormatTar {
				t.Fatalf("blob %s is not part of the archive bytes", art.Digest)
			}
		}
	})
}
