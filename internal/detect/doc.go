// Package detect decides, from numbers alone, whether a version is bad.
//
// It is pure: observations in, a Verdict out, no I/O and no clock reads, so
// every decision ripcord takes can be replayed in a test from the snapshot the
// store recorded with it.
//
// Four verdicts, and the difference between them matters more than the
// thresholds:
//
//   - Degraded: at least Require metrics are anomalous, or one is past its
//     critical bound. Only this verdict can lead to a rollback.
//   - Healthy: every watched metric has enough samples and is within bounds.
//   - Inconclusive: too few samples to say (low traffic right after a deploy).
//     Never a rollback.
//   - Blind: a metric that should be reporting is not. Never a rollback —
//     missing telemetry is not evidence of a bad deploy — but the controller
//     raises a "flying blind" incident after a grace period.
//
// Rates (error rate, toxicity) are judged with a one-sided Wilson score bound
// at the policy's confidence: 3 errors in 50 requests is 6%, above a 5%
// threshold, but far from proof that the true rate is above 5%. Requiring the
// lower confidence bound to cross the threshold is what keeps noisy-but-healthy
// deploys from being reverted at min_samples, while a real fault (50% errors)
// crosses it within the first few dozen requests.
package detect
