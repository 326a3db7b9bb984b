// Command add benchmarks `ocm add cv` of one large file input into a new CTF
// archive, as a directory against `sha256sum` of the same file (and `cp` for
// context) and as a .tgz against `gzip -1 -c | sha256sum`, interleaved in
// one run, and reports the ratios and ocm's peak RSS. With -before, an
// earlier ocm binary runs the same commands in the same interleaved runs.
//
//	go run ./bench/add -ocm ./ocm -before ./ocm-old -size 1073741824 -runs 3
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ocmgo/ocm/bench/internal/benchutil"
)

func main() {
	var c benchutil.Common
	c.Flags(flag.CommandLine, 3, true)
	size := flag.Int64("size", 1<<30, "input file size in bytes")
	flag.Parse()
	if c.Runs < 1 || *size < 1 {
		fmt.Fprintln(os.Stderr, "bench: -runs and -size must be at least 1")
		os.Exit(2)
	}
	if err := run(c, *size); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(c benchutil.Common, size int64) error {
	cleanup, err := c.Prepare("add")
	if err != nil {
		return err
	}
	defer cleanup()
	ocm, before, runs, dir := c.OCM, c.Before, c.Runs, c.Dir

	file := filepath.Join(dir, "big.bin")
	hexsum, err := benchutil.MakeFile(file, size)
	if err != nil {
		return err
	}
	constr := filepath.Join(dir, "component-constructor.yaml")
	if err := writeConstructor(constr, file); err != nil {
		return err
	}
	// Warm the page cache so every command reads the input from memory.
	if err := readAll(file); err != nil {
		return err
	}

	copyPath := filepath.Join(dir, "copy")
	ctfDir := filepath.Join(dir, "archive")
	tgz := filepath.Join(dir, "archive.tgz")
	// Every command starts with no output of any earlier run left, so the
	// work dir holds at most twice the input size.
	clean := func() error {
		for _, p := range []string{copyPath, ctfDir, ctfDir + ".lock", tgz, tgz + ".lock"} {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
		return nil
	}
	checkDir := func(string) error { return checkBlob(ctfDir, hexsum, size) }
	checkTgz := func(string) error {
		if fi, err := os.Stat(tgz); err != nil {
			return err
		} else if fi.Size() == 0 {
			return fmt.Errorf("%s is empty", tgz)
		}
		return nil
	}
	add := func(repo string) []string {
		return []string{ocm, "add", "cv", "--constructor", constr, "--repository", repo}
	}
	// Targets (0: none): ours against the first floor, and ours' peak RSS.
	cases := []struct {
		title         string
		cmds          []benchutil.Cmd
		ratio, rssMiB float64
	}{
		{"directory CTF", []benchutil.Cmd{
			{Name: "ocm add cv ctf::dir", Args: add("ctf::" + ctfDir), Setup: clean, Check: checkDir},
			{Name: "sha256sum", Args: []string{"sha256sum", file}, Setup: clean},
			{Name: "cp (context)", Args: []string{"cp", file, copyPath}, Setup: clean},
		}, 1.5, 200},
		{".tgz CTF", []benchutil.Cmd{
			{Name: "ocm add cv archive.tgz", Args: add(tgz), Setup: clean, Check: checkTgz},
			{Name: "gzip -1 -c | sha256sum", Args: []string{"sh", "-c", "gzip -1 -c " + shellQuote(file) + " | sha256sum"}, Setup: clean},
		}, 0, 0},
	}

	fmt.Printf("input: %d bytes (%.2f GiB) in %s\n", size, float64(size)/(1<<30), dir)
	fmt.Println("note: the machine is shared (2 cores, other work running): compare ratios, which are measured interleaved in one run, not absolute times.")
	for _, c := range cases {
		c.cmds = benchutil.WithBefore(c.cmds, ocm, before)
		res, err := benchutil.Interleave(c.cmds, runs)
		if err != nil {
			return err
		}
		benchutil.PrintComparison(c.title, c.cmds, res)
		fmt.Printf("  ours: %s\n", strings.Join(c.cmds[0].Args, " "))
		if c.ratio > 0 {
			ratio := float64(res[0].Median()) / float64(res[1].Median())
			fmt.Printf("  target: ours/%s <= %.2fx: %s\n", c.cmds[1].Name, c.ratio, benchutil.Verdict(ratio <= c.ratio))
		}
		if c.rssMiB > 0 {
			fmt.Printf("  target: ours peak RSS <= %.0f MiB: %s\n", c.rssMiB, benchutil.Verdict(benchutil.MiB(res[0].RSS) <= c.rssMiB))
		}
	}
	return clean()
}

func writeConstructor(path, file string) error {
	y := fmt.Sprintf(`components:
- name: example.com/bench/big
  version: 1.0.0
  provider:
    name: example.com
  resources:
  - name: big
    type: blob
    input:
      type: file
      path: %q
      mediaType: application/octet-stream
`, file)
	return os.WriteFile(path, []byte(y), 0o644)
}

func readAll(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

// checkBlob makes sure the directory CTF holds the input as a local blob.
func checkBlob(ctfDir, hexsum string, size int64) error {
	fi, err := os.Stat(filepath.Join(ctfDir, "blobs", "sha256."+hexsum))
	if err != nil {
		return fmt.Errorf("the CTF lacks the input blob: %w", err)
	}
	if fi.Size() != size {
		return fmt.Errorf("blob size %d, want %d", fi.Size(), size)
	}
	return nil
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
