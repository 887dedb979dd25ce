package web

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// heartbeat keeps idle streams (and the proxies between) from timing out.
const heartbeat = 15 * time.Second

// change is one event of the live feed: something a page shows changed.
type change struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`        // when the feed saw it
	EventSeq int64     `json:"event_seq"` // newest incident timeline event
	Services []string  `json:"services"`  // whose status changed (at most 100)
}

// hub watches for changes (woken by the controller's incident changes and
// by actions, and polling the statuses in between) and fans each out to
// every open event stream. A slow stream drops changes rather than
// holding the others up: each change makes the page re-read itself, so
// the newest is the only one that matters.
type hub struct {
	s     *Server
	poll  time.Duration
	wakeC chan struct{}

	mu     sync.Mutex
	subs   map[chan []byte]struct{}
	closed chan struct{}
	seq    int64
	// last are the status fingerprints of the last look, along s.order:
	// a 64-bit sum each, not the text (which, for 10,000 services, held
	// a string and a map entry apiece); a changed status that sums the
	// same is a 2^-64 chance of one missed refresh.
	last   []uint64
	seed   maphash.Seed
	lastEv int64
}

func newHub(s *Server, poll time.Duration) *hub {
	return &hub{s: s, poll: poll, wakeC: make(chan struct{}, 1), subs: map[chan []byte]struct{}{}, closed: make(chan struct{}),
		seed: maphash.MakeSeed()}
}

func (h *hub) wake() {
	select {
	case h.wakeC <- struct{}{}:
	default:
	}
}

func (h *hub) run(ctx context.Context) {
	t := time.NewTicker(h.poll)
	defer t.Stop()
	refresh := time.NewTicker(10 * time.Second)
	defer refresh.Stop()
	h.s.prevented.refresh(ctx)
	h.check(ctx)
	for {
		select {
		case <-ctx.Done():
			h.closeAll()
			return
		case <-refresh.C:
			h.s.prevented.refresh(ctx)
		case <-t.C:
		case <-h.wakeC:
		}
		if h.check(ctx) {
			h.s.prevented.refresh(ctx)
		}
	}
}

// check compares every status and the newest timeline event with the
// last look, and broadcasts when anything moved.
func (h *hub) check(ctx context.Context) bool {
	ev, err := h.s.store.LastEventSeq(ctx)
	if err != nil {
		return false
	}
	now := make([]uint64, len(h.s.order))
	var changed []string
	var sum maphash.Hash
	sum.SetSeed(h.seed)
	for i, n := range h.s.order {
		st := h.s.svcs[n].Status()
		sum.Reset()
		fmt.Fprint(&sum, st.State, "|", st.Active, "|", st.Verdict, "|", st.Paused, "|", st.IncidentID, "|", len(st.Versions), "|", st.Progress, "|", st.Reason)
		now[i] = sum.Sum64()
		if h.last != nil && h.last[i] != now[i] && len(changed) < 100 {
			changed = append(changed, n)
		}
	}
	first := h.last == nil
	moved := ev != h.lastEv || len(changed) > 0
	h.last, h.lastEv = now, ev
	if first || !moved {
		return false
	}
	h.mu.Lock()
	h.seq++
	c := change{ID: h.seq, At: time.Now(), EventSeq: ev, Services: changed}
	h.mu.Unlock()
	body, _ := json.Marshal(c)
	h.broadcast([]byte("id: " + strconv.FormatInt(c.ID, 10) + "\nevent: change\ndata: " + string(body) + "\n\n"))
	return true
}

func (h *hub) broadcast(msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- msg:
		default: // this stream is behind; it will re-read on the next one
		}
	}
}

func (h *hub) subscribe() (chan []byte, func()) {
	ch := make(chan []byte, 8)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

// closeAll ends every stream (daemon shutdown); browsers reconnect to the
// next daemon by themselves.
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.closed:
	default:
		close(h.closed)
	}
}

// events is the live feed: Server-Sent Events, retry after 1 s.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		s.fail(w, r, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	ch, done := s.hub.subscribe()
	defer done()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("retry: 1000\nevent: hello\ndata: {}\n\n"))
	fl.Flush()
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.hub.closed:
			return
		case msg := <-ch:
			if _, err := w.Write(msg); err != nil {
				return
			}
			fl.Flush()
		case <-t.C:
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return
			}
			fl.Flush()
		}
	}
}
