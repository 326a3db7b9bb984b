package repository

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/httpclient"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/repository/oci"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// Options tune how repositories are opened.
type Options struct {
	// Config supplies registry credentials (its credential consumers, then
	// the docker config); nil means the docker config only.
	Config *config.Config
	// PlainHTTP talks HTTP to registries that are not on a loopback address
	// (loopback hosts use HTTP anyway).
	PlainHTTP bool
	// Client, if set, is the HTTP client registries are reached with
	// (custom TLS roots, timeouts); its transport is wrapped with auth.
	Client *http.Client
	// HTTP are the connection settings (timeouts, TLS per host, retry
	// policy); nil takes them from Config's http.config.ocm.software
	// entries (see HTTPConfig).
	HTTP *httpclient.Config
	// Timeouts, where non-zero, override the configured bounds of every
	// phase of a request (see httpclient.Timeouts) unless Client brings
	// its own Transport.
	Timeouts httpclient.Timeouts
	// Create makes a missing CTF archive (OpenWritable only; registries
	// need no creation).
	Create bool
	// OnWait, if set, is called once when another process holds a CTF
	// archive's write lock, before OpenWritable waits for it.
	OnWait func()
	// Logger, if set, receives debug records: repositories opened, every
	// registry HTTP attempt (with the cause of retried failures) and the
	// kind of credential found per host, never its value.
	Logger *slog.Logger
}

// Store is a repository's OCI store, opened read-only; String names it for
// messages and Close releases it.
type Store interface {
	ocimap.Store
	String() string
	io.Closer
}

// Writable is a repository opened for writing, as a transaction: a CTF
// archive changes atomically on Commit and is left as it was by Abort; a
// registry takes content as it comes (ocimap.Writer tags last, so an
// aborted write leaves no tag on incomplete content) and Commit and Abort
// do nothing. Abort after Commit is a no-op, so it can be deferred.
type Writable struct {
	// WriteStore is the underlying store (*ctf.Writer or *oci.Registry),
	// for callers that look for optional interfaces.
	ocimap.WriteStore
	where  string
	commit func() error
	abort  func()
}

func (w *Writable) String() string { return w.where }

// Commit publishes what was written.
func (w *Writable) Commit() error { return w.commit() }

// Abort discards what was written, if the store can.
func (w *Writable) Abort() { w.abort() }

// Repository reads the store as it is being written.
func (w *Writable) Repository() Repository { return FromStore(w.WriteStore, w.where, nil) }

// backend is what one repository type provides. backendFor is the one
// place that maps repository types to implementations.
type backend interface {
	open() (Store, error)
	openWritable(ctx context.Context, opts Options) (*Writable, error)
	ping(ctx context.Context) error
}

func backendFor(spec reference.Repository, opts Options) (backend, error) {
	switch spec.Type {
	case reference.TypeCTF:
		if spec.FilePath == "" {
			return nil, fmt.Errorf("repository type %s needs filePath", spec.Type)
		}
		return ctfBackend(spec.FilePath), nil
	case reference.TypeOCI:
		if spec.BaseURL == "" {
			return nil, fmt.Errorf("repository type %s needs baseUrl", spec.Type)
		}
		o, err := registryOptions(opts, spec.SubPath)
		if err != nil {
			return nil, fmt.Errorf("repository %s: %w", spec, err)
		}
		reg, err := oci.New(spec.BaseURL, spec.SubPath, o)
		if err != nil {
			return nil, err
		}
		return ociBackend{reg}, nil
	}
	return nil, fmt.Errorf("repository %s: %w %q", spec, reference.ErrUnknownType, spec.Type)
}

func registryOptions(opts Options, repositoryPath string) (oci.Options, error) {
	h, err := opts.HTTPConfig()
	if err != nil {
		return oci.Options{}, err
	}
	return oci.Options{Credential: oci.Credentials(opts.Config, repositoryPath), PlainHTTP: opts.PlainHTTP, Client: opts.Client, HTTP: h, Logger: opts.Logger}, nil
}

// HTTPConfig is the HTTP configuration in effect: HTTP if set, else the
// http.config.ocm.software entries of Config, with Timeouts' non-zero
// fields overriding both.
func (opts Options) HTTPConfig() (httpclient.Config, error) {
	if opts.HTTP != nil {
		return opts.HTTP.WithTimeouts(opts.Timeouts), nil
	}
	h, err := httpclient.FromConfig(opts.Config)
	if err != nil {
		return httpclient.Config{}, err
	}
	return h.WithTimeouts(opts.Timeouts), nil
}

type ctfBackend string

func (path ctfBackend) open() (Store, error) {
	a, err := ctf.Open(string(path))
	if err != nil {
		return nil, err
	}
	return &store{Store: a, name: "CTF archive " + string(path), closer: a}, nil
}

func (path ctfBackend) openWritable(ctx context.Context, opts Options) (*Writable, error) {
	w, err := ctf.OpenWritable(string(path), ctf.WriteOptions{Create: opts.Create, Context: ctx, OnWait: opts.OnWait})
	if err != nil {
		return nil, err
	}
	return &Writable{WriteStore: w, where: "CTF archive " + string(path), commit: w.Commit, abort: func() { _ = w.Abort() }}, nil
}

func (path ctfBackend) ping(context.Context) error {
	s, err := path.open()
	if err != nil {
		return err
	}
	return s.Close()
}

type ociBackend struct{ reg *oci.Registry }

func (b ociBackend) open() (Store, error) {
	return &store{Store: b.reg, name: b.reg.String()}, nil
}

func (b ociBackend) openWritable(context.Context, Options) (*Writable, error) {
	return &Writable{WriteStore: b.reg, where: b.reg.String(), commit: func() error { return nil }, abort: func() {}}, nil
}

func (b ociBackend) ping(ctx context.Context) error { return b.reg.Ping(ctx) }

// store names a read-only store and closes it.
type store struct {
	ocimap.Store
	name   string
	closer io.Closer
}

func (s *store) String() string { return s.name }

// Unwrap returns the underlying store, for callers that look for optional
// interfaces (a registry's referrers API).
func (s *store) Unwrap() ocimap.Store { return s.Store }

// FetchReference lets ocimap read a tag and its manifest in one request
// from a store that can (a registry), and in two from any other.
func (s *store) FetchReference(ctx context.Context, repository, tag string) (ocispec.Descriptor, io.ReadCloser, error) {
	if rf, ok := s.Store.(ocimap.ReferenceFetcher); ok {
		return rf.FetchReference(ctx, repository, tag)
	}
	d, err := s.Store.Resolve(ctx, repository, tag)
	if err != nil {
		return d, nil, err
	}
	rc, err := s.Store.Fetch(ctx, repository, d)
	return d, rc, err
}

func (s *store) Close() error {
	if s.closer == nil {
		return nil
	}
	return s.closer.Close()
}

// Open opens the repository a reference names, read-only, with default options.
func Open(ctx context.Context, spec reference.Repository) (Repository, error) {
	return OpenWithOptions(ctx, spec, Options{})
}

// OpenWithOptions opens the repository a reference names, read-only.
func OpenWithOptions(ctx context.Context, spec reference.Repository, opts Options) (Repository, error) {
	s, err := OpenStore(ctx, spec, opts)
	if err != nil {
		return nil, err
	}
	return FromStore(s, s.String(), s), nil
}

// OpenStore opens the OCI store of the repository a reference names,
// read-only (for copying by value; Open reads component versions).
func OpenStore(_ context.Context, spec reference.Repository, opts Options) (Store, error) {
	b, err := backendFor(spec, opts)
	if err != nil {
		return nil, err
	}
	s, err := b.open()
	if err == nil && opts.Logger != nil {
		opts.Logger.Debug("repository opened", "repository", s.String(), "mode", "read")
	}
	return s, err
}

// OpenWritable opens the repository a reference names for writing; see
// Writable. A CTF archive is locked against other writers until Commit or
// Abort (ctx interrupts the wait); opts.Create makes a missing one.
func OpenWritable(ctx context.Context, spec reference.Repository, opts Options) (*Writable, error) {
	b, err := backendFor(spec, opts)
	if err != nil {
		return nil, err
	}
	w, err := b.openWritable(ctx, opts)
	if err == nil && opts.Logger != nil {
		opts.Logger.Debug("repository opened", "repository", w.String(), "mode", "write")
	}
	return w, err
}

// Ping checks that the repository can be used: an OCI registry answers its
// API endpoint with the configured credentials, a CTF archive opens.
func Ping(ctx context.Context, spec reference.Repository, opts Options) error {
	b, err := backendFor(spec, opts)
	if err != nil {
		return err
	}
	return b.ping(ctx)
}

// OpenRegistry opens the registry at host[:port] with every repository
// below it, as OCI artifact accesses name them (host/repository:tag). The
// credentials are those configured for repositoryPath ("" for consumers
// without a path).
func OpenRegistry(host, repositoryPath string, opts Options) (*oci.Registry, error) {
	o, err := registryOptions(opts, repositoryPath)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", host, err)
	}
	return oci.New(host, "", o)
}

// OpenImageRegistry opens the registry an image reference names, with the
// credentials configured for its repository; an http:// reference talks
// plain HTTP.
func OpenImageRegistry(img reference.Image, opts Options) (*oci.Registry, error) {
	opts.PlainHTTP = opts.PlainHTTP || img.PlainHTTP
	return OpenRegistry(img.Endpoint(), img.Repository, opts)
}

// ErrInvalidSpec marks a repository specification that cannot work
// whatever happens outside: retrying does not help, a spec change does.
var ErrInvalidSpec = errors.New("invalid repository spec")

// ParseSpec reads a JSON (or YAML-as-JSON) OCM repository specification:
// {type: OCIRegistry, baseUrl, subPath?} or {type: CommonTransportFormat,
// filePath}, the type spelled as reference.CanonicalRepositoryType accepts
// it. Errors wrap ErrInvalidSpec.
func ParseSpec(raw []byte) (reference.Repository, error) {
	if len(raw) == 0 {
		return reference.Repository{}, fmt.Errorf("%w: empty", ErrInvalidSpec)
	}
	var s struct {
		Type     string `json:"type"`
		BaseURL  string `json:"baseUrl"`
		SubPath  string `json:"subPath"`
		FilePath string `json:"filePath"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return reference.Repository{}, fmt.Errorf("%w: %v", ErrInvalidSpec, err)
	}
	if s.Type == "" {
		return reference.Repository{}, fmt.Errorf("%w: no type", ErrInvalidSpec)
	}
	typ, err := reference.CanonicalRepositoryType(s.Type)
	if err != nil {
		return reference.Repository{}, fmt.Errorf("%w: unsupported type %q (OCIRegistry, CommonTransportFormat)", ErrInvalidSpec, s.Type)
	}
	spec := reference.Repository{Type: typ, BaseURL: s.BaseURL, SubPath: strings.Trim(s.SubPath, "/"), FilePath: s.FilePath}
	// Validated by the opener itself, so that what parses also opens.
	if _, err := backendFor(spec, Options{}); err != nil {
		return reference.Repository{}, fmt.Errorf("%w: %v", ErrInvalidSpec, err)
	}
	return spec, nil
}
