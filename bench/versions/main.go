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

func main() {
	ocm := flag.String("ocm", "./ocm", "ocm binary")
	counts := flag.String("versions", "1000,5000", "comma-separated version counts, one case each")
	runs := flag.Int("runs", 1, "runs per command (the median is reported)")
	dir := flag.String("dir", "", "work directory (default: a temp dir, removed afterwards)")
	flag.Parse()
	if err := run(*ocm, *counts, *runs, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ocm, counts string, runs int, dir string) error {
	if runs < 1 {
		return fmt.Errorf("-runs must be at least 1")
	}
	ocm, err := exec.LookPath(ocm)
	if err != nil {
		return err
	}
	if ocm, err = filepath.Abs(ocm); err != nil {
		return err
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "ocm-bench-versions-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	for _, c := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("-versions: %q is not a positive count", c)
		}
		if err := runCase(ocm, n, runs, filepath.Join(dir, c)); err != nil {
			return err
		}
	}
	return nil
}

func runCase(ocm string, n, runs int, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
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
  - name: notes
    type: plainText
    input:
      type: utf8
      text: "release notes of 1.0.%d"
`, i, i)
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
	var tAdd, tCp []time.Duration
	var rssAdd, rssCp int64
	for range runs {
		// Interleaved, the archive from the previous add copied by cp.
		os.RemoveAll(cpy)
		d, r, err := benchutil.Measure(cp)
		if err != nil {
			return err
		}
		tCp, rssCp = append(tCp, d), max(rssCp, r)
		os.RemoveAll(ctf)
		os.Remove(ctf + ".lock")
		d, r, err = benchutil.Measure(add)
		if err != nil {
			return err
		}
		tAdd, rssAdd = append(tAdd, d), max(rssAdd, r)
	}
	files, bytes := treeSize(ctf)
	mAdd, mCp := benchutil.Median(tAdd), benchutil.Median(tCp)
	fmt.Printf("case:                 %d versions of one component in one constructor (%d files, %d bytes in the CTF), %d run(s), medians\n", n, files, bytes, runs)
	fmt.Printf("  command:            %s\n", strings.Join(add, " "))
	fmt.Printf("  floor cp -r:        %v (peak RSS %.1f MiB)\n", mCp.Round(time.Millisecond), benchutil.MiB(rssCp))
	fmt.Printf("  ocm add cv:         %v (peak RSS %.1f MiB)\n", mAdd.Round(time.Millisecond), benchutil.MiB(rssAdd))
	fmt.Printf("  ratio ocm/cp:       %.2fx\n", float64(mAdd)/float64(mCp))
	if n >= 5000 {
		fmt.Printf("  target:             <= 10 s for 5,000 versions: %s\n", benchutil.Verdict(mAdd <= 10*time.Second))
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
