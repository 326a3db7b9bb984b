package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/httpclient"
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
)

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

type globalOptions struct {
	configFiles []string
	logLevel    string
	logFormat   string
	logOutput   string
	plainHTTP   bool
	strictCfg   bool
	workingDir  string
	tempFolder  string

	config *config.Config
	// http is the HTTP configuration (timeouts, TLS per host) of config.
	http   *httpclient.Config
	logger *slog.Logger
}

func newRootCommand() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:           "ocm",
		Short:         "Open Component Model command line client",
		Long:          "ocm packs, signs, transfers, verifies and downloads OCM component versions.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return g.setup(cmd)
		},
	}
	f := root.PersistentFlags()
	f.StringArrayVar(&g.configFiles, "config", nil, "configuration files (.ocmconfig format); replace the automatic lookup when given")
	f.StringVar(&g.logLevel, "loglevel", "info", "log level: debug, info, warn, error")
	f.StringVar(&g.logFormat, "logformat", "text", "log format: text or json")
	f.StringVar(&g.logOutput, "logoutput", "stderr", "log output: stderr or stdout")
	f.BoolVar(&g.strictCfg, "strict-config", false, "fail when the configuration has entries that would be ignored (unknown types, missing docker config files) instead of warning")
	f.StringVar(&g.workingDir, "working-directory", "", "directory relative input paths of component constructors resolve against (default: the constructor's directory)")
	f.StringVar(&g.tempFolder, "temp-folder", "", "directory for temporary files (default: $TMPDIR or the system's)")
	enumFlag(root, "loglevel", "debug", "info", "warn", "error")
	enumFlag(root, "logformat", "text", "json")
	enumFlag(root, "logoutput", "stderr", "stdout")
	f.BoolVar(&g.plainHTTP, "plain-http", false, "talk plain HTTP to OCI registries (loopback registries use HTTP anyway; TLS otherwise)")

	root.AddCommand(newAddCommand(g), newGetCommand(g), newDownloadCommand(g), newSignCommand(g), newVerifyCommand(g), newTransferCommand(g), newCreateCommand(), newVersionCommand())
	root.AddCommand(newCompatCommand(g), newGenerateCommand(), newDescribeCommand())
	return root
}

func (g *globalOptions) setup(cmd *cobra.Command) error {
	if err := validateEnums(cmd); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return fmt.Errorf("--loglevel %q: use debug, info, warn or error", g.logLevel)
	}
	// Log records, progress lines and results come from several goroutines.
	// Writes to a file are whole lines each; anything else (buffers,
	// embedding programs) gets one lock per stream.
	root := cmd.Root()
	if _, ok := root.ErrOrStderr().(*os.File); !ok {
		root.SetErr(&lockedWriter{w: root.ErrOrStderr()})
	}
	if _, ok := root.OutOrStdout().(*os.File); !ok {
		root.SetOut(&lockedWriter{w: root.OutOrStdout()})
	}
	var out io.Writer
	switch g.logOutput {
	case "stderr":
		out = cmd.ErrOrStderr()
	case "stdout":
		out = cmd.OutOrStdout()
	default:
		return fmt.Errorf("--logoutput %q: use stderr or stdout", g.logOutput)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.logFormat {
	case "text":
		g.logger = slog.New(slog.NewTextHandler(out, opts))
	case "json":
		g.logger = slog.New(slog.NewJSONHandler(out, opts))
	default:
		return fmt.Errorf("--logformat %q: use text or json", g.logFormat)
	}
	if err := g.setupDirs(); err != nil {
		return err
	}
	cfg, err := config.Load(g.configFiles)
	if err != nil {
		return err
	}
	g.config = cfg
	for _, f := range cfg.Files {
		g.logger.Debug("configuration file read", "file", f)
	}
	if len(cfg.Files) == 0 {
		g.logger.Debug("no configuration file found")
	}
	// Configuration that would have no effect is never ignored silently.
	problems := cfg.Problems()
	if g.strictCfg {
		return config.Strict(problems)
	}
	for _, p := range problems {
		g.logger.Warn(p.Message, "file", p.File, "type", p.Type)
	}
	h, err := httpclient.FromConfig(cfg)
	if err != nil {
		return err
	}
	if err := applyDeliveryConfig(cmd, cfg); err != nil {
		return err
	}
	g.http = &h
	if hosts := h.InsecureHosts(); len(hosts) > 0 {
		g.logger.Warn("TLS certificate verification is disabled by the http configuration (insecureSkipVerify): connections can be intercepted", "hosts", strings.Join(hosts, ","))
	}
	return nil
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// setupDirs checks --working-directory and --temp-folder and applies the
// latter: every temporary file of the libraries comes from os.TempDir,
// which reads TMPDIR.
func (g *globalOptions) setupDirs() error {
	for _, d := range []struct{ flag, dir string }{{"working-directory", g.workingDir}, {"temp-folder", g.tempFolder}} {
		if d.dir == "" {
			continue
		}
		fi, err := os.Stat(d.dir)
		if err != nil {
			return fmt.Errorf("--%s: %w", d.flag, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("--%s %s: not a directory", d.flag, d.dir)
		}
	}
	if g.tempFolder != "" {
		abs, err := filepath.Abs(g.tempFolder)
		if err != nil {
			return err
		}
		if err := os.Setenv("TMPDIR", abs); err != nil {
			return err
		}
		g.logger.Debug("temporary files go to", "dir", abs)
	}
	return nil
}

// repositoryOptions are the global settings for opening repositories.
func (g *globalOptions) repositoryOptions() repository.Options {
	return repository.Options{Config: g.config, HTTP: g.http, PlainHTTP: g.plainHTTP, Logger: g.logger}
}

// openWritable opens spec for writing, telling the user when it waits for
// another process; create makes a missing CTF archive.
func (g *globalOptions) openWritable(cmd *cobra.Command, spec reference.Repository, create bool) (*repository.Writable, error) {
	opts := g.repositoryOptions()
	opts.Create = create
	stderr := cmd.ErrOrStderr()
	opts.OnWait = func() {
		fmt.Fprintf(stderr, "waiting for another ocm process to finish writing %s ...\n", spec.FilePath)
	}
	return repository.OpenWritable(cmd.Context(), spec, opts)
}

// componentVersionAliases are the reference CLI's names for component versions.
var componentVersionAliases = []string{"cv", "cvs", "componentversion", "componentversions", "component-versions", "component", "components", "comp", "comps", "c"}

// checkConcurrency checks --concurrency-limit.
func checkConcurrency(n int) error {
	if n < 1 {
		return fmt.Errorf("--concurrency-limit %d: must be at least 1", n)
	}
	return nil
}

// oneOf checks an enumerated flag value.
func oneOf(flag, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return fmt.Errorf("--%s %q: use one of %s", flag, value, strings.Join(allowed, ", "))
}

// externalFetcher reaches external content (images, Helm charts, wget)
// with the configured credentials.
func (g *globalOptions) externalFetcher() *access.Fetcher {
	return access.New(access.Options{Config: g.config, HTTP: g.http, PlainHTTP: g.plainHTTP})
}

// externalContent is how sign and verify reach content outside the
// repository: nil when the user chose not to (offline).
func (g *globalOptions) externalContent(enabled bool) integrity.External {
	if !enabled {
		return nil
	}
	return g.externalFetcher()
}
