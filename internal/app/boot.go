package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// bootSaveBatch is how many boot states one transaction saves.
const bootSaveBatch = 1000

// boot lets a fleet's services start on a few store round trips instead
// of several each. Each service's Start read its own state, its recent
// rollbacks and every pending decision, then wrote its boot state in a
// transaction of its own: 10,000 services were 40,000 queries and 10,000
// commits (each an fsync with SQLite). Before the services start, boot
// reads every state, every rollback incident and the pending decisions
// once, and answers the services' reads from that; their boot states are
// saved together, bootSaveBatch a transaction, before any service runs
// and before the API listens (App.Start), so nothing acts on a state
// that is not yet durable.
//
// Nothing else writes the store while the services start (the API,
// the notifier and the control loops start after them) and each Start
// touches only its own service's rows, so the snapshot is what the reads
// would have returned. A write other than a boot state (a restart
// completing an interrupted rollback) first saves the states held, then
// goes to the store, and from then on every read does too, so that
// service's recovery sees its own writes, in order.
type boot struct {
	// on is read without mu first: after the start every call of every
	// service goes straight to the store (RecordMetrics is per second).
	on       atomic.Bool
	mu       sync.Mutex
	saver    store.ServicesSaver
	states   map[string]store.ServiceState
	pending  []store.Decision
	rollback map[string][]incident.Incident // by service, newest first
	held     []store.ServiceState           // boot states not yet saved
}

// wrap is st as a service sees it: through b while the services start.
func (b *boot) wrap(st store.Store) store.Store { return bootStore{Store: st, b: b} }

// load reads the snapshot and turns b on; with a store that cannot save
// in batches it stays off (every call goes to the store).
func (b *boot) load(ctx context.Context, st store.Store) error {
	saver, ok := st.(store.ServicesSaver)
	if !ok {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.saver, b.states, b.rollback = saver, map[string]store.ServiceState{}, map[string][]incident.Incident{}
	states, err := st.ListServices(ctx)
	if err != nil {
		return fmt.Errorf("app: start: services: %w", err)
	}
	for _, s := range states {
		b.states[s.Name] = s
	}
	if b.pending, err = st.PendingDecisions(ctx); err != nil {
		return fmt.Errorf("app: start: pending decisions: %w", err)
	}
	incs, err := st.ListIncidents(ctx, store.IncidentFilter{Kind: incident.KindRollback, Limit: 1 << 30})
	if err != nil {
		return fmt.Errorf("app: start: rollbacks: %w", err)
	}
	for _, inc := range incs {
		b.rollback[inc.Service] = append(b.rollback[inc.Service], inc)
	}
	b.on.Store(true)
	return nil
}

// flush saves the boot states held (b.mu held).
func (b *boot) flush(ctx context.Context) error {
	for len(b.held) > 0 {
		n := min(len(b.held), bootSaveBatch)
		if err := b.saver.SaveServices(ctx, b.held[:n]); err != nil {
			return err
		}
		b.held = b.held[n:]
	}
	b.held = nil
	return nil
}

// done saves what is held and hands every later call to the store.
func (b *boot) done(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.off(ctx)
}

// off saves what is held, drops the snapshot and turns b off (b.mu held).
func (b *boot) off(ctx context.Context) error {
	if !b.on.Load() {
		return nil
	}
	b.on.Store(false)
	b.states, b.pending, b.rollback = nil, nil, nil
	return b.flush(ctx)
}

// bootStore is one service's store while boot is on.
type bootStore struct {
	store.Store
	b *boot
}

// lock takes b.mu while b is on (and says so); off, b is not locked.
func (s bootStore) lock() bool {
	if !s.b.on.Load() {
		return false
	}
	s.b.mu.Lock()
	if !s.b.on.Load() {
		s.b.mu.Unlock()
		return false
	}
	return true
}

func (s bootStore) LoadService(ctx context.Context, name string) (store.ServiceState, error) {
	if s.lock() {
		defer s.b.mu.Unlock()
		st, ok := s.b.states[name]
		if !ok {
			return store.ServiceState{}, store.ErrNotFound
		}
		st.Versions = append([]store.Version(nil), st.Versions...)
		return st, nil
	}
	return s.Store.LoadService(ctx, name)
}

func (s bootStore) PendingDecisions(ctx context.Context) ([]store.Decision, error) {
	if s.lock() {
		defer s.b.mu.Unlock()
		return append([]store.Decision(nil), s.b.pending...), nil
	}
	return s.Store.PendingDecisions(ctx)
}

func (s bootStore) ListIncidents(ctx context.Context, f store.IncidentFilter) ([]incident.Incident, error) {
	if f.Service != "" && f.Kind == incident.KindRollback && !f.OpenOnly && s.lock() {
		defer s.b.mu.Unlock()
		incs := s.b.rollback[f.Service]
		limit := f.Limit
		if limit <= 0 {
			limit = 100 // the store's default
		}
		return append([]incident.Incident(nil), incs[:min(len(incs), limit)]...), nil
	}
	return s.Store.ListIncidents(ctx, f)
}

// SaveService holds a boot state for the batch; the service's snapshot
// follows it, as the store would.
func (s bootStore) SaveService(ctx context.Context, st store.ServiceState) error {
	if s.lock() {
		defer s.b.mu.Unlock()
		if st.Name == "" {
			return errors.New("app: save service: empty name")
		}
		st.Versions = append([]store.Version(nil), st.Versions...)
		s.b.held = append(s.b.held, st)
		s.b.states[st.Name] = st
		return nil
	}
	return s.Store.SaveService(ctx, st)
}

// write runs a write other than a boot state: what is held is saved
// first and the snapshot is given up, so reads see the write.
func (s bootStore) write(ctx context.Context, fn func() error) error {
	if s.lock() {
		err := s.b.off(ctx)
		s.b.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return fn()
}

func (s bootStore) RecordDeployment(ctx context.Context, d store.Deployment) (id int64, err error) {
	err = s.write(ctx, func() (err error) { id, err = s.Store.RecordDeployment(ctx, d); return err })
	return id, err
}

func (s bootStore) RecordDecision(ctx context.Context, d store.Decision) (id int64, err error) {
	err = s.write(ctx, func() (err error) { id, err = s.Store.RecordDecision(ctx, d); return err })
	return id, err
}

func (s bootStore) Decide(ctx context.Context, d store.Decision, st store.ServiceState) (id int64, err error) {
	err = s.write(ctx, func() (err error) { id, err = s.Store.Decide(ctx, d, st); return err })
	return id, err
}

func (s bootStore) LinkDecision(ctx context.Context, id int64, incidentID string) error {
	return s.write(ctx, func() error { return s.Store.LinkDecision(ctx, id, incidentID) })
}

func (s bootStore) FinishDecision(ctx context.Context, id int64, status, result string, at time.Time) error {
	return s.write(ctx, func() error { return s.Store.FinishDecision(ctx, id, status, result, at) })
}

func (s bootStore) CreateIncident(ctx context.Context, inc incident.Incident) (id string, err error) {
	err = s.write(ctx, func() (err error) { id, err = s.Store.CreateIncident(ctx, inc); return err })
	return id, err
}

func (s bootStore) UpdateIncident(ctx context.Context, id string, fn func(*incident.Incident) error, evs ...incident.Event) error {
	return s.write(ctx, func() error { return s.Store.UpdateIncident(ctx, id, fn, evs...) })
}

func (s bootStore) AppendEvent(ctx context.Context, id string, ev incident.Event) error {
	return s.write(ctx, func() error { return s.Store.AppendEvent(ctx, id, ev) })
}

func (s bootStore) SetCursor(ctx context.Context, name string, seq int64) error {
	return s.write(ctx, func() error { return s.Store.SetCursor(ctx, name, seq) })
}

func (s bootStore) SetChannelState(ctx context.Context, channel, incidentID, value string) error {
	return s.write(ctx, func() error { return s.Store.SetChannelState(ctx, channel, incidentID, value) })
}

func (s bootStore) RecordMetrics(ctx context.Context, pts []store.MetricPoint) error {
	return s.write(ctx, func() error { return s.Store.RecordMetrics(ctx, pts) })
}

func (s bootStore) PruneMetrics(ctx context.Context, before time.Time) (n int64, err error) {
	err = s.write(ctx, func() (err error) { n, err = s.Store.PruneMetrics(ctx, before); return err })
	return n, err
}

func (s bootStore) CreateSession(ctx context.Context, sess store.Session) error {
	return s.write(ctx, func() error { return s.Store.CreateSession(ctx, sess) })
}

func (s bootStore) DeleteSession(ctx context.Context, hash string) error {
	return s.write(ctx, func() error { return s.Store.DeleteSession(ctx, hash) })
}

func (s bootStore) PruneSessions(ctx context.Context, now time.Time) (n int64, err error) {
	err = s.write(ctx, func() (err error) { n, err = s.Store.PruneSessions(ctx, now); return err })
	return n, err
}

var _ store.Store = bootStore{}
