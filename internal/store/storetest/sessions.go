package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/store"
)

// testSessions: a session round-trips by its hash (times exact, in UTC),
// is gone once expired (at its expiry instant, not a nanosecond later) or
// deleted, a duplicate hash is refused, deleting twice is fine, and prune
// removes exactly the expired ones.
func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	live := store.Session{Hash: "aa11", TokenName: "alice", Role: "operator", CreatedAt: at(0), ExpiresAt: at(10)}
	old := store.Session{Hash: "bb22", TokenName: "bob", Role: "viewer", CreatedAt: at(0), ExpiresAt: at(2)}
	must(t, "CreateSession live", s.CreateSession(ctx, live))
	must(t, "CreateSession old", s.CreateSession(ctx, old))
	if err := s.CreateSession(ctx, store.Session{Hash: "aa11", TokenName: "mallory", Role: "admin", ExpiresAt: at(20)}); err == nil {
		t.Error("CreateSession with a stored hash: no error, want one (it must not replace alice's session)")
	}

	got, err := s.Session(ctx, "aa11", at(1))
	must(t, "Session", err)
	eq(t, "TokenName", got.TokenName, "alice")
	eq(t, "Role", got.Role, "operator")
	eq(t, "Hash", got.Hash, "aa11")
	sameTime(t, "CreatedAt", got.CreatedAt, live.CreatedAt)
	sameTime(t, "ExpiresAt", got.ExpiresAt, live.ExpiresAt)

	_, err = s.Session(ctx, "bb22", at(2))
	wantErr(t, "Session at its expiry", err, store.ErrNotFound)
	if _, err := s.Session(ctx, "bb22", at(2).Add(-time.Nanosecond)); err != nil {
		t.Errorf("Session a nanosecond before expiry: %v", err)
	}
	_, err = s.Session(ctx, "nope", at(1))
	wantErr(t, "Session unknown", err, store.ErrNotFound)

	n, err := s.PruneSessions(ctx, at(5))
	must(t, "PruneSessions", err)
	eq(t, "pruned", n, int64(1))
	if _, err := s.Session(ctx, "bb22", at(0)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pruned session still found (err %v)", err)
	}
	if _, err := s.Session(ctx, "aa11", at(5)); err != nil {
		t.Errorf("live session pruned: %v", err)
	}

	must(t, "DeleteSession", s.DeleteSession(ctx, "aa11"))
	must(t, "DeleteSession again", s.DeleteSession(ctx, "aa11"))
	_, err = s.Session(ctx, "aa11", at(1))
	wantErr(t, "Session after delete", err, store.ErrNotFound)
}
