// Package jira files a Jira Cloud issue per ripcord incident and keeps it up
// to date through the REST API v3, authenticating with HTTP basic auth
// (account email + API token).
//
// # Role
//
// Opened creates an issue in the configured project (issue type "Bug" unless
// configured) with the summary "[ripcord] <title>", the labels "ripcord" and
// "ripcord-<installation>-<incident id>", and a description in Atlassian Document Format
// (ADF) holding the reason, service, severity, status, versions, report link
// and timeline. Every later update becomes a comment (ADF too). Resolved adds
// a comment and, when Config.ResolveTransition names one, moves the issue
// through that workflow transition: transitions are workflow-specific (their
// names and ids differ between projects), so ripcord does nothing to the
// status unless told which transition means "resolved". The transition is
// looked up by name among those the issue currently offers (GET
// .../transitions) and matched on the transition's name or its target status
// name, case-insensitively. If it is not offered and the issue is already in
// a "done" status category, that counts as done; otherwise the error lists
// what is offered.
//
// # Dedup strategy
//
// Jira has no idempotency key, so:
//
//   - notify.State under channel "jira:<project>" keeps the issue key and the
//     highest Message.Seq applied; a message at or below it is dropped.
//   - With no state, the issue is searched before creating, by its label:
//     POST /rest/api/3/search/jql with
//     project = "<key>" AND labels = "ripcord-<installation>-<id>" ORDER BY created ASC.
//     That is the current v3 search: GET/POST /rest/api/3/search were
//     deprecated and removed in 2025 in favour of /search/jql, which pages
//     with nextPageToken (no startAt) and returns only ids unless "fields"
//     is given. Resolved issues are found too, so a late repeat of Opened
//     does not file a second issue.
//   - Comments end with a marker paragraph "ripcord <id> update <seq>". Before
//     commenting, the newest comments are read and the comment is skipped if
//     one already carries the marker, so a comment whose response was lost is
//     not posted twice even when State is gone.
//
// The search is eventually consistent (Atlassian documents seconds, at worst
// minutes, before a new issue is searchable; reconcileIssues needs the id we
// would be missing). So if a create lands, its response is lost AND State is
// lost, a retry within that window can file a second issue. State is written
// as soon as the key is known, which leaves only the lost-response case; it
// is the one duplicate this channel cannot rule out.
//
// # Secrets
//
// The API token travels only in the Authorization header. Config and
// Notifier print and log it as <redacted>; errors name the call and the
// HTTP status, and response bodies have the token (and the encoded
// credentials) replaced before they reach an error.
package jira
