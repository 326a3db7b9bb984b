package reference

import (
	"fmt"
	"strings"

	dref "github.com/distribution/reference"
)

// DockerHub is the registry an image reference without a host names, as
// for `docker pull nginx`; DockerHubEndpoint is the host that serves its
// distribution API.
const (
	DockerHub         = "docker.io"
	DockerHubEndpoint = "registry-1.docker.io"
)

// Image is a parsed OCI image reference:
// [http://|https://|oci://]registry/repository[:tag][@digest].
type Image struct {
	// PlainHTTP is set when the reference was written with http://.
	PlainHTTP bool
	// Registry is host[:port]; DockerHub when the reference names none.
	Registry string
	// Repository is the path below the registry ("library/nginx" for
	// Docker Hub's official images).
	Repository string
	Tag        string
	// Digest is algorithm:hex, validated.
	Digest string
}

// ParseImage parses an image reference the way `docker pull` and the
// reference OCM CLI read it: a first path element that is not a host
// (no '.', no ':', not localhost) means Docker Hub, and a single name there
// means library/<name>. A scheme prefix is accepted: http:// asks for plain
// HTTP, https:// and oci:// (Helm's spelling) change nothing. It is the one
// image reference parser of the code base.
func ParseImage(s string) (Image, error) {
	rest, plain := cutScheme(s)
	named, err := dref.ParseNormalizedNamed(rest)
	if err != nil {
		return Image{}, fmt.Errorf("image reference %q: %w", s, err)
	}
	img := fromNamed(named)
	img.PlainHTTP = plain
	return img, nil
}

// ParseImageIn parses path[:tag][@digest] as an image in the given
// registry (host[:port]), for references whose host is known separately,
// e.g. a repository below a registry the caller has open.
func ParseImageIn(registry, s string) (Image, error) {
	if registry == "" {
		return Image{}, fmt.Errorf("image reference %q: no registry", s)
	}
	full := registry + "/" + s
	r, err := dref.Parse(full)
	if err != nil {
		return Image{}, fmt.Errorf("image reference %q: %w", full, err)
	}
	named, ok := r.(dref.Named)
	if !ok || dref.Domain(named) != registry {
		return Image{}, fmt.Errorf("image reference %q: %q is not a registry host", full, registry)
	}
	return fromNamed(named), nil
}

func cutScheme(s string) (string, bool) {
	lower := strings.ToLower(s)
	for _, p := range []string{"https://", "oci://"} {
		if strings.HasPrefix(lower, p) {
			return s[len(p):], false
		}
	}
	if strings.HasPrefix(lower, "http://") {
		return s[len("http://"):], true
	}
	return s, false
}

func fromNamed(named dref.Named) Image {
	img := Image{Registry: dref.Domain(named), Repository: dref.Path(named)}
	if t, ok := named.(dref.Tagged); ok {
		img.Tag = t.Tag()
	}
	if d, ok := named.(dref.Digested); ok {
		img.Digest = d.Digest().String()
	}
	return img
}

// String is registry/repository[:tag][@digest], without a scheme.
func (i Image) String() string {
	s := i.Name()
	if i.Tag != "" {
		s += ":" + i.Tag
	}
	if i.Digest != "" {
		s += "@" + i.Digest
	}
	return s
}

// Name is registry/repository.
func (i Image) Name() string { return i.Registry + "/" + i.Repository }

// Reference is what to resolve in the repository: the digest when pinned,
// else the tag, else "latest" (docker's default).
func (i Image) Reference() string {
	switch {
	case i.Digest != "":
		return i.Digest
	case i.Tag != "":
		return i.Tag
	}
	return "latest"
}

// WithDigest returns the reference pinned to digest, keeping its tag
// (repo:tag@digest, as the reference CLI pins).
func (i Image) WithDigest(digest string) Image {
	i.Digest = digest
	return i
}

// Endpoint is the host that serves the registry's distribution API:
// Docker Hub's API lives on registry-1.docker.io.
func (i Image) Endpoint() string {
	if i.Registry == DockerHub {
		return DockerHubEndpoint
	}
	return i.Registry
}
