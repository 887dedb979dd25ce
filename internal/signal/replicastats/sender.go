package replicastats

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/ripcord/ripcord/internal/proxy"
)

// Defaults for zero SenderOptions fields.
const (
	DefaultInterval = 100 * time.Millisecond
	// DefaultTimeout bounds one POST, connection included: below the
	// receiver's DefaultStaleAfter, so a hung leader costs one report,
	// not the replica's place in the window.
	DefaultTimeout = time.Second
	// DefaultMaxBatch is the body size a POST is kept under; services
	// that do not fit wait for the next one (only a full resend after a
	// leader change is that large).
	DefaultMaxBatch = 4 << 20
	// evidenceGap spaces pushes woken by evidence: a version failing
	// every request pokes continuously.
	evidenceGap = 10 * time.Millisecond
)

// SenderOptions configure a Sender.
type SenderOptions struct {
	// Replica names this replica; unique per process (it keys the
	// leader's state).
	Replica string
	// Token is the shared replica secret, sent as a bearer token; never
	// logged.
	Token string
	// Leader returns the leader's API base URL (http://host:port), or an
	// empty string when no leader is known — or when this replica is the
	// leader: its switch is read directly and a report to itself would be
	// refused.
	Leader   func() string
	Interval time.Duration
	Timeout  time.Duration
	MaxBatch int
	Client   *http.Client // default: a client with Timeout
	Logger   *slog.Logger
}

// Sender pushes a follower's switch reports to the leader.
type Sender struct {
	opts   SenderOptions
	client *http.Client
	log    *slog.Logger
	wake   chan struct{}

	mu       sync.Mutex
	services map[string]*sent
	runCtx   context.Context // nil until Run
	wg       sync.WaitGroup
	next     int // rotation: where the next batch starts

	// Held by Push: the fields below and every sent's maps but
	// Add's creation of them.
	pushMu              sync.Mutex
	leaderURL, instance string
	failing             bool
}

// sent is one service's switch and what the leader acknowledged of it.
type sent struct {
	name    string
	sw      *proxy.Switch
	stop    context.CancelFunc // its evidence forwarder
	from    map[string]int64   // version → first slot of its next report
	acked   map[string]proxy.WireCumulative
	tracked map[string]string // version → bounds applied (as JSON)
}

// NewSender returns a Sender; Replica, Token and Leader are required.
func NewSender(opts SenderOptions) (*Sender, error) {
	switch {
	case opts.Replica == "":
		return nil, errors.New("replicastats: sender needs this replica's name")
	case opts.Token == "":
		return nil, errors.New("replicastats: sender needs the shared replica token")
	case opts.Leader == nil:
		return nil, errors.New("replicastats: sender needs a leader URL function")
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := opts.Client
	if c == nil {
		c = &http.Client{Timeout: opts.Timeout}
	}
	return &Sender{opts: opts, client: c, log: opts.Logger, wake: make(chan struct{}, 1), services: map[string]*sent{}}, nil
}

// Add reports service's switch (replacing an earlier one of that name).
func (s *Sender) Add(service string, sw *proxy.Switch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.services[service]; old != nil && old.stop != nil {
		old.stop()
	}
	e := &sent{name: service, sw: sw, from: map[string]int64{}, acked: map[string]proxy.WireCumulative{}, tracked: map[string]string{}}
	s.services[service] = e
	if s.runCtx != nil {
		s.forward(e)
	}
}

// Remove stops reporting service.
func (s *Sender) Remove(service string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.services[service]; e != nil {
		if e.stop != nil {
			e.stop()
		}
		delete(s.services, service)
	}
}

// forward relays the switch's evidence pokes to the sender (s.mu held),
// from Switch.ReportEvidence: the controller's Evidence stays its own.
func (s *Sender) forward(e *sent) {
	ctx, cancel := context.WithCancel(s.runCtx)
	e.stop = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-e.sw.ReportEvidence():
				select {
				case s.wake <- struct{}{}:
				default:
				}
			}
		}
	}()
}

// Run pushes reports until ctx ends; it returns once every goroutine it
// started has stopped.
func (s *Sender) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	if s.runCtx != nil {
		s.mu.Unlock()
		cancel()
		return errors.New("replicastats: sender already running")
	}
	s.runCtx = ctx
	for _, e := range s.services {
		s.forward(e)
	}
	s.mu.Unlock()
	defer func() {
		cancel()
		s.wg.Wait()
	}()
	tick := time.NewTicker(s.opts.Interval)
	defer tick.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		case <-s.wake:
			if wait := evidenceGap - time.Since(last); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C:
				}
			}
		}
		last = time.Now()
		s.Push(ctx)
	}
}

// Push sends one batch now (Run calls it every interval; pushes are
// serialised). It returns why the leader did not take it; no leader known
// is not an error.
func (s *Sender) Push(ctx context.Context) error {
	s.pushMu.Lock()
	defer s.pushMu.Unlock()
	base := s.opts.Leader()
	if base == "" {
		return nil
	}
	if base != s.leaderURL {
		s.leaderURL, s.instance = base, ""
		s.resetAll()
	}
	// Sent even when empty: it keeps this replica fresh at the leader.
	body, parts := s.batch(time.Now())
	reply, err := s.post(ctx, base, body)
	if err != nil {
		if !s.failing && ctx.Err() == nil {
			s.log.Warn("replica stats: leader did not take the report", "leader", redact(base), "err", err)
		}
		s.failing = true
		return err
	}
	if s.failing {
		s.log.Info("replica stats: leader takes reports again", "leader", redact(base))
		s.failing = false
	}
	if s.instance != "" && reply.Instance != s.instance {
		// Another receiver (the leader restarted): it has none of what
		// was acknowledged; send everything again next time.
		s.instance = reply.Instance
		s.resetAll()
		return nil
	}
	s.instance = reply.Instance
	for _, p := range parts {
		p.ack()
	}
	s.track(reply.Track)
	return nil
}

// part is one service's report in a batch, acknowledged as a whole.
type part struct {
	e    *sent
	reps []proxy.VersionReport
}

func (p part) ack() {
	for _, r := range p.reps {
		// The slot open when the report was taken, and the one before it
		// (a request recorded a moment late), are sent again next time.
		p.e.from[r.Version] = r.To - 1
		p.e.acked[r.Version] = r.Cumulative
	}
}

// batch builds one POST body from the services whose counts changed,
// under MaxBatch, starting where the last one stopped.
func (s *Sender) batch(now time.Time) ([]byte, []part) {
	s.mu.Lock()
	list := make([]*sent, 0, len(s.services))
	for _, e := range s.services {
		list = append(list, e)
	}
	start := s.next
	s.mu.Unlock()
	slices.SortFunc(list, func(a, b *sent) int { return cmp.Compare(a.name, b.name) })

	head, _ := json.Marshal(struct {
		V       int    `json:"v"`
		Replica string `json:"replica"`
		At      int64  `json:"at"`
	}{proxy.ReportFormat, s.opts.Replica, now.UnixNano()})
	var buf bytes.Buffer
	buf.Write(head[:len(head)-1])
	buf.WriteString(`,"services":[`)
	var parts []part
	for k := range list {
		i := (start + k) % len(list)
		e := list[i]
		var changed []proxy.VersionReport
		for _, r := range e.sw.Report(now, e.from) {
			if len(r.Slots) == 0 && sameCumulative(e.acked, r) {
				e.from[r.Version] = r.To - 1 // nothing new; empty closed slots stay empty
				continue
			}
			changed = append(changed, r)
		}
		if len(changed) == 0 {
			continue
		}
		js, err := json.Marshal(ServiceReport{Service: e.name, Versions: changed})
		if err != nil {
			continue // only finite numbers in a report; cannot happen
		}
		if len(parts) > 0 && buf.Len()+len(js) > s.opts.MaxBatch {
			s.mu.Lock()
			s.next = i // the rest next time
			s.mu.Unlock()
			break
		}
		if len(parts) > 0 {
			buf.WriteByte(',')
		}
		buf.Write(js)
		parts = append(parts, part{e, changed})
	}
	buf.WriteString("]}")
	return buf.Bytes(), parts
}

// sameCumulative: the leader acknowledged exactly these counts already.
func sameCumulative(acked map[string]proxy.WireCumulative, r proxy.VersionReport) bool {
	a, ok := acked[r.Version]
	b := r.Cumulative
	return ok && a.Since == b.Since && a.Requests == b.Requests && a.Errors == b.Errors && a.Status5xx == b.Status5xx &&
		a.Compared == b.Compared && a.Mismatched == b.Mismatched && slices.Equal(a.Bounds, b.Bounds)
}

func (s *Sender) resetAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.services {
		clear(e.from)
		clear(e.acked)
	}
}

func (s *Sender) post(ctx context.Context, base string, body []byte) (Reply, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	u, err := url.JoinPath(base, Path)
	if err != nil {
		return Reply{}, fmt.Errorf("leader URL: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return Reply{}, fmt.Errorf("leader URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.opts.Token)
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL is logged redacted beside it
		}
		return Reply{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Reply{}, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.Unmarshal(data, &e)
		return Reply{}, fmt.Errorf("leader answered %s: %s", resp.Status, e.Error)
	}
	var r Reply
	if err := json.Unmarshal(data, &r); err != nil || r.Instance == "" {
		return Reply{}, fmt.Errorf("leader answered an unreadable reply (%v)", err)
	}
	return r, nil
}

// track makes the switches count the bounds the leader's guards ask for.
func (s *Sender) track(t map[string]map[string]Bounds) {
	if len(t) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for service, vs := range t {
		e := s.services[service]
		if e == nil {
			continue
		}
		for version, b := range vs {
			key, _ := json.Marshal(b)
			if e.tracked[version] == string(key) {
				continue
			}
			e.tracked[version] = string(key)
			e.sw.Track(version, map[string][]float64{"latency_ms": b.Latency, "ttfb_ms": b.TTFB})
		}
	}
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
