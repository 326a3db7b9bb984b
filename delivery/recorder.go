package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository/ocimap"
	"github.com/ocmgo/ocm/signing"
)

// Recorder writes signed records of what the tool did.
type Recorder struct {
	// Signer signs the records; Signature is the name its key is
	// configured under, which verifiers look the public key up by.
	Signer    signing.Signer
	Signature string
	Tool      Tool
}

// Add records that component:version was built into the repository at
// location.
func (r Recorder) Add(ctx context.Context, store ocimap.WriteStore, location, component, ver string, d AddDetails) error {
	return r.record(ctx, store, component, ver, Predicate{Action: ActionAdd, Repository: location, Add: &d})
}

// Sign records that sig was made on component:version at location.
func (r Recorder) Sign(ctx context.Context, store ocimap.WriteStore, location, component, ver string, sig *descriptor.Signature, fingerprint string) error {
	return r.record(ctx, store, component, ver, Predicate{
		Action: ActionSign, Repository: location,
		Sign: &SignDetails{KeyRef: KeyRef{Signature: sig.Name, Algorithm: sig.Signature.Algorithm, KeyFingerprint: fingerprint}, Digest: sig.Digest.String()},
	})
}

// Verify records a verification of component:version at location.
func (r Recorder) Verify(ctx context.Context, store ocimap.WriteStore, location, component, ver string, d VerifyDetails) error {
	return r.record(ctx, store, component, ver, Predicate{Action: ActionVerify, Repository: location, Verify: &d})
}

// Transfer records the transfer of component:version from src (at
// d.Source) to dst (at d.Target); the resources whose access changed are
// found by comparing both descriptors.
func (r Recorder) Transfer(ctx context.Context, src ocimap.Store, dst ocimap.WriteStore, component, ver string, d TransferDetails) error {
	from, err := version(ctx, src, component, ver)
	if err != nil {
		return err
	}
	to, err := version(ctx, dst, component, ver)
	if err != nil {
		return err
	}
	d.Converted = conversions(from.Descriptor, to.Descriptor)
	_, err = r.recordVersion(ctx, dst, to, Predicate{Action: ActionTransfer, Transfer: &d})
	return err
}

func conversions(from, to *descriptor.Descriptor) []Conversion {
	var out []Conversion
	ids := from.Component.ResourceIdentities()
	toIDs := to.Component.ResourceIdentities()
	for i, r := range from.Component.Resources {
		for j, t := range to.Component.Resources {
			if !ids[i].Equal(toIDs[j]) {
				continue
			}
			if r.Access != nil && t.Access != nil && string(r.Access.Raw) != string(t.Access.Raw) {
				out = append(out, Conversion{Resource: ids[i].String(), From: r.Access, To: t.Access})
			}
		}
	}
	return out
}

// Deploy records that a resource of component:version, read from the
// repository at location, was applied to a cluster as d says. It returns
// the envelope, also when storing it failed (the error then wraps
// ErrWriteRefused if the registry refused the write), so that a deployer
// that may not write to the registry can keep the record elsewhere.
func (r Recorder) Deploy(ctx context.Context, store ocimap.WriteStore, location, component, ver string, d DeployDetails) ([]byte, error) {
	return r.recordEnvelope(ctx, store, component, ver, Predicate{Action: ActionDeploy, Repository: location, Deploy: &d})
}

func (r Recorder) record(ctx context.Context, store ocimap.WriteStore, component, ver string, p Predicate) error {
	_, err := r.recordEnvelope(ctx, store, component, ver, p)
	return err
}

func (r Recorder) recordEnvelope(ctx context.Context, store ocimap.WriteStore, component, ver string, p Predicate) ([]byte, error) {
	cv, err := version(ctx, store, component, ver)
	if err != nil {
		return nil, err
	}
	return r.recordVersion(ctx, store, cv, p)
}

// recordVersion seals and attaches the record of cv, read from store.
func (r Recorder) recordVersion(ctx context.Context, store ocimap.WriteStore, cv *ocimap.ComponentVersion, p Predicate) ([]byte, error) {
	component, ver := cv.Descriptor.Component.Name, cv.Descriptor.Component.Version
	p.Tool = r.Tool
	st, err := NewStatement(cv.Descriptor, p)
	if err != nil {
		return nil, err
	}
	env, err := Seal(st, r.Signer, r.Signature)
	if err != nil {
		return nil, fmt.Errorf("signing the %s record of %s:%s: %w", p.Action, component, ver, err)
	}
	if err := attach(ctx, store, cv.Repository, cv.Root, env, p.Action); err != nil {
		if refused(err) {
			err = fmt.Errorf("%w: %w", ErrWriteRefused, err)
		}
		return env, fmt.Errorf("storing the %s record of %s:%s: %w", p.Action, component, ver, err)
	}
	return env, nil
}

// ErrWriteRefused is wrapped when the repository refused to store a record
// (401, 403 or 405: no write access, or a read-only registry).
var ErrWriteRefused = errors.New("the repository refused to store the record")

func refused(err error) bool {
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusMethodNotAllowed:
			return true
		}
	}
	return false
}
