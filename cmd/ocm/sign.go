package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/delivery"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ocimap"
	"github.com/ocmgo/ocm/signing"
	"github.com/ocmgo/ocm/signing/sigstore"
)

func newSignCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{Use: "sign", Short: "Sign component versions"}
	c.AddCommand(newSignComponentVersionCommand(g))
	return c
}

type signOptions struct {
	concurrency                                        int
	signature, hash, normalisation, output, signerSpec string
	force, dryRun                                      bool
	externalContent                                    bool
	rec                                                recordFlags
}

func newSignComponentVersionCommand(g *globalOptions) *cobra.Command {
	o := &signOptions{}
	cmd := &cobra.Command{
		Use:     "component-version {reference}",
		Aliases: componentVersionAliases,
		Short:   "Sign a component version",
		Long: `Sign a component version with an RSA key from the configuration.

Before signing, every resource digest is recomputed from its content and every
reference digest from the referenced component version (recursively); a
mismatch with a recorded digest fails the signing and names the element. The
signed descriptor is written back atomically.

The key comes from a credentials consumer with identity
{type: RSA/v1alpha1, algorithm: <RSASSA-PSS|RSASSA-PKCS1-V1_5>, signature: <name>}
(properties private_key_pem[_file]; public_key_pem[_file] with a certificate
chain for the PEM encoding). The algorithm and encoding come from
signing.config.ocm.software/v1alpha1 (RSASigningConfiguration/v1alpha1;
default RSASSA-PSS, Plain).

Keyless signing with Sigstore (algorithm Sigstore/v1alpha1, a Sigstore bundle
as value, compatible with the reference OCM CLI and cosign): a signer of type
SigstoreSigningConfiguration/v1alpha1 whose signingConfig names a Sigstore
signing config file (Fulcio, timestamp authorities, Rekor logs). The OIDC
identity token comes from $SIGSTORE_ID_TOKEN or from a credentials consumer
{type: SigstoreSigner/v1alpha1, signature: <name>[, issuer, clientID]} with an
OIDCIdentityToken/v1alpha1 credential (token or tokenFile).`,
		Example: `  ocm sign cv ./transport-archive//example.com/app:1.0.0 --config ./signing.ocmconfig
  ocm sign cv ./transport-archive//example.com/app:1.0.0 --signature release --hash SHA-512 --force
  SIGSTORE_ID_TOKEN=$(cat token.jwt) ocm sign cv ./transport-archive//example.com/app:1.0.0 --signer-spec sigstore-sign.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, g, args[0]) },
	}
	f := cmd.Flags()
	f.StringVar(&o.signature, "signature", "default", "name of the signature")
	f.StringVar(&o.hash, "hash", "SHA-256", "hash algorithm: SHA-256 or SHA-512")
	f.StringVar(&o.normalisation, "normalisation", "jsonNormalisation/v4alpha1", "normalisation algorithm")
	f.BoolVar(&o.force, "force", false, "replace an existing signature of the same name")
	f.BoolVar(&o.dryRun, "dry-run", false, "compute and print the signature without writing it")
	f.StringVarP(&o.output, "output", "o", "yaml", "output format of the signature: yaml or json")
	enumFlag(cmd, "output", "yaml", "json")
	f.StringVar(&o.signerSpec, "signer-spec", "", "RSASigningConfiguration/v1alpha1 (signatureAlgorithm, signatureEncodingPolicy) or SigstoreSigningConfiguration/v1alpha1 (signingConfig, issuer, clientID) file; overrides the configuration")
	f.BoolVar(&o.externalContent, "external-content", true, "re-hash content outside the repository (images in registries, Helm repositories, web servers); false signs their recorded digests as they are")
	f.IntVar(&o.concurrency, "concurrency-limit", integrity.DefaultConcurrency, "component versions loaded, and blobs hashed, in parallel")
	o.rec.add(cmd, false)
	return cmd
}

func (o *signOptions) run(cmd *cobra.Command, g *globalOptions, arg string) error {
	if err := checkConcurrency(o.concurrency); err != nil {
		return err
	}
	ref, err := reference.Parse(arg)
	if err != nil {
		return err
	}
	if ref.Version == "" {
		return fmt.Errorf("%s: name the version to sign", arg)
	}
	signer, err := o.signer(g.config)
	if err != nil {
		return err
	}
	if o.rec.record && o.dryRun {
		return fmt.Errorf("--record records what was done: not with --dry-run")
	}
	var rec delivery.Recorder
	if o.rec.record {
		// Delivery records are signed with an RSA key: the signer's own,
		// or for a keyless signature the RSA key configured for the
		// signature name. It is checked before the work.
		var rsaSigner *signing.Signer
		if s, ok := signer.(signing.Signer); ok {
			rsaSigner = &s
		}
		if rec, err = g.recorder(o.signature, rsaSigner); err != nil {
			return err
		}
	}
	ctx := cmd.Context()
	if o.dryRun {
		// Nothing is written: read without taking the archive's write lock.
		repo, err := repository.OpenWithOptions(ctx, ref.Repository, g.repositoryOptions())
		if err != nil {
			return err
		}
		defer repo.Close()
		_, sig, err := integrity.Sign(ctx, repo, ref.Component, ref.Version, o.signOptions(g, signer))
		if err != nil {
			return signHint(err)
		}
		return printSignature(cmd, o.output, sig)
	}
	w, err := g.openWritable(cmd, ref.Repository, false)
	if err != nil {
		return err
	}
	defer w.Abort()
	// Signing rewrites the version's manifest: its delivery records move
	// to the new one.
	before, _ := ocimap.New(w.WriteStore, w.String()).GetComponentVersion(ctx, ref.Component, ref.Version)
	sig, err := integrity.SignStored(ctx, w, w.String(), ref.Component, ref.Version, o.signOptions(g, signer))
	if err != nil {
		return signHint(err)
	}
	if before != nil {
		if err := delivery.Move(ctx, w.WriteStore, before.Repository, before.Root, ref.Component, ref.Version); err != nil {
			return fmt.Errorf("moving delivery records to the signed version: %w", err)
		}
	}
	if o.rec.record {
		fp, err := delivery.Fingerprint(&rec.Signer.Key.PublicKey)
		if err != nil {
			return err
		}
		if err := rec.Sign(ctx, w.WriteStore, delivery.Location(ref.Repository), ref.Component, ref.Version, sig, fp); err != nil {
			return err
		}
	}
	if err := w.Commit(); err != nil {
		return err
	}
	return printSignature(cmd, o.output, sig)
}

// signHint adds what the user can do: replace an existing signature, or
// give a resource that was added unresolved a digest.
func signHint(err error) error {
	var missing *access.MissingDigestError
	switch {
	case errors.Is(err, integrity.ErrSignatureExists):
		return fmt.Errorf("%w (use --force to replace it)", err)
	case errors.As(err, &missing):
		return fmt.Errorf("%w\nhint: add the component version again where the content is reachable, without --skip-reference-digest-processing (the access is then pinned and the digest recorded), or give the resource a digest in the constructor", err)
	}
	return err
}

func (o *signOptions) signOptions(g *globalOptions, signer integrity.DigestSigner) integrity.SignOptions {
	return integrity.SignOptions{Name: o.signature, Normalisation: o.normalisation, Hash: o.hash, Force: o.force, Signer: signer,
		External: g.externalContent(o.externalContent), Offline: !o.externalContent, Concurrency: o.concurrency}
}

func printSignature(cmd *cobra.Command, format string, sig *descriptor.Signature) error {
	data, err := json.MarshalIndent(sig, "", "  ")
	if err != nil {
		return err
	}
	if format == "yaml" {
		if data, err = yaml.JSONToYAML(data); err != nil {
			return err
		}
	} else {
		data = append(data, '\n')
	}
	_, err = cmd.OutOrStdout().Write(data)
	return err
}

// signer resolves the signer of the signature name: a keyless Sigstore
// signer when --signer-spec or the configuration's signer entry is a
// SigstoreSigningConfiguration, else algorithm, encoding and RSA key.
func (o *signOptions) signer(cfg *config.Config) (integrity.DigestSigner, error) {
	if o.signerSpec != "" {
		data, err := os.ReadFile(o.signerSpec)
		if err != nil {
			return nil, fmt.Errorf("--signer-spec: %w", err)
		}
		if t, _ := sigstore.ConfigType(data); t == sigstore.SignConfigType {
			sc, err := sigstore.ParseSignConfig(data)
			if err != nil {
				return nil, fmt.Errorf("--signer-spec %s: %w", o.signerSpec, err)
			}
			return sigstoreSigner(cfg, o.signature, sc)
		}
	} else {
		sc, err := sigstore.SignConfigFromConfig(cfg, o.signature)
		if err != nil {
			return nil, err
		}
		if sc != nil {
			return sigstoreSigner(cfg, o.signature, *sc)
		}
	}
	sc, err := cfg.Signer(o.signature, false)
	if err != nil {
		return nil, err
	}
	if o.signerSpec != "" {
		if sc, err = readSignerSpec(o.signerSpec, sc); err != nil {
			return nil, err
		}
	}
	return signing.SignerFromConfig(cfg, o.signature, sc)
}

func sigstoreSigner(cfg *config.Config, signature string, sc sigstore.SignConfig) (integrity.DigestSigner, error) {
	s, err := sigstore.SignerFromConfig(cfg, signature, sc)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func readSignerSpec(path string, base config.SignerConfig) (config.SignerConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return base, fmt.Errorf("--signer-spec: %w", err)
	}
	var spec struct {
		Type string `json:"type"`
		config.SignerConfig
	}
	if err := yaml.Unmarshal(data, &spec); err != nil {
		return base, fmt.Errorf("--signer-spec %s: %w", path, err)
	}
	if t, _, _ := strings.Cut(spec.Type, "/"); t != "RSASigningConfiguration" {
		return base, fmt.Errorf("--signer-spec %s: type %q is not supported (RSASigningConfiguration/v1alpha1, %s/v1alpha1)", path, spec.Type, sigstore.SignConfigType)
	}
	if spec.SignatureAlgorithm != "" {
		base.SignatureAlgorithm = spec.SignatureAlgorithm
	}
	if spec.SignatureEncodingPolicy != "" {
		base.SignatureEncodingPolicy = spec.SignatureEncodingPolicy
	}
	return base, nil
}

func newVerifyCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{Use: "verify", Short: "Verify component versions and what was extracted from them"}
	c.AddCommand(newVerifyComponentVersionCommand(g), newVerifyTreeCommand(g))
	return c
}

type verifyOptions struct {
	concurrency     int
	rec             recordFlags
	signatures      []string
	verifierSpec    string
	publicKey       string
	noContent       bool
	externalContent bool
	systemRoots     bool
}

func newVerifyComponentVersionCommand(g *globalOptions) *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use:     "component-version {reference}",
		Aliases: componentVersionAliases,
		Short:   "Verify the signatures and content of a component version",
		Long: `Verify a component version: each signature (or those named with --signature)
against the configured public key or trust roots, the normalised descriptor
digest recomputed with each signature's algorithms, every local blob re-hashed
from content, and every component reference verified recursively (any depth,
cycles detected). Failures name the component version and element.

Keys come from credentials consumers {type: RSA/v1alpha1, algorithm, signature}
with public_key_pem[_file] (a public key, or CA certificates for PEM-encoded
signatures), or from --public-key.

Keyless Sigstore signatures (Sigstore/v1alpha1) are verified offline against a
trusted root from a credentials consumer {type: SigstoreVerifier/v1alpha1,
signature: <name>} with a TrustedRoot/v1alpha1 credential (trustedRootJSON or
trustedRootJSONFile), under the certificate identity and OIDC issuer
constraints of a SigstoreVerificationConfiguration/v1alpha1 (--verifier-spec,
or the verifier entry of signing.config.ocm.software). Without a trusted root
they fail. The output names the signer identity and issuer.`,
		Example: `  ocm verify cv ./transport-archive//example.com/app:1.0.0 --public-key key.pub
  ocm verify cv ./transport-archive//example.com/app:1.0.0 --signature release --config verify.ocmconfig
  ocm verify cv ./transport-archive//example.com/app:1.0.0 --verifier-spec sigstore-verify.yaml --config trusted-root.ocmconfig`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, g, args[0]) },
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.signatures, "signature", nil, "signatures to verify (default: all)")
	f.StringVar(&o.verifierSpec, "verifier-spec", "", "SigstoreVerificationConfiguration/v1alpha1 file (certificate identity and OIDC issuer constraints for keyless signatures), or RSASigningConfiguration/v1alpha1, accepted for compatibility (the algorithm is read from each signature)")
	f.StringVar(&o.publicKey, "public-key", "", "PEM file with the public key (or CA certificates) to verify every signature with")
	f.BoolVar(&o.noContent, "no-content", false, "trust recorded resource digests instead of re-hashing blobs (faster, weaker)")
	f.BoolVar(&o.externalContent, "external-content", true, "re-hash content outside the repository (images in registries, Helm repositories, web servers); false (offline, for archives that travelled without it) reports it as not checked and trusts its recorded digest")
	f.IntVar(&o.concurrency, "concurrency-limit", integrity.DefaultConcurrency, "component versions loaded, and blobs hashed, in parallel")
	f.BoolVar(&o.systemRoots, "use-system-roots", false, "also trust the system's CA certificates for PEM (certificate chain) signatures")
	o.rec.add(cmd, true)
	return cmd
}

func (o *verifyOptions) run(cmd *cobra.Command, g *globalOptions, arg string) error {
	if err := checkConcurrency(o.concurrency); err != nil {
		return err
	}
	ref, err := reference.Parse(arg)
	if err != nil {
		return err
	}
	if ref.Version == "" {
		return fmt.Errorf("%s: name the version to verify", arg)
	}
	keyless, err := keylessVerifiers(g.config, o.verifierSpec)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	repo, err := repository.OpenWithOptions(ctx, ref.Repository, g.repositoryOptions())
	if err != nil {
		return err
	}
	defer repo.Close()
	keys, err := verificationKeys(g.config, o.publicKey, o.systemRoots)
	if err != nil {
		return err
	}
	opts := integrity.VerifyOptions{
		Signatures: o.signatures, Content: !o.noContent, Keys: keys,
		Verifiers: keyless,
		External:  g.externalContent(o.externalContent), Offline: !o.externalContent,
		Concurrency: o.concurrency,
	}
	var rec delivery.Recorder
	if o.rec.record {
		// The key is checked before the work, not found missing after it.
		if rec, err = g.recorder(o.rec.signature, nil); err != nil {
			return err
		}
	}
	res, err := integrity.Verify(ctx, repo, ref.Component, ref.Version, opts)
	if res == nil {
		return err
	}
	printVerification(cmd, res)
	if o.rec.record {
		if rerr := o.record(cmd, g, rec, ref, res, err); rerr != nil {
			return rerr
		}
	}
	if err != nil {
		return externalHint(keyHint(err))
	}
	return nil
}

// record stores the verification's verdict as a delivery record.
func (o *verifyOptions) record(cmd *cobra.Command, g *globalOptions, rec delivery.Recorder, ref *reference.Ref, res *integrity.VerifyResult, verr error) error {
	d := delivery.VerifyDetails{Content: !o.noContent, Verdict: "verified"}
	for _, s := range res.Signatures {
		d.Signatures = append(d.Signatures, s.Name)
	}
	if verr != nil {
		d.Verdict = "failed: " + verr.Error()
	}
	w, err := g.openWritable(cmd, ref.Repository, false)
	if err != nil {
		return err
	}
	defer w.Abort()
	if err := rec.Verify(cmd.Context(), w.WriteStore, delivery.Location(ref.Repository), ref.Component, ref.Version, d); err != nil {
		return err
	}
	return w.Commit()
}

// keylessVerifiers verify Sigstore signatures with the
// SigstoreVerificationConfiguration of the verifier spec file (--verifier-spec;
// "" for none), else of the configuration's verifier entry for each
// signature's name.
func keylessVerifiers(cfg *config.Config, verifierSpec string) (map[string]integrity.SignatureVerifier, error) {
	var spec *sigstore.VerifyConfig
	if verifierSpec != "" {
		data, err := os.ReadFile(verifierSpec)
		if err != nil {
			return nil, fmt.Errorf("--verifier-spec: %w", err)
		}
		if t, _ := sigstore.ConfigType(data); t == sigstore.VerifyConfigType {
			vc, err := sigstore.ParseVerifyConfig(data)
			if err != nil {
				return nil, fmt.Errorf("--verifier-spec %s: %w", verifierSpec, err)
			}
			spec = &vc
		} else if _, err := readSignerSpec(verifierSpec, config.SignerConfig{}); err != nil {
			return nil, fmt.Errorf("%w (or %s/v1alpha1)", err, sigstore.VerifyConfigType)
		}
	}
	verify := func(sig descriptor.Signature) (string, error) {
		vc := spec
		if vc == nil {
			var err error
			if vc, err = sigstore.VerifyConfigFromConfig(cfg, sig.Name); err != nil {
				return "", err
			}
		}
		signer, err := sigstore.SignatureVerifier(cfg, vc)(sig)
		if errors.Is(err, sigstore.ErrNoVerifyConfig) {
			err = fmt.Errorf("%w: give one with --verifier-spec or a signing.config.ocm.software verifier entry", err)
		}
		return signer, err
	}
	return map[string]integrity.SignatureVerifier{sigstore.Algorithm: verify, sigstore.AlgorithmLegacy: verify}, nil
}

// externalHint adds the CLI's way out to errors of external content that
// could not be reached.
func externalHint(err error) error {
	if err != nil && errors.Is(err, integrity.ErrNoContentAccess) {
		return fmt.Errorf("%w (with --external-content=false recorded digests of external content are taken as they are)", err)
	}
	return err
}

// verificationKeys resolves a signature's verification material: the
// --public-key file for every signature, or the credentials consumer for its
// name and algorithm.
func verificationKeys(cfg *config.Config, publicKey string, systemRoots bool) (integrity.KeyLookup, error) {
	trust := signing.Trust{Config: cfg, SystemRoots: systemRoots}
	if publicKey != "" {
		data, err := os.ReadFile(publicKey)
		if err != nil {
			return nil, fmt.Errorf("--public-key: %w", err)
		}
		trust.PEM, trust.PEMSource = data, publicKey
	}
	return trust.Keys(), nil
}

// keyHint adds how to give a missing key on the command line.
func keyHint(err error) error {
	if errors.Is(err, signing.ErrNoPublicKey) {
		return fmt.Errorf("%w (or give one with --public-key)", err)
	}
	return err
}

func printVerification(cmd *cobra.Command, res *integrity.VerifyResult) {
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT VERSION\tCHECK\tRESULT")
	cv := res.Component + ":" + res.Version
	for _, s := range res.Signatures {
		status := "verified"
		if s.Signer != "" {
			status += " (" + s.Signer + ")"
		}
		if s.Err != nil {
			status = "FAILED: " + s.Err.Error()
		}
		fmt.Fprintf(tw, "%s\tsignature %s (%s)\t%s\n", cv, s.Name, s.Algorithm, status)
	}
	// The verified version first, then what it references, sorted.
	keys := slices.Sorted(maps.Keys(res.Versions))
	slices.SortStableFunc(keys, func(a, b string) int {
		switch {
		case a == cv:
			return -1
		case b == cv:
			return 1
		}
		return 0
	})
	for _, key := range keys {
		for _, el := range res.Versions[key].Elements {
			status := el.Status
			if el.Err != nil {
				status = "FAILED: " + el.Err.Error()
			}
			fmt.Fprintf(tw, "%s\t%s %s\t%s\n", key, el.Kind, el.Identity, status)
		}
	}
	tw.Flush()
}

func newCreateCommand() *cobra.Command {
	c := &cobra.Command{Use: "create", Short: "Create keys"}
	var bits int
	rsakp := &cobra.Command{
		Use:     "rsakeypair [private-key-file [public-key-file]]",
		Aliases: []string{"rsa"},
		Short:   "Create an RSA key pair for signing (PKCS#1 private key, PKIX public key)",
		Args:    cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			priv, pubFile := "rsa.priv", ""
			if len(args) > 0 {
				priv = args[0]
			}
			if len(args) > 1 {
				pubFile = args[1]
			} else {
				pubFile = strings.TrimSuffix(priv, ".priv") + ".pub"
			}
			privPEM, pubPEM, err := signing.GenerateKeyPair(bits)
			if err != nil {
				return err
			}
			for _, p := range []string{priv, pubFile} {
				if _, err := os.Stat(p); err == nil {
					return fmt.Errorf("%s exists; not overwriting a key", p)
				}
			}
			if err := os.WriteFile(priv, privPEM, 0o600); err != nil {
				return err
			}
			if err := os.WriteFile(pubFile, pubPEM, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created RSA key pair: %s (private, mode 0600), %s (public)\n", priv, pubFile)
			return nil
		},
	}
	rsakp.Flags().IntVar(&bits, "bits", 2048, "key size")
	c.AddCommand(rsakp)
	return c
}
