package api

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/ripcord/ripcord/internal/config"
)

var roleRank = map[string]int{config.RoleViewer: 1, config.RoleOperator: 2, config.RoleAdmin: 3}

// authenticate returns the caller's name and role. There is no
// unauthenticated mode: with no tokens at all nobody gets in (the daemon
// always passes at least its generated admin token).
func (s *Server) authenticate(r *http.Request) (name, role string, ok bool) {
	// The scheme name is case-insensitive (RFC 9110 §11.1): "bearer x" is
	// the same credential as "Bearer x".
	scheme, got, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || got == "" {
		return "", "", false
	}
	// Compare against every token so the time taken does not say which
	// prefix matched or how many tokens there are before the right one.
	for _, t := range s.tokens {
		if subtle.ConstantTimeCompare([]byte(got), []byte(t.Value)) == 1 {
			name, role, ok = t.Name, t.Role, true
		}
	}
	return name, role, ok
}

// require wraps h so it runs only for callers with at least role.
func (s *Server) require(role string, h func(w http.ResponseWriter, r *http.Request, actor string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, have, ok := s.authenticate(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ripcord"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing or unknown bearer token: send Authorization: Bearer <token> (ripcord CLI: --token, RIPCORD_TOKEN or --token-file; "+
				"a daemon without api.tokens keeps its admin token in admin.token beside its SQLite file, which the CLI on the same machine finds by itself)")
			return
		}
		if roleRank[have] < roleRank[role] {
			writeError(w, http.StatusForbidden, "forbidden", "token "+name+" has role "+have+"; this needs "+role+" or higher")
			return
		}
		h(w, r, name)
	}
}
