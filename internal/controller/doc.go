// Package controller runs one state machine per guarded service:
//
//	stable ──deploy──▶ watching ──bad──▶ reverting ──▶ verifying ──healthy──▶ stable
//	                                                     │
//	                                    older also bad ──▶ reverting (next older, ≤ max_fallback)
//	                    chain exhausted / revert failed ──▶ escalated (automation paused)
//
// Invariants:
//   - Every action is written to the store as a pending Decision, with the
//     numbers behind it, before it runs, and finished after. Start completes
//     any decision a crash interrupted, exactly once (the store refuses to
//     finish a decision twice).
//   - Only a Degraded verdict, confirmed by `consecutive` fresh verdicts, can
//     revert. Blind (missing telemetry) and Inconclusive (too little traffic)
//     never do; Blind opens a "flying blind" incident after a grace period.
//   - A reverted version is known-bad: never a fallback target, never
//     re-promoted automatically (a person may deploy it again).
//   - Cooldown blocks a new automatic rollback soon after the last one, but
//     never the fallback chain of the same incident.
//   - Failures never stop the guard: they land on the incident timeline and
//     escalate; the loop keeps evaluating.
//
// One mutex per service serialises the ticker and API commands; the request
// path never touches it (the proxy reads only its own atomic pointer).
package controller
