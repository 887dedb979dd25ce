// Package email sends ripcord incident updates as plain-text mail over SMTP
// (net/smtp), one message per update, threaded per incident.
//
// # Role
//
// Every message (Opened, Updated, Resolved) becomes one mail from Config.From
// to every Config.To address, with the subject "[ripcord] <severity>
// <title>" and a text/plain body giving the status, reason, service,
// versions, the timeline step the update is about and the report link.
//
// # Transport security
//
// Config.TLS chooses how the connection is protected:
//
//   - "starttls" (default): upgrade with STARTTLS when the server offers it,
//     carry on in clear text when it does not.
//   - "require_starttls": fail (permanently) when STARTTLS is not offered.
//   - "tls": implicit TLS from the first byte (SMTPS, usually port 465).
//   - "none": never upgrade.
//
// Credentials (Username/Password) are sent with AUTH PLAIN, which net/smtp
// only allows over TLS or to localhost (localhost, 127.0.0.1, ::1); a
// configuration that would send the password in clear fails permanently
// before the password leaves the process.
//
// # Dedup strategy
//
// Delivery is at-least-once and SMTP has no idempotent submit: when the
// connection drops after the final "." but before the server's 250, a retry
// sends the mail again. What makes that harmless is the Message-ID header,
// which is derived only from the incident and the update, never from the
// time or a random number: the same Message (a retry) always yields the same
// Message-ID, and the whole message is byte-identical because the Date
// header is the message's own time. Mail systems and clients that
// de-duplicate on Message-ID (Gmail, many MDAs and list servers) then show
// it once.
//
//   - The Opened mail's Message-ID is <ripcord.<id>@<domain>>: there is one
//     per incident, so it is also the thread root every later update can
//     name without any stored state.
//   - Every other update is <ripcord.<id>.<seq>@<domain>> (a digest of the
//     update's content when Seq is zero), with In-Reply-To and References
//     set to the root so clients thread the incident.
//
// <domain> is Config.MessageIDDomain, or the domain of the From address.
//
// Recipients are all-or-nothing: the first RCPT the server refuses aborts
// the transaction before DATA, so nobody receives a mail that a retry will
// send again.
//
// # Errors
//
// SMTP replies 4xx are retryable and 5xx permanent, as RFC 5321 intends;
// network failures and timeouts are retryable; a TLS certificate that does
// not verify and refused plain-text authentication are permanent (retrying
// cannot fix configuration). The password and the encoded AUTH PLAIN
// credentials are scrubbed from server replies before they reach an error,
// and Config and Notifier print and log the password as <redacted>.
package email
