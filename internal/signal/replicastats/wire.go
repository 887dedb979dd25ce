// Package replicastats carries the built-in switch's live request
// statistics from every ripcord replica to the leader, so the leader's
// verdicts judge the traffic of all replicas, not just its own.
//
// A follower runs a Sender, which POSTs its switches' reports
// (proxy.Switch.Report) to the leader every 100 ms and at once when a
// switch sees bad evidence; the leader mounts the Receiver at
// POST /api/v1/replica/stats and reads each proxied service through
// Receiver.Stats, which adds the fresh reports to its own switch's
// statistics (proxy.Remote) and is what proxystats.New reads.
//
// It is its own package rather than part of proxystats because it is a
// transport — HTTP, a shared secret, retries, a goroutine per sender —
// while proxystats is a pure reader of one Stats value; proxystats keeps
// no network code and needs no change: the merged view is a
// proxystats.Stats.
package replicastats

import "github.com/ripcord/ripcord/internal/proxy"

// Path is where the leader's API serves the Receiver.
const Path = "/api/v1/replica/stats"

// Batch is one POST: a replica's reports for the services whose counts
// changed since the leader last acknowledged them. Format is
// proxy.ReportFormat; a leader refuses another.
type Batch struct {
	V       int    `json:"v"`
	Replica string `json:"replica"`
	// At is when the batch was built, unix ns on the replica's clock:
	// slots and generations are placed by that clock, so the leader
	// warns when it is far from its own.
	At       int64           `json:"at,omitempty"`
	Services []ServiceReport `json:"services"`
}

// ServiceReport is one service's versions.
type ServiceReport struct {
	Service  string                `json:"service"`
	Versions []proxy.VersionReport `json:"versions"`
}

// Reply is the leader's answer: its receiver's instance (a new one means
// the leader changed or restarted and holds nothing of ours: send
// everything again) and the bounds its guards count for the reported
// services' versions, which the follower's switches must count too.
type Reply struct {
	V        int                          `json:"v"`
	Instance string                       `json:"instance"`
	Track    map[string]map[string]Bounds `json:"track,omitempty"` // service → version → bounds
}

// Bounds are a version's tracked bounds in ms (proxy.Switch.TrackedBounds).
type Bounds struct {
	Latency []float64 `json:"latency,omitempty"`
	TTFB    []float64 `json:"ttfb,omitempty"`
}
