// Command download benchmarks `ocm download resource` of a large local blob
// from a CTF directory against `cp` of the same blob file, and reports the
// ratio and the peak RSS of both.
//
//	go run ./bench/download -ocm ./ocm -size 1073741824
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

func run(c benchutil.Common, size int64) error {
	cleanup, err := c.Prepare("download")
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
	out := filepath.Join(dir, "out.bin")
	cp := []string{"cp", blobPath, out}
	dl := []string{ocm, "download", "resource", "ctf::" + ctf + "//" + benchutil.Component, "--identity", "name=big", "--output", out, "--extraction-policy", "disable"}
	sum := []string{"sha256sum", blobPath}
	// Warm the page cache so every command reads from memory.
	if _, _, err := benchutil.Measure(cp); err != nil {
		return err
	}
	// Interleave the commands: on this VM, memory freed and reused within a
	// second is cheap while memory reclaimed by the host is slow to touch
	// again, so running one command's runs back to back would favour it.
	cmds := [][]string{cp, dl, sum}
	times := make([][]time.Duration, len(cmds))
	rss := make([]int64, len(cmds))
	for range runs {
		for i, c := range cmds {
			os.RemoveAll(out)
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
	cpTime, dlTime, sumTime := med(0), med(1), med(2)
	fmt.Printf("blob size:            %d bytes (%.2f GiB), %d interleaved runs, medians\n", size, float64(size)/(1<<30), runs)
	fmt.Printf("cp:                   %v (peak RSS %.1f MiB)\n", cpTime.Round(time.Millisecond), float64(rss[0])/1024)
	fmt.Printf("sha256sum:            %v (peak RSS %.1f MiB)\n", sumTime.Round(time.Millisecond), float64(rss[2])/1024)
	fmt.Printf("ocm download:         %v (peak RSS %.1f MiB)\n", dlTime.Round(time.Millisecond), float64(rss[1])/1024)
	fmt.Printf("ratio ocm/cp:         %.2fx (target <= 1.30x; cp copies in the kernel and hashes nothing)\n", float64(dlTime)/float64(cpTime))
	fmt.Printf("ratio ocm/sha256sum:  %.2fx\n", float64(dlTime)/float64(sumTime))
	fmt.Printf("ocm peak RSS:         %.1f MiB (target <= 100 MiB)\n", float64(rss[1])/1024)
	return nil
}
