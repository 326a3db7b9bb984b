package constructor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ocmgo/ocm/descriptor"
)

// DefaultFileName is the constructor file looked for when Load gets a directory.
const DefaultFileName = "component-constructor.yaml"

// Spec is a parsed constructor file.
type Spec struct {
	Components []Component `json:"components"`
	// File is the file name as given to Load or Parse; errors name it.
	File string `json:"-"`
	// BaseDir is the directory relative input paths are resolved against
	// (the file's directory). Informational: the elements captured it when
	// they were parsed.
	BaseDir string `json:"-"`
}

// Component is one component version to construct.
type Component struct {
	Name         string             `json:"name"`
	Version      string             `json:"version"`
	CreationTime string             `json:"creationTime,omitempty"`
	Provider     Provider           `json:"provider"`
	Labels       []descriptor.Label `json:"labels,omitempty"`
	Resources    []Resource         `json:"resources,omitempty"`
	Sources      []Source           `json:"sources,omitempty"`
	References   []Reference        `json:"componentReferences,omitempty"`
}

// Provider is the component's provider. It is an object in constructors;
// descriptor.Provider.Set turns it into the descriptor's string form.
type Provider struct {
	Name   string             `json:"name"`
	Labels []descriptor.Label `json:"labels,omitempty"`
}

// Resource is a resource to construct. Exactly one of Input and Access is set.
type Resource struct {
	descriptor.ElementMeta
	Type     string                 `json:"type"`
	Relation string                 `json:"relation"`
	SrcRefs  []descriptor.SrcRef    `json:"srcRefs,omitempty"`
	Digest   *descriptor.DigestSpec `json:"digest,omitempty"`
	// Options are construction-time settings; they are not persisted.
	Options *ResourceOptions  `json:"options,omitempty"`
	Input   *descriptor.Typed `json:"input,omitempty"`
	Access  *descriptor.Typed `json:"access,omitempty"`

	at *where
	// compatBlob is the spec of a resource generated from compatibility
	// sugar (compat.go); Build stores it instead of opening Input.
	compatBlob []byte
}

// ResourceOptions are the reference's construction-time resource options.
type ResourceOptions struct {
	// OwnershipPolicy is Never (the default) or Always: whether the storage
	// layer records an ownership referrer for an OCI artifact.
	OwnershipPolicy string `json:"ownershipPolicy,omitempty"`
}

// Source is a source to construct. Exactly one of Input and Access is set.
type Source struct {
	descriptor.ElementMeta
	Type   string            `json:"type"`
	Input  *descriptor.Typed `json:"input,omitempty"`
	Access *descriptor.Typed `json:"access,omitempty"`

	at *where
}

// Reference is a reference to another component version. Its digest, if
// given, must match the referenced version's (checked by the caller).
type Reference struct {
	descriptor.ElementMeta
	ComponentName string                 `json:"componentName"`
	Digest        *descriptor.DigestSpec `json:"digest,omitempty"`
}

// Where names the element for messages: "file: components[0].resources[1]".
func (r *Resource) Where() string { return r.at.String() }

// Where names the element for messages: "file: components[0].sources[1]".
func (s *Source) Where() string { return s.at.String() }

// where records where an element came from, for error messages and for
// resolving its input.
type where struct {
	file    string // constructor file as given; "" when unknown
	path    string // field path of the element, e.g. components[0].resources[1]
	baseDir string
	env     func(string) (string, bool)
}

func (w *where) String() string {
	if w == nil {
		return "<unknown element>"
	}
	switch {
	case w.file == "":
		return w.path
	case w.path == "":
		return w.file
	}
	return w.file + ": " + w.path
}

// LoadOptions tune Load and Parse.
type LoadOptions struct {
	// Env looks up environment variables, both for ${VAR} substitution and
	// for SOURCE_DATE_EPOCH when inputs are opened. Default os.LookupEnv.
	Env func(string) (string, bool)
	// BaseDir, if set, is the directory relative input paths resolve
	// against instead of the constructor file's directory (the reference
	// CLI's --working-directory).
	BaseDir string
}

// base returns the directory relative input paths resolve against.
func (o LoadOptions) base(fileDir string) string {
	if o.BaseDir != "" {
		return o.BaseDir
	}
	return fileDir
}

func (o LoadOptions) env() func(string) (string, bool) {
	if o.Env != nil {
		return o.Env
	}
	return os.LookupEnv
}

// maxConstructorSize caps the constructor file; real ones are a few KiB.
const maxConstructorSize = 16 << 20

// Load reads and parses a constructor file. path may be a directory, which
// must then hold component-constructor.yaml or component-constructor.yml.
// Relative input paths resolve against the file's directory.
func Load(path string, opts LoadOptions) (*Spec, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("constructor: %w", err)
	}
	file := path
	if fi.IsDir() {
		file, err = findConstructor(path)
		if err != nil {
			return nil, err
		}
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("constructor: %w", err)
	}
	defer f.Close()
	data, err := readCapped(f, maxConstructorSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return parseWithCompat(data, file, opts.base(filepath.Dir(file)), opts)
}

func findConstructor(dir string) (string, error) {
	var found []string
	for _, name := range []string{DefaultFileName, "component-constructor.yml"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("constructor: neither %s nor component-constructor.yml found in directory %s", DefaultFileName, dir)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("constructor: both %s and %s exist; remove one", found[0], found[1])
}

// Parse parses constructor data. source names it in errors (normally the
// file name); relative input paths resolve against filepath.Dir(source).
func Parse(data []byte, source string, opts LoadOptions) (*Spec, error) {
	base := "."
	if source != "" {
		base = filepath.Dir(source)
	}
	return parseWithCompat(data, source, opts.base(base), opts)
}

// FieldError is one problem in a constructor file, named by the file and the
// path of the field (components[0].resources[2].input.path).
type FieldError struct {
	File string
	Path string
	Err  error
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *FieldError) Unwrap() error { return e.Err }

// maxReportedErrors bounds how many problems one Parse reports.
const maxReportedErrors = 50

// joinErrors combines field errors, one per line, capped.
func joinErrors(errs []error) error {
	if len(errs) > maxReportedErrors {
		more := len(errs) - maxReportedErrors
		errs = append(errs[:maxReportedErrors:maxReportedErrors], fmt.Errorf("... and %d more problems", more))
	}
	return errors.Join(errs...)
}
