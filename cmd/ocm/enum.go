package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// enumAnnotation marks a flag with a fixed set of values; the choices are
// declared once, with the flag, and drive --help, shell completion and
// validation (validateEnums).
const enumAnnotation = "ocm_enum_choices"

// enumFlag declares the choices of the flag name of cmd (local or
// persistent). The empty string is never offered for completion, but is
// valid when it is the flag's default.
func enumFlag(cmd *cobra.Command, name string, choices ...string) {
	f := cmd.Flags().Lookup(name)
	if f == nil {
		f = cmd.PersistentFlags().Lookup(name)
	}
	if f == nil {
		panic("enumFlag: no flag " + name) // a programming error, caught by every test
	}
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[enumAnnotation] = choices
	listed := true
	for _, c := range choices {
		if c != "" && !strings.Contains(f.Usage, c) {
			listed = false
		}
	}
	if !listed {
		f.Usage += " (one of: " + strings.Join(nonEmpty(choices), ", ") + ")"
	}
	err := cmd.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return nonEmpty(choices), cobra.ShellCompDirectiveNoFileComp
	})
	if err != nil {
		panic(err) // registered twice: a programming error
	}
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// enumHints explain why a flag offers fewer choices than the reference.
var enumHints = map[string]string{
	"external-component-version-copy-policy": "copying referenced versions from other repositories arrives with transfer",
}

// validateEnums checks every enumerated flag of cmd, local and inherited.
func validateEnums(cmd *cobra.Command) error {
	var err error
	check := func(f *pflag.Flag) {
		choices, ok := f.Annotations[enumAnnotation]
		if !ok || err != nil {
			return
		}
		v := f.Value.String()
		if v == f.DefValue {
			return
		}
		if e := oneOf(f.Name, v, nonEmpty(choices)...); e != nil {
			err = e
			if h := enumHints[f.Name]; h != "" {
				err = fmt.Errorf("%w (%s)", e, h)
			}
		}
	}
	cmd.Flags().VisitAll(check)
	cmd.InheritedFlags().VisitAll(check)
	return err
}

// enumChoices returns the declared choices of a flag, for tests and docs.
func enumChoices(f *pflag.Flag) ([]string, bool) {
	c, ok := f.Annotations[enumAnnotation]
	return c, ok
}
