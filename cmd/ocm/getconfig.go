package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

func newGetConfigCommand(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "config",
		Aliases: []string{"configuration", "cfg"},
		Short:   "Print the effective configuration, secrets redacted",
		Long: `Print the configuration ocm uses: every entry of the files read (--config,
or the automatic lookup), merged into one generic.config.ocm.software/v1
document in precedence order (later entries win). Passwords, tokens,
private keys and inline docker configs are shown as <redacted>.`,
		Example: `  ocm get config
  ocm --config ./.ocmconfig get config -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			doc, err := g.config.Redacted()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(doc)
			}
			data, err := yaml.Marshal(doc)
			if err != nil {
				return err
			}
			for _, f := range g.config.Files {
				fmt.Fprintf(out, "# read %s\n", f)
			}
			_, err = out.Write(data)
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "yaml", "output format: yaml or json")
	enumFlag(cmd, "output", "yaml", "json")
	return cmd
}
