package constructor

import (
	"errors"
	"fmt"

	"github.com/ocmgo/ocm/descriptor"
)

// fieldError is a problem with one field of a typed spec; the field is
// relative to the spec (e.g. "imageReference", "path").
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

func fieldErrorf(field, format string, args ...any) error {
	return &fieldError{field: field, err: fmt.Errorf(format, args...)}
}

// CheckAccess minimally validates an access spec given in a constructor:
// the type must be a valid OCM type, and for the access types the reference
// defines (v1 or unversioned) the fields without which the access cannot
// work must be non-empty strings (imageReference for OCIImage/ociArtifact,
// ref and digest for OCIImageLayer, localReference for LocalBlob,
// helmRepository and helmChart for Helm, url for Wget; the table is
// descriptor.AccessTypes). Anything else is kept verbatim:
// resolving and pinning accesses is the caller's business.
func CheckAccess(acc *descriptor.Typed) error {
	if acc == nil {
		return errors.New("no access")
	}
	if acc.Type == "" {
		return fieldErrorf("type", "must not be empty")
	}
	if !ocmTypeRE.MatchString(acc.Type) {
		return fieldErrorf("type", "%q is not a valid type", acc.Type)
	}
	info, known := descriptor.AccessTypeOf(acc.Type)
	required := info.Required
	if !known || len(required) == 0 {
		return nil
	}
	fields, err := acc.Fields()
	if err != nil {
		return fmt.Errorf("access must be an object: %w", err)
	}
	for _, name := range required {
		v, present := fields[name]
		s, isString := v.(string)
		switch {
		case !present || v == nil:
			return fieldErrorf(name, "must be set for access type %s", acc.Type)
		case !isString:
			return fieldErrorf(name, "must be a string")
		case s == "":
			return fieldErrorf(name, "must not be empty")
		}
	}
	return nil
}
