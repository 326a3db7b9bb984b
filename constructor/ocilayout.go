package constructor

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
)

// OCIImageLayoutInput is our ociImageLayout/v1 input (the reference gets the
// same from a file input with an OCI layout media type): an OCI image
// layout, as a directory or a tar of one (gzipped or not), stored as a
// native OCI artifact. The artifact's root is the manifest or index that
// index.json lists: the one whose org.opencontainers.image.ref.name
// annotation (or digest) equals Ref; without Ref the only one listed, or else
// the only one carrying a ref.name annotation (the reference's rule).
// Referrers listed beside it (signatures and the like) are not included.
type OCIImageLayoutInput struct {
	Path string `json:"path"`
	Ref  string `json:"ref,omitempty"`
}

func openLayout(ctx context.Context, raw []byte, w *where) (*Content, error) {
	var in OCIImageLayoutInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, w.wrap("", err)
	}
	p := w.resolve(in.Path)
	fi, err := os.Stat(p)
	if err != nil {
		return nil, w.wrap("path", err)
	}
	var art *Artifact
	if fi.IsDir() {
		art, err = openLayoutDir(ctx, p, in.Ref)
	} else {
		art, err = openLayoutTar(ctx, p, in.Ref)
	}
	if err != nil {
		return nil, w.wrap("path", err)
	}
	return &Content{Artifact: art}, nil
}

func openLayoutDir(ctx context.Context, dir, ref string) (*Artifact, error) {
	fsys := os.DirFS(dir)
	store, err := oci.NewFromFS(ctx, fsys)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	index, err := os.ReadFile(dir + string(os.PathSeparator) + ocispec.ImageIndexFile)
	if err != nil {
		return nil, err
	}
	return layoutArtifact(ctx, store, index, ref, func() error { return nil })
}

// openLayoutTar opens a tar of an OCI image layout; a gzipped one is first
// decompressed into a temporary file (oras needs to seek in the tar), which
// the artifact's Close removes.
func openLayoutTar(ctx context.Context, file, ref string) (_ *Artifact, err error) {
	tarPath := file
	closeFn := func() error { return nil }
	defer func() {
		if err != nil {
			_ = closeFn()
		}
	}()
	gz, err := isGzip(file)
	if err != nil {
		return nil, err
	}
	if gz {
		tmp, gerr := gunzipToTemp(file)
		if gerr != nil {
			return nil, gerr
		}
		tarPath = tmp
		closeFn = func() error { return os.Remove(tmp) }
	}
	store, err := oci.NewFromTar(ctx, tarPath)
	if err != nil {
		return nil, fmt.Errorf("%s is not an OCI image layout tar: %w", file, err)
	}
	index, err := readTarMember(tarPath, ocispec.ImageIndexFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return layoutArtifact(ctx, store, index, ref, closeFn)
}

func isGzip(file string) (bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var magic [2]byte
	n, err := io.ReadFull(f, magic[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b, nil
}

func gunzipToTemp(file string) (_ string, err error) {
	in, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer in.Close()
	zr, err := gzip.NewReader(bufio.NewReader(in))
	if err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	out, err := os.CreateTemp("", "ocm-oci-layout-*.tar")
	if err != nil {
		return "", err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(out.Name())
		}
	}()
	if _, err := io.Copy(out, zr); err != nil {
		return "", fmt.Errorf("decompressing %s: %w", file, err)
	}
	return out.Name(), nil
}

// maxIndexSize caps index.json.
const maxIndexSize = 16 << 20

// readTarMember reads one small member of a tar (names compared cleaned, as oras does).
func readTarMember(file, name string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("no %s in the tar", name)
		}
		if err != nil {
			return nil, err
		}
		if path.Clean(hdr.Name) == name && hdr.Typeflag == tar.TypeReg {
			return readCapped(tr, maxIndexSize)
		}
	}
}

// layoutArtifact picks the root and checks the graph; on error the caller
// releases what closeFn would.
func layoutArtifact(ctx context.Context, store content.ReadOnlyStorage, indexJSON []byte, ref string, closeFn func() error) (*Artifact, error) {
	var index ocispec.Index
	if err := json.Unmarshal(indexJSON, &index); err != nil {
		return nil, fmt.Errorf("invalid index.json: %w", err)
	}
	root, err := pickRoot(ctx, store, index.Manifests, ref)
	if err != nil {
		return nil, err
	}
	if err := checkGraph(ctx, store, root); err != nil {
		return nil, err
	}
	return &Artifact{Root: root, Store: store, Close: closeFn}, nil
}

// pickRoot selects the artifact's root among index.json's manifests and
// drops its ref.name annotation (a tag inside the layout). Without ref, a
// manifest that another listed one references (an index's child, which oras
// lists too) is not a candidate.
func pickRoot(ctx context.Context, store content.ReadOnlyStorage, manifests []ocispec.Descriptor, ref string) (ocispec.Descriptor, error) {
	refName := func(d ocispec.Descriptor) string { return d.Annotations[ocispec.AnnotationRefName] }
	var candidates []ocispec.Descriptor
	switch {
	case len(manifests) == 0:
		return ocispec.Descriptor{}, errors.New("index.json lists no manifests")
	case ref != "":
		for _, d := range manifests {
			if refName(d) == ref || d.Digest.String() == ref {
				candidates = append(candidates, d)
			}
		}
		if len(candidates) == 0 {
			return ocispec.Descriptor{}, &fieldError{field: "ref", err: fmt.Errorf("no manifest with ref %q in index.json (%s)", ref, describeRefs(manifests))}
		}
		for _, d := range candidates[1:] {
			if d.Digest != candidates[0].Digest {
				return ocispec.Descriptor{}, &fieldError{field: "ref", err: fmt.Errorf("ref %q names several different manifests in index.json", ref)}
			}
		}
	case len(manifests) == 1:
		candidates = manifests
	default:
		top, err := topLevel(ctx, store, manifests)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		if len(top) == 1 {
			candidates = top
			break
		}
		candidates = distinct(top, func(d ocispec.Descriptor) bool { return refName(d) != "" })
		if len(candidates) != 1 {
			return ocispec.Descriptor{}, fmt.Errorf("index.json lists %d manifests and none was chosen; set ref (on an ociImageLayout input) to pick one (%s)", len(manifests), describeRefs(manifests))
		}
	}
	root := candidates[0]
	if len(root.Annotations) > 0 {
		ann := make(map[string]string, len(root.Annotations))
		for k, v := range root.Annotations {
			if k != ocispec.AnnotationRefName {
				ann[k] = v
			}
		}
		root.Annotations = ann
		if len(ann) == 0 {
			root.Annotations = nil
		}
	}
	return root, nil
}

// topLevel drops the manifests that another listed manifest references.
func topLevel(ctx context.Context, store content.ReadOnlyStorage, manifests []ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	referenced := map[string]bool{}
	for _, d := range manifests {
		succ, err := content.Successors(ctx, store, d)
		if err != nil {
			return nil, fmt.Errorf("reading %s %s: %w", d.MediaType, d.Digest, err)
		}
		for _, s := range succ {
			referenced[s.Digest.String()] = true
		}
	}
	return distinct(manifests, func(d ocispec.Descriptor) bool { return !referenced[d.Digest.String()] }), nil
}

// distinct keeps the descriptors that pass keep, one per digest (the first).
func distinct(ds []ocispec.Descriptor, keep func(ocispec.Descriptor) bool) []ocispec.Descriptor {
	var out []ocispec.Descriptor
	seen := map[string]bool{}
	for _, d := range ds {
		if keep(d) && !seen[d.Digest.String()] {
			seen[d.Digest.String()] = true
			out = append(out, d)
		}
	}
	return out
}

func describeRefs(manifests []ocispec.Descriptor) string {
	var refs []string
	for _, d := range manifests {
		if r := d.Annotations[ocispec.AnnotationRefName]; r != "" {
			refs = append(refs, fmt.Sprintf("%q", r))
		} else {
			refs = append(refs, "untagged "+d.Digest.String())
		}
	}
	return "listed: " + strings.Join(refs, ", ")
}

// maxGraphNodes bounds the completeness check.
const maxGraphNodes = 100000

// checkGraph makes sure root and everything it references are in the store,
// so that a broken layout fails now rather than half-way through storing it.
func checkGraph(ctx context.Context, store content.ReadOnlyStorage, root ocispec.Descriptor) error {
	seen := map[string]bool{}
	queue := []ocispec.Descriptor{root}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if seen[d.Digest.String()] {
			continue
		}
		seen[d.Digest.String()] = true
		if len(seen) > maxGraphNodes {
			return fmt.Errorf("the artifact references more than %d blobs", maxGraphNodes)
		}
		if err := d.Digest.Validate(); err != nil {
			return fmt.Errorf("invalid digest %q: %w", d.Digest, err)
		}
		ok, err := store.Exists(ctx, d)
		if err != nil {
			return fmt.Errorf("checking %s: %w", d.Digest, err)
		}
		if !ok {
			return fmt.Errorf("%s %s is missing from the layout", d.MediaType, d.Digest)
		}
		succ, err := content.Successors(ctx, store, d)
		if err != nil {
			return fmt.Errorf("reading %s %s: %w", d.MediaType, d.Digest, err)
		}
		queue = append(queue, succ...)
	}
	return nil
}
