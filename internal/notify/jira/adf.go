package jira

import (
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
)

// node is one Atlassian Document Format node. Only the subset ripcord
// writes is modelled: doc, heading, paragraph, bulletList, listItem, text
// (with strong, em and link marks) and hardBreak.
type node struct {
	Type    string         `json:"type"`
	Version int            `json:"version,omitempty"` // doc only: 1
	Attrs   map[string]any `json:"attrs,omitempty"`
	Content []node         `json:"content,omitempty"`
	Text    string         `json:"text,omitempty"`
	Marks   []mark         `json:"marks,omitempty"`
}

type mark struct {
	Type  string         `json:"type"`
	Attrs map[string]any `json:"attrs,omitempty"`
}

func doc(content ...node) node { return node{Type: "doc", Version: 1, Content: content} }

func heading(level int, s string) node {
	return node{Type: "heading", Attrs: map[string]any{"level": level}, Content: lines(s)}
}

func para(inline ...node) node { return node{Type: "paragraph", Content: inline} }

// bullets makes a bulletList with one paragraph per item.
func bullets(items ...node) node {
	l := node{Type: "bulletList"}
	for _, p := range items {
		l.Content = append(l.Content, node{Type: "listItem", Content: []node{p}})
	}
	return l
}

// lines is s as text nodes separated by hardBreaks. ADF forbids empty
// text nodes, so blank input yields a single dash.
func lines(s string, marks ...mark) []node {
	var out []node
	for i, ln := range strings.Split(strings.TrimSpace(s), "\n") {
		if i > 0 {
			out = append(out, node{Type: "hardBreak"})
		}
		if ln = strings.TrimRight(ln, "\r"); ln != "" {
			out = append(out, node{Type: "text", Text: ln, Marks: marks})
		}
	}
	if len(out) == 0 {
		out = []node{{Type: "text", Text: "-", Marks: marks}}
	}
	return out
}

// labelled is a "Label: value" paragraph with the label in bold.
func labelled(label, value string) node {
	return para(append([]node{{Type: "text", Text: label + ": ", Marks: []mark{{Type: "strong"}}}}, lines(value)...)...)
}

func link(label, href string) node {
	return para(
		node{Type: "text", Text: label + ": ", Marks: []mark{{Type: "strong"}}},
		node{Type: "text", Text: href, Marks: []mark{{Type: "link", Attrs: map[string]any{"href": href}}}},
	)
}

// hasText reports whether any text node under n is exactly s.
func (n node) hasText(s string) bool {
	if n.Type == "text" && n.Text == s {
		return true
	}
	for _, c := range n.Content {
		if c.hasText(s) {
			return true
		}
	}
	return false
}

// marker tags a comment with the update it carries, so a repeat finds it.
func marker(m notify.Message) string {
	return "ripcord " + m.IncidentID + " update " + m.UpdateID()
}

// description is the issue body: what happened, the facts, the timeline.
func description(m notify.Message) node {
	title := m.Title
	if title == "" {
		title = m.Service + " incident " + m.IncidentID
	}
	content := []node{heading(2, title)}
	if m.Reason != "" {
		content = append(content, para(lines(m.Reason)...))
	}
	content = append(content, bullets(facts(m)...))
	if tl := timeline(m); len(tl) > 0 {
		content = append(content, heading(3, "Timeline"), bullets(tl...))
	}
	return doc(content...)
}

func facts(m notify.Message) []node {
	out := []node{labelled("Incident", m.IncidentID)}
	if m.Service != "" {
		out = append(out, labelled("Service", m.Service))
	}
	if m.Kind != "" {
		out = append(out, labelled("Kind", string(m.Kind)))
	}
	out = append(out, labelled("Severity", string(m.Severity)), labelled("Status", string(m.Status)))
	if v := versions(m); v != "" {
		out = append(out, labelled("Versions", v))
	}
	if m.ReportURL != "" {
		out = append(out, link("Report", m.ReportURL))
	}
	return out
}

func versions(m notify.Message) string {
	switch {
	case m.From != "" && m.To != "":
		return m.From + " → " + m.To
	case m.From != "":
		return m.From
	}
	return m.To
}

// timeline is the incident's events when the message carries the whole
// incident, else just the event this update is about.
func timeline(m notify.Message) []node {
	var evs []incident.Event
	switch {
	case m.Incident != nil && len(m.Incident.Events) > 0:
		evs = m.Incident.Events
	case m.Event != nil:
		evs = []incident.Event{*m.Event}
	}
	var out []node
	for _, e := range evs {
		out = append(out, eventLine(e))
	}
	return out
}

func eventLine(e incident.Event) node {
	head := e.At.UTC().Format(time.RFC3339) + " " + e.Type
	if e.Actor != "" {
		head += " (" + e.Actor + ")"
	}
	p := para(node{Type: "text", Text: head, Marks: []mark{{Type: "strong"}}})
	if e.Message != "" {
		p.Content = append(p.Content, node{Type: "text", Text: ": "})
		p.Content = append(p.Content, lines(e.Message)...)
	}
	return p
}

// commentDoc is the comment for an update: the news, the facts, the marker.
func commentDoc(m notify.Message) node {
	head := "Status: " + string(m.Status)
	if m.Update == notify.Resolved {
		head = "Resolved"
	}
	content := []node{para(node{Type: "text", Text: head, Marks: []mark{{Type: "strong"}}})}
	if m.Event != nil && m.Event.Message != "" {
		content = append(content, para(lines(m.Event.Message)...))
	} else if m.Update == notify.Resolved {
		content = append(content, para(lines("The incident is resolved.")...))
	}
	items := []node{labelled("Severity", string(m.Severity))}
	if v := versions(m); v != "" {
		items = append(items, labelled("Versions", v))
	}
	if m.Event != nil {
		items = append(items, eventLine(*m.Event))
	}
	if m.ReportURL != "" {
		items = append(items, link("Report", m.ReportURL))
	}
	content = append(content, bullets(items...), para(lines(marker(m), mark{Type: "em"})...))
	return doc(content...)
}
