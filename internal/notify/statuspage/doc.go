// Package statuspage publishes ripcord incidents on an Atlassian Statuspage
// page through its REST API v1 (https://api.statuspage.io/v1, header
// "Authorization: OAuth <api_key>").
//
// # Role
//
// An Opened message creates a realtime incident on the page (status
// investigating, the configured component set to degraded_performance,
// partial_outage or major_outage for a minor, major or critical incident).
// Updated messages PATCH the same incident with the new status and a body,
// which Statuspage publishes as an incident update; Resolved sets status
// resolved and the component back to operational.
//
// # Dedup strategy
//
// Delivery is at-least-once, and Statuspage has no idempotency key, so a
// repeat must find what an earlier attempt created:
//
//  1. notify.State under channel "statuspage:<page_id>" holds the Statuspage
//     incident id and the highest Message.Seq applied. A message whose Seq is
//     not above it is a repeat (or stale) and is dropped.
//  2. With no state (never delivered, or the state was lost after a create
//     whose response never arrived), the unresolved incidents are listed
//     (GET /pages/{page_id}/incidents/unresolved) and matched on our marker.
//     The API reference documents a "metadata" object on the Incident that
//     create accepts and reads return ("all top-level values must be
//     objects"), so create sends metadata {"ripcord":{"incident_id":ID}} and
//     the lookup matches on it. In case an endpoint returns incidents without
//     metadata, the first update's body also ends with the marker
//     "[ripcord ID]", and a match on the marker in the name or any incident
//     update body counts too.
//  3. Not among the unresolved, the incident may have been resolved already
//     (a late repeat): GET /pages/{page_id}/incidents?q=ID searches names and
//     incident updates, and its results are matched the same way.
//  4. Before PATCHing, the incident is read back: if its latest incident
//     update already has the status and body we would send, a previous
//     attempt landed and the PATCH is skipped, so a lost response does not
//     publish the same update twice. An incident someone already resolved by
//     hand is not reopened by a later non-resolved update.
//
// Notify calls on one Notifier are serialised so two deliveries of one
// incident cannot race each other into two creates.
//
// # Rate limit
//
// Statuspage allows each API key one request per second (measured over a
// rolling minute) and answers 420 or 429 past it. Every request first waits
// on a limiter shared by all Notifiers of the process that use the same key,
// spacing requests at least a second apart; waiting respects the context.
// 420 is classified as retryable like 429. A new incident costs up to three
// requests (two lookups and the create), so about three seconds.
//
// # Secrets
//
// The API key travels only in the Authorization header. Config and Notifier
// print and log it as <redacted>; errors name the call and the HTTP status,
// never the key, and a response body that echoes the key has it replaced
// before it reaches an error.
package statuspage
