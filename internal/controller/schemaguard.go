package controller

import (
	"context"
	"maps"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/schema"
)

// The schema-aware guard: a version whose declared schema range excludes
// the live database schema is never a revert target. The live schema is
// read by Tick, outside the lock, before a verdict that may revert is
// applied; the step gets what it found as data (schemaView) and stays pure.

// SchemaReader reads the live database schema version (*schema.Reader).
type SchemaReader interface {
	Read(ctx context.Context) (schema.Version, error)
}

// schemaReadTimeout bounds the read that precedes a revert: a database that
// does not answer must not hold the revert up for long; it escalates.
const schemaReadTimeout = 5 * time.Second

// schemaView is the schema guard's input to one step.
type schemaView struct {
	// err says why the live schema is unknown (a dirty migration, an
	// unreachable database): nothing is reverted on a guess.
	err string
	// excluded maps each version whose range excludes the live schema to
	// the reason ("v1 works with schema ≤ 41; the database is at 42").
	excluded map[string]string
}

// SetSchemaRange declares (or replaces) the schema range of a version, for
// versions discovered after start-up (an MLflow version's tags).
func (s *Service) SetSchemaRange(version string, r schema.Range) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := maps.Clone(s.ranges)
	if next == nil {
		next = map[string]schema.Range{}
	}
	if r.IsZero() {
		delete(next, version)
	} else {
		next[version] = r
	}
	s.ranges = next
}

// rangesOf reads the versions' declared ranges from the config (already
// validated by config.Load, so a bad one is skipped, not fatal).
func rangesOf(vs []config.Version) map[string]schema.Range {
	out := map[string]schema.Range{}
	for _, v := range vs {
		if v.Schema.IsZero() {
			continue
		}
		if r, err := schema.ParseRange(v.Schema.Min, v.Schema.Max); err == nil {
			out[v.Name] = r
		}
	}
	return out
}

// mayRevert reports whether a bad verdict on snap could start a revert
// step, so the database is read only then: not while paused or escalated,
// nor under a cooldown (which never blocks a fallback in verification).
func mayRevert(snap machine, now time.Time) bool {
	switch {
	case snap.Paused, snap.State == StateEscalated:
		return false
	case snap.State == StateVerifying:
		return true
	}
	return !now.Before(snap.CooldownUntil)
}

// readSchema reads the live schema and judges every declared range
// against it. No lock is held: ranges is a copy-on-write map.
func (s *Service) readSchema(ctx context.Context, ranges map[string]schema.Range) schemaView {
	if s.deps.Schema == nil {
		return schemaView{}
	}
	ctx, cancel := context.WithTimeout(ctx, schemaReadTimeout)
	defer cancel()
	live, err := s.deps.Schema.Read(ctx)
	if err != nil {
		return schemaView{err: err.Error()}
	}
	v := schemaView{excluded: map[string]string{}}
	for name, r := range ranges {
		if why := r.Why(name, live); why != "" {
			v.excluded[name] = why
		}
	}
	return v
}

// revertTarget is the newest version older than from that is neither
// known-bad nor excluded by the live schema. With none, why says what the
// schema guard found ("" when no version was excluded); skipped lists the
// versions it passed over for their schema.
func (p *plan) revertTarget(from string) (to, why string, skipped []string) {
	if p.sv.err != "" {
		return "", "the live database schema cannot be read (" + p.sv.err + "): ripcord does not revert on a guess", nil
	}
	for j := findVersion(p.m.Versions, from) - 1; j >= 0; j-- {
		v := p.m.Versions[j]
		if v.KnownBad {
			continue
		}
		if w := p.sv.excluded[v.Name]; w != "" {
			skipped = append(skipped, w)
			continue
		}
		return v.Name, "", skipped
	}
	if len(skipped) > 0 {
		why = "no older version works with the live schema: " + strings.Join(skipped, "; ")
	}
	return "", why, skipped
}

// withSkipped tells, in a decision's reason, which versions the schema
// guard passed over.
func withSkipped(reason string, skipped []string) string {
	if len(skipped) == 0 {
		return reason
	}
	return reason + " (schema guard skipped: " + strings.Join(skipped, "; ") + ")"
}
