// Package chart lays out and draws the SVG line charts and sparklines that
// both the post-incident report (internal/report) and the dashboard
// (internal/web) show: one chart package, so a threshold or a rollback
// marker looks the same in a report and on the page.
//
// Invariants:
//   - Layout is pure: no I/O, no clock; the same Spec gives the same bytes.
//   - No NaN or Inf reaches the SVG: a non-finite or missing value is a gap
//     in its line (never a drop to zero), and a spec with no finite value
//     draws no chart at all (Layout returns nil).
//   - Every coordinate is inside the plot box; time ticks are labelled in
//     UTC (the caption says so).
//   - SVG output goes through html/template, so a series or marker label is
//     escaped wherever it comes from.
package chart
