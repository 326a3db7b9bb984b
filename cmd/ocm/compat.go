package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/ocmgo/ocm/compat"
	"github.com/ocmgo/ocm/compat/host"
	"github.com/ocmgo/ocm/compat/referrer"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
)

// exitIncompatible is the exit code of a check that ran and found no
// matching compatibility set (1 stays for errors).
const exitIncompatible = 3

func newCompatCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "compat",
		Short: "Check host compatibility of images (NFD image-compatibility specs)",
		Long: `Evaluate Node Feature Discovery (NFD) image-compatibility specs (v1alpha1)
against the features of a node, with NFD's matching semantics.

Specs are carried in component versions as imageCompatibility resources (the
spec YAML as blob, linked to the constrained resource by the signed label
compatibility.ocm.software/subject) or attached to OCI images as referrer
artifacts, as NFD does.`,
	}
	c.AddCommand(newCompatNodeCommand(), newCompatCheckCommand(g), newCompatLintCommand())
	return c
}

func newCompatNodeCommand() *cobra.Command {
	var output, hostRoot string
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Discover the features of this host (nfd export features format)",
		Long: `Discover the features of this Linux host without root and write them in the
JSON format of "nfd export features" (also NodeFeature spec.features).

Everything is read below --host-root, e.g. a directory where a container
mounted the host's /proc, /sys, /etc, /boot and /lib.`,
		Example: `  ocm compat node -o node.json
  ocm compat node --host-root /host`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := host.Discover(host.Options{Root: hostRoot})
			if err != nil {
				return err
			}
			js, err := f.MarshalIndent()
			if err != nil {
				return err
			}
			js = append(js, '\n')
			if output == "" || output == "-" {
				_, err = cmd.OutOrStdout().Write(js)
				return err
			}
			if err := os.WriteFile(output, js, 0o644); err != nil {
				return fmt.Errorf("writing node features: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write the features to (default: standard output)")
	cmd.Flags().StringVar(&hostRoot, "host-root", "/", "root directory of the host to inspect")
	return cmd
}

type compatCheckOptions struct {
	resource string
	node     string
	local    bool
	hostRoot string
	tags     []string
	output   string
	image    string
	platform string
}

func newCompatCheckCommand(g *globalOptions) *cobra.Command {
	o := &compatCheckOptions{}
	cmd := &cobra.Command{
		Use:   "check {reference | --image <oci reference>}",
		Short: "Check whether a node can run a component's images",
		Long: `Evaluate the image-compatibility specs of a component version, or of an OCI
image (--image, like "nfd compat validate-node"), against node features:
the features of a file (--node: "nfd export features" JSON or a NodeFeature
YAML) or of this host (--local, the default).

The node is compatible with a spec when any compatibility set (after --tags)
has all its rules matching; the highest-weight matching set is reported.
Every expression is printed with the value the node has.

Spec blobs of imageCompatibility resources are verified against the
resource digest before they are used. A component with several specs is
compatible only when all of them are.

Exit codes: 0 compatible, 3 incompatible, 1 error (including a component
without any compatibility spec and an invalid spec).`,
		Example: `  ocm compat check ./archive//example.com/app:1.0.0 --node node.json
  ocm compat check ghcr.io/acme//example.com/app:1.0.0 --resource app-image --tags gpu -o json
  ocm compat check --image ghcr.io/acme/app:1.4.0 --platform linux/amd64`,
		Args: func(cmd *cobra.Command, args []string) error {
			if o.image != "" {
				return cobra.NoArgs(cmd, args)
			}
			if len(args) != 1 {
				return errors.New("give a component version reference, or --image <oci reference>")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, g, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.resource, "resource", "", "only the specs constraining the resource with this name")
	f.StringVar(&o.node, "node", "", `node features file ("nfd export features" JSON or NodeFeature YAML)`)
	f.BoolVar(&o.local, "local", false, "discover the features of this host (the default without --node)")
	f.StringVar(&o.hostRoot, "host-root", "/", "with --local: root directory of the host")
	f.StringSliceVar(&o.tags, "tags", nil, "only compatibility sets with these tags (comma-separated)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	enumFlag(cmd, "output", "table", "json")
	f.StringVar(&o.image, "image", "", "OCI image whose compatibility referrer artifact to check (instead of a component)")
	f.StringVar(&o.platform, "platform", "", "with --image: os[/arch[/variant]][:os_version] to pick from an index")
	return cmd
}

// checkedSpec is one evaluated spec, for output.
type checkedSpec struct {
	Source     string         `json:"source"`
	Subjects   []string       `json:"subjects,omitempty"`
	Compatible bool           `json:"compatible"`
	Report     *compat.Report `json:"report"`
}

func (o *compatCheckOptions) run(cmd *cobra.Command, g *globalOptions, args []string) error {
	if o.node != "" && o.local {
		return errors.New("--node and --local exclude each other")
	}
	if o.image == "" && o.platform != "" {
		return errors.New("--platform needs --image")
	}
	if o.image != "" && o.resource != "" {
		return errors.New("--resource applies to component versions, not to --image")
	}
	features, err := o.features()
	if err != nil {
		return err
	}
	var specs []namedSpec
	if o.image != "" {
		s, err := imageSpec(cmd, g, o.image, o.platform)
		if err != nil {
			return err
		}
		specs = []namedSpec{s}
	} else if specs, err = o.componentSpecs(cmd, g, args[0]); err != nil {
		return err
	}
	var results []checkedSpec
	all := true
	for _, s := range specs {
		rep, err := compat.Evaluate(s.spec, features, compat.Options{Tags: o.tags})
		if err != nil {
			return fmt.Errorf("%s: invalid spec: %w", s.source, err)
		}
		results = append(results, checkedSpec{Source: s.source, Subjects: s.subjects, Compatible: rep.Compatible, Report: rep})
		all = all && rep.Compatible
	}
	if err := printCompat(cmd.OutOrStdout(), o.output, results, all); err != nil {
		return err
	}
	if !all {
		var why []string
		for _, r := range results {
			if !r.Compatible {
				why = append(why, r.Source+": "+r.Report.Verdict())
			}
		}
		return &exitError{code: exitIncompatible, err: fmt.Errorf("node is not compatible: %s", strings.Join(why, "; "))}
	}
	return nil
}

func (o *compatCheckOptions) features() (*compat.Features, error) {
	if o.node == "" {
		f, err := host.Discover(host.Options{Root: o.hostRoot})
		if err != nil {
			return nil, fmt.Errorf("discovering host features: %w", err)
		}
		return f, nil
	}
	data, err := readCapped(o.node, 64<<20)
	if err != nil {
		return nil, fmt.Errorf("--node: %w", err)
	}
	f, err := compat.ParseFeatures(data)
	if err != nil {
		return nil, fmt.Errorf("--node %s: %w", o.node, err)
	}
	return f, nil
}

func readCapped(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, max)
	}
	return data, nil
}

type namedSpec struct {
	source   string
	subjects []string
	spec     *compat.Spec
}

// componentSpecs reads and verifies every spec of the component version
// (only those constraining --resource when given).
func (o *compatCheckOptions) componentSpecs(cmd *cobra.Command, g *globalOptions, arg string) ([]namedSpec, error) {
	ref, err := reference.Parse(arg)
	if err != nil {
		return nil, err
	}
	ctx := cmd.Context()
	repo, err := repository.OpenWithOptions(ctx, ref.Repository, g.repositoryOptions())
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	version := ref.Version
	if version == "" {
		versions, err := repo.ListVersions(ctx, ref.Component)
		if err != nil {
			return nil, err
		}
		if len(versions) != 1 {
			return nil, fmt.Errorf("%s has %d versions in %s (%s): name one in the reference", ref.Component, len(versions), repo, strings.Join(versions, ", "))
		}
		version = versions[0]
	}
	cv, err := repo.GetComponentVersion(ctx, ref.Component, version)
	if err != nil {
		return nil, err
	}
	what := cv.Component.Name + ":" + cv.Component.Version
	atts, err := compat.Find(cv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if o.resource != "" {
		sel := cv.Component.SelectResources(descriptor.Identity{"name": o.resource})
		if len(sel) == 0 {
			return nil, fmt.Errorf("%s has no resource named %q", what, o.resource)
		}
		var keep []compat.Attachment
		for _, a := range atts {
			for _, i := range sel {
				if a.AppliesTo(i) {
					keep = append(keep, a)
					break
				}
			}
		}
		if len(keep) == 0 {
			return nil, fmt.Errorf("%s: no image compatibility spec constrains resource %q (specs: %d)", what, o.resource, len(atts))
		}
		atts = keep
	}
	if len(atts) == 0 {
		return nil, fmt.Errorf("%s has no image compatibility spec: no %s resource and no %s label", what, compat.ResourceType, compat.SpecLabel)
	}
	ids := cv.Component.ResourceIdentities()
	var out []namedSpec
	for _, a := range atts {
		ns := namedSpec{source: a.Describe(cv)}
		for _, i := range a.Subjects {
			ns.subjects = append(ns.subjects, ids[i].String())
		}
		if a.Resource < 0 {
			if l := compatLabel(&cv.Component.Resources[a.LabelOn]); l != nil && !bool(l.Signing) {
				g.logger.Warn("compatibility label is not signed (signing: false): a signature does not cover it", "resource", ids[a.LabelOn].String())
			}
		}
		// Verified: content address and resource digest.
		loaded, err := referrer.LoadSpec(ctx, repo, cv, &a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		ns.spec = loaded.Spec
		out = append(out, ns)
	}
	return out, nil
}

func compatLabel(r *descriptor.Resource) *descriptor.Label {
	for i := range r.Labels {
		if r.Labels[i].Name == compat.SpecLabel {
			return &r.Labels[i]
		}
	}
	return nil
}

// imageSpec finds the newest compatibility referrer of an OCI image, as
// `nfd compat validate-node` does, and reads its spec (layers[0]).
func imageSpec(cmd *cobra.Command, g *globalOptions, image, platform string) (namedSpec, error) {
	img, err := reference.ParseImage(image)
	if err != nil {
		return namedSpec{}, fmt.Errorf("--image: %w", err)
	}
	var plat *ocispec.Platform
	if platform != "" {
		if plat, err = parsePlatform(platform); err != nil {
			return namedSpec{}, err
		}
	}
	reg, err := repository.OpenImageRegistry(img, g.repositoryOptions())
	if err != nil {
		return namedSpec{}, err
	}
	art, err := referrer.FetchImageSpec(cmd.Context(), reg, img.Repository, img.Reference(), plat)
	if err != nil {
		return namedSpec{}, fmt.Errorf("%s: %w", image, err)
	}
	return namedSpec{source: fmt.Sprintf("referrer %s of %s", art.Artifact.Digest, image), subjects: []string{art.Subject.Digest.String()}, spec: art.Spec}, nil
}

// parsePlatform reads os[/arch[/variant]][:os_version].
func parsePlatform(s string) (*ocispec.Platform, error) {
	p := &ocispec.Platform{}
	rest, osVersion, _ := strings.Cut(s, ":")
	p.OSVersion = osVersion
	parts := strings.Split(rest, "/")
	if len(parts) > 3 || parts[0] == "" {
		return nil, fmt.Errorf("--platform %q: want os[/arch[/variant]][:os_version]", s)
	}
	p.OS = parts[0]
	if len(parts) > 1 {
		p.Architecture = parts[1]
	}
	if len(parts) > 2 {
		p.Variant = parts[2]
	}
	return p, nil
}

func printCompat(w io.Writer, format string, results []checkedSpec, all bool) error {
	if format == "json" {
		data, err := json.MarshalIndent(struct {
			Compatible bool          `json:"compatible"`
			Specs      []checkedSpec `json:"specs"`
		}{all, results}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	}
	for _, r := range results {
		if _, err := fmt.Fprintf(w, "SPEC: %s\n", r.Source); err != nil {
			return err
		}
		if len(r.Subjects) > 0 {
			fmt.Fprintf(w, "CONSTRAINS: %s\n", strings.Join(r.Subjects, "; "))
		}
		fmt.Fprintln(w)
		if err := r.Report.WriteText(w); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	verdict := "COMPATIBLE"
	if !all {
		verdict = "INCOMPATIBLE"
	}
	_, err := fmt.Fprintf(w, "RESULT: %s\n", verdict)
	return err
}

func newCompatLintCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "lint {spec file}",
		Short: "Check an image-compatibility spec for errors and likely mistakes",
		Long: `Parse an NFD image-compatibility spec and report what NFD rejects when it
evaluates it (operator arity, integers, regexps), names that can never
match (unknown features, CONFIG_ prefixes in kernel.config, "-" in
kernel.loadedmodule), and likely mistakes (NotIn where DoesNotExist was
meant). Exits 1 when there are errors; warnings alone exit 0.`,
		Example: `  ocm compat lint compatibility.yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readCapped(args[0], compat.MaxSpecSize)
			if err != nil {
				return err
			}
			spec, err := compat.Parse(data)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			findings := compat.Lint(spec)
			for _, f := range findings {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", args[0], f)
			}
			if compat.HasErrors(findings) {
				n := 0
				for _, f := range findings {
					if f.Severity == compat.SeverityError {
						n++
					}
				}
				return fmt.Errorf("%s: %d errors", args[0], n)
			}
			if len(findings) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", args[0])
			}
			return nil
		},
	}
}
