// Package webhook delivers incidents to any HTTP endpoint as CloudEvents
// 1.0 in structured mode (Content-Type application/cloudevents+json), signed
// the Standard Webhooks way (https://www.standardwebhooks.com).
//
// Each update is one event: specversion "1.0"; id "ripcord-<installation>-<incident>-<seq>"
// (EventID); source "ripcord/<service>"; type
// "dev.ripcord.incident.<opened|updated|resolved>"; subject the incident ID;
// time the update's time; datacontenttype application/json; data the
// notify.Message as JSON.
//
// Dedup is the receiver's, by ID, which is why the ID is derived from the
// message rather than generated: every delivery of the same update, retries
// and redeliveries after a crash included, carries the same event id and
// the same webhook-id header, and different updates carry different ones.
// Standard Webhooks asks receivers to treat webhook-id as an idempotency
// key, and CloudEvents defines source+id as unique, so a receiver built on
// either drops the repeat. Nothing is stored on ripcord's side.
//
// Every attempt carries webhook-id, webhook-timestamp (unix seconds, taken
// at the attempt, so a retry is not rejected as stale) and
// webhook-signature = "v1," + base64(HMAC-SHA256(key, id "." timestamp "."
// body)), where key is the base64-decoded part of the "whsec_…" secret.
// Standard Webhooks receiver libraries verify it as is.
//
// Failures are classified by notify.CheckResponse (408, 429, 5xx retry,
// honouring Retry-After; other 4xx do not) and network errors retry. Neither
// the secret nor the URL's path and query (which often hold a token) appear
// in errors.
package webhook
