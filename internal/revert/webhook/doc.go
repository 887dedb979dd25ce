// Package webhook reverts by asking another system to: one signed POST per
// revert to an endpoint the operator runs, which does the switch and
// answers 2xx when it is done.
//
// # Wire format
//
// The body is JSON, Content-Type application/json:
//
//	{"service": "summarizer", "from": "v2", "to": "v1",
//	 "reason": "error_rate 9.1% > 5%", "decision_id": 42}
//
// Each attempt is signed the Standard Webhooks way
// (https://www.standardwebhooks.com), by the same code as the webhook
// notification channel (internal/notify/webhook): headers webhook-id,
// webhook-timestamp (unix seconds, taken at the attempt) and
// webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>", keyed
// with the base64-decoded part of the whsec_ secret in secret_file.
//
// # Idempotency
//
// webhook-id is the idempotency key: "ripcord-revert-<decision_id>" for a
// revert the controller decided (revert.Request.DecisionID), else
// "ripcord-revert-" and a digest of service, from, to and reason. Every
// attempt of one revert, and every re-run of the same decision after a
// crash, carries the same id and body, so the receiver can drop repeats;
// Standard Webhooks asks receivers to do exactly that.
//
// # Outcome
//
// 2xx is done. 408, 429, 5xx and network errors are retried with
// exponential backoff and jitter, never sooner than Retry-After, within
// timeout. Any other answer (a 3xx too: redirects are not followed) is a
// permanent failure (errors.Is ErrRefused), returned at once so the
// controller escalates. Neither the secret nor the URL's path and query
// (which often hold a token) appear in errors or logs.
package webhook
