// Package report writes the post-incident report (RCA) of one incident:
// what happened, to whom and for how long, how it was detected and decided,
// the full timeline, before / during / after metrics with charts, the
// versions involved, how the rollback was verified, and seeded action items.
// ripcord writes one automatically once a rollback is verified, and on demand
// (`ripcord report INC-0001 --format md|html`, GET /api/v1/incidents/{id}/report).
//
// Build computes every section and number from an Input the caller read from
// the store; Markdown and HTML render the result.
//
// Invariants:
//   - Build is pure: no I/O, no clock (the caller passes GeneratedAt), maps
//     read in sorted order, so the same Input always gives the same bytes.
//   - Times print in UTC to the millisecond; durations as a person says them
//     ("0.42 s", "3 m 12 s"); rates as percent with one decimal; latencies in
//     ms; counts with thousands separators. No NaN or Inf is ever printed:
//     a non-finite value reads "n/a" and never reaches a chart.
//   - The impact window runs from the impact start to the last rollback that
//     moved traffic off a bad version; a version found bad after that keeps it
//     open until mitigation, resolution or, failing both, GeneratedAt.
//   - Metric points cover the second ending at their At. A point belongs to
//     the phase its second overlaps, so a sub-second window still shows its
//     traffic. Impact counts only the bad versions' points; bad-version
//     requests completing after the window are reported apart as late.
//   - Several versions in one second are summed (requests, errors), p50 is
//     request-weighted and p99 is the highest: an upper bound, the safe side
//     in a review. Phase p50/p99 are request-weighted medians of those seconds.
//   - The HTML page is self-contained (inline CSS and SVG, no scripts, no
//     external references) and every piece of text goes through html/template.
//     In Markdown, text from outside ripcord is backslash-escaped so it cannot
//     break a table (|), open HTML (<), links ([ ]) or code spans.
//   - The report never guesses a root cause: root cause and contributing
//     factors are placeholders for the incident owner.
//   - Rendering never panics the daemon: a template failure (a bug) yields a
//     short page with the summary and the error.
package report
