package config

import (
	"strings"

	"github.com/ripcord/ripcord/internal/signal"
)

// validate checks the keys config owns; each source's block (prometheus,
// probe) is its provider's to check (see Config.route).
func (s *Signals) validate(r *report, path string) {
	for m, h := range s.Headers {
		if !signal.IsKnown(m) {
			r.add(child(child(path, "headers"), m), "unknown metric %q; known metrics are %s", m, strings.Join(signal.Known, ", "))
		}
		if strings.TrimSpace(h) == "" {
			r.add(child(child(path, "headers"), m), "needs a header name, e.g. X-Quality-Score")
		}
	}
}
