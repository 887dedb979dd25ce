package controller

import (
	"slices"
	"time"

	"github.com/ripcord/ripcord/internal/store"
)

// machine is everything a decision depends on, as a value. The step reads
// one and returns the next; the Service holds the current one under its
// mutex. Slices are never modified in place (copy on write), so a machine
// handed to the step, to a snapshot or to a test stays as it was.
type machine struct {
	// Persisted (store.ServiceState).
	Name          string
	State         State
	Active        string
	Paused        bool
	WatchSince    time.Time
	CooldownUntil time.Time
	IncidentID    string // the incident the current chain belongs to
	Fallbacks     int
	Versions      []store.Version // oldest first
	// Canary is the canary in progress (state canary): Active is the
	// canary version, WatchSince the start of its current step.
	Canary store.Canary

	// In memory only: a restart forgets them, as it forgets the verdicts
	// they were built from.

	// Gen changes whenever what is being judged changes (the active version
	// or the start of its watch). An evaluation observed under one
	// generation is dropped if the machine has moved on before it applies.
	Gen uint64
	// Raised are the "version|why" keys of incidents opened without an
	// action (degraded while paused, suppressed by cooldown, dry run), so a
	// bad version opens one such incident, not one per evaluation.
	Raised        []string
	BlindSince    time.Time
	BlindIncident string
	// SuspectSince is when the active version last turned suspect;
	// SuspectIncident the "not reverted" incident opened after
	// suspect_grace, resolved when the version turns healthy or leaves.
	SuspectSince    time.Time
	SuspectIncident string
	// Rollbacks are the creation times of recent automatic rollback
	// incidents, for the "frequent rollbacks are critical" rule.
	Rollbacks []time.Time
	// Moving: a canary share is being set (the target is working, s.mu
	// released); commands are refused and the canary does not advance.
	Moving bool
}

func machineFrom(st store.ServiceState) machine {
	return machine{Name: st.Name, State: parseState(st.State), Active: st.Active, Paused: st.Paused,
		WatchSince: st.WatchSince, CooldownUntil: st.CooldownUntil, IncidentID: st.IncidentID,
		Fallbacks: st.Fallbacks, Versions: st.Versions, Canary: st.Canary}
}

func (m machine) persisted(now time.Time) store.ServiceState {
	return store.ServiceState{Name: m.Name, Active: m.Active, State: string(m.State), Paused: m.Paused,
		WatchSince: m.WatchSince, CooldownUntil: m.CooldownUntil, IncidentID: m.IncidentID,
		Fallbacks: m.Fallbacks, Versions: slices.Clone(m.Versions), UpdatedAt: now, Canary: m.Canary}
}

// fallbackFor returns the newest version older than v that is not known-bad.
func (m machine) fallbackFor(v string) string {
	for j := findVersion(m.Versions, v) - 1; j >= 0; j-- {
		if !m.Versions[j].KnownBad {
			return m.Versions[j].Name
		}
	}
	return ""
}

// watch starts judging version from now on.
func (m *machine) watch(version string, now time.Time) {
	m.Active, m.WatchSince = version, now
	m.SuspectSince = time.Time{}
	m.Gen++
}

// editVersion changes one version on a copy of the list.
func (m *machine) editVersion(name string, edit func(*store.Version)) {
	i := findVersion(m.Versions, name)
	if i < 0 {
		return
	}
	m.Versions = slices.Clone(m.Versions)
	edit(&m.Versions[i])
}

func (m *machine) markBad(version, why string) {
	m.editVersion(version, func(v *store.Version) { v.KnownBad, v.BadReason = true, why })
}

func (m machine) raised(key string) bool { return slices.Contains(m.Raised, key) }

// recentRollbacks counts the rollback incidents of the last 7 days.
func (m machine) recentRollbacks(now time.Time) int {
	n := 0
	for _, at := range m.Rollbacks {
		if now.Sub(at) <= rollbackMemory {
			n++
		}
	}
	return n
}

// rollbackMemory is how far back "frequent rollbacks" look.
const rollbackMemory = 7 * 24 * time.Hour

func findVersion(vs []store.Version, name string) int {
	for i, v := range vs {
		if v.Name == name {
			return i
		}
	}
	return -1
}
