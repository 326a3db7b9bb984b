package download

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
)

func gz(t *testing.T, data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

// artifactSet builds an OCM v1 artifact set: index.json with software.ocm/main,
// oci-layout and flat blobs/sha256.<hex>; it returns the archive and the main manifest digest.
func artifactSet(t *testing.T) ([]byte, digest.Digest) {
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
	md := digest.FromBytes(manifest)
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "annotations": map[string]string{"software.ocm/main": md.String()},
		"manifests": []map[string]any{{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(manifest)}}})
	data := tarStream(t,
		entry{hdr: tar.Header{Name: "index.json"}, data: string(index)},
		entry{hdr: tar.Header{Name: "oci-layout"}, data: `{"imageLayoutVersion":"1.0.0"}`},
		entry{hdr: tar.Header{Name: "blobs/sha256." + md.Encoded()}, data: string(manifest)},
		entry{hdr: tar.Header{Name: "blobs/sha256.44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}, data: "{}"},
	)
	return gz(t, data), md
}

func localResource(t *testing.T, name, mediaType string, data []byte, d *descriptor.DigestSpec) (descriptor.Resource, testutil.Layer) {
	dg := digest.FromBytes(data)
	acc, err := descriptor.NewTyped(descriptor.LocalBlobAccess{Type: "LocalBlob/v1", LocalReference: dg.String(), MediaType: mediaType})
	if err != nil {
		t.Fatal(err)
	}
	return descriptor.Resource{ElementMeta: descriptor.ElementMeta{Name: name, Version: "1.0.0"}, Type: "blob", Relation: "local", Access: &acc, Digest: d},
		testutil.Layer{MediaType: mediaType, Data: data}
}

func generic(alg, value string) *descriptor.DigestSpec {
	return &descriptor.DigestSpec{HashAlgorithm: alg, NormalisationAlgorithm: genericBlobDigest, Value: value}
}

func TestResourceDigests(t *testing.T) {
	text := []byte("hello digest\n")
	textSum := digest.FromBytes(text).Encoded()
	sum512 := sha512.Sum512(text)
	set, main := artifactSet(t)
	gzText := gz(t, text)
	var resources []descriptor.Resource
	var layers []testutil.Layer
	add := func(name, mt string, data []byte, d *descriptor.DigestSpec) {
		r, l := localResource(t, name, mt, data, d)
		resources = append(resources, r)
		layers = append(layers, l)
	}
	add("plain", "text/plain", text, generic("SHA-256", textSum))
	add("sha512", "text/plain", text, generic("SHA-512", hex.EncodeToString(sum512[:])))
	add("legacy-hash", "text/plain", text, generic("sha256", textSum))
	add("nodigest", "text/plain", text, nil)
	add("excluded", "text/plain", text, &descriptor.DigestSpec{HashAlgorithm: "NO-DIGEST", NormalisationAlgorithm: excludeFromSignature, Value: "NO-DIGEST"})
	add("wrongdigest", "text/plain", text, generic("SHA-256", strings.Repeat("0", 64)))
	add("unknownnorm", "text/plain", text, &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "magic/v1", Value: textSum})
	add("gzipped", "application/gzip", gzText, generic("SHA-256", digest.FromBytes(gzText).Encoded()))
	add("artifactset", "application/vnd.oci.image.manifest.v1+tar+gzip", set, &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: ociArtifactDigest, Value: main.Encoded()})
	add("artifactset-wrong", "application/vnd.oci.image.manifest.v1+tar+gzip", set, &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: ociArtifactDigest, Value: strings.Repeat("1", 64)})
	tgz := gz(t, tarStream(t, entry{hdr: tar.Header{Name: "index.json"}, data: "{}"}))
	badCRC := func(b []byte) []byte { // flip a bit of the CRC-32 in the gzip trailer
		c := bytes.Clone(b)
		c[len(c)-8] ^= 1
		return c
	}
	add("tgz", "application/x-tgz", tgz, generic("SHA-256", digest.FromBytes(tgz).Encoded()))
	add("tgz-badcrc", "application/x-tgz", badCRC(tgz), generic("SHA-256", digest.FromBytes(badCRC(tgz)).Encoded()))
	add("gzipped-badcrc", "application/gzip", badCRC(gzText), generic("SHA-256", digest.FromBytes(badCRC(gzText)).Encoded()))
	add("artifact-digest-on-text", "text/plain", text, &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: ociArtifactDigest, Value: textSum})

	cd := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: "v2"}, Component: descriptor.Component{
		Name: "example.com/dl/test", Version: "1.0.0", Provider: "acme", Resources: resources}}
	dir := filepath.Join(t.TempDir(), "ctf")
	if err := testutil.AddComponentVersion(dir, cd, layers...); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	repo, err := repository.Open(ctx, reference.Repository{Type: reference.TypeCTF, FilePath: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	got, err := repo.GetComponentVersion(ctx, cd.Component.Name, cd.Component.Version)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		policy   ExtractionPolicy
		wantErr  string
		wantFile []byte // nil: a directory
		verified string
	}{
		{"plain", ExtractDisable, "", text, "resource digest SHA-256/genericBlobDigest/v1"},
		{"sha512", ExtractDisable, "", text, "resource digest SHA-512/genericBlobDigest/v1"},
		{"legacy-hash", ExtractDisable, "", text, "resource digest sha256/genericBlobDigest/v1"},
		{"nodigest", ExtractDisable, "", text, "content digest"},
		{"excluded", ExtractDisable, "", text, "content digest"},
		{"wrongdigest", ExtractDisable, "resource digest (SHA-256/genericBlobDigest/v1) mismatch: expected SHA-256 0000000000000000000000000000000000000000000000000000000000000000, content has " + textSum, nil, ""},
		{"unknownnorm", ExtractDisable, `unknown normalisation algorithm "magic/v1"`, nil, ""},
		{"gzipped", ExtractAuto, "", text, "resource digest SHA-256/genericBlobDigest/v1"},
		{"gzipped", ExtractDisable, "", gzText, "resource digest SHA-256/genericBlobDigest/v1"},
		{"artifactset", ExtractDisable, "", set, "resource digest SHA-256/ociArtifactDigest/v1"},
		{"artifactset", ExtractAuto, "", nil, "resource digest SHA-256/ociArtifactDigest/v1"},
		{"artifactset-wrong", ExtractDisable, "resource digest mismatch: descriptor records SHA-256 " + strings.Repeat("1", 64) + ", artifact has " + main.String(), nil, ""},
		{"artifactset-wrong", ExtractAuto, "resource digest mismatch", nil, ""},
		{"tgz", ExtractAuto, "", nil, "resource digest SHA-256/genericBlobDigest/v1"},
		// The recorded digest matches the stored bytes, but the gzip stream
		// is corrupt: extraction fails on its trailer and leaves nothing.
		{"tgz-badcrc", ExtractAuto, "gzip: invalid checksum", nil, ""},
		{"gzipped-badcrc", ExtractAuto, "gzip: invalid checksum", nil, ""},
		{"artifact-digest-on-text", ExtractDisable, `needs an OCI artifact, but the blob has media type "text/plain"`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+string(tt.policy), func(t *testing.T) {
			outDir := t.TempDir()
			out := filepath.Join(outDir, "out")
			idx := got.Component.SelectResources(descriptor.Identity{"name": tt.name})
			if len(idx) != 1 {
				t.Fatalf("resource %s: %v", tt.name, idx)
			}
			res, err := Resource(ctx, repo, got, idx[0], out, Options{Extraction: tt.policy})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "resource name="+tt.name+" of example.com/dl/test:1.0.0: ") {
					t.Fatalf("error %q does not name the resource", err)
				}
				if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
					t.Fatalf("failed download left %v", entries)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(res.Verified, ","), tt.verified) {
				t.Fatalf("verified %v, want %q", res.Verified, tt.verified)
			}
			if tt.wantFile != nil {
				data, err := os.ReadFile(out)
				if err != nil || !bytes.Equal(data, tt.wantFile) {
					t.Fatalf("output %q %v", data, err)
				}
			} else if _, err := os.Stat(filepath.Join(out, "index.json")); err != nil {
				t.Fatalf("extracted artifact set: %v", err)
			}
			if entries, _ := os.ReadDir(outDir); len(entries) != 1 {
				t.Fatalf("temp files left beside the output: %v", entries)
			}
		})
	}
}
