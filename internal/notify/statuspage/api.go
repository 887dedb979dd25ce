package statuspage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
)

// incidentReq is the body of create and update: {"incident": {...}}.
type incidentReq struct {
	Incident incidentFields `json:"incident"`
}

type incidentFields struct {
	Name         string            `json:"name,omitempty"`
	Status       string            `json:"status"`
	Body         string            `json:"body,omitempty"`
	ComponentIDs []string          `json:"component_ids,omitempty"`
	Components   map[string]string `json:"components,omitempty"`
	Metadata     map[string]any    `json:"metadata,omitempty"`
}

// incidentResp is the part of a Statuspage Incident that ripcord reads.
type incidentResp struct {
	ID              string           `json:"id"`
	Name            string           `json:"name"`
	Status          string           `json:"status"`
	Metadata        json.RawMessage  `json:"metadata"`
	IncidentUpdates []incidentUpdate `json:"incident_updates"`
}

type incidentUpdate struct {
	Status    string    `json:"status"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// latest is the newest incident update. Statuspage lists them newest first;
// created_at decides when the order is not that.
func (inc *incidentResp) latest() (incidentUpdate, bool) {
	if len(inc.IncidentUpdates) == 0 {
		return incidentUpdate{}, false
	}
	best := inc.IncidentUpdates[0]
	for _, u := range inc.IncidentUpdates[1:] {
		if u.CreatedAt.After(best.CreatedAt) {
			best = u
		}
	}
	return best, true
}

// marker is the fallback tag in the first update's body.
func marker(incidentID string) string { return "[ripcord " + incidentID + "]" }

// metadata tags a created incident so find recognises it: the incident ID,
// and since installation ids the scoped key (see ours).
func metadata(m notify.Message) map[string]any {
	md := map[string]string{"incident_id": m.IncidentID}
	if m.Installation != "" {
		md["key"] = m.ScopedID()
	}
	return map[string]any{"ripcord": md}
}

// ours reports whether inc was created for scopedID (Message.ScopedID):
// metadata written since installation ids carries it as key; older
// metadata only the bare incident ID, which is then what scopedID is.
func (inc *incidentResp) ours(scopedID string) bool {
	incidentID := scopedID
	var md struct {
		Ripcord struct {
			IncidentID string `json:"incident_id"`
			Key        string `json:"key"`
		} `json:"ripcord"`
	}
	if len(inc.Metadata) > 0 && json.Unmarshal(inc.Metadata, &md) == nil && md.Ripcord.IncidentID != "" {
		if md.Ripcord.Key != "" {
			return md.Ripcord.Key == scopedID
		}
		return md.Ripcord.IncidentID == scopedID
	}
	mk := marker(incidentID)
	if strings.Contains(inc.Name, mk) {
		return true
	}
	for _, u := range inc.IncidentUpdates {
		if strings.Contains(u.Body, mk) {
			return true
		}
	}
	return false
}

// maxListPages bounds the unresolved-incident scan (100 per page).
const maxListPages = 5

// find looks upstream for the incident created for incidentID: first among
// the unresolved ones, then by a text search that also covers resolved ones.
func (n *Notifier) find(ctx context.Context, incidentID string) (string, error) {
	for page := 1; page <= maxListPages; page++ {
		var list []incidentResp
		q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {"100"}}
		if err := n.do(ctx, http.MethodGet, n.incidentsPath()+"/unresolved", q, nil, &list, "statuspage list unresolved incidents"); err != nil {
			return "", err
		}
		for i := range list {
			if list[i].ours(incidentID) {
				return list[i].ID, nil
			}
		}
		if len(list) < 100 {
			break
		}
	}
	var found []incidentResp
	q := url.Values{"q": {incidentID}, "limit": {"100"}}
	if err := n.do(ctx, http.MethodGet, n.incidentsPath(), q, nil, &found, "statuspage search incidents"); err != nil {
		return "", err
	}
	for i := range found {
		if found[i].ours(incidentID) {
			return found[i].ID, nil
		}
	}
	return "", nil
}

func (n *Notifier) create(ctx context.Context, m notify.Message) (string, error) {
	f := n.fields(m)
	f.Name = truncate(m.Title, 255)
	if f.Name == "" {
		f.Name = truncate(m.Service+" incident "+m.IncidentID, 255)
	}
	f.Metadata = metadata(m)
	var out incidentResp
	if err := n.do(ctx, http.MethodPost, n.incidentsPath(), nil, incidentReq{f}, &out, "statuspage create incident"); err != nil {
		return "", err
	}
	if out.ID == "" {
		// Created, probably: a retry finds it by its marker.
		return "", notify.Retryable(errors.New("statuspage create incident: response has no incident id"), 0)
	}
	return out.ID, nil
}

// update PATCHes the incident unless its latest update already says the
// same, or someone resolved it and m would reopen it.
func (n *Notifier) update(ctx context.Context, id string, m notify.Message) error {
	f := n.fields(m)
	var cur incidentResp
	if err := n.do(ctx, http.MethodGet, n.incidentPath(id), nil, nil, &cur, "statuspage get incident"); err != nil {
		return err
	}
	if last, ok := cur.latest(); ok && last.Status == f.Status && last.Body == f.Body {
		return nil
	}
	if (cur.Status == "resolved" || cur.Status == "postmortem") && f.Status != "resolved" {
		return nil
	}
	return n.do(ctx, http.MethodPatch, n.incidentPath(id), nil, incidentReq{f}, nil, "statuspage update incident")
}

// fields are the status, body and component change m asks for.
func (n *Notifier) fields(m notify.Message) incidentFields {
	f := incidentFields{Status: status(m), Body: body(m)}
	if n.cfg.ComponentID != "" {
		f.ComponentIDs = []string{n.cfg.ComponentID}
		f.Components = map[string]string{n.cfg.ComponentID: componentStatus(m)}
	}
	return f
}

func status(m notify.Message) string {
	if m.Update == notify.Resolved {
		return string(incident.Resolved)
	}
	if _, err := incident.ParseStatus(string(m.Status)); err == nil {
		return string(m.Status)
	}
	return string(incident.Investigating)
}

func componentStatus(m notify.Message) string {
	if status(m) == string(incident.Resolved) {
		return "operational"
	}
	switch m.Severity {
	case incident.Critical:
		return "major_outage"
	case incident.Major:
		return "partial_outage"
	default:
		return "degraded_performance"
	}
}

// body is the text of the incident update Statuspage publishes.
func body(m notify.Message) string {
	var parts []string
	if m.Update == notify.Opened && m.Reason != "" {
		parts = append(parts, m.Reason)
	}
	switch {
	case m.Event != nil && m.Event.Message != "" && m.Event.Message != m.Reason:
		parts = append(parts, m.Event.Message)
	case m.Update == notify.Resolved:
		parts = append(parts, "This incident has been resolved.")
	case m.Update == notify.Updated:
		parts = append(parts, "Status: "+status(m)+".")
	}
	if m.Update == notify.Opened {
		if m.From != "" && m.To != "" {
			parts = append(parts, fmt.Sprintf("Rolled back from %s to %s.", m.From, m.To))
		}
		parts = append(parts, marker(m.ScopedID()))
	}
	return truncate(strings.Join(parts, "\n\n"), 25000)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func (n *Notifier) incidentsPath() string {
	return "/pages/" + url.PathEscape(n.cfg.PageID) + "/incidents"
}

func (n *Notifier) incidentPath(id string) string {
	return n.incidentsPath() + "/" + url.PathEscape(id)
}

// do sends one rate-limited request and decodes a 2xx JSON answer into out.
// what names the call in errors; it never holds the key.
func (n *Notifier) do(ctx context.Context, method, path string, q url.Values, in, out any, what string) error {
	return notify.JSONCall{Method: method, URL: n.base + path, Query: q, In: in, Out: out, What: what,
		Prepare: func(req *http.Request) error {
			req.Header.Set("Authorization", "OAuth "+n.cfg.APIKey.Reveal())
			if err := n.limiter.Wait(req.Context()); err != nil {
				return notify.Retryable(fmt.Errorf("%s: waiting for the rate limiter: %w", what, err), 0)
			}
			return nil
		},
		Check: func(resp *http.Response, body []byte) error { return n.check(resp, what, body) },
	}.Do(ctx, n.client)
}

// check classifies a response with notify.CheckResponse, plus Statuspage's
// 420 (its other rate-limit answer) as retryable. The key is scrubbed from
// the body in case a server echoes the request.
func (n *Notifier) check(resp *http.Response, what string, body []byte) error {
	body = bytes.ReplaceAll(body, []byte(n.cfg.APIKey.Reveal()), []byte("<redacted>"))
	err := notify.CheckResponse(resp, what, body)
	if err != nil && resp.StatusCode == 420 {
		return notify.Retryable(err, notify.RetryAfter(resp.Header.Get("Retry-After"), timeNow()))
	}
	return err
}
