// Package resolve connects the controllers to the OCM library: it turns a
// Repository's spec into a library repository, builds the effective OCM
// configuration from ocmConfig references, looks up verification keys, and
// selects resources in component versions.
package resolve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/oci"
)

// ErrInvalidSpec marks a repository spec that cannot work whatever happens
// outside: retrying does not help, a spec change does.
var ErrInvalidSpec = errors.New("invalid repository spec")

// repositorySpec is the subset of OCM repository specifications the
// controllers read (OCIRegistry and CommonTransportFormat).
type repositorySpec struct {
	Type     string `json:"type"`
	BaseURL  string `json:"baseUrl"`
	SubPath  string `json:"subPath"`
	FilePath string `json:"filePath"`
}

// ParseRepositorySpec reads a raw OCM repository specification:
// {type: OCIRegistry, baseUrl, subPath?} (also spelled OCIRepository or
// ociRegistry, optionally with a /v1 suffix) or {type:
// CommonTransportFormat, filePath} (also CTF). Errors wrap ErrInvalidSpec.
func ParseRepositorySpec(raw []byte) (reference.Repository, error) {
	if len(raw) == 0 {
		return reference.Repository{}, fmt.Errorf("%w: empty", ErrInvalidSpec)
	}
	var s repositorySpec
	if err := json.Unmarshal(raw, &s); err != nil {
		return reference.Repository{}, fmt.Errorf("%w: %v", ErrInvalidSpec, err)
	}
	base, _, _ := strings.Cut(s.Type, "/")
	switch strings.ToLower(base) {
	case "ociregistry", "ocirepository", "oci":
		if s.BaseURL == "" {
			return reference.Repository{}, fmt.Errorf("%w: type %s needs baseUrl", ErrInvalidSpec, s.Type)
		}
		if _, err := oci.New(s.BaseURL, s.SubPath, oci.Options{}); err != nil {
			return reference.Repository{}, fmt.Errorf("%w: %v", ErrInvalidSpec, err)
		}
		return reference.Repository{Type: reference.TypeOCI, BaseURL: s.BaseURL, SubPath: strings.Trim(s.SubPath, "/")}, nil
	case "commontransportformat", "ctf":
		if s.FilePath == "" {
			return reference.Repository{}, fmt.Errorf("%w: type %s needs filePath", ErrInvalidSpec, s.Type)
		}
		return reference.Repository{Type: reference.TypeCTF, FilePath: s.FilePath}, nil
	case "":
		return reference.Repository{}, fmt.Errorf("%w: no type", ErrInvalidSpec)
	}
	return reference.Repository{}, fmt.Errorf("%w: unsupported type %q (OCIRegistry, CommonTransportFormat)", ErrInvalidSpec, s.Type)
}

// Open opens the repository read-only with the credentials of cfg (nil:
// anonymous, plus the controller's own docker config).
func Open(ctx context.Context, spec reference.Repository, cfg *config.Config) (repository.Repository, error) {
	repo, err := repository.OpenWithOptions(ctx, spec, repository.Options{Config: cfg})
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", spec, err)
	}
	return repo, nil
}

// CheckReachable checks that the repository can be used: an OCI registry
// answers its API endpoint with the configured credentials, a CTF archive
// exists and opens.
func CheckReachable(ctx context.Context, spec reference.Repository, cfg *config.Config) error {
	switch spec.Type {
	case reference.TypeOCI:
		reg, err := oci.New(spec.BaseURL, spec.SubPath, oci.Options{Credential: oci.Credentials(cfg, spec.SubPath)})
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidSpec, err)
		}
		return reg.Ping(ctx)
	case reference.TypeCTF:
		if _, err := os.Stat(spec.FilePath); err != nil {
			return fmt.Errorf("CTF archive: %w", err)
		}
		repo, err := repository.Open(ctx, spec)
		if err != nil {
			return fmt.Errorf("CTF archive %s: %w", spec.FilePath, err)
		}
		return repo.Close()
	}
	return fmt.Errorf("%w: unsupported type %q", ErrInvalidSpec, spec.Type)
}
