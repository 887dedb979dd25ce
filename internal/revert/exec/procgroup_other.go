//go:build !unix

package exec

import osexec "os/exec"

// ownProcessGroup is the default cancellation (kill the program) where
// there are no POSIX process groups; children of the program are not
// reached there, which doc.go says.
func ownProcessGroup(cmd *osexec.Cmd) {}
