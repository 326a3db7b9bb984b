package access

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/yaml"
)

// maxIndexSize bounds a chart repository's index.yaml (large public
// repositories have indexes of tens of MiB).
const maxIndexSize = 256 << 20

// helmIndex is the part of a chart repository's index.yaml this package
// reads.
type helmIndex struct {
	APIVersion string                       `json:"apiVersion"`
	Entries    map[string][]*helmIndexEntry `json:"entries"`
}

type helmIndexEntry struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	URLs    []string `json:"urls"`
	Digest  string   `json:"digest"`
}

// parseHelmIndex parses an index.yaml; where names the index in errors.
func parseHelmIndex(data []byte, where string) (*helmIndex, error) {
	var ix helmIndex
	if err := yaml.Unmarshal(data, &ix); err != nil {
		return nil, fmt.Errorf("index %s: %w", where, err)
	}
	if ix.APIVersion == "" {
		return nil, fmt.Errorf("index %s: no apiVersion (not a Helm repository index)", where)
	}
	return &ix, nil
}

// lookup finds a chart version the way Helm does: an exact version first,
// else the highest version satisfying version as a semver constraint; an
// empty version means the highest release (no pre-release).
func (ix *helmIndex) lookup(chart, version, where string) (*helmIndexEntry, error) {
	entries := ix.Entries[chart]
	if len(entries) == 0 {
		return nil, fmt.Errorf("index %s: %w: no chart %q", where, ErrNotFound, chart)
	}
	for _, e := range entries {
		if e != nil && version != "" && e.Version == version {
			return e, nil
		}
	}
	c := version
	if c == "" {
		c = "*"
	}
	constraint, err := semver.NewConstraint(c)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w: chart %q has no version %q", where, ErrNotFound, chart, version)
	}
	type cand struct {
		v *semver.Version
		e *helmIndexEntry
	}
	var cands []cand
	for _, e := range entries {
		if e == nil {
			continue
		}
		if v, err := semver.NewVersion(e.Version); err == nil && constraint.Check(v) {
			cands = append(cands, cand{v, e})
		}
	}
	if len(cands) == 0 {
		if version == "" {
			return nil, fmt.Errorf("index %s: %w: chart %q has no release version", where, ErrNotFound, chart)
		}
		return nil, fmt.Errorf("index %s: %w: chart %q has no version %q (versions: %s)", where, ErrNotFound, chart, version, versionList(entries))
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].v.GreaterThan(cands[j].v) })
	return cands[0].e, nil
}

func versionList(entries []*helmIndexEntry) string {
	var vs []string
	for _, e := range entries {
		if e != nil {
			vs = append(vs, e.Version)
		}
		if len(vs) == 10 {
			vs = append(vs, "…")
			break
		}
	}
	return strings.Join(vs, ", ")
}

// chartURL resolves an entry's first URL against the repository URL (with
// a trailing slash, as Helm does).
func (e *helmIndexEntry) chartURL(repo string) (string, error) {
	if len(e.URLs) == 0 || e.URLs[0] == "" {
		return "", fmt.Errorf("chart %s version %s lists no URL", e.Name, e.Version)
	}
	base, err := url.Parse(repo)
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	ref, err := url.Parse(e.URLs[0])
	if err != nil {
		return "", fmt.Errorf("chart %s version %s: URL %q: %w", e.Name, e.Version, e.URLs[0], err)
	}
	return base.ResolveReference(ref).String(), nil
}

var errNoDigest = errors.New("no digest")

// indexDigest is the entry's digest as hex SHA-256 (Helm writes bare hex;
// "sha256:" prefixed values are accepted).
func (e *helmIndexEntry) indexDigest() (string, error) {
	d := strings.TrimPrefix(strings.ToLower(e.Digest), "sha256:")
	if d == "" {
		return "", errNoDigest
	}
	if len(d) != 64 || strings.Trim(d, "0123456789abcdef") != "" {
		return "", fmt.Errorf("chart %s version %s: digest %q is not a SHA-256 hex digest", e.Name, e.Version, e.Digest)
	}
	return d, nil
}
