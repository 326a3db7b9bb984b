package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/download"
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
)

func newDownloadCommand(g *globalOptions) *cobra.Command {
	dl := &cobra.Command{Use: "download", Short: "Download OCM entities to the local file system"}
	dl.AddCommand(newDownloadResourceCommand(g))
	return dl
}

type downloadOptions struct {
	identity    string
	output      string
	extraction  string
	verify      bool
	signatures  []string
	publicKey   string
	transformer string
}

func newDownloadResourceCommand(g *globalOptions) *cobra.Command {
	o := &downloadOptions{}
	cmd := &cobra.Command{
		Use:     "resource {reference}",
		Aliases: []string{"resources"},
		Short:   "Download a resource of a component version",
		Long: `Download a resource of a component version to the local file system.

The content is streamed, its digest recomputed while it is written to a
temporary file beside the output, and the file is moved to the output path
only when it matches the component descriptor. A mismatch leaves nothing at
the output path and exits non-zero.

With --extraction-policy auto (the default), tar archives (also gzipped) are
unpacked into a directory, other gzip blobs are decompressed, and native OCI
artifacts (e.g. Helm charts) become an OCI image layout directory. With
disable, the blob is written as stored and an OCI artifact becomes an OCI
image layout tar.

Content outside the repository (images in registries, Helm charts in chart
repositories, files on web servers) is fetched from there and verified the
same way against the resource digest.`,
		Example: `  ocm download resource ./transport-archive//example.com/app:1.0.0 --identity name=chart --output chart.tar --extraction-policy disable
  ocm download resource ctf::archive.tgz//example.com/app:1.0.0 --identity name=payload,arch=amd64 --output payload.bin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, g, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.identity, "identity", "", "identity of the resource: name=<name>[,<key>=<value>...] (version may be used too)")
	f.StringVar(&o.output, "output", "", "output path (file, or directory when extracted); default: the ocm.software/download-name label or the resource name")
	f.StringVar(&o.extraction, "extraction-policy", string(download.ExtractAuto), "auto: unpack recognised archives; disable: write the blob as stored")
	f.BoolVar(&o.verify, "verify", false, "verify the component version's signatures (and its reference graph) before downloading")
	f.StringSliceVar(&o.signatures, "signature", nil, "with --verify: signatures to verify (default: all)")
	f.StringVar(&o.publicKey, "public-key", "", "with --verify: PEM file with the public key or CA certificates (default: from the configuration)")
	f.StringVar(&o.transformer, "transformer", "", "transform the content: helm writes a Helm chart as <name>-<version>.tgz (and .prov) into the output directory (a tar with --extraction-policy disable)")
	enumFlag(cmd, "extraction-policy", string(download.ExtractAuto), string(download.ExtractDisable))
	enumFlag(cmd, "transformer", download.Transformers...)
	return cmd
}

// parseIdentity reads name=x,k=v.
func parseIdentity(s string) (descriptor.Identity, error) {
	id := descriptor.Identity{}
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("--identity is required, e.g. --identity name=chart")
	}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("--identity %q: %q is not key=value", s, pair)
		}
		if _, dup := id[k]; dup {
			return nil, fmt.Errorf("--identity %q: key %q given twice", s, k)
		}
		id[k] = strings.TrimSpace(v)
	}
	if _, ok := id["name"]; !ok {
		return nil, fmt.Errorf("--identity %q: name is required", s)
	}
	return id, nil
}

func (o *downloadOptions) run(cmd *cobra.Command, g *globalOptions, arg string) error {
	sel, err := parseIdentity(o.identity)
	if err != nil {
		return err
	}
	ref, err := reference.Parse(arg)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	repo, err := repository.OpenWithOptions(ctx, ref.Repository, g.repositoryOptions())
	if err != nil {
		return err
	}
	defer repo.Close()
	version := ref.Version
	if version == "" {
		versions, err := repo.ListVersions(ctx, ref.Component)
		if err != nil {
			return err
		}
		if len(versions) != 1 {
			return fmt.Errorf("%s has %d versions in %s (%s): name one in the reference", ref.Component, len(versions), repo, strings.Join(versions, ", "))
		}
		version = versions[0]
	}
	cv, err := repo.GetComponentVersion(ctx, ref.Component, version)
	if err != nil {
		return err
	}
	if o.verify {
		// The signature covers the resource digest, which the download checks
		// while streaming; blobs of other resources need not be re-hashed.
		keys, err := verificationKeys(g.config, o.publicKey, false)
		if err != nil {
			return err
		}
		keyless, err := keylessVerifiers(g.config, "")
		if err != nil {
			return err
		}
		if _, err := integrity.Verify(ctx, repo, ref.Component, version, integrity.VerifyOptions{Signatures: o.signatures, Keys: keys, Verifiers: keyless}); err != nil {
			return keyHint(fmt.Errorf("not downloading: %w", err))
		}
	} else if len(o.signatures) > 0 || o.publicKey != "" {
		return fmt.Errorf("--signature and --public-key need --verify")
	}
	idx, err := selectResource(cv, sel)
	if err != nil {
		return err
	}
	output := o.output
	if output == "" {
		if output, err = download.OutputPath(&cv.Component.Resources[idx]); err != nil {
			return fmt.Errorf("resource %s: %w", sel, err)
		}
	}
	res, err := download.Resource(ctx, repo, cv, idx, output, download.Options{
		Extraction: download.ExtractionPolicy(o.extraction), External: g.externalFetcher(), Transformer: o.transformer,
	})
	if err != nil {
		return err
	}
	g.logger.Debug("resource downloaded", "output", res.Path, "digest", res.Digest.String())
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "downloaded resource %s of %s:%s to %s (%s, %s; verified %s)\n",
		cv.Component.ResourceIdentities()[idx], cv.Component.Name, cv.Component.Version, res.Path, res.Format, res.Digest, strings.Join(res.Verified, ", "))
	return err
}

func selectResource(cv *descriptor.Descriptor, sel descriptor.Identity) (int, error) {
	matches := cv.Component.SelectResources(sel)
	ids := cv.Component.ResourceIdentities()
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		var known []string
		for _, id := range ids {
			known = append(known, id.String())
		}
		return 0, fmt.Errorf("no resource with identity %s in %s:%s (resources: %s)", sel, cv.Component.Name, cv.Component.Version, strings.Join(known, "; "))
	}
	var cands []string
	for _, i := range matches {
		cands = append(cands, ids[i].String())
	}
	return 0, fmt.Errorf("identity %s matches %d resources of %s:%s (%s): add attributes to choose one", sel, len(matches), cv.Component.Name, cv.Component.Version, strings.Join(cands, "; "))
}
