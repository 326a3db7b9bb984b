package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/repository/oci"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// openStore opens a repository reference as a read-only OCI store.
func openStore(spec reference.Repository, cfg *config.Config, plainHTTP bool) (ocimap.Store, string, func(), error) {
	switch spec.Type {
	case reference.TypeCTF:
		a, err := ctf.Open(spec.FilePath)
		if err != nil {
			return nil, "", nil, err
		}
		return a, "CTF archive " + spec.FilePath, func() { a.Close() }, nil
	case reference.TypeOCI:
		reg, err := openRegistry(spec, cfg, plainHTTP)
		if err != nil {
			return nil, "", nil, err
		}
		return reg, reg.String(), func() {}, nil
	}
	return nil, "", nil, fmt.Errorf("repository %s: unknown type %q", spec, spec.Type)
}

func openRegistry(spec reference.Repository, cfg *config.Config, plainHTTP bool) (*oci.Registry, error) {
	return oci.New(spec.BaseURL, spec.SubPath, oci.Options{Credential: oci.Credentials(cfg, spec.SubPath), PlainHTTP: plainHTTP})
}

// writableStore is a repository opened for writing. A CTF archive changes
// atomically on Commit and is left as it was by Abort; a registry takes
// content as it comes (ocimap.Writer tags last, so an aborted write leaves
// no tag on incomplete content) and Commit/Abort do nothing.
type writableStore struct {
	ocimap.WriteStore
	where  string
	Commit func() error
	Abort  func()
}

// openWritableStore opens spec for writing; create makes a missing CTF
// archive (registries need no creation).
func openWritableStore(cmd *cobra.Command, g *globalOptions, spec reference.Repository, create bool) (*writableStore, error) {
	switch spec.Type {
	case reference.TypeCTF:
		stderr := cmd.ErrOrStderr()
		w, err := ctf.OpenWritable(spec.FilePath, ctf.WriteOptions{Create: create, Context: cmd.Context(), OnWait: func() {
			fmt.Fprintf(stderr, "waiting for another ocm process to finish writing %s ...\n", spec.FilePath)
		}})
		if err != nil {
			return nil, err
		}
		return &writableStore{WriteStore: w, where: "CTF archive " + spec.FilePath, Commit: w.Commit, Abort: func() { w.Abort() }}, nil
	case reference.TypeOCI:
		reg, err := openRegistry(spec, g.config, g.plainHTTP)
		if err != nil {
			return nil, err
		}
		return &writableStore{WriteStore: reg, where: reg.String(), Commit: func() error { return nil }, Abort: func() {}}, nil
	}
	return nil, fmt.Errorf("repository %s: unknown type %q", spec, spec.Type)
}

// externalContent is how sign and verify reach content outside the
// repository: nil when the user chose not to (offline).
func (g *globalOptions) externalContent(enabled bool) integrity.External {
	if !enabled {
		return nil
	}
	return g.fetcher()
}

// fetcher reaches external content (images, Helm charts, files) with the
// configured credentials.
func (g *globalOptions) fetcher() *access.Fetcher {
	return access.New(access.Options{Config: g.config, PlainHTTP: g.plainHTTP})
}
