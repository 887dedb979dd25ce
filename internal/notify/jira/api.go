package jira

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ripcord/ripcord/internal/notify"
)

// jqlString quotes s as a JQL string literal.
func jqlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// search returns the key of the oldest issue labelled for incidentID.
func (n *Notifier) search(ctx context.Context, incidentID string) (string, error) {
	req := map[string]any{
		"jql":        "project = " + jqlString(n.cfg.Project) + " AND labels = " + jqlString(label(incidentID)) + " ORDER BY created ASC",
		"fields":     []string{"summary"},
		"maxResults": 1,
	}
	var resp struct {
		Issues []struct {
			Key string `json:"key"`
		} `json:"issues"`
	}
	if err := n.do(ctx, http.MethodPost, "/rest/api/3/search/jql", nil, req, &resp, "jira search issues"); err != nil {
		return "", err
	}
	if len(resp.Issues) == 0 {
		return "", nil
	}
	return resp.Issues[0].Key, nil
}

func (n *Notifier) create(ctx context.Context, m notify.Message) (string, error) {
	summary := "[ripcord] " + m.Title
	if m.Title == "" {
		summary = "[ripcord] " + m.Service + " " + m.IncidentID
	}
	req := map[string]any{"fields": map[string]any{
		"project":     map[string]string{"key": n.cfg.Project},
		"issuetype":   map[string]string{"name": n.cfg.IssueType},
		"summary":     truncate(summary, 255),
		"labels":      []string{"ripcord", label(m.ScopedID())},
		"description": description(m),
	}}
	var resp struct {
		Key string `json:"key"`
	}
	if err := n.do(ctx, http.MethodPost, "/rest/api/3/issue", nil, req, &resp, "jira create issue"); err != nil {
		return "", err
	}
	if resp.Key == "" {
		return "", notify.Retryable(errors.New("jira create issue: response has no issue key"), 0)
	}
	return resp.Key, nil
}

// maxCommentsScanned bounds the look-back for an already-posted comment.
const maxCommentsScanned = 100

// comment posts m as a comment unless one of the newest comments already
// carries its marker.
func (n *Notifier) comment(ctx context.Context, key string, m notify.Message) error {
	mk := marker(m)
	var list struct {
		Comments []struct {
			Body node `json:"body"`
		} `json:"comments"`
	}
	q := url.Values{"orderBy": {"-created"}, "maxResults": {fmt.Sprint(maxCommentsScanned)}}
	if err := n.do(ctx, http.MethodGet, issuePath(key)+"/comment", q, nil, &list, "jira list comments"); err != nil {
		return err
	}
	for _, c := range list.Comments {
		if c.Body.hasText(mk) {
			return nil
		}
	}
	return n.do(ctx, http.MethodPost, issuePath(key)+"/comment", nil, map[string]any{"body": commentDoc(m)}, nil, "jira add comment")
}

type transitionInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	To   struct {
		Name string `json:"name"`
	} `json:"to"`
}

// transition applies Config.ResolveTransition; see the package doc.
func (n *Notifier) transition(ctx context.Context, key string) error {
	var offered struct {
		Transitions []transitionInfo `json:"transitions"`
	}
	if err := n.do(ctx, http.MethodGet, issuePath(key)+"/transitions", nil, nil, &offered, "jira list transitions"); err != nil {
		return err
	}
	want := n.cfg.ResolveTransition
	var names []string
	for _, t := range offered.Transitions {
		if strings.EqualFold(t.Name, want) || strings.EqualFold(t.To.Name, want) {
			body := map[string]any{"transition": map[string]string{"id": t.ID}}
			return n.do(ctx, http.MethodPost, issuePath(key)+"/transitions", nil, body, nil, "jira transition issue")
		}
		names = append(names, t.Name)
	}
	var issue struct {
		Fields struct {
			Status struct {
				Name           string `json:"name"`
				StatusCategory struct {
					Key string `json:"key"`
				} `json:"statusCategory"`
			} `json:"status"`
		} `json:"fields"`
	}
	q := url.Values{"fields": {"status"}}
	if err := n.do(ctx, http.MethodGet, issuePath(key), q, nil, &issue, "jira get issue"); err != nil {
		return err
	}
	if issue.Fields.Status.StatusCategory.Key == "done" {
		return nil // already resolved, by an earlier attempt or a person
	}
	return fmt.Errorf("jira: transition %q is not offered for %s in status %q; offered: %s",
		want, key, issue.Fields.Status.Name, strings.Join(names, ", "))
}

func issuePath(key string) string { return "/rest/api/3/issue/" + url.PathEscape(key) }

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// do sends one request and decodes a 2xx JSON answer into out. what names
// the call in errors; it never holds a secret.
func (n *Notifier) do(ctx context.Context, method, path string, q url.Values, in, out any, what string) error {
	return notify.JSONCall{Method: method, URL: n.base + path, Query: q, In: in, Out: out, What: what,
		Prepare: func(req *http.Request) error { req.Header.Set("Authorization", n.auth); return nil },
		Check:   func(resp *http.Response, body []byte) error { return notify.CheckResponse(resp, what, n.scrub(body)) },
	}.Do(ctx, n.client)
}

// scrub replaces the token and the encoded credentials in a response body,
// in case a server or proxy echoes the request back.
func (n *Notifier) scrub(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte(strings.TrimPrefix(n.auth, "Basic ")), []byte("<redacted>"))
	return bytes.ReplaceAll(b, []byte(n.cfg.APIToken.Reveal()), []byte("<redacted>"))
}
