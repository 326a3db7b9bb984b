// Package benchreg serves an OCI registry for the benchmark runners, and
// holds the oras-go baseline clients they measure ours against.
package benchreg

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/registry/remote"
)

// DockerRegistry is Debian's docker-registry (distribution 2.8), the
// out-of-process registry of the benchmarks when installed.
const DockerRegistry = "/usr/bin/docker-registry"

// Start starts the registry kind names ("distribution": DockerRegistry out
// of process; "olareg": olareg served by this process; "": distribution
// when installed, else olareg) with on-disk storage under dir on 127.0.0.1,
// and returns its name, host:port and a function that stops it.
func Start(kind, dir string) (string, string, func(), error) {
	if kind == "" {
		kind = "olareg"
		if _, err := os.Stat(DockerRegistry); err == nil {
			kind = "distribution"
		}
	}
	switch kind {
	case "olareg":
		host, stop, err := startOlareg(dir)
		return "olareg (in process, on disk)", host, stop, err
	case "distribution":
		host, stop, err := startDistribution(dir)
		return "distribution 2.8 (docker-registry, out of process, on disk)", host, stop, err
	}
	return "", "", nil, fmt.Errorf("unknown registry %q: distribution or olareg", kind)
}

// startDistribution runs DockerRegistry on a free port and waits until it
// answers.
func startDistribution(dir string) (string, func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	config := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  cache: {blobdescriptor: inmemory}
  filesystem: {rootdirectory: %s}
http: {addr: %s, secret: bench}
`, filepath.Join(dir, "data"), addr)), 0o644); err != nil {
		return "", nil, err
	}
	cmd := exec.Command(DockerRegistry, "serve", config)
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	for range 100 {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			return addr, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("%s on %s does not answer", DockerRegistry, addr)
}

func startOlareg(dir string) (string, func(), error) {
	reg := olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreDir, RootDir: dir}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: reg, ReadHeaderTimeout: time.Minute}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Close(); reg.Close() }, nil
}

// Baseline flags: a runner started with one of them as its first argument
// acts as the oras-go client of that baseline (see RunBaseline).
const (
	// FetchFlag host/repo@digest out: fetch one blob, verify it, write it.
	FetchFlag = "-baseline-fetch"
	// CopyFlag src dst: oras.Copy of a tag between registries (host/repo:tag)
	// and OCI layout directories (layout:dir:tag).
	CopyFlag = "-baseline-copy"
	// MountFlag src dst: oras.Copy of a tag between two repositories of one
	// registry (host/repo:tag) that mounts every blob from the source
	// repository (MountFrom): per blob a HEAD and a mount POST.
	MountFlag = "-baseline-copy-mount"
)

// RunBaseline runs a baseline client when args (os.Args[1:]) ask for one,
// and reports whether they did.
func RunBaseline(args []string) (bool, error) {
	if len(args) != 3 {
		return false, nil
	}
	ctx := context.Background()
	switch args[0] {
	case FetchFlag:
		return true, fetch(ctx, args[1], args[2])
	case CopyFlag:
		return true, copyTag(ctx, args[1], args[2], false)
	case MountFlag:
		return true, copyTag(ctx, args[1], args[2], true)
	}
	return false, nil
}

// fetch is `oras blob fetch --output out`: stream the blob to a file while
// verifying it (the 128 KiB writes of oras-go's io.Copy through its buffer).
func fetch(ctx context.Context, ref, out string) error {
	repoRef, dgst, ok := strings.Cut(ref, "@")
	if !ok {
		return fmt.Errorf("%s: no digest", ref)
	}
	repo, err := remote.NewRepository(repoRef)
	if err != nil {
		return err
	}
	repo.PlainHTTP = true
	desc, err := repo.Blobs().Resolve(ctx, dgst)
	if err != nil {
		return err
	}
	rc, err := repo.Blobs().Fetch(ctx, desc)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	vr := content.NewVerifyReader(rc, desc)
	if _, err := io.Copy(f, vr); err != nil {
		f.Close()
		return err
	}
	if err := vr.Verify(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// target opens "layout:<dir>:<tag>" (an OCI layout, created when missing)
// or "host/repo:tag" (plain HTTP) and returns it with the tag.
func target(ctx context.Context, s string) (oras.Target, string, error) {
	if rest, ok := strings.CutPrefix(s, "layout:"); ok {
		dir, tag, _ := strings.Cut(rest, ":")
		st, err := oci.New(dir)
		return st, tag, err
	}
	i := strings.LastIndex(s, ":")
	if i < strings.LastIndex(s, "/") {
		return nil, "", fmt.Errorf("%s: no tag", s)
	}
	repo, err := remote.NewRepository(s[:i])
	if err != nil {
		return nil, "", err
	}
	repo.PlainHTTP = true
	return repo, s[i+1:], nil
}

func copyTag(ctx context.Context, src, dst string, mount bool) error {
	s, stag, err := target(ctx, src)
	if err != nil {
		return err
	}
	d, dtag, err := target(ctx, dst)
	if err != nil {
		return err
	}
	opts := oras.DefaultCopyOptions
	if mount {
		sr, ok1 := s.(*remote.Repository)
		dr, ok2 := d.(*remote.Repository)
		if !ok1 || !ok2 || sr.Reference.Registry != dr.Reference.Registry {
			return fmt.Errorf("mounting needs two repositories of one registry, not %s and %s", src, dst)
		}
		opts.MountFrom = func(context.Context, ocispec.Descriptor) ([]string, error) {
			return []string{sr.Reference.Repository}, nil
		}
	}
	_, err = oras.Copy(ctx, s, stag, d, dtag, opts)
	return err
}

// BlobURL is the URL of a blob of repo in the registry at host.
func BlobURL(host, repo string, d digest.Digest) string {
	return "http://" + host + "/v2/" + repo + "/blobs/" + d.String()
}
