//go:build !linux

package e2e

import "syscall"

// dieWithParent: only Linux has a parent-death signal; elsewhere the
// manager is stopped by TestMain alone.
func dieWithParent(*syscall.SysProcAttr) {}
