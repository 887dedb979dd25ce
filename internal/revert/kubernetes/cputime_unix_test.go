//go:build unix

package kubernetes

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time (getrusage is Unix-only;
// windows builds get cputime_other_test.go).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
