// Package controller runs one state machine per guarded service:
//
//	stable ──deploy──▶ watching ──bad──▶ reverting ──▶ verifying ──healthy──▶ stable
//	                                                     │
//	                                    older also bad ──▶ reverting (next older, ≤ max_fallback)
//	                    chain exhausted / revert failed ──▶ escalated (automation paused)
//
// With a strategy a deploy passes through shadowing (step_shadow.go: judged
// on copies of the stable version's traffic; bad → stable, the version
// known-bad, no user met it) and canary (step_canary.go: shares on
// evidence) before watching.
//
// # Shape: one pure step, one executor
//
// Everything that happens to a service is an input: a verdict (evaluated),
// a revert's outcome (reverted), a command (deploy, rollback, pause, resume,
// a Kubernetes rollout observed), a restart (recoverPending,
// recoverReverting). step (step*.go) turns (machine, input, now, policy)
// into the next machine and a list of effects — record the decision,
// switch, open or update the incident, save — with no I/O and no clock. The
// executor (exec.go) carries the effects out in order; nothing else writes
// to the store, the router or the target. plan.to is the only writer of the
// state and checks every move against the transition table (state.go); each
// move is logged at Info with its reason.
//
// Verdicts are made elsewhere (internal/detect) from what Tick observed;
// when Tick runs is the Trigger's business (a ticker today). Neither knows
// the other.
//
// # Locking
//
// s.mu guards the machine. Tick snapshots it under the lock, observes the
// signals without it (a source may wait for its timeout), and applies the
// verdict under it — unless the machine's generation moved on meanwhile (a
// deploy, a revert), in which case the verdict is about a version no longer
// judged and is dropped. The executor holds s.mu for the step and its local
// store writes, and releases it while the target reverts: the machine is
// then in reverting, which is what every writer checks (deploy, resume and
// manual rollback get ErrConflict; pause is recorded and takes effect when
// the revert completes). The request path never touches s.mu.
//
// # Invariants
//
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
//   - policy.dry_run decides, records and announces, and never moves
//     traffic by itself.
//   - Incident changes are applied inside one store transaction to the
//     incident as it is then; a status only moves forward, so a person's
//     "resolved" is never overwritten.
//   - Failures never stop the guard: they land on the incident timeline and
//     escalate; the loop keeps evaluating.
package controller
