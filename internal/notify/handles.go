package notify

import (
	"context"
	"encoding/json"
	"fmt"
)

// Handles keeps a channel's per-incident handle in State as JSON: where the
// incident is upstream (a Slack message, a Statuspage incident, an issue)
// and the Seq of the last Message applied to it. H is the channel's own
// struct; its JSON field names are the stored format, so they must not
// change.
type Handles[H any] struct {
	State   State
	Channel string // State's channel, e.g. "jira:OPS"
	Name    string // starts error messages, e.g. "jira"
	// Bare reads a stored value that is not JSON (a bare id written by an
	// older version, say). Nil makes such a value a permanent error.
	Bare func(v string) H
}

// Load returns the incident's handle, the zero H when none is stored.
// Failing to read State is retryable.
func (s Handles[H]) Load(ctx context.Context, incidentID string) (H, error) {
	var h H
	v, err := s.State.Get(ctx, s.Channel, incidentID)
	if err != nil {
		return h, Retryable(fmt.Errorf("%s: reading state: %w", s.Name, err), 0)
	}
	if v == "" {
		return h, nil
	}
	if err := json.Unmarshal([]byte(v), &h); err != nil {
		if s.Bare == nil {
			return h, fmt.Errorf("%s: stored state for incident %s is not JSON: %w", s.Name, incidentID, err)
		}
		return s.Bare(v), nil
	}
	return h, nil
}

// Save stores the incident's handle. Failing to write State is retryable.
func (s Handles[H]) Save(ctx context.Context, incidentID string, h H) error {
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("%s: encoding state: %w", s.Name, err)
	}
	if err := s.State.Put(ctx, s.Channel, incidentID, string(b)); err != nil {
		return Retryable(fmt.Errorf("%s: saving state: %w", s.Name, err), 0)
	}
	return nil
}

// Stale reports whether a Message with seq repeats, or is older than, the
// last one applied (applied, from the handle), so it must be dropped:
// applying it would duplicate a comment or roll the incident back. A
// Message without a Seq is never stale.
func Stale(seq, applied int64) bool { return seq > 0 && seq <= applied }
