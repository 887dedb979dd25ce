// Package proxy is ripcord's built-in blue-green traffic switch: one Switch
// per guarded service sits in front of the service's versions, forwards every
// request to the active one, and keeps the live per-version statistics the
// controller judges a deploy by. It is a leaf: it imports no other ripcord
// package and has its own option types (options.go); internal/app maps the
// configuration onto them.
//
// Invariants, and why they hold:
//
//   - A switch is one atomic pointer store (Activate). Each request reads the
//     pointer once when it starts, so a switch affects the next request and
//     never one in flight. The version being left is drained (drain.go): its
//     idle keep-alive connections are closed at once and busy ones when
//     their request ends; its tunnels (WebSocket) are closed at once, since
//     they never end by themselves; and responses still streaming from it
//     DrainTimeout later are cut, not counted against it. After a rollback
//     the old version gets no new request, no tunnel, and stops answering
//     within a known time.
//   - A canary (SetWeight, canary.go) is one more atomic pointer: the
//     stable and canary versions and the canary's share in basis points,
//     published together, read once per request like the active pointer.
//     With a sticky key the side is a hash of the header or cookie value
//     (no state per user), so a user in bucket b is on the canary at every
//     share above b: a growing share moves users stable → canary only.
//     Requests without the key are assigned at random, one by one. Each new
//     share restarts the canary's cumulative evidence, so a step is judged
//     on its own requests; Activate (a full switch, 0 % or 100 %) ends the
//     canary and drains the version that lost its traffic.
//   - A shadow (StartShadow, shadow.go) copies live requests to a version
//     no user is routed to; its answers go only into that version's
//     statistics. The live request never waits for its copy: whether to
//     copy is decided at its start (method, a body of known length under
//     the limit, the share, a backlog place reserved by one atomic add —
//     none free: dropped and counted), the copy is queued after the live
//     answer and sent by a fixed set of workers. Only a copied request's
//     small body is read whole before forwarding. Copies carry
//     X-Ripcord-Shadow: 1, which a client can never send through.
//   - No answer reaches the wrong client. HTTP/1.1 has nothing that ties an
//     answer to its request but order, so bytes a version writes that no
//     request asked for (a late second response, a body on a HEAD) would be
//     read as the next request's answer, usually another user's. An
//     upstream connection is therefore never reused if it holds unread
//     bytes: the fast path probes every idle connection before reuse,
//     whatever its age, closes instead of pooling one with bytes after the
//     answer's end or an answer that must have no body (HEAD, 204, 304, 1xx)
//     framed for one; net/http's Transport drops such connections itself.
//     Those bytes are counted per version (Totals.Unsolicited) and logged at
//     most once a second (junk.go). The race that remains is the one every
//     HTTP/1.1 client has: bytes sent after the probe, while the next request
//     is on its way.
//   - What the fast path relays, it relays exactly as net/http would, or not
//     at all. Method and header names are RFC 9110 tokens, values hold no
//     control byte but HTAB, targets no control byte and only escapes that
//     decode, Host is checked as net/http checks it, only SP and HTAB are
//     trimmed around values, chunked framing lines end in CR LF, a backend
//     status line with a control byte is a 502. Anything else is handed to
//     net/http, which serves or refuses it by its own rules; otherwise a
//     backend could read a different message than the switch checked
//     (request smuggling, header injection). FuzzDifferential holds the fast
//     path to this against the switch's own net/http path.
//   - Forwarding headers say what the switch saw: Host and the headers it
//     sets (X-Forwarded-*, Via) are never removed by a Connection header,
//     and a client's Forwarded, X-Real-IP, X-Forwarded-Host and
//     X-Forwarded-Proto are dropped unless it is in TrustedProxies, so a
//     client cannot claim a host, scheme or address. X-Forwarded-For
//     appends the peer.
//   - A slow or idle client holds nothing for long: a request head must
//     arrive within HeaderTimeout, each read of a body must make progress
//     within BodyTimeout (or the request and its upstream connection are
//     dropped, not counted against the version), a keep-alive connection
//     idle for IdleTimeout between requests is closed (never during an
//     answer), and a listener holds at most MaxConns connections, answering
//     503 beyond.
//   - The request path takes no lock. Versions are published copy-on-write;
//     statistics are a ring of 100 ms slots per version with atomic counters
//     and a fixed log-bucket latency histogram (relative error < 1%). A slot
//     is stamped with the index of the 100 ms it holds; a writer that finds a
//     stale stamp recycles the slot (CAS on the stamp), and a reader only sums
//     slots whose stamp lies in [since, now] and re-checks it after reading.
//     (Pools take their version's mutex for a slice push or pop.)
//   - Statistics blame a version only for what it did: 5xx answers and
//     connection failures (refused, reset, broken body) are errors, 4xx are
//     not, and a request the client abandoned or stalled, or that a drain
//     cut, is not recorded at all. The recorded latency is the time until the
//     response was relayed completely, except for a stream (chunked,
//     close-delimited or text/event-stream), whose latency is the time to its
//     head: a stream is judged by its time to first byte and by its errors
//     (cut before its framed end, or an SSE "event: error"), never by how
//     long it runs. Besides the windowed ring, each version keeps cumulative
//     counts since it was last activated, with requests still waiting for
//     their head judged against tracked bounds in flight (evidence.go).
//   - Streams are relayed unbuffered. On the HTTP/1.1 fast path every relay
//     flushes the client's buffer right before it would block on the
//     upstream, so nothing that arrived is held back and what arrived together
//     leaves in one write; ServeHTTP flushes after every upstream read for a
//     response of unknown length or of type text/event-stream.
//   - retry_on_previous never repeats a request where repeating could hurt:
//     only before any byte of the answer went to the client, only once, only
//     to the fallback version (never the one that failed, so no version
//     receives the same body twice), only idempotent methods unless allowed,
//     only bodies that fit the buffer limit. The failure still counts for the
//     failing version, so retries hide a bad deploy from users but not from
//     detection.
//
// Two paths serve clients. Serve's HTTP/1.1 connections take the fast path
// (h1*.go): raw header bytes are relayed with hop-by-hop lines dropped and
// forwarding headers appended, over pooled upstream connections used
// synchronously by the client connection's goroutine; no header maps, no
// allocation per request, 2 reads and 2 writes per request as nginx does,
// plus one non-blocking peek per reused upstream connection (see
// h1raw_linux.go for how the speculative reads are avoided; other systems,
// and the build tag ripcord_portable, use h1raw_portable.go: plain reads and
// writes, and a probe by short read deadline). Anything it does not speak
// (h2c, HTTP/1.0, Upgrade, Expect, absolute-form targets, oversized heads,
// anything the checks above refuse, chunked uploads that a retry would have
// to buffer) is handed untouched to net/http, which calls ServeHTTP: the
// same rules, on http.Transport. Tests run every client-facing case through
// both. Protocol upgrades are relayed only for WebSocket, by
// httputil.ReverseProxy (upgrade.go); Upgrade: h2c over HTTP/1.1 is served
// as plain HTTP/1.1, as net/http does.
//
// Process settings are the embedding program's: on a machine where the
// switch shares two or so cores with its backends, GOMAXPROCS=1 gives it
// more requests per second and lower latency than one P per core, because
// no request then needs a wake-up of another thread (bench/proxy/run.sh
// measures both).
package proxy
