package ctf_test

import (
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// An Archive is the CTF implementation of ocimap.Store. Checked in an
// external test package so that ocimap may import ctf without a cycle.
var _ ocimap.Store = (*ctf.Archive)(nil)
