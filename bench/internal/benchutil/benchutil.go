// Package benchutil holds what the benchmark runners share: timing child
// processes with their peak RSS, and building fixtures.
package benchutil

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
)

// Measure runs args once with stdout discarded and returns the wall time and
// the peak RSS in KiB (rusage Maxrss; for `sh -c` that is the largest of the
// shell's children, not their sum). stderr is captured rather than passed on
// so ocm never sees a terminal and draws no progress bars.
func Measure(args []string) (time.Duration, int64, error) {
	cmd := exec.Command(args[0], args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru != nil {
		rss = int64(ru.Maxrss)
	}
	return d, rss, nil
}

// MakeFile streams size random bytes (ChaCha8, fixed seed) to path and
// returns their SHA-256 in hex.
func MakeFile(path string, size int64) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.NewChaCha8([32]byte{1}), size); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Component is the component version MakeCTF writes.
const Component = "example.com/bench/big:1.0.0"

// MakeCTF writes a CTF directory with one component version (Component)
// holding one local blob "big" of size random bytes, and returns the blob's path.
func MakeCTF(dir string, size int64) (string, error) {
	blobs := filepath.Join(dir, "blobs")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return "", err
	}
	tmp := filepath.Join(blobs, "tmp")
	hexsum, err := MakeFile(tmp, size)
	if err != nil {
		return "", err
	}
	blobPath := filepath.Join(blobs, "sha256."+hexsum)
	if err := os.Rename(tmp, blobPath); err != nil {
		return "", err
	}
	access, err := descriptor.NewTyped(descriptor.LocalBlobAccess{Type: "LocalBlob/v1", LocalReference: "sha256:" + hexsum, MediaType: "application/octet-stream"})
	if err != nil {
		return "", err
	}
	name, version, _ := strings.Cut(Component, ":")
	cd := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: "v2"}, Component: descriptor.Component{
		Name: name, Version: version, Provider: "example.com",
		Resources: []descriptor.Resource{{
			ElementMeta: descriptor.ElementMeta{Name: "big", Version: version},
			Type:        "blob", Relation: "local", Access: &access,
			Digest: &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "genericBlobDigest/v1", Value: hexsum},
		}},
	}}
	layer := testutil.Layer{Desc: ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.Digest("sha256:" + hexsum), Size: size}}
	return blobPath, testutil.AddComponentVersion(dir, cd, layer)
}

// Median returns the median of ds (which it sorts).
func Median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// MiB converts KiB (rusage) to MiB.
func MiB(kib int64) float64 { return float64(kib) / 1024 }

// Verdict spells a target check.
func Verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// RunID in an argument of a Cmd is replaced, in each run, by an id unique
// to the command and the run ("c<command>r<round>"), for commands that need
// a fresh output they cannot remove (a registry repository).
const RunID = "{run}"

// Cmd is one command of an interleaved comparison. Setup, if set, runs
// before each run, untimed (removing the previous run's output). Check, if
// set, runs after each run, untimed, with the run's id (see RunID): it
// verifies the output, so that a command that wrote nothing cannot win.
type Cmd struct {
	Name  string
	Args  []string
	Setup func() error
	Check func(id string) error
}

// Result is what the runs of one Cmd measured.
type Result struct {
	Times []time.Duration
	RSS   int64 // KiB, the largest over the runs
}

// Median is the median run time.
func (r Result) Median() time.Duration { return Median(r.Times) }

// Interleave runs every command runs times, one run of each in turn (the
// order rotating each round), so that all of them see the same machine:
// on a VM shared with other work, load changes from second to second and
// only ratios measured this way mean something.
func Interleave(cmds []Cmd, runs int) ([]Result, error) {
	res := make([]Result, len(cmds))
	for round := range runs {
		for k := range cmds {
			i := (k + round) % len(cmds)
			c := cmds[i]
			if c.Setup != nil {
				if err := c.Setup(); err != nil {
					return nil, fmt.Errorf("%s: setup: %w", c.Name, err)
				}
			}
			id := fmt.Sprintf("c%dr%d", i, round)
			args := make([]string, len(c.Args))
			for j, a := range c.Args {
				args[j] = strings.ReplaceAll(a, RunID, id)
			}
			d, rss, err := Measure(args)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.Name, err)
			}
			if c.Check != nil {
				if err := c.Check(id); err != nil {
					return nil, fmt.Errorf("%s: check: %w", c.Name, err)
				}
			}
			res[i].Times = append(res[i].Times, d)
			res[i].RSS = max(res[i].RSS, rss)
		}
	}
	return res, nil
}

// PrintComparison prints each command's median and peak RSS and the ratio
// of the first (ours) to each of the others (floors).
func PrintComparison(title string, cmds []Cmd, res []Result) {
	fmt.Printf("%s (%d interleaved runs, medians)\n", title, len(res[0].Times))
	for i, c := range cmds {
		fmt.Printf("  %-34s %9v  peak RSS %7.1f MiB  runs %v\n", c.Name+":", res[i].Median().Round(time.Millisecond), MiB(res[i].RSS), rounded(res[i].Times))
	}
	for i := 1; i < len(cmds); i++ {
		fmt.Printf("  ratio %-34s %.2fx\n", "ours/"+cmds[i].Name+":", float64(res[0].Median())/float64(res[i].Median()))
	}
}

func rounded(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// MakeLayout writes an OCI image layout at dir whose tag "latest" is a
// manifest with the blob at blobPath as its only layer.
func MakeLayout(dir, blobPath string, size int64) error {
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	hexsum := strings.TrimPrefix(filepath.Base(blobPath), "sha256.")
	if err := os.Link(blobPath, filepath.Join(blobs, hexsum)); err != nil {
		if _, err := MakeFile(filepath.Join(blobs, hexsum), size); err != nil {
			return err
		}
	}
	put := func(mediaType string, data []byte) (ocispec.Descriptor, error) {
		d := digest.FromBytes(data)
		err := os.WriteFile(filepath.Join(blobs, d.Encoded()), data, 0o644)
		return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}, err
	}
	cfg, err := put(ocispec.MediaTypeEmptyJSON, []byte("{}"))
	if err != nil {
		return err
	}
	manifest, _ := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: "application/vnd.example.bench", Config: cfg,
		Layers: []ocispec.Descriptor{{MediaType: "application/octet-stream", Digest: digest.Digest("sha256:" + hexsum), Size: size}},
	})
	mDesc, err := put(ocispec.MediaTypeImageManifest, manifest)
	if err != nil {
		return err
	}
	mDesc.Annotations = map[string]string{ocispec.AnnotationRefName: "latest"}
	index, _ := json.Marshal(ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{mDesc},
	})
	if err := os.WriteFile(filepath.Join(dir, ocispec.ImageIndexFile), index, 0o644); err != nil {
		return err
	}
	layoutJSON, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	return os.WriteFile(filepath.Join(dir, ocispec.ImageLayoutFile), layoutJSON, 0o644)
}

// WithBefore appends to cmds a copy of cmds[0] (ours) that runs the binary
// before instead of ours, named "<name> (before)", so that a change is
// measured against the previous build in the same interleaved run. With
// before empty cmds is returned as is.
func WithBefore(cmds []Cmd, ours, before string) []Cmd {
	if before == "" {
		return cmds
	}
	return append(slices.Clone(cmds), Before(cmds[0], ours, before))
}

// Before returns c with the binary ours replaced by before, named
// "<name> (before)".
func Before(c Cmd, ours, before string) Cmd {
	args := slices.Clone(c.Args)
	for i, a := range args {
		if a == ours {
			args[i] = before
		}
	}
	c.Name += " (before)"
	c.Args = args
	return c
}
