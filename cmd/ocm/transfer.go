package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"text/tabwriter"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/compat/referrer"
	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/delivery"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ocimap"
	"github.com/ocmgo/ocm/transfer"
)

func newTransferCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{Use: "transfer", Short: "Transfer component versions between repositories"}
	c.AddCommand(newTransferComponentVersionCommand(g))
	return c
}

type transferOptions struct {
	rec                                                 recordFlags
	recursive, copyResources, dryRun, latest, overwrite bool
	noReferenceDigestCheck                              bool
	uploadAs, constraint, output, existing              string
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
external access (e.g. ociArtifact pointing at another registry) stay
references, unless --copy-resources is given: then OCI artifacts are copied
too, after checking them against the digest their reference pins and the
resource digest, and their access is rewritten. Accesses are outside every
normalisation, so signatures stay valid. Other external accesses (helm
repositories, ...) stay references.

--upload-as says where OCI artifacts go:
  localBlob    into the component version (local blobs, the default)
  ociArtifact  into their own repositories of the target registry,
               <target>/<original repository path>:<original tag>, with
               an ociArtifact access pinned by digest; local blobs that are
               OCI artifacts move there too

Content the target has already is skipped, so a rerun after a failure only
copies what is missing. Tags are written last: a version is either complete
in the target or not tagged. Up to --concurrency-limit component versions
move in parallel (and as many blobs over all of them); a version is only
transferred once the versions it references are complete.

--existing says what to do with a version the target has already:
  (default)  skip it when the target's tag points at the same digest, and
             fail, before anything is written, when it points at other content
  skip       leave it alone whatever the target has (reported as skipped)
  replace    copy it and move the tag
  fail       fail, before anything is written, when the target has it at all
--overwrite is a deprecated spelling of --existing replace.

In a registry, each image compatibility spec of a version (see ocm compat)
is attached to the image it constrains as NFD's OCI referrer artifact
(referrers API, or the sha256-<hex> tag schema), when the image is stored
in that registry too.

On a terminal, stderr shows a progress bar per blob in flight; a summary of
versions, blobs and bytes is printed on stderr at the end.`,
		Example: `  ocm transfer cv ctf::./my-archive//ocm.software/mycomponent:1.0.0 ghcr.io/my-org/ocm
  ocm transfer cv ./my-archive//ocm.software/mycomponent ./copy.tgz --semver-constraint ">= 1.0.0, < 2.0.0"
  ocm transfer cv --recursive --dry-run localhost:5000/ocm//example.com/app:1.2.0 ctf::./airgap.ctf`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, g, args[0], args[1]) },
	}
	f := cmd.Flags()
	f.BoolVarP(&o.recursive, "recursive", "r", false, "also transfer every referenced component version, transitively")
	f.BoolVar(&o.noReferenceDigestCheck, "no-reference-digest-check", false, "with --recursive, copy a graph even where a reference digest no longer matches the referenced version (by default that is an error)")
	f.BoolVar(&o.copyResources, "copy-resources", false, "also copy resources with an external OCI access (ociArtifact) by value; other external accesses stay references")
	f.StringVarP(&o.uploadAs, "upload-as", "u", "localBlob", "how OCI artifacts are stored in the target: localBlob (with the component version) or ociArtifact (own repositories in the target registry)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print what would be copied without writing anything")
	f.StringVar(&o.constraint, "semver-constraint", "", `only versions matching this constraint, e.g. ">= 1.0.0, < 2.0.0" (when the reference has no version)`)
	f.BoolVar(&o.latest, "latest", false, "only the latest version (when the reference has no version)")
	f.IntVar(&o.concurrency, "concurrency-limit", transfer.DefaultConcurrency, "component versions, and blobs, transferred in parallel")
	f.StringVar(&o.existing, "existing", "", "versions the target has already: skip, replace or fail (default: skip when identical, fail when different)")
	f.BoolVar(&o.overwrite, "overwrite", false, "move a target tag that points at different content")
	// Deprecated alias; not via MarkDeprecated, whose notice goes to the
	// command's output stream (stdout when set) and would corrupt -o json.
	_ = f.MarkHidden("overwrite")
	f.StringVarP(&o.output, "output", "o", "yaml", "output format of the results: yaml, json, ndjson, table")
	enumFlag(cmd, "output", "yaml", "json", "ndjson", "table")
	enumFlag(cmd, "upload-as", string(transfer.UploadLocalBlob), string(transfer.UploadOCIArtifact))
	enumFlag(cmd, "existing", "skip", "replace", "fail")
	o.rec.add(cmd, true)
	return cmd
}

func (o *transferOptions) run(cmd *cobra.Command, g *globalOptions, srcArg, targetArg string) error {
	existing := transfer.ExistingPolicy(o.existing)
	if o.overwrite {
		fmt.Fprintln(cmd.ErrOrStderr(), "Flag --overwrite is deprecated, use --existing replace")
		if existing != transfer.ExistingDefault && existing != transfer.ExistingReplace {
			return fmt.Errorf("--overwrite means --existing replace and contradicts --existing %s", o.existing)
		}
		existing = transfer.ExistingReplace
	}
	if err := checkConcurrency(o.concurrency); err != nil {
		return err
	}
	// transfer.config.ocm.software entries set defaults for the flags the
	// command line leaves unset, as with the reference CLI.
	if g.config != nil {
		ts, err := g.config.Transfer()
		if err != nil {
			return err
		}
		if ts != nil {
			f := cmd.Flags()
			if !f.Changed("recursive") {
				o.recursive = ts.Recursive == config.RecursiveAll
			}
			if !f.Changed("copy-resources") && ts.CopyMode != "" {
				o.copyResources = ts.CopyMode == config.CopyModeAllResources
			}
			if !f.Changed("upload-as") && ts.UploadType != "" {
				o.uploadAs = ts.UploadType
			}
		}
	}
	ref, err := reference.Parse(srcArg)
	if err != nil {
		return err
	}
	if ref.Version != "" && (o.latest || o.constraint != "") {
		return fmt.Errorf("%s names a version: --latest and --semver-constraint only apply to a reference without one", srcArg)
	}
	sel := repository.Selection{Constraint: o.constraint}
	if err := sel.Check(); err != nil {
		return fmt.Errorf("--semver-constraint: %w", err)
	}
	targetSpec, err := reference.ParseRepository(targetArg)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	ctx := cmd.Context()

	src, err := repository.OpenStore(ctx, ref.Repository, g.repositoryOptions())
	if err != nil {
		return err
	}
	defer src.Close()
	where := src.String()
	refs := []transfer.Ref{{Component: ref.Component, Version: ref.Version}}
	if ref.Version == "" {
		all, err := ocimap.New(src, where).ListVersions(ctx, ref.Component)
		if err != nil {
			return err
		}
		refs = nil
		versions, err := selectVersions(all, sel, o.latest)
		if err != nil {
			return err
		}
		for _, v := range versions {
			refs = append(refs, transfer.Ref{Component: ref.Component, Version: v})
		}
		if len(refs) == 0 {
			return fmt.Errorf("no version of %s in %s matches", ref.Component, where)
		}
	}

	dst, err := g.openWritable(cmd, targetSpec, true)
	if err != nil {
		return err
	}
	defer dst.Abort()
	stderr := cmd.ErrOrStderr()
	// JSON logs are for machines: no bars, progress lines become records.
	bars := newTransferBars(stderr, newProgress(stderr).on && g.logFormat != "json")
	logOut := stderr
	if bars.on {
		logOut = bars // lines above the bars
	}
	progressLine := newLineLogger(logOut)
	if g.logFormat == "json" {
		progressLine = func(s string) { g.logger.Info(s, "event", "progress") }
	}
	opts := transfer.Options{
		Recursive: o.recursive,

		SkipReferenceDigests: o.noReferenceDigestCheck,
		Concurrency:          o.concurrency,
		DryRun:               o.dryRun,
		Existing:             existing,
		Progress:             progressLine,
		Logger:               g.logger,
		SourceName:           where,

		CopyResources: o.copyResources,
		UploadAs:      transfer.UploadMode(o.uploadAs),
		External:      g.externalFetcher(),
	}
	if bars.on {
		opts.WrapBlob = bars.wrap
	}
	if rt, ok := dst.WriteStore.(referrer.Target); ok {
		// Compatibility specs become NFD referrers of their images, so that
		// OCI-only tools (nfd compat validate-node) find them too.
		opts.AfterVersion = func(ctx context.Context, v transfer.Done) error {
			return referrer.AttachSpecs(ctx, rt, v.Descriptor, v.Repository, opts.Progress)
		}
	}
	// Delivery records travel with their versions.
	afterCompat := opts.AfterVersion
	opts.AfterVersion = func(ctx context.Context, v transfer.Done) error {
		if afterCompat != nil {
			if err := afterCompat(ctx, v); err != nil {
				return err
			}
		}
		n, err := delivery.Carry(ctx, src, v.SourceRoot, dst.WriteStore, v.Ref.Component, v.Ref.Version)
		if n > 0 {
			progressLine(fmt.Sprintf("%s: %d delivery record(s) carried along", v.Ref, n))
		}
		return err
	}
	var rec delivery.Recorder
	if o.rec.record {
		if o.dryRun {
			return fmt.Errorf("--record records what was done: not with --dry-run")
		}
		if rec, err = g.recorder(o.rec.signature, nil); err != nil {
			return err
		}
	}
	results, err := transfer.ComponentVersions(ctx, src, dst.WriteStore, refs, opts)
	bars.wait()
	if err == nil && o.rec.record {
		for _, r := range results {
			if r.VersionSkipped {
				continue
			}
			d := delivery.TransferDetails{Source: delivery.Location(ref.Repository), Target: delivery.Location(targetSpec),
				Copied: r.Copied, Skipped: r.Skipped, BytesCopied: r.BytesCopied, AlreadyPresent: r.AlreadyPresent}
			if err = rec.Transfer(ctx, src, dst.WriteStore, r.Component, r.Version, d); err != nil {
				break
			}
		}
	}
	if err == nil && !o.dryRun {
		err = dst.Commit()
	}
	if g.logFormat == "json" {
		logTransferSummary(g.logger, results, o.dryRun, err != nil)
	} else {
		printTransferSummary(stderr, results, o.dryRun, err != nil)
	}
	if ce := (*transfer.ConflictError)(nil); errors.As(err, &ce) && existing != transfer.ExistingFail {
		return fmt.Errorf("%w (--existing replace replaces them, --existing skip leaves them)", err)
	}
	if errors.Is(err, transfer.ErrArtifactTarget) {
		return fmt.Errorf("%w (--upload-as ociArtifact needs an OCI registry as the target)", err)
	}
	if err != nil {
		return err
	}
	return printTransferResults(cmd.OutOrStdout(), o.output, results)
}

// transferTotals sums the results of a transfer.
type transferTotals struct {
	copied, present, skipped, blobsCopied, blobsSkipped int
	fromTarget                                          int // of present: not read from the source
	bytesCopied                                         int64
}

func sumTransfer(results []transfer.Result) transferTotals {
	var t transferTotals
	for _, r := range results {
		switch {
		case r.AlreadyPresent:
			t.present++
			if r.FromTarget {
				t.fromTarget++
			}
		case r.VersionSkipped:
			t.skipped++
		default:
			t.copied++
		}
		t.blobsCopied += r.Copied
		t.blobsSkipped += r.Skipped
		t.bytesCopied += r.BytesCopied
	}
	return t
}

// logTransferSummary is printTransferSummary as one log record.
func logTransferSummary(logger *slog.Logger, results []transfer.Result, dryRun, failed bool) {
	t := sumTransfer(results)
	logger.Info("transfer summary", "event", "summary", "dryRun", dryRun, "failed", failed,
		"versionsCopied", t.copied, "versionsPresent", t.present, "versionsFromTarget", t.fromTarget, "versionsSkipped", t.skipped,
		"blobsCopied", t.blobsCopied, "blobsSkipped", t.blobsSkipped, "bytesCopied", t.bytesCopied)
}

// printTransferSummary writes one line of totals.
func printTransferSummary(w io.Writer, results []transfer.Result, dryRun, failed bool) {
	t := sumTransfer(results)
	prefix, verb := "transferred", "copied"
	switch {
	case dryRun:
		prefix, verb = "dry run", "to copy"
	case failed:
		prefix = "failed after"
	}
	present := fmt.Sprintf("%d already present", t.present)
	if t.fromTarget > 0 {
		// Pinned by their referrers and complete in the target: see transfer.ComponentVersions.
		present += fmt.Sprintf(" (%d of them checked in the target only)", t.fromTarget)
	}
	fmt.Fprintf(w, "%s: versions: %d %s, %s, %d skipped; blobs: %d %s, %d skipped; %s %s\n",
		prefix, t.copied, verb, present, t.skipped, t.blobsCopied, verb, t.blobsSkipped, formatBytes(t.bytesCopied), verb)
}

// formatBytes renders n in binary units.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB (%d bytes)", float64(n)/float64(div), "KMGTPE"[exp], n)
}

// transferBars shows one bar per blob in flight on an interactive stderr;
// a bar disappears when its blob is done.
type transferBars struct {
	on   bool
	out  io.Writer
	once sync.Once
	p    *mpb.Progress
}

func newTransferBars(out io.Writer, on bool) *transferBars {
	return &transferBars{on: on, out: out}
}

func (b *transferBars) progress() *mpb.Progress {
	b.once.Do(func() { b.p = mpb.New(mpb.WithOutput(b.out), mpb.WithWidth(40), mpb.WithAutoRefresh()) })
	return b.p
}

// Write prints lines above the bars.
func (b *transferBars) Write(p []byte) (int, error) {
	n, err := b.progress().Write(p)
	if err != nil { // after wait
		return b.out.Write(p)
	}
	return n, nil
}

// wrap is a transfer.Options.WrapBlob that counts r on a new bar.
func (b *transferBars) wrap(ref transfer.Ref, desc ocispec.Descriptor, r io.Reader) (io.Reader, func(error)) {
	name := ref.String() + " " + desc.Digest.Encoded()[:min(12, len(desc.Digest.Encoded()))]
	bar := b.progress().AddBar(desc.Size,
		mpb.BarRemoveOnComplete(),
		mpb.PrependDecorators(decor.Name(name, decor.WC{C: decor.DindentRight | decor.DextraSpace})),
		mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f"), decor.Name(" "), decor.AverageSpeed(decor.SizeB1024(0), "% .1f")),
	)
	return &countingReader{r: r, bar: bar}, func(err error) {
		if err != nil {
			bar.Abort(true)
			return
		}
		bar.SetTotal(-1, true)
	}
}

// wait ends the display once every bar is done.
func (b *transferBars) wait() {
	if b.p != nil {
		b.p.Wait()
	}
}

type countingReader struct {
	r   io.Reader
	bar *mpb.Bar
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.bar.IncrBy(n)
	return n, err
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
		case r.FromTarget:
			status = "already present (checked in the target)"
		case r.AlreadyPresent:
			status = "already present"
		case r.VersionSkipped:
			status = "skipped"
		case r.DryRun:
			status = "dry run"
		case r.Replaced:
			status = "replaced"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Component, r.Version, strconv.Itoa(r.Copied), strconv.Itoa(r.Skipped), status)
	}
	return tw.Flush()
}
