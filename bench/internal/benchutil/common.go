package benchutil

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
)

// Common is what every benchmark runner takes: the ocm binary, an earlier
// one measured in the same runs, runs per command and the work directory.
type Common struct {
	OCM, Before, Dir string
	Runs             int
}

// Flags registers -ocm, -runs (default runs), -dir and, with before,
// -before on fs.
func (c *Common) Flags(fs *flag.FlagSet, runs int, before bool) {
	fs.StringVar(&c.OCM, "ocm", "./ocm", "ocm binary")
	fs.IntVar(&c.Runs, "runs", runs, "runs per command (the median is reported)")
	fs.StringVar(&c.Dir, "dir", "", "work directory (default: a temp dir, removed afterwards)")
	if before {
		fs.StringVar(&c.Before, "before", "", "an earlier ocm binary, measured in the same interleaved runs")
	}
}

// Prepare checks -runs, resolves -ocm and -before to absolute paths (looked
// up in PATH when they have no slash) and makes Dir absolute, creating it,
// or a temp dir named after name that cleanup removes.
func (c *Common) Prepare(name string) (cleanup func(), err error) {
	if c.Runs < 1 {
		return nil, errors.New("-runs must be at least 1")
	}
	if c.OCM, err = Binary(c.OCM); err != nil {
		return nil, err
	}
	if c.Before != "" {
		if c.Before, err = Binary(c.Before); err != nil {
			return nil, err
		}
	}
	cleanup = func() {}
	if c.Dir == "" {
		d, err := os.MkdirTemp("", "ocm-bench-"+name+"-")
		if err != nil {
			return nil, err
		}
		c.Dir, cleanup = d, func() { os.RemoveAll(d) }
	} else if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, err
	}
	if c.Dir, err = filepath.Abs(c.Dir); err != nil {
		cleanup()
		return nil, err
	}
	return cleanup, nil
}

// Binary resolves a binary to an absolute path (looked up in PATH when it
// has no slash).
func Binary(path string) (string, error) {
	p, err := exec.LookPath(path)
	if err != nil {
		return "", err
	}
	return filepath.Abs(p)
}
