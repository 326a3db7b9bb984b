// Command verify benchmarks `ocm verify component-version` of a signed
// component version with a large local blob in a CTF directory against
// `sha256sum` of the same blob file, and reports the ratio and ocm's peak RSS.
// Verification re-hashes the blob by default; a run with --no-content (trust
// the recorded digest) is measured for information.
//
//	go run ./bench/verify -ocm ./ocm -size 1073741824
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ocmgo/ocm/bench/internal/benchutil"
)

func main() {
	var c benchutil.Common
	c.Flags(flag.CommandLine, 3, false)
	size := flag.Int64("size", 1<<30, "blob size in bytes")
	flag.Parse()
	if err := run(c, *size); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

const component = benchutil.Component

func run(c benchutil.Common, size int64) error {
	cleanup, err := c.Prepare("verify")
	if err != nil {
		return err
	}
	defer cleanup()
	ocm, runs, dir := c.OCM, c.Runs, c.Dir
	ctf := filepath.Join(dir, "ctf")
	blobPath, err := benchutil.MakeCTF(ctf, size)
	if err != nil {
		return err
	}
	ref := "ctf::" + ctf + "//" + component
	pub, err := signCTF(ocm, dir, ref)
	if err != nil {
		return err
	}

	sum := []string{"sha256sum", blobPath}
	verify := []string{ocm, "verify", "cv", ref, "--public-key", pub}
	noContent := append(slices.Clip(verify), "--no-content")
	// Check that both modes verify what they should (the content run
	// re-hashes the blob, the --no-content run does not); this also warms
	// the page cache so every command reads from memory.
	if err := check(verify, " ok"); err != nil {
		return err
	}
	if err := check(noContent, " not checked"); err != nil {
		return err
	}
	if _, _, err := benchutil.Measure(sum); err != nil {
		return err
	}
	// Interleave the commands: on this VM, memory freed and reused within a
	// second is cheap while memory reclaimed by the host is slow to touch
	// again, so running one command's runs back to back would favour it.
	cmds := [][]string{sum, verify, noContent}
	times := make([][]time.Duration, len(cmds))
	rss := make([]int64, len(cmds))
	for range runs {
		for i, c := range cmds {
			d, r, err := benchutil.Measure(c)
			if err != nil {
				return err
			}
			times[i] = append(times[i], d)
			rss[i] = max(rss[i], r)
		}
	}
	med := func(i int) time.Duration {
		slices.Sort(times[i])
		return times[i][len(times[i])/2]
	}
	sumTime, verTime, ncTime := med(0), med(1), med(2)
	mib := func(kib int64) float64 { return float64(kib) / 1024 }
	fmt.Printf("blob size:                 %d bytes (%.2f GiB), %d interleaved runs, medians\n", size, float64(size)/(1<<30), runs)
	fmt.Printf("sha256sum:                 %v (peak RSS %.1f MiB)\n", sumTime.Round(time.Millisecond), mib(rss[0]))
	fmt.Printf("ocm verify cv:             %v (peak RSS %.1f MiB)\n", verTime.Round(time.Millisecond), mib(rss[1]))
	fmt.Printf("ocm verify --no-content:   %v (peak RSS %.1f MiB; trusts the recorded digest)\n", ncTime.Round(time.Millisecond), mib(rss[2]))
	fmt.Printf("ratio verify/sha256sum:    %.2fx (target <= 1.20x)\n", float64(verTime)/float64(sumTime))
	fmt.Printf("ocm peak RSS:              %.1f MiB (verify), %.1f MiB (--no-content)\n", mib(rss[1]), mib(rss[2]))
	return nil
}

// signCTF creates an RSA key pair and a configuration naming the private
// key, signs the component version as signature "default" and returns the
// public key file.
func signCTF(ocm, dir, ref string) (string, error) {
	priv, pub := filepath.Join(dir, "k.priv"), filepath.Join(dir, "k.pub")
	if _, err := output(ocm, "create", "rsakeypair", priv, pub); err != nil {
		return "", err
	}
	cfg := filepath.Join(dir, ".ocmconfig")
	data := fmt.Sprintf(`type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: RSA/v1alpha1, algorithm: RSASSA-PSS, signature: default}
    credentials:
    - type: Credentials/v1
      properties: {private_key_pem_file: %q}
`, priv)
	if err := os.WriteFile(cfg, []byte(data), 0o600); err != nil {
		return "", err
	}
	if _, err := output(ocm, "sign", "cv", "--config", cfg, ref); err != nil {
		return "", err
	}
	return pub, nil
}

// check runs an ocm verify command and requires the line of resource big to
// end with status.
func check(args []string, status string) error {
	out, err := output(args...)
	if err != nil {
		return err
	}
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		if strings.Contains(line, "resource") && strings.Contains(line, "big") {
			if strings.HasSuffix(line, status) {
				return nil
			}
			return fmt.Errorf("%v: resource status is not %q:\n%s", args, strings.TrimSpace(status), out)
		}
	}
	return fmt.Errorf("%v: no line for resource big:\n%s", args, out)
}

func output(args ...string) (string, error) {
	cmd := exec.Command(args[0], args[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%v: %w\n%s", args, err, out.String())
	}
	return out.String(), nil
}
