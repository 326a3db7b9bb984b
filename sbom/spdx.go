package sbom

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository"
)

// SPDXNamespacePrefix starts every document namespace; the document's UUID
// makes it unique, as SPDX asks.
const SPDXNamespacePrefix = "https://ocm.software/spdxdocs/"

const noAssertion = "NOASSERTION"

// SPDX renders the graphs under roots as one SPDX 2.3 document: a package
// per component version (DESCRIBES for each root) and per resource
// (CONTAINS), with checksums, purls for OCI images, the provider as
// supplier, labels as annotations and component references as DEPENDS_ON.
func SPDX(roots []*repository.Node, o Options) (*spdx.Document, error) {
	versions, rootRefs, err := flatten(roots)
	if err != nil {
		return nil, err
	}
	serial, err := o.serial()
	if err != nil {
		return nil, err
	}
	created := o.created().Format(time.RFC3339)
	toolName, toolVer := o.tool()
	tool := toolName + "-" + toolVer
	docName := "ocm"
	if len(rootRefs) == 1 {
		docName = strings.TrimPrefix(rootRefs[0], "ocm:")
	}
	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      docName,
		DocumentNamespace: SPDXNamespacePrefix + url.PathEscape(docName) + "-" + serial,
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{Creator: tool, CreatorType: "Tool"}},
			Created:  created,
		},
	}
	annotate := func(comment string) spdx.Annotation {
		return spdx.Annotation{
			Annotator:         common.Annotator{Annotator: tool, AnnotatorType: "Tool"},
			AnnotationDate:    created,
			AnnotationType:    "OTHER",
			AnnotationComment: comment,
		}
	}
	ids := map[string]common.ElementID{}
	for i, v := range versions {
		ids[v.ref] = spdxID("cv", strconv.Itoa(i), v.d.Component.Name, v.d.Component.Version)
	}
	rel := func(a common.ElementID, typ string, b common.ElementID) {
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA: common.MakeDocElementID("", string(a)), RefB: common.MakeDocElementID("", string(b)), Relationship: typ,
		})
	}
	for _, r := range rootRefs {
		rel("DOCUMENT", common.TypeRelationshipDescribe, ids[r])
	}
	for i, v := range versions {
		comp := v.d.Component
		p := &spdx.Package{
			PackageName:             comp.Name,
			PackageSPDXIdentifier:   ids[v.ref],
			PackageVersion:          comp.Version,
			PackageDownloadLocation: noAssertion,
			PackageLicenseConcluded: noAssertion,
			PackageLicenseDeclared:  noAssertion,
			PackageCopyrightText:    noAssertion,
			PrimaryPackagePurpose:   "APPLICATION",
			PackageComment:          "OCM component version; descriptor digest " + v.digest.String(),
		}
		if prov, err := comp.Provider.Object(); err == nil && prov.Name != "" {
			p.PackageSupplier = &common.Supplier{Supplier: prov.Name, SupplierType: "Organization"}
			for _, l := range prov.Labels {
				p.Annotations = append(p.Annotations, annotate("ocm provider label "+l.Name+": "+labelValue(l)))
			}
		}
		for _, s := range v.d.Signatures {
			p.Annotations = append(p.Annotations, annotate("ocm signature "+s.Name+" "+s.Signature.Algorithm+" "+s.Digest.String()))
		}
		p.Annotations = append(p.Annotations, spdxLabels(annotate, comp.Labels)...)
		for _, r := range comp.References {
			p.Annotations = append(p.Annotations, annotate("ocm reference "+r.Name+": "+r.ComponentName+":"+r.Version))
		}
		doc.Packages = append(doc.Packages, p)
		for j, r := range v.resources {
			rp := spdxResource(r, spdxID("res", strconv.Itoa(i), strconv.Itoa(j), r.r.Name, r.r.Version))
			rp.Annotations = spdxLabels(annotate, r.r.Labels)
			doc.Packages = append(doc.Packages, rp)
			rel(p.PackageSPDXIdentifier, common.TypeRelationshipContains, rp.PackageSPDXIdentifier)
		}
		for _, d := range v.deps {
			rel(p.PackageSPDXIdentifier, common.TypeRelationshipDependsOn, ids[d])
		}
	}
	return doc, nil
}

// WriteSPDX writes the SPDX document of roots as indented JSON.
func WriteSPDX(w io.Writer, roots []*repository.Node, o Options) error {
	doc, err := SPDX(roots, o)
	if err != nil {
		return err
	}
	if err := spdxjson.Write(doc, w, spdxjson.Indent("  ")); err != nil {
		return fmt.Errorf("encoding SPDX: %w", err)
	}
	return nil
}

func spdxResource(r resource, id common.ElementID) *spdx.Package {
	p := &spdx.Package{
		PackageName:             r.r.Name,
		PackageSPDXIdentifier:   id,
		PackageVersion:          r.r.Version,
		PackageDownloadLocation: noAssertion,
		PackageLicenseConcluded: noAssertion,
		PackageLicenseDeclared:  noAssertion,
		PackageCopyrightText:    noAssertion,
		PrimaryPackagePurpose:   spdxPurpose(r.r.Type),
	}
	comment := []string{"OCM resource " + r.identity.String(), "type " + r.r.Type, "relation " + r.r.Relation}
	if r.r.Digest != nil {
		comment = append(comment, "digest "+r.r.Digest.String())
	}
	if a := accessSummary(r.r); a != "" {
		comment = append(comment, "access "+a)
	}
	p.PackageComment = strings.Join(comment, "; ")
	if r.hash != nil {
		alg := common.SHA256
		if r.hash.alg != "SHA-256" {
			alg = common.SHA512
		}
		p.PackageChecksums = []common.Checksum{{Algorithm: alg, Value: r.hash.value}}
	}
	if r.purl != "" {
		p.PackageExternalReferences = []*spdx.PackageExternalReference{{
			Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: r.purl,
		}}
	}
	return p
}

func spdxPurpose(t string) string {
	switch t {
	case "ociImage", "ociArtifact":
		return "CONTAINER"
	case "helmChart", "executable":
		return "APPLICATION"
	default:
		return "FILE"
	}
}

func spdxLabels(annotate func(string) spdx.Annotation, labels []descriptor.Label) []spdx.Annotation {
	var out []spdx.Annotation
	for _, l := range labels {
		out = append(out, annotate("ocm label "+l.Name+": "+labelValue(l)))
	}
	return out
}

// spdxID builds an element id from parts: SPDX ids allow only letters,
// digits, '.' and '-'; the leading counters keep sanitised names unique.
func spdxID(parts ...string) common.ElementID {
	var b strings.Builder
	for i, p := range parts {
		if p == "" {
			continue
		}
		if i > 0 {
			b.WriteByte('-')
		}
		for _, c := range p {
			if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
				b.WriteRune(c)
			} else {
				b.WriteByte('-')
			}
		}
	}
	return common.ElementID(b.String())
}
