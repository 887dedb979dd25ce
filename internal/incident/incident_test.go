package incident

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

var allStatuses = []Status{Investigating, Identified, Monitoring, Resolved}

// TestValidTransitionTable pins every pair of known statuses: status moves
// only forward, except monitoring → investigating (a fix that did not hold),
// and a status never "changes" to itself. The table is written out rather
// than derived so that a change to the rule has to change this test too.
func TestValidTransitionTable(t *testing.T) {
	allowed := map[[2]Status]bool{
		{Investigating, Identified}: true,
		{Investigating, Monitoring}: true,
		{Investigating, Resolved}:   true,
		{Identified, Monitoring}:    true,
		{Identified, Resolved}:      true,
		{Monitoring, Resolved}:      true,
		{Monitoring, Investigating}: true, // reopened: the fix did not hold
	}
	n := 0
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			want := allowed[[2]Status{from, to}]
			if got := ValidTransition(from, to); got != want {
				t.Errorf("ValidTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
			if want {
				n++
			}
		}
	}
	if n != len(allowed) {
		t.Fatalf("table lists %d allowed pairs, %d matched known statuses", len(allowed), n)
	}
}

// TestValidTransitionRefusesNamedPairs spells out the refusals a reviewer
// cares about, each with why.
func TestValidTransitionRefusesNamedPairs(t *testing.T) {
	for _, tc := range []struct {
		from, to Status
		why      string
	}{
		{Resolved, Investigating, "a resolved incident is not reopened; a new one is opened"},
		{Resolved, Identified, "a stale controller update must not undo a person's resolve"},
		{Resolved, Monitoring, "a stale controller update must not undo a person's resolve"},
		{Monitoring, Identified, "only the monitoring → investigating step goes back"},
		{Identified, Investigating, "only monitoring may be reopened"},
		{Investigating, Investigating, "same status is no transition"},
		{Resolved, Resolved, "same status is no transition"},
	} {
		if ValidTransition(tc.from, tc.to) {
			t.Errorf("ValidTransition(%s, %s) = true: %s", tc.from, tc.to, tc.why)
		}
	}
}

func TestValidTransitionUnknownStatuses(t *testing.T) {
	unknown := []Status{"", "open", "RESOLVED", "closed", " investigating"}
	for _, u := range unknown {
		for _, k := range allStatuses {
			if ValidTransition(u, k) {
				t.Errorf("ValidTransition(%q, %s) = true, want false for an unknown from", u, k)
			}
			if ValidTransition(k, u) {
				t.Errorf("ValidTransition(%s, %q) = true, want false for an unknown to", k, u)
			}
		}
		if ValidTransition(u, u) {
			t.Errorf("ValidTransition(%q, %q) = true", u, u)
		}
	}
}

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Status
		ok   bool
	}{
		{"investigating", Investigating, true},
		{"identified", Identified, true},
		{"monitoring", Monitoring, true},
		{"resolved", Resolved, true},
		{"Resolved", "", false},
		{"resolved ", "", false},
		{"", "", false},
		{"closed", "", false},
		{"resolved\x1b[2J", "", false},
	} {
		got, err := ParseStatus(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseStatus(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
			continue
		}
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "incident: ") || !strings.Contains(msg, fmt.Sprintf("%q", tc.in)) {
				t.Errorf("ParseStatus(%q) error %q: want the incident: prefix and the quoted input", tc.in, msg)
			}
			for _, s := range allStatuses {
				if !strings.Contains(msg, string(s)) {
					t.Errorf("ParseStatus(%q) error %q does not list %s", tc.in, msg, s)
				}
			}
		}
	}
}

// Every status ParseStatus accepts takes part in some transition, and
// every status ValidTransition knows, ParseStatus accepts: the two lists
// cannot drift apart.
func TestParseStatusMatchesTransitions(t *testing.T) {
	for _, s := range allStatuses {
		if _, err := ParseStatus(string(s)); err != nil {
			t.Errorf("ParseStatus(%s): %v", s, err)
		}
		reachable := false
		for _, o := range allStatuses {
			reachable = reachable || ValidTransition(s, o) || ValidTransition(o, s)
		}
		if !reachable {
			t.Errorf("status %s takes part in no transition", s)
		}
	}
}

func TestSeverityRank(t *testing.T) {
	for _, tc := range []struct {
		s    Severity
		want int
	}{{Minor, 1}, {Major, 2}, {Critical, 3}, {"", 0}, {"Critical", 0}, {"sev1", 0}} {
		if got := tc.s.Rank(); got != tc.want {
			t.Errorf("Severity(%q).Rank() = %d, want %d", tc.s, got, tc.want)
		}
	}
	if !(Minor.Rank() < Major.Rank() && Major.Rank() < Critical.Rank()) {
		t.Error("severities are not ordered minor < major < critical")
	}
	// An unknown severity ranks below every known one, so a route with a
	// minimum lets it through only when the minimum is unknown too.
	if Severity("bogus").Rank() >= Minor.Rank() {
		t.Error("an unknown severity must rank below minor")
	}
}

func TestOpen(t *testing.T) {
	for _, s := range allStatuses {
		inc := Incident{Status: s}
		if got, want := inc.Open(), s != Resolved; got != want {
			t.Errorf("Incident{Status: %s}.Open() = %v, want %v", s, got, want)
		}
	}
	if !(&Incident{}).Open() {
		t.Error("an incident without a status is still open")
	}
}

func TestIsDelivery(t *testing.T) {
	delivery := map[string]bool{EvNotified: true, EvNotifyFailed: true}
	for _, typ := range []string{EvOpened, EvDetected, EvDecision, EvRollbackStarted, EvRollbackDone,
		EvRollbackFailed, EvVerified, EvFallback, EvEscalated, EvSuppressed, EvStatus, EvNote,
		EvDataReturned, EvCleared, EvNotifyFailed, EvNotified, EvReport, "", "notified "} {
		if got := IsDelivery(typ); got != delivery[typ] {
			t.Errorf("IsDelivery(%q) = %v, want %v", typ, got, delivery[typ])
		}
	}
}

// TestEventTypesDistinct: the timeline's event types are its vocabulary
// (notifications, reports and the API switch on them); two constants with
// the same spelling would make two meanings indistinguishable.
func TestEventTypesDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, typ := range []string{EvOpened, EvDetected, EvDecision, EvRollbackStarted, EvRollbackDone,
		EvRollbackFailed, EvVerified, EvFallback, EvEscalated, EvSuppressed, EvStatus, EvNote,
		EvDataReturned, EvCleared, EvNotifyFailed, EvNotified, EvReport} {
		if typ == "" || seen[typ] || strings.ToLower(typ) != typ || strings.ContainsAny(typ, " -") {
			t.Errorf("event type %q is empty, repeated or not lower_snake_case", typ)
		}
		seen[typ] = true
	}
	kinds := map[Kind]bool{}
	for _, k := range []Kind{KindRollback, KindManual, KindEscalation, KindBlind, KindDegraded, KindDryRun, KindSuspect} {
		if k == "" || kinds[k] {
			t.Errorf("kind %q empty or repeated", k)
		}
		kinds[k] = true
	}
}

// TestJSONShape pins the API shape of an incident: unset times are left
// out rather than sent as year 1, installation and versions are omitted
// when empty, and a timeline round-trips in order with its Seq.
func TestJSONShape(t *testing.T) {
	created := time.Date(2026, 3, 14, 9, 26, 53, 120_000_000, time.UTC)
	inc := Incident{ID: "INC-0001", Service: "api", Kind: KindRollback, Severity: Major, Status: Investigating,
		Title: "api: rollback", Reason: "error_rate 50%", CreatedAt: created, UpdatedAt: created,
		DetectedAt: created.Add(350 * time.Millisecond),
		Events: []Event{
			{Seq: 7, At: created, Type: EvOpened, Actor: "ripcord", Message: "opened"},
			{Seq: 9, At: created.Add(time.Second), Type: EvNote, Actor: "ann", Message: "looking",
				Data: map[string]any{"k": "v"}},
		}}
	b, err := json.Marshal(inc)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"impact_started_at", "rollback_started_at", "mitigated_at", "resolved_at",
		"installation", "from_version", "to_version"} {
		if _, ok := raw[absent]; ok {
			t.Errorf("JSON has %q for an unset field: %s", absent, b)
		}
	}
	for _, present := range []string{"id", "service", "kind", "severity", "status", "title", "reason",
		"detected_at", "created_at", "updated_at", "events"} {
		if _, ok := raw[present]; !ok {
			t.Errorf("JSON lacks %q: %s", present, b)
		}
	}
	var back Incident
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.DetectedAt.Equal(inc.DetectedAt) || !back.ResolvedAt.IsZero() || !back.MitigatedAt.IsZero() {
		t.Errorf("times after a round trip: detected %v resolved %v mitigated %v", back.DetectedAt, back.ResolvedAt, back.MitigatedAt)
	}
	if len(back.Events) != 2 || back.Events[0].Seq != 7 || back.Events[1].Seq != 9 || back.Events[1].Data["k"] != "v" {
		t.Errorf("events after a round trip: %+v", back.Events)
	}
	// An event not yet stored has no seq on the wire.
	eb, _ := json.Marshal(Event{At: created, Type: EvNote})
	if strings.Contains(string(eb), `"seq"`) || strings.Contains(string(eb), `"data"`) {
		t.Errorf("unstored event JSON %s carries seq or data", eb)
	}
}
