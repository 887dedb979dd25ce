package app

import (
	"context"
	"fmt"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/notify/delivery"
	"github.com/ripcord/ripcord/internal/store"
)

// storeState keeps channel handles in the store, so an update after a
// restart edits the Slack message or Statuspage incident it should.
type storeState struct{ st store.Store }

func (s storeState) Get(ctx context.Context, channel, id string) (string, error) {
	return s.st.ChannelState(ctx, channel, id)
}

func (s storeState) Put(ctx context.Context, channel, id, value string) error {
	return s.st.SetChannelState(ctx, channel, id, value)
}

// channels builds one delivery channel per configured channel that a route
// uses, with the lowest severity any of its routes lets through.
func channels(cfg config.Notify, st store.Store) ([]delivery.Channel, error) {
	minSev, drillSev := map[string]incident.Severity{}, map[string]incident.Severity{}
	for _, r := range cfg.Routes {
		sev := incident.Severity(r.MinSeverity)
		if cur, ok := minSev[r.Channel]; !ok || sev.Rank() < cur.Rank() {
			minSev[r.Channel] = sev
		}
		if cur, ok := drillSev[r.Channel]; r.Drills && (!ok || sev.Rank() < cur.Rank()) {
			drillSev[r.Channel] = sev
		}
	}
	state := storeState{st}
	var out []delivery.Channel
	for _, c := range cfg.Channels {
		sev, routed := minSev[c.Name]
		if !routed {
			continue
		}
		n, err := notifier(c, state)
		if err != nil {
			return nil, fmt.Errorf("app: notify channel %s: %w", c.Name, err)
		}
		dsev, drills := drillSev[c.Name]
		out = append(out, delivery.Channel{Name: c.Name, Notifier: n, MinSeverity: sev, Drills: drills, DrillSeverity: dsev})
	}
	return out, nil
}

// notifier builds one channel from its block, by its kind.
func notifier(c config.Channel, state notify.State) (notify.Notifier, error) {
	if len(c.Providers) != 1 {
		return nil, fmt.Errorf("sets %d channel kinds, want exactly one", len(c.Providers))
	}
	b := c.Providers[0]
	k, ok := kindNamed(channelKinds, b.Kind)
	if !ok {
		return nil, fmt.Errorf("%s: no such channel kind", b.Kind)
	}
	return k.build(b, state)
}
