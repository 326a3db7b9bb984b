package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/sbom"
)

func newGetCommand(g *globalOptions) *cobra.Command {
	get := &cobra.Command{Use: "get", Short: "Get information about OCM entities"}
	get.AddCommand(newGetComponentVersionCommand(g), newGetConfigCommand(g), newTypesCommand(), newGetDeliveryCommand(g))
	return get
}

type getCVOptions struct {
	output     string
	latest     bool
	constraint string
	recursive  int
}

func newGetComponentVersionCommand(g *globalOptions) *cobra.Command {
	o := &getCVOptions{}
	cmd := &cobra.Command{
		Use:     "component-version {reference}",
		Aliases: componentVersionAliases,
		Short:   "Get component versions from a repository",
		Long: `Get component versions from an OCM repository.

The reference has the form [type::]<repository>//<component>[:<version>].
Without a version, every version is listed (see --latest and --semver-constraint);
without a component (just a repository), every component of the repository.

-o cyclonedx and -o spdx write a software bill of materials of the versions
(with --recursive, of the whole reference graph): each component version with
its provider, labels and descriptor digest, its resources with their digests
(and a purl for OCI images), the references as dependencies. SOURCE_DATE_EPOCH
sets the document's creation time.`,
		Example: `  ocm get cv ./transport-archive//example.com/app:1.0.0 -o yaml
  ocm get cv ctf::archive.tgz//example.com/app --latest
  ocm get cv ./transport-archive//example.com/app:1.0.0 --recursive -o tree
  ocm get cv ./transport-archive
  ocm get cv ./transport-archive//example.com/app:1.0.0 --recursive -o cyclonedx > app.cdx.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, g, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, yaml, json, ndjson, tree, cyclonedx (CycloneDX 1.6 JSON SBOM), spdx (SPDX 2.3 JSON SBOM)")
	enumFlag(cmd, "output", "table", "yaml", "json", "ndjson", "tree", "cyclonedx", "spdx")
	f.BoolVar(&o.latest, "latest", false, "only the latest version (when the reference has no version)")
	f.StringVar(&o.constraint, "semver-constraint", "", `only versions matching this constraint, e.g. ">= 1.0.0, < 2.0.0" (when the reference has no version)`)
	f.IntVar(&o.recursive, "recursive", 0, "follow component references: depth, -1 for unlimited (--recursive alone)")
	f.Lookup("recursive").NoOptDefVal = "-1"
	return cmd
}

func (o *getCVOptions) run(cmd *cobra.Command, g *globalOptions, arg string) error {
	if o.recursive < -1 {
		return fmt.Errorf("--recursive %d: use -1 (unlimited), 0 (none) or a depth", o.recursive)
	}
	sel := repository.Selection{Constraint: o.constraint}
	if err := sel.Check(); err != nil {
		return fmt.Errorf("--semver-constraint: %w", err)
	}
	ref, repoSpec, err := parseRefOrRepository(arg)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	repo, err := repository.OpenWithOptions(ctx, repoSpec, g.repositoryOptions())
	if err != nil {
		return err
	}
	defer repo.Close()

	var components []string
	if ref != nil {
		components = []string{ref.Component}
	} else if components, err = repo.ListComponents(ctx); err != nil {
		return err
	}
	var roots []*repository.Node
	for _, comp := range components {
		var versions []string
		if ref != nil && ref.Version != "" {
			versions = []string{ref.Version}
		} else {
			all, err := repo.ListVersions(ctx, comp)
			if err != nil {
				return err
			}
			if versions, err = selectVersions(all, sel, o.latest); err != nil {
				return err
			}
		}
		for _, v := range versions {
			n, err := repository.Graph(ctx, repo, comp, v, o.recursive)
			if err != nil {
				return err
			}
			roots = append(roots, n)
		}
	}
	if ref != nil && len(roots) == 0 {
		return fmt.Errorf("no version of %s in %s matches", ref.Component, repo)
	}
	switch o.output {
	case "cyclonedx", "spdx":
		return printSBOM(cmd.OutOrStdout(), o.output, roots)
	}
	return printComponentVersions(cmd.OutOrStdout(), o.output, roots)
}

// printSBOM renders roots (and what they reference) as a CycloneDX or SPDX
// document.
func printSBOM(w io.Writer, format string, roots []*repository.Node) error {
	bi, _ := debug.ReadBuildInfo()
	opts := sbom.Options{ToolName: "ocm", ToolVersion: buildVersion(bi).Version}
	if v, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil || sec < 0 {
			return fmt.Errorf("invalid SOURCE_DATE_EPOCH %q: want a non-negative number of seconds", v)
		}
		opts.Time = time.Unix(sec, 0)
	}
	if format == "spdx" {
		return sbom.WriteSPDX(w, roots, opts)
	}
	return sbom.WriteCycloneDX(w, roots, opts)
}

// parseRefOrRepository accepts a component reference or a bare repository.
func parseRefOrRepository(arg string) (*reference.Ref, reference.Repository, error) {
	ref, err := reference.Parse(arg)
	if err == nil {
		return ref, ref.Repository, nil
	}
	if !errors.Is(err, reference.ErrNoComponent) {
		return nil, reference.Repository{}, err
	}
	repo, rerr := reference.ParseRepository(arg)
	if rerr != nil {
		return nil, reference.Repository{}, fmt.Errorf("invalid reference %q: neither a component reference nor a repository: %w", arg, rerr)
	}
	return nil, repo, nil
}

// selectVersions applies --semver-constraint and --latest; no match is an
// empty list, which callers report naming the component.
func selectVersions(all []string, sel repository.Selection, latest bool) ([]string, error) {
	if !latest {
		return sel.Select(all)
	}
	v, err := sel.Latest(all)
	if errors.Is(err, repository.ErrNoMatchingVersion) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []string{v}, nil
}

func printComponentVersions(w io.Writer, format string, roots []*repository.Node) error {
	var all []*descriptor.Descriptor
	for _, r := range roots {
		r.Walk(func(n *repository.Node) error {
			all = append(all, n.Descriptor)
			return nil
		})
	}
	switch format {
	case "yaml":
		list := make([]json.RawMessage, len(all))
		for i, d := range all {
			js, err := descriptor.EncodeJSON(d)
			if err != nil {
				return err
			}
			list[i] = js
		}
		js, err := json.Marshal(list)
		if err != nil {
			return err
		}
		out, err := jsonToYAML(js)
		if err != nil {
			return err
		}
		_, err = w.Write(out)
		return err
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(all)
	case "ndjson":
		enc := json.NewEncoder(w)
		for _, d := range all {
			if err := enc.Encode(d); err != nil {
				return err
			}
		}
		return nil
	case "tree":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "COMPONENT\tVERSION\tPROVIDER")
		for _, r := range roots {
			printTree(tw, r, "", "")
		}
		return tw.Flush()
	default:
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "COMPONENT\tVERSION\tPROVIDER")
		for _, d := range all {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Component.Name, d.Component.Version, d.Component.Provider.Name())
		}
		return tw.Flush()
	}
}

// printTree prints n and its references as an indented tree.
func printTree(w io.Writer, n *repository.Node, indent, connector string) {
	d := n.Descriptor
	provider := d.Component.Provider.Name()
	if n.Cycle {
		provider = "(cycle)"
	}
	fmt.Fprintf(w, "%s%s%s\t%s\t%s\n", indent, connector, d.Component.Name, d.Component.Version, provider)
	indent = treeIndent(indent, connector)
	for i, c := range n.Children {
		printTree(w, c, indent, treeConnector(i, len(n.Children)))
	}
}

// treeConnector draws child i of n in a tree.
func treeConnector(i, n int) string {
	if i == n-1 {
		return "└─ "
	}
	return "├─ "
}

// treeIndent is the indentation of the children of a node drawn with
// connector.
func treeIndent(indent, connector string) string {
	switch connector {
	case "├─ ":
		return indent + "│  "
	case "└─ ":
		return indent + "   "
	}
	return indent
}

// textNode is a node of a tree printed as text.
type textNode struct {
	label string
	kids  []textNode
}

func printTextTree(w io.Writer, n textNode, indent, connector string) {
	fmt.Fprintf(w, "%s%s%s\n", indent, connector, n.label)
	indent = treeIndent(indent, connector)
	for i, c := range n.kids {
		printTextTree(w, c, indent, treeConnector(i, len(n.kids)))
	}
}

func jsonToYAML(js []byte) ([]byte, error) { return yaml.JSONToYAML(js) }
