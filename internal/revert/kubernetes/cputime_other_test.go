//go:build !unix

package kubernetes

import "time"

// cpuTime is not measured here: the figures need a Unix host anyway.
func cpuTime() time.Duration { return 0 }
