package integrity

import (
	"context"
	"errors"
	"fmt"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ocimap"
	"github.com/ocmgo/ocm/signing"
)

// ErrSignatureExists is returned by Sign for a signature name the version
// has already, unless SignOptions.Force.
var ErrSignatureExists = errors.New("a signature of that name exists")

// signatureExists is ErrSignatureExists with a message naming the version.
type signatureExists string

func (e signatureExists) Error() string        { return string(e) }
func (e signatureExists) Is(target error) bool { return target == ErrSignatureExists }

// DigestSigner signs a normalised-descriptor digest: signing.Signer (RSA)
// or a keyless sigstore.Signer.
type DigestSigner interface {
	Sign(descriptor.DigestSpec) (descriptor.SignatureSpec, error)
}

// contextSigner is a DigestSigner that talks to services and so honours
// cancellation.
type contextSigner interface {
	SignContext(context.Context, descriptor.DigestSpec) (descriptor.SignatureSpec, error)
}

// SignOptions say how to sign.
type SignOptions struct {
	Name          string // signature name (default "default")
	Normalisation string // default jsonNormalisation/v4alpha1
	Hash          string // default SHA-256
	Force         bool   // replace a signature of the same name
	Signer        DigestSigner
	// External and Offline: as in Options. Without External, a resource
	// whose content lies outside the repository fails unless Offline is
	// set and its digest is recorded.
	External External
	Offline  bool
	// Concurrency bounds the versions loaded and blobs hashed at a time
	// (zero: DefaultConcurrency).
	Concurrency int
}

// Sign recomputes every digest of component:version from content
// (resources by streaming their blobs, references by digesting the
// referenced versions recursively), fails on any mismatch with a recorded
// digest, and returns the descriptor with the digests filled in and the new
// signature appended (or replacing one of the same name with Force).
func Sign(ctx context.Context, repo repository.Repository, component, version string, opts SignOptions) (*descriptor.Descriptor, *descriptor.Signature, error) {
	if opts.Name == "" {
		opts.Name = "default"
	}
	e := NewEngine(repo, Options{Normalisation: opts.Normalisation, Hash: opts.Hash, Content: true, External: opts.External, Offline: opts.Offline, Concurrency: opts.Concurrency})
	res, err := e.Version(ctx, component, version)
	if err != nil {
		return nil, nil, err
	}
	if res.Err != nil {
		return nil, nil, fmt.Errorf("not signing: %w", e.Err())
	}
	cd := res.Digested
	idx := -1
	for i, s := range cd.Signatures {
		if s.Name == opts.Name {
			idx = i
		}
	}
	if idx >= 0 && !opts.Force {
		return nil, nil, signatureExists(fmt.Sprintf("%s:%s already has a signature named %q", component, version, opts.Name))
	}
	if err := normalisation.IsSafelyDigestible(cd); err != nil {
		return nil, nil, err
	}
	d, err := normalisation.Digest(cd, e.opts.Normalisation, e.opts.Hash)
	if err != nil {
		return nil, nil, err
	}
	if opts.Signer == nil {
		return nil, nil, errors.New("no signer given")
	}
	var spec descriptor.SignatureSpec
	if cs, ok := opts.Signer.(contextSigner); ok {
		spec, err = cs.SignContext(ctx, *d)
	} else {
		spec, err = opts.Signer.Sign(*d)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("signing %s:%s: %w", component, version, err)
	}
	sig := descriptor.Signature{Name: opts.Name, Digest: *d, Signature: spec}
	out := *cd
	out.Signatures = append([]descriptor.Signature(nil), cd.Signatures...)
	if idx >= 0 {
		out.Signatures[idx] = sig
	} else {
		out.Signatures = append(out.Signatures, sig)
	}
	return &out, &sig, nil
}

// SignStored signs component:version of store (see Sign) and replaces its
// descriptor there with the signed one; where names the store in messages.
// Committing a transactional store (repository.Writable, ctf.Writer) is
// the caller's, so that nothing is published when signing fails.
func SignStored(ctx context.Context, store ocimap.WriteStore, where, component, version string, opts SignOptions) (*descriptor.Signature, error) {
	signed, sig, err := Sign(ctx, repository.FromStore(store, where, nil), component, version, opts)
	if err != nil {
		return nil, err
	}
	cv, err := ocimap.New(store, where).GetComponentVersion(ctx, component, version)
	if err != nil {
		return nil, err
	}
	if _, err := ocimap.NewWriter(store).ReplaceDescriptor(ctx, cv, signed); err != nil {
		return nil, err
	}
	return sig, nil
}

// SignatureResult is the outcome for one signature.
type SignatureResult struct {
	Name      string
	Algorithm string
	// Signer says who signed, where the signature tells (keyless
	// signatures: certificate identity and OIDC issuer).
	Signer string
	Err    error
}

// VerifyResult is the outcome of verifying a component version.
type VerifyResult struct {
	Component, Version string
	Signatures         []SignatureResult
	// Versions holds the digest checks of the version and everything it references.
	Versions map[string]*VersionResult
	Err      error
}

// KeyLookup returns the verification options for a signature.
type KeyLookup func(sig descriptor.Signature) (signing.VerifyOptions, error)

// SignatureVerifier verifies the value of a signature of an algorithm
// that KeyLookup does not serve (keyless Sigstore signatures) and says who
// signed. The descriptor digest has been checked against the signature's
// digest before it is called.
type SignatureVerifier func(sig descriptor.Signature) (signer string, err error)

// VerifyOptions say what to verify.
type VerifyOptions struct {
	// Signatures to verify; empty: all (there must be at least one).
	Signatures []string
	// Content re-hashes blobs; references are always verified recursively.
	Content bool
	Keys    KeyLookup
	// Verifiers verify signatures by algorithm instead of Keys.
	Verifiers map[string]SignatureVerifier
	// External reaches content outside the repository, so that Content
	// checks it too. Without it, such content fails the verification
	// unless Offline is set (then its recorded digest is taken as is).
	External External
	Offline  bool
	// Concurrency: as in SignOptions.
	Concurrency int
}

// Verify checks the signatures of component:version: the normalised digest
// recomputed with each signature's algorithms must equal the signed one, the
// signature must verify with the configured key or trust roots, and every
// recorded digest — resources (re-hashed from content unless disabled) and
// references, recursively to any depth — must match. It fails closed: any
// missing key, digest or content is an error; a resource with content but
// without a digest is one too (ErrNoDigest), and external content that
// cannot be reached is one unless the caller chose Offline.
//
// Any failed check makes the error non-nil. When the checks ran, the result
// is returned with it (its Err is that error) and details every signature
// and element; when they could not run (the version or a named signature is
// missing), the result is nil.
func Verify(ctx context.Context, repo repository.Repository, component, version string, opts VerifyOptions) (*VerifyResult, error) {
	cd, err := repo.GetComponentVersion(ctx, component, version)
	if err != nil {
		return nil, err
	}
	out := &VerifyResult{Component: component, Version: version}
	var sigs []descriptor.Signature
	if len(opts.Signatures) == 0 {
		sigs = cd.Signatures
	} else {
		for _, name := range opts.Signatures {
			found := false
			for _, s := range cd.Signatures {
				if s.Name == name {
					sigs, found = append(sigs, s), true
				}
			}
			if !found {
				return nil, fmt.Errorf("%s:%s has no signature named %q", component, version, name)
			}
		}
	}
	if len(sigs) == 0 {
		return nil, fmt.Errorf("%s:%s is not signed", component, version)
	}
	var errs []error
	for _, s := range sigs {
		r := SignatureResult{Name: s.Name, Algorithm: s.Signature.Algorithm}
		r.Signer, r.Err = verifySignature(cd, s, opts)
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("signature %q: %w", s.Name, r.Err))
		}
		out.Signatures = append(out.Signatures, r)
	}
	e := NewEngine(repo, Options{Content: opts.Content, External: opts.External, Offline: opts.Offline, RequireDigests: true, Concurrency: opts.Concurrency})
	res, err := e.Check(ctx, cd)
	if err != nil {
		return nil, err
	}
	out.Versions = e.Results()
	if res.Err != nil {
		errs = append(errs, e.Err())
	}
	if len(errs) > 0 {
		out.Err = fmt.Errorf("verifying %s:%s: %w", component, version, joinErrors(errs))
	}
	// Fail closed: a caller that only checks the error cannot mistake a
	// failed check for success; the result still tells which check failed.
	return out, out.Err
}

func verifySignature(cd *descriptor.Descriptor, s descriptor.Signature, opts VerifyOptions) (string, error) {
	// An algorithm we cannot verify is named before anything else, so that
	// it is not mistaken for a missing key or a digest problem.
	verifier, byAlgorithm := opts.Verifiers[s.Signature.Algorithm]
	if !byAlgorithm {
		if err := signing.CheckAlgorithm(s); err != nil {
			return "", err
		}
	}
	d, err := normalisation.Digest(cd, s.Digest.NormalisationAlgorithm, s.Digest.HashAlgorithm)
	if err != nil {
		return "", err
	}
	if d.Value != s.Digest.Value {
		return "", fmt.Errorf("descriptor digest mismatch: signed %s %s, the descriptor normalises (%s) to %s", s.Digest.HashAlgorithm, s.Digest.Value, s.Digest.NormalisationAlgorithm, d.Value)
	}
	if byAlgorithm {
		return verifier(s)
	}
	if opts.Keys == nil {
		return "", errors.New("no verification key configured")
	}
	vo, err := opts.Keys(s)
	if err != nil {
		return "", err
	}
	return "", signing.Verify(s.Digest, s.Signature, vo)
}
