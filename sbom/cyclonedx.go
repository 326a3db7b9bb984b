package sbom

import (
	"fmt"
	"io"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository"
)

// CycloneDXSpecVersion is the CycloneDX version written: 1.6 is what
// Dependency-Track and current scanners read.
const CycloneDXSpecVersion = cdx.SpecVersion1_6

// Property names of OCM facts that CycloneDX has no field for; the "ocm:"
// namespace keeps them apart from other producers' properties.
const (
	propDescriptorDigest = "ocm:descriptor:digest"
	propSignature        = "ocm:signature"
	propLabel            = "ocm:label:"
	propProviderLabel    = "ocm:provider:label:"
	propResourceType     = "ocm:resource:type"
	propRelation         = "ocm:resource:relation"
	propIdentity         = "ocm:resource:identity"
	propDigest           = "ocm:resource:digest"
	propAccess           = "ocm:resource:access"
	propReference        = "ocm:reference"
)

// CycloneDX renders the graphs under roots as one CycloneDX BOM: each
// component version a component of type application (a single root is the
// BOM's subject, metadata.component), its resources nested components
// with hashes and, for OCI images, a purl; component references are the
// dependency graph.
func CycloneDX(roots []*repository.Node, o Options) (*cdx.BOM, error) {
	versions, rootRefs, err := flatten(roots)
	if err != nil {
		return nil, err
	}
	serial, err := o.serial()
	if err != nil {
		return nil, err
	}
	name, ver := o.tool()
	bom := cdx.NewBOM()
	bom.SpecVersion = CycloneDXSpecVersion
	bom.SerialNumber = "urn:uuid:" + serial
	bom.Metadata = &cdx.Metadata{
		Timestamp: o.created().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: name, Version: ver,
		}}},
	}
	var comps []cdx.Component
	var deps []cdx.Dependency
	for _, v := range versions {
		c := cdxVersion(v)
		if len(rootRefs) == 1 && v.ref == rootRefs[0] {
			bom.Metadata.Component = &c
		} else {
			comps = append(comps, c)
		}
		dep := cdx.Dependency{Ref: v.ref}
		if len(v.deps) > 0 {
			d := append([]string(nil), v.deps...)
			dep.Dependencies = &d
		}
		deps = append(deps, dep)
	}
	if len(comps) > 0 {
		bom.Components = &comps
	}
	if len(deps) > 0 {
		bom.Dependencies = &deps
	}
	return bom, nil
}

// WriteCycloneDX writes the BOM of roots as indented JSON.
func WriteCycloneDX(w io.Writer, roots []*repository.Node, o Options) error {
	bom, err := CycloneDX(roots, o)
	if err != nil {
		return err
	}
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	if err := enc.EncodeVersion(bom, CycloneDXSpecVersion); err != nil {
		return fmt.Errorf("encoding CycloneDX: %w", err)
	}
	return nil
}

func cdxVersion(v *version) cdx.Component {
	comp := v.d.Component
	c := cdx.Component{
		BOMRef:  v.ref,
		Type:    cdx.ComponentTypeApplication,
		Name:    comp.Name,
		Version: comp.Version,
	}
	props := []cdx.Property{{Name: propDescriptorDigest, Value: v.digest.String()}}
	if p, err := comp.Provider.Object(); err == nil && p.Name != "" {
		c.Supplier = &cdx.OrganizationalEntity{Name: p.Name}
		props = append(props, labelProps(propProviderLabel, p.Labels)...)
	}
	for _, s := range v.d.Signatures {
		props = append(props, cdx.Property{Name: propSignature, Value: s.Name + " " + s.Signature.Algorithm + " " + s.Digest.String()})
	}
	props = append(props, labelProps(propLabel, comp.Labels)...)
	for _, r := range comp.References {
		props = append(props, cdx.Property{Name: propReference, Value: r.Name + " " + r.ComponentName + ":" + r.Version})
	}
	c.Properties = &props
	if len(v.resources) > 0 {
		subs := make([]cdx.Component, len(v.resources))
		for i, r := range v.resources {
			subs[i] = cdxResource(r)
		}
		c.Components = &subs
	}
	return c
}

func cdxResource(r resource) cdx.Component {
	c := cdx.Component{
		BOMRef:     r.ref,
		Type:       cdxType(r.r.Type),
		Name:       r.r.Name,
		Version:    r.r.Version,
		PackageURL: r.purl,
	}
	if r.hash != nil {
		alg := cdx.HashAlgoSHA256
		if r.hash.alg != "SHA-256" {
			alg = cdx.HashAlgoSHA512
		}
		c.Hashes = &[]cdx.Hash{{Algorithm: alg, Value: r.hash.value}}
	}
	props := []cdx.Property{
		{Name: propResourceType, Value: r.r.Type},
		{Name: propRelation, Value: r.r.Relation},
		{Name: propIdentity, Value: r.identity.String()},
	}
	if r.r.Digest != nil {
		props = append(props, cdx.Property{Name: propDigest, Value: r.r.Digest.String()})
	}
	if a := accessSummary(r.r); a != "" {
		props = append(props, cdx.Property{Name: propAccess, Value: a})
	}
	props = append(props, labelProps(propLabel, r.r.Labels)...)
	c.Properties = &props
	return c
}

// cdxType maps OCM resource types to CycloneDX component types; what is
// neither an image nor a deployable package is a file.
func cdxType(t string) cdx.ComponentType {
	switch t {
	case "ociImage", "ociArtifact":
		return cdx.ComponentTypeContainer
	case "helmChart", "executable":
		return cdx.ComponentTypeApplication
	default:
		return cdx.ComponentTypeFile
	}
}

func labelProps(prefix string, labels []descriptor.Label) []cdx.Property {
	var out []cdx.Property
	for _, l := range labels {
		out = append(out, cdx.Property{Name: prefix + l.Name, Value: labelValue(l)})
	}
	return out
}
