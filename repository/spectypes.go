package repository

import "github.com/ocmgo/ocm/reference"

// SpecField is one field of a repository specification as ParseSpec reads
// it, with an example value (ocm describe types; a test parses the
// examples and checks that every required field is needed).
type SpecField struct {
	Name     string
	Required bool
	Example  string
}

// SpecFields returns the fields of the specification of a canonical
// repository type (reference.TypeCTF or reference.TypeOCI), nil for others.
func SpecFields(canonical string) []SpecField {
	switch canonical {
	case reference.TypeCTF:
		return []SpecField{{Name: "filePath", Required: true, Example: "./transport-archive"}}
	case reference.TypeOCI:
		return []SpecField{
			{Name: "baseUrl", Required: true, Example: "ghcr.io"},
			{Name: "subPath", Example: "acme/ocm"},
		}
	}
	return nil
}
