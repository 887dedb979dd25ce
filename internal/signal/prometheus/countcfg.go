package prometheus

import (
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"weak"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/signal"
)

// countQueries is one metric's compiled Counter.
type countQueries struct {
	metric     string
	total, bad *queryTemplate // rates
	hist       *queryTemplate // latency quantiles
	scale      float64        // le × scale is the metric's unit (ms)
}

// windowed matches the PromQL functions that turn a counter into a figure
// over a range: fed to the sequential tests on every read, such a figure
// would count the same requests again and again.
var windowed = regexp.MustCompile(`\b(rate|irate|increase|delta|idelta|deriv)\s*\(`)

// validateCounts checks the shape of every Counter: the keys its metric's
// kind needs, and nothing the Queries map already answers.
func (c Config) validateCounts() field.Errors {
	var errs field.Errors
	for _, m := range sortedKeys(c.Counts) {
		cnt, path := c.Counts[m], field.Join("counts", m)
		if _, dup := c.Queries[m]; dup {
			errs.Add(path, "is also under queries: a metric is read from one place, its counters (counts) or a windowed query (queries)")
		}
		switch signal.KindOf(m) {
		case signal.KindRate:
			for key, text := range map[string]string{"total": cnt.Total, "bad": cnt.Bad} {
				if strings.TrimSpace(text) == "" {
					errs.Add(field.Join(path, key), `is required for a rate: the raw counter of %s, e.g. total: sum(http_requests_total{version="{{.Version}}"}), bad: sum(http_requests_total{version="{{.Version}}",code=~"5.."}) or vector(0)`, map[string]string{"total": "every request", "bad": "the failed requests"}[key])
				}
			}
			if cnt.Histogram != "" || cnt.Unit != "" {
				errs.Add(path, "%s is a rate: give total and bad, not histogram or unit (those are for latency metrics)", m)
			}
		case signal.KindQuantile:
			if strings.TrimSpace(cnt.Histogram) == "" {
				errs.Add(field.Join(path, "histogram"), `is required for a latency metric: the histogram's bucket counters, e.g. http_request_duration_seconds_bucket{version="{{.Version}}"}`)
			}
			if cnt.Total != "" || cnt.Bad != "" {
				errs.Add(path, "%s is a latency quantile: give histogram, not total or bad (those are for rates)", m)
			}
			if cnt.Unit != "" && cnt.Unit != "s" && cnt.Unit != "ms" {
				errs.Add(field.Join(path, "unit"), "must be s or ms (the unit of the histogram's le label), not %q", cnt.Unit)
			}
		default:
			if signal.IsKnown(m) {
				errs.Add(path, "%s is not a count of requests: counts are for rates (total, bad) and latency quantiles (histogram); put it under queries", m)
			} else {
				errs.Add(path, "unknown metric %q; known metrics are %s", m, strings.Join(signal.Known, ", "))
			}
		}
	}
	return errs
}

// counters parses every Counter's templates and checks their quoting, that
// they select the version and that they read raw counters. A metric with a
// problem is left out.
func (c Config) counters() (map[string]*countQueries, field.Errors) {
	var errs field.Errors
	out := map[string]*countQueries{}
	for _, m := range sortedKeys(c.Counts) {
		cnt, path := c.Counts[m], field.Join("counts", m)
		cq, ok := &countQueries{metric: m, scale: 1000}, true
		if cnt.Unit == "ms" {
			cq.scale = 1
		}
		parse := func(key, text string) *queryTemplate {
			if strings.TrimSpace(text) == "" {
				ok = false // validateCounts says what is missing
				return nil
			}
			p := field.Join(path, key)
			q, problem := parseChecked(p, text)
			switch {
			case problem != "":
				errs.Add(p, "%s", problem)
			case !strings.Contains(text, "{{"):
				errs.Add(p, "does not use {{.Version}}: every version would get the same answer, so ripcord could not tell a bad version from a good one")
				q = nil
			case windowed.MatchString(text):
				errs.Add(p, "must read the raw counter, without %s(): a figure over a range re-reports the same requests on every read, and evidence counted twice voids alpha", windowed.FindStringSubmatch(text)[1])
				q = nil
			}
			ok = ok && q != nil
			return q
		}
		switch signal.KindOf(m) {
		case signal.KindRate:
			cq.total, cq.bad = parse("total", cnt.Total), parse("bad", cnt.Bad)
		case signal.KindQuantile:
			cq.hist = parse("histogram", cnt.Histogram)
		default:
			ok = false
		}
		if ok {
			out[m] = cq
		}
	}
	return out, errs
}

// compiledCounts is a Config's compiled counters, shared (never changed
// once made) by every service configured with the same ones.
type compiledCounts struct{ m map[string]*countQueries }

// compiled holds the compiledCounts in use by their configuration, as
// weak pointers: 10,000 services whose counts read alike (their
// templates name the service through {{.Service}}) hold one map of
// them, not one each (~300 bytes).
var compiled sync.Map // countsKey → weak.Pointer[compiledCounts]

// countsKey is the configuration of c's counters, spelt out.
func (c Config) countsKey() string {
	var b strings.Builder
	for _, m := range sortedKeys(c.Counts) {
		cnt := c.Counts[m]
		for _, part := range []string{m, cnt.Total, cnt.Bad, cnt.Histogram, cnt.Unit} {
			b.WriteString(strconv.Quote(part))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// sharedCounters is c.counters()'s map (its problems are Validate's), the
// one already in use for the same configuration if there is one.
func (c Config) sharedCounters() *compiledCounts {
	key := c.countsKey()
	if p, ok := compiled.Load(key); ok {
		if cc := p.(weak.Pointer[compiledCounts]).Value(); cc != nil {
			return cc
		}
	}
	m, _ := c.counters()
	cc := &compiledCounts{m: m}
	wp := weak.Make(cc)
	compiled.Store(key, wp)
	runtime.AddCleanup(cc, func(key string) { compiled.CompareAndDelete(key, wp) }, key)
	return cc
}

// parseChecked parses a template and checks its quoting; the problem, if
// any, is returned without the name prefix.
func parseChecked(name, text string) (*queryTemplate, string) {
	q, err := parseQuery(name, text)
	if err == nil {
		err = q.checkQuoting()
	}
	if err != nil {
		return nil, strings.TrimPrefix(err.Error(), name+": ")
	}
	return q, ""
}
