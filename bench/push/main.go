// Command push benchmarks the write paths of `ocm transfer cv` into an OCI
// registry (benchreg: docker-registry out of process when installed, else
// olareg; on disk, on 127.0.0.1), each against a floor in the same
// interleaved runs, with peak RSS:
//
//	A: push a component version with a large local blob, CTF dir -> registry,
//	   against oras.Copy of the same blob from an OCI layout;
//	M: copy that version between two repositories of the same registry,
//	   where blobs are mounted instead of uploaded, against oras.Copy with
//	   MountFrom (a HEAD and a mount POST per blob); one untimed run of each
//	   through a counting proxy first shows that the blobs were mounted;
//	B: a graph of 50 component versions with 4 small blobs each
//	   (--recursive), CTF dir -> registry, with --concurrency-limit 8 and 1.
//
// With -before, an earlier ocm binary runs the same ocm commands in the
// same interleaved runs. Each run writes to fresh repositories, so nothing
// is skipped as already present.
//
//	go run ./bench/push -ocm ./ocm -before ./ocm-old -size 1073741824 -runs 3
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/ocmgo/ocm/bench/internal/benchreg"
	"github.com/ocmgo/ocm/bench/internal/benchutil"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository/ocimap"
)

const (
	graphSize  = 50   // component versions in case B
	graphBlobs = 4    // local blobs per component version
	graphBlob  = 4096 // bytes per blob
	version    = "1.0.0"
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
	size := flag.Int64("size", 1<<30, "blob size in bytes (cases A and M)")
	flag.StringVar(&registry, "registry", "", "distribution (docker-registry, out of process) or olareg (in process); default: distribution when installed")
	flag.Parse()
	if err := run(c, *size); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(c benchutil.Common, size int64) error {
	if size < 1 {
		return errors.New("-size must be at least 1")
	}
	cleanup, err := c.Prepare("push")
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

	regDir := filepath.Join(dir, "registry")
	regName, host, stop, err := benchreg.Start(registry, regDir)
	if err != nil {
		return err
	}
	defer stop()

	// Case A fixtures: the CTF and an OCI layout holding the same blob (hard
	// linked when possible) as the only layer of a manifest tagged "latest".
	ctfA := filepath.Join(dir, "ctf")
	blobPath, err := benchutil.MakeCTF(ctfA, size)
	if err != nil {
		return err
	}
	dgst := digest.Digest(strings.Replace(filepath.Base(blobPath), ".", ":", 1))
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
	compName, _, _ := strings.Cut(benchutil.Component, ":")
	compRepo := ocimap.RepositoryName(compName)

	// drop removes a run's top-level repository path from the registry's
	// store once checked: olareg keeps one blob store per repository, so
	// this bounds the disk use (distribution shares blobs: only the links go).
	drop := func(top string) error {
		if err := os.RemoveAll(filepath.Join(regDir, top)); err != nil {
			return err
		}
		return os.RemoveAll(filepath.Join(regDir, "data", "docker", "registry", "v2", "repositories", top))
	}
	// hasBlob checks that the repository repo below top (with RunID) got
	// the blob, then drops top.
	hasBlob := func(top, repo string) func(string) error {
		return func(id string) error {
			top := strings.ReplaceAll(top, benchutil.RunID, id)
			if err := checkBlob(host, top+"/"+repo, dgst, size); err != nil {
				return err
			}
			return drop(top)
		}
	}

	fmt.Printf("registry: %s on http://%s\n", regName, host)
	fmt.Printf("blob: %d bytes (%.2f GiB)\n", size, float64(size)/(1<<30))
	fmt.Println("note: the machine is shared (2 cores, other work running): compare ratios, which are measured interleaved in one run, not absolute times.")

	// Case A.
	cmdsA := benchutil.WithBefore([]benchutil.Cmd{
		{Name: "ocm transfer cv", Args: []string{ocm, "transfer", "cv", "ctf::" + ctfA + "//" + benchutil.Component, host + "/a-" + benchutil.RunID},
			Check: hasBlob("a-"+benchutil.RunID, compRepo)},
		{Name: "oras.Copy layout->registry", Args: []string{self, benchreg.CopyFlag, "layout:" + layout + ":latest", host + "/oras-" + benchutil.RunID + "/big:latest"},
			Check: hasBlob("oras-"+benchutil.RunID, "big")},
	}, ocm, before)
	res, err := benchutil.Interleave(cmdsA, runs)
	if err != nil {
		return err
	}
	benchutil.PrintComparison("A: push, CTF dir -> registry", cmdsA, res)
	fmt.Printf("  ours: %s\n", strings.Join(cmdsA[0].Args, " "))
	fmt.Printf("  target: ours/oras.Copy <= 1.10x: %s\n", benchutil.Verdict(float64(res[0].Median()) <= 1.1*float64(res[1].Median())))
	fmt.Printf("  target: ours peak RSS <= 200 MiB: %s\n", benchutil.Verdict(benchutil.MiB(res[0].RSS) <= 200))

	// Case M: the source is the version pushed once more (untimed).
	if _, _, err := benchutil.Measure([]string{ocm, "transfer", "cv", "ctf::" + ctfA + "//" + benchutil.Component, host + "/msrc"}); err != nil {
		return err
	}
	tag := ocimap.ToTag(version)
	cmdsM := benchutil.WithBefore([]benchutil.Cmd{
		{Name: "ocm transfer cv", Args: []string{ocm, "transfer", "cv", host + "/msrc//" + benchutil.Component, host + "/m-" + benchutil.RunID},
			Check: hasBlob("m-"+benchutil.RunID, compRepo)},
		{Name: "oras.Copy with MountFrom", Args: []string{self, benchreg.MountFlag, host + "/msrc/" + compRepo + ":" + tag, host + "/mo-" + benchutil.RunID + "/" + compRepo + ":" + tag},
			Check: hasBlob("mo-"+benchutil.RunID, compRepo)},
	}, ocm, before)
	mounts, err := probeMounts(cmdsM, host)
	if err != nil {
		return err
	}
	if res, err = benchutil.Interleave(cmdsM, runs); err != nil {
		return err
	}
	benchutil.PrintComparison("M: copy between two repositories of the registry (blobs mounted)", cmdsM, res)
	fmt.Printf("  ours: %s\n", strings.Join(cmdsM[0].Args, " "))
	fmt.Printf("  floor: oras.Copy with MountFrom = the source repository (per blob a HEAD, then a mount POST)\n")
	if strings.HasPrefix(regName, "olareg") {
		fmt.Println("  note: olareg mounts by copying the blob inside the registry (distribution links it)")
	}
	fmt.Println("  blobs mounted (one untimed run each, through a counting proxy):")
	for i, c := range cmdsM {
		fmt.Printf("    %-32s %s\n", c.Name+":", mounts[i])
	}

	// Case B: the same graph at concurrency 8 and 1, into fresh sub paths.
	graph := func(limit string) benchutil.Cmd {
		top := "g" + limit + "-" + benchutil.RunID
		return benchutil.Cmd{
			Name: "--concurrency-limit " + limit,
			Args: []string{ocm, "transfer", "cv", "--recursive", "--concurrency-limit", limit, "ctf::" + ctfB + "//" + root, host + "/" + top},
			// The last version of the chain is there.
			Check: func(id string) error {
				top := strings.ReplaceAll(top, benchutil.RunID, id)
				return checkManifest(host, top+"/"+ocimap.RepositoryName(graphName(graphSize-1)), ocimap.ToTag(version))
			},
		}
	}
	cmdsB := []benchutil.Cmd{graph("8"), graph("1")}
	if before != "" {
		cmdsB = append(cmdsB, benchutil.Before(cmdsB[0], ocm, before), benchutil.Before(cmdsB[1], ocm, before))
	}
	if res, err = benchutil.Interleave(cmdsB, runs); err != nil {
		return err
	}
	fmt.Printf("B: graph of %d component versions x %d local blobs of %d bytes (%d blobs), --recursive, CTF dir -> registry\n",
		graphSize, graphBlobs, graphBlob, graphSize*graphBlobs)
	fmt.Printf("  ours: %s\n", strings.Join(cmdsB[0].Args, " "))
	for i := range 2 {
		// Ours at one limit, and the earlier binary at the same limit.
		cmds, rs := []benchutil.Cmd{cmdsB[i]}, []benchutil.Result{res[i]}
		if before != "" {
			cmds, rs = append(cmds, cmdsB[i+2]), append(rs, res[i+2])
		}
		benchutil.PrintComparison("B: "+cmds[0].Name, cmds, rs)
	}
	fmt.Printf("  speed-up 8 vs 1, ours: %.2fx\n", float64(res[1].Median())/float64(res[0].Median()))
	if before != "" {
		fmt.Printf("  speed-up 8 vs 1, before: %.2fx\n", float64(res[3].Median())/float64(res[2].Median()))
	}
	return nil
}

// checkBlob asks the registry (HEAD) whether repo has the blob with its size,
// so a client that silently pushed nothing cannot win.
func checkBlob(host, repo string, dgst digest.Digest, size int64) error {
	resp, err := http.Head(benchreg.BlobURL(host, repo, dgst))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != size {
		return fmt.Errorf("registry %s: blob %s: status %d, length %d (want 200, %d)", repo, dgst, resp.StatusCode, resp.ContentLength, size)
	}
	return nil
}

// checkManifest asks the registry (HEAD) whether repo has the tag.
func checkManifest(host, repo, tag string) error {
	req, err := http.NewRequest(http.MethodHead, "http://"+host+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("registry %s: manifest %s: status %d", repo, tag, resp.StatusCode)
	}
	return nil
}

// probeMounts runs each command once, untimed, through a proxy in front of
// the registry that counts the mount POSTs (and how many the registry
// accepted) and the bytes of blob uploads, and returns the counts.
func probeMounts(cmds []benchutil.Cmd, host string) ([]string, error) {
	var tries, mounted, uploaded atomic.Int64
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: host})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/blobs/uploads/") {
			rp.ServeHTTP(w, r)
			return
		}
		if r.Body != nil {
			r.Body = countingReader{r.Body, &uploaded}
		}
		if r.Method == http.MethodPost && r.URL.Query().Get("mount") != "" {
			sw := &statusWriter{ResponseWriter: w}
			rp.ServeHTTP(sw, r)
			tries.Add(1)
			if sw.status == http.StatusCreated {
				mounted.Add(1)
			}
			return
		}
		rp.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Minute}
	go srv.Serve(ln)
	defer srv.Close()
	proxy := ln.Addr().String()
	var out []string
	for i, c := range cmds {
		tries.Store(0)
		mounted.Store(0)
		uploaded.Store(0)
		id := fmt.Sprintf("probe%d", i)
		args := make([]string, len(c.Args))
		for j, a := range c.Args {
			args[j] = strings.ReplaceAll(strings.ReplaceAll(a, host, proxy), benchutil.RunID, id)
		}
		if _, _, err := benchutil.Measure(args); err != nil {
			return nil, fmt.Errorf("%s through the counting proxy: %w", c.Name, err)
		}
		if err := c.Check(id); err != nil {
			return nil, fmt.Errorf("%s through the counting proxy: %w", c.Name, err)
		}
		out = append(out, fmt.Sprintf("%d of %d mount POSTs accepted, %d bytes uploaded", mounted.Load(), tries.Load(), uploaded.Load()))
	}
	return out, nil
}

type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func graphName(i int) string { return fmt.Sprintf("example.com/bench/graph/c%02d", i) }

// makeGraph writes graphSize component versions into the CTF directory dir,
// each with graphBlobs local blobs of graphBlob random bytes and a reference
// to the next one, and returns the first one's name:version.
func makeGraph(dir string) (string, error) {
	rng := rand.NewChaCha8([32]byte{2})
	name := graphName
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
