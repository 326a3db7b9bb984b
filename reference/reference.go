// Package reference parses the component reference syntax of the OCM CLI:
//
//	[type::]<repository>/[component-descriptors]/<component>[:<version>][@<digest>]
//
// usually written with an empty prefix, e.g. ctf::./archive//example.com/app:1.0.0
// or localhost:5000//example.com/app:1.0.0. When no type is given it is
// guessed the way the reference CLI guesses it.
package reference

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"github.com/ocmgo/ocm/descriptor"
)

// Repository types.
const (
	TypeCTF = "CommonTransportFormat"
	TypeOCI = "OCIRepository"
)

// DefaultPrefix is the path element between repository and component that
// OCI registries use; "//" stands for it in references.
const DefaultPrefix = "component-descriptors"

var (
	hostRE     = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`)
	repoPathRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
)

var digestRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[[:xdigit:]]{32,}$`)

// ErrNoComponent is returned by Parse for a string that names a repository
// but no component (no "//" or "/component-descriptors/" separator).
var ErrNoComponent = errors.New("no component in reference")

// Repository is a parsed repository reference.
type Repository struct {
	// Type is TypeCTF or TypeOCI.
	Type string
	// FilePath is the CTF archive (directory, .tar, .tgz).
	FilePath string
	// BaseURL is the OCI registry, with a scheme only if one was given.
	BaseURL string
	// SubPath is the repository path below the registry host.
	SubPath string
}

func (r Repository) String() string {
	switch r.Type {
	case TypeCTF:
		return "ctf::" + r.FilePath
	case TypeOCI:
		if r.SubPath != "" {
			return "oci::" + r.BaseURL + "/" + r.SubPath
		}
		return "oci::" + r.BaseURL
	}
	return r.Type + "::?"
}

// Ref is a parsed component reference.
type Ref struct {
	Repository Repository
	Prefix     string
	Component  string
	Version    string
	Digest     string
}

func (r *Ref) String() string {
	s := r.Repository.String() + "/" + r.Prefix + "/" + r.Component
	if r.Version != "" {
		s += ":" + r.Version
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Parse parses a component reference. A reference without a component
// returns an error wrapping ErrNoComponent; use ParseRepository for those.
func Parse(input string) (*Ref, error) {
	ref := &Ref{}
	rest := input
	typ := ""
	if i := strings.Index(rest, "::"); i >= 0 {
		typ, rest = rest[:i], rest[i+2:]
	}
	if isWindowsAbsPath(rest) {
		rest = strings.ReplaceAll(rest, `\`, `/`)
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 && !strings.Contains(rest[i:], "/") {
		d := rest[i+1:]
		if !digestRE.MatchString(d) {
			return nil, fmt.Errorf("invalid component reference %q: digest %q is not of the form <algorithm>:<hex>", Redact(input), d)
		}
		ref.Digest, rest = d, rest[:i]
	}
	if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.Contains(rest[i:], "/") {
		v := rest[i+1:]
		if err := descriptor.ValidateVersion(v); err != nil {
			return nil, fmt.Errorf("invalid component reference %q: version %w", Redact(input), err)
		}
		ref.Version, rest = v, rest[:i]
	}
	found := false
	for _, prefix := range []string{DefaultPrefix, ""} {
		token := "/" + prefix + "/"
		if i := strings.LastIndex(rest, token); i >= 0 {
			comp := rest[i+len(token):]
			if comp == "" {
				return nil, fmt.Errorf("invalid component reference %q: missing component name after %q", Redact(input), token)
			}
			ref.Prefix, ref.Component, rest = prefix, comp, rest[:i]
			found = true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("invalid component reference %q: expected <repository>//<component>[:<version>]: %w", Redact(input), ErrNoComponent)
	}
	if err := descriptor.ValidateComponentName(ref.Component); err != nil {
		return nil, fmt.Errorf("invalid component reference %q: component name %w", Redact(input), err)
	}
	if rest == "" {
		return nil, fmt.Errorf("invalid component reference %q: missing repository before //", Redact(input))
	}
	repoInput := rest
	if typ != "" {
		repoInput = typ + "::" + rest
	}
	repo, err := ParseRepository(repoInput)
	if err != nil {
		return nil, fmt.Errorf("invalid component reference %q: %w", Redact(input), err)
	}
	ref.Repository = repo
	return ref, nil
}

// ParseRepository parses [type::]<repository>.
func ParseRepository(input string) (Repository, error) {
	rest := input
	typ := ""
	if i := strings.Index(rest, "::"); i >= 0 {
		typ, rest = rest[:i], rest[i+2:]
	}
	if rest == "" {
		return Repository{}, fmt.Errorf("repository %q: empty location", Redact(input))
	}
	if typ == "" {
		typ = guessType(rest)
	}
	canonical, err := CanonicalRepositoryType(typ)
	if err != nil {
		return Repository{}, fmt.Errorf("repository %q: %w", Redact(input), err)
	}
	if canonical == TypeOCI {
		return parseOCI(input, rest)
	}
	path := strings.TrimPrefix(rest, "file://")
	if isWindowsAbsPath(path) {
		path = strings.ReplaceAll(path, `\`, `/`)
	}
	return Repository{Type: TypeCTF, FilePath: path}, nil
}

func parseOCI(input, rest string) (Repository, error) {
	s := rest
	hasScheme := strings.Contains(s, "://")
	if !hasScheme {
		s = "dummy://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return Repository{}, fmt.Errorf("repository %q: %w", Redact(input), err)
	}
	if u.Host == "" {
		return Repository{}, fmt.Errorf("repository %q: missing registry host", Redact(input))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return Repository{}, fmt.Errorf("repository %q: query, fragment and user info are not allowed in a registry reference", Redact(input))
	}
	if !hostRE.MatchString(u.Host) {
		return Repository{}, fmt.Errorf("repository %q: %q is not a registry host[:port]", Redact(input), u.Host)
	}
	r := Repository{Type: TypeOCI, BaseURL: u.Host}
	if hasScheme {
		r.BaseURL = u.Scheme + "://" + u.Host
	}
	if p := strings.Trim(u.EscapedPath(), "/"); p != "" {
		if !repoPathRE.MatchString(p) {
			return Repository{}, fmt.Errorf("repository %q: path %q is not a valid OCI repository path (lower case letters, digits, separators . _ __ -)", Redact(input), p)
		}
		r.SubPath = p
	}
	return r, nil
}

// ErrUnknownType is returned for a repository type that is none of the
// spellings of TypeCTF and TypeOCI.
var ErrUnknownType = errors.New("unknown repository type")

// typeNames is the one table of repository type spellings: the canonical
// names, the reference's aliases, and the short forms used in references.
// Matching ignores case (controllers have always accepted "ociregistry").
var typeNames = []struct{ name, canonical string }{
	{"CommonTransportFormat", TypeCTF},
	{"CTF", TypeCTF},
	{"OCIRepository", TypeOCI},
	{"OCIRegistry", TypeOCI},
	{"OCI", TypeOCI},
}

// RepositoryTypeName is one spelling of a repository type.
type RepositoryTypeName struct {
	Name, Canonical string
}

// RepositoryTypeNames lists the repository type spellings
// CanonicalRepositoryType accepts (case-insensitively, bare or with /v1).
func RepositoryTypeNames() []RepositoryTypeName {
	out := make([]RepositoryTypeName, len(typeNames))
	for i, n := range typeNames {
		out[i] = RepositoryTypeName{Name: n.name, Canonical: n.canonical}
	}
	return out
}

// CanonicalRepositoryType returns TypeCTF or TypeOCI for a repository type
// as references and repository specifications spell it, optionally with
// the version suffix /v1. Other types return an error wrapping
// ErrUnknownType.
func CanonicalRepositoryType(t string) (string, error) {
	base, version, hasVersion := strings.Cut(t, "/")
	if !hasVersion || version == "v1" {
		for _, n := range typeNames {
			if strings.EqualFold(base, n.name) {
				return n.canonical, nil
			}
		}
	}
	return "", fmt.Errorf("%w %q (known: CommonTransportFormat, ctf, OCIRepository, oci, OCIRegistry)", ErrUnknownType, t)
}

// guessType follows the reference CLI's heuristics: paths and archive names
// are CTFs; URLs, host:port, localhost and domain-like names are registries.
func guessType(s string) string {
	if isWindowsAbsPath(s) {
		return TypeCTF
	}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		if u.Scheme == "file" {
			return TypeCTF
		}
		return TypeOCI
	}
	cleaned := filepath.Clean(s)
	if filepath.IsAbs(cleaned) {
		return TypeCTF
	}
	if parts := strings.Split(cleaned, string(filepath.Separator)); len(parts) > 1 && parts[0] == ".." {
		return TypeCTF
	}
	if strings.HasPrefix(s, "./") || cleaned == "." || cleaned == ".." {
		return TypeCTF
	}
	if strings.Contains(cleaned, ":") || cleaned == "localhost" {
		return TypeOCI
	}
	lower := strings.ToLower(cleaned)
	for _, ext := range []string{".tar.gz", ".tgz", ".tar"} {
		if strings.HasSuffix(lower, ext) {
			return TypeCTF
		}
	}
	if looksLikeDomain(cleaned) {
		return TypeOCI
	}
	return TypeCTF
}

// looksLikeDomain: a dot and some element containing a letter (ghcr.io,
// example.com). Like the reference CLI, "my.path" counts as a domain; write
// ./my.path or ctf::my.path for a CTF.
func looksLikeDomain(s string) bool {
	if !strings.Contains(s, ".") {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		for _, r := range part {
			if unicode.IsLetter(r) {
				return true
			}
		}
	}
	return false
}

func isWindowsAbsPath(s string) bool {
	return len(s) >= 3 && unicode.IsLetter(rune(s[0])) && s[1] == ':' && (s[2] == '\\' || s[2] == '/')
}

// Redact masks the password of user info in a reference
// (scheme://user:password@host/...) for messages, as url.URL.Redacted
// does: a reference may carry credentials, an error must not repeat them.
func Redact(s string) string {
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + 3
	}
	end := len(s)
	if i := strings.IndexAny(s[start:], "/?#"); i >= 0 {
		end = start + i
	}
	at := strings.LastIndex(s[start:end], "@")
	if at < 0 {
		return s
	}
	user, _, hasPassword := strings.Cut(s[start:start+at], ":")
	if !hasPassword {
		return s
	}
	return s[:start] + user + ":xxxxx" + s[start+at:]
}
