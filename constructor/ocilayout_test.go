package constructor

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
)

// buildLayout writes an OCI image layout with one image manifest per tag
// ("" leaves it untagged) and returns the manifests' descriptors.
func buildLayout(t *testing.T, dir string, tags ...string) []ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	store, err := oci.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	push := func(mt string, data []byte) ocispec.Descriptor {
		d := content.NewDescriptorFromBytes(mt, data)
		if err := store.Push(ctx, d, bytes.NewReader(data)); err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Fatal(err)
		}
		return d
	}
	cfg := push(ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux"}`))
	var out []ocispec.Descriptor
	for i, tag := range tags {
		layer := push(ocispec.MediaTypeImageLayerGzip, []byte("layer "+string(rune('a'+i))))
		m, err := oras.PackManifest(ctx, store, oras.PackManifestVersion1_1, "", oras.PackManifestOptions{
			ConfigDescriptor:    &cfg,
			Layers:              []ocispec.Descriptor{layer},
			ManifestAnnotations: map[string]string{ocispec.AnnotationCreated: "2024-01-01T00:00:00Z"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if tag != "" {
			if err := store.Tag(ctx, m, tag); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, m)
	}
	return out
}

// tarLayout packs a layout directory as a tar (gzipped if gz).
func tarLayout(t *testing.T, dir, out string, gz bool) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name = "./" + filepath.ToSlash(rel)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = tw.Write(data)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if gz {
		var zbuf bytes.Buffer
		zw := gzip.NewWriter(&zbuf)
		zw.Write(data)
		zw.Close()
		data = zbuf.Bytes()
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkArtifact verifies the artifact's root and that its whole graph can be fetched.
func checkArtifact(t *testing.T, c *Content, want ocispec.Descriptor) {
	t.Helper()
	if c.Artifact == nil || c.Open != nil {
		t.Fatalf("not an artifact: %+v", c)
	}
	a := c.Artifact
	if a.Root.Digest != want.Digest || a.Root.Size != want.Size || a.Root.MediaType != want.MediaType {
		t.Fatalf("root %+v, want %+v", a.Root, want)
	}
	if _, tagged := a.Root.Annotations[ocispec.AnnotationRefName]; tagged {
		t.Errorf("root keeps the layout's ref.name annotation")
	}
	raw := fetch(t, a.Store, a.Root)
	if digest.FromBytes(raw) != want.Digest {
		t.Fatal("root content does not match its digest")
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if digest.FromBytes(fetch(t, a.Store, d)) != d.Digest {
			t.Errorf("%s does not match", d.Digest)
		}
	}
}

func TestOCIImageLayoutInput(t *testing.T) {
	base := t.TempDir()
	one := buildLayout(t, filepath.Join(base, "one"), "v1")
	tarLayout(t, filepath.Join(base, "one"), filepath.Join(base, "one.tar"), false)
	tarLayout(t, filepath.Join(base, "one"), filepath.Join(base, "one.tgz"), true)
	many := buildLayout(t, filepath.Join(base, "many"), "v1", "v2", "")
	tarLayout(t, filepath.Join(base, "many"), filepath.Join(base, "many.tar"), false)
	single := buildLayout(t, filepath.Join(base, "tagged-one"), "", "latest", "")

	tests := []struct {
		name, input string
		want        ocispec.Descriptor
	}{
		{"directory", "{type: ociImageLayout, path: one}", one[0]},
		{"tar", "{type: ociImageLayout/v1, path: one.tar}", one[0]},
		{"gzipped tar", "{type: OCIImageLayout, path: one.tgz}", one[0]},
		{"ref picks a tag", "{type: ociImageLayout, path: many, ref: v2}", many[1]},
		{"ref in a tar", "{type: ociImageLayout, path: many.tar, ref: v1}", many[0]},
		{"ref by digest", "{type: ociImageLayout, path: many, ref: '" + many[2].Digest.String() + "'}", many[2]},
		{"the only tagged one", "{type: ociImageLayout, path: tagged-one}", single[1]},
		{"file input with layout media type", "{type: file, path: one.tar, mediaType: " + OCILayoutMediaType + "}", one[0]},
		{"file input with gzipped layout media type", "{type: file, path: one.tgz, mediaType: " + OCILayoutGzipMediaType + "}", one[0]},
		{"dir input with layout media type", "{type: dir, path: one, mediaType: " + OCILayoutMediaType + "}", one[0]},
		{"dir input with gzipped layout media type", "{type: dir, path: one, mediaType: " + OCILayoutGzipMediaType + ", compress: true}", one[0]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := openResource(t, base, tc.input, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := c.Artifact.Close(); err != nil {
					t.Error(err)
				}
			}()
			checkArtifact(t, c, tc.want)
		})
	}

	t.Run("temporary tar is removed on close", func(t *testing.T) {
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		c, err := openResource(t, base, "{type: ociImageLayout, path: one.tgz}", nil)
		if err != nil {
			t.Fatal(err)
		}
		if entries, _ := os.ReadDir(tmp); len(entries) != 1 {
			t.Fatalf("temporary files: %v", entries)
		}
		if err := c.Artifact.Close(); err != nil {
			t.Fatal(err)
		}
		if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
			t.Fatalf("left behind: %v", entries)
		}
		// A failure leaves nothing behind either.
		if _, err := openResource(t, base, "{type: ociImageLayout, path: one.tgz, ref: nope}", nil); err == nil {
			t.Fatal("unknown ref accepted")
		}
		if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
			t.Fatalf("left behind after an error: %v", entries)
		}
	})
}

func TestOCIImageLayoutErrors(t *testing.T) {
	base := t.TempDir()
	buildLayout(t, filepath.Join(base, "many"), "v1", "v2")
	broken := buildLayout(t, filepath.Join(base, "broken"), "v1")
	var m ocispec.Manifest
	raw, _ := os.ReadFile(filepath.Join(base, "broken", "blobs", "sha256", broken[0].Digest.Encoded()))
	_ = json.Unmarshal(raw, &m)
	if err := os.Remove(filepath.Join(base, "broken", "blobs", "sha256", m.Layers[0].Digest.Encoded())); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(base, "notalayout", "x"), "x", 0o644)
	writeFile(t, filepath.Join(base, "plain.tar"), "not a tar", 0o644)

	tests := []struct {
		name, input string
		want        []string
	}{
		{"several manifests without ref", "{type: ociImageLayout, path: many}",
			[]string{file + ": resources[0].input.path: index.json lists 2 manifests and none was chosen", `"v1"`, `"v2"`}},
		{"unknown ref", "{type: ociImageLayout, path: many, ref: v3}",
			[]string{file + `: resources[0].input.ref: no manifest with ref "v3" in index.json (listed: `, `"v1"`, `"v2"`}},
		{"missing blob", "{type: ociImageLayout, path: broken}", []string{"resources[0].input.path: ", "is missing from the layout"}},
		{"not a layout", "{type: ociImageLayout, path: notalayout}", []string{"resources[0].input.path: ", "invalid OCI Image Layout"}},
		{"not a tar", "{type: ociImageLayout, path: plain.tar}", []string{"resources[0].input.path: ", "is not an OCI image layout tar"}},
		{"missing", "{type: ociImageLayout, path: gone}", []string{"resources[0].input.path: stat "}},
		{"no path", "{type: ociImageLayout}", []string{"resources[0].input.path: must be set"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "no path" {
				_, err := Parse([]byte(okComponent+"resources:\n- {name: rr, type: t, input: "+tc.input+"}\n"), file, LoadOptions{Env: envMap(nil)})
				wantErr(t, err, tc.want...)
				return
			}
			_, err := openResource(t, base, tc.input, nil)
			wantErr(t, err, tc.want...)
		})
	}
}

func TestDirLayoutErrors(t *testing.T) {
	base := t.TempDir()
	buildLayout(t, filepath.Join(base, "one"), "v1")
	writeFile(t, filepath.Join(base, "plain", "a.txt"), "a", 0o644)
	for _, tc := range []struct{ input, want string }{
		{"{type: dir, path: one, mediaType: " + OCILayoutMediaType + ", preserveDir: true}", "input.preserveDir: not supported for an OCI image layout"},
		{"{type: dir, path: one, mediaType: " + OCILayoutMediaType + ", excludeFiles: [blobs]}", "input.includeFiles: file filters are not supported"},
		{"{type: dir, path: plain, mediaType: " + OCILayoutMediaType + "}", "input.path:"},
	} {
		_, err := openResource(t, base, tc.input, nil)
		wantErr(t, err, tc.want)
	}
}
