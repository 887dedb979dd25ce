// Package pagerduty pages through the PagerDuty Events API v2.
//
// Opened and Updated send event_action "trigger", Resolved (or any update
// whose status is resolved) sends "resolve", all with dedup_key =
// Message.DedupKey() ("ripcord-<installation>-<incident id>"). PagerDuty deduplicates on
// that key: a repeated or redelivered trigger lands on the alert already
// open instead of opening another, and the resolve closes exactly that
// alert. No State is needed. A trigger carries payload.summary ("[severity]
// service: title", cut to 1024 characters), payload.source (the service),
// payload.severity (critical→critical, major→error, minor→warning, anything
// else→error), payload.class (the incident kind), payload.timestamp and
// custom_details (incident_id, kind, severity, status, reason, update, seq,
// from_version, to_version, report_url, the timeline event).
//
// Events go through github.com/PagerDuty/go-pagerduty. Its package-level
// ManageEventWithContext cannot be pointed elsewhere (the endpoint is a
// constant and it uses http.DefaultClient), so this package uses
// Client.ManageEventWithContext with WithV2EventsAPIEndpoint(Config.URL)
// and an http.Client with Config.Timeout. That method returns failures as an
// APIError without the Retry-After header and flattens network errors with
// %v, so a transport under it keeps the failed response and the original
// error, and classification is notify.CheckResponse's: 429 and 5xx retry
// (after Retry-After), 400 (invalid event) and other 4xx do not, network
// errors do.
//
// The routing key is a secret: it travels only in the request body, and is
// scrubbed from any response text quoted in an error.
package pagerduty
