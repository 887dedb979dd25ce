// Package teams posts incidents to a Microsoft Teams channel through an
// incoming webhook created with Workflows ("Post to a channel when a webhook
// request is received"), as an Adaptive Card:
//
//	{"type":"message","attachments":[{
//	  "contentType":"application/vnd.microsoft.card.adaptive","contentUrl":null,
//	  "content":{"$schema":"http://adaptivecards.io/schemas/adaptive-card.json",
//	    "type":"AdaptiveCard","version":"1.4","body":[…],"actions":[…]}}]}
//
// The body is a title TextBlock coloured by severity (Good once resolved), a
// subtitle, a FactSet with service, severity, status, from → to, reason and
// incident ID, and the update's timeline step; an Action.OpenUrl links the
// report.
//
// There is no dedup: a Teams webhook can neither edit a card nor recognise
// a repeat, so each update, and each redelivery of one, posts a card. The
// outbox redelivers only after a failure or a crash between sending and
// recording success, so a duplicate is rare, and an identical card twice is
// harmless. Editing in place would need a bot registration (Graph API or Bot
// Framework), which is out of scope for a webhook channel.
//
// Failures are classified by notify.CheckResponse (408, 429, 5xx retry,
// honouring Retry-After; 400, 401, 403, 404, 410 do not) and network
// errors retry. The webhook URL is a secret (its sig= parameter authorises
// posting) and never appears in errors or logs.
package teams
