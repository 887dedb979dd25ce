package web

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/store"
)

// DefaultSessionTTL is how long a sign-in lasts.
const DefaultSessionTTL = 12 * time.Hour

// Options wires a Server.
type Options struct {
	Services []*controller.Service
	Store    store.Store
	Tokens   []config.Token
	Logger   *slog.Logger
	Now      func() time.Time
	// Notify is called after a person changes an incident (as the API's).
	Notify func()
	// Listeners are ripcord's own addresses, refused as deploy URLs.
	Listeners  func() []netip.AddrPort
	SessionTTL time.Duration // 0 = DefaultSessionTTL
	// Poll is how often the live feed looks for changes besides Wake; 0 =
	// 250 ms, which keeps a change within a second of the page.
	Poll time.Duration
}

// Server serves the dashboard.
type Server struct {
	svcs      map[string]*controller.Service
	order     []string
	store     store.Store
	tokens    []config.Token
	log       *slog.Logger
	now       func() time.Time
	notify    func()
	listeners func() []netip.AddrPort
	ttl       time.Duration
	hub       *hub
	prevented *Prevented
	pages     map[string]*template.Template
}

//go:embed templates static
var files embed.FS

// New builds a Server; Run starts its live feed.
func New(o Options) *Server {
	s := &Server{svcs: map[string]*controller.Service{}, store: o.Store, tokens: o.Tokens, log: o.Logger, now: o.Now,
		notify: o.Notify, listeners: o.Listeners, ttl: o.SessionTTL}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.listeners == nil {
		s.listeners = func() []netip.AddrPort { return nil }
	}
	if s.ttl <= 0 {
		s.ttl = DefaultSessionTTL
	}
	for _, svc := range o.Services {
		s.svcs[svc.Name()] = svc
		s.order = append(s.order, svc.Name())
	}
	s.pages = parsePages()
	poll := o.Poll
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	s.prevented = newPrevented(s)
	s.hub = newHub(s, poll)
	return s
}

// Run keeps the live feed and the prevented counter current until ctx ends.
func (s *Server) Run(ctx context.Context) { s.hub.run(ctx) }

// Wake tells the live feed something changed (an incident event).
func (s *Server) Wake() { s.hub.wake() }

// Shutdown ends every open event stream, so an http.Server's Shutdown is
// not held up by them (register it with RegisterOnShutdown).
func (s *Server) Shutdown() { s.hub.closeAll() }

// Prevented is the counter of what ripcord prevented, also a Prometheus
// collector for /metrics.
func (s *Server) Prevented() *Prevented { return s.prevented }

// Handler routes the dashboard.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(files, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.signedIn(s.logout))
	mux.HandleFunc("GET /{$}", s.signedIn(s.servicesPage))
	mux.HandleFunc("GET /services/{name}", s.signedIn(s.servicePage))
	mux.HandleFunc("GET /incidents", s.signedIn(s.incidentsPage))
	mux.HandleFunc("GET /incidents/{id}", s.signedIn(s.incidentPage))
	mux.HandleFunc("GET /events", s.signedIn(s.events))
	mux.HandleFunc("POST /services/{name}/{action}", s.operator(s.serviceAction))
	mux.HandleFunc("POST /incidents/{id}/{action}", s.operator(s.incidentAction))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
	})
	return headers(mux)
}

// headers sets the page-wide protections: no framing by others, no
// sniffing, scripts and styles from this origin only (inline styles are
// allowed for the embedded post-incident report, which has no script).
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// page is what every template gets.
type page struct {
	Title string
	User  *user
	Nav   string // which top link is current
	Error string
	Flash string
	Data  any
}

func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"login", "services", "service", "incidents", "incident", "error"} {
		t := template.Must(template.New("layout.tmpl").Funcs(funcs).ParseFS(files, "templates/layout.tmpl", "templates/partials.tmpl", "templates/"+name+".tmpl"))
		out[name] = t
	}
	return out
}

// render executes a page into a buffer first, so a template error is a
// clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if p.User == nil {
		p.User = userOf(r)
	}
	if p.Flash == "" {
		p.Flash = flashes[r.URL.Query().Get("done")]
	}
	var b bytes.Buffer
	if err := s.pages[name].Execute(&b, p); err != nil {
		s.log.Error("dashboard page failed", "page", name, "err", err)
		http.Error(w, "page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", page{Title: http.StatusText(status), Error: msg, Data: status})
}

// flashes are the confirmations an action's redirect shows (?done=...):
// fixed texts, so a link cannot put words on the page.
var flashes = map[string]string{
	"rollback": "Rollback started; it is on the incident's timeline.",
	"deploy":   "Deployed.",
	"pause":    "Automation paused.",
	"resume":   "Automation resumed.",
	"ack":      "Incident acknowledged.",
	"resolve":  "Incident resolved.",
	"note":     "Note added.",
}
