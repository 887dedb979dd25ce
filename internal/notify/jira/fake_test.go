package jira

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

const (
	testEmail = "bot@example.com"
	testToken = "jira-SECRET-token-abcdef"
)

// fakeJira implements the slice of Jira Cloud REST v3 that ripcord uses,
// statefully, and fails the test on requests that break the wire format.
type fakeJira struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	issues   []*fakeIssue
	requests []string // "METHOD path"
	loseNext string   // "METHOD path": apply it, then answer 502
}

type fakeIssue struct {
	Key, Project, Type, Summary, Status string
	Labels                              []string
	Description                         json.RawMessage
	Comments                            []json.RawMessage // oldest first
}

func newFake(t *testing.T) *fakeJira {
	f := &fakeJira{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeJira) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(testEmail+":"+testToken))
	if got := r.Header.Get("Authorization"); got != want {
		f.t.Errorf("%s %s: Authorization = %q", r.Method, r.URL.Path, got)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodPost && r.Header.Get("Content-Type") != "application/json" {
		f.t.Errorf("%s %s: Content-Type = %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	call := r.Method + " " + r.URL.Path
	f.requests = append(f.requests, call)
	rw := w
	if call == f.loseNext {
		f.loseNext = ""
		rw = httptest.NewRecorder() // applied, but the answer goes nowhere
		defer w.WriteHeader(http.StatusBadGateway)
	}
	f.route(rw, r)
}

var issueRE = regexp.MustCompile(`^/rest/api/3/issue/([A-Z]+-\d+)(/comment|/transitions)?$`)

func (f *fakeJira) route(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/rest/api/3/search/jql" && r.Method == http.MethodPost:
		f.search(w, r)
	case p == "/rest/api/3/issue" && r.Method == http.MethodPost:
		f.create(w, r)
	case issueRE.MatchString(p):
		sm := issueRE.FindStringSubmatch(p)
		iss := f.byKey(sm[1])
		if iss == nil {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		f.issueCall(w, r, iss, sm[2])
	default:
		f.t.Errorf("unexpected %s %s", r.Method, p)
		w.WriteHeader(http.StatusNotFound)
	}
}

var jqlRE = regexp.MustCompile(`^project = "([^"]+)" AND labels = "([^"]+)" ORDER BY created ASC$`)

func (f *fakeJira) search(w http.ResponseWriter, r *http.Request) {
	var req struct {
		JQL        string   `json:"jql"`
		Fields     []string `json:"fields"`
		MaxResults int      `json:"maxResults"`
	}
	f.decode(r, &req)
	m := jqlRE.FindStringSubmatch(req.JQL)
	if m == nil {
		f.t.Errorf("jql %q", req.JQL)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var out []map[string]any
	for _, iss := range f.issues {
		if iss.Project == m[1] && slices.Contains(iss.Labels, m[2]) && len(out) < max(req.MaxResults, 1) {
			out = append(out, map[string]any{"id": iss.Key, "key": iss.Key})
		}
	}
	json.NewEncoder(w).Encode(map[string]any{"issues": out, "isLast": true})
}

func (f *fakeJira) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Fields struct {
			Project     struct{ Key string }  `json:"project"`
			IssueType   struct{ Name string } `json:"issuetype"`
			Summary     string                `json:"summary"`
			Labels      []string              `json:"labels"`
			Description json.RawMessage       `json:"description"`
		} `json:"fields"`
	}
	f.decode(r, &req)
	fl := req.Fields
	validateADF(f.t, "description", fl.Description)
	iss := &fakeIssue{
		Key: fmt.Sprintf("%s-%d", fl.Project.Key, len(f.issues)+1), Project: fl.Project.Key, Type: fl.IssueType.Name,
		Summary: fl.Summary, Status: "To Do", Labels: fl.Labels, Description: fl.Description,
	}
	f.issues = append(f.issues, iss)
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]string{"id": "100", "key": iss.Key, "self": f.srv.URL + "/rest/api/3/issue/100"})
}

func (f *fakeJira) issueCall(w http.ResponseWriter, r *http.Request, iss *fakeIssue, sub string) {
	switch {
	case sub == "/comment" && r.Method == http.MethodGet:
		if r.URL.Query().Get("orderBy") != "-created" {
			f.t.Errorf("comment list orderBy = %q", r.URL.Query().Get("orderBy"))
		}
		var cs []map[string]any
		for i := len(iss.Comments) - 1; i >= 0; i-- {
			cs = append(cs, map[string]any{"id": fmt.Sprint(i), "body": iss.Comments[i]})
		}
		json.NewEncoder(w).Encode(map[string]any{"comments": cs, "total": len(cs), "startAt": 0})
	case sub == "/comment" && r.Method == http.MethodPost:
		var req struct {
			Body json.RawMessage `json:"body"`
		}
		f.decode(r, &req)
		validateADF(f.t, "comment", req.Body)
		iss.Comments = append(iss.Comments, req.Body)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"9"}`)
	case sub == "/transitions" && r.Method == http.MethodGet:
		json.NewEncoder(w).Encode(map[string]any{"transitions": offered(iss.Status)})
	case sub == "/transitions" && r.Method == http.MethodPost:
		var req struct {
			Transition struct{ ID string } `json:"transition"`
		}
		f.decode(r, &req)
		for _, t := range offered(iss.Status) {
			if t["id"] == req.Transition.ID {
				iss.Status = t["to"].(map[string]string)["name"]
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		w.WriteHeader(http.StatusBadRequest)
	case sub == "" && r.Method == http.MethodGet:
		cat := map[bool]string{true: "done", false: "new"}[iss.Status == "Done"]
		json.NewEncoder(w).Encode(map[string]any{"key": iss.Key, "fields": map[string]any{
			"status": map[string]any{"name": iss.Status, "statusCategory": map[string]string{"key": cat}}}})
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// offered is a small workflow: To Do → In Progress → Done → (Reopen) To Do.
func offered(status string) []map[string]any {
	tr := func(id, name, to string) map[string]any {
		return map[string]any{"id": id, "name": name, "to": map[string]string{"name": to}}
	}
	if status == "Done" {
		return []map[string]any{tr("41", "Reopen", "To Do")}
	}
	return []map[string]any{tr("11", "Start progress", "In Progress"), tr("31", "Close issue", "Done")}
}

func (f *fakeJira) decode(r *http.Request, v any) {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		f.t.Errorf("%s %s: body: %v", r.Method, r.URL.Path, err)
	}
}

func (f *fakeJira) byKey(key string) *fakeIssue {
	for _, iss := range f.issues {
		if iss.Key == key {
			return iss
		}
	}
	return nil
}

func (f *fakeJira) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *fakeJira) count(call string) int {
	n := 0
	for _, c := range f.calls() {
		if strings.HasPrefix(c, call) {
			n++
		}
	}
	return n
}
