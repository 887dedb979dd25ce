//go:build unix

package exec

import (
	osexec "os/exec"
	"syscall"
)

// ownProcessGroup starts cmd in a process group of its own and makes
// cancellation kill that whole group, so a timed-out revert program
// cannot leave a child behind that keeps acting on the deployment.
func ownProcessGroup(cmd *osexec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
