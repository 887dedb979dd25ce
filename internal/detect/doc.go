// Package detect decides, from numbers alone, whether a version is bad.
//
// It is pure: observations in, a Verdict out, no I/O and no clock reads, so
// every decision ripcord takes can be replayed in a test from the snapshot the
// store recorded with it.
//
// Five verdicts, and the difference between them matters more than the
// thresholds:
//
//   - Degraded: Require metrics proven anomalous at once, one proven past
//     its critical bound, or one anomaly proven for Sustain at a far
//     stricter level while it persists. Only this verdict can lead to a
//     rollback.
//   - Suspect: anomalies that do not revert (fewer than Require, none
//     critical, not sustained). Never shown as healthy.
//   - Healthy: every watched metric is shown within its bound.
//   - Inconclusive: not shown either way yet (low traffic right after a
//     deploy). Never a rollback.
//   - Blind: a metric that should be reporting is not. Never a rollback —
//     missing telemetry is not evidence of a bad deploy — but the controller
//     raises a "flying blind" incident after a grace period.
//
// Metrics whose source gives cumulative counts (the switch, pushes,
// Prometheus counts mode, OTLP) are judged by Guard with sequential,
// anytime-valid tests (stats.RateTest): each request is evidence once, and
// the chance of ever calling a healthy version bad stays within the
// policy's Alpha however long it is watched. Gauges and windowed sources
// are judged by the fixed-window rule: a one-sided Wilson bound at the
// policy's confidence over at least WindowMinSamples samples, on
// Consecutive fresh windows.
package detect
