package config

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/ripcord/ripcord/internal/signal"
)

// validate checks what can be checked without contacting anything: URLs,
// metric names, that the probe file exists. PromQL templates are compiled
// (and their quoting checked) when the daemon builds the source.
func (s *Signals) validate(r *report, path string) {
	if p := s.Prometheus; p != nil {
		pp := field(path, "prometheus")
		checkURL(r, field(pp, "url"), p.URL)
		if len(p.Queries) == 0 {
			r.add(field(pp, "queries"), "needs at least one metric query, e.g. error_rate: sum(rate(http_requests_total{version=\"{{.Version}}\",code=~\"5..\"}[30s])) / sum(rate(http_requests_total{version=\"{{.Version}}\"}[30s]))")
		}
		for m, q := range p.Queries {
			if !signal.IsKnown(m) {
				r.add(field(field(pp, "queries"), m), "unknown metric %q; known metrics are %s", m, strings.Join(signal.Known, ", "))
			}
			if !strings.Contains(q, "{{") {
				r.add(field(field(pp, "queries"), m), "does not use {{.Version}}: every version would get the same answer, so ripcord could not tell a bad version from a good one")
			}
		}
		if strings.TrimSpace(p.Samples) == "" {
			r.add(field(pp, "samples"), "is required: a query for the number of requests behind the values (min_samples is judged on it), e.g. sum(increase(http_requests_total{version=\"{{.Version}}\"}[30s]))")
		}
		if p.Timeout < 0 || p.Window < 0 {
			r.add(pp, "timeout and window must not be negative")
		}
	}
	if p := s.Probe; p != nil {
		pp := field(path, "probe")
		if p.File == "" {
			r.add(field(pp, "file"), "is required: the golden-set file of requests and expectations")
		} else if _, err := os.Stat(p.File); err != nil {
			r.add(field(pp, "file"), "cannot read %s: %v", p.File, err)
		}
	}
	for m, h := range s.Headers {
		if !signal.IsKnown(m) {
			r.add(field(field(path, "headers"), m), "unknown metric %q; known metrics are %s", m, strings.Join(signal.Known, ", "))
		}
		if strings.TrimSpace(h) == "" {
			r.add(field(field(path, "headers"), m), "needs a header name, e.g. X-Quality-Score")
		}
	}
}

// resolveProbeFile makes a relative probe file path start at the config's
// directory, like every other path in the file.
func (s *Signals) resolveProbeFile(baseDir string) {
	if s.Probe != nil && s.Probe.File != "" && !filepath.IsAbs(s.Probe.File) && baseDir != "" {
		s.Probe.File = filepath.Join(baseDir, s.Probe.File)
	}
}
