//go:build !linux

package testutil

import "os/exec"

// killWithParent: only Linux can tie a child's life to its parent's; the
// test cleanups stop the servers elsewhere.
func killWithParent(*exec.Cmd) {}
