// Package web is a signal.Source over any HTTP endpoint that answers JSON,
// like Argo Rollouts' Web metric provider: the version goes into the URL,
// and JSON paths pick the numbers out of the answer.
//
// # Configuration
//
// One Config per service (key: services[].signals.web):
//
//	web:
//	  url: https://metrics.internal/api/checkout/{{.Version}}/health   # {{.Version}} required
//	  headers: {Accept: application/json}
//	  header_files: {Authorization: /etc/ripcord/metrics-auth}  # secret header values
//	  timeout: 5s                  # one request; default 5s
//	  interval: 15s                # one request per version per interval; default 15s
//	  values:                      # metric → JSON path ($. optional)
//	    error_rate: errors.rate
//	    latency_p99_ms: $.latency.p99
//	    requests: counters.requests   # optional counters: totals since the
//	    errors: counters.errors       # process started, as Prometheus counters
//	    samples: window.requests      # optional: observations behind the values
//
// {{.Version}} and {{.Service}} are escaped for where they stand: as a
// path segment (url.PathEscape, so "/" cannot leave the segment) before
// the '?', as a query value (url.QueryEscape) after it. Paths are the probe
// files' syntax (package jsonpath): keys and [index], "choices[0].text",
// with JSONPath's leading "$." accepted.
//
// # Evidence
//
// With requests and errors configured, error_rate carries cumulative
// Counts — the counters' growth since ripcord first read them; when either
// went down the process restarted and both new values are all new — so the
// sequential test counts every request once. Without an error_rate path
// its value is computed from the counters over the window. Other values
// are windowed figures the fixed-window rule judges; Samples is the
// samples value, else the requests counted in the window, else 0 (which
// the detector judges Inconclusive, never Degraded).
//
// # Invariants
//
//   - Every non-answer wraps signal.ErrNoData: the endpoint unreachable or
//     slower than timeout, a non-2xx status, a body that is not JSON, a
//     path that is missing, null or not a finite number. An outage of the
//     endpoint is Blind, never a rollback.
//   - The endpoint is asked at most once per interval per version, whatever
//     the controller's evaluation rate; reads in between share the answer,
//     failures included (an endpoint that is down is not hammered). Read
//     honours its context while waiting.
//   - Expected(service, metric) is true exactly when a path is configured
//     for the metric (or it is error_rate and the counters are), so a
//     configured value that stops answering is Blind.
//   - Header values never appear in errors or logs; the URL does, so keep
//     credentials in header_files, not in the URL.
package web
