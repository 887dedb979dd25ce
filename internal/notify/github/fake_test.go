package github

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const testToken = "ghp_SECRETtoken0123456789abcdef"

// fakeGitHub implements the issue endpoints ripcord uses under a GitHub
// Enterprise style root (/api/v3/), statefully, and fails the test on
// requests that break the wire format.
type fakeGitHub struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	issues   []*fakeIssue
	requests []string // "METHOD path?query"
	fail     []canned // answers for the next requests
	loseNext string   // "METHOD path": apply, then answer 502
	bodies   [][]byte // request bodies, in order
}

type fakeIssue struct {
	Number             int
	Title, Body, State string
	StateReason        string
	Labels             []string
	PR                 bool
	Comments           []fakeComment
}

type fakeComment struct {
	Body string
	At   time.Time
}

type canned struct {
	status int
	header http.Header
	body   string
}

func newFake(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		f.t.Errorf("%s %s: Authorization = %q", r.Method, r.URL.Path, got)
	}
	if v := r.Header.Get("X-GitHub-Api-Version"); v == "" {
		f.t.Errorf("%s %s: no X-GitHub-Api-Version", r.Method, r.URL.Path)
	}
	body, _ := io.ReadAll(r.Body)
	call := r.Method + " " + r.URL.Path
	f.requests = append(f.requests, call+"?"+r.URL.RawQuery)
	f.bodies = append(f.bodies, body)
	if len(f.fail) > 0 {
		c := f.fail[0]
		f.fail = f.fail[1:]
		for k, v := range c.header {
			w.Header()[k] = v
		}
		w.WriteHeader(c.status)
		io.WriteString(w, c.body)
		return
	}
	rw := w
	if call == f.loseNext {
		f.loseNext = ""
		rw = httptest.NewRecorder()
		defer w.WriteHeader(http.StatusBadGateway)
	}
	f.route(rw, r, body)
}

var issueRE = regexp.MustCompile(`^/api/v3/repos/acme/shop/issues/(\d+)(/comments)?$`)

func (f *fakeGitHub) route(w http.ResponseWriter, r *http.Request, body []byte) {
	p := r.URL.Path
	switch {
	case p == "/api/v3/repos/acme/shop/issues" && r.Method == http.MethodGet:
		f.list(w, r)
	case p == "/api/v3/repos/acme/shop/issues" && r.Method == http.MethodPost:
		var req struct {
			Title  string   `json:"title"`
			Body   string   `json:"body"`
			Labels []string `json:"labels"`
		}
		f.decode(r, body, &req)
		is := &fakeIssue{Number: len(f.issues) + 1, Title: req.Title, Body: req.Body, State: "open", Labels: req.Labels}
		f.issues = append(f.issues, is)
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(f.wire(is))
	case issueRE.MatchString(p):
		sm := issueRE.FindStringSubmatch(p)
		num, _ := strconv.Atoi(sm[1])
		if num < 1 || num > len(f.issues) {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"Not Found"}`)
			return
		}
		f.issueCall(w, r, body, f.issues[num-1], sm[2] != "")
	default:
		f.t.Errorf("unexpected %s %s", r.Method, p)
		w.WriteHeader(http.StatusNotFound)
	}
}

func (f *fakeGitHub) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("state") != "all" || q.Get("sort") != "created" || q.Get("direction") != "asc" || q.Get("labels") == "" {
		f.t.Errorf("list query %q", r.URL.RawQuery)
	}
	want := strings.Split(q.Get("labels"), ",")
	out := []map[string]any{}
	for _, is := range f.issues {
		if !slices.ContainsFunc(want, func(l string) bool { return !slices.Contains(is.Labels, l) }) {
			out = append(out, f.wire(is))
		}
	}
	json.NewEncoder(w).Encode(out)
}

func (f *fakeGitHub) issueCall(w http.ResponseWriter, r *http.Request, body []byte, is *fakeIssue, comments bool) {
	switch {
	case comments && r.Method == http.MethodGet:
		since, _ := time.Parse(time.RFC3339, r.URL.Query().Get("since"))
		out := []map[string]any{}
		for i, c := range is.Comments {
			if !c.At.Before(since) {
				out = append(out, map[string]any{"id": i + 1, "body": c.Body, "created_at": c.At, "updated_at": c.At})
			}
		}
		json.NewEncoder(w).Encode(out)
	case comments && r.Method == http.MethodPost:
		var req struct {
			Body string `json:"body"`
		}
		f.decode(r, body, &req)
		is.Comments = append(is.Comments, fakeComment{Body: req.Body, At: time.Now()})
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%d}`, len(is.Comments))
	case !comments && r.Method == http.MethodPatch:
		var req struct {
			State       string `json:"state"`
			StateReason string `json:"state_reason"`
		}
		f.decode(r, body, &req)
		is.State, is.StateReason = req.State, req.StateReason
		json.NewEncoder(w).Encode(f.wire(is))
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (f *fakeGitHub) wire(is *fakeIssue) map[string]any {
	var labels []map[string]string
	for _, l := range is.Labels {
		labels = append(labels, map[string]string{"name": l})
	}
	m := map[string]any{"number": is.Number, "title": is.Title, "body": is.Body, "state": is.State, "labels": labels}
	if is.PR {
		m["pull_request"] = map[string]string{"url": "x"}
	}
	return m
}

func (f *fakeGitHub) decode(r *http.Request, body []byte, v any) {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("%s %s: Content-Type %q", r.Method, r.URL.Path, ct)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		f.t.Errorf("%s %s: body %s: %v", r.Method, r.URL.Path, body, err)
	}
}

func (f *fakeGitHub) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *fakeGitHub) count(prefix string) int {
	n := 0
	for _, c := range f.calls() {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}
