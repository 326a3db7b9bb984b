// Command push benchmarks `ocm transfer cv` from a CTF directory into an OCI
// registry (olareg with on-disk storage, served on 127.0.0.1 by this process).
//
// Case A pushes one component version with a large local blob and compares
// it with pushing the same blob with plain oras-go (oras.Copy from an OCI
// layout to the registry); both run as child processes, so wall time and
// peak RSS are measured the same way. Case B transfers a graph of 50
// component versions with 4 small blobs each (--recursive) with
// --concurrency-limit 8 and 1.
//
//	go run ./bench/push -ocm ./ocm -size 1073741824 -runs 3
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"
	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/ocmgo/ocm/bench/internal/benchutil"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// baselineFlag makes the runner act as the oras-go baseline client:
// `push -baseline-push <layoutdir> <ref>`. It is handled before flag parsing
// so it does not show up in -help.
const baselineFlag = "-baseline-push"

const (
	graphSize  = 50   // component versions in case B
	graphBlobs = 4    // local blobs per component version
	graphBlob  = 4096 // bytes per blob
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == baselineFlag {
		if err := baselinePush(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "baseline push:", err)
			os.Exit(1)
		}
		return
	}
	ocm := flag.String("ocm", "./ocm", "ocm binary")
	size := flag.Int64("size", 1<<30, "blob size in bytes (case A)")
	runs := flag.Int("runs", 3, "runs per command (the median is reported)")
	dir := flag.String("dir", "", "work directory (default: a temp dir, removed afterwards)")
	flag.Parse()
	if err := run(*ocm, *size, *runs, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// baselinePush copies the tag "latest" of the OCI layout at layoutDir to ref
// (host/repo:tag, plain HTTP) with oras.Copy.
func baselinePush(layoutDir, ref string) error {
	ctx := context.Background()
	src, err := oci.NewFromFS(ctx, os.DirFS(layoutDir))
	if err != nil {
		return err
	}
	repoRef, tag, ok := strings.Cut(ref[strings.LastIndex(ref, "/")+1:], ":")
	if !ok {
		return fmt.Errorf("%s: no tag", ref)
	}
	repoRef = ref[:strings.LastIndex(ref, "/")+1] + repoRef
	dst, err := remote.NewRepository(repoRef)
	if err != nil {
		return err
	}
	dst.PlainHTTP = true
	_, err = oras.Copy(ctx, src, "latest", dst, tag, oras.DefaultCopyOptions)
	return err
}

func run(ocm string, size int64, runs int, dir string) error {
	if runs < 1 {
		return errors.New("-runs must be at least 1")
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "ocm-bench-push-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	if abs, err := filepath.Abs(ocm); err == nil && strings.ContainsRune(ocm, os.PathSeparator) {
		ocm = abs
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}

	// The registry: olareg, one on-disk blob store per repository.
	regDir := filepath.Join(dir, "registry")
	reg := olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreDir, RootDir: regDir}})
	defer reg.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: reg, ReadHeaderTimeout: time.Minute}
	go srv.Serve(ln)
	defer srv.Close()
	host := ln.Addr().String()

	// Case A fixtures: the CTF and an OCI layout holding the same blob (hard
	// linked when possible) as the only layer of a manifest tagged "latest".
	ctfA := filepath.Join(dir, "ctf")
	blobPath, err := benchutil.MakeCTF(ctfA, size)
	if err != nil {
		return err
	}
	layout := filepath.Join(dir, "layout")
	if err := benchutil.MakeLayout(layout, blobPath, size); err != nil {
		return err
	}
	// Case B fixture.
	ctfB := filepath.Join(dir, "graph")
	root, err := makeGraph(ctfB)
	if err != nil {
		return err
	}

	// Case A. Each run pushes into fresh repositories so nothing is skipped
	// as already present; the previous run's repositories are removed to
	// keep the disk use at one copy per client. The commands are
	// interleaved, as in the other runners, so neither profits from the
	// page cache or memory reuse pattern of a particular order.
	fmt.Printf("registry:             olareg (on-disk store %s) on http://%s\n", regDir, host)
	var tOCM, tORAS []time.Duration
	var rssOCM, rssORAS int64
	var lastA, lastB string
	for i := range runs {
		repoA := fmt.Sprintf("ocm/a%d", i)
		repoB := fmt.Sprintf("oras/a%d", i)
		cmdOCM := []string{ocm, "transfer", "cv", "ctf::" + ctfA + "//" + benchutil.Component, host + "/" + repoA}
		cmdORAS := []string{self, baselineFlag, layout, host + "/" + repoB + ":latest"}
		if i == 0 {
			fmt.Printf("case A ocm:           %s\n", strings.Join(cmdOCM, " "))
			fmt.Printf("case A oras:          %s\n", strings.Join(cmdORAS, " "))
		}
		for j, c := range [][]string{cmdOCM, cmdORAS} {
			if i%2 == 1 { // alternate which client goes first
				c = [][]string{cmdORAS, cmdOCM}[j]
			}
			d, r, err := benchutil.Measure(c)
			if err != nil {
				return err
			}
			if c[0] == ocm {
				tOCM, rssOCM = append(tOCM, d), max(rssOCM, r)
			} else {
				tORAS, rssORAS = append(tORAS, d), max(rssORAS, r)
			}
		}
		compName, _, _ := strings.Cut(benchutil.Component, ":")
		if err := checkBlob(host, repoA+"/"+ocimap.RepositoryName(compName), blobPath, size); err != nil {
			return err
		}
		if err := checkBlob(host, repoB, blobPath, size); err != nil {
			return err
		}
		// Drop the previous run's repositories (not this run's: the checks
		// above just read them).
		if lastA != "" {
			os.RemoveAll(filepath.Join(regDir, filepath.FromSlash(lastA)))
			os.RemoveAll(filepath.Join(regDir, filepath.FromSlash(lastB)))
		}
		lastA, lastB = repoA, repoB
	}
	mOCM, mORAS := median(tOCM), median(tORAS)
	fmt.Printf("blob size:            %d bytes (%.2f GiB), %d interleaved runs, medians\n", size, float64(size)/(1<<30), runs)
	fmt.Printf("oras.Copy:            %v (peak RSS %.1f MiB) runs %v\n", mORAS.Round(time.Millisecond), float64(rssORAS)/1024, rounded(tORAS))
	fmt.Printf("ocm transfer cv:      %v (peak RSS %.1f MiB) runs %v\n", mOCM.Round(time.Millisecond), float64(rssOCM)/1024, rounded(tOCM))
	fmt.Printf("ratio ocm/oras:       %.2fx (target <= 1.10x)\n", float64(mOCM)/float64(mORAS))
	fmt.Printf("ocm peak RSS:         %.1f MiB (target <= 200 MiB)\n", float64(rssOCM)/1024)

	// Case B: the same graph at concurrency 8 and 1, into fresh sub paths.
	var t8, t1 []time.Duration
	var rss8, rss1 int64
	for i := range runs {
		for j, limit := range []string{"8", "1"} {
			if i%2 == 1 {
				limit = []string{"1", "8"}[j]
			}
			c := []string{ocm, "transfer", "cv", "--recursive", "--concurrency-limit", limit,
				"ctf::" + ctfB + "//" + root, fmt.Sprintf("%s/graph/c%s-r%d", host, limit, i)}
			if i == 0 {
				fmt.Printf("case B (limit %s):     %s\n", limit, strings.Join(c, " "))
			}
			d, r, err := benchutil.Measure(c)
			if err != nil {
				return err
			}
			if limit == "8" {
				t8, rss8 = append(t8, d), max(rss8, r)
			} else {
				t1, rss1 = append(t1, d), max(rss1, r)
			}
		}
	}
	m8, m1 := median(t8), median(t1)
	fmt.Printf("graph:                %d component versions x %d local blobs of %d bytes (%d blobs), --recursive, %d interleaved runs, medians\n",
		graphSize, graphBlobs, graphBlob, graphSize*graphBlobs, runs)
	fmt.Printf("--concurrency-limit 1: %v (peak RSS %.1f MiB) runs %v\n", m1.Round(time.Millisecond), float64(rss1)/1024, rounded(t1))
	fmt.Printf("--concurrency-limit 8: %v (peak RSS %.1f MiB) runs %v\n", m8.Round(time.Millisecond), float64(rss8)/1024, rounded(t8))
	fmt.Printf("speed-up 8 vs 1:       %.2fx\n", float64(m1)/float64(m8))
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func rounded(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// checkBlob asks the registry (HEAD) whether repo has the blob with its size,
// so a client that silently pushed nothing cannot win.
func checkBlob(host, repo, blobPath string, size int64) error {
	name := filepath.Base(blobPath) // sha256.<hex>
	dgst := strings.Replace(name, ".", ":", 1)
	resp, err := http.Head("http://" + host + "/v2/" + repo + "/blobs/" + dgst)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != size {
		return fmt.Errorf("registry %s: blob %s: status %d, length %d (want 200, %d)", repo, dgst, resp.StatusCode, resp.ContentLength, size)
	}
	return nil
}

// makeGraph writes graphSize component versions into the CTF directory dir,
// each with graphBlobs local blobs of graphBlob random bytes and a reference
// to the next one, and returns the first one's name:version.
func makeGraph(dir string) (string, error) {
	rng := rand.NewChaCha8([32]byte{2})
	name := func(i int) string { return fmt.Sprintf("example.com/bench/graph/c%02d", i) }
	const version = "1.0.0"
	for i := range graphSize {
		cd := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: "v2"}, Component: descriptor.Component{
			Name: name(i), Version: version, Provider: "example.com",
		}}
		var layers []testutil.Layer
		for j := range graphBlobs {
			data := make([]byte, graphBlob)
			rng.Read(data)
			d := digest.FromBytes(data)
			access, err := descriptor.NewTyped(descriptor.LocalBlobAccess{Type: "LocalBlob/v1", LocalReference: d.String(), MediaType: "application/octet-stream"})
			if err != nil {
				return "", err
			}
			cd.Component.Resources = append(cd.Component.Resources, descriptor.Resource{
				ElementMeta: descriptor.ElementMeta{Name: fmt.Sprintf("blob%d", j), Version: version},
				Type:        "blob", Relation: "local", Access: &access,
				Digest: &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "genericBlobDigest/v1", Value: d.Encoded()},
			})
			layers = append(layers, testutil.Layer{MediaType: "application/octet-stream", Data: data})
		}
		if i+1 < graphSize {
			cd.Component.References = []descriptor.Reference{{
				ElementMeta:   descriptor.ElementMeta{Name: fmt.Sprintf("next%02d", i+1), Version: version},
				ComponentName: name(i + 1),
			}}
		}
		if err := testutil.AddComponentVersion(dir, cd, layers...); err != nil {
			return "", err
		}
	}
	return name(0) + ":" + version, nil
}
