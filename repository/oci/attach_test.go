package oci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository/oci"
)

func pushTestImage(t *testing.T, reg *oci.Registry, repo string) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	layer := []byte("image layer")
	ld := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(layer), Size: int64(len(layer))}
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	cd := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))}
	for _, p := range []struct {
		d    ocispec.Descriptor
		data []byte
	}{{ld, layer}, {cd, cfg}} {
		if err := reg.Push(ctx, repo, p.d, bytes.NewReader(p.data)); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cd, Layers: []ocispec.Descriptor{ld}})
	md := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(m), Size: int64(len(m))}
	if err := reg.Push(ctx, repo, md, bytes.NewReader(m)); err != nil {
		t.Fatal(err)
	}
	if err := reg.Tag(ctx, repo, md, "1.0"); err != nil {
		t.Fatal(err)
	}
	return md
}

func TestAttachReferrer(t *testing.T) {
	const artifactType = "application/vnd.nfd.image-compatibility.v1alpha1"
	const layerType = "application/vnd.nfd.image-compatibility.spec.v1alpha1+yaml"
	for name, c := range map[string]struct {
		host      func(*testing.T) string
		tagSchema bool // no referrers API: the sha256-<hex> tag holds the index
	}{
		"olareg (referrers API)":    {host: func(t *testing.T) string { return startRegistry(t, false) }},
		"distribution (tag schema)": {host: startDistribution, tagSchema: true},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			reg := newRegistry(t, c.host(t), "ocm")
			img := pushTestImage(t, reg, "acme/app")
			spec := []byte("version: v1alpha1\ncompatibilities: []\n")
			d, attached, err := reg.AttachReferrer(ctx, "acme/app", img, artifactType, layerType, spec, nil)
			if err != nil || !attached {
				t.Fatalf("attach: %v %v", attached, err)
			}
			refs, err := reg.Referrers(ctx, "acme/app", img, artifactType)
			if err != nil || len(refs) != 1 || refs[0].Digest != d.Digest || refs[0].ArtifactType != artifactType {
				t.Fatalf("referrers %+v, %v; attached %s", refs, err, d.Digest)
			}
			if refs[0].Annotations[ocispec.AnnotationCreated] == "" {
				t.Errorf("referrer without %s annotation", ocispec.AnnotationCreated)
			}
			// Again: nothing new.
			if d2, attached, err := reg.AttachReferrer(ctx, "acme/app", img, artifactType, layerType, spec, nil); err != nil || attached || d2.Digest != d.Digest {
				t.Fatalf("second attach: %v %v %v", d2.Digest, attached, err)
			}
			// Another spec: a second referrer.
			if _, attached, err := reg.AttachReferrer(ctx, "acme/app", img, artifactType, layerType, []byte("version: v1alpha1\ncompatibilities: [{rules: []}]\n"), nil); err != nil || !attached {
				t.Fatalf("third attach: %v %v", attached, err)
			}
			if refs, _ = reg.Referrers(ctx, "acme/app", img, artifactType); len(refs) != 2 {
				t.Fatalf("%d referrers, want 2", len(refs))
			}
			if refs, _ = reg.Referrers(ctx, "acme/app", img, "application/other"); len(refs) != 0 {
				t.Fatalf("artifactType filter: %d referrers", len(refs))
			}
			tags, err := reg.Tags(ctx, "acme/app")
			if err != nil {
				t.Fatal(err)
			}
			fallback := strings.Replace(img.Digest.String(), ":", "-", 1)
			if got := slices.Contains(tags, fallback); got != c.tagSchema {
				t.Fatalf("tags %v: referrers tag %s present %v, want %v", tags, fallback, got, c.tagSchema)
			}
		})
	}
}

// What the registry says of the referrers API is learnt once per host: on
// distribution 2.8 (no API) only the first repository asks, every later one
// goes straight to the tag schema; on olareg every listing uses the API.
func TestReferrersCapabilityLearntPerHost(t *testing.T) {
	for name, c := range map[string]struct {
		host    func(*testing.T) string
		wantAPI int // requests to /referrers/ for three repositories
	}{
		"distribution (tag schema)": {host: startDistribution, wantAPI: 1},
		"olareg (referrers API)":    {host: func(t *testing.T) string { return startRegistry(t, false) }, wantAPI: 3},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			proxy := testutil.StartFaultProxy(t, c.host(t))
			reg := newRegistry(t, proxy.Host, "ocm")
			for _, repo := range []string{"a", "b", "c"} {
				img := pushTestImage(t, reg, repo)
				got, err := reg.Referrers(ctx, repo, img, "")
				if err != nil || len(got) != 0 {
					t.Fatalf("%s: referrers %v, %v", repo, got, err)
				}
			}
			if n := proxy.Count(http.MethodGet, "/referrers/"); n != c.wantAPI {
				t.Fatalf("%d requests to the referrers API, want %d", n, c.wantAPI)
			}
		})
	}
}
