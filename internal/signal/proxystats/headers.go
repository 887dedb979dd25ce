package proxystats

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ripcord/ripcord/internal/proxy"
	"github.com/ripcord/ripcord/internal/signal"
)

// Headers serves the metrics services report per answer in response headers
// (signals.headers in the config), averaged per version by each switch.
//
// No header in a window with traffic is missing data (Blind): the service
// stopped reporting. No traffic at all is zero samples (Inconclusive).
type Headers struct {
	mu       sync.RWMutex
	switches map[string]HeaderStats // by service
}

// HeaderStats is where a service's header values are read: its switch
// (*proxy.Switch), or with several replicas every replica's switch
// (replicastats.Merged).
type HeaderStats interface {
	HeaderMetrics() []string
	HeaderSignal(version, metric string, since, now time.Time) (mean float64, n, requests int64)
}

var _ HeaderStats = (*proxy.Switch)(nil)

// NewHeaders returns an empty source; Add registers each service's switch.
func NewHeaders() *Headers { return &Headers{switches: map[string]HeaderStats{}} }

// Add registers a service's switch (or merged view).
func (h *Headers) Add(service string, sw HeaderStats) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.switches[service] = sw
}

func (h *Headers) get(service string) HeaderStats {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.switches[service]
}

// Expected reports whether service's switch reads metric from a header.
func (h *Headers) Expected(service, metric string) bool {
	sw := h.get(service)
	return sw != nil && slices.Contains(sw.HeaderMetrics(), metric)
}

// Read averages the header over [Since, At].
func (h *Headers) Read(_ context.Context, q signal.Query) (signal.Sample, error) {
	sw := h.get(q.Service)
	if sw == nil {
		return signal.Sample{}, fmt.Errorf("proxystats: no switch for %s: %w", q.Service, signal.ErrNoData)
	}
	mean, n, requests := sw.HeaderSignal(q.Version, q.Metric, q.Since, q.At)
	if n == 0 && requests > 0 {
		return signal.Sample{}, fmt.Errorf("proxystats: %d answers of %s/%s carried no %s header: %w", requests, q.Service, q.Version, q.Metric, signal.ErrNoData)
	}
	return signal.Sample{Value: mean, Samples: n, Window: q.At.Sub(q.Since), At: q.At}, nil
}
