package config

import (
	"slices"
	"time"
)

// Drills is services[].drills: how `ripcord drill` tests the rollback path
// of a service behind the built-in switch, and whether it runs by itself.
type Drills struct {
	// Share is the percent of live traffic a drill sends to the
	// fault-injecting wrapper. Default 5, at most 50: a drill must never
	// fault most of a service's users.
	Share float64 `yaml:"share"`
	// Every schedules a drill this often (0: only by hand). The last
	// drill's time is kept in the store, so a restart does not reset it.
	Every time.Duration `yaml:"every"`
	// Fault is what a scheduled drill injects: error (default), latency,
	// quality or stream.
	Fault string `yaml:"fault"`
	// Timeout is how long a drill waits for the verdict to turn bad.
	// Default: policy.sustain + policy.window, the longest the policy
	// lets a proven anomaly go unacted on.
	Timeout time.Duration `yaml:"timeout"`
}

// Drill defaults and limits.
const (
	DefaultDrillShare = 5.0
	MaxDrillShare     = 50.0
	DefaultDrillFault = "error"
)

// DrillFaults are the faults a drill can inject.
var DrillFaults = []string{"error", "latency", "quality", "stream"}

// Filled is d with every unset field at its default, for configs built in
// Go rather than loaded.
func (d Drills) Filled(p Policy) Drills {
	d.applyDefaults("", byZero, p)
	return d
}

func (d *Drills) applyDefaults(path string, set setFn, p Policy) {
	fill(&d.Share, DefaultDrillShare, child(path, "share"), set)
	fill(&d.Fault, DefaultDrillFault, child(path, "fault"), set)
	fill(&d.Timeout, p.Sustain+p.Window, child(path, "timeout"), set)
}

// CheckDrillShare says what is wrong with a drill share in percent, ""
// when nothing is; the API checks a --share flag with it too.
func CheckDrillShare(pct float64) string {
	switch {
	case pct > MaxDrillShare:
		return "at most 50 (percent of live traffic a drill may fault): a drill must leave most users on the healthy version"
	case pct < 0.01:
		return "must be at least 0.01 (percent of live traffic), e.g. 5"
	}
	return ""
}

func (d *Drills) validate(r *report, path string, external bool) {
	if msg := CheckDrillShare(d.Share); msg != "" {
		r.add(child(path, "share"), "%g: %s", d.Share, msg)
	}
	if !slices.Contains(DrillFaults, d.Fault) {
		r.add(child(path, "fault"), "must be one of error, latency, quality, stream, not %q%s", d.Fault, didYouMean(d.Fault, DrillFaults))
	}
	if d.Every < 0 {
		r.add(child(path, "every"), "%s: must not be negative (0: drill only by hand)", d.Every)
	}
	if d.Timeout < 0 {
		r.add(child(path, "timeout"), "%s: must not be negative", d.Timeout)
	}
	if external && d.Every > 0 {
		r.add(child(path, "every"), "drills need the built-in switch, and this service has a target: remove drills.every")
	}
}
