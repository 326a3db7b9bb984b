package main

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/internal/testutil"
)

// The reference packaged the interop chart with these file mtimes and stamped
// the manifest with this time (see constructor/helm_test.go).
const (
	acvInteropChartMtime   = 1795399399
	acvInteropChartCreated = 1795399401
	acvInteropChartDigest  = "sha256:1b7c23bd9006e1b83f710e972e61bdf4288924552833a47014623a4213356482"
	acvInteropChartConfig  = "sha256:53ab3281d3c21471d658c8ab1b0262865ad4d178ab54f2892edcedb8f9154df3"
	acvInteropChartLayer   = "sha256:91c5a5777d9429c6e2a9098ff428b649f7cc8f8ab31a60eaca037f085a752f8b"
	acvInteropLibVersion   = "0.3.1+build.7"
	acvInteropAppVersion   = "1.2.0"
)

// TestAddCVInteropConstructor builds the reference's interop constructor and
// compares the result with the archive the reference CLI wrote from it.
func TestAddCVInteropConstructor(t *testing.T) {
	src := filepath.Join(t.TempDir(), "v2-ctf-signed")
	interop := testutil.InteropDir(t)
	testutil.CopyDir(t, filepath.Join(interop, "data"), filepath.Join(src, "data"))
	testutil.CopyDir(t, filepath.Join(interop, "chart"), filepath.Join(src, "chart"))
	acvCopyFile(t, filepath.Join(interop, "component-constructor.yaml"), filepath.Join(src, "component-constructor.yaml"))
	mt := time.Unix(acvInteropChartMtime, 0)
	filepath.Walk(filepath.Join(src, "chart"), func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		return os.Chtimes(p, mt, mt)
	})
	t.Setenv("SOURCE_DATE_EPOCH", strconv.Itoa(acvInteropChartCreated))

	ours := filepath.Join(t.TempDir(), "ctf")
	// The constructor's image is on ghcr.io, unreachable from tests: its
	// digest comes from the pinned reference without asking the registry.
	if _, _, err := run(t, "add", "cv", "--skip-reference-digest-processing", "--repository", "ctf::"+ours, "--constructor", filepath.Join(src, "component-constructor.yaml")); err != nil {
		t.Fatalf("add cv: %v", err)
	}
	ref := testutil.InteropCTF(t, testutil.Dir)

	// Same components and versions.
	list := func(archive string) []string {
		var out []string
		for _, d := range acvGetCV(t, "ctf::"+archive) {
			out = append(out, d.Component.Name+":"+d.Component.Version)
		}
		return out
	}
	if got, want := list(ours), list(ref); !slices.Equal(got, want) {
		t.Fatalf("components %v, reference %v", got, want)
	}

	get := func(archive, comp string) *descriptor.Descriptor {
		l := acvGetCV(t, "ctf::"+archive+"//"+comp)
		if len(l) != 1 {
			t.Fatalf("get cv %s: %d descriptors", comp, len(l))
		}
		return &l[0]
	}
	ourLib, refLib := get(ours, lib+":"+acvInteropLibVersion), get(ref, lib+":"+acvInteropLibVersion)
	ourApp, refApp := get(ours, app+":"+acvInteropAppVersion), get(ref, app+":"+acvInteropAppVersion)

	// Resources whose content is reproducible must have the reference's digests.
	sameContent := map[string]bool{"notes": true, "payload": true, "greeting": true, "chart": true, "image": true}
	for _, pair := range [][2]*descriptor.Descriptor{{ourLib, refLib}, {ourApp, refApp}} {
		o, r := &pair[0].Component, &pair[1].Component
		t.Run(o.Name, func(t *testing.T) {
			if o.Provider != r.Provider {
				t.Errorf("provider %s, reference %s", o.Provider, r.Provider)
			}
			if !reflect.DeepEqual(o.Labels, r.Labels) {
				t.Errorf("labels %+v, reference %+v", o.Labels, r.Labels)
			}
			if got, want := acvIdentities(o.ResourceIdentities()), acvIdentities(r.ResourceIdentities()); !slices.Equal(got, want) {
				t.Fatalf("resource identities %v, reference %v", got, want)
			}
			for i := range r.Resources {
				rr := &r.Resources[i]
				or := acvFindResource(t, pair[0], rr.Name, rr.ExtraIdentity)
				what := "resource " + rr.Name
				if or.Type != rr.Type || or.Relation != rr.Relation || or.Version != rr.Version || !reflect.DeepEqual(or.ExtraIdentity, rr.ExtraIdentity) || !reflect.DeepEqual(or.Labels, rr.Labels) {
					t.Errorf("%s: type/relation/version/extraIdentity/labels %s %s %s %v %v, reference %s %s %s %v %v", what,
						or.Type, or.Relation, or.Version, or.ExtraIdentity, or.Labels, rr.Type, rr.Relation, rr.Version, rr.ExtraIdentity, rr.Labels)
				}
				if or.Access == nil || rr.Access == nil || or.Access.Type != rr.Access.Type {
					t.Errorf("%s: access %v, reference %v", what, or.Access, rr.Access)
					continue
				}
				if rr.Access.IsLocalBlob() {
					olb, rlb := acvLocalBlob(t, what, or.Access), acvLocalBlob(t, what, rr.Access)
					if olb.MediaType != rlb.MediaType {
						t.Errorf("%s: mediaType %s, reference %s", what, olb.MediaType, rlb.MediaType)
					}
					if sameContent[rr.Name] && olb.LocalReference != rlb.LocalReference {
						t.Errorf("%s: localReference %s, reference %s", what, olb.LocalReference, rlb.LocalReference)
					}
				} else if string(or.Access.Raw) != string(rr.Access.Raw) {
					t.Errorf("%s: access %s, reference %s", what, or.Access.Raw, rr.Access.Raw)
				}
				if sameContent[rr.Name] && !reflect.DeepEqual(or.Digest, rr.Digest) {
					t.Errorf("%s: digest %+v, reference %+v", what, or.Digest, rr.Digest)
				}
				if !sameContent[rr.Name] && (or.Digest == nil || or.Digest.NormalisationAlgorithm != rr.Digest.NormalisationAlgorithm || or.Digest.HashAlgorithm != rr.Digest.HashAlgorithm) {
					t.Errorf("%s: digest %+v, reference uses %+v", what, or.Digest, rr.Digest)
				}
			}
			if len(o.Sources) != 0 || len(r.Sources) != 0 {
				t.Errorf("sources %+v, reference %+v", o.Sources, r.Sources)
			}
			// Reference structure.
			if len(o.References) != len(r.References) {
				t.Fatalf("references %+v, reference %+v", o.References, r.References)
			}
			for i := range r.References {
				or, rr := o.References[i], r.References[i]
				if or.Name != rr.Name || or.ComponentName != rr.ComponentName || or.Version != rr.Version || !reflect.DeepEqual(or.ExtraIdentity, rr.ExtraIdentity) {
					t.Errorf("reference %+v, reference CLI's %+v", or.ElementMeta, rr.ElementMeta)
				}
			}
		})
	}

	// app's reference to lib carries the digest of OUR lib.
	libDigest, err := normalisation.Digest(ourLib, normalisation.JSONv4alpha1, normalisation.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	// Everything in our lib but creationTime (which we always write and the
	// reference writes only when the constructor has one) normalises to the
	// reference's lib digest.
	noTime := *ourLib
	noTime.Component.CreationTime = ""
	if d, err := normalisation.Digest(&noTime, normalisation.JSONv4alpha1, normalisation.SHA256); err != nil || d.Value != "a6f7a4eb5b4dc1fd061b5da0c1b5171f9d6cfa0898823667d8f534df6798f647" {
		t.Errorf("our lib without creationTime digests to %+v (%v), the reference's lib to a6f7a4eb…", d, err)
	}
	if len(ourApp.Component.References) == 1 {
		if got := ourApp.Component.References[0].Digest; !reflect.DeepEqual(got, libDigest) {
			t.Errorf("app's reference digest %+v, our lib's is %+v", got, libDigest)
		}
	}

	// The chart: the manifest, its config and its layer are the reference's, byte for byte.
	chart := acvDownload(t, "ctf::"+ours+"//"+app+":"+acvInteropAppVersion, "name=chart")
	l := acvParseLayout(t, chart, acvInteropChartDigest)
	if l.manifest.Config.Digest != acvInteropChartConfig || len(l.manifest.Layers) != 1 || l.manifest.Layers[0].Digest != acvInteropChartLayer {
		t.Errorf("chart manifest %s: config %s layers %+v", l.raw, l.manifest.Config.Digest, l.manifest.Layers)
	}
	for _, d := range []digest.Digest{acvInteropChartDigest, acvInteropChartConfig, acvInteropChartLayer} {
		want, err := os.ReadFile(filepath.Join(ref, "blobs", "sha256."+d.Encoded()))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(l.blob(t, d), want) {
			t.Errorf("chart blob %s differs from the reference's", d)
		}
	}

	// The config directory: other tar bytes, same files.
	refCfg := acvTarFiles(t, acvGunzip(t, acvDownload(t, "ctf::"+ref+"//"+app+":"+acvInteropAppVersion, "name=config")))
	ourCfg := acvTarFiles(t, acvGunzip(t, acvDownload(t, "ctf::"+ours+"//"+app+":"+acvInteropAppVersion, "name=config")))
	if !reflect.DeepEqual(ourCfg, refCfg) {
		t.Errorf("config tar files %v, reference %v", slices.Sorted(maps.Keys(ourCfg)), slices.Sorted(maps.Keys(refCfg)))
	}

	// The archive index: same repositories, tags and media types (lib a
	// manifest tagged 0.3.1.build-build.7, app an index).
	if got, want := acvIndexEntries(t, ours), acvIndexEntries(t, ref); !slices.Equal(got, want) {
		t.Errorf("artifact-index.json entries %v, reference %v", got, want)
	}
}

func acvIdentities(ids []descriptor.Identity) []string {
	var out []string
	for _, id := range ids {
		out = append(out, id.String())
	}
	sort.Strings(out)
	return out
}

// acvIndexEntries lists the tagged entries of artifact-index.json as "repository:tag mediaType".
func acvIndexEntries(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "artifact-index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Artifacts []struct {
			Repository, Tag, MediaType string
		} `json:"artifacts"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range idx.Artifacts {
		if a.Tag == "" {
			continue // untagged entries: index children, and (in the reference) the pre-signing versions
		}
		out = append(out, a.Repository+":"+a.Tag+" "+a.MediaType)
	}
	sort.Strings(out)
	return out
}
