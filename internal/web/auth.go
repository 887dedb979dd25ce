package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/store"
)

// cookieName is the session cookie. The __Host- prefix would pin it to
// Secure, which plain-HTTP loopback use cannot have, so it is used only
// on TLS (see cookieFor).
const cookieName = "ripcord_session"

var roleRank = map[string]int{config.RoleViewer: 1, config.RoleOperator: 2, config.RoleAdmin: 3}

// user is the signed-in caller of one request.
type user struct {
	Name string // the API token's name: the actor on the timeline
	Role string
	CSRF string
}

// Operator says whether the page may show action buttons.
func (u *user) Operator() bool { return u != nil && roleRank[u.Role] >= roleRank[config.RoleOperator] }

type ctxKey struct{}

func userOf(r *http.Request) *user { u, _ := r.Context().Value(ctxKey{}).(*user); return u }

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// csrfFor derives the CSRF token from the session secret: only a page of
// this session can know it, and nothing extra is stored.
func csrfFor(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("ripcord csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tokenNamed finds the configured token a credential matches, comparing
// against every token in constant time.
func (s *Server) tokenMatching(cred string) (config.Token, bool) {
	var found config.Token
	ok := false
	for _, t := range s.tokens {
		if subtle.ConstantTimeCompare([]byte(cred), []byte(t.Value)) == 1 {
			found, ok = t, true
		}
	}
	return found, ok
}

func (s *Server) roleOf(name string) (string, bool) {
	for _, t := range s.tokens {
		if t.Name == name {
			return t.Role, true
		}
	}
	return "", false
}

// signIn checks the token and starts a session; the cookie carries the
// secret, the store its hash.
func (s *Server) signIn(ctx context.Context, w http.ResponseWriter, r *http.Request, cred string) error {
	tok, ok := s.tokenMatching(cred)
	if !ok || cred == "" {
		return errors.New("unknown token")
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return err
	}
	secret := base64.RawURLEncoding.EncodeToString(buf)
	now := s.now()
	if _, err := s.store.PruneSessions(ctx, now); err != nil {
		s.log.Warn("pruning dashboard sessions failed", "err", err)
	}
	exp := now.Add(s.ttl)
	if err := s.store.CreateSession(ctx, store.Session{Hash: hashSecret(secret), TokenName: tok.Name, Role: tok.Role,
		CreatedAt: now, ExpiresAt: exp}); err != nil {
		return err
	}
	http.SetCookie(w, cookieFor(r, secret, exp))
	s.log.Info("dashboard sign-in", "token", tok.Name, "role", tok.Role)
	return nil
}

func cookieFor(r *http.Request, secret string, exp time.Time) *http.Cookie {
	return &http.Cookie{Name: cookieName, Value: secret, Path: "/", Expires: exp, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
}

// session resolves the request's cookie to a user, nil when signed out.
func (s *Server) session(r *http.Request) (*user, string, error) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil, "", nil
	}
	ss, err := s.store.Session(r.Context(), hashSecret(c.Value), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	role, ok := s.roleOf(ss.TokenName)
	if !ok {
		return nil, "", nil // the token was removed from api.tokens
	}
	return &user{Name: ss.TokenName, Role: role, CSRF: csrfFor(c.Value)}, c.Value, nil
}

// signedIn runs h for a signed-in user; others go to the sign-in page
// (GET) or get 401 (anything else, and the event stream).
func (s *Server) signedIn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, _, err := s.session(r)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, "The session store failed: "+err.Error())
			return
		}
		if u == nil {
			if r.Method == http.MethodGet && r.URL.Path != "/events" {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.fail(w, r, http.StatusUnauthorized, "Sign in first.")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, u)))
	}
}

// operator runs a form POST for an operator whose CSRF token and origin
// check out.
func (s *Server) operator(h http.HandlerFunc) http.HandlerFunc {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request) {
		if !s.formOK(w, r) {
			return
		}
		if !userOf(r).Operator() {
			s.fail(w, r, http.StatusForbidden, "Your token ("+userOf(r).Name+") has role "+userOf(r).Role+"; this needs operator or admin.")
			return
		}
		h(w, r)
	})
}

// formOK checks a POST's origin and CSRF token.
func (s *Server) formOK(w http.ResponseWriter, r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			s.fail(w, r, http.StatusForbidden, "This form was sent from another origin.")
			return false
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Unreadable form: "+err.Error())
		return false
	}
	got := r.PostForm.Get("csrf")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(userOf(r).CSRF)) != 1 {
		s.fail(w, r, http.StatusForbidden, "The form's CSRF token is missing or stale: reload the page and try again.")
		return false
	}
	return true
}

// safeNext keeps a post-sign-in redirect on this site: a path, never
// //host or a scheme.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || next[0] != '/' || (len(next) > 1 && (next[1] == '/' || next[1] == '\\')) || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", page{Title: "Sign in", Data: map[string]string{"Next": safeNext(r.URL.Query().Get("next"))}})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Unreadable form.")
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	if err := s.signIn(r.Context(), w, r, r.PostForm.Get("token")); err != nil {
		s.log.Info("dashboard sign-in refused", "reason", err.Error())
		s.render(w, r, http.StatusUnauthorized, "login", page{Title: "Sign in", Error: "That token is not one of this daemon's api.tokens.",
			Data: map[string]string{"Next": next}})
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	_, secret, _ := s.session(r)
	if !s.formOK(w, r) {
		return
	}
	if err := s.store.DeleteSession(r.Context(), hashSecret(secret)); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Sign-out failed: "+err.Error())
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
