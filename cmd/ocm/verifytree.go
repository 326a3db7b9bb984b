package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"

	"github.com/ocmgo/ocm/download"
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
)

type verifyTreeOptions struct {
	identity    string
	fromArchive string
	digest      string
	exactModes  bool
	verify      bool
	signatures  []string
	publicKey   string
}

func newVerifyTreeCommand(g *globalOptions) *cobra.Command {
	o := &verifyTreeOptions{}
	cmd := &cobra.Command{
		Use:   "tree {directory} [{reference}]",
		Short: "Verify that a directory holds exactly what a resource unpacks to",
		Long: `Compare a directory with the resource it was extracted from: the resource's
content is streamed from the repository and checked against its recorded
digests, then every entry is compared. Each difference is named: missing,
extra and changed files, types, modes and symlink targets; any difference
exits non-zero.

Tar archives (also gzipped, e.g. dir inputs) compare with their entries;
native OCI artifacts (Helm charts, OCI image layouts) with the OCI image
layout directory that download resource writes. Modes: by default the
owner's execute bit must match and no permission beyond the archive's (or
0644/0755, what a download writes) may be set; --exact-modes compares the
archive's bits exactly (trees unpacked with tar -p).

--from-archive compares with a tar or tgz file instead, with no repository;
--digest checks that file first.

With --verify the component version's signatures are verified first, so the
digests the content is checked against are the signed ones.`,
		Example: `  ocm download resource ./archive//example.com/app:1.0.0 --identity name=config --output config
  ocm verify tree config ./archive//example.com/app:1.0.0 --identity name=config
  ocm verify tree chart ./archive//example.com/app:1.0.0 --identity name=chart --verify --public-key key.pub
  ocm verify tree config --from-archive config.tgz --digest sha256:…`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, g, args) },
	}
	f := cmd.Flags()
	f.StringVar(&o.identity, "identity", "", "identity of the resource: name=<name>[,<key>=<value>...]")
	f.StringVar(&o.fromArchive, "from-archive", "", "compare with this tar or tgz file instead of a resource (no repository)")
	f.StringVar(&o.digest, "digest", "", "with --from-archive: the digest the file must have (sha256:…)")
	f.BoolVar(&o.exactModes, "exact-modes", false, "compare permission bits exactly as the archive records them")
	f.BoolVar(&o.verify, "verify", false, "verify the component version's signatures (and its reference graph) first")
	f.StringSliceVar(&o.signatures, "signature", nil, "with --verify: signatures to verify (default: all)")
	f.StringVar(&o.publicKey, "public-key", "", "with --verify: PEM file with the public key or CA certificates (default: from the configuration)")
	return cmd
}

func (o *verifyTreeOptions) run(cmd *cobra.Command, g *globalOptions, args []string) error {
	dir := args[0]
	ctx := cmd.Context()
	var (
		rep  *download.TreeReport
		err  error
		what string
	)
	if o.fromArchive != "" {
		if len(args) > 1 || o.identity != "" || o.verify {
			return fmt.Errorf("--from-archive compares with a file: give no reference, --identity or --verify")
		}
		what = "archive " + o.fromArchive
		rep, err = download.VerifyTreeFromArchive(ctx, o.fromArchive, dir, download.TreeOptions{ExactModes: o.exactModes, Digest: digest.Digest(o.digest)})
	} else {
		if len(args) != 2 {
			return fmt.Errorf("name the component version the directory came from (or use --from-archive)")
		}
		if o.digest != "" {
			return fmt.Errorf("--digest needs --from-archive (a resource's digests come from its descriptor)")
		}
		rep, what, err = o.fromResource(cmd, g, dir, args[1])
	}
	if rep == nil {
		return err
	}
	out := cmd.OutOrStdout()
	for _, d := range rep.Differences {
		fmt.Fprintln(out, d)
	}
	var te *download.TreeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s differs from %s in %d place(s) (%d entries in the resource)", dir, what, len(te.Differences), rep.Entries)
	}
	if err != nil {
		return err
	}
	verified := "nothing of the archive itself (no --digest)"
	if len(rep.Verified) > 0 {
		verified = strings.Join(rep.Verified, ", ")
	}
	_, err = fmt.Fprintf(out, "%s matches %s: %d entries (verified %s)\n", dir, what, rep.Entries, verified)
	return err
}

func (o *verifyTreeOptions) fromResource(cmd *cobra.Command, g *globalOptions, dir, arg string) (*download.TreeReport, string, error) {
	sel, err := parseIdentity(o.identity)
	if err != nil {
		return nil, "", err
	}
	ref, err := reference.Parse(arg)
	if err != nil {
		return nil, "", err
	}
	if ref.Version == "" {
		return nil, "", fmt.Errorf("%s: name the version the directory came from", arg)
	}
	ctx := cmd.Context()
	repo, err := repository.OpenWithOptions(ctx, ref.Repository, g.repositoryOptions())
	if err != nil {
		return nil, "", err
	}
	defer repo.Close()
	if o.verify {
		keys, err := verificationKeys(g.config, o.publicKey, false)
		if err != nil {
			return nil, "", err
		}
		if _, err := integrity.Verify(ctx, repo, ref.Component, ref.Version, integrity.VerifyOptions{Signatures: o.signatures, Keys: keys}); err != nil {
			return nil, "", keyHint(fmt.Errorf("not comparing: %w", err))
		}
	} else if len(o.signatures) > 0 || o.publicKey != "" {
		return nil, "", fmt.Errorf("--signature and --public-key need --verify")
	}
	cv, err := repo.GetComponentVersion(ctx, ref.Component, ref.Version)
	if err != nil {
		return nil, "", err
	}
	idx, err := selectResource(cv, sel)
	if err != nil {
		return nil, "", err
	}
	what := fmt.Sprintf("resource %s of %s:%s", cv.Component.ResourceIdentities()[idx], cv.Component.Name, cv.Component.Version)
	rep, err := download.VerifyTree(ctx, repo, cv, idx, dir, download.TreeOptions{External: g.externalFetcher(), ExactModes: o.exactModes})
	return rep, what, err
}
