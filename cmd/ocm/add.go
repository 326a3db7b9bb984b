package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ocmgo/ocm/compat/referrer"
	"github.com/ocmgo/ocm/constructor"
	"github.com/ocmgo/ocm/delivery"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
)

func newAddCommand(g *globalOptions) *cobra.Command {
	add := &cobra.Command{Use: "add", Short: "Add component versions to a repository"}
	add.AddCommand(newAddComponentVersionCommand(g))
	return add
}

type addCVOptions struct {
	rec           recordFlags
	constructor   string
	repository    string
	conflict      string
	externalCopy  string
	concurrency   int
	blobCache     string
	skipRefDigest bool
	displayMode   string
	output        string
	referrers     bool
	importCompat  bool
}

func newAddComponentVersionCommand(g *globalOptions) *cobra.Command {
	o := &addCVOptions{}
	cmd := &cobra.Command{
		Use:     "component-version",
		Aliases: componentVersionAliases,
		Short:   "Build component versions from a component-constructor.yaml into a repository",
		Long: `Build the component versions a component constructor describes and add them to a
repository: a CTF archive (directory, .tar or .tgz; created when missing) or
an OCI registry.

Every input is read once and streamed into the repository while it is
hashed. A CTF archive changes atomically: a failing or interrupted add leaves
it as it was. In a registry, blobs and manifests go first and the tag last,
so a failed add leaves no tag pointing at incomplete content.

Resources given only by an access to external content are resolved, as the
reference CLI does: an image reference by tag is pinned to its manifest
digest (repo:tag@sha256:...) and the resource digest is recorded
(genericBlobDigest/v1 of the manifest; of the chart archive or the downloaded
file for Helm and wget accesses). Credentials come from .ocmconfig consumers
(OCIRegistry, HelmChartRepository, Wget) and the docker config.
--skip-reference-digest-processing records them unresolved.

${VAR} and $VAR in the constructor are replaced by environment variables;
an unset variable is an error. SOURCE_DATE_EPOCH sets creationTime, so the
same constructor and inputs give byte-identical archives.`,
		Example: `  ocm add cv --repository ./transport-archive --constructor component-constructor.yaml
  ocm add cv -r localhost:5000/ocm -c component-constructor.yaml
  ocm add cv -r ctf::archive.tgz -c examples/ --component-version-conflict-policy replace -o yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, g) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.constructor, "constructor", "c", "component-constructor.yaml", "component constructor file (or a directory holding component-constructor.yaml/.yml)")
	f.StringVarP(&o.repository, "repository", "r", "transport-archive", "target repository: [ctf::]<path> (directory, .tar, .tgz) or an OCI registry [oci::]<host>[/<path>]")
	f.StringVar(&o.conflict, "component-version-conflict-policy", string(constructor.AbortAndFail), "when the version exists: abort-and-fail, replace or skip")
	f.StringVar(&o.externalCopy, "external-component-version-copy-policy", "skip", "referenced component versions outside the constructor: skip (they must be in the target)")
	f.IntVar(&o.concurrency, "concurrency-limit", 4, "inputs processed in parallel")
	f.StringVar(&o.blobCache, "blob-cache-directory", ".ocm/cache", "accepted for compatibility; inputs are streamed, nothing is cached")
	f.BoolVar(&o.skipRefDigest, "skip-reference-digest-processing", false, "record resources given only by an access (images, Helm charts, wget) as they are: no image reference pinned, no digest fetched (e.g. offline); such resources cannot be signed until added without this flag")
	f.StringVar(&o.displayMode, "display-mode", "static", "static or live; accepted for compatibility (progress bars show on a terminal for inputs over 4 MiB)")
	f.BoolVar(&o.importCompat, "import-compat", false, "for ociImage resources in a registry without a compatibility spec, import the newest NFD compatibility spec attached to the image (as <name>-compat)")
	f.BoolVar(&o.referrers, "referrer-tracking", false, "name the OCM Component Index as OCI subject of each version, so that registries with the referrers API list the versions of a component")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, yaml, json, ndjson, tree")
	enumFlag(cmd, "output", "table", "yaml", "json", "ndjson", "tree")
	enumFlag(cmd, "component-version-conflict-policy", string(constructor.AbortAndFail), string(constructor.Replace), string(constructor.Skip))
	o.rec.add(cmd, true)
	enumFlag(cmd, "external-component-version-copy-policy", "skip")
	enumFlag(cmd, "display-mode", "static", "live")
	return cmd
}

func (o *addCVOptions) run(cmd *cobra.Command, g *globalOptions) error {
	if o.concurrency < 1 {
		return fmt.Errorf("--concurrency-limit %d: must be at least 1", o.concurrency)
	}
	spec, err := constructor.Load(constructorPath(o.constructor), constructor.LoadOptions{BaseDir: g.workingDir})
	if err != nil {
		return err
	}
	repoSpec, err := reference.ParseRepository(o.repository)
	if err != nil {
		return fmt.Errorf("--repository: %w", err)
	}
	ctx := cmd.Context()
	if o.importCompat {
		imported, err := constructor.ImportCompatibility(ctx, spec, func(ctx context.Context, image string) ([]byte, bool, error) {
			img, err := reference.ParseImage(image)
			if err != nil {
				return nil, false, err
			}
			reg, err := repository.OpenImageRegistry(img, g.repositoryOptions())
			if err != nil {
				return nil, false, err
			}
			art, err := referrer.FetchImageSpec(ctx, reg, img.Repository, img.Reference(), nil)
			if errors.Is(err, referrer.ErrNoArtifact) {
				return nil, false, nil
			}
			if err != nil {
				return nil, false, err
			}
			return art.Data, true, nil
		})
		if err != nil {
			return err
		}
		for _, l := range imported {
			fmt.Fprintf(cmd.ErrOrStderr(), "imported compatibility spec: %s\n", l)
		}
	}
	var rec *delivery.Recorder
	if o.rec.record {
		r, err := g.recorder(o.rec.signature, nil)
		if err != nil {
			return err
		}
		rec = &r
	}
	w, err := g.openWritable(cmd, repoSpec, true)
	if err != nil {
		return err
	}
	defer w.Abort()
	progress := newProgress(cmd.ErrOrStderr())
	results, err := constructor.Build(ctx, spec, w, constructor.BuildOptions{
		ConflictPolicy: constructor.ConflictPolicy(o.conflict),
		Concurrency:    o.concurrency,
		Progress:       progress.wrap,
		Logger:         g.logger,

		ReferrerTracking: o.referrers,

		External:             g.externalFetcher(),
		SkipDigestProcessing: o.skipRefDigest,
	})
	progress.wait()
	if errors.Is(err, constructor.ErrVersionExists) {
		return fmt.Errorf("%w (use --component-version-conflict-policy replace or skip)", err)
	}
	if err != nil {
		return err
	}
	if rec != nil {
		if err := recordAdd(ctx, *rec, w, repoSpec, spec, results); err != nil {
			return err
		}
	}
	if err := w.Commit(); err != nil {
		return err
	}
	var roots []*repository.Node
	for _, r := range results {
		roots = append(roots, &repository.Node{Descriptor: r.Descriptor})
	}
	return printComponentVersions(cmd.OutOrStdout(), o.output, roots)
}

// recordAdd stores an add record for every version built (not skipped):
// the constructor and, per resource, its input type and path or its access
// type. Input fields beyond those are left out: they may name hosts with
// user information or tokens.
func recordAdd(ctx context.Context, rec delivery.Recorder, w *repository.Writable, repoSpec reference.Repository, spec *constructor.Spec, results []constructor.Result) error {
	file, _ := filepath.Abs(spec.File)
	for _, r := range results {
		if r.Skipped {
			continue
		}
		d := delivery.AddDetails{Constructor: file}
		for _, c := range spec.Components {
			if c.Name != r.Descriptor.Component.Name || c.Version != r.Descriptor.Component.Version {
				continue
			}
			for _, res := range c.Resources {
				in := delivery.Input{Resource: res.BaseIdentity().String()}
				switch {
				case res.Input != nil:
					in.Input = res.Input.Type
					var fields struct {
						Path string `json:"path"`
					}
					if res.Input.Decode(&fields) == nil {
						in.Path = fields.Path
					}
				case res.Access != nil:
					in.Access = res.Access.Type
				}
				d.Resources = append(d.Resources, in)
			}
		}
		if err := rec.Add(ctx, w.WriteStore, delivery.Location(repoSpec), r.Descriptor.Component.Name, r.Descriptor.Component.Version, d); err != nil {
			return err
		}
	}
	return nil
}

// constructorPath accepts the reference's default name with .yml too.
func constructorPath(p string) string {
	if p == "component-constructor.yaml" {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			if _, err := os.Stat("component-constructor.yml"); err == nil {
				return filepath.Clean("component-constructor.yml")
			}
		}
	}
	return p
}
