package constructor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/descriptor"
)

type fetcherKey struct{}

// WithFetcher makes inputs that download content (helm with
// helmRepository, wget) use f, with its credentials and transport; Build
// does this with BuildOptions.External. Without it they download
// anonymously.
func WithFetcher(ctx context.Context, f *access.Fetcher) context.Context {
	if f == nil {
		return ctx
	}
	return context.WithValue(ctx, fetcherKey{}, f)
}

func fetcherFrom(ctx context.Context) *access.Fetcher {
	if f, ok := ctx.Value(fetcherKey{}).(*access.Fetcher); ok {
		return f
	}
	return access.New(access.Options{})
}

// WgetInput is the Wget/v1 input: content downloaded with one HTTP
// request and stored with the component version. The media type is
// mediaType, else the server's Content-Type, else application/octet-stream.
type WgetInput struct {
	URL        string              `json:"url"`
	MediaType  string              `json:"mediaType,omitempty"`
	Header     map[string][]string `json:"header,omitempty"`
	Verb       string              `json:"verb,omitempty"`
	Body       []byte              `json:"body,omitempty"`
	NoRedirect bool                `json:"noRedirect,omitempty"`
}

func checkWget(p *parser, path string, m map[string]any) {
	switch v := m["url"].(type) {
	case nil:
		p.fail(join(path, "url"), "must be set")
	case string:
		u, err := url.Parse(v)
		switch {
		case v == "":
			p.fail(join(path, "url"), "must not be empty")
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			p.fail(join(path, "url"), "must be an http:// or https:// URL")
		}
	}
	if h, ok := m["header"]; ok && h != nil {
		hm, ok := h.(map[string]any)
		if !ok {
			p.fail(join(path, "header"), "must be a map of header names to lists of values")
			return
		}
		for k, v := range hm {
			l, ok := v.([]any)
			if !ok {
				p.fail(join(join(path, "header"), k), "must be a list of strings")
				continue
			}
			for _, x := range l {
				if _, ok := x.(string); !ok {
					p.fail(join(join(path, "header"), k), "must be a list of strings")
					break
				}
			}
		}
	}
}

func openWget(ctx context.Context, raw []byte, w *where) (*Content, error) {
	var in WgetInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, w.wrap("", err)
	}
	acc, err := descriptor.NewTyped(descriptor.WgetAccess{Type: "Wget/v1", URL: in.URL, MediaType: in.MediaType, Header: in.Header, Verb: in.Verb, Body: in.Body, NoRedirect: in.NoRedirect})
	if err != nil {
		return nil, w.wrap("", err)
	}
	f := fetcherFrom(ctx)
	c := &Content{Size: -1, MediaType: in.MediaType}
	c.Open = func() (io.ReadCloser, error) {
		b, err := f.Open(ctx, &acc)
		if err != nil {
			return nil, w.wrap("url", err)
		}
		if c.MediaType == "" {
			c.MediaType = b.MediaType
		}
		return b, nil
	}
	return c, nil
}

// helmRemoteAccess maps a Helm input's helmRepository to what is fetched,
// the reference's way: oci://host/path/chart[:tag] is a chart in a
// registry; http(s)://host/path/chart:version a chart in the repository
// http(s)://host/path (its index.yaml); any other http(s) URL the chart
// archive itself. version, when set, wins over a tag.
func helmRemoteAccess(in *HelmInput) (acc *descriptor.Typed, chartURL string, err error) {
	repo := in.HelmRepository
	scheme, rest, ok := strings.Cut(repo, "://")
	if !ok || (scheme != "oci" && scheme != "http" && scheme != "https") {
		return nil, "", fmt.Errorf("%q is not an oci://, http:// or https:// reference", repo)
	}
	i := strings.LastIndex(rest, "/")
	if i < 0 {
		return nil, "", fmt.Errorf("%q names no chart (host/path/chart[:version])", repo)
	}
	base, last := rest[:i], rest[i+1:]
	name, tag, hasTag := strings.Cut(last, ":")
	version := in.Version
	if version == "" && hasTag {
		version = tag
	}
	if scheme != "oci" && !hasTag {
		return nil, repo, nil
	}
	if version == "" {
		return nil, "", fmt.Errorf("%q: the chart version must be given (name:version or version)", repo)
	}
	a, err := descriptor.NewTyped(descriptor.HelmAccess{Type: "Helm/v1", HelmRepository: scheme + "://" + base, HelmChart: name, Version: version})
	if err != nil {
		return nil, "", err
	}
	return &a, "", nil
}

// downloadChart fetches a Helm input's remote chart archive into a
// temporary file (the artifact store reads it from there) and returns its
// path; remove it when done.
func downloadChart(ctx context.Context, in *HelmInput, w *where) (string, error) {
	acc, chartURL, err := helmRemoteAccess(in)
	if err != nil {
		return "", w.wrap("helmRepository", err)
	}
	f := fetcherFrom(ctx)
	ca := []byte(in.CACert)
	if in.CACertFile != "" {
		if ca, err = os.ReadFile(w.resolve(in.CACertFile)); err != nil {
			return "", w.wrap("caCertFile", err)
		}
	}
	if len(ca) > 0 {
		field := "caCert"
		if in.CACertFile != "" {
			field = "caCertFile"
		}
		if f, err = f.WithRootCAs(ca); err != nil {
			return "", w.wrap(field, err)
		}
	}
	var b *access.Blob
	if acc != nil {
		b, err = f.Open(ctx, acc)
	} else {
		b, err = f.OpenURL(ctx, chartURL, access.ConsumerHelmChartRepository)
	}
	if err != nil {
		return "", w.wrap("helmRepository", err)
	}
	defer b.Close()
	tmp, err := os.CreateTemp("", "ocm-helm-chart-*.tgz")
	if err != nil {
		return "", w.wrap("helmRepository", err)
	}
	_, err = io.Copy(tmp, io.LimitReader(b, MaxPackagedChartSize+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if fi, serr := os.Stat(tmp.Name()); serr == nil && fi.Size() > MaxPackagedChartSize {
			err = fmt.Errorf("chart archive larger than %d bytes", MaxPackagedChartSize)
		}
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", w.wrap("helmRepository", fmt.Errorf("downloading %s: %w", b.Source, err))
	}
	return tmp.Name(), nil
}
