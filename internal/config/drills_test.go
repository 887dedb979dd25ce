package config

import (
	"testing"
	"time"
)

func TestDrillDefaults(t *testing.T) {
	cfg := mustParse(t, base, t.TempDir())
	d := cfg.Services[0].Drills
	p := cfg.Services[0].Policy
	if d.Share != 5 || d.Fault != "error" || d.Every != 0 || d.Timeout != p.Sustain+p.Window {
		t.Fatalf("drill defaults: %+v", d)
	}
	cfg = mustParse(t, mutate(t, "    policy:", "    drills: {share: 0.5, every: 168h, fault: stream}\n    policy:"), t.TempDir())
	if d := cfg.Services[0].Drills; d.Share != 0.5 || d.Every != 168*time.Hour || d.Fault != "stream" {
		t.Fatalf("drills: %+v", d)
	}
}

// TestDrillProblems: a share over 50 %, an unknown fault and a negative
// schedule are each reported at their key; a route's drills flag parses.
func TestDrillProblems(t *testing.T) {
	errs := parseErrs(t, mutate(t, "    policy:", "    drills:\n      share: 60\n      fault: eror\n      every: -1h\n    policy:"), t.TempDir())
	wantProblem(t, errs, "services[0].drills.share", 13, "at most 50")
	wantProblem(t, errs, "services[0].drills.fault", 14, `did you mean "error"`)
	wantProblem(t, errs, "services[0].drills.every", 15, "must not be negative")
	errs = parseErrs(t, base+"notify:\n  routes:\n    - {channel: hook, drills: yes please}\n", t.TempDir())
	wantProblem(t, errs, "notify.routes[0].drills", 19, "")
}
