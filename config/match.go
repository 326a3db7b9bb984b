package config

import (
	"path"
	"strings"
)

// Identity attributes of URL-shaped consumer identities (OCIRegistry,
// HelmChartRepository, Wget), as the reference names them.
const (
	IDType     = "type"
	IDHostname = "hostname"
	IDPort     = "port"
	IDScheme   = "scheme"
	IDPath     = "path"
)

// URLIdentityMatches reports whether a configured consumer identity
// applies to a requested one, the reference's way for URL-shaped
// identities: the same type (with or without version); the same hostname;
// schemes, when both name one, agree (oci counts as https); a port the
// consumer names equals the request's (80/443 implied by http/https); a
// path the consumer names matches the request's path as a glob (path.Match)
// or as a prefix of whole segments where "*" stands for one segment (so
// "org/*" covers "org/team/app"). Any other attribute must be equal.
func URLIdentityMatches(consumer, request map[string]string) bool {
	for k, v := range consumer {
		switch k {
		case IDType:
			if baseType(v) != baseType(request[IDType]) {
				return false
			}
		case IDHostname:
			if !strings.EqualFold(v, request[IDHostname]) {
				return false
			}
		case IDScheme:
			if s := request[IDScheme]; s != "" && normaliseScheme(v) != normaliseScheme(s) {
				return false
			}
		case IDPort:
			if v != "" && v != effectivePort(request[IDScheme], request[IDPort]) {
				return false
			}
		case IDPath:
			if v != "" && !pathMatches(v, request[IDPath]) {
				return false
			}
		default:
			if request[k] != v {
				return false
			}
		}
	}
	_, hasType := consumer[IDType]
	return hasType
}

func baseType(t string) string {
	b, _, _ := strings.Cut(t, "/")
	return b
}

func normaliseScheme(s string) string {
	s = strings.ToLower(s)
	if s == "oci" {
		return "https"
	}
	return s
}

func effectivePort(scheme, port string) string {
	if port != "" {
		return port
	}
	switch normaliseScheme(scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

func pathMatches(pattern, p string) bool {
	pattern, p = strings.Trim(pattern, "/"), strings.Trim(p, "/")
	if ok, err := path.Match(pattern, p); err == nil && ok {
		return true
	}
	ps, xs := strings.Split(pattern, "/"), strings.Split(p, "/")
	if len(ps) > len(xs) {
		return false
	}
	for i, s := range ps {
		if s != "*" && s != xs[i] {
			return false
		}
	}
	return true
}

// CredentialsFor returns the credentials of the last consumer whose
// identity applies to the requested URL-shaped identity (URLIdentityMatches).
func (c *Config) CredentialsFor(request map[string]string) (Credentials, bool, error) {
	if c == nil {
		return Credentials{}, false, nil
	}
	return c.CredentialsMatching(func(id map[string]string) bool { return URLIdentityMatches(id, request) })
}
