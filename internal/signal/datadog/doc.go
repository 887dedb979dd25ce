// Package datadog is a signal.Source over Datadog's timeseries query API
// (v2, POST /api/v2/query/timeseries) through the official client,
// github.com/DataDog/datadog-api-client-go/v2.
//
// # Configuration
//
// One Config per service (key: services[].signals.datadog):
//
//	datadog:
//	  api_url: https://api.datadoghq.eu     # default https://api.datadoghq.com
//	  api_key_file: /etc/ripcord/dd-api-key # one key per file (relative to the config), or api_key: ${ENV}
//	  app_key_file: /etc/ripcord/dd-app-key # needs the timeseries_query scope
//	  interval: 1m                          # default 1m, at least 10s
//	  timeout: 10s
//	  queries:
//	    latency_p99_ms: p99:trace.http.request.duration{service:checkout,version:{{.Version}}}
//	    requests: sum:trace.http.request.hits{service:checkout,version:{{.Version}}}.as_count()
//	    errors: sum:trace.http.request.errors{service:checkout,version:{{.Version}}}.as_count()
//
// Every query must contain {{.Version}} ({{.Service}} is optional). The
// name is substituted as Datadog stores a tag value: lower case, every
// character other than letters, digits and _ - : . / turned into "_".
// That is what matches the tag the agent wrote, and it leaves nothing that
// could close the tag filter, add a term or widen it to a wildcard.
//
// # Reads and evidence
//
// Each watched version is asked once per interval, all its queries in one
// request (named q0…qn, one formula each), over the last 10 minutes (or
// the window, if longer) rolled up at the interval. Reads in between share
// the answer.
//
//   - A metric query's value is its newest point; a point older than
//     max(3×interval, 3m) is stale, no data.
//   - requests and errors (.as_count() queries: counts per rollup bucket)
//     make error_rate sequential evidence: each bucket counts the largest
//     value it was seen with, so late data adds its growth and a bucket
//     read twice adds nothing (remote.Tally), from the first bucket that
//     overlaps the watch. Counts are cumulative and only grow. Without an
//     error_rate query, its value is errors / requests over the window
//     (at least two intervals), and Samples is the requests in it.
//   - Other values are windowed and judged by the fixed-window rule.
//
// # Invariants
//
//   - Every non-answer wraps signal.ErrNoData: Datadog unreachable or
//     slower than timeout, an error status, query errors, no series, a
//     query grouped into several series, a stale newest point.
//   - 429: the X-RateLimit-Reset header (seconds until the limit resets)
//     holds the next request back; until then reads are no data, and the
//     error names the X-RateLimit-Limit/Period/Remaining figures.
//   - 403 is ErrForbidden, which says which key or scope to check.
//   - Keys are sent only as DD-API-KEY and DD-APPLICATION-KEY and never
//     appear in errors or logs.
//   - Expected(service, metric) is true exactly when a query gives the
//     metric (error_rate also from requests and errors).
//
// # Cost
//
// Datadog does not bill API queries; what limits them is the
// organisation's rate limit on metric queries, reported in X-RateLimit-*
// headers. One request per watched version per interval: at the default
// 1m, 1 request per service per minute, 43,200 a month per service, and
// 4.32 million a month for a 100-service fleet (twice that while a
// baseline version is read too). That is 100 requests a minute for the
// fleet: check the X-RateLimit-Limit your organisation gets (Datadog has
// long documented 1,600 metric queries per hour per organisation, which
// would cover about 26 versions at 1m) and raise it with Datadog or
// lengthen the interval.
//
// The default interval is 1 minute because Datadog's data resolution is
// 10s (DogStatsD) to 15s (agent checks) and points become queryable only
// after an ingestion delay, so faster reads mostly return the same points
// while spending the shared rate limit; 10s is refused as the floor.
//
// The client pulls in DataDog/zstd, which uses cgo when it is available
// (builds without cgo use the client's fallback).
package datadog
