package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/store"
)

// crashVar is the test-only switch of the crash-fault suite
// (test/e2e/crash_test.go): RIPCORD_TEST_CRASH_AT=POINT[:N] makes `ripcord
// serve` SIGKILL itself the N-th time (default the first) it reaches POINT,
// so a test can stop a real process exactly where a crash hurts most.
// Never set it in production.
const crashVar = "RIPCORD_TEST_CRASH_AT"

// The crash points, in the order a rollback reaches them.
const (
	crashAfterDecision = "after_decision" // decision recorded, nothing moved yet
	crashAfterSwitch   = "after_switch"   // traffic moved, nothing about it written
	crashAfterIncident = "after_incident" // incident written, decision not finished
	crashBetweenNotify = "between_notifications"
)

var crashPoints = []string{crashAfterDecision, crashAfterSwitch, crashAfterIncident, crashBetweenNotify}

// crashHooks arms the crash point the environment names, if any.
func crashHooks(o *app.Options, log *slog.Logger) error {
	v := os.Getenv(crashVar)
	if v == "" {
		return nil
	}
	point, nth, err := parseCrashAt(v)
	if err != nil {
		return err
	}
	var seen atomic.Int64
	hit := func(what string) {
		if seen.Add(1) == nth {
			log.Warn("test crash point reached: killing this process", "point", point, "n", nth, "at", what)
			killSelf()
		}
	}
	switch point {
	case crashAfterDecision:
		o.Hooks.AfterDecision = func(d store.Decision) error { hit(fmt.Sprintf("decision %d", d.ID)); return nil }
	case crashAfterSwitch:
		o.Hooks.AfterSwitch = func(d store.Decision) { hit(fmt.Sprintf("decision %d", d.ID)) }
	case crashAfterIncident:
		o.Hooks.AfterIncident = func(d store.Decision) { hit(fmt.Sprintf("decision %d", d.ID)) }
	case crashBetweenNotify:
		o.AfterNotified = func(ch string, m notify.Message) { hit(fmt.Sprintf("%s %s seq %d", ch, m.IncidentID, m.Seq)) }
	}
	log.Warn("test crash point armed ("+crashVar+"; test only)", "point", point, "n", nth)
	return nil
}

func parseCrashAt(v string) (string, int64, error) {
	point, n, hasN := strings.Cut(v, ":")
	nth := int64(1)
	if hasN {
		var err error
		if nth, err = strconv.ParseInt(n, 10, 64); err != nil || nth < 1 {
			return "", 0, fmt.Errorf("%s=%q: the count after the colon must be a whole number from 1 (POINT[:N])", crashVar, v)
		}
	}
	for _, p := range crashPoints {
		if p == point {
			return point, nth, nil
		}
	}
	return "", 0, fmt.Errorf("%s=%q: unknown crash point; use one of %s, optionally :N for the N-th time", crashVar, v, strings.Join(crashPoints, ", "))
}
