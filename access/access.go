package access

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/blob"
	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/httpclient"
	"github.com/ocmgo/ocm/repository/oci"
)

// Errors external content fails with; test with errors.Is.
var (
	// ErrNotFound: the tag, digest, chart, chart version or URL does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDigestMismatch: content differs from the digest recorded or pinned for it.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrRedirect: a redirect was refused (loop, too many, https to http,
	// or one the access forbids).
	ErrRedirect = errors.New("redirect refused")
	// ErrUnauthorized: the server refused the request (401/403) with the
	// credentials found, or without any.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrUnsupported: the access type is not one this package reaches
	// (wraps errors.ErrUnsupported).
	ErrUnsupported = fmt.Errorf("access type not supported for external content: %w", errors.ErrUnsupported)
)

// MissingDigestError says that a resource with external content records no
// digest, so its content cannot be signed or verified; it was added
// without resolving its access (offline, or digest processing skipped).
type MissingDigestError struct {
	// Resource is the resource identity (name=…,version=…).
	Resource string
	// AccessType is the type of its access.
	AccessType string
}

func (e *MissingDigestError) Error() string {
	return fmt.Sprintf("resource %s has no digest: its %s access was not resolved when the component version was added", e.Resource, e.AccessType)
}

// DefaultMaxRedirects bounds the redirects an HTTP(S) source may answer with.
const DefaultMaxRedirects = 10

// Options configure a Fetcher.
type Options struct {
	// Config supplies credentials consumers (OCIRegistry,
	// HelmChartRepository, Wget); nil means anonymous access (registries
	// still consult the docker config).
	Config *config.Config
	// PlainHTTP talks plain HTTP to every registry (loopback hosts and
	// http:// references do anyway).
	PlainHTTP bool
	// Client is the base HTTP client; its Transport (e.g. with extra root
	// CAs) is used for registries and HTTP(S) sources. Nil, or a client
	// without a Transport, uses the shared transport of HTTP. Its
	// CheckRedirect is replaced.
	Client *http.Client
	// HTTP are the connection settings (timeouts, TLS per host, retry
	// policy); nil takes them from Config's http.config.ocm.software
	// entries.
	HTTP *httpclient.Config
	// Timeouts, where non-zero, override the configured bounds of every
	// phase of a request (see httpclient.Timeouts) unless Client brings
	// its own Transport.
	Timeouts httpclient.Timeouts
	// MaxRedirects bounds redirects (default DefaultMaxRedirects).
	MaxRedirects int
}

// Fetcher reaches external content. It is safe for concurrent use and
// keeps registry connections (and their tokens) between calls.
type Fetcher struct {
	opts Options

	mu         sync.Mutex
	registries map[string]*oci.Registry // by base URL + " " + repository
}

// New returns a Fetcher.
func New(opts Options) *Fetcher {
	if opts.MaxRedirects <= 0 {
		opts.MaxRedirects = DefaultMaxRedirects
	}
	// The configuration's HTTP settings are read once, not per request;
	// an invalid one stays unresolved so that every use reports it.
	if opts.HTTP == nil && opts.Config != nil {
		if h, err := httpclient.FromConfig(opts.Config); err == nil {
			opts.HTTP = &h
		}
	}
	return &Fetcher{opts: opts, registries: map[string]*oci.Registry{}}
}

// Resolved is what resolving an access learns.
type Resolved struct {
	// Access is the pinned access: an OCI image reference by tag gets
	// "@<digest>" appended (the tag stays); other accesses are returned
	// unchanged.
	Access *descriptor.Typed
	// Digest is the resource digest as the reference implementation
	// records it: genericBlobDigest/v1 with SHA-256 of the manifest (OCI
	// artifacts, oci:// Helm charts) or of the content (Helm chart
	// archives, wget downloads, registry blobs).
	Digest descriptor.DigestSpec
	// MediaType of the content (the manifest media type for OCI artifacts).
	MediaType string
	// Size of the content (the manifest size for OCI artifacts).
	Size int64
}

// Supported reports whether this package reaches the content of acc.
func Supported(acc *descriptor.Typed) bool {
	switch acc.Kind() {
	case descriptor.AccessOCIImage, descriptor.AccessOCIImageLayer, descriptor.AccessHelm, descriptor.AccessWget:
		return true
	}
	return false
}

// Resolve resolves acc to its pinned form and digest. Helm chart archives
// and wget content are fetched once and hashed while streamed (nothing is
// kept); OCI artifacts are resolved by tag or checked by digest.
func (f *Fetcher) Resolve(ctx context.Context, acc *descriptor.Typed) (*Resolved, error) {
	switch acc.Kind() {
	case descriptor.AccessOCIImage:
		return f.resolveImage(ctx, acc)
	case descriptor.AccessOCIImageLayer:
		return f.resolveLayer(ctx, acc)
	case descriptor.AccessHelm:
		return f.resolveHelm(ctx, acc)
	case descriptor.AccessWget:
		return f.resolveWget(ctx, acc)
	}
	return nil, unsupported(acc)
}

func unsupported(acc *descriptor.Typed) error {
	if acc == nil {
		return fmt.Errorf("no access: %w", ErrUnsupported)
	}
	return fmt.Errorf("%s: %w", acc.Type, ErrUnsupported)
}

// PinResource resolves the access of res and returns a copy with the
// pinned access and the digest. A digest res already records must agree
// with the content (ErrDigestMismatch); so must one pinned in an image
// reference. Errors name the resource and the access.
func (f *Fetcher) PinResource(ctx context.Context, res *descriptor.Resource) (*descriptor.Resource, error) {
	id := resourceName(res)
	if res.Access == nil {
		return nil, fmt.Errorf("resource %s: no access", id)
	}
	r, err := f.Resolve(ctx, res.Access)
	if err != nil {
		return nil, fmt.Errorf("resource %s: %w", id, err)
	}
	out := *res
	out.Access = r.Access
	if res.Digest != nil {
		if !SameDigest(res.Digest, &r.Digest) {
			return nil, fmt.Errorf("resource %s: %w: the resource records %s %s, %s has %s %s", id, ErrDigestMismatch,
				res.Digest.HashAlgorithm, res.Digest.Value, Describe(res.Access), r.Digest.HashAlgorithm, r.Digest.Value)
		}
		d := *res.Digest
		out.Digest = &d
	} else {
		d := r.Digest
		out.Digest = &d
	}
	return &out, nil
}

func resourceName(res *descriptor.Resource) string {
	s := "name=" + res.Name
	if res.Version != "" {
		s += ",version=" + res.Version
	}
	for k, v := range res.ExtraIdentity {
		s += "," + k + "=" + v
	}
	return s
}

// ErrNoDigest marks a resource with content but no recorded digest: a
// signature over the descriptor says nothing about its content.
var ErrNoDigest = errors.New("resource has content but no digest, so no signature covers it")

// SameDigest compares a recorded digest with a recomputed one: value and
// hash algorithm (spellings normalised). Like the reference, the
// normalisation algorithm name is not compared, so OCM v1's
// ociArtifactDigest/v1 and v2's genericBlobDigest/v1 of a manifest agree.
func SameDigest(want, got *descriptor.DigestSpec) bool {
	if want == nil || got == nil {
		return want == got
	}
	_, wa, err1 := blob.NewHash(want.HashAlgorithm)
	_, ga, err2 := blob.NewHash(got.HashAlgorithm)
	return err1 == nil && err2 == nil && wa == ga && equalFoldHex(want.Value, got.Value)
}

func equalFoldHex(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// Blob is external content opened for streaming. Close it.
type Blob struct {
	io.ReadCloser
	// Size in bytes, -1 when the source does not say.
	Size int64
	// MediaType of the content.
	MediaType string
	// Source names where the content comes from (URL or reference, without
	// credentials), for messages.
	Source string
}

// Open streams the content of a Helm chart (the chart archive; for
// oci:// repositories the chart layer), a wget access or an
// OCIImageLayer access. OCI artifacts are graphs: use OpenArtifact.
// Registry blobs and Helm archives listed with a digest in the index are
// checked against it while read (the error arrives with the last read).
func (f *Fetcher) Open(ctx context.Context, acc *descriptor.Typed) (*Blob, error) {
	switch acc.Kind() {
	case descriptor.AccessOCIImageLayer:
		return f.openLayer(ctx, acc)
	case descriptor.AccessHelm:
		return f.openHelm(ctx, acc)
	case descriptor.AccessWget:
		return f.openWget(ctx, acc)
	case descriptor.AccessOCIImage:
		return nil, fmt.Errorf("%s %s is an OCI artifact, not a single blob: %w", acc.Type, Describe(acc), ErrUnsupported)
	}
	return nil, unsupported(acc)
}

// OpenVerified is Open, checking the content against want (a resource
// digest, genericBlobDigest/v1) while it streams: the read that reaches
// the end fails with ErrDigestMismatch when the content differs, so a
// consumer that reads to EOF never accepts unverified content.
func (f *Fetcher) OpenVerified(ctx context.Context, acc *descriptor.Typed, want descriptor.DigestSpec) (*Blob, error) {
	if want.NormalisationAlgorithm != "" && want.NormalisationAlgorithm != normalisation.GenericBlobDigestV1 {
		return nil, fmt.Errorf("%s: cannot verify a %s digest of a single blob: %w", Describe(acc), want.NormalisationAlgorithm, ErrUnsupported)
	}
	b, err := f.Open(ctx, acc)
	if err != nil {
		return nil, err
	}
	vr, err := NewVerifyingReader(b.ReadCloser, want.HashAlgorithm, want.Value, "resource digest of "+b.Source)
	if err != nil {
		b.Close()
		return nil, err
	}
	b.ReadCloser = vr
	return b, nil
}

// Artifact is an OCI artifact resolved in its registry.
type Artifact struct {
	// Registry holds the artifact; repositories are full registry names.
	Registry *oci.Registry
	// Repository is the artifact's repository in Registry.
	Repository string
	// Root is the manifest or index descriptor.
	Root ocispec.Descriptor
	// Reference is the pinned image reference (…@sha256:…).
	Reference string
}

// OpenArtifact resolves an OCI image access (or a Helm access to an
// oci:// repository) to its registry and root descriptor; a digest pinned
// in the reference must be the one the registry has.
func (f *Fetcher) OpenArtifact(ctx context.Context, acc *descriptor.Typed) (*Artifact, error) {
	switch acc.Kind() {
	case descriptor.AccessOCIImage:
		a, err := acc.OCIArtifact()
		if err != nil {
			return nil, err
		}
		return f.artifact(ctx, a.ImageReference)
	case descriptor.AccessHelm:
		h, err := acc.Helm()
		if err != nil {
			return nil, err
		}
		ref, ok, err := helmOCIReference(h)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%s: helm repository %s is not an OCI registry: %w", acc.Type, h.HelmRepository, ErrUnsupported)
		}
		return f.artifact(ctx, ref)
	}
	return nil, unsupported(acc)
}

// Describe names what an access points at, for messages (no credentials).
func Describe(acc *descriptor.Typed) string {
	switch acc.Kind() {
	case descriptor.AccessOCIImage:
		if a, err := acc.OCIArtifact(); err == nil {
			return "image " + a.ImageReference
		}
	case descriptor.AccessOCIImageLayer:
		if a, err := acc.OCIImageLayer(); err == nil {
			return "blob " + a.Reference + "@" + a.Digest
		}
	case descriptor.AccessHelm:
		if h, err := acc.Helm(); err == nil {
			s := "chart " + h.ChartName()
			if v := h.ChartVersion(); v != "" {
				s += " version " + v
			}
			return s + " in " + safeURLString(h.HelmRepository)
		}
	case descriptor.AccessWget:
		if w, err := acc.Wget(); err == nil {
			return safeURLString(w.URL)
		}
	}
	if acc == nil {
		return "no access"
	}
	return acc.Type + " access"
}

// WithRootCAs returns a Fetcher that also trusts the PEM certificates in
// caPEM (e.g. a Helm input's caCert) for TLS; registry connections are not
// shared with f.
func (f *Fetcher) WithRootCAs(caPEM []byte) (*Fetcher, error) {
	c, err := f.baseClient()
	if err != nil {
		return nil, err
	}
	if err := withTLS(c, func(tc *tls.Config) error { return addRootCAs(tc, caPEM) }); err != nil {
		return nil, err
	}
	opts := f.opts
	opts.Client = c
	return New(opts), nil
}

// OpenURL streams one file from an HTTP(S) URL with the credentials of
// consumer type consumer (ConsumerWget, ConsumerHelmChartRepository) for
// the URL, under the same redirect rules as every other source.
func (f *Fetcher) OpenURL(ctx context.Context, rawURL, consumer string) (*Blob, error) {
	resp, err := f.do(ctx, httpRequest{url: rawURL, consumer: consumer})
	if err != nil {
		return nil, err
	}
	mt := resp.Header.Get("Content-Type")
	if mt == "" {
		mt = "application/octet-stream"
	}
	return &Blob{ReadCloser: resp.Body, Size: resp.ContentLength, MediaType: mt, Source: safeURLString(rawURL)}, nil
}
