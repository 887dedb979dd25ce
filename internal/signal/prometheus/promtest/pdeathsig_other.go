//go:build !linux

package promtest

import "os/exec"

// setParentDeathSignal is Linux-only; elsewhere t.Cleanup is the only guard.
func setParentDeathSignal(*exec.Cmd) {}
