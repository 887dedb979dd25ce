// Package otlp receives OpenTelemetry metrics (OTLP over HTTP and gRPC) and
// answers signal queries from them: services that already export OTLP need
// no Prometheus in between.
//
// # Configuration
//
// The receiver is one per daemon (Config); each service maps its data with
// a ServiceConfig:
//
//	signals:                          # top level: the receiver
//	  otlp:
//	    listen: 0.0.0.0:4318          # POST /v1/metrics; default 127.0.0.1:4318
//	    grpc_listen: 0.0.0.0:4317     # optional
//	    token_file: /etc/ripcord/otlp.token   # required off loopback
//	    max_body_bytes: 8388608       # after decompression; default 8 MiB
//	    max_series: 2000              # per service version; default 2000
//	    staleness: 0s                 # default: automatic, see below
//	services:
//	  - name: checkout
//	    signals:
//	      otlp:                       # {} takes every default
//	        service_name: checkout    # resource service.name; default the service's name
//	        version_attribute: service.version
//	        metrics:                  # default: DefaultMappings; a map here replaces them
//	          error_rate:
//	            instrument: http.server.request.duration
//	            where: {http.route: /api/checkout}
//	            bad: {http.response.status_code: ">=500", error.type: "*"}
//	          latency_p99_ms: {instrument: http.server.request.duration}
//	          ttfb_p99_ms: {instrument: gen_ai.server.time_to_first_token}
//	          gpu_utilization: {instrument: hw.gpu.utilization, aggregate: mean}
//
// A point belongs to a service by its resource's service.name, to a
// version by the version attribute (resource first, then the point), and
// to a metric by its instrument name and the where conditions (all must
// hold). For rates, a point is bad when any bad condition holds. Conditions
// are "*" (present), "!*" (absent), ">=N", ">N", "<=N", "<N", "!=X" or a
// plain value (equal).
//
// # What is kept, and what it costs
//
// Only mapped data is stored. A point of an unknown service, of a version
// WithVersions refuses, of an unmapped instrument, or that no where matches
// is dropped and counted (Stats, and the ripcord_otlp_points_dropped_total
// counter by reason): memory does not grow with what a client sends. Per
// service version at most max_series raw series (one per process,
// instrument and attribute set) are kept; a series idle for 10 minutes
// makes room, otherwise further points are refused and the exporter is told
// (a partial success). At most 16 versions per service are kept.
//
// Each metric keeps cumulative counts and 32 snapshots of them at least 2s
// apart, from which windowed values are computed; a window longer than the
// snapshots reach (64s at a 2s export interval, longer when exports are
// slower) is cut to what they hold, and Sample.Window says so.
//
// # Counting each request once
//
// Counts (requests, bad requests, requests slower than a bound) are the
// sum of the increments of every series since ripcord first saw the
// version, so they only grow and never re-report a request:
//
//   - Delta temporality: each point is an increment. A point with the same
//     start and time as the series' last one (a retried export) is skipped.
//   - Cumulative temporality: each point minus the series' previous point.
//     The start time is part of a series' identity, so a restarted process
//     (new start time) is a new series; a value or bucket that went down
//     with the same start is a reset, and the new value counts whole. The
//     first point of a new series counts whole when the series started
//     after the receiver did, or its process (resource and start time) was
//     already exporting in an earlier request; otherwise it may hold
//     requests from before ripcord listened, and is only the base the
//     following points are counted from.
//
// Samples carry CountsSince: when the version's first export for the
// metric arrived. A guard whose watch began before that takes the first
// reading as evidence, since every count in it arrived during the watch;
// otherwise (a version seen before, say before a rollback) the first
// reading is only its base.
//
// # Quantiles from histograms
//
// latency_p99_ms and the other quantiles are read from explicit-bucket
// histograms (exponential histograms and summaries are dropped as "type").
// The value shown is estimated like Prometheus' histogram_quantile. The
// counts the sequential test runs on — observations above each bound the
// guard asks for (signal.Query.Bounds) — are taken from the buckets: only
// buckets entirely above the bound count (lower edge ≥ bound), so a bucket
// that straddles the bound counts as fast. That is conservative: it can
// delay an alarm, never raise a false one. Give the instrument a bucket
// boundary at each threshold you set (an SDK View) to count exactly. A
// bound above the largest boundary cannot be counted at all: then no
// counts are returned and the fixed-window rule judges the estimate.
// Durations are converted from the instrument's unit (s, ms, us, ns) to
// milliseconds; another unit needs an explicit scale.
//
// # No data is never zero
//
// Read wraps signal.ErrNoData when nothing is mapped, nothing was received,
// no observation falls in the window, or no export arrived within the
// staleness limit: configured, or automatically three times the longest of
// the last four gaps between exports (at least 5s; 2 minutes before the
// second export). An exporter that stops therefore makes the verdict
// Blind, never Healthy and never a rollback.
//
// Expected(service, metric) is true for a metric the service's config maps
// explicitly, from the start; for a default mapping once data arrived for
// it, so a service that never exports GPU metrics is not Blind on them.
//
// # Lifecycle
//
// New reads the token file; Start binds the listeners; Stop drains them.
// Handler serves the HTTP endpoint alone, for mounting elsewhere. The
// receiver is a prometheus.Collector for its counters. Received times are
// the receiver's clock, never the exporter's, so clock skew cannot make
// data stale or fresh.
package otlp
