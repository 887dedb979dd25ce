// Package slack posts incidents to Slack, in one of two modes.
//
// Webhook mode (Config.WebhookURL) sends one message per update through an
// incoming webhook. Incoming webhooks cannot edit a message or tell a repeat
// from a new post, so there is no dedup: a redelivered update shows up
// twice. That is rare (the outbox redelivers only after a failure or a crash
// between sending and recording success) and it is the price of needing no
// app install; use bot mode when it matters.
//
// Bot mode (Config.Token and Config.Channel) keeps one top-level message per
// incident. The first update posts it with chat.postMessage and stores its
// channel ID and ts in notify.State under the channel key
// "slack:<channel>" right away, before anything else can fail. Every later
// update edits that message with chat.update (status and severity live
// there) and posts its timeline step as a thread reply (thread_ts). Stored
// with the ts is the Seq of the last update fully applied; an update whose
// Seq is not above it is a redelivery or arrived out of order, and is
// dropped, so it neither duplicates a thread reply nor rolls the message
// back to an older status. A repeat of Opened after a crash therefore finds
// the ts and edits (or, with the Seq stored, skips) instead of posting a
// second top-level message. One window remains: a crash after Slack accepted
// chat.postMessage but before State.Put returns. If the message was deleted
// in Slack (message_not_found), a fresh one is posted and stored.
//
// Messages are Block Kit: a header with the title, a section whose fields are
// service, severity, status, from → to and reason, and a context line with
// the incident ID and report link, plus a plain `text` fallback for
// notifications. Text from the incident is escaped so it cannot inject
// mentions.
//
// Calls go through github.com/slack-go/slack with Config.APIURL as the API
// base (slack.OptionAPIURL(APIURL+"/api/")) and an http.Client with
// Config.Timeout. slack-go sends the bot token as the form field `token` of
// chat.postMessage and chat.update, not as an Authorization header. Failures
// are classified for retry: HTTP statuses by notify.CheckResponse (slack-go
// hides the response, so a transport under it keeps the failed one), "ok":
// false codes by name (ratelimited, internal_error… retry; invalid_auth,
// channel_not_found… do not), network errors as retryable. Neither the
// token nor the webhook URL ever appears in an error.
package slack
