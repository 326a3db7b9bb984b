// Command versions benchmarks `ocm add cv` of one constructor holding many
// versions of one component (each with a small text resource of its own)
// into a new CTF directory, against `cp -r` of the archive it produces (the
// same files and bytes, written by the kernel without any OCM work), and
// reports the ratio and ocm's peak RSS for each count.
//
//	go run ./bench/versions -ocm ./ocm -versions 1000,5000
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ocmgo/ocm/bench/internal/benchutil"
)

var (
	before        string
	resources     int
	traceSyscalls bool
)

func main() {
	var c benchutil.Common
	c.Flags(flag.CommandLine, 1, true)
	counts := flag.String("versions", "1000,5000", "comma-separated version counts, one case each")
	flag.IntVar(&resources, "resources", 1, "small text resources (local blobs) per version")
	flag.BoolVar(&traceSyscalls, "strace", false, "also count fsync/syncfs/openat/renameat of one run of each ocm binary (strace -f -c), untimed")
	flag.Parse()
	if err := run(c, *counts); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(c benchutil.Common, counts string) error {
	cleanup, err := c.Prepare("versions")
	if err != nil {
		return err
	}
	defer cleanup()
	ocm, runs, dir := c.OCM, c.Runs, c.Dir
	before = c.Before
	for _, count := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(count))
		if err != nil || n < 1 {
			return fmt.Errorf("-versions: %q is not a positive count", count)
		}
		if err := runCase(ocm, n, runs, filepath.Join(dir, count)); err != nil {
			return err
		}
	}
	return nil
}

func runCase(ocm string, n, runs int, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Outputs of earlier runs are moved aside, not deleted, until the case
	// is done: ext4 skips inodes freed in the last seconds when it
	// allocates, so thousands of files deleted just before a run make each
	// create of the next run scan past them, whoever runs next.
	trash := filepath.Join(dir, "trash")
	defer os.RemoveAll(trash)
	seq := 0
	aside := func(p string) error {
		if _, err := os.Stat(p); err != nil {
			return nil
		}
		if err := os.MkdirAll(trash, 0o755); err != nil {
			return err
		}
		seq++
		return os.Rename(p, filepath.Join(trash, fmt.Sprint(seq)))
	}
	constr := filepath.Join(dir, "component-constructor.yaml")
	var b strings.Builder
	b.WriteString("components:\n")
	for i := range n {
		fmt.Fprintf(&b, `- name: example.com/bench/many
  version: 1.0.%d
  provider:
    name: example.com
  resources:
`, i)
		for j := range resources {
			fmt.Fprintf(&b, `  - name: notes%d
    type: plainText
    input:
      type: utf8
      text: "release notes %d of 1.0.%d"
`, j, j, i)
		}
	}
	if err := os.WriteFile(constr, []byte(b.String()), 0o644); err != nil {
		return err
	}
	ctf := filepath.Join(dir, "ctf")
	cpy := filepath.Join(dir, "copy")
	add := []string{ocm, "add", "cv", "--constructor", constr, "--repository", "ctf::" + ctf}
	cp := []string{"cp", "-r", ctf, cpy}
	// The first add makes the archive cp copies (and warms the caches).
	if _, _, err := benchutil.Measure(add); err != nil {
		return err
	}
	if err := check(ocm, ctf, n); err != nil {
		return err
	}
	cmds := []benchutil.Cmd{
		{Name: "ocm add cv", Args: add, Setup: func() error {
			os.Remove(ctf + ".lock")
			return aside(ctf)
		}},
		{Name: "cp -r", Args: cp, Setup: func() error { return aside(cpy) }},
	}
	cmds = benchutil.WithBefore(cmds, ocm, before)
	res, err := benchutil.Interleave(cmds, runs)
	if err != nil {
		return err
	}
	files, bytes := treeSize(ctf)
	fmt.Printf("  command: %s\n", strings.Join(add, " "))
	fmt.Printf("  %d version(s) x %d small resource(s); each version also stages a descriptor, a config and a manifest\n", n, resources)
	benchutil.PrintComparison(fmt.Sprintf("%d versions of one component in one constructor (%d files, %d bytes in the CTF)", n, files, bytes), cmds, res)
	if traceSyscalls {
		for _, c := range cmds {
			if c.Args[0] == "cp" {
				continue
			}
			if err := c.Setup(); err != nil {
				return err
			}
			counts, err := straceCounts(c.Args)
			if err != nil {
				return err
			}
			fmt.Printf("  syscalls of %s (strace -f -c, one run; %d blobs staged): %s\n", c.Name, n*(resources+3), counts)
		}
	}
	if n >= 5000 {
		fmt.Printf("  target: <= 10 s for 5,000 versions: %s\n", benchutil.Verdict(res[0].Median() <= 10*time.Second))
	}
	return nil
}

// check lists the component's versions in the archive: all n must be there.
func check(ocm, ctf string, n int) error {
	out, err := exec.Command(ocm, "get", "cv", "ctf::"+ctf+"//example.com/bench/many", "-o", "json").Output()
	if err != nil {
		return fmt.Errorf("listing the versions: %w", err)
	}
	if got := strings.Count(string(out), `"name": "example.com/bench/many"`); got != n {
		return fmt.Errorf("the archive lists %d versions, want %d", got, n)
	}
	return nil
}

func treeSize(dir string) (files int, bytes int64) {
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			files++
			bytes += fi.Size()
		}
		return nil
	})
	return files, bytes
}

// straceCounts runs args under strace -f -c and returns the counts of the
// file system calls that matter per blob.
func straceCounts(args []string) (string, error) {
	out, err := os.CreateTemp("", "ocm-bench-strace-")
	if err != nil {
		return "", err
	}
	out.Close()
	defer os.Remove(out.Name())
	cmd := exec.Command("strace", append([]string{"-f", "-c", "-o", out.Name()}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("strace %v: %w\n%s", args, err, b)
	}
	data, err := os.ReadFile(out.Name())
	if err != nil {
		return "", err
	}
	var parts []string
	for _, name := range []string{"fsync", "fdatasync", "syncfs", "openat", "renameat", "renameat2"} {
		calls := "0"
		for line := range strings.Lines(string(data)) {
			f := strings.Fields(line)
			if len(f) >= 5 && f[len(f)-1] == name {
				calls = f[3]
			}
		}
		parts = append(parts, name+" "+calls)
	}
	return strings.Join(parts, ", "), nil
}
