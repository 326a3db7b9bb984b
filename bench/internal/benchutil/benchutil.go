// Package benchutil holds what the benchmark runners share: timing child
// processes with their peak RSS, and building fixtures.
package benchutil

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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
