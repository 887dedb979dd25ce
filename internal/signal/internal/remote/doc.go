// Package remote holds what the sources that poll a metrics API share:
// a per-version cache that fetches at most once per read interval (and
// not before a rate limit resets), tallies that turn a backend's
// per-period counts into cumulative counts that only grow, and reading
// secret files without ever echoing them.
//
// The invariant the tallies keep is the one the sequential tests need: a
// request is counted once. A backend's rollup bucket may still grow while
// late data arrives, so each bucket contributes the largest value seen for
// it, and the increments since the last read are what a read adds.
package remote
