package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// Set at release build time with
// -ldflags "-X main.version=v1.2.3 -X main.commit=<sha> -X main.buildDate=<RFC 3339>";
// without them, the Go build information (module version, VCS stamping)
// fills them in.
var (
	version   = "dev"
	commit    = ""
	buildDate = ""
)

// versionInfo is what `ocm version` reports.
type versionInfo struct {
	Version   string `json:"version"`
	GitCommit string `json:"gitCommit,omitempty"`
	// Modified: built from a work tree with uncommitted changes.
	Modified  bool   `json:"modified,omitempty"`
	BuildDate string `json:"buildDate,omitempty"`
	GoVersion string `json:"goVersion"`
	Compiler  string `json:"compiler"`
	Platform  string `json:"platform"`
}

// buildVersion combines the linker-set values with the Go build
// information; linker values win, as a release sets them deliberately.
func buildVersion(bi *debug.BuildInfo) versionInfo {
	v := versionInfo{
		Version:   version,
		GitCommit: commit,
		BuildDate: buildDate,
		GoVersion: runtime.Version(),
		Compiler:  runtime.Compiler,
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi == nil {
		return v
	}
	if v.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v.Version = bi.Main.Version // go install module@version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if v.GitCommit == "" {
				v.GitCommit = s.Value
			}
		case "vcs.time":
			if v.BuildDate == "" {
				v.BuildDate = s.Value // the commit's time: reproducible, unlike the wall clock
			}
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	if bi.GoVersion != "" {
		v.GoVersion = bi.GoVersion
	}
	return v
}

func newVersionCommand() *cobra.Command {
	var output, format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of ocm",
		Long: `Print the version, commit, build date and Go version of ocm.

--format takes the reference CLI's formats: legacyjson (its default),
gobuildinfo and gobuildinfojson (the Go build information, with every
dependency).`,
		Example: `  ocm version
  ocm version -o json
  ocm version --format gobuildinfo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bi, _ := debug.ReadBuildInfo()
			w := cmd.OutOrStdout()
			if format != "" {
				if cmd.Flags().Changed("output") {
					return fmt.Errorf("--output and --format exclude each other")
				}
				return printBuildFormat(w, format, bi)
			}
			return printVersion(w, output, buildVersion(bi))
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json, yaml")
	enumFlag(cmd, "output", "text", "json", "yaml")
	cmd.Flags().StringVarP(&format, "format", "f", "", "the reference CLI's formats: legacyjson, gobuildinfo, gobuildinfojson")
	enumFlag(cmd, "format", "legacyjson", "gobuildinfo", "gobuildinfojson")
	return cmd
}

func printVersion(w io.Writer, output string, v versionInfo) error {
	switch output {
	case "json":
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	case "yaml":
		data, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	commitLine := v.GitCommit
	if commitLine == "" {
		commitLine = "unknown"
	}
	if v.Modified {
		commitLine += " (modified)"
	}
	date := v.BuildDate
	if date == "" {
		date = "unknown"
	}
	_, err := fmt.Fprintf(w, "ocm %s\ncommit:     %s\nbuild date: %s\ngo:         %s %s/%s\n",
		v.Version, commitLine, date, v.GoVersion, v.Compiler, v.Platform)
	return err
}

// legacyVersion is the reference CLI's legacyjson layout (OCM v1's).
type legacyVersion struct {
	Major      string `json:"major"`
	Minor      string `json:"minor"`
	Patch      string `json:"patch"`
	PreRelease string `json:"prerelease,omitempty"`
	GitVersion string `json:"gitVersion"`
	GitCommit  string `json:"gitCommit"`
	BuildDate  string `json:"buildDate"`
	GoVersion  string `json:"goVersion"`
	Compiler   string `json:"compiler"`
	Platform   string `json:"platform"`
}

func printBuildFormat(w io.Writer, format string, bi *debug.BuildInfo) error {
	switch format {
	case "gobuildinfo", "gobuildinfojson":
		if bi == nil {
			return fmt.Errorf("this binary carries no Go build information")
		}
		if format == "gobuildinfo" {
			_, err := fmt.Fprintln(w, bi.String())
			return err
		}
		data, err := json.Marshal(bi)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	}
	v := buildVersion(bi)
	l := legacyVersion{GitVersion: v.Version, GitCommit: v.GitCommit, BuildDate: v.BuildDate, GoVersion: v.GoVersion, Compiler: v.Compiler, Platform: v.Platform}
	// v1.2.3-rc.1+meta: major, minor, patch and the pre-release; anything
	// else (dev builds) leaves them empty.
	core, pre, _ := strings.Cut(strings.TrimPrefix(strings.SplitN(v.Version, "+", 2)[0], "v"), "-")
	if parts := strings.Split(core, "."); len(parts) == 3 {
		l.Major, l.Minor, l.Patch, l.PreRelease = parts[0], parts[1], parts[2], pre
	}
	data, err := json.Marshal(l)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}
