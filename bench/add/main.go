// Command add benchmarks `ocm add cv` of one large file input into a new CTF
// archive, as a directory against `sha256sum` of the same file and as a .tgz
// against `gzip -1 -c | sha256sum`, and reports the ratios and ocm's peak RSS.
//
//	go run ./bench/add -ocm ./ocm -size 1073741824 -runs 3
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ocmgo/ocm/bench/internal/benchutil"
)

func main() {
	ocm := flag.String("ocm", "./ocm", "ocm binary")
	size := flag.Int64("size", 1<<30, "input file size in bytes")
	runs := flag.Int("runs", 3, "runs per command (min and median are reported)")
	dir := flag.String("dir", "", "work directory (default: a temp dir, removed afterwards)")
	flag.Parse()
	if *runs < 1 || *size < 1 {
		fmt.Fprintln(os.Stderr, "bench: -runs and -size must be at least 1")
		os.Exit(2)
	}
	if err := run(*ocm, *size, *runs, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// result is what a command's runs measured.
type result struct {
	min, median time.Duration
	maxRSS      int64 // KiB, the largest over the runs
}

func run(ocm string, size int64, runs int, dir string) error {
	ocm, err := exec.LookPath(ocm)
	if err != nil {
		return err
	}
	if ocm, err = filepath.Abs(ocm); err != nil {
		return err
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "ocm-bench-add-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}

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

	fmt.Printf("note: this VM's first-touch memory is slow and numbers vary from run to run;\n")
	fmt.Printf("      min and median of %d run(s) are printed.\n", runs)
	fmt.Printf("%-28s %d bytes (%.2f GiB)\n", "input size:", size, float64(size)/(1<<30))

	copyPath := filepath.Join(dir, "copy")
	ctfDir := filepath.Join(dir, "archive")
	tgz := filepath.Join(dir, "archive.tgz")

	// Outputs are removed once measured, so the work dir holds at most
	// twice the input size.
	cp, err := measureN([]string{"cp", file, copyPath}, runs, copyPath)
	if err != nil {
		return err
	}
	if err := os.Remove(copyPath); err != nil {
		return err
	}
	sum, err := measureN([]string{"sha256sum", file}, runs)
	if err != nil {
		return err
	}
	addDir, err := measureN([]string{ocm, "add", "cv", "--constructor", constr, "--repository", "ctf::" + ctfDir}, runs, ctfDir, ctfDir+".lock")
	if err != nil {
		return err
	}
	if err := checkBlob(ctfDir, hexsum, size); err != nil {
		return err
	}
	if err := os.RemoveAll(ctfDir); err != nil {
		return err
	}
	gz, err := measureN([]string{"sh", "-c", "gzip -1 -c " + shellQuote(file) + " | sha256sum"}, runs)
	if err != nil {
		return err
	}
	addTgz, err := measureN([]string{ocm, "add", "cv", "--constructor", constr, "--repository", tgz}, runs, tgz, tgz+".lock")
	if err != nil {
		return err
	}
	if fi, err := os.Stat(tgz); err != nil {
		return err
	} else if fi.Size() == 0 {
		return fmt.Errorf("%s is empty", tgz)
	}
	if err := os.Remove(tgz); err != nil {
		return err
	}

	line := func(name string, r result, rss bool) {
		fmt.Printf("%-28s min %9v  median %9v", name+":", r.min.Round(time.Millisecond), r.median.Round(time.Millisecond))
		if rss {
			fmt.Printf("  (peak RSS %.1f MiB)", mib(r.maxRSS))
		}
		fmt.Println()
	}
	ratio := func(a, b result) string {
		return fmt.Sprintf("min %.2fx  median %.2fx", float64(a.min)/float64(b.min), float64(a.median)/float64(b.median))
	}
	kv := func(name, format string, a ...any) {
		fmt.Printf("%-28s "+format+"\n", append([]any{name + ":"}, a...)...)
	}
	line("cp (context)", cp, true)
	fmt.Println("directory CTF:")
	line("  sha256sum", sum, true)
	line("  ocm add cv ctf::dir", addDir, true)
	kv("  ratio ocm/sha256sum", "%s (target <= 1.50x)", ratio(addDir, sum))
	kv("  ocm peak RSS", "%.1f MiB (target <= 200 MiB)", mib(addDir.maxRSS))
	fmt.Println(".tgz CTF:")
	line("  gzip -1 -c | sha256sum", gz, false)
	line("  ocm add cv archive.tgz", addTgz, true)
	kv("  ratio ocm/gzip|sha256sum", "%s", ratio(addTgz, gz))
	kv("  ocm peak RSS", "%.1f MiB", mib(addTgz.maxRSS))
	return nil
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

// measureN runs args n times, removing the paths in clean before each run,
// and returns the min and median wall time and the
// largest peak RSS.
func measureN(args []string, n int, clean ...string) (result, error) {
	var times []time.Duration
	var r result
	removeAll := func() error {
		for _, p := range clean {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
		return nil
	}
	for range n {
		if err := removeAll(); err != nil {
			return r, err
		}
		d, rss, err := benchutil.Measure(args)
		if err != nil {
			return r, err
		}
		times = append(times, d)
		r.maxRSS = max(r.maxRSS, rss)
	}
	slices.Sort(times)
	r.min, r.median = times[0], times[len(times)/2]
	return r, nil
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
