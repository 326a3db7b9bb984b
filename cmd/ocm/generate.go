package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func newGenerateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate documentation for the ocm command line",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newGenerateDocsCommand())
	return cmd
}

func newGenerateDocsCommand() *cobra.Command {
	var dir, mode string
	cmd := &cobra.Command{
		Use:   "docs [-d <directory>] [--mode <format>]",
		Short: "Generate the documentation of every command",
		Long: `Generate one file per command from the command tree: markdown, man
pages (section 1), reStructuredText or YAML.

The files appear together or not at all: they are written into a temporary
directory next to the target and moved in when complete. SOURCE_DATE_EPOCH
sets the date of man pages.`,
		Example: `  ocm generate docs -d docs/cli
  ocm generate docs --mode man -d man/man1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				var err error
				if dir, err = os.Getwd(); err != nil {
					return err
				}
			}
			return generateDocs(cmd.Root(), dir, mode)
		},
	}
	cmd.Flags().StringVarP(&dir, "directory", "d", "", "directory to write the documentation to (default: the current directory)")
	cmd.Flags().StringVar(&mode, "mode", "markdown", "format: markdown, man, restructured, yaml")
	enumFlag(cmd, "mode", "markdown", "man", "restructured", "yaml")
	return cmd
}

// generateDocs writes the documentation of root's tree into dir.
func generateDocs(root *cobra.Command, dir, mode string) (err error) {
	// Reproducible output: no "Auto generated ... on <date>" footer.
	root.DisableAutoGenTag = true
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, ".ocm-docs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	switch mode {
	case "markdown":
		err = doc.GenMarkdownTree(root, tmp)
	case "man":
		err = doc.GenManTree(root, &doc.GenManHeader{Title: "OCM", Section: "1", Source: "ocm " + version}, tmp)
	case "restructured":
		err = doc.GenReSTTree(root, tmp)
	case "yaml":
		err = doc.GenYamlTree(root, tmp)
	default:
		return fmt.Errorf("--mode %q: use one of markdown, man, restructured, yaml", mode)
	}
	if err != nil {
		return fmt.Errorf("generating %s documentation: %w", mode, err)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(tmp, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
