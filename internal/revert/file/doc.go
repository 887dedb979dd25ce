// Package file reverts model servers that read the version to serve from
// a file: it writes the version there atomically, optionally asks the
// server to reload, and checks the server is healthy.
//
// # Invariants
//
//   - The write is atomic and durable: the version goes into a temp file
//     in the same directory, which is fsynced and renamed over the file,
//     and then the directory itself is fsynced, so a reader sees the old
//     content or the new, never a partial one, and a crash right after
//     Revert returns cannot bring the old version back. A symlink at path
//     is followed: the file it points to is replaced, the link stays.
//   - The file holds the version name followed by a newline; Status reads
//     it back with surrounding space trimmed.
//   - Revert is idempotent: when the file already names the target it is
//     not rewritten, but reload_url is still called and health_url still
//     checked, so a revert re-run after a crash finishes the first one.
//   - reload_url (POST, empty body) and health_url (GET) must answer 2xx;
//     network errors, 408, 429 and 5xx are retried briefly, until timeout;
//     other answers fail at once. A revert whose reload or health check
//     fails returns an error: the file was written, but the server is not
//     known to serve it, so the controller escalates.
//   - URLs in errors and logs show scheme, host and path only: a query or
//     userinfo may hold a token.
//   - DryRun reads the file and checks the version but writes nothing.
package file
