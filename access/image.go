package access

import (
	"strings"

	"oras.land/oras-go/v2/registry"
)

// image is a parsed image reference.
type image struct {
	plainHTTP                         bool
	registry, repository, tag, digest string
}

func parseImage(s string) (image, error) {
	var img image
	rest := s
	if r, ok := strings.CutPrefix(s, "http://"); ok {
		img.plainHTTP, rest = true, r
	} else if r, ok := strings.CutPrefix(s, "https://"); ok {
		rest = r
	} else if r, ok := strings.CutPrefix(s, "oci://"); ok {
		rest = r
	}
	// Keep a tag next to a digest (repo:tag@sha256:…), which oras drops.
	var dig string
	if i := strings.LastIndex(rest, "@"); i > strings.LastIndex(rest, "/") {
		rest, dig = rest[:i], rest[i+1:]
	}
	ref, err := registry.ParseReference(rest)
	if err != nil {
		return image{}, err
	}
	img.registry, img.repository, img.tag, img.digest = ref.Registry, ref.Repository, ref.Reference, dig
	if dig != "" {
		if _, err := (registry.Reference{Registry: ref.Registry, Repository: ref.Repository, Reference: dig}).Digest(); err != nil {
			return image{}, err
		}
	}
	return img, nil
}
