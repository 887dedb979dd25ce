package promtest

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal has the kernel kill Prometheus if the test binary
// dies without running its cleanups (a panic in another goroutine, a
// timeout's SIGQUIT).
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
