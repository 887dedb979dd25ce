// Package storetest is the conformance suite for store.Store. The SQLite
// store runs it today and the PostgreSQL store must run the same suite, so
// the controller can rely on behaviour rather than on one implementation.
//
// What it pins down, beyond "the data comes back":
//
//   - Times come back as the same instant, to the nanosecond, in UTC, and
//     the zero time comes back as the zero time: "not set" (no cooldown, not
//     resolved) must survive a restart as "not set".
//   - The decision protocol: RecordDecision is always pending, FinishDecision
//     succeeds once and then wraps store.ErrAlreadyFinished, even when
//     finishers race. That is what makes crash recovery exactly-once.
//   - Snapshots may hold NaN and ±Inf (a ratio over zero samples); recording
//     the decision must not fail on them, or the action would run with no
//     pending record behind it.
//   - Incident IDs are allocated by the store, sequentially from INC-0001 in
//     an empty store, and never shared by concurrent creators.
//   - UpdateIncident allows exactly the status changes
//     incident.ValidTransition allows, writes nothing at all for the others,
//     and never loses an update to a concurrent writer.
//   - The timeline keeps append order; event Data round-trips with JSON
//     types (numbers as float64), the shape it has over the API.
//   - List order and limits: services by name; deployments, decisions and
//     incidents newest first, limit <= 0 meaning 100; pending decisions
//     oldest first.
//
// Run takes a constructor rather than a store so every subtest starts from
// an empty store, which sequential-ID and ordering checks rely on.
package storetest
