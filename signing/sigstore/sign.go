package sigstore

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ocmgo/ocm/descriptor"
)

// Signer signs descriptor digests keylessly: an ephemeral key, a Fulcio
// certificate for Token, and the timestamps and transparency-log entries
// that Services asks for.
type Signer struct {
	// Services is the Sigstore signing config (Fulcio, TSAs, Rekor logs).
	Services *root.SigningConfig
	// Token is the OIDC identity token Fulcio certifies.
	Token string
	// TrustedRoot, when set, verifies each bundle right after it is made,
	// so that a misconfigured stack fails at signing, not at verification.
	TrustedRoot root.TrustedMaterial
	// Timeout of each request to a Sigstore service (0: 30s).
	Timeout time.Duration
}

// Sign signs d (see SignContext).
func (s *Signer) Sign(d descriptor.DigestSpec) (descriptor.SignatureSpec, error) {
	return s.SignContext(context.Background(), d)
}

// SignContext signs the raw digest bytes of d and returns the
// Sigstore/v1alpha1 signature: the base64 of the bundle v0.3 JSON.
func (s *Signer) SignContext(ctx context.Context, d descriptor.DigestSpec) (descriptor.SignatureSpec, error) {
	raw, err := digestBytes(d)
	if err != nil {
		return descriptor.SignatureSpec{}, err
	}
	if s.Token == "" {
		return descriptor.SignatureSpec{}, ErrNoToken
	}
	opts, err := s.bundleOptions(ctx)
	if err != nil {
		return descriptor.SignatureSpec{}, err
	}
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return descriptor.SignatureSpec{}, err
	}
	b, err := sign.Bundle(&sign.PlainData{Data: raw}, kp, opts)
	if err != nil {
		return descriptor.SignatureSpec{}, fmt.Errorf("sigstore signing: %w", err)
	}
	data, err := protojson.Marshal(b)
	if err != nil {
		return descriptor.SignatureSpec{}, err
	}
	return descriptor.SignatureSpec{
		Algorithm: Algorithm,
		MediaType: MediaType,
		Value:     base64.StdEncoding.EncodeToString(data),
	}, nil
}

func (s *Signer) bundleOptions(ctx context.Context) (sign.BundleOptions, error) {
	if s.Services == nil {
		return sign.BundleOptions{}, ErrNoSigningConfig
	}
	now := time.Now()
	opts := sign.BundleOptions{Context: ctx, TrustedRoot: s.TrustedRoot,
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: s.Token}}
	fulcio, err := root.SelectService(s.Services.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, now)
	if err != nil {
		return opts, fmt.Errorf("signing config: certificate authority: %w", err)
	}
	opts.CertificateProvider = sign.NewFulcio(&sign.FulcioOptions{BaseURL: fulcio.URL, Timeout: s.Timeout, Retries: 1})
	if len(s.Services.TimestampAuthorityURLs()) > 0 {
		tsas, err := root.SelectServices(s.Services.TimestampAuthorityURLs(), s.Services.TimestampAuthorityURLsConfig(), sign.TimestampAuthorityAPIVersions, now)
		if err != nil {
			return opts, fmt.Errorf("signing config: timestamp authorities: %w", err)
		}
		for _, t := range tsas {
			opts.TimestampAuthorities = append(opts.TimestampAuthorities, sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: t.URL, Timeout: s.Timeout, Retries: 1}))
		}
	}
	if len(s.Services.RekorLogURLs()) > 0 {
		logs, err := root.SelectServices(s.Services.RekorLogURLs(), s.Services.RekorLogURLsConfig(), sign.RekorAPIVersions, now)
		if err != nil {
			return opts, fmt.Errorf("signing config: transparency logs: %w", err)
		}
		for _, l := range logs {
			opts.TransparencyLogs = append(opts.TransparencyLogs, sign.NewRekor(&sign.RekorOptions{BaseURL: l.URL, Version: l.MajorAPIVersion, Timeout: s.Timeout, Retries: 1}))
		}
	}
	if len(opts.TimestampAuthorities) == 0 && len(opts.TransparencyLogs) == 0 {
		// Fulcio certificates live minutes: without a timestamp or a log
		// entry nobody could verify the signature after they expire.
		return opts, errors.New("signing config names neither a timestamp authority nor a transparency log: the signature could not be verified once the short-lived certificate expires")
	}
	return opts, nil
}

// digestBytes returns the raw digest the reference signs: the hex-decoded
// digest value (the hash algorithm is the descriptor digest's; the bundle
// signs these bytes as a blob).
func digestBytes(d descriptor.DigestSpec) ([]byte, error) {
	raw, err := hex.DecodeString(d.Value)
	if err != nil {
		return nil, fmt.Errorf("digest value %q is not hex: %w", d.Value, err)
	}
	if len(raw) == 0 {
		return nil, errors.New("digest value is empty")
	}
	return raw, nil
}
