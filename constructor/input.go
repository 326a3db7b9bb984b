package constructor

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gabriel-vasile/mimetype"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/reference"
)

// Content is what an input yields for the storage layer: either a blob
// (Open is set) or a native OCI artifact (Artifact is set), never both.
type Content struct {
	// MediaType of the blob.
	MediaType string
	// Size of the blob, or -1 when it is only known after streaming it
	// (compressed data, directory tars).
	Size int64
	// Open streams the blob. Every call starts a fresh stream; inputs are
	// never read whole into memory (utf8 values are already in memory).
	// Read errors name the constructor file and field.
	Open func() (io.ReadCloser, error)

	// Artifact is a native OCI artifact (Helm chart, OCI image layout).
	Artifact *Artifact
}

// Artifact is an OCI manifest or index together with everything it
// references, to be copied as a graph (e.g. with oras.CopyGraph).
type Artifact struct {
	// Root is the manifest or index, with its original digest.
	Root ocispec.Descriptor
	// Store holds Root and all its successors.
	Store content.ReadOnlyStorage
	// Close releases what the store holds (temporary files); always set.
	Close func() error
	// Upload is the OCI reference (repository:tag) a helm input names as
	// its upload location; validated, reported, and (as by the reference
	// CLI) not acted on: the artifact is stored with the component version.
	Upload *reference.Image
}

// Input type names as the error message lists them.
const knownInputTypes = "file, dir, utf8, helm, wget, ociImageLayout"

type fieldKind int

const (
	kString fieldKind = iota
	kBool
	kStringList
	kAny
)

type inputField struct {
	name string
	kind fieldKind
}

// inputKind is one input type: its spellings, fields, extra checks and opener.
type inputKind struct {
	names  []string // base names; each is accepted bare and with "/v1"
	fields []inputField
	check  func(p *parser, path string, m map[string]any)
	open   func(ctx context.Context, raw []byte, w *where) (*Content, error)
	// example is a valid input of this type, as YAML (ocm describe types;
	// a test parses every example).
	example string
}

var inputKinds = []*inputKind{
	{
		names:   []string{"File", "file"},
		fields:  []inputField{{"path", kString}, {"mediaType", kString}, {"compress", kBool}},
		check:   requirePath,
		open:    openFile,
		example: "type: file\npath: ./config.json\nmediaType: application/json\n",
	},
	{
		names: []string{"Dir", "dir"},
		fields: []inputField{
			{"path", kString}, {"mediaType", kString}, {"compress", kBool}, {"preserveDir", kBool},
			{"followSymlinks", kBool}, {"includeFiles", kStringList}, {"excludeFiles", kStringList},
			{"reproducible", kBool},
		},
		check:   checkDir,
		open:    openDir,
		example: "type: dir\npath: ./chart\ncompress: true\nexcludeFiles: [\"*.bak\"]\n",
	},
	{
		names:   []string{"UTF8", "utf8"},
		fields:  []inputField{{"text", kString}, {"json", kAny}, {"formattedJson", kAny}, {"yaml", kAny}, {"compress", kBool}},
		check:   checkUTF8,
		open:    openUTF8,
		example: "type: utf8\ntext: hello world\n",
	},
	{
		names: []string{"Helm", "helm"},
		fields: []inputField{
			{"path", kString}, {"helmRepository", kString}, {"repository", kString}, {"version", kString},
			{"caCert", kString}, {"caCertFile", kString},
		},
		check:   checkHelm,
		open:    openHelm,
		example: "type: helm\npath: ./charts/podinfo\n",
	},
	{
		names: []string{"Wget", "wget"},
		fields: []inputField{
			{"url", kString}, {"mediaType", kString}, {"header", kAny}, {"verb", kString},
			{"body", kString}, {"noRedirect", kBool},
		},
		check:   checkWget,
		open:    openWget,
		example: "type: wget\nurl: https://example.com/app.tgz\nmediaType: application/gzip\n",
	},
	{
		names:   []string{"ociImageLayout", "OCIImageLayout"},
		fields:  []inputField{{"path", kString}, {"ref", kString}},
		check:   requirePath,
		open:    openLayout,
		example: "type: ociImageLayout\npath: ./image-layout\n",
	},
}

// InputType describes one input type of constructors, for documentation.
type InputType struct {
	// Names are the accepted type names (the first is the preferred one);
	// each is accepted bare and with /v1.
	Names []string
	// Fields are the input's fields besides type, with their kind:
	// string, bool, []string or any.
	Fields []InputField
	// Example is a valid input of this type, as YAML.
	Example string
}

// InputField is one field of an input type.
type InputField struct {
	Name, Kind string
}

// InputTypes lists the input types constructors accept, from the table the
// parser uses.
func InputTypes() []InputType {
	kinds := map[fieldKind]string{kString: "string", kBool: "bool", kStringList: "[]string", kAny: "any"}
	var out []InputType
	for _, k := range inputKinds {
		t := InputType{Names: slices.Clone(k.names), Example: k.example}
		for _, f := range k.fields {
			t.Fields = append(t.Fields, InputField{Name: f.name, Kind: kinds[f.kind]})
		}
		out = append(out, t)
	}
	return out
}

func lookupInputKind(t string) *inputKind {
	base, version, versioned := strings.Cut(t, "/")
	if versioned && version != "v1" {
		return nil
	}
	for _, k := range inputKinds {
		if slices.Contains(k.names, base) {
			return k
		}
	}
	return nil
}

// input validates an input spec; it returns its kind, or nil after recording errors.
func (p *parser) input(path string, m map[string]any) *inputKind {
	t, ok := m["type"].(string)
	if !ok || t == "" {
		if m["type"] == nil || ok {
			p.fail(join(path, "type"), "must be set")
		} else {
			p.fail(join(path, "type"), "must be a string, got %s", kindOf(m["type"]))
		}
		return nil
	}
	k := lookupInputKind(t)
	if k == nil {
		p.fail(join(path, "type"), "unknown input type %q (known: %s)", t, knownInputTypes)
		return nil
	}
	before := len(p.errs)
	allowed := []string{"type"}
	for _, f := range k.fields {
		allowed = append(allowed, f.name)
	}
	p.checkKeys(path, m, allowed)
	for _, f := range k.fields {
		switch f.kind {
		case kString:
			p.str(path, m, f.name, false)
		case kBool:
			p.boolean(path, m, f.name)
		case kStringList:
			p.stringList(path, m, f.name)
		}
	}
	k.check(p, path, m)
	if len(p.errs) > before {
		return nil
	}
	return k
}

// requirePath reports a missing or empty path (a wrong type is reported already).
func requirePath(p *parser, path string, m map[string]any) {
	switch v := m["path"].(type) {
	case nil:
		p.fail(join(path, "path"), "must be set")
	case string:
		if v == "" {
			p.fail(join(path, "path"), "must not be empty")
		}
	}
}

// OpenInput turns an input spec into content. Relative paths resolve against
// baseDir; errors name the field ("input.path: ..."). SOURCE_DATE_EPOCH is
// read from the process environment. Resource.OpenInput and
// Source.OpenInput do the same for parsed elements, naming the file and
// element in errors.
func OpenInput(ctx context.Context, in *descriptor.Typed, baseDir string) (*Content, error) {
	return openInput(ctx, in, &where{baseDir: baseDir, env: os.LookupEnv})
}

// OpenInput opens the resource's input (see the package OpenInput).
func (r *Resource) OpenInput(ctx context.Context) (*Content, error) {
	return openInput(ctx, r.Input, r.at)
}

// OpenInput opens the source's input (see the package OpenInput).
func (s *Source) OpenInput(ctx context.Context) (*Content, error) {
	return openInput(ctx, s.Input, s.at)
}

func openInput(ctx context.Context, in *descriptor.Typed, w *where) (*Content, error) {
	if w == nil {
		w = &where{baseDir: ".", env: os.LookupEnv}
	}
	if in == nil {
		return nil, w.errorf("", "not set")
	}
	raw, err := in.MarshalJSON()
	if err != nil {
		return nil, w.wrap("", err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, w.errorf("", "must be an object")
	}
	p := &parser{file: w.file}
	k := p.input(join(w.path, "input"), m)
	if k == nil {
		return nil, joinErrors(p.errs)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return k.open(ctx, raw, w)
}

// errorf makes an error about a field of the element's input.
func (w *where) errorf(field, format string, args ...any) error {
	return w.wrap(field, fmt.Errorf(format, args...))
}

// wrap names the element's input field in err; a *fieldError names its own
// field of the input instead.
func (w *where) wrap(field string, err error) error {
	if err == nil {
		return nil
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return err // already placed
	}
	p := join(w.path, "input")
	if ie, ok := err.(*fieldError); ok {
		field, err = ie.field, ie.err // names a field of the input itself
	}
	if field != "" {
		p = join(p, field)
	}
	return &FieldError{File: w.file, Path: p, Err: err}
}

// resolve makes an input path absolute or relative to the working directory.
func (w *where) resolve(p string) string {
	p = filepath.FromSlash(p)
	if filepath.IsAbs(p) || w.baseDir == "" {
		return p
	}
	return filepath.Join(w.baseDir, p)
}

func (w *where) lookupEnv(name string) (string, bool) {
	if w.env == nil {
		return os.LookupEnv(name)
	}
	return w.env(name)
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH (seconds since 1970); nil if unset or empty.
func (w *where) sourceDateEpoch() (*time.Time, error) {
	v, ok := w.lookupEnv("SOURCE_DATE_EPOCH")
	if !ok || v == "" {
		return nil, nil
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil || secs < 0 {
		return nil, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a non-negative number of seconds", v)
	}
	t := time.Unix(secs, 0).UTC()
	return &t, nil
}

// readCapped reads r whole, failing beyond limit bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// --- compression ---------------------------------------------------------

// gzipMediaType adds the +gzip structured-syntax suffix, before parameters
// ("text/plain; charset=utf-8" becomes "text/plain+gzip; charset=utf-8"; the
// reference appends it after the parameters).
func gzipMediaType(mt string) string {
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		return strings.TrimSpace(mt[:i]) + "+gzip" + mt[i:]
	}
	return mt + "+gzip"
}

// compressed wraps a blob in gzip (default level, no name, mtime 0), streamed
// through a pipe while the consumer reads.
func compressed(c *Content) *Content {
	open := c.Open
	return &Content{
		MediaType: gzipMediaType(c.MediaType),
		Size:      -1,
		Open: func() (io.ReadCloser, error) {
			src, err := open()
			if err != nil {
				return nil, err
			}
			pr, pw := io.Pipe()
			go func() {
				zw := gzip.NewWriter(pw)
				_, err := io.Copy(zw, src)
				err = errors.Join(err, zw.Close(), src.Close())
				pw.CloseWithError(err)
			}()
			return pr, nil
		},
	}
}

func bytesContent(data []byte, mediaType string) *Content {
	return &Content{
		MediaType: mediaType,
		Size:      int64(len(data)),
		Open:      func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
	}
}

// --- file ----------------------------------------------------------------

// FileInput is the File/v1 input: one file, as it is or gzipped.
type FileInput struct {
	Path string `json:"path"`
	// MediaType defaults to what mimetype detects from the first bytes. The
	// OCI layout media types (see OCILayoutMediaType) make the file an OCI
	// image layout tar, opened as an Artifact.
	MediaType string `json:"mediaType,omitempty"`
	Compress  bool   `json:"compress,omitempty"`
}

// Media types of OCI image layouts packed as tar, as the reference uses them.
const (
	OCILayoutMediaType     = "application/vnd.ocm.software.oci.layout.v1+tar"
	OCILayoutGzipMediaType = OCILayoutMediaType + "+gzip"
)

func openFile(ctx context.Context, raw []byte, w *where) (*Content, error) {
	var in FileInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, w.wrap("", err)
	}
	p := w.resolve(in.Path)
	fi, err := os.Stat(p)
	if err != nil {
		return nil, w.wrap("path", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, w.errorf("path", "%s is not a regular file", p)
	}
	mt := in.MediaType
	if mt == OCILayoutMediaType || mt == OCILayoutGzipMediaType {
		if in.Compress {
			return nil, w.errorf("compress", "not supported for an OCI image layout (use mediaType %s for a gzipped layout)", OCILayoutGzipMediaType)
		}
		art, err := openLayoutTar(ctx, p, "")
		if err != nil {
			return nil, w.wrap("path", err)
		}
		return &Content{Artifact: art}, nil
	}
	if mt == "" {
		if mt, err = sniffMediaType(p); err != nil {
			return nil, w.wrap("path", err)
		}
	}
	c := &Content{
		MediaType: mt,
		Size:      fi.Size(),
		Open: func() (io.ReadCloser, error) {
			f, err := os.Open(p)
			if err != nil {
				return nil, w.wrap("path", err)
			}
			return f, nil
		},
	}
	if in.Compress {
		c = compressed(c)
	}
	return c, nil
}

// sniffMediaType detects a file's media type from its first bytes only.
func sniffMediaType(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	mt, err := mimetype.DetectReader(f)
	if err != nil {
		return "", fmt.Errorf("detecting the media type of %s: %w", p, err)
	}
	return mt.String(), nil
}

// --- utf8 ----------------------------------------------------------------

// UTF8Input is the UTF8/v1 input: exactly one of text (text/plain), json
// (compacted, application/json), formattedJson (indented by two spaces,
// application/json) or yaml (written as YAML with sorted keys,
// application/x-yaml: what the reference does), optionally gzipped. JSON is
// written as Go's encoding/json writes it (HTML characters escaped), as the
// reference does.
type UTF8Input struct {
	Text          *string         `json:"text,omitempty"`
	JSON          json.RawMessage `json:"json,omitempty"`
	FormattedJSON json.RawMessage `json:"formattedJson,omitempty"`
	YAML          json.RawMessage `json:"yaml,omitempty"`
	Compress      bool            `json:"compress,omitempty"`
}

var utf8Values = []string{"text", "json", "formattedJson", "yaml"}

func checkUTF8(p *parser, path string, m map[string]any) {
	var set []string
	for _, k := range utf8Values {
		if m[k] != nil {
			set = append(set, k)
		}
	}
	switch len(set) {
	case 0:
		p.fail(path, "exactly one of text, json, formattedJson or yaml must be set, found none")
	case 1:
	default:
		p.fail(path, "exactly one of text, json, formattedJson or yaml must be set, found %s", strings.Join(set, " and "))
	}
}

func openUTF8(_ context.Context, raw []byte, w *where) (*Content, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, w.wrap("", err)
	}
	var compress bool
	if c, ok := fields["compress"]; ok {
		_ = json.Unmarshal(c, &compress)
	}
	var (
		data []byte
		mt   string
		err  error
	)
	for _, k := range utf8Values {
		v, ok := fields[k]
		if !ok || string(v) == "null" {
			continue
		}
		switch k {
		case "text":
			var s string
			err = json.Unmarshal(v, &s)
			data, mt = []byte(s), "text/plain"
		case "json":
			data, err = json.Marshal(v)
			mt = "application/json"
		case "formattedJson":
			data, err = json.MarshalIndent(v, "", "  ")
			mt = "application/json"
		case "yaml":
			data, err = yaml.Marshal(v)
			mt = "application/x-yaml"
		}
		if err != nil {
			return nil, w.wrap(k, err)
		}
		break
	}
	c := bytesContent(data, mt)
	if compress {
		c = compressed(c)
	}
	return c, nil
}

// validPattern reports whether a glob is well-formed for path.Match.
func validPattern(pattern string) error {
	_, err := path.Match(pattern, "a")
	return err
}
