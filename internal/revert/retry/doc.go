// Package retry is the retry loop the HTTP revert targets (mlflow,
// webhook) share: exponential backoff with jitter, never sooner than the
// server's Retry-After, and never past the caller's deadline — a wait
// that would end after the deadline is not started, so the caller gets
// the real error at once instead of a context error later.
package retry
