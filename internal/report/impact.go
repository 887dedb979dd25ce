package report

import (
	"math"
	"slices"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// interval is how long one metric point covers: the second ending at its At.
const interval = time.Second

// beforeSpan is how far back the "before" phase reaches.
const beforeSpan = 5 * time.Minute

// moments finds the instants the summary and the charts are told around.
func moments(evs []incident.Event, ds []store.Decision) Moments {
	var m Moments
	for _, ev := range evs {
		switch ev.Type {
		case incident.EvDetected:
			if m.Detected.IsZero() {
				m.Detected = ev.At
			}
		case incident.EvRollbackDone:
			m.RollbackDone = ev.At
			m.SwitchTook = 0
			if ns, ok := number(ev.Data["switch_ns"]); ok && ns >= 0 {
				m.SwitchTook = time.Duration(ns)
			}
		case incident.EvNotified:
			if m.FirstNotified.IsZero() {
				m.FirstNotified = ev.At
			}
		case incident.EvVerified:
			m.Verified = ev.At
		}
	}
	if m.Detected.IsZero() && len(ds) > 0 {
		m.Detected = ds[0].CreatedAt
	}
	return m
}

// window finds the impact window and the versions that were bad in it.
// Impact ends when the last rollback moved traffic off a bad version; a
// version found bad after that (a failed fallback) keeps it open until the
// incident was mitigated, resolved or, failing both, the report was made.
func window(inc incident.Incident, now time.Time) Impact {
	im := Impact{Start: firstSet(inc.ImpactStartedAt, inc.DetectedAt, inc.CreatedAt)}
	blind := inc.Kind == incident.KindBlind
	bad := map[string]bool{}
	add := func(v string) {
		if v != "" && !blind && !bad[v] {
			bad[v] = true
			im.BadVersions = append(im.BadVersions, v)
		}
	}
	add(inc.FromVersion)
	active := inc.FromVersion
	for _, ev := range inc.Events {
		switch ev.Type {
		case incident.EvDetected:
			add(active)
			im.End, im.EndedBy = time.Time{}, ""
		case incident.EvRollbackDone:
			from, to := text(ev.Data["from"]), text(ev.Data["to"])
			add(from)
			if to != "" {
				active = to
			}
			im.End, im.EndedBy = ev.At, "rollback done"
		}
	}
	if im.End.IsZero() {
		switch {
		case !inc.MitigatedAt.IsZero():
			im.End, im.EndedBy = inc.MitigatedAt, "mitigated"
		case !inc.ResolvedAt.IsZero():
			im.End, im.EndedBy = inc.ResolvedAt, "resolved"
		default:
			im.End, im.Ongoing = now, true
			if now.IsZero() && len(inc.Events) > 0 {
				im.End = inc.Events[len(inc.Events)-1].At
			}
		}
	}
	if im.End.Before(im.Start) {
		im.End = im.Start
	}
	im.Duration = im.End.Sub(im.Start)
	return im
}

// measureImpact counts the bad versions' traffic from the raw points: a
// point counts when its second overlaps the window, and as late when it
// ends after the window (requests in flight when traffic switched).
func measureImpact(im *Impact, pts []store.MetricPoint, ph []Phase) {
	im.HasMetrics = len(pts) > 0
	var first, last time.Time
	for _, p := range pts {
		if !slices.Contains(im.BadVersions, p.Version) || p.Requests <= 0 || !p.At.After(im.Start) {
			continue
		}
		errs := min(max(p.Errors, 0), p.Requests)
		if !p.At.Add(-interval).Before(im.End) {
			im.LateRequests += p.Requests
			im.LateFailed += errs
			continue
		}
		im.Requests += p.Requests
		im.Failed += errs
		if first.IsZero() || p.At.Before(first) {
			first = p.At
		}
		if p.At.After(last) {
			last = p.At
		}
	}
	im.ErrorShare = ratio(im.Failed, im.Requests)
	if before := ph[0]; before.Requests > 0 {
		im.HasBaseline = true
		expected := int64(math.Round(float64(im.Requests) * before.ErrorRate))
		im.ExcessFailed = max(im.Failed-expected, 0)
	}
	im.UserFacing, im.UserFacingKnown = im.Duration, im.HasMetrics
	if !im.HasMetrics {
		return
	}
	im.UserFacing = 0
	if !first.IsZero() {
		from := maxTime(im.Start, first.Add(-interval))
		to := minTime(im.End, last)
		im.UserFacing = max(to.Sub(from), 0)
	}
}

func ratio(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

func firstSet(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
