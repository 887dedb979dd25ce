// Package alertmanager raises ripcord incidents as Prometheus Alertmanager
// alerts, so they route, group, silence and inhibit like every other alert.
//
// Each update POSTs {URL}/api/v2/alerts with a JSON array holding the
// incident's alert: labels {alertname="RipcordIncident", service, severity,
// incident_id}, annotations {summary: title, description: reason},
// startsAt (when the incident began), generatorURL (the report link, if
// any), and endsAt. While the incident is open endsAt is Config.AlertTTL
// ahead: Alertmanager resolves an alert by itself once endsAt passes (or
// after resolve_timeout without one), and ripcord sends on changes only,
// not every evaluation interval as Prometheus does. Resolved sends the same
// labels with endsAt = the resolve time, which is how Alertmanager is told
// an alert is over.
//
// Dedup is Alertmanager's own: an alert is identified by its label set, so
// repeating or redelivering an update just refreshes the same alert, and
// the resolve ends exactly that alert. The one wrinkle is the severity
// label: when an incident's severity changes, the alert under the old label
// set would fire on until its TTL. With WithState the Notifier remembers
// the severity it last fired per incident (channel "alertmanager") and
// resolves the old alert in the same POST; without State that old alert
// expires at its TTL.
//
// Failures are classified by notify.CheckResponse (400 from Alertmanager's
// validation is permanent; 5xx, 408, 429 retry) and network errors retry.
// The optional bearer token and any password in the URL never appear in
// errors.
package alertmanager
