// Package oci serves an OCI registry (distribution API) as an
// ocimap.WriteStore through oras-go v2, so that component versions can be
// written with ocimap.Writer and read with repository.FromStore.
//
// Repository names of the store are relative to a base: a registry host and
// an optional sub path; the store's repository "component-descriptors/x" is
// the registry repository "<subPath>/component-descriptors/x".
package oci

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/ocmgo/ocm/httpclient"
)

// UserAgent is sent with every request.
const UserAgent = "ocmgo"

// Options configure the connection to a registry.
type Options struct {
	// PlainHTTP talks HTTP instead of HTTPS. It is implied by an http://
	// base URL and, without a scheme, by loopback hosts (127.0.0.0/8, ::1,
	// localhost).
	PlainHTTP bool
	// Credential supplies credentials per registry host (oras auth); nil
	// means anonymous access.
	Credential auth.CredentialFunc
	// ChunkSize > 0 uploads blobs larger than it in chunks of that size
	// (at least the registry's OCI-Chunk-Min-Length). Zero uploads in one
	// request until the registry answers 413 Request Entity Too Large;
	// from then on blobs go in chunks of half the refused size (at most
	// DefaultChunkSize), halved again while the registry refuses them.
	ChunkSize int64
	// Client is the HTTP client to use; its transport is wrapped with
	// oras' retry transport (backoff on 5xx and 429). Nil, or a client
	// without a Transport, uses httpclient.SharedFor(HTTP).
	Client *http.Client
	// HTTP are the connection settings (timeouts, TLS, retry policy; see
	// httpclient.FromConfig); they apply unless Client brings its own
	// Transport, except for the retry policy, which always applies.
	HTTP httpclient.Config
	// Timeouts, where non-zero, override HTTP's timeouts for every host.
	Timeouts httpclient.Timeouts
	// Logger, if set, receives debug records for every HTTP attempt (with
	// the cause of failures the retry transport retries) and the kind of
	// credential found per host, never its value.
	Logger *slog.Logger
}

// Registry is an OCI registry below a sub path. It is safe for concurrent use.
type Registry struct {
	host      string // host[:port] as in references
	subPath   string // no leading or trailing '/'
	plainHTTP bool
	client    *auth.Client

	mu    sync.Mutex
	repos map[string]*remote.Repository // by full registry repository name

	chunk int64 // guarded by mu; lowered by 413 answers
	// referrersAPI is what the registry said of the referrers API (guarded
	// by mu; referrersUnknown until a listing succeeded): a host property,
	// learnt once instead of once per repository.
	referrersAPI           int
	mounts, chunkedUploads atomic.Int64
	fetchRetries           atomic.Int64
}

// FetchRetries counts the streams Fetch resumed after a broken connection.
func (r *Registry) FetchRetries() int64 { return r.fetchRetries.Load() }

// UploadStats counts the blobs this registry mounted from another
// repository instead of uploading, and the blobs it uploaded in chunks.
func (r *Registry) UploadStats() (mounts, chunked int64) {
	return r.mounts.Load(), r.chunkedUploads.Load()
}

// New connects lazily to the registry at baseURL ("localhost:5000",
// "https://ghcr.io", "http://127.0.0.1:5000", optionally with a path that is
// prepended to subPath). Repository names are <subPath>/<name>.
func New(baseURL, subPath string, opts Options) (*Registry, error) {
	host, basePath, scheme, err := parseBase(baseURL)
	if err != nil {
		return nil, err
	}
	sub := strings.Trim(path.Join(basePath, strings.Trim(subPath, "/")), "/")
	if sub == "." {
		sub = ""
	}
	if sub != "" {
		// Validate the sub path as a repository name prefix.
		ref := registry.Reference{Registry: host, Repository: sub}
		if err := ref.ValidateRepository(); err != nil {
			return nil, fmt.Errorf("registry %s: invalid sub path %q: %w", host, sub, err)
		}
	}
	hcfg := opts.HTTP.WithTimeouts(opts.Timeouts)
	plain := scheme == "http" || (scheme == "" && isLoopback(host))
	if opts.PlainHTTP && !plain {
		plain = !offersTLS(host, hcfg.ForHost(host).Timeouts.WithDefaults().Dial)
		if !plain {
			logger(opts).Warn("the registry offers TLS: using HTTPS although plain HTTP was requested (an http:// URL insists on plain HTTP)", "host", host)
		}
	}

	hc := &http.Client{}
	if opts.Client != nil {
		c := *opts.Client
		hc = &c
	}
	if hc.Transport == nil {
		tr, err := httpclient.SharedFor(hcfg)
		if err != nil {
			return nil, fmt.Errorf("registry %s: %w", host, err)
		}
		hc.Transport = tr
	}
	cred := opts.Credential
	if opts.Logger != nil {
		hc.Transport = &logTransport{base: hc.Transport, logger: opts.Logger}
		if cred != nil {
			cred = logCredential(opts.Logger, cred)
		}
	}
	hc.Transport = &retry.Transport{Base: hc.Transport, Policy: retryPolicy(hcfg.ForHost(host).Retry)}
	header := http.Header{}
	header.Set("User-Agent", UserAgent)
	if plain && cred != nil && !isLoopback(host) {
		cred = warnPlainCredentials(host, cred, logger(opts))
	}
	return &Registry{
		host:      host,
		subPath:   sub,
		plainHTTP: plain,
		client: &auth.Client{
			Client:     hc,
			Header:     header,
			Credential: cred,
			Cache:      auth.NewCache(),
		},
		repos: map[string]*remote.Repository{},
		chunk: opts.ChunkSize,
	}, nil
}

func logger(opts Options) *slog.Logger {
	if opts.Logger != nil {
		return opts.Logger
	}
	return slog.Default()
}

// retryPolicy is oras' default policy with the configured bounds.
func retryPolicy(r httpclient.Retry) func() retry.Policy {
	p := *retry.DefaultPolicy.(*retry.GenericPolicy)
	switch {
	case r.MaxRetries < 0:
		p.MaxRetry = 0
	case r.MaxRetries > 0:
		p.MaxRetry = r.MaxRetries
	}
	if r.MinWait > 0 {
		p.MinWait = r.MinWait
	}
	if r.MaxWait > 0 {
		p.MaxWait = r.MaxWait
	}
	return func() retry.Policy { return &p }
}

var tlsProbes sync.Map // host → bool

// offersTLS says whether host (port 443 when it names none) completes a
// TLS handshake, so that a request for plain HTTP does not silently
// downgrade a registry that offers TLS. The probe only asks whether TLS is
// spoken; the connection that follows verifies the certificate as usual.
func offersTLS(host string, dial time.Duration) bool {
	if v, ok := tlsProbes.Load(host); ok {
		return v.(bool)
	}
	addr := host
	if _, _, err := net.SplitHostPort(host); err != nil {
		addr = net.JoinHostPort(strings.Trim(host, "[]"), "443")
	}
	// A probe must not hold up a registry that has no TLS port for long.
	if dial <= 0 || dial > 5*time.Second {
		dial = 5 * time.Second
	}
	d := &net.Dialer{Timeout: dial}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // probe only, no data sent
	ok := err == nil
	if ok {
		conn.Close()
	}
	tlsProbes.Store(host, ok)
	return ok
}

// warnPlainCredentials warns once, loudly, when credentials are about to
// be sent to a registry that is neither on TLS nor on this machine: anyone
// on the network path can read them.
func warnPlainCredentials(host string, cred auth.CredentialFunc, logger *slog.Logger) auth.CredentialFunc {
	var once sync.Once
	return func(ctx context.Context, hostport string) (auth.Credential, error) {
		c, err := cred(ctx, hostport)
		if err == nil && c != auth.EmptyCredential {
			once.Do(func() {
				logger.Warn("SENDING CREDENTIALS OVER PLAIN HTTP: the registry is not on TLS and not on this machine; anyone on the network path can read them", "host", host)
			})
		}
		return c, err
	}
}

// parseBase splits a base URL into host, path and scheme ("" when absent).
// User information is refused, so that credentials cannot end up in
// messages; they belong into Options.Credential.
func parseBase(baseURL string) (host, p, scheme string, err error) {
	s := strings.TrimSpace(baseURL)
	if s == "" {
		return "", "", "", errors.New("registry: empty base URL")
	}
	if i := strings.Index(s, "://"); i >= 0 {
		scheme = strings.ToLower(s[:i])
		switch scheme {
		case "http", "https":
		case "oci":
			scheme = "" // the OCM reference form: TLS unless loopback
		default:
			return "", "", "", fmt.Errorf("registry base URL: unsupported scheme %q (want http, https or oci)", scheme)
		}
		s = s[i+3:]
	}
	hostPart, rest, _ := strings.Cut(s, "/")
	if strings.Contains(hostPart, "@") {
		return "", "", "", errors.New("registry base URL: user information is not allowed in the URL; pass credentials separately")
	}
	if strings.ContainsAny(rest, "?#") {
		return "", "", "", errors.New("registry base URL: query or fragment not allowed")
	}
	u, perr := url.Parse("//" + hostPart)
	if perr != nil || u.Host == "" || u.Host != hostPart {
		return "", "", "", fmt.Errorf("registry base URL: invalid host %q", hostPart)
	}
	return strings.ToLower(hostPart), strings.Trim(rest, "/"), scheme, nil
}

func isLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// String names the registry and sub path, for messages.
func (r *Registry) String() string {
	if r.subPath == "" {
		return "registry " + r.host
	}
	return "registry " + r.host + "/" + r.subPath
}

// Host returns the registry host (host[:port]).
func (r *Registry) Host() string { return r.host }

// SubPath returns the repository prefix, without slashes at either end.
func (r *Registry) SubPath() string { return r.subPath }

// PlainHTTP reports whether the registry is accessed without TLS.
func (r *Registry) PlainHTTP() bool { return r.plainHTTP }

// ImageReference is the global name of a store repository,
// host/<subPath>/<repository>, as image references use it.
func (r *Registry) ImageReference(repository string) string {
	return r.host + "/" + r.fullName(repository)
}

func (r *Registry) fullName(repository string) string {
	if r.subPath == "" {
		return repository
	}
	return r.subPath + "/" + repository
}

// repo returns the cached oras repository for a store repository name.
func (r *Registry) repo(repository string) (*remote.Repository, string, error) {
	return r.repoFull(r.fullName(repository))
}

// repoFull returns the cached oras repository for a full repository name.
func (r *Registry) repoFull(full string) (*remote.Repository, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rr, ok := r.repos[full]; ok {
		return rr, full, nil
	}
	ref := registry.Reference{Registry: r.host, Repository: full}
	if err := ref.ValidateRepository(); err != nil {
		return nil, full, fmt.Errorf("registry %s: repository %q: %w", r.host, full, err)
	}
	rr := &remote.Repository{Reference: ref, Client: r.client, PlainHTTP: r.plainHTTP}
	if r.referrersAPI != referrersUnknown {
		// A new repository: its state is unset, so this cannot fail.
		_ = rr.SetReferrersCapability(r.referrersAPI == referrersSupported)
	}
	r.repos[full] = rr
	return rr, full, nil
}

// wrap adds the registry and repository to err and makes 404 answers wrap
// errdef.ErrNotFound.
func (r *Registry) wrap(full, what string, err error) error {
	if err == nil {
		return nil
	}
	var resp *errcode.ErrorResponse
	if !errors.Is(err, errdef.ErrNotFound) && errors.As(err, &resp) && resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("registry %s: repository %s: %s: %w: %w", r.host, full, what, errdef.ErrNotFound, err)
	}
	return fmt.Errorf("registry %s: repository %s: %s: %w", r.host, full, what, err)
}

// Repositories lists the repositories below the sub path through the
// registry catalog API, with the sub path stripped, sorted. Registries
// without a catalog API answer with an error wrapping errors.ErrUnsupported.
func (r *Registry) Repositories(ctx context.Context) ([]string, error) {
	reg := &remote.Registry{RepositoryOptions: remote.RepositoryOptions{
		Reference: registry.Reference{Registry: r.host},
		Client:    r.client,
		PlainHTTP: r.plainHTTP,
	}}
	prefix := ""
	if r.subPath != "" {
		prefix = r.subPath + "/"
	}
	var names []string
	err := reg.Repositories(ctx, "", func(repos []string) error {
		for _, n := range repos {
			if rest, ok := strings.CutPrefix(n, prefix); ok && rest != "" {
				names = append(names, rest)
			}
		}
		return nil
	})
	if err != nil {
		var resp *errcode.ErrorResponse
		if errors.As(err, &resp) {
			switch resp.StatusCode {
			case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
				return nil, fmt.Errorf("registry %s: listing repositories: catalog API %w: %w", r.host, errors.ErrUnsupported, err)
			}
		}
		return nil, fmt.Errorf("registry %s: listing repositories: %w", r.host, err)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// Tags lists the tags of repository, sorted. A repository the registry does
// not know is an error wrapping errdef.ErrNotFound.
func (r *Registry) Tags(ctx context.Context, repository string) ([]string, error) {
	rr, full, err := r.repo(repository)
	if err != nil {
		return nil, err
	}
	tags := []string{}
	err = rr.Tags(ctx, "", func(page []string) error {
		tags = append(tags, page...)
		return nil
	})
	if err != nil {
		return nil, r.wrap(full, "listing tags", err)
	}
	slices.Sort(tags)
	return slices.Compact(tags), nil
}

// Resolve returns the manifest descriptor that tag (or a digest) names.
func (r *Registry) Resolve(ctx context.Context, repository, tag string) (ocispec.Descriptor, error) {
	rr, full, err := r.repo(repository)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if tag == "" {
		return ocispec.Descriptor{}, fmt.Errorf("registry %s: repository %s: resolving: empty tag", r.host, full)
	}
	d, err := rr.Resolve(ctx, tag)
	if err != nil {
		return ocispec.Descriptor{}, r.wrap(full, fmt.Sprintf("resolving %q", tag), err)
	}
	return d, nil
}

// FetchReference fetches what a tag points to (a manifest or an index) in
// one GET, where Resolve and Fetch take a HEAD and a GET: it returns the
// descriptor (digest from the registry's Docker-Content-Digest header) and
// the content, which the caller verifies against it.
func (r *Registry) FetchReference(ctx context.Context, repository, tag string) (ocispec.Descriptor, io.ReadCloser, error) {
	rr, full, err := r.repo(repository)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	if tag == "" {
		return ocispec.Descriptor{}, nil, fmt.Errorf("registry %s: repository %s: resolving: empty tag", r.host, full)
	}
	d, rc, err := rr.Manifests().FetchReference(ctx, tag)
	if err != nil {
		return ocispec.Descriptor{}, nil, r.wrap(full, fmt.Sprintf("resolving %q", tag), err)
	}
	return d, rc, nil
}

// Fetch streams desc (a blob, or a manifest/index by its media type). oras
// limits the stream to desc.Size; the caller verifies the digest. A stream
// that breaks (reset, short or stalled body) is resumed with a ranged GET,
// at most MaxFetchRetries times with backoff.
func (r *Registry) Fetch(ctx context.Context, repository string, desc ocispec.Descriptor) (io.ReadCloser, error) {
	rr, full, err := r.repo(repository)
	if err != nil {
		return nil, err
	}
	rc, err := rr.Fetch(ctx, desc)
	if err != nil {
		return nil, r.wrap(full, "fetching "+string(desc.Digest), err)
	}
	if !isManifest(desc.MediaType) {
		locations.remember(r.host, full, desc.Digest)
	}
	return &resumingReader{ctx: ctx, r: r, full: full, desc: desc, rc: rc}, nil
}

// Exists reports whether the repository holds desc.
func (r *Registry) Exists(ctx context.Context, repository string, desc ocispec.Descriptor) (bool, error) {
	rr, full, err := r.repo(repository)
	if err != nil {
		return false, err
	}
	ok, err := rr.Exists(ctx, desc)
	if err != nil {
		return false, r.wrap(full, "checking "+string(desc.Digest), err)
	}
	if ok && !isManifest(desc.MediaType) {
		locations.remember(r.host, full, desc.Digest)
	}
	return ok, nil
}

// Push uploads content as desc; manifests and indexes (by media type) go to
// the manifest endpoint, everything else is a blob upload. The registry
// verifies the digest.
func (r *Registry) Push(ctx context.Context, repository string, desc ocispec.Descriptor, content io.Reader) error {
	rr, full, err := r.repo(repository)
	if err != nil {
		return err
	}
	if !isManifest(desc.MediaType) {
		return r.pushBlob(ctx, full, desc, content)
	}
	if err := rr.Push(ctx, desc, content); err != nil {
		return r.wrap(full, "pushing "+string(desc.Digest), err)
	}
	return nil
}

// PushBlob uploads content whose digest is not known yet: it is spooled to
// a temporary file while hashing (never held in memory), then pushed with
// its descriptor unless the repository has it already.
func (r *Registry) PushBlob(ctx context.Context, repository, mediaType string, content io.Reader) (ocispec.Descriptor, error) {
	rr, full, err := r.repo(repository)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	f, err := os.CreateTemp("", "ocm-oci-blob-*")
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("registry %s: repository %s: spooling blob: %w", r.host, full, err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	dg := digest.Canonical.Digester()
	n, err := io.Copy(io.MultiWriter(f, dg.Hash()), content)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("registry %s: repository %s: spooling blob: %w", r.host, full, err)
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: dg.Digest(), Size: n}
	if ok, err := rr.Blobs().Exists(ctx, desc); err != nil {
		return ocispec.Descriptor{}, r.wrap(full, "checking "+string(desc.Digest), err)
	} else if ok {
		return desc, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("registry %s: repository %s: spooling blob: %w", r.host, full, err)
	}
	// Always the blob endpoint: the digest was computed here, whatever the
	// media type says.
	err = r.pushBlob(ctx, full, desc, f)
	if isTooLarge(err) {
		// Refused as too large: the spool file can be read again, in
		// chunks (reopened: the HTTP client closed the request body).
		if again, oerr := os.Open(f.Name()); oerr == nil {
			err = r.pushBlob(ctx, full, desc, again)
			again.Close()
		}
	}
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return desc, nil
}

// Tag points repository:tag at desc, a manifest or index already stored.
func (r *Registry) Tag(ctx context.Context, repository string, desc ocispec.Descriptor, tag string) error {
	rr, full, err := r.repo(repository)
	if err != nil {
		return err
	}
	if err := rr.Tag(ctx, desc, tag); err != nil {
		return r.wrap(full, fmt.Sprintf("tagging %s as %q", desc.Digest, tag), err)
	}
	return nil
}

// ResolveBlob returns the descriptor (size) of a blob the repository holds;
// a blob it does not hold is an error wrapping errdef.ErrNotFound.
func (r *Registry) ResolveBlob(ctx context.Context, repository string, dgst digest.Digest) (ocispec.Descriptor, error) {
	rr, full, err := r.repo(repository)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d, err := rr.Blobs().Resolve(ctx, dgst.String())
	if err != nil {
		return ocispec.Descriptor{}, r.wrap(full, "resolving blob "+dgst.String(), err)
	}
	return d, nil
}
