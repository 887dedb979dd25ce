// Package prometheus is a signal.Source over the Prometheus HTTP API: each
// metric of a service is a PromQL template, rendered for one version and run
// as an instant query at the controller's "now".
//
// # Configuration
//
// One Config per service, the block under services[].signals.prometheus;
// Config.Validate checks it (templates included) without contacting
// Prometheus, which is what check-config runs. YAML shape:
//
//	prometheus:
//	  url: http://prometheus:9090     # required
//	  timeout: 2s                     # bounds one Read; default 2s
//	  window: 1m                      # what {{.Window}} stands for; default 1m
//	  job: checkout                   # scrape job for LastScrape (optional)
//	  vars:                           # extra template variables (optional)
//	    namespace: prod
//	  samples: >-                     # request count behind the values; required with queries
//	    sum(increase(http_requests_total{namespace="{{.namespace}}",version="{{.Version}}"}[{{.Window}}]))
//	  queries:                        # metric name → PromQL template (or counts, below)
//	    error_rate: >-
//	      (sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[{{.Window}}])) or vector(0))
//	      / sum(rate(http_requests_total{version="{{.Version}}"}[{{.Window}}]))
//	    latency_p99_ms: >-
//	      1000 * histogram_quantile(0.99, sum by (le) (
//	        rate(http_request_duration_seconds_bucket{version="{{.Version}}"}[{{.Window}}])))
//
// Counts mode replaces a rate's or a latency quantile's query with its raw
// cumulative counters (a metric is under queries or counts, not both;
// samples is needed only with queries):
//
//	counts:
//	  error_rate:
//	    total: http_requests_total{version="{{.Version}}"}
//	    bad:   http_requests_total{version="{{.Version}}",code=~"5.."}
//	  latency_p99_ms:
//	    histogram: http_request_duration_seconds_bucket{version="{{.Version}}"}
//	    unit: s                     # of le: s (default) or ms
//
// One instant query per Read (a rate's two counters in one query, tagged
// with a ripcord_part label, so both come from one state of the database).
// The source keeps a tally per (service, version, metric) that only grows:
// each read adds what every series gained since the previous read, a
// series never seen adds its whole value, and a series that went down (a
// restart; a sum that lost a pod) makes the whole read a new base that adds
// nothing. Sample.Counts is that tally — cumulative, so the sequential
// tests never see a request twice — and Sample.CountsSince the version's
// first (base) read. A histogram bound's slow requests are count minus the
// bucket of the smallest le at or above the bound (conservative: requests
// between the bound and that le count as fast). Sample.Value and Samples
// are computed from the tally's history over [Since, At]; a read at an
// earlier At than the last (a baseline) is answered from that history
// without a query. Templates using rate(), increase() and the like are
// refused: a figure over a range would re-count requests. See counts.go.
//
// Templates are Go text/template with the variables Service, Version and
// Window, every key of vars, and whatever the WithVars function returns for
// the version (an image, a pod-template-hash: use {{index . "pod-template-hash"}}
// for names that are not identifiers). A variable the data lacks is an error,
// not "<no value>" inside a query.
//
// Note the "or vector(0)" in error_rate: a healthy version has no 5xx series
// at all, so without it the numerator is empty and so is the ratio, which
// would read as no data (Blind) instead of 0% errors. The denominator stays
// bare on purpose: no traffic at all must stay no data.
//
// # Safety of rendering
//
// Every variable except Window is escaped for a double-quoted PromQL string
// (backslash, double quote, control characters) before it is substituted,
// and New refuses templates that place a variable anywhere but inside double
// quotes ('…', `…` or bare). A version called `v2"} or vector(1) #` therefore
// matches a label with exactly that value and can never add terms to the
// query. Window is formatted by ripcord as a PromQL duration (1m, 30s).
//
// # Invariants
//
//   - Every non-answer wraps signal.ErrNoData: an unreachable server, a
//     timeout, an HTTP or PromQL error, an empty vector, NaN or ±Inf, more
//     than one series. The cause stays in the chain (errors.Is on
//     context.DeadlineExceeded or syscall.ECONNREFUSED works; errors.As on
//     *v1.Error works) for logs. A Prometheus outage makes verdicts Blind,
//     never Degraded.
//   - A Read takes at most Timeout: the metric query and the samples query
//     run side by side under one deadline, which is also passed to
//     Prometheus as the query timeout.
//   - Sample.Samples is the samples query's answer, rounded. If it has no
//     answer (empty, failing) Samples is 0: the detector then says
//     Inconclusive (too few samples), which is safe — it never rolls back —
//     but it also never says Healthy, which is why Validate requires the
//     samples query.
//   - Sample.Window is the configured window and Sample.At is q.At: the
//     query runs at q.At, never at the local clock, so tests control time.
//     q.Since is not used: per-version series do not mix versions, and a
//     range shorter than a few scrape intervals would make rate() empty.
//   - Expected(service, metric) is true exactly when a query is configured
//     for that metric, so a configured query that stops answering is Blind.
//
// # Event-driven reads
//
// Prometheus only learns something new when a scrape lands, so evaluating
// on a fixed 50ms tick re-reads the same numbers. LastScrape returns the
// newest timestamp of the job's up series, max(timestamp(up{job="…"})):
// Prometheus writes up itself on every scrape attempt of every target, so
// it moves with each scrape whatever the target exposes, and the query runs
// at the server's own now so no clock skew enters. Gated.Watch follows
// the per-target times (ScrapeTimes), learns each target's period and the
// delay before a scrape can be read, sleeps until the next is due and asks
// every 10ms while it is late; it fires a channel the controller's Trigger
// evaluates on, so a scrape is judged within about 10ms of landing.
//
// # Many services on one job
//
// A daemon gates every service's Source through one Hub (Hub.Gate). The
// Hub runs one scrape watch per (Prometheus URL, job) — one ScrapeTimes
// poll loop, however many services watch that job — and fans each landing
// out to every service's channel. Before it does, it reads the counts of
// all of the job's services in one query per metric (batch.go): the
// versions being judged whose rendered counts templates have the same form
// are asked together, each equality matcher whose value differs between
// them widened to a regular expression over their values (regexp-quoted)
// and, for a sum, added to its by (…) grouping; the answer is split by
// those labels and each service's part relabelled as its own query would
// return it, so its tally is exactly the one its own reads would build
// (same series, one state of the database, the counts rules above
// unchanged). The forms batched are a selector, sum(…) or sum by (…)(…)
// of one, each optionally followed by "or vector(0)" (which adds only zero
// series to a tally, so the batch drops it) — no functions, operators,
// offsets or comments. Everything else is read per service, as before: a
// version's first read (its base; beyond four in flight at once, as when
// thousands of services start together, it answers no data and the next
// batch takes it), a counts template of another form, and
// every metric under queries (arbitrary windowed PromQL answering one
// number cannot be split by labels safely). Hub.Stats counts batched
// queries, the reads they answered and the reads left alone. So 10,000
// services on one job in counts mode cost one watch and, per scrape, one
// query per metric; in queries mode one query per (service, version,
// metric) and a watch shared all the same.
//
// The promtest subpackage starts a real Prometheus for tests.
package prometheus
