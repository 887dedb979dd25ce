package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/report -update)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		gl, wl := line(g, i), line(w, i)
		if gl != wl {
			t.Errorf("%s differs from the golden file at line %d (if intended: go test ./internal/report -update, then review the diff)\n got: %.300s\nwant: %.300s", name, i+1, gl, wl)
			return
		}
	}
}

func line(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "<end of file>"
}

func TestMarkdownGolden(t *testing.T) {
	golden(t, "rollback.md.golden", Build(fixture(t)).Markdown())
}

func TestHTMLGolden(t *testing.T) {
	golden(t, "rollback.html.golden", Build(fixture(t)).HTML())
}

// The fallback chain (v3 → v2, bad too → v1), a manual rollback and a blind
// incident each exercise sections the automatic rollback leaves quiet:
// several checks and markers, "rolled back by hand", no bad version.
func TestChainGolden(t *testing.T) {
	r := Build(chain(t))
	golden(t, "chain.md.golden", r.Markdown())
	golden(t, "chain.html.golden", r.HTML())
}

func TestManualGolden(t *testing.T) {
	golden(t, "manual.md.golden", Build(manualInput(t)).Markdown())
}

func TestBlindGolden(t *testing.T) {
	in := fixture(t)
	in.Decisions = nil
	in.Incident.ID, in.Incident.Kind, in.Incident.ToVersion = "INC-0043", incident.KindBlind, ""
	in.Incident.Severity, in.Incident.Status = incident.Minor, incident.Resolved
	in.Incident.Title, in.Incident.Reason = "checkout: flying blind", "error_rate: no data for 2m (grace 1m)"
	in.Incident.Events = []incident.Event{
		{At: at(time.Minute), Type: incident.EvOpened, Actor: "ripcord", Message: "minor incident opened (blind)"},
		{At: at(3 * time.Minute), Type: incident.EvDataReturned, Actor: "ripcord", Message: "error_rate data is back"},
	}
	in.Incident.MitigatedAt, in.Incident.ResolvedAt = time.Time{}, at(3*time.Minute)
	golden(t, "blind.md.golden", Build(in).Markdown())
}

func manualInput(t *testing.T) Input {
	in := fixture(t)
	in.Incident.Kind = incident.KindManual
	in.Incident.Severity, in.Incident.Title = incident.Minor, "checkout: manual rollback v2 → v1"
	in.Incident.Reason = "customers report blank carts"
	in.Incident.Events = slices.DeleteFunc(in.Incident.Events, func(ev incident.Event) bool { return ev.Type == incident.EvDetected })
	in.Incident.Events = append([]incident.Event{{At: at(350 * time.Millisecond), Type: incident.EvDecision, Actor: "carol",
		Message: "customers report blank carts"}}, in.Incident.Events...)
	in.Decisions[0].Action, in.Decisions[0].Reason, in.Decisions[0].Snapshot = "manual_rollback", "customers report blank carts", nil
	return in
}
