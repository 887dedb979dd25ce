// Package github tracks each ripcord incident as a GitHub issue, using
// github.com/google/go-github against GitHub.com or GitHub Enterprise Server
// (Config.BaseURL), authenticated with a token (fine-grained or classic,
// with write access to issues).
//
// # Role
//
// Opened creates an issue titled "[ripcord] <title>" with the labels
// "ripcord", "incident" and "ripcord-<installation>-<incident id>" and a Markdown body:
// reason, service, kind, severity, status, versions, report link and
// timeline. Each later update becomes a comment; Resolved adds a comment and
// closes the issue with state_reason "completed".
//
// # Dedup strategy
//
// GitHub has no idempotency key for issues or comments, so:
//
//   - notify.State under channel "github:<owner>/<repo>" keeps the issue
//     number and the highest Message.Seq applied; a message at or below it
//     is dropped.
//   - With no state, the issue is looked up before creating with
//     Issues.ListByRepo filtered by the per-incident label, state "all",
//     oldest first. The issues list is read from the database (unlike the
//     search API, which is eventually consistent), so an issue created by an
//     attempt whose response was lost is found. Closed issues count too, so a
//     late repeat of Opened for a resolved incident does not file a second
//     issue; ripcord incidents never reopen after resolved.
//   - Every comment ends with an invisible HTML comment marker
//     "<!-- ripcord:<id> update <seq> -->". Before commenting, the issue's
//     comments since shortly before the message time are read and the comment
//     is skipped when one carries the marker. User text in bodies has "<"
//     escaped so it cannot forge a marker.
//   - Closing is an idempotent PATCH.
//
// GitHub only applies labels on create when the token has push (triage)
// access to the repository; without it the labels are silently dropped and
// the label lookup cannot find the issue again, so give the token that
// access.
//
// # Errors
//
// HTTP failures are classified with notify.CheckResponse, plus GitHub's own
// rate limiting: an exhausted primary limit (403/429 with
// X-RateLimit-Remaining: 0) is retryable after the reset time, a secondary
// limit after its Retry-After, and so is a 403 carrying Retry-After.
//
// # Secrets
//
// The token travels only in the Authorization header (go-github sets
// "Bearer <token>"). Config and Notifier print and log it as <redacted>, and
// errors are built from the call name, HTTP status and GitHub's message with
// the token scrubbed, never from the request.
package github
