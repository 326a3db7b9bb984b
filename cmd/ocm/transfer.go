package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/ocmgo/ocm/config"

	"github.com/Masterminds/semver/v3"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/repository/oci"
	"github.com/ocmgo/ocm/repository/ocimap"
	"github.com/ocmgo/ocm/transfer"
)

func newTransferCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{Use: "transfer", Short: "Transfer component versions between repositories"}
	c.AddCommand(newTransferComponentVersionCommand(g))
	return c
}

type transferOptions struct {
	recursive, copyResources, dryRun, latest, overwrite bool
	uploadAs, constraint, output                        string
	concurrency                                         int
}

func newTransferComponentVersionCommand(g *globalOptions) *cobra.Command {
	o := &transferOptions{}
	cmd := &cobra.Command{
		Use:     "component-version {src-reference} {target-repository}",
		Aliases: componentVersionAliases,
		Short:   "Transfer component versions to another repository",
		Long: `Copy component versions from a CTF archive or OCI registry to another one.

The source reference has the form [type::]<repository>//<component>[:<version>];
without a version every version is transferred (see --latest and
--semver-constraint). The target is a repository: a CTF archive (created when
missing; .tar, .tgz/.tar.gz or a directory, by extension) or an OCI registry.

Component versions are copied by value: the descriptor, its signatures and
every local blob (including native OCI artifacts stored with the version) are
copied byte for byte, so digests and signatures stay valid. Resources with an
external access (e.g. ociArtifact pointing at another registry) are not
copied and stay references to where they are; --copy-resources is accepted
for compatibility but does not change this.

Content the target has already is skipped, so a rerun after a failure only
copies what is missing. Tags are written last: a version is either complete
in the target or not tagged. A version whose tag in the target points at
other content is an error unless --overwrite is given.`,
		Example: `  ocm transfer cv ctf::./my-archive//ocm.software/mycomponent:1.0.0 ghcr.io/my-org/ocm
  ocm transfer cv ./my-archive//ocm.software/mycomponent ./copy.tgz --semver-constraint ">= 1.0.0, < 2.0.0"
  ocm transfer cv --recursive --dry-run localhost:5000/ocm//example.com/app:1.2.0 ctf::./airgap.ctf`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, g, args[0], args[1]) },
	}
	f := cmd.Flags()
	f.BoolVarP(&o.recursive, "recursive", "r", false, "also transfer every referenced component version, transitively")
	f.BoolVar(&o.copyResources, "copy-resources", false, "accepted for compatibility: local blobs are always copied by value; resources with external access stay references")
	f.StringVarP(&o.uploadAs, "upload-as", "u", "localBlob", "how resources are stored in the target: localBlob (only localBlob is supported)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print what would be copied without writing anything")
	f.StringVar(&o.constraint, "semver-constraint", "", `only versions matching this constraint, e.g. ">= 1.0.0, < 2.0.0" (when the reference has no version)`)
	f.BoolVar(&o.latest, "latest", false, "only the latest version (when the reference has no version)")
	f.IntVar(&o.concurrency, "concurrency-limit", transfer.DefaultConcurrency, "blobs of one version copied in parallel")
	f.BoolVar(&o.overwrite, "overwrite", false, "move a target tag that points at different content")
	f.StringVarP(&o.output, "output", "o", "yaml", "output format of the results: yaml, json, ndjson, table")
	return cmd
}

func (o *transferOptions) run(cmd *cobra.Command, g *globalOptions, srcArg, targetArg string) error {
	if err := oneOf("output", o.output, "yaml", "json", "ndjson", "table"); err != nil {
		return err
	}
	if o.uploadAs == "ociArtifact" {
		return fmt.Errorf("--upload-as ociArtifact: not supported by this build; local blobs are transferred as local blobs (--upload-as localBlob)")
	}
	if err := oneOf("upload-as", o.uploadAs, "localBlob"); err != nil {
		return err
	}
	if o.concurrency < 1 {
		return fmt.Errorf("--concurrency-limit %d: must be at least 1", o.concurrency)
	}
	ref, err := reference.Parse(srcArg)
	if err != nil {
		return err
	}
	if ref.Version != "" && (o.latest || o.constraint != "") {
		return fmt.Errorf("%s names a version: --latest and --semver-constraint only apply to a reference without one", srcArg)
	}
	var constraint *semver.Constraints
	if o.constraint != "" {
		if constraint, err = semver.NewConstraint(o.constraint); err != nil {
			return fmt.Errorf("--semver-constraint %q: %w", o.constraint, err)
		}
	}
	targetSpec, err := reference.ParseRepository(targetArg)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	ctx := cmd.Context()

	src, where, closeSrc, err := openStore(ref.Repository, g.config)
	if err != nil {
		return err
	}
	defer closeSrc()
	refs := []transfer.Ref{{Component: ref.Component, Version: ref.Version}}
	if ref.Version == "" {
		all, err := ocimap.New(src, where).ListVersions(ctx, ref.Component)
		if err != nil {
			return err
		}
		refs = nil
		for _, v := range selectVersions(all, constraint, o.latest) {
			refs = append(refs, transfer.Ref{Component: ref.Component, Version: v})
		}
		if len(refs) == 0 {
			return fmt.Errorf("no version of %s in %s matches", ref.Component, where)
		}
	}

	var dst ocimap.WriteStore
	var commit func() error
	switch targetSpec.Type {
	case reference.TypeCTF:
		w, err := ctf.OpenWritable(targetSpec.FilePath, ctf.WriteOptions{Create: true, Context: ctx, OnWait: func() {
			fmt.Fprintf(cmd.ErrOrStderr(), "waiting for another ocm process to finish writing %s ...\n", targetSpec.FilePath)
		}})
		if err != nil {
			return err
		}
		defer w.Abort()
		dst, commit = w, w.Commit
	case reference.TypeOCI:
		reg, err := oci.New(targetSpec.BaseURL, targetSpec.SubPath, oci.Options{Credential: oci.Credentials(g.config, targetSpec.SubPath)})
		if err != nil {
			return err
		}
		dst, commit = reg, func() error { return nil }
	default:
		return fmt.Errorf("target %s: unknown type %q", targetSpec, targetSpec.Type)
	}

	stderr := cmd.ErrOrStderr()
	progress := newLineLogger(stderr)
	results, err := transfer.ComponentVersions(ctx, src, dst, refs, transfer.Options{
		Recursive:   o.recursive,
		Concurrency: o.concurrency,
		DryRun:      o.dryRun,
		Overwrite:   o.overwrite,
		Progress:    progress,
		SourceName:  where,
	})
	if ce := (*transfer.ConflictError)(nil); errors.As(err, &ce) {
		return fmt.Errorf("%w (--overwrite replaces them)", err)
	}
	if err != nil {
		return err
	}
	if !o.dryRun {
		if err := commit(); err != nil {
			return err
		}
	}
	return printTransferResults(cmd.OutOrStdout(), o.output, results)
}

// openStore opens a repository reference as a read-only OCI store.
func openStore(spec reference.Repository, cfg *config.Config) (ocimap.Store, string, func(), error) {
	switch spec.Type {
	case reference.TypeCTF:
		a, err := ctf.Open(spec.FilePath)
		if err != nil {
			return nil, "", nil, err
		}
		return a, "CTF archive " + spec.FilePath, func() { a.Close() }, nil
	case reference.TypeOCI:
		reg, err := oci.New(spec.BaseURL, spec.SubPath, oci.Options{Credential: oci.Credentials(cfg, spec.SubPath)})
		if err != nil {
			return nil, "", nil, err
		}
		return reg, reg.String(), func() {}, nil
	}
	return nil, "", nil, fmt.Errorf("repository %s: unknown type %q", spec, spec.Type)
}

// newLineLogger returns a progress callback that writes whole lines, safe
// for concurrent use.
func newLineLogger(w io.Writer) func(string) {
	lines := make(chan struct{}, 1)
	lines <- struct{}{}
	return func(s string) {
		<-lines
		fmt.Fprintln(w, s)
		lines <- struct{}{}
	}
}

func printTransferResults(w io.Writer, format string, results []transfer.Result) error {
	if results == nil {
		results = []transfer.Result{}
	}
	switch format {
	case "json":
		data, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	case "ndjson":
		enc := json.NewEncoder(w)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	case "yaml":
		data, err := yaml.Marshal(results)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tVERSION\tCOPIED\tSKIPPED\tSTATUS")
	for _, r := range results {
		status := "transferred"
		switch {
		case r.AlreadyPresent:
			status = "already present"
		case r.DryRun:
			status = "dry run"
		case r.Replaced:
			status = "replaced"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Component, r.Version, strconv.Itoa(r.Copied), strconv.Itoa(r.Skipped), status)
	}
	return tw.Flush()
}
