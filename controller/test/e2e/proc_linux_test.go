package e2e

import "syscall"

// dieWithParent has the kernel kill the manager if the test binary dies
// without stopping it (a panic, a -timeout), so no server outlives it.
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
