package testutil

import (
	"os/exec"
	"syscall"
)

// killWithParent has the kernel kill a test's server when the test binary
// dies without running its cleanups (a -timeout panic, a kill), so no
// registry outlives the run holding its port and temp dir.
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
