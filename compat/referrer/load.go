package referrer

import (
	"context"
	"fmt"

	"github.com/ocmgo/ocm/compat"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository"
)

// LoadSpec reads an attachment's spec verified (ReadSpec) and parses it;
// errors name the attachment. CLI and controllers load specs only so.
func LoadSpec(ctx context.Context, repo repository.Repository, cd *descriptor.Descriptor, a *compat.Attachment) (compat.NamedSpec, error) {
	name := a.Describe(cd)
	data, err := ReadSpec(ctx, repo, cd, a)
	if err != nil {
		return compat.NamedSpec{}, fmt.Errorf("%s: %w", name, err)
	}
	s, err := compat.Parse(data)
	if err != nil {
		return compat.NamedSpec{}, fmt.Errorf("%s: invalid image compatibility spec: %w", name, err)
	}
	return compat.NamedSpec{Name: name, Spec: s}, nil
}
