// Command graph benchmarks walking a graph of about 200 component versions
// in an OCI registry (olareg, on disk, served by this process on
// 127.0.0.1): `ocm get cv --recursive`, `ocm verify cv` (signature, every
// reference digest, every local blob re-hashed) and a rerun of `ocm
// transfer cv --recursive` into a CTF dir that has everything already.
// Each is measured against a floor in the same run (interleaved): an HTTP
// client that knows the versions beforehand and makes only the requests the
// data needs, 8 at a time: GET of each manifest by tag and of its descriptor
// layer (and, for verify, GET + SHA-256 of each local blob).
//
//	go run ./bench/graph -ocm ./ocm -runs 3
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/ocmgo/ocm/bench/internal/benchreg"
	"github.com/ocmgo/ocm/bench/internal/benchutil"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// The graph: a root referencing mids, each referencing leaves; every
// version has blobs local blobs of blobSize bytes.
const (
	mids     = 10
	leaves   = 19 // per mid
	blobs    = 4
	blobSize = 4096
	version  = "1.0.0"
)

// walkFlag makes the runner the floor client: walkFlag host listfile blobs.
const walkFlag = "-baseline-walk"

var registry, before string

func main() {
	if len(os.Args) == 5 && os.Args[1] == walkFlag {
		if err := walk(os.Args[2], os.Args[3], os.Args[4] == "1"); err != nil {
			fmt.Fprintln(os.Stderr, "baseline:", err)
			os.Exit(1)
		}
		return
	}
	var c benchutil.Common
	c.Flags(flag.CommandLine, 3, true)
	flag.StringVar(&registry, "registry", "", "distribution (docker-registry, out of process) or olareg (in process); default: distribution when installed")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(c benchutil.Common) error {
	cleanup, err := c.Prepare("graph")
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
	ctf := filepath.Join(dir, "graph")
	root, names, err := makeGraph(ctf)
	if err != nil {
		return err
	}
	pub, err := sign(ocm, dir, "ctf::"+ctf+"//"+root)
	if err != nil {
		return err
	}
	regName, host, stop, err := benchreg.Start(registry, filepath.Join(dir, "registry"))
	if err != nil {
		return err
	}
	defer stop()
	if _, _, err := benchutil.Measure([]string{ocm, "transfer", "cv", "--recursive", "ctf::" + ctf + "//" + root, host + "/graph"}); err != nil {
		return err
	}
	list := filepath.Join(dir, "versions.txt")
	var lines []string
	for _, n := range names {
		lines = append(lines, "graph/"+ocimap.RepositoryName(n)+" "+ocimap.ToTag(version))
	}
	if err := os.WriteFile(list, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	src := host + "/graph//" + root
	target := filepath.Join(dir, "target")
	transfer := []string{ocm, "transfer", "cv", "--recursive", src, target}
	// The rerun's target has everything already.
	if _, _, err := benchutil.Measure(transfer); err != nil {
		return err
	}
	floor := func(blobs bool) benchutil.Cmd {
		flag, name := "0", "floor (2 GETs/version)"
		if blobs {
			flag, name = "1", "floor (2 GETs/version + blobs)"
		}
		return benchutil.Cmd{Name: name, Args: []string{self, walkFlag, host, list, flag}}
	}
	fmt.Printf("graph: %d component versions (root, %d mids, %d leaves each), %d local blobs of %d bytes each, registry %s on http://%s\n",
		len(names), mids, leaves, blobs, blobSize, regName, host)
	fmt.Println("note: the machine is shared (2 cores, other work running): compare ratios, which are measured interleaved in one run, not absolute times.")
	cases := []struct {
		title  string
		cmds   []benchutil.Cmd
		target time.Duration
	}{
		{"get cv --recursive", []benchutil.Cmd{{Name: "ocm get --recursive", Args: []string{ocm, "get", "cv", "--recursive", "-o", "json", src}}, floor(false)}, 0},
		{"verify cv (content re-hashed)", []benchutil.Cmd{{Name: "ocm verify", Args: []string{ocm, "verify", "cv", src, "--public-key", pub}}, floor(true)}, 2 * time.Second},
		{"rerun of transfer --recursive registry -> CTF dir", []benchutil.Cmd{{Name: "ocm transfer (rerun)", Args: transfer}, floor(false)}, 300 * time.Millisecond},
	}
	for _, c := range cases {
		c.cmds = benchutil.WithBefore(c.cmds, ocm, before)
		res, err := benchutil.Interleave(c.cmds, runs)
		if err != nil {
			return err
		}
		benchutil.PrintComparison(c.title, c.cmds, res)
		if c.target > 0 {
			fmt.Printf("  target: ours <= %v: %s\n", c.target, benchutil.Verdict(res[0].Median() <= c.target))
		}
	}
	return nil
}

// walk is the floor client: for every "repository tag" line of listfile it
// GETs the manifest by tag and its first layer (the descriptor), and with
// blobs every other layer, hashing it; 8 versions at a time.
func walk(host, listfile string, withBlobs bool) error {
	f, err := os.Open(listfile)
	if err != nil {
		return err
	}
	defer f.Close()
	ctx := context.Background()
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	get := func(ctx context.Context, url, accept string, w io.Writer) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		_, err = io.Copy(w, resp.Body)
		return err
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		repo, tag, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		base := "http://" + host + "/v2/" + repo
		g.Go(func() error {
			var buf strings.Builder
			if err := get(ctx, base+"/manifests/"+tag, ocispec.MediaTypeImageManifest+","+ocispec.MediaTypeImageIndex, &buf); err != nil {
				return err
			}
			var m ocispec.Manifest
			if err := json.Unmarshal([]byte(buf.String()), &m); err != nil || len(m.Layers) == 0 {
				return fmt.Errorf("%s:%s: no manifest with layers: %v", repo, tag, err)
			}
			for i, l := range m.Layers {
				if i > 0 && !withBlobs {
					break
				}
				h := sha256.New()
				if err := get(ctx, base+"/blobs/"+l.Digest.String(), "", h); err != nil {
					return err
				}
				if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != l.Digest.String() {
					return fmt.Errorf("%s: content hashes to %s", l.Digest, got)
				}
			}
			return nil
		})
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return g.Wait()
}

// makeGraph writes the graph into the CTF dir and returns the root's
// name:version and every component name.
func makeGraph(dir string) (string, []string, error) {
	rng := rand.NewChaCha8([32]byte{3})
	var names []string
	built := map[string]*descriptor.Descriptor{}
	add := func(name string, refs []string) error {
		cd := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: "v2"}, Component: descriptor.Component{
			Name: name, Version: version, Provider: "example.com",
		}}
		var layers []testutil.Layer
		for j := range blobs {
			data := make([]byte, blobSize)
			rng.Read(data)
			d := digest.FromBytes(data)
			acc, err := descriptor.NewTyped(descriptor.LocalBlobAccess{Type: "LocalBlob/v1", LocalReference: d.String(), MediaType: "application/octet-stream"})
			if err != nil {
				return err
			}
			cd.Component.Resources = append(cd.Component.Resources, descriptor.Resource{
				ElementMeta: descriptor.ElementMeta{Name: fmt.Sprintf("blob%d", j), Version: version},
				Type:        "blob", Relation: "local", Access: &acc,
				Digest: &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "genericBlobDigest/v1", Value: d.Encoded()},
			})
			layers = append(layers, testutil.Layer{MediaType: "application/octet-stream", Data: data})
		}
		for i, r := range refs {
			// Reference digests as signing records them, at every level,
			// so that the signature of the root covers the whole graph.
			dg, err := normalisation.Digest(built[r], normalisation.JSONv4alpha1, normalisation.SHA256)
			if err != nil {
				return err
			}
			cd.Component.References = append(cd.Component.References, descriptor.Reference{
				ElementMeta:   descriptor.ElementMeta{Name: fmt.Sprintf("ref%02d", i), Version: version},
				ComponentName: r, Digest: dg,
			})
		}
		built[name] = cd
		names = append(names, name)
		return testutil.AddComponentVersion(dir, cd, layers...)
	}
	var midNames []string
	for m := range mids {
		mid := fmt.Sprintf("example.com/bench/graph/m%02d", m)
		var leafNames []string
		for l := range leaves {
			leaf := fmt.Sprintf("example.com/bench/graph/m%02d/l%02d", m, l)
			if err := add(leaf, nil); err != nil {
				return "", nil, err
			}
			leafNames = append(leafNames, leaf)
		}
		if err := add(mid, leafNames); err != nil {
			return "", nil, err
		}
		midNames = append(midNames, mid)
	}
	const root = "example.com/bench/graph/root"
	if err := add(root, midNames); err != nil {
		return "", nil, err
	}
	return root + ":" + version, names, nil
}

// sign creates an RSA key pair, signs ref as signature "default" and
// returns the public key file.
func sign(ocm, dir, ref string) (string, error) {
	priv, pub := filepath.Join(dir, "k.priv"), filepath.Join(dir, "k.pub")
	if out, err := exec.Command(ocm, "create", "rsakeypair", priv, pub).CombinedOutput(); err != nil {
		return "", fmt.Errorf("create rsakeypair: %w\n%s", err, out)
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
	if out, err := exec.Command(ocm, "sign", "cv", "--config", cfg, ref).CombinedOutput(); err != nil {
		return "", fmt.Errorf("sign cv: %w\n%s", err, out)
	}
	return pub, nil
}
