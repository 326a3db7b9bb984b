// Package sbom renders OCM component graphs as software bills of materials
// in the ecosystem's formats (CycloneDX 1.6 JSON and SPDX 2.3 JSON), so
// Dependency-Track, scanners and license tools read them unchanged.
//
// Both renderers share one flattening of the graph (this file): every
// component version once, its resources with their digests, and the
// component references as dependency edges.
package sbom

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/distribution/reference"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/repository"
)

// Options are the document-level facts that do not come from the graph.
type Options struct {
	// ToolName and ToolVersion name the producer (e.g. "ocm", "v0.3.0").
	ToolName, ToolVersion string
	// Time is the creation time; zero means now. Set it (e.g. from
	// SOURCE_DATE_EPOCH) for reproducible documents.
	Time time.Time
	// Serial is the document's UUID (RFC 4122 text form); empty means a
	// random one, as both formats ask every document to be unique.
	Serial string
}

func (o Options) created() time.Time {
	if o.Time.IsZero() {
		return time.Now().UTC().Truncate(time.Second)
	}
	return o.Time.UTC().Truncate(time.Second)
}

func (o Options) serial() (string, error) {
	if o.Serial != "" {
		if !uuidPattern(o.Serial) {
			return "", fmt.Errorf("serial %q is not a UUID (8-4-4-4-12 lower-case hex digits)", o.Serial)
		}
		return o.Serial, nil
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}

func uuidPattern(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

func (o Options) tool() (string, string) {
	name, ver := o.ToolName, o.ToolVersion
	if name == "" {
		name = "ocm"
	}
	if ver == "" {
		ver = "unknown"
	}
	return name, ver
}

// version is one component version of the graph, flattened.
type version struct {
	ref       string // unique id within the document
	d         *descriptor.Descriptor
	digest    *descriptor.DigestSpec // normalised descriptor digest (signed one when signed)
	deps      []string               // refs of the referenced versions, in reference order, once each
	resources []resource
}

// resource is one resource of a version.
type resource struct {
	ref      string
	r        *descriptor.Resource
	identity descriptor.Identity
	hash     *hash // content digest when the descriptor records one in a form both formats take
	purl     string
}

// hash is a content digest: algorithm as OCM writes it and lower-case hex.
type hash struct {
	alg   string // "SHA-256" or "SHA-512"
	value string
}

// flatten lists every component version reachable from roots once, in
// depth-first pre-order, with the references between them.
func flatten(roots []*repository.Node) ([]*version, []string, error) {
	var out []*version
	var rootRefs []string
	for _, root := range roots {
		rootRefs = append(rootRefs, versionRef(root.Descriptor))
		if err := root.Walk(func(n *repository.Node) error {
			v, err := newVersion(n)
			if err != nil {
				return err
			}
			out = append(out, v)
			return nil
		}); err != nil {
			return nil, nil, err
		}
	}
	// Walk dedups within one root; several roots may share versions.
	seen := map[string]bool{}
	out = slices.DeleteFunc(out, func(v *version) bool {
		dup := seen[v.ref]
		seen[v.ref] = true
		return dup
	})
	return out, slices.Compact(rootRefs), nil
}

func versionRef(d *descriptor.Descriptor) string {
	return "ocm:" + d.Component.Name + ":" + d.Component.Version
}

func newVersion(n *repository.Node) (*version, error) {
	d := n.Descriptor
	v := &version{ref: versionRef(d), d: d}
	if len(d.Signatures) > 0 {
		v.digest = &d.Signatures[0].Digest
	} else {
		dg, err := normalisation.Digest(d, normalisation.JSONv4alpha1, normalisation.SHA256)
		if err != nil {
			return nil, fmt.Errorf("%s:%s: descriptor digest: %w", d.Component.Name, d.Component.Version, err)
		}
		v.digest = dg
	}
	for _, c := range n.Children {
		ref := versionRef(c.Descriptor)
		if !slices.Contains(v.deps, ref) {
			v.deps = append(v.deps, ref)
		}
	}
	ids := d.Component.ResourceIdentities()
	for i := range d.Component.Resources {
		r := &d.Component.Resources[i]
		res := resource{ref: v.ref + "/resource/" + ids[i].String(), r: r, identity: ids[i], hash: contentHash(r.Digest)}
		res.purl = ociPURL(r)
		v.resources = append(v.resources, res)
	}
	return v, nil
}

// contentHash returns the digest of a resource's content when it is one a
// scanner can recompute from the bytes: a blob digest or an OCI manifest
// digest, SHA-256 or SHA-512 in hex.
func contentHash(d *descriptor.DigestSpec) *hash {
	if d == nil {
		return nil
	}
	switch d.NormalisationAlgorithm {
	case normalisation.GenericBlobDigestV1, normalisation.OCIArtifactDigestV1:
	default:
		return nil
	}
	var alg string
	var size int
	switch strings.ToUpper(strings.ReplaceAll(d.HashAlgorithm, "-", "")) {
	case "SHA256":
		alg, size = normalisation.SHA256, 64
	case "SHA512":
		alg, size = normalisation.SHA512, 128
	default:
		return nil
	}
	v := strings.ToLower(d.Value)
	if len(v) != size {
		return nil
	}
	if _, err := hex.DecodeString(v); err != nil {
		return nil
	}
	return &hash{alg: alg, value: v}
}

// ociPURL is the package URL (purl-spec type "oci") of a resource held in
// an OCI registry, which image scanners match on: the repository's last
// path element as name, the manifest digest as version, the repository as
// repository_url. Only a pinned digest makes a purl: a tag alone is not an
// identity.
func ociPURL(r *descriptor.Resource) string {
	if r.Access == nil || !r.Access.IsOCIArtifact() {
		return ""
	}
	a, err := r.Access.OCIArtifact()
	if err != nil {
		return ""
	}
	named, err := reference.ParseNormalizedNamed(a.ImageReference)
	if err != nil {
		return ""
	}
	var dg string
	if d, ok := named.(reference.Digested); ok {
		dg = d.Digest().String()
	} else if r.Digest != nil && r.Digest.NormalisationAlgorithm == normalisation.OCIArtifactDigestV1 {
		if h := contentHash(r.Digest); h != nil && h.alg == normalisation.SHA256 {
			dg = "sha256:" + h.value
		}
	}
	if dg == "" {
		return ""
	}
	path := reference.Path(named)
	name := strings.ToLower(path[strings.LastIndex(path, "/")+1:])
	// As in the purl-spec examples: ':' of the digest encoded, '/' of the
	// repository kept; qualifiers sorted by key.
	q := "repository_url=" + purlValue(named.Name())
	if t, ok := named.(reference.Tagged); ok {
		q += "&tag=" + purlValue(t.Tag())
	}
	return "pkg:oci/" + url.PathEscape(name) + "@" + strings.ReplaceAll(dg, ":", "%3A") + "?" + q
}

func purlValue(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

// labelValue renders a label value compactly (labels hold any JSON).
func labelValue(l descriptor.Label) string {
	if len(l.Value) == 0 {
		return "null"
	}
	var s string
	if json.Unmarshal(l.Value, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, l.Value); err != nil {
		return string(l.Value)
	}
	return buf.String()
}

// accessSummary names where a resource lives, without anything secret
// (accesses hold locations, never credentials).
func accessSummary(r *descriptor.Resource) string {
	if r.Access == nil {
		return ""
	}
	return string(r.Access.Raw)
}
