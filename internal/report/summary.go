package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// markers are the instants drawn across the charts: the deploy (or the
// impact start when no deployment matches it), the first detection (or
// decision) and every completed rollback.
func markers(im Impact, mo Moments, evs []incident.Event, deps []store.Deployment) []Marker {
	label := "impact start"
	for _, d := range deps {
		if gap := d.At.Sub(im.Start); gap > -interval && gap < interval {
			label = "deploy"
		}
	}
	out := []Marker{{At: im.Start, Label: label}}
	if !mo.Detected.IsZero() {
		// Without a detector event the first instant is a person's decision.
		what := "decision"
		if slices.ContainsFunc(evs, func(ev incident.Event) bool { return ev.Type == incident.EvDetected }) {
			what = "detected"
		}
		out = append(out, Marker{At: mo.Detected, Label: what})
	}
	for _, ev := range evs {
		if ev.Type == incident.EvRollbackDone {
			out = append(out, Marker{At: ev.At, Label: "rollback"})
		}
	}
	return out
}

// versions describes the versions the incident moved between, from the
// latest deployment of each before the impact ended.
func versions(im Impact, inc incident.Incident, deps []store.Deployment, causes map[string]string) ([]VersionRow, []DeploymentRow) {
	var rows []VersionRow
	addRow := func(name, role string) {
		if name == "" || slices.ContainsFunc(rows, func(r VersionRow) bool { return r.Name == name }) {
			return
		}
		row := VersionRow{Name: name, Role: role, ChangeCause: causes[name]}
		if d, ok := deploymentOf(deps, name, im.End); ok {
			row.URL, row.DeployedBy, row.DeployedAt = store.RedactURL(d.URL), d.Actor, d.At
		}
		rows = append(rows, row)
	}
	for _, v := range im.BadVersions {
		addRow(v, "bad")
	}
	if inc.Kind == incident.KindBlind {
		addRow(inc.FromVersion, "serving")
	}
	addRow(inc.ToVersion, "rolled back to")
	dr := make([]DeploymentRow, 0, len(deps))
	for _, d := range deps {
		d.URL = store.RedactURL(d.URL) // a report is for every reader
		dr = append(dr, DeploymentRow{Deployment: d, ChangeCause: causes[d.Version]})
	}
	return rows, dr
}

// deploymentOf finds the latest deployment of version at or before t, or
// failing that the earliest one after it.
func deploymentOf(deps []store.Deployment, version string, t time.Time) (store.Deployment, bool) {
	var found store.Deployment
	ok := false
	for _, d := range deps {
		if d.Version != version {
			continue
		}
		if !ok || !d.At.After(t) {
			found, ok = d, true
		}
	}
	return found, ok
}

// summary is the opening paragraph: what happened, how fast ripcord acted
// and what it cost, in plain words with the numbers.
func summary(r Report, deps []store.Deployment) string {
	parts := []string{opening(r, deps), speed(r), impactSentence(r.Impact)}
	if r.RecentRollbacks >= 3 {
		parts = append(parts, fmt.Sprintf("%d rollbacks of %s in 7 days.", r.RecentRollbacks, r.Incident.Service))
	}
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), " ")
}

func opening(r Report, deps []store.Deployment) string {
	inc, im := r.Incident, r.Impact
	why := strings.TrimSuffix(orDefault(inc.Reason, "no reason was recorded"), ".")
	if inc.Kind == incident.KindBlind || inc.FromVersion == "" {
		return fmt.Sprintf("%s: trouble from %s: %s.", inc.Service, stamp(im.Start), why)
	}
	d, ok := deploymentOf(deps, inc.FromVersion, im.End)
	deployedAtStart := ok && d.Actor != "" && d.At.Sub(im.Start).Abs() < interval
	who := inc.Service + " " + inc.FromVersion
	switch {
	case inc.Kind == incident.KindManual && ok && d.Actor != "":
		return fmt.Sprintf("%s, deployed by %s at %s, was rolled back by hand by %s: %s.", who, d.Actor, stamp(d.At), decider(inc.Events), why)
	case inc.Kind == incident.KindManual:
		return fmt.Sprintf("%s was rolled back by hand by %s: %s.", who, decider(inc.Events), why)
	case deployedAtStart:
		return fmt.Sprintf("%s was deployed by %s at %s and went bad: %s.", who, d.Actor, stamp(d.At), why)
	}
	return fmt.Sprintf("%s went bad from %s: %s.", who, stamp(im.Start), why)
}

// decider is the actor of the first "decision" event: the person who asked
// for a manual rollback.
func decider(evs []incident.Event) string {
	for _, ev := range evs {
		if ev.Type == incident.EvDecision && ev.Actor != "" {
			return ev.Actor
		}
	}
	return "a person"
}

func speed(r Report) string {
	inc, mo, start := r.Incident, r.Moments, r.Impact.Start
	var clauses []string
	if !mo.Detected.IsZero() && inc.Kind != incident.KindManual && inc.Kind != incident.KindBlind {
		clauses = append(clauses, "detected it after "+since(start, mo.Detected))
	}
	if !mo.RollbackDone.IsZero() {
		c := fmt.Sprintf("had traffic back on %s after %s", inc.ToVersion, since(start, mo.RollbackDone))
		if mo.SwitchTook > 0 {
			c += fmt.Sprintf(" (the switch itself took %s)", dur(mo.SwitchTook))
		}
		clauses = append(clauses, c)
	}
	if !mo.Verified.IsZero() {
		clauses = append(clauses, fmt.Sprintf("verified %s healthy after %s", inc.ToVersion, since(start, mo.Verified)))
	}
	s := ""
	switch n := len(clauses); n {
	case 0:
	case 1:
		s = "ripcord " + clauses[0] + "."
	default:
		s = "ripcord " + strings.Join(clauses[:n-1], ", ") + " and " + clauses[n-1] + "."
	}
	if mo.RollbackDone.IsZero() && inc.Kind != incident.KindBlind {
		s = strings.TrimSpace(s + " No rollback completed.")
	}
	return s
}

func impactSentence(im Impact) string {
	var s string
	bad := strings.Join(im.BadVersions, " and ")
	switch {
	case len(im.BadVersions) == 0:
	case !im.HasMetrics:
		s = fmt.Sprintf("No per-second metrics were recorded, so the requests %s served in the %s impact window are unknown.", bad, dur(im.Duration))
	case im.Requests == 0:
		s = fmt.Sprintf("No requests reached %s in the %s impact window.", bad, dur(im.Duration))
	default:
		s = fmt.Sprintf("In the %s impact window %s served %s requests, of which %s failed (%s).",
			dur(im.Duration), bad, count(im.Requests), count(im.Failed), pct(im.ErrorShare))
	}
	if im.LateRequests > 0 {
		s += fmt.Sprintf(" %s more completed on %s after the switch (%s failed).", count(im.LateRequests), bad, count(im.LateFailed))
	}
	if im.Ongoing {
		s += fmt.Sprintf(" As of %s the incident is not mitigated.", stamp(im.End))
	}
	return strings.TrimSpace(s)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// actionItems seeds the follow-ups every review should consider, with the
// numbers that make each one concrete.
func actionItems(r Report) []string {
	im, bad := r.Impact, strings.Join(r.Impact.BadVersions, " and ")
	test := "Add a test for this failure"
	if len(r.Anomalous) > 0 && bad != "" {
		test += fmt.Sprintf(" (%s on %s)", strings.Join(r.Anomalous, ", "), bad)
	}
	bake := "Consider a longer bake"
	if im.Requests > 0 {
		bake += fmt.Sprintf(" or a smaller first traffic share: %s requests reached %s before the rollback", count(im.Requests), bad)
	}
	items := []string{test, bake, "Review thresholds" + thresholdNote(r)}
	if r.RecentRollbacks >= 3 {
		items = append(items, fmt.Sprintf("Investigate the instability of %s: %d rollbacks in 7 days", r.Incident.Service, r.RecentRollbacks))
	}
	if ch := failedChannels(r.Incident.Events); len(ch) > 0 {
		items = append(items, fmt.Sprintf("Fix notification delivery to %s: it failed during this incident", strings.Join(ch, ", ")))
	}
	return items
}

func thresholdNote(r Report) string {
	var parts []string
	for _, m := range r.Anomalous {
		if t, ok := r.Thresholds[m]; ok {
			parts = append(parts, m+": "+bounds(m, t))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// failedChannels names the channels with a "notify_failed" event.
func failedChannels(evs []incident.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Type != incident.EvNotifyFailed {
			continue
		}
		ch := text(ev.Data["channel"])
		if ch == "" {
			ch, _, _ = strings.Cut(ev.Message, ":")
		}
		if ch != "" && !slices.Contains(out, ch) {
			out = append(out, ch)
		}
	}
	return out
}
