package descriptor

import (
	"fmt"
	"strings"
)

// HelmAccess is the Helm/v1 access (legacy spelling helm): a chart in a
// Helm chart repository. HelmRepository is an http(s):// URL of a
// repository with an index.yaml, or oci://host/path for charts stored as
// OCI artifacts. HelmChart is "name" or "name:version"; Version, when set,
// wins over a version in HelmChart.
type HelmAccess struct {
	Type           string `json:"type"`
	HelmRepository string `json:"helmRepository"`
	HelmChart      string `json:"helmChart"`
	Version        string `json:"version,omitempty"`
}

// ChartName is the chart name without a version suffix.
func (h *HelmAccess) ChartName() string {
	name, _, _ := strings.Cut(h.HelmChart, ":")
	return name
}

// ChartVersion is Version, else the version in HelmChart ("name:1.2.3"), else "".
func (h *HelmAccess) ChartVersion() string {
	if h.Version != "" {
		return h.Version
	}
	if _, v, ok := strings.Cut(h.HelmChart, ":"); ok {
		return v
	}
	return ""
}

// Helm decodes a Helm access.
func (t *Typed) Helm() (*HelmAccess, error) {
	if t == nil {
		return nil, fmt.Errorf("no access")
	}
	if t.Kind() != AccessHelm {
		return nil, fmt.Errorf("access type %q is not Helm", t.Type)
	}
	var h HelmAccess
	if err := t.Decode(&h); err != nil {
		return nil, fmt.Errorf("decoding %s access: %w", t.Type, err)
	}
	if h.HelmRepository == "" {
		return nil, fmt.Errorf("%s access has no helmRepository", t.Type)
	}
	if h.ChartName() == "" {
		return nil, fmt.Errorf("%s access has no helmChart", t.Type)
	}
	return &h, nil
}

// WgetAccess is the Wget/v1 access (legacy spelling wget): content fetched
// with one HTTP request.
type WgetAccess struct {
	Type       string              `json:"type"`
	URL        string              `json:"url"`
	MediaType  string              `json:"mediaType,omitempty"`
	Header     map[string][]string `json:"header,omitempty"`
	Verb       string              `json:"verb,omitempty"`
	Body       []byte              `json:"body,omitempty"`
	NoRedirect bool                `json:"noRedirect,omitempty"`
}

// Wget decodes a Wget access.
func (t *Typed) Wget() (*WgetAccess, error) {
	if t == nil {
		return nil, fmt.Errorf("no access")
	}
	if t.Kind() != AccessWget {
		return nil, fmt.Errorf("access type %q is not Wget", t.Type)
	}
	var w WgetAccess
	if err := t.Decode(&w); err != nil {
		return nil, fmt.Errorf("decoding %s access: %w", t.Type, err)
	}
	if w.URL == "" {
		return nil, fmt.Errorf("%s access has no url", t.Type)
	}
	return &w, nil
}

// OCIImageLayerAccess is the OCIImageLayer/v1 access (legacy ociBlob): one
// blob of a repository in an OCI registry.
type OCIImageLayerAccess struct {
	Type      string `json:"type"`
	Reference string `json:"ref"`
	MediaType string `json:"mediaType,omitempty"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size,omitempty"`
}

// OCIImageLayer decodes an OCIImageLayer access.
func (t *Typed) OCIImageLayer() (*OCIImageLayerAccess, error) {
	if t == nil {
		return nil, fmt.Errorf("no access")
	}
	if t.Kind() != AccessOCIImageLayer {
		return nil, fmt.Errorf("access type %q is not OCIImageLayer", t.Type)
	}
	var a OCIImageLayerAccess
	if err := t.Decode(&a); err != nil {
		return nil, fmt.Errorf("decoding %s access: %w", t.Type, err)
	}
	if a.Reference == "" || a.Digest == "" {
		return nil, fmt.Errorf("%s access needs ref and digest", t.Type)
	}
	return &a, nil
}
