package access

import "github.com/ocmgo/ocm/descriptor"

type kind int

const (
	kindOther kind = iota
	kindOCIImage
	kindOCIImageLayer
	kindHelm
	kindWget
)

func kindOf(acc *descriptor.Typed) kind {
	if acc == nil {
		return kindOther
	}
	if acc.IsOCIArtifact() {
		return kindOCIImage
	}
	switch acc.Type {
	case "OCIImageLayer", "OCIImageLayer/v1", "ociBlob", "ociBlob/v1":
		return kindOCIImageLayer
	case "Helm", "Helm/v1", "helm", "helm/v1":
		return kindHelm
	case "Wget", "Wget/v1", "wget", "wget/v1":
		return kindWget
	}
	return kindOther
}
