package controller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/store"
)

// A drill (`ripcord drill`) rehearses the rollback path without a bad
// build: the switch sends a share of live traffic to a fault-injecting
// wrapper of the active version, the wrapper's requests are judged under
// the service's own policy exactly as a deploy would be, and on the bad
// verdict the share is taken away; then the active version must verify.
//
// A drill is not a transition of the state machine and leaves no trace in
// the rollback machinery: it never touches the machine (no cooldown, no
// known-bad mark, no entry in the "frequent rollbacks" memory), counts in
// no Prometheus counter, and its decisions (drill_start, drill_rollback)
// are actions the dashboard's "what ripcord prevented" does not count. It
// writes only its own incident (kind drill, announced only on routes with
// drills: true), which is also its report, and its own decisions. The
// newest drill incident's creation time is when the service was last
// drilled, which the schedule (drills.every) reads from the store.
//
// It never faults more than the share (the switch's split, at most 50 %),
// and it ends the share at once if the real version's verdict turns bad,
// if the service moves on (a deploy, a revert, a pause), or if the share
// was taken away by anyone else.

// Drill decision actions.
const (
	ActionDrillStart    = "drill_start"
	ActionDrillRollback = "drill_rollback"
)

func drillAction(a string) bool { return a == ActionDrillStart || a == ActionDrillRollback }

// DrillRouter is a router that can run a drill: the built-in switch,
// through internal/app's adapter (proxy imports no ripcord package).
type DrillRouter interface {
	// StartDrill sends bp basis points of new requests to a wrapper of the
	// active version that injects f, and names the wrapper's version; with
	// shadow, copies of live requests instead, and no user's.
	StartDrill(version string, bp int, f DrillFault, shadow bool) (string, error)
	// EndDrill takes the share away, waits for the wrapper's requests in
	// flight, and reports what the drill served.
	EndDrill() (DrillCounts, error)
	// DrillShare reports whether the drill's share is still live.
	DrillShare() bool
	// Active is the version receiving new requests.
	Active() string
}

// DrillCounts are the requests a drill served: Affected reached the fault
// wrapper, Live the active version while the share was live; EndedAt is
// when the share was taken away.
type DrillCounts struct {
	Affected, Live uint64
	EndedAt        time.Time
}

// DrillFault is what the wrapper does to each request it gets.
type DrillFault struct {
	Kind   string        // error | latency | quality | stream
	Delay  time.Duration // latency: added before forwarding
	Header string        // quality: the response header the signal is read from
	Value  string        // quality: the degraded value it is set to
}

// DrillRequest starts a drill.
type DrillRequest struct {
	Fault string  // error | latency | quality | stream
	Share float64 // percent of live traffic; 0: drills.share
	// Shadow drills on copies of live requests (the switch's shadow
	// traffic: strategy.shadow's methods, percent and backlog, or their
	// defaults) instead of a share: no user meets the fault.
	Shadow bool
	Actor  string
}

// DrillReport is a drill's outcome, as the API and `ripcord drill --json`
// show it and as the last event of its incident records it.
type DrillReport struct {
	Service string `json:"service"`
	Fault   string `json:"fault"`
	Passed  bool   `json:"passed"`
	// Aborted: ended early because the real version degraded or the
	// service moved on; never a pass.
	Aborted bool   `json:"aborted,omitempty"`
	Reason  string `json:"reason"`
	Version string `json:"version"`
	// DetectSeconds is from the share going live to the bad verdict;
	// RollbackSeconds from the verdict to the share being gone.
	DetectSeconds   float64 `json:"detect_seconds"`
	RollbackSeconds float64 `json:"rollback_seconds"`
	// AffectedRequests went to the fault wrapper, LiveRequests to the
	// active version while the share was live; ActualShare is the first
	// over their sum, in percent, against SharePercent configured. A
	// shadow drill affects no request (0): Copies went to the wrapper.
	AffectedRequests uint64    `json:"affected_requests"`
	Shadow           bool      `json:"shadow,omitempty"`
	Copies           uint64    `json:"copies,omitempty"`
	LiveRequests     uint64    `json:"live_requests"`
	SharePercent     float64   `json:"share_percent"`
	ActualShare      float64   `json:"actual_share_percent"`
	Verdict          string    `json:"verdict,omitempty"`
	IncidentID       string    `json:"incident_id"`
	Drill            bool      `json:"drill"`
	StartedAt        time.Time `json:"started_at"`
	FinishedAt       time.Time `json:"finished_at"`
}

// drillState is the one drill a service may run at a time, and the first
// degraded verdict on the real version while it runs (kept, since the
// revert that follows replaces the service's last verdict at once).
type drillState struct {
	running atomic.Bool
	realBad atomic.Pointer[string]
}

// saw is told every verdict on the active version (Tick, s.mu held).
func (d *drillState) saw(r detect.Result) {
	if r.Verdict == detect.Degraded && d.running.Load() {
		why := r.Reason
		d.realBad.CompareAndSwap(nil, &why)
	}
}

// ErrNoSwitch marks a drill refused because the service is not behind the
// built-in switch.
var ErrNoSwitch = errors.New("drills need the built-in switch")

// Drill runs one drill to its end and returns its report; ctx ending
// ends the drill share at once. It is refused (ErrInvalid, ErrConflict)
// before anything moves when the service cannot be drilled now.
func (s *Service) Drill(ctx context.Context, req DrillRequest) (DrillReport, error) {
	plan, err := s.planDrill(req)
	if err != nil {
		return DrillReport{}, err
	}
	if !s.drill.running.CompareAndSwap(false, true) {
		return DrillReport{}, fmt.Errorf("%w: %s is already being drilled", ErrConflict, s.cfg.Name)
	}
	s.drill.realBad.Store(nil)
	defer s.drill.running.Store(false)
	return s.runDrill(ctx, plan)
}

// Drilling reports whether a drill is in progress.
func (s *Service) Drilling() bool { return s.drill.running.Load() }

// drillPlan is a checked drill request.
type drillPlan struct {
	req    DrillRequest
	fault  DrillFault
	bp     int
	pol    detect.Policy // the rules the switch can judge the wrapper by
	active string
	gen    uint64
}

// planDrill checks that the service can be drilled now and works out the
// fault from its policy.
func (s *Service) planDrill(req DrillRequest) (drillPlan, error) {
	name := s.cfg.Name
	if s.deps.Drill == nil {
		kind := "its target"
		if b := s.cfg.Target.Provider(); b != nil {
			kind = "its " + b.Kind + " target"
		}
		return drillPlan{}, fmt.Errorf("%w: %w: %s is reverted through %s, which cannot send a share of traffic to a fault "+
			"wrapper; drill a service behind ripcord's own proxy", ErrInvalid, ErrNoSwitch, name, kind)
	}
	if req.Shadow && req.Share != 0 {
		return drillPlan{}, fmt.Errorf("%w: a --shadow drill sends copies, not a share of users' traffic: drop --share (strategy.shadow.percent sets how many requests are copied)", ErrInvalid)
	}
	if req.Share == 0 {
		req.Share = s.cfg.Drills.Share
	}
	if req.Shadow {
		req.Share = 0
	} else if msg := config.CheckDrillShare(req.Share); msg != "" {
		return drillPlan{}, fmt.Errorf("%w: share %g%%: %s", ErrInvalid, req.Share, msg)
	}
	if req.Fault == "" {
		req.Fault = s.cfg.Drills.Fault
	}
	p := drillPlan{req: req, bp: max(1, int(math.Round(req.Share*100))), pol: s.drillPolicy()}
	if len(p.pol.Rules) == 0 {
		return drillPlan{}, fmt.Errorf("%w: %s has no threshold on a metric the switch measures, so a drill could not be judged", ErrInvalid, name)
	}
	f, err := s.drillFault(req.Fault, p.pol)
	if err != nil {
		return drillPlan{}, err
	}
	p.fault = f
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.m
	switch {
	case m.State != StateStable && m.State != StateWatching:
		return drillPlan{}, fmt.Errorf("%w: %s is %s on %s; a drill needs it stable or watching", ErrConflict, name, m.State, m.Active)
	case m.Paused:
		return drillPlan{}, fmt.Errorf("%w: %s is paused: a drill's rollback could not be trusted to act; `ripcord resume %s` first", ErrConflict, name, name)
	case m.Moving:
		return drillPlan{}, fmt.Errorf("%w: %s is changing its traffic share", ErrConflict, name)
	case s.last.Verdict == detect.Degraded:
		return drillPlan{}, fmt.Errorf("%w: %s's active version %s is degraded (%s): no drill on a real incident", ErrConflict, name, m.Active, s.last.Reason)
	}
	p.active, p.gen = m.Active, m.Gen
	return p, nil
}

// drillPolicy is the service's policy with only the rules the switch can
// judge the wrapper by: its own request metrics and response-header
// signals. Baselines are left out: the wrapper has no previous version.
func (s *Service) drillPolicy() detect.Policy {
	p := s.pol
	p.Rules = nil
	for _, r := range s.pol.Rules {
		_, header := s.cfg.Signals.Headers[r.Metric]
		live := contains(s.deps.Signals.LiveMetrics, r.Metric) &&
			(s.deps.Signals.Optional == nil || !s.deps.Signals.Optional.Expected(s.cfg.Name, r.Metric))
		if !header && !live {
			continue
		}
		if r.Max == nil && r.Min == nil && r.Critical == nil {
			continue // baseline only
		}
		r.Baseline = nil
		p.Rules = append(p.Rules, r)
	}
	return p
}

// drillFault works out the fault: a latency beyond the policy's largest
// latency bound, a quality header value beyond its threshold.
func (s *Service) drillFault(kind string, pol detect.Policy) (DrillFault, error) {
	name := s.cfg.Name
	switch kind {
	case "error", "stream":
		return DrillFault{Kind: kind}, nil
	case "latency":
		bound := 0.0
		for _, r := range pol.Rules {
			if strings.HasPrefix(r.Metric, "latency_") && r.Max != nil {
				bound = max(bound, *r.Max)
			}
		}
		if bound == 0 {
			return DrillFault{}, fmt.Errorf("%w: a latency drill needs a latency_p50_ms or latency_p99_ms max in %s's policy.thresholds", ErrInvalid, name)
		}
		d := time.Duration(bound * float64(time.Millisecond))
		return DrillFault{Kind: kind, Delay: d + max(d/2, 100*time.Millisecond)}, nil
	case "quality":
		for _, r := range pol.Rules {
			h, ok := s.cfg.Signals.Headers[r.Metric]
			if !ok {
				continue
			}
			v := 0.0
			switch {
			case r.LowerIsWorse && r.Min != nil:
				v = *r.Min / 2
			case !r.LowerIsWorse && r.Max != nil:
				v = min(1, 2**r.Max+0.1)
			default:
				continue
			}
			return DrillFault{Kind: kind, Header: h, Value: strconv.FormatFloat(v, 'f', -1, 64)}, nil
		}
		return DrillFault{}, fmt.Errorf("%w: a quality drill needs an LLM quality metric read from a response header "+
			"(signals.headers, e.g. quality_score: X-Quality-Score) with a threshold in %s's policy; probed or pushed "+
			"quality does not pass through the switch", ErrInvalid, name)
	}
	return DrillFault{}, fmt.Errorf("%w: fault %q: want one of %s", ErrInvalid, kind, strings.Join(config.DrillFaults, ", "))
}

// drillBounds are the latency bounds the drill's guard tests, for the
// switch to count in flight.
func drillBounds(g *detect.Guard, pol detect.Policy) map[string][]float64 {
	out := map[string][]float64{}
	for _, r := range pol.Rules {
		if b := g.Bounds(r.Metric); len(b) > 0 {
			out[r.Metric] = b
		}
	}
	return out
}

// LastDrill is when the service was last drilled (zero: never), from the
// store, so a restart keeps the schedule.
func (s *Service) LastDrill(ctx context.Context) (time.Time, error) {
	incs, err := s.deps.Store.ListIncidents(ctx, store.IncidentFilter{Service: s.cfg.Name, Kind: kindDrill, Limit: 1})
	if err != nil || len(incs) == 0 {
		return time.Time{}, err
	}
	return incs[0].CreatedAt, nil
}

// DrillConfig is the service's drills block.
func (s *Service) DrillConfig() config.Drills { return s.cfg.Drills }

// Drillable reports whether the service is behind the built-in switch.
func (s *Service) Drillable() bool { return s.deps.Drill != nil }

// Window is the service's policy.window.
func (s *Service) Window() time.Duration { return s.cfg.Policy.Window }
