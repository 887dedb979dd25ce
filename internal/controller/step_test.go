package controller

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/store"
)

// mach is a machine in state st on the last of versions (oldest first),
// watched since epoch.
func mach(st State, versions ...string) machine {
	m := machine{Name: "svc", State: st, Active: versions[len(versions)-1], WatchSince: epoch, Gen: 1}
	for _, v := range versions {
		m.Versions = append(m.Versions, store.Version{Name: v, URL: "http://" + v + ".test"})
	}
	return m
}

func (m machine) with(edit func(*machine)) machine { edit(&m); return m }

func verdict(v detect.Verdict, samples int64) evaluated {
	return evaluated{r: detect.Result{Verdict: v, Samples: samples, Reason: v.String() + " reason",
		Findings: []detect.Finding{{Metric: "error_rate", Value: 0.5, Samples: samples}}}}
}

var (
	bad          = verdict(detect.Degraded, 200)
	healthy      = verdict(detect.Healthy, 200)
	inconclusive = verdict(detect.Inconclusive, 10)
	blind        = evaluated{r: detect.Result{Verdict: detect.Blind, Reason: "blind: quality_score missing"}}
)

// short prints an effect as the tables below expect it.
func short(e effect) string {
	must := func(b bool) string {
		if b {
			return "!"
		}
		return ""
	}
	switch e := e.(type) {
	case transition:
		return fmt.Sprintf("state %s→%s", e.from, e.to)
	case save:
		return "save" + must(e.must)
	case openIncident:
		return fmt.Sprintf("open %s %s%s%s", e.inc.Kind, e.inc.Severity, slotText(e.slot), must(e.must))
	case changeIncident:
		s := "incident " + e.ref.String()
		c := e.change
		for _, part := range []struct {
			on   bool
			text string
		}{{c.Advance != "", "advance=" + string(c.Advance)}, {c.Severity != "", "severity=" + string(c.Severity)},
			{c.ToVersion != "", "to=" + c.ToVersion}, {c.RollbackStarted, "started"}, {c.Mitigated, "mitigated"}, {c.Resolved, "resolved"}} {
			if part.on {
				s += " " + part.text
			}
		}
		for _, ev := range e.events {
			s += " +" + ev.Type
		}
		return s
	case recordDecision:
		return fmt.Sprintf("decision %s %s→%s @%s", e.d.Action, e.d.FromVersion, e.d.ToVersion, e.inc)
	case afterDecision:
		return "hook"
	case afterIncident:
		return "hook incident"
	case linkDecision:
		return fmt.Sprintf("link decision %d to %s", e.id, e.inc)
	case targetRevert:
		if e.d != nil {
			return fmt.Sprintf("revert #%d", e.d.ID)
		}
		return "revert"
	case targetWeight:
		return "weight"
	case finishDecision:
		return "finish " + e.status
	case route:
		return fmt.Sprintf("route %s %s%s", [...]string{"register", "activate", "fallback", "weight", "shadow", "stop-shadow"}[e.op], e.version, must(e.must))
	case recordDeployment:
		return "deployment " + e.d.Version + " by " + e.d.Actor
	case count:
		if e.rollback {
			return "count rollback"
		}
		return "count " + e.decision
	case note:
		return fmt.Sprintf("log %s %s", e.level, e.msg)
	}
	return fmt.Sprintf("%T", e)
}

// revertFx is what every revert ends with.
// revertFx is a decision and its revert: the state and the decision in one
// commit, and for a person's rollback or a dry run the incident told first
// (an automatic action's incident is written after the switch).
func revertFx(action, from, to, ref string) []string {
	fx := []string{"state %s→reverting", "decision " + action + " " + from + "→" + to + " @" + ref, "count " + action, "hook"}
	if !automatic(action) {
		fx = append(fx, "incident "+ref+" started +rollback_started")
	}
	return append(fx, "revert")
}

func escalateFx(from string, open bool) []string {
	fx := []string{"state " + from + "→escalated", "save", "count escalate", "log ERROR escalated: automation paused"}
	if open {
		fx = append(fx, "open escalation critical → chain", "save")
	}
	return append(fx, "incident chain advance=investigating severity=critical +escalated")
}

// fill puts the from state into "state %s→reverting".
func fill(fx []string, from State) []string {
	out := slices.Clone(fx)
	for i, s := range out {
		if strings.Contains(s, "%s") {
			out[i] = fmt.Sprintf(s, from)
		}
	}
	return out
}

func cat(parts ...[]string) []string { return slices.Concat(parts...) }

type stepCase struct {
	name  string
	m     machine
	in    input
	at    time.Duration // now is epoch + at
	pol   func(*config.Policy)
	want  []string
	err   error
	check func(t *testing.T, m machine)
}

func runSteps(t *testing.T, cases []stepCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pol := testPolicy()
			if tc.pol != nil {
				tc.pol(&pol)
			}
			before := deepCopy(tc.m)
			next, fx, err := step(tc.m, tc.in, epoch.Add(tc.at), pol)
			if !reflect.DeepEqual(tc.m, before) {
				t.Fatalf("step changed its input:\n%+v\nwas\n%+v", tc.m, before)
			}
			if tc.err != nil || err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if fx != nil || !reflect.DeepEqual(next, tc.m) {
					t.Fatalf("refused step returned effects %v or a changed machine", fx)
				}
				return
			}
			var got []string
			for _, e := range fx {
				got = append(got, short(e))
				if tr, ok := e.(transition); ok && !tr.from.CanMove(tr.to) {
					t.Errorf("effect %s is not an allowed move", e)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("effects\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if n := len(fx); n > 0 {
				if _, last := fx[n-1].(targetRevert); !last {
					for _, e := range fx {
						if _, ok := e.(targetRevert); ok {
							t.Fatal("a revert that is not the last effect")
						}
					}
				}
			}
			if tc.check != nil {
				tc.check(t, next)
			}
		})
	}
}

func deepCopy(m machine) machine {
	m.Versions, m.Raised, m.Rollbacks = slices.Clone(m.Versions), slices.Clone(m.Raised), slices.Clone(m.Rollbacks)
	return m
}

func TestStepVerdicts(t *testing.T) {
	const bake = 10 * time.Minute
	watching := mach(StateWatching, "v1", "v2")
	rollback := fill(revertFx(ActionRollback, "v2", "v1", "chain"), StateWatching)
	runSteps(t, []stepCase{
		{name: "a bad verdict reverts at once (the guard's tests need no repeat)", m: watching, in: bad, want: rollback,
			check: func(t *testing.T, m machine) {
				if m.State != StateReverting || m.Active != "v2" || len(m.Rollbacks) != 1 {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "healthy while baking", m: watching, in: healthy, at: bake - time.Second, want: nil},
		{name: "bake passed", m: watching, in: healthy, at: bake, want: []string{"state watching→stable", "save"}},
		{name: "bad right after bake: stable, then reverted", m: watching, in: bad, at: bake,
			want: cat([]string{"state watching→stable", "save"},
				fill(revertFx(ActionRollback, "v2", "v1", "chain"), StateStable))},
		{name: "paused: an incident, no revert", m: watching.with(func(m *machine) { m.Paused = true }), in: bad,
			want: []string{"open degraded major", "log WARN degraded, not reverted"},
			check: func(t *testing.T, m machine) {
				if !m.raised("v2|automation is paused, nothing was reverted") {
					t.Fatalf("raised %v", m.Raised)
				}
			}},
		{name: "paused: the incident is opened once", m: watching.with(func(m *machine) {
			m.Paused, m.Raised = true, []string{"v2|automation is paused, nothing was reverted"}
		}), in: bad, want: nil},
		{name: "cooldown suppresses an unrelated rollback", m: watching.with(func(m *machine) {
			m.CooldownUntil = epoch.Add(time.Minute)
		}), in: bad, want: []string{"open degraded major", "log WARN degraded, not reverted"}},
		{name: "cooldown over", m: watching.with(func(m *machine) { m.CooldownUntil = epoch }), in: bad, want: rollback},
		{name: "no older version escalates", m: mach(StateStable, "v1"), in: bad,
			want: cat([]string{"open escalation critical → chain"}, escalateFx("stable", false)),
			check: func(t *testing.T, m machine) {
				if !m.Paused || m.State != StateEscalated {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "known-bad versions are skipped", m: mach(StateWatching, "v0", "v1", "v2").with(func(m *machine) {
			m.Versions[1].KnownBad = true
		}), in: bad, want: fill(revertFx(ActionRollback, "v2", "v0", "chain"), StateWatching)},
		{name: "only known-bad older versions: escalate", m: mach(StateWatching, "v1", "v2").with(func(m *machine) {
			m.Versions[0].KnownBad = true
		}), in: bad, want: cat([]string{"open escalation critical → chain"}, escalateFx("watching", false))},
		{name: "third rollback in 7 days is critical", m: watching.with(func(m *machine) {
			m.Rollbacks = []time.Time{epoch.Add(-time.Hour), epoch.Add(-6 * 24 * time.Hour)}
		}), in: bad, want: fill(revertFx(ActionRollback, "v2", "v1", "chain"), StateWatching),
			check: func(t *testing.T, m machine) {
				if len(m.Rollbacks) != 3 {
					t.Fatalf("rollbacks %v", m.Rollbacks)
				}
			}},
		{name: "rollbacks older than 7 days do not count", m: watching.with(func(m *machine) {
			m.Rollbacks = []time.Time{epoch.Add(-time.Hour), epoch.Add(-8 * 24 * time.Hour)}
		}), in: bad, want: rollback, check: func(t *testing.T, m machine) {
			if len(m.Rollbacks) != 2 {
				t.Fatalf("old rollbacks kept: %v", m.Rollbacks)
			}
		}},
		{name: "escalated: judged, never acted on", m: mach(StateEscalated, "v1", "v2"), in: bad, want: nil},
		{name: "reverting: verdicts wait for the revert", m: mach(StateReverting, "v1", "v2"), in: bad, want: nil},
	})
}

func TestStepVerification(t *testing.T) {
	const verify = 10 * time.Second
	verifying := mach(StateVerifying, "v0", "v1", "v2").with(func(m *machine) {
		m.Active, m.Versions[2].KnownBad, m.IncidentID, m.Fallbacks = "v1", true, "INC-0001", 1
		m.CooldownUntil = epoch.Add(5 * time.Minute)
	})
	verified := []string{"state verifying→stable", "save", "incident INC-0001 advance=monitoring mitigated +verified"}
	runSteps(t, []stepCase{
		{name: "healthy, but not for verify yet", m: verifying, in: healthy, at: verify - time.Millisecond, want: nil},
		{name: "healthy for verify: stable", m: verifying, in: healthy, at: verify, want: verified,
			check: func(t *testing.T, m machine) {
				if m.IncidentID != "" || m.Fallbacks != 0 || m.State != StateStable {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "inconclusive before 3 × verify", m: verifying, in: inconclusive, at: 3*verify - time.Second, want: nil},
		{name: "inconclusive for 3 × verify: stable", m: verifying, in: inconclusive, at: 3 * verify, want: verified},
		{name: "blind for 3 × verify: stable", m: verifying, in: blind, at: 3 * verify, want: verified},
		{name: "bad too: fall back, cooldown notwithstanding", m: verifying, in: bad,
			want: fill(revertFx(ActionFallback, "v1", "v0", "chain"), StateVerifying)},
		{name: "max_fallback reached: escalate", m: verifying, in: bad, pol: func(p *config.Policy) { p.MaxFallback = 1 },
			want: cat([]string{"incident chain +detected"}, escalateFx("verifying", false))},
		{name: "chain exhausted: escalate", m: mach(StateVerifying, "v0", "v1").with(func(m *machine) {
			m.Active, m.Versions[1].KnownBad, m.IncidentID = "v0", true, "INC-0001"
		}), in: bad, want: cat([]string{"incident chain +detected"}, escalateFx("verifying", false))},
		{name: "chain incident could not be opened: escalation opens one", m: mach(StateVerifying, "v0"), in: bad,
			want: cat([]string{"incident chain +detected"}, escalateFx("verifying", true))},
		{name: "paused during the revert: nothing more", m: verifying.with(func(m *machine) { m.Paused = true }), in: bad,
			want: []string{"open degraded major", "log WARN degraded, not reverted"}},
	})
}

func TestStepBlind(t *testing.T) {
	const grace = 30 * time.Second
	m := mach(StateWatching, "v1", "v2")
	since := func(d time.Duration) func(*machine) { return func(m *machine) { m.BlindSince = epoch.Add(d) } }
	runSteps(t, []stepCase{
		{name: "first blind verdict starts the clock", m: m, in: blind, want: nil,
			check: func(t *testing.T, m machine) {
				if !m.BlindSince.Equal(epoch) {
					t.Fatalf("blind since %v", m.BlindSince)
				}
			}},
		{name: "blind within the grace period", m: m.with(since(-grace + time.Second)), in: blind, want: nil},
		{name: "blind past the grace period: minor incident", m: m.with(since(-grace)), in: blind,
			want: []string{"open blind minor → blind", "log WARN flying blind: signals missing, no rollback will be taken on missing data"}},
		{name: "blind incident already open", m: m.with(since(-time.Hour)).with(func(m *machine) { m.BlindIncident = "INC-0003" }), in: blind, want: nil},
		{name: "blind is never a reason to revert", m: m.with(since(-time.Hour)).with(func(m *machine) { m.BlindIncident = "INC-0003" }),
			in: blind, want: nil},
		{name: "data returns: resolved", m: m.with(since(-time.Hour)).with(func(m *machine) { m.BlindIncident = "INC-0003" }), in: healthy,
			want: []string{"incident INC-0003 advance=resolved resolved +data_returned"},
			check: func(t *testing.T, m machine) {
				if m.BlindIncident != "" || !m.BlindSince.IsZero() {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "degraded after blind: resolved, and judged", m: m.with(since(-time.Hour)).with(func(m *machine) { m.BlindIncident = "INC-0003" }),
			in: bad, want: cat([]string{"incident INC-0003 advance=resolved resolved +data_returned"},
				fill(revertFx(ActionRollback, "v2", "v1", "chain"), StateWatching))},
	})
}

func TestStepReverted(t *testing.T) {
	reverting := mach(StateReverting, "v0", "v1", "v2").with(func(m *machine) { m.IncidentID = "INC-0001" })
	d := store.Decision{ID: 7, Action: ActionRollback, FromVersion: "v2", ToVersion: "v1", Reason: "error_rate 50%", IncidentID: "INC-0001"}
	runSteps(t, []stepCase{
		{name: "switched: verify the older version", m: reverting, in: reverted{d: d, res: revert.Result{Duration: 3 * time.Millisecond}},
			want: []string{"incident INC-0001 started +rollback_started", "hook incident", "finish done", "state reverting→verifying", "route fallback v0",
				"incident INC-0001 advance=identified to=v1 +rollback_done", "save", "count rollback", "log INFO reverted"},
			check: func(t *testing.T, m machine) {
				if m.Active != "v1" || !m.Versions[2].KnownBad || m.Versions[2].BadReason != "error_rate 50%" || m.Gen != 2 ||
					m.Fallbacks != 1 || !m.CooldownUntil.Equal(epoch.Add(5*time.Minute)) || !m.WatchSince.Equal(epoch) {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "failed: escalate", m: reverting, in: reverted{d: d, err: errors.New("boom")},
			want: cat([]string{"incident INC-0001 started +rollback_started", "finish failed", "incident INC-0001 +rollback_failed"}, escalateFx("reverting", false)),
			check: func(t *testing.T, m machine) {
				if m.Active != "v2" || m.Versions[2].KnownBad {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "failed without a chain incident: escalation opens one", m: mach(StateReverting, "v1", "v2"), in: reverted{d: d, err: errors.New("boom")},
			want: cat([]string{"incident INC-0001 started +rollback_started", "finish failed", "incident INC-0001 +rollback_failed"}, escalateFx("reverting", true))},
		{name: "the rollback's incident is opened after the switch, and the decision linked to it", m: mach(StateReverting, "v1", "v2"),
			in: reverted{d: store.Decision{ID: 7, Action: ActionRollback, FromVersion: "v2", ToVersion: "v1", Reason: "error_rate 50%", CreatedAt: epoch},
				res: revert.Result{Duration: time.Millisecond}},
			want: []string{"open rollback major → chain", "link decision 7 to chain", "incident chain started +rollback_started", "hook incident", "finish done",
				"state reverting→verifying", "route fallback ", "incident chain advance=identified to=v1 +rollback_done", "save", "count rollback", "log INFO reverted"}},
		{name: "a fallback's incident hears of it after the switch", m: reverting.with(func(m *machine) { m.State = StateReverting }),
			in: reverted{d: store.Decision{ID: 8, Action: ActionFallback, FromVersion: "v1", ToVersion: "v0", Reason: "v1 bad too", IncidentID: "INC-0001", CreatedAt: epoch},
				res: revert.Result{Duration: time.Millisecond}},
			want: []string{"incident INC-0001 +detected +fallback", "incident INC-0001 started +rollback_started", "hook incident", "finish done",
				"state reverting→verifying", "route fallback ", "incident INC-0001 advance=identified to=v0 +rollback_done", "save", "count rollback", "log INFO reverted"}},
		{name: "a completion outside a revert is refused", m: mach(StateStable, "v1", "v2"), in: reverted{d: d}, err: errTransition},
	})
}

func TestStepCommands(t *testing.T) {
	reverting := mach(StateReverting, "v1", "v2")
	escalated := mach(StateEscalated, "v1", "v2").with(func(m *machine) { m.Paused, m.IncidentID, m.Fallbacks = true, "INC-0001", 2 })
	manual := cat([]string{"open manual minor → chain!"}, fill(revertFx(ActionManual, "v2", "v1", "chain"), StateWatching))
	runSteps(t, []stepCase{
		{name: "deploy while reverting", m: reverting, in: deployCmd{version: "v3", url: "http://v3", actor: "ann"}, err: ErrConflict},
		{name: "resume while reverting", m: reverting, in: resumeCmd{actor: "ann"}, err: ErrConflict},
		{name: "manual rollback while reverting", m: reverting, in: rollbackCmd{actor: "ann"}, err: ErrConflict},
		{name: "pause while reverting is accepted", m: reverting, in: pauseCmd{actor: "ann"}, want: []string{"log INFO paused", "save!"},
			check: func(t *testing.T, m machine) {
				if !m.Paused || m.State != StateReverting {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "deploy a new version", m: mach(StateStable, "v1"), in: deployCmd{version: "v2", url: "http://v2", actor: "ann"},
			want: []string{"route register v2!", "deployment v2 by ann", "route activate v2!", "state stable→watching", "route fallback v1", "save!"},
			check: func(t *testing.T, m machine) {
				if m.Active != "v2" || m.Gen != 2 || len(m.Versions) != 2 || m.Versions[1].URL != "http://v2" || !m.WatchSince.Equal(epoch) {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "deploy a new version without its url", m: mach(StateStable, "v1"), in: deployCmd{version: "v2", actor: "ann"}, err: ErrInvalid},
		{name: "deploy a known-bad version again clears the mark", m: mach(StateStable, "v1", "v2").with(func(m *machine) {
			m.Active, m.Versions[1].KnownBad, m.Versions[1].BadReason = "v1", true, "error_rate 50%"
		}), in: deployCmd{version: "v2", actor: "ann"},
			want: []string{"deployment v2 by ann", "route activate v2!", "state stable→watching", "route fallback v1", "save!"},
			check: func(t *testing.T, m machine) {
				if m.Versions[1].KnownBad || m.Versions[1].BadReason != "" {
					t.Fatalf("%+v", m.Versions)
				}
			}},
		{name: "deploy mid-chain leaves the chain", m: mach(StateVerifying, "v1", "v2").with(func(m *machine) {
			m.IncidentID, m.Fallbacks, m.Raised = "INC-0001", 1, []string{"v1|x"}
		}), in: deployCmd{version: "v2", actor: "ann"},
			want: []string{"deployment v2 by ann", "route activate v2!", "state verifying→watching", "route fallback v1", "save!"},
			check: func(t *testing.T, m machine) {
				if m.IncidentID != "" || m.Fallbacks != 0 || m.Raised != nil {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "resume after escalation", m: escalated, in: resumeCmd{actor: "ann"},
			want: []string{"state escalated→stable", "log INFO resumed", "save!"},
			check: func(t *testing.T, m machine) {
				if m.Paused || m.IncidentID != "" || m.Fallbacks != 0 || m.Gen != 2 {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "resume a paused stable service", m: mach(StateStable, "v1").with(func(m *machine) { m.Paused = true }), in: resumeCmd{actor: "ann"},
			want: []string{"log INFO resumed", "save!"}},
		{name: "manual rollback", m: mach(StateWatching, "v1", "v2"), in: rollbackCmd{reason: "broken", actor: "ann"}, want: manual},
		{name: "manual rollback from escalated", m: escalated, in: rollbackCmd{to: "v1", actor: "ann"},
			want: cat([]string{"open manual minor → chain!"}, fill(revertFx(ActionManual, "v2", "v1", "chain"), StateEscalated))},
		{name: "manual rollback ignores cooldown", m: mach(StateWatching, "v1", "v2").with(func(m *machine) { m.CooldownUntil = epoch.Add(time.Hour) }),
			in: rollbackCmd{actor: "ann"}, want: manual},
		{name: "manual rollback to itself", m: mach(StateWatching, "v1", "v2"), in: rollbackCmd{to: "v2", actor: "ann"}, err: ErrInvalid},
		{name: "manual rollback to an unknown version", m: mach(StateWatching, "v1", "v2"), in: rollbackCmd{to: "v9", actor: "ann"}, err: ErrInvalid},
		{name: "manual rollback with nothing older", m: mach(StateWatching, "v1"), in: rollbackCmd{actor: "ann"}, err: ErrInvalid},
		{name: "observed: ripcord's own revert", m: mach(StateVerifying, "v1", "v2").with(func(m *machine) { m.Active = "v1" }),
			in: observedCmd{version: "v1", changeCause: "ripcord: automatic rollback of v2 → v1"}, want: []string{"log DEBUG rollout ignored"}},
		{name: "observed: a new rollout", m: mach(StateStable, "v1"), in: observedCmd{version: "v2", image: "img:v2"},
			want: []string{"route register v2!", "deployment v2 by kubernetes", "route activate v2!", "state stable→watching", "route fallback v1", "save!"}},
		{name: "observed during a revert", m: reverting, in: observedCmd{version: "v3", image: "img:v3"}, want: []string{"log DEBUG rollout ignored"}},
	})
}

func TestStepRecovery(t *testing.T) {
	d := store.Decision{ID: 7, Action: ActionRollback, FromVersion: "v2", ToVersion: "v1", IncidentID: "INC-0001", Status: store.DecisionPending}
	done := d
	done.Status = store.DecisionDone
	pending := []string{"incident INC-0001 +decision", "log WARN completing decision interrupted by restart"}
	again := []string{"revert #7"} // an automatic action's incident hears of the revert after it
	runSteps(t, []stepCase{
		{name: "pending decision, state saved as reverting", m: mach(StateReverting, "v1", "v2"), in: recoverPending{d: d},
			want: cat(pending, again), check: func(t *testing.T, m machine) {
				if m.IncidentID != "INC-0001" {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "pending decision, crash before the state was saved", m: mach(StateWatching, "v1", "v2"), in: recoverPending{d: d},
			want: cat(pending, []string{"state watching→reverting", "save"}, again)},
		{name: "reverting, decision done", m: mach(StateReverting, "v0", "v1", "v2"), in: recoverReverting{last: &done},
			want: []string{"route activate v1!", "state reverting→verifying", "route fallback v0", "save!"},
			check: func(t *testing.T, m machine) {
				if m.Active != "v1" || !m.Versions[2].KnownBad || m.Gen != 2 {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "reverting, decision done, its incident without rollback_done", m: mach(StateReverting, "v0", "v1", "v2"), in: recoverReverting{last: &done, undone: true},
			want: []string{"incident INC-0001 advance=identified to=v1 +rollback_done", "route activate v1!", "state reverting→verifying", "route fallback v0", "save!"},
			check: func(t *testing.T, m machine) {
				if m.IncidentID != "INC-0001" || m.State != StateVerifying {
					t.Fatalf("the verification is not chained to the rollback's incident: %+v", m)
				}
			}},
		{name: "reverting, last decision failed", m: mach(StateReverting, "v1", "v2"), in: recoverReverting{last: &store.Decision{ID: 3, Status: store.DecisionFailed}},
			want: []string{"state reverting→stable", "save!"}},
		{name: "reverting, no decision", m: mach(StateReverting, "v1", "v2"), in: recoverReverting{}, want: []string{"state reverting→stable", "save!"}},
	})
}

// TestTransitionTable: the table allows exactly the moves DESIGN §4 draws,
// the canary phase's, and leaves room for the shadow phase.
func TestTransitionTable(t *testing.T) {
	for _, tc := range []struct {
		from, to State
		ok       bool
	}{
		{StateStable, StateWatching, true}, {StateWatching, StateStable, true}, {StateWatching, StateReverting, true},
		{StateReverting, StateVerifying, true}, {StateVerifying, StateStable, true}, {StateVerifying, StateReverting, true},
		{StateReverting, StateEscalated, true}, {StateVerifying, StateEscalated, true}, {StateEscalated, StateStable, true},
		{StateStable, StateShadowing, true}, {StateShadowing, StateCanary, true}, {StateCanary, StateWatching, true},
		{StateShadowing, StateReverting, true}, {StateCanary, StateReverting, true},
		{StateStable, StateVerifying, false}, {StateWatching, StateVerifying, false}, {StateReverting, StateReverting, false},
		{StateEscalated, StateVerifying, false}, {StateVerifying, StateVerifying, false},
		// A canary deploy goes straight from stable; an abort goes back.
		{StateStable, StateCanary, true}, {StateCanary, StateStable, true}, {StateCanary, StateVerifying, false},
		{State("bogus"), StateStable, false},
	} {
		if got := tc.from.CanMove(tc.to); got != tc.ok {
			t.Errorf("%s → %s allowed = %v, want %v", tc.from, tc.to, got, tc.ok)
		}
	}
	for st := range transitions {
		if parseState(string(st)) != st {
			t.Errorf("state %s does not survive a save", st)
		}
	}
}

// TestEffectsPrint: every effect says what it does in one line, for the
// executor's logs and for reading a failed step test.
func TestEffectsPrint(t *testing.T) {
	_, fx, err := step(mach(StateWatching, "v1", "v2"), bad, epoch, testPolicy())
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range fx {
		lines = append(lines, e.String())
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{"decision rollback v2 → v1 (incident chain)", "state watching → reverting: rollback v2 → v1: degraded reason", "after decision", "revert"} {
		if !strings.Contains(all, want) {
			t.Errorf("effects lack %q:\n%s", want, all)
		}
	}
}

func TestStepDryRun(t *testing.T) {
	dry := func(p *config.Policy) { p.DryRun = true }
	watching := mach(StateWatching, "v1", "v2")
	d := store.Decision{ID: 9, Action: ActionDryRun, FromVersion: "v2", ToVersion: "v1", IncidentID: "INC-0005"}
	settled := func(m machine) func(*testing.T, machine) {
		return func(t *testing.T, got machine) {
			if got.Active != "v2" || got.Versions[1].KnownBad || !got.CooldownUntil.IsZero() || got.Fallbacks != 0 || got.Gen != m.Gen {
				t.Fatalf("a dry run changed the watch: %+v", got)
			}
		}
	}
	runSteps(t, []stepCase{
		{name: "announce, record, ask the target to plan", m: watching, in: bad, pol: dry,
			want: []string{"open dry_run major", "state watching→reverting", "decision dry_run v2→v1 @opened",
				"count dry_run", "hook", "incident opened +rollback_started", "revert"},
			check: func(t *testing.T, m machine) {
				if !m.raised("v2|dry run") || m.IncidentID != "" || len(m.Rollbacks) != 0 {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "once per version", m: watching.with(func(m *machine) { m.Raised = []string{"v2|dry run"} }), in: bad, pol: dry, want: nil},
		{name: "no older version: would have escalated", m: mach(StateWatching, "v2"), in: bad, pol: dry,
			want: []string{"open degraded major", "log WARN degraded, not reverted"},
			check: func(t *testing.T, m machine) {
				if m.State != StateWatching || m.Paused {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "the target could: traffic stays", m: mach(StateReverting, "v1", "v2"), in: reverted{d: d, res: revert.Result{To: "v1", DryRun: true}},
			want: []string{"finish done", "incident INC-0005 +decision", "state reverting→watching", "save"}, check: settled(watching)},
		{name: "the target could, after bake", m: mach(StateReverting, "v1", "v2"), at: time.Hour, in: reverted{d: d, res: revert.Result{To: "v1"}},
			want: []string{"finish done", "incident INC-0005 +decision", "state reverting→stable", "save"}},
		{name: "the target could not", m: mach(StateReverting, "v1", "v2"), in: reverted{d: d, err: errors.New("no revision 3")},
			want: []string{"finish failed", "incident INC-0005 +rollback_failed", "state reverting→watching", "save"}, check: settled(watching)},
		{name: "a person's rollback still moves traffic", m: watching, in: rollbackCmd{actor: "ann"}, pol: dry,
			want: cat([]string{"open manual minor → chain!"}, fill(revertFx(ActionManual, "v2", "v1", "chain"), StateWatching))},
		{name: "restart with a dry run pending", m: mach(StateReverting, "v1", "v2"), in: recoverPending{d: d},
			want: []string{"incident INC-0005 +decision", "log WARN completing decision interrupted by restart", "incident INC-0005 +rollback_started", "revert #9"},
			check: func(t *testing.T, m machine) {
				if m.IncidentID != "" {
					t.Fatalf("a dry run joined the chain: %+v", m)
				}
			}},
		{name: "restart after a finished dry run", m: mach(StateReverting, "v1", "v2"), in: recoverReverting{last: &store.Decision{ID: 9, Action: ActionDryRun, Status: store.DecisionDone}},
			want: []string{"state reverting→watching", "save!"}, check: settled(watching)},
	})
}

// TestStepSuspect: a version anomalous but not bad enough to revert is never
// quietly left alone: past suspect_grace a minor incident says why nothing
// was reverted, and it resolves itself when the version turns healthy or is
// replaced.
func TestStepSuspect(t *testing.T) {
	const grace = 30 * time.Second
	m := mach(StateWatching, "v1", "v2")
	suspect := verdict(detect.Suspect, 2000)
	since := func(d time.Duration) func(*machine) { return func(m *machine) { m.SuspectSince = epoch.Add(d) } }
	open := func(m *machine) { m.SuspectSince, m.SuspectIncident = epoch.Add(-time.Hour), "INC-0007" }
	runSteps(t, []stepCase{
		{name: "first suspect verdict starts the clock", m: m, in: suspect, want: nil,
			check: func(t *testing.T, m machine) {
				if !m.SuspectSince.Equal(epoch) || m.State != StateWatching {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "suspect within the grace period", m: m.with(since(-grace + time.Second)), in: suspect, want: nil},
		{name: "suspect past the grace period: minor incident, no revert", m: m.with(since(-grace)), in: suspect,
			want: []string{"open suspect minor → suspect", "log WARN suspect, not reverted"}},
		{name: "suspect incident opened once", m: m.with(open), in: suspect, want: nil},
		{name: "healthy again: resolved", m: m.with(open), in: healthy,
			want: []string{"incident INC-0007 advance=resolved resolved +cleared"},
			check: func(t *testing.T, m machine) {
				if m.SuspectIncident != "" || !m.SuspectSince.IsZero() {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "a deploy replaces it: resolved", m: m.with(open), in: deployCmd{version: "v1", actor: "ann"},
			check: func(t *testing.T, m machine) {
				if m.SuspectIncident != "" {
					t.Fatalf("suspect incident kept after the deploy: %+v", m)
				}
			}, want: []string{"deployment v1 by ann", "route activate v1!", "incident INC-0007 advance=resolved resolved +cleared",
				"state watching→watching", "route fallback ", "save!"}},
		{name: "inconclusive keeps the clock running", m: m.with(since(-grace + time.Second)), in: inconclusive, want: nil,
			check: func(t *testing.T, m machine) {
				if m.SuspectSince.IsZero() {
					t.Fatal("an inconclusive verdict forgot the suspicion")
				}
			}},
	})
}
