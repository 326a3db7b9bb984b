package descriptor

import (
	"fmt"
	"strings"
	"testing"
)

const validCD = `
meta:
  schemaVersion: v2
component:
  name: example.com/test/app
  version: 1.0.0
  provider: acme.org
  repositoryContexts: null
  sources:
  - name: src
    version: 1.0.0
    type: git
    access: {type: gitHub, repoUrl: github.com/x/y, commit: abc}
  componentReferences:
  - name: lib
    componentName: example.com/test/lib
    version: v1.2
  resources:
  - name: image
    version: 1.0.0
    type: ociImage
    relation: external
    access: {type: ociArtifact, imageReference: "ghcr.io/x/y:1"}
  - name: blob
    version: 1.0.0
    type: blob
    relation: local
    extraIdentity: {arch: amd64}
    labels: [{name: a, value: {x: 1}, signing: "true"}]
    access: {type: localBlob, localReference: "sha256:0000000000000000000000000000000000000000000000000000000000000000", mediaType: text/plain, futureField: [1,2]}
    digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: genericBlobDigest/v1, value: "00"}
`

func TestValidateValid(t *testing.T) {
	d, err := Decode([]byte(validCD))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(d); err != nil {
		t.Fatalf("valid descriptor rejected: %v", err)
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(d *Descriptor)
		want   string
	}{
		{"component name without path", func(d *Descriptor) { d.Component.Name = "example.com" }, `component.name: "example.com" does not match`},
		{"component name upper case", func(d *Descriptor) { d.Component.Name = "Example.com/a" }, `component.name: "Example.com/a" does not match`},
		{"component name too long", func(d *Descriptor) { d.Component.Name = "example.com/" + strings.Repeat("a", 250) }, "component.name: " + `"example.com/` + strings.Repeat("a", 250) + `" is longer than 255 characters`},
		{"version", func(d *Descriptor) { d.Component.Version = "1.0.0.0" }, `component.version: "1.0.0.0" is not a (relaxed) semantic version`},
		{"empty provider", func(d *Descriptor) { d.Component.Provider = "" }, "component.provider: must not be empty"},
		{"provider object without name", func(d *Descriptor) { d.Component.Provider = `{"labels":[{"name":"x","value":1}]}` }, "component.provider.name: must not be empty"},
		{"resource name", func(d *Descriptor) { d.Component.Resources[1].Name = "Bad_Name" }, `component.resources[1].name: "Bad_Name" does not match`},
		{"resource name too short", func(d *Descriptor) { d.Component.Resources[0].Name = "a" }, `component.resources[0].name: "a" is shorter than 2 characters`},
		{"extraIdentity name key", func(d *Descriptor) { d.Component.Resources[1].ExtraIdentity["name"] = "x" }, `component.resources[1].extraIdentity: key "name" is reserved`},
		{"extraIdentity key", func(d *Descriptor) { d.Component.Resources[1].ExtraIdentity["Arch"] = "x" }, `component.resources[1].extraIdentity: key "Arch" does not match`},
		{"relation", func(d *Descriptor) { d.Component.Resources[0].Relation = "remote" }, `component.resources[0].relation: must be local or external, got "remote"`},
		{"resource version", func(d *Descriptor) { d.Component.Resources[0].Version = "" }, "component.resources[0].version: must not be empty"},
		{"missing access", func(d *Descriptor) { d.Component.Resources[0].Access = nil }, "component.resources[0].access: must be set"},
		{"local blob without reference", func(d *Descriptor) {
			a, _ := NewTyped(map[string]string{"type": "LocalBlob/v1"})
			d.Component.Resources[1].Access = &a
		}, "component.resources[1].access: LocalBlob/v1 access has no localReference"},
		{"incomplete digest", func(d *Descriptor) { d.Component.Resources[1].Digest.Value = "" }, "component.resources[1].digest.value: must not be empty"},
		{"digest on none access", func(d *Descriptor) {
			a, _ := NewTyped(map[string]string{"type": "none"})
			d.Component.Resources[1].Access = &a
		}, "component.resources[1].digest: a resource with access type none has no content and must not have a digest"},
		{"duplicate identity", func(d *Descriptor) {
			r := d.Component.Resources[1]
			d.Component.Resources = append(d.Component.Resources, r)
		}, "component.resources[2]: duplicate identity name=blob,arch=amd64,version=1.0.0 (same as component.resources[1])"},
		{"duplicate label", func(d *Descriptor) {
			d.Component.Resources[1].Labels = append(d.Component.Resources[1].Labels, d.Component.Resources[1].Labels[0])
		}, `component.resources[1].labels[1].name: duplicate label "a" (also component.resources[1].labels[0])`},
		{"label version", func(d *Descriptor) { d.Component.Resources[1].Labels[0].Version = "1" }, `component.resources[1].labels[0].version: "1" does not match`},
		{"label without value", func(d *Descriptor) { d.Component.Resources[1].Labels[0].Value = nil }, "component.resources[1].labels[0].value: must be set"},
		{"source type", func(d *Descriptor) { d.Component.Sources[0].Type = "" }, "component.sources[0].type: must not be empty"},
		{"reference component name", func(d *Descriptor) { d.Component.References[0].ComponentName = "lib" }, `component.componentReferences[0].componentName: "lib" does not match`},
		{"duplicate signature", func(d *Descriptor) {
			s := Signature{Name: "x", Digest: DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "jsonNormalisation/v4alpha1", Value: "00"}, Signature: SignatureSpec{Algorithm: "RSASSA-PSS", Value: "00", MediaType: "m"}}
			d.Signatures = []Signature{s, s}
		}, `signatures[1].name: duplicate signature name "x" (also signatures[0])`},
		{"schema version", func(d *Descriptor) { d.Meta.SchemaVersion = "v3" }, `meta.schemaVersion: must be "v2", got "v3"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decode([]byte(validCD))
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(d)
			err = Validate(d)
			if err == nil {
				t.Fatalf("want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestIdentities(t *testing.T) {
	d, err := Decode([]byte(`
meta: {schemaVersion: v2}
component:
  name: example.com/a
  version: 1.0.0
  provider: p
  resources:
  - {name: image, version: 1.0.0, type: ociImage, relation: local, access: {type: none}}
  - {name: image, version: 2.0.0, type: ociImage, relation: local, access: {type: none}}
  - {name: other, version: 1.0.0, type: blob, relation: local, extraIdentity: {os: linux}, access: {type: none}}
`))
	if err != nil {
		t.Fatal(err)
	}
	ids := d.Component.ResourceIdentities()
	want := []string{"name=image,version=1.0.0", "name=image,version=2.0.0", "name=other,os=linux"}
	for i, id := range ids {
		if id.String() != want[i] {
			t.Errorf("identity %d = %s, want %s", i, id, want[i])
		}
	}
	if err := Validate(d); err != nil {
		t.Fatalf("versions make the identities unique: %v", err)
	}
	if got := d.Component.SelectResources(Identity{"name": "image"}); len(got) != 2 {
		t.Fatalf("name=image selects %v", got)
	}
	if got := d.Component.SelectResources(Identity{"name": "image", "version": "2.0.0"}); len(got) != 1 || got[0] != 1 {
		t.Fatalf("name=image,version=2.0.0 selects %v", got)
	}
	if got := d.Component.SelectResources(Identity{"name": "other", "version": "1.0.0"}); len(got) != 1 {
		t.Fatalf("version may always be used to select: %v", got)
	}
}

func TestIdentitiesUnambiguousAndLinear(t *testing.T) {
	// Values containing separators must not make distinct identities clash.
	c := Component{Resources: []Resource{
		{ElementMeta: ElementMeta{Name: "a", Version: "1", ExtraIdentity: map[string]string{"x": "1,y=2"}}},
		{ElementMeta: ElementMeta{Name: "a", Version: "2", ExtraIdentity: map[string]string{"x": "1", "y": "2"}}},
	}}
	for _, id := range c.ResourceIdentities() {
		if _, ok := id["version"]; ok {
			t.Fatalf("distinct identities treated as a clash: %v", id)
		}
	}
	// Many elements stay cheap (the check was quadratic once).
	many := make([]Resource, 50000)
	for i := range many {
		many[i] = Resource{ElementMeta: ElementMeta{Name: "r" + strings.Repeat("x", i%7) + fmt.Sprint(i), Version: "1"}}
	}
	v := &validator{}
	v.unique("component.resources", (&Component{Resources: many}).ResourceIdentities())
	if len(v.errs) != 0 {
		t.Fatalf("unexpected duplicates: %v", v.errs[0])
	}
}
