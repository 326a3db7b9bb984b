package integrity

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/blob"
)

// maxManifestSize bounds manifests and index files read into memory.
const maxManifestSize = 4 << 20

// ArtifactSetDigest reads an OCM v1 artifact set or OCI layout archive (tar,
// optionally gzipped) and returns the digest of its main manifest: the index
// annotation software.ocm/main, else its only manifest. The archive must hold
// a manifest blob that hashes to that digest. This is what
// ociArtifactDigest/v1 records for such blobs.
func ArtifactSetDigest(r io.Reader) (d digest.Digest, err error) {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return "", fmt.Errorf("artifact archive: %w", err)
		}
		defer gz.Close()
		src = gz
	}
	var main digest.Digest
	hashed := map[digest.Digest]bool{}
	tr := tar.NewReader(src)
	defer func() {
		// The main manifest's digest is only as good as the stream: a
		// corrupt gzip trailer fails the archive.
		if gz, ok := src.(*gzip.Reader); ok && err == nil {
			if ferr := blob.FinishGzip(gz); ferr != nil {
				d, err = "", fmt.Errorf("artifact archive: %w", ferr)
			}
		}
	}()
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("reading artifact archive: %w", err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		switch {
		case name == "index.json" || name == "artifact-descriptor.json":
			if main, err = mainManifest(name, tr); err != nil {
				return "", err
			}
		case strings.HasPrefix(name, "blobs/") && h.Size <= maxManifestSize:
			// Blob names are <alg>.<hex> (artifact sets) or <alg>/<hex> (OCI layouts).
			rest := strings.TrimPrefix(name, "blobs/")
			claimed := digest.Digest(strings.Replace(strings.Replace(rest, "/", ":", 1), ".", ":", 1))
			if claimed.Validate() != nil {
				continue
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				return "", fmt.Errorf("reading artifact archive: %w", err)
			}
			if claimed.Algorithm().FromBytes(data) == claimed {
				hashed[claimed] = true
			}
		}
	}
	if main == "" {
		return "", fmt.Errorf("artifact archive has no index.json or artifact-descriptor.json naming its main manifest")
	}
	if !hashed[main] {
		return "", fmt.Errorf("artifact archive does not hold main manifest %s (or its content does not match)", main)
	}
	return main, nil
}

func mainManifest(name string, r io.Reader) (digest.Digest, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxManifestSize))
	if err != nil {
		return "", err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return "", fmt.Errorf("artifact archive %s: %w", name, err)
	}
	main := idx.Annotations["software.ocm/main"]
	if main == "" {
		if len(idx.Manifests) != 1 {
			return "", fmt.Errorf("artifact archive %s lists %d manifests and no software.ocm/main annotation", name, len(idx.Manifests))
		}
		main = idx.Manifests[0].Digest.String()
	}
	dg, err := digest.Parse(main)
	if err != nil {
		return "", fmt.Errorf("artifact archive main manifest %q: %w", main, err)
	}
	return dg, nil
}
