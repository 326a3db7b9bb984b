package integrity

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// A corrupt gzip trailer fails ArtifactSetDigest even though the main
// manifest and its blob were complete before it.
func TestArtifactSetDigestChecksGzipTrailer(t *testing.T) {
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
	md := digest.FromBytes(manifest)
	index := `{"schemaVersion":2,"annotations":{"software.ocm/main":"` + md.String() + `"},"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + md.String() + `","size":` + strconv.Itoa(len(manifest)) + `}]}`
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, data := range map[string][]byte{"index.json": []byte(index), "blobs/sha256." + md.Encoded(): manifest} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	tw.Close()
	zw.Close()
	good := buf.Bytes()
	if d, err := ArtifactSetDigest(bytes.NewReader(good)); err != nil || d != md {
		t.Fatalf("good archive: %s, %v", d, err)
	}
	bad := bytes.Clone(good)
	bad[len(bad)-8] ^= 1
	if d, err := ArtifactSetDigest(bytes.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "gzip: invalid checksum") {
		t.Fatalf("corrupt trailer: %s, %v", d, err)
	}
}
