// Command read benchmarks the read paths of a large local blob, each against
// floors on the same data in the same run (interleaved), with peak RSS:
//
//	download resource from a CTF dir   vs  tee < blob | sha256sum
//	download resource from a registry  vs  oras-go blob fetch; curl | tee | sha256sum
//	transfer registry -> CTF dir       vs  oras.Copy registry -> OCI layout; curl | tee | sha256sum
//	transfer CTF dir -> CTF dir        vs  oras.Copy layout -> layout; cp + sha256sum
//
// The registry is olareg with on-disk storage, served by this process on
// 127.0.0.1; the oras-go baselines run as child processes of this binary.
//
//	go run ./bench/read -ocm ./ocm -size 1073741824 -runs 3
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/ocmgo/ocm/bench/internal/benchreg"
	"github.com/ocmgo/ocm/bench/internal/benchutil"
	"github.com/ocmgo/ocm/repository/ocimap"
)

var registry, before string

func main() {
	if ok, err := benchreg.RunBaseline(os.Args[1:]); ok {
		if err != nil {
			fmt.Fprintln(os.Stderr, "baseline:", err)
			os.Exit(1)
		}
		return
	}
	var c benchutil.Common
	c.Flags(flag.CommandLine, 3, true)
	size := flag.Int64("size", 1<<30, "blob size in bytes")
	flag.StringVar(&registry, "registry", "", "distribution (docker-registry, out of process) or olareg (in process); default: distribution when installed")
	only := flag.String("rows", "1,2,3,4", "rows to run: 1 download CTF, 2 download registry, 3 transfer registry->CTF, 4 transfer CTF->CTF")
	flag.Parse()
	if err := run(c, *size, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(c benchutil.Common, size int64, only string) error {
	cleanup, err := c.Prepare("read")
	if err != nil {
		return err
	}
	defer cleanup()
	ocm, runs, dir := c.OCM, c.Runs, c.Dir
	before = c.Before
	self, err := os.Executable()
	if err != nil {
		return err
	}
	rows := map[string]bool{}
	for _, r := range strings.Split(only, ",") {
		rows[strings.TrimSpace(r)] = true
	}

	// Fixtures: a CTF with the blob, an OCI layout holding the same blob
	// (hard link), the registry holding the component version.
	ctf := filepath.Join(dir, "ctf")
	blobPath, err := benchutil.MakeCTF(ctf, size)
	if err != nil {
		return err
	}
	dgst := digest.Digest(strings.Replace(filepath.Base(blobPath), ".", ":", 1))
	layout := filepath.Join(dir, "layout")
	if err := benchutil.MakeLayout(layout, blobPath, size); err != nil {
		return err
	}
	regName, host, stop, err := benchreg.Start(registry, filepath.Join(dir, "registry"))
	if err != nil {
		return err
	}
	defer stop()
	compName, _, _ := strings.Cut(benchutil.Component, ":")
	repo := "bench/" + ocimap.RepositoryName(compName)
	if _, _, err := benchutil.Measure([]string{ocm, "transfer", "cv", "ctf::" + ctf + "//" + benchutil.Component, host + "/bench"}); err != nil {
		return err
	}
	// The layout's manifest in the registry too, for oras.Copy from it.
	if _, _, err := benchutil.Measure([]string{self, benchreg.CopyFlag, "layout:" + layout + ":latest", host + "/oras/big:latest"}); err != nil {
		return err
	}
	url := benchreg.BlobURL(host, repo, dgst)
	out := filepath.Join(dir, "out.bin")
	outDir := filepath.Join(dir, "out")
	clean := func() error {
		os.Remove(out)
		os.Remove(outDir + ".lock")
		return os.RemoveAll(outDir)
	}
	sh := func(script string) []string { return []string{"sh", "-c", script} }
	q := shellQuote
	fmt.Printf("blob: %d bytes (%.2f GiB), registry %s on http://%s\n", size, float64(size)/(1<<30), regName, host)
	fmt.Println("note: the machine is shared (2 cores, other work running): compare ratios, which are measured interleaved in one run, not absolute times.")

	type row struct {
		id, title string
		cmds      []benchutil.Cmd
	}
	dl := func(src string) []string {
		return []string{ocm, "download", "resource", src + "//" + benchutil.Component, "--identity", "name=big", "--output", out, "--extraction-policy", "disable"}
	}
	all := []row{
		{"1", "download resource from a CTF dir", []benchutil.Cmd{
			{Name: "ocm download", Args: dl("ctf::" + ctf), Setup: clean},
			{Name: "tee|sha256sum", Args: sh("tee " + q(out) + " < " + q(blobPath) + " | sha256sum"), Setup: clean},
		}},
		{"2", "download resource from a registry", []benchutil.Cmd{
			{Name: "ocm download", Args: dl(host + "/bench"), Setup: clean},
			{Name: "oras-go blob fetch", Args: []string{self, benchreg.FetchFlag, host + "/" + repo + "@" + dgst.String(), out}, Setup: clean},
			{Name: "curl|tee|sha256sum", Args: sh("curl -sf " + q(url) + " | tee " + q(out) + " | sha256sum"), Setup: clean},
		}},
		{"3", "transfer registry -> CTF dir", []benchutil.Cmd{
			{Name: "ocm transfer", Args: []string{ocm, "transfer", "cv", host + "/bench//" + benchutil.Component, outDir}, Setup: clean},
			{Name: "oras.Copy registry->layout", Args: []string{self, benchreg.CopyFlag, host + "/oras/big:latest", "layout:" + outDir + ":latest"}, Setup: clean},
			{Name: "curl|tee|sha256sum", Args: sh("curl -sf " + q(url) + " | tee " + q(out) + " | sha256sum"), Setup: clean},
		}},
		{"4", "transfer CTF dir -> CTF dir", []benchutil.Cmd{
			{Name: "ocm transfer", Args: []string{ocm, "transfer", "cv", "ctf::" + ctf + "//" + benchutil.Component, outDir}, Setup: clean},
			{Name: "oras.Copy layout->layout", Args: []string{self, benchreg.CopyFlag, "layout:" + layout + ":latest", "layout:" + outDir + ":latest"}, Setup: clean},
			{Name: "cp + sha256sum", Args: sh("cp " + q(blobPath) + " " + q(out) + " && sha256sum " + q(out)), Setup: clean},
		}},
	}
	// Warm the page cache.
	if _, _, err := benchutil.Measure([]string{"sha256sum", blobPath}); err != nil {
		return err
	}
	for _, r := range all {
		if !rows[r.id] {
			continue
		}
		r.cmds = benchutil.WithBefore(r.cmds, ocm, before)
		res, err := benchutil.Interleave(r.cmds, runs)
		if err != nil {
			return err
		}
		benchutil.PrintComparison("row "+r.id+": "+r.title, r.cmds, res)
		fmt.Printf("  targets: ours <= 1.30x its floor, peak RSS <= 200 MiB (ours: %.1f MiB)\n", benchutil.MiB(res[0].RSS))
	}
	return clean()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
