// Package deploy turns a downloaded resource into Kubernetes objects and
// applies them as a KEP-3659 ApplySet. Decoding streams: a manifest bundle is
// read from disk one object at a time, so a large bundle never has to fit in
// memory as a whole.
package deploy

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/ocmgo/ocm/archive"
	"github.com/ocmgo/ocm/blob"
)

// Format is what a resource blob holds.
type Format string

const (
	// FormatManifests is multi-document YAML or a JSON object/stream (a kro
	// ResourceGraphDefinition is one such object).
	FormatManifests Format = "manifests"
	// FormatTar is a tar (optionally gzip-compressed) of manifest files.
	FormatTar Format = "tar"
	// FormatHelmChart is a packaged Helm chart (.tgz).
	FormatHelmChart Format = "helmChart"
	// FormatOCILayout is an OCI image layout tar holding a Helm chart artifact.
	FormatOCILayout Format = "ociLayout"
)

// MaxObjectSize caps a single decoded document; the apiserver rejects
// larger objects anyway (etcd's request limit is 1.5 MiB by default), so
// this only bounds the decoder's buffer on hostile input.
const MaxObjectSize = 16 << 20

// Source yields the objects of a resource, one at a time. Each can be
// iterated more than once (the applier makes several passes).
type Source interface {
	// Each calls fn for every object in document order; it stops at the
	// first error fn returns.
	Each(ctx context.Context, fn func(*unstructured.Unstructured) error) error
}

// Open inspects the file at path and returns a Source for it. Helm charts
// are rendered with opts.Helm.
func Open(path string, opts Options) (Source, Format, error) {
	format, err := Detect(path)
	if err != nil {
		return nil, "", err
	}
	switch format {
	case FormatManifests:
		return fileSource{path: path, read: func(r io.Reader, fn func(*unstructured.Unstructured) error) error {
			return DecodeManifests(r, "", fn)
		}}, format, nil
	case FormatTar:
		return fileSource{path: path, read: decodeTar}, format, nil
	case FormatHelmChart, FormatOCILayout:
		helm := opts.Helm
		if opts.HelmFrom != nil {
			if helm, err = opts.HelmFrom(); err != nil {
				return nil, format, err
			}
		}
		src, err := openHelm(path, format, helm)
		return src, format, err
	}
	return nil, "", fmt.Errorf("unknown format %q", format)
}

// Options tune Open.
type Options struct {
	Helm HelmOptions
	// HelmFrom, if set, supplies the Helm options instead of Helm, and is
	// called only for a chart: their values and the cluster's capabilities
	// cost requests that other content does not need.
	HelmFrom func() (HelmOptions, error)
}

// Detect sniffs the file's format: gzip or tar magic, then what the tar holds.
func Detect(p string) (Format, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("opening resource: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 4096)
	head, _ := br.Peek(512)
	var r io.Reader = br
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return "", fmt.Errorf("reading gzip: %w", err)
		}
		defer zr.Close()
		zbr := bufio.NewReaderSize(zr, 4096)
		head, _ = zbr.Peek(512)
		if !isTar(head) {
			return "", errors.New("gzip content is not a tar archive")
		}
		r = zbr
	} else if !isTar(head) {
		return FormatManifests, nil
	}
	// Classify a tar by its entries: a chart has <dir>/Chart.yaml, an OCI
	// layout has oci-layout at the root.
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return FormatTar, nil
		}
		if err != nil {
			return "", fmt.Errorf("reading tar: %w", err)
		}
		name := strings.TrimPrefix(path.Clean(h.Name), "./")
		switch {
		case name == "oci-layout":
			return FormatOCILayout, nil
		case strings.Count(name, "/") == 1 && path.Base(name) == "Chart.yaml":
			return FormatHelmChart, nil
		}
	}
}

// isTar checks the ustar magic at offset 257 (POSIX and GNU tars both carry it).
func isTar(head []byte) bool {
	return len(head) >= 262 && string(head[257:262]) == "ustar"
}

type fileSource struct {
	path string
	read func(io.Reader, func(*unstructured.Unstructured) error) error
}

func (s fileSource) Each(ctx context.Context, fn func(*unstructured.Unstructured) error) error {
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("opening resource: %w", err)
	}
	defer f.Close()
	return s.read(f, func(u *unstructured.Unstructured) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(u)
	})
}

// DecodeManifests streams YAML documents (or JSON values) from r and calls
// fn for each object. Empty documents are skipped; a List is flattened into
// its items. where names the input in errors.
func DecodeManifests(r io.Reader, where string, fn func(*unstructured.Unstructured) error) error {
	reader := utilyaml.NewYAMLOrJSONDecoder(&limitedDocs{r: r}, 4096)
	for doc := 1; ; doc++ {
		var raw map[string]any
		err := reader.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%sdocument %d: %w", prefix(where), doc, err)
		}
		if len(raw) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: raw}
		if err := validate(u); err != nil {
			return fmt.Errorf("%sdocument %d: %w", prefix(where), doc, err)
		}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return fmt.Errorf("%sdocument %d: %w", prefix(where), doc, err)
			}
			for i := range list.Items {
				item := &list.Items[i]
				if err := validate(item); err != nil {
					return fmt.Errorf("%sdocument %d item %d: %w", prefix(where), doc, i, err)
				}
				if err := fn(item); err != nil {
					return err
				}
			}
			continue
		}
		if err := fn(u); err != nil {
			return err
		}
	}
}

func prefix(where string) string {
	if where == "" {
		return ""
	}
	return where + ": "
}

// validate checks what the applier needs: apiVersion, kind and a name.
func validate(u *unstructured.Unstructured) error {
	if u.GetAPIVersion() == "" {
		return errors.New("object has no apiVersion")
	}
	if u.GetKind() == "" {
		return errors.New("object has no kind")
	}
	if u.IsList() {
		return nil
	}
	if u.GetName() == "" {
		if u.GetGenerateName() != "" {
			return fmt.Errorf("%s uses generateName, which cannot be applied idempotently", u.GetKind())
		}
		return fmt.Errorf("%s has no metadata.name", u.GetKind())
	}
	return nil
}

// limitedDocs fails a read once a single YAML document grows beyond
// MaxObjectSize: the YAML reader buffers a whole document, so without the
// cap one endless document would take all memory.
type limitedDocs struct {
	r       io.Reader
	sinceNL int64 // bytes since the last document separator
	line    []byte
}

func (l *limitedDocs) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		l.sinceNL++
		if b != '\n' {
			if len(l.line) < 4 {
				l.line = append(l.line, b)
			}
			continue
		}
		// A YAML separator or a JSON value starting or ending at column 0
		// begins a new document (over-approximating only loosens the cap).
		if bytes.HasPrefix(l.line, []byte("---")) || bytes.HasPrefix(l.line, []byte("{")) || bytes.HasPrefix(l.line, []byte("}")) {
			l.sinceNL = 0
		}
		l.line = l.line[:0]
	}
	if l.sinceNL > MaxObjectSize {
		return n, fmt.Errorf("a document exceeds %d bytes", MaxObjectSize)
	}
	return n, err
}

// decodeTar decodes every manifest file (.yaml, .yml, .json) of a tar or
// tgz, in archive order. Entry names must be relative and stay inside the
// archive; nothing is written to disk, but a hostile name is still refused
// so that errors never point outside the archive.
func decodeTar(r io.Reader, fn func(*unstructured.Unstructured) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(2)
	var in io.Reader = br
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("reading gzip: %w", err)
		}
		defer zr.Close()
		in = zr
	}
	tr := tar.NewReader(in)
	found := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading tar: %w", err)
		}
		name, err := archive.EntryName(h.Name)
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue // directories, links and devices carry no manifests
		}
		switch strings.ToLower(path.Ext(name)) {
		case ".yaml", ".yml", ".json":
		default:
			continue
		}
		if strings.HasPrefix(path.Base(name), ".") {
			continue // editor and OS droppings such as ._foo.yaml
		}
		found = true
		if err := DecodeManifests(tr, name, fn); err != nil {
			return err
		}
	}
	if zr, ok := in.(*gzip.Reader); ok {
		if err := blob.FinishGzip(zr); err != nil {
			return fmt.Errorf("reading gzip: %w", err)
		}
	}
	if !found {
		return errors.New("tar archive contains no .yaml, .yml or .json files")
	}
	return nil
}

// SliceSource is a Source over objects already in memory (tests, rendered charts).
type SliceSource []*unstructured.Unstructured

// Each implements Source; fn receives copies, so the slice stays unchanged.
func (s SliceSource) Each(ctx context.Context, fn func(*unstructured.Unstructured) error) error {
	for _, u := range s {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(u.DeepCopy()); err != nil {
			return err
		}
	}
	return nil
}
