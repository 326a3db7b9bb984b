package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestEnumFlags: every enumerated flag lists its choices in --help and
// completes them in the shell; the flags with fixed values are enumerated.
func TestEnumFlags(t *testing.T) {
	root := newRootCommand()
	seen := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		check := func(f *pflag.Flag) {
			choices, ok := enumChoices(f)
			if !ok {
				return
			}
			seen[c.CommandPath()+" --"+f.Name] = true
			for _, ch := range nonEmpty(choices) {
				if !strings.Contains(f.Usage, ch) {
					t.Errorf("%s --%s: usage %q does not list %q", c.CommandPath(), f.Name, f.Usage, ch)
				}
			}
			comp, ok := c.GetFlagCompletionFunc(f.Name)
			if !ok {
				t.Errorf("%s --%s: no completion", c.CommandPath(), f.Name)
				return
			}
			got, dir := comp(c, nil, "")
			if !slices.Equal(got, nonEmpty(choices)) || dir != cobra.ShellCompDirectiveNoFileComp {
				t.Errorf("%s --%s: completion %v (%v), want %v", c.CommandPath(), f.Name, got, dir, choices)
			}
		}
		c.LocalFlags().VisitAll(check)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, want := range []string{
		"ocm --loglevel", "ocm --logformat", "ocm --logoutput",
		"ocm add component-version --output", "ocm add component-version --component-version-conflict-policy",
		"ocm add component-version --display-mode", "ocm add component-version --external-component-version-copy-policy",
		"ocm get component-version --output", "ocm sign component-version --output",
		"ocm transfer component-version --output", "ocm transfer component-version --upload-as", "ocm transfer component-version --existing",
		"ocm download resource --extraction-policy", "ocm download resource --transformer", "ocm compat check --output", "ocm get config --output", "ocm version --output", "ocm generate docs --mode", "ocm describe types --output",
	} {
		if !seen[want] {
			t.Errorf("%s is not an enumerated flag (seen: %v)", want, seen)
		}
	}
}

// TestEnumValidation: a value outside the choices fails before the command
// runs, naming the flag and the choices; the hint stays where there is one.
func TestEnumValidation(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--loglevel", "verbose", "version"}, `--loglevel "verbose": use one of debug, info, warn, error`},
		{[]string{"--logformat", "xml", "version"}, `--logformat "xml": use one of text, json`},
		{[]string{"transfer", "cv", "--existing", "merge", "a//b:1", "c"}, `--existing "merge": use one of skip, replace, fail`},
		{[]string{"add", "cv", "--external-component-version-copy-policy", "copy"}, "arrives with transfer"},
	}
	for _, tt := range tests {
		_, _, err := run(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
	}
}
