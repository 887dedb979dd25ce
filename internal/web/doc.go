// Package web is ripcord's dashboard: the services, one service's versions,
// decisions, charts and evidence, the incidents with their timelines and
// reports, and what ripcord prevented — served by `ripcord serve` on the
// API listener under / (the API keeps /api/v1/, /healthz and /metrics).
//
// Pages are html/template from an embed.FS; the one script (static/app.js,
// hand-written, no build step) turns times into the viewer's zone and keeps
// the page live over Server-Sent Events (/events). Every page works without
// it: times read in UTC and a reload shows the news.
//
// Invariants:
//   - Sign-in exchanges an API token for a session; the token is read from
//     a POST body only, and never written to a page, a URL, a log or the
//     store. The store keeps the SHA-256 of the session secret, never the
//     secret, so a copy of the database signs nobody in, and a restart
//     signs nobody out. The cookie is HttpOnly, SameSite=Strict, Secure on
//     TLS, and expires with the session.
//   - A session's role is its token's role as configured now: a token
//     removed from api.tokens ends its sessions at the next request.
//   - Every POST carries a CSRF token (an HMAC of the session secret, so it
//     cannot be computed from the page of another session) and, when the
//     browser sends Origin, the same origin; a viewer's POST to an
//     operator action is a 403, and no viewer page has an action button.
//   - Actions go through the same controller and incident calls as the
//     API, with the session's token name as actor, so the timeline says
//     who did it.
//   - Pages are paged on the server: a services page reads the status of
//     every service (in memory) but the store only for the rows it shows.
package web
