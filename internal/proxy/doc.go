// Package proxy is ripcord's built-in blue-green traffic switch: one Switch
// per guarded service sits in front of the service's versions, forwards every
// request to the active one, and keeps the live per-version statistics the
// controller judges a deploy by.
//
// Invariants, and why they hold:
//
//   - A switch is one atomic pointer store (Activate). Each request reads the
//     pointer once when it starts, so a switch affects the next request and
//     never one in flight: streams finish on the version they started on. The
//     version being left is marked draining: its idle keep-alive connections
//     are closed at once and busy ones when their request ends, so nothing is
//     cut mid-request and nothing lingers.
//   - The request path takes no lock. Versions are published copy-on-write;
//     statistics are a ring of 100 ms slots per version with atomic counters
//     and a fixed log-bucket latency histogram (relative error < 1%). A slot
//     is stamped with the index of the 100 ms it holds; a writer that finds a
//     stale stamp recycles the slot (CAS on the stamp), and a reader only sums
//     slots whose stamp lies in [since, now] and re-checks it after reading.
//   - Statistics blame a version only for what it did: 5xx answers and
//     connection failures (refused, reset, broken body) are errors, 4xx are
//     not, and a request the client abandoned is not recorded at all. The
//     recorded latency is the time until the response was relayed completely,
//     so a stream that slows down shows up as slow.
//   - Streams are relayed unbuffered. On the HTTP/1.1 fast path every relay
//     flushes the client's buffer right before it would block on the
//     upstream, so nothing that arrived is held back and what arrived together
//     leaves in one write; ServeHTTP flushes after every upstream read for a
//     response of unknown length or of type text/event-stream.
//
// Two paths serve clients. Serve's HTTP/1.1 connections take the fast path
// (h1*.go): raw header bytes are relayed with hop-by-hop lines dropped and
// forwarding headers appended, over pooled upstream connections used
// synchronously by the client connection's goroutine; no header maps, no
// allocation per request, 2 reads and 2 writes per request as nginx does
// (see h1raw.go for how the speculative reads are avoided). Anything it does
// not speak (h2c, HTTP/1.0, Upgrade, Expect, absolute-form targets, oversized
// heads, chunked uploads that a retry would have to buffer) is handed
// untouched to net/http, which calls ServeHTTP: the same rules, on
// http.Transport. Tests run every client-facing case through both.
// Protocol upgrades (WebSocket) are relayed by httputil.ReverseProxy, which
// splices the hijacked connections (upgrade.go).
//
// Process settings are the embedding program's: on a machine where the
// switch shares two or so cores with its backends, GOMAXPROCS=1 gives it
// more requests per second and lower latency than one P per core, because
// no request then needs a wake-up of another thread (bench/proxy/run.sh
// measures both).
//   - retry_on_previous never repeats a request where repeating could hurt: only
//     before any byte of the answer went to the client, only once, only to the
//     fallback version (never the one that failed, so no version receives the
//     same body twice), only idempotent methods unless allowed, only bodies that
//     fit the buffer limit. The failure still counts for the failing version,
//     so retries hide a bad deploy from users but not from detection.
package proxy
