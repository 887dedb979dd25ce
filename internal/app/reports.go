package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/notify/delivery"
	"github.com/ripcord/ripcord/internal/report"
	"github.com/ripcord/ripcord/internal/store"
)

// reporter writes the post-incident report when a rollback is verified or a
// service escalates. It is a delivery channel like any other, so it inherits
// the outbox's guarantee: a crash before the report is written means it is
// written after the restart.
type reporter struct {
	st       store.Store
	dir      string
	policies map[string]*config.Policy // by service: its limits are converted when a report is written
}

var _ notify.Notifier = (*reporter)(nil)

func newReporter(cfg *config.Config, st store.Store) delivery.Channel {
	r := &reporter{st: st, dir: cfg.ReportsDir(), policies: make(map[string]*config.Policy, len(cfg.Services))}
	for i := range cfg.Services {
		r.policies[cfg.Services[i].Name] = &cfg.Services[i].Policy
	}
	return delivery.Channel{Name: "report", Notifier: r, MinSeverity: incident.Minor, Quiet: true}
}

// Notify writes INC-N.md and INC-N.html for the events that end a phase.
func (r *reporter) Notify(ctx context.Context, m notify.Message) error {
	if m.Event == nil || (m.Event.Type != incident.EvVerified && m.Event.Type != incident.EvEscalated) {
		return nil
	}
	now := time.Now()
	var limits map[string]report.Threshold
	if p := r.policies[m.Service]; p != nil {
		limits = report.ThresholdsOf(*p)
	}
	in, err := report.Load(ctx, r.st, m.IncidentID, limits, now)
	if err != nil {
		return notify.Retryable(err, 0) // the store will answer again
	}
	rep := report.Build(in)
	if err := os.MkdirAll(r.dir, 0o750); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	md := filepath.Join(r.dir, m.IncidentID+".md")
	html := filepath.Join(r.dir, m.IncidentID+".html")
	for path, body := range map[string][]byte{md: rep.Markdown(), html: rep.HTML()} {
		if err := writeAtomic(path, body); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	return r.st.AppendEvent(ctx, m.IncidentID, incident.Event{At: time.Now(), Type: incident.EvReport, Actor: "ripcord",
		Message: fmt.Sprintf("post-incident report written to %s (and .html) %s after the %s; `ripcord report %s` renders it anew",
			md, time.Since(m.Event.At).Round(time.Millisecond), m.Event.Type, m.IncidentID),
		Data: map[string]any{"markdown": md, "html": html}})
}

// writeAtomic replaces path with body so a reader never sees half a file.
func writeAtomic(path string, body []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, body, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
