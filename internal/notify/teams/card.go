package teams

import (
	"fmt"

	"github.com/ripcord/ripcord/internal/notify"
)

// Payload is the message body a Workflows webhook expects: a message with
// one Adaptive Card attachment.
type Payload struct {
	Type        string       `json:"type"` // "message"
	Attachments []Attachment `json:"attachments"`
}

// Attachment wraps one card.
type Attachment struct {
	ContentType string `json:"contentType"` // application/vnd.microsoft.card.adaptive
	ContentURL  any    `json:"contentUrl"`  // always null; Workflows' template expects the key
	Content     Card   `json:"content"`
}

// Card is an Adaptive Card, version 1.4 (what Teams renders).
type Card struct {
	Schema  string    `json:"$schema"`
	Type    string    `json:"type"` // "AdaptiveCard"
	Version string    `json:"version"`
	Body    []Element `json:"body"`
	Actions []Action  `json:"actions,omitempty"`
	MSTeams *MSTeams  `json:"msteams,omitempty"`
}

// Element is a TextBlock or a FactSet.
type Element struct {
	Type     string `json:"type"`
	Text     string `json:"text,omitempty"`
	Size     string `json:"size,omitempty"`
	Weight   string `json:"weight,omitempty"`
	Color    string `json:"color,omitempty"`
	IsSubtle bool   `json:"isSubtle,omitempty"`
	Wrap     bool   `json:"wrap,omitempty"`
	Facts    []Fact `json:"facts,omitempty"`
}

// Fact is one row of a FactSet.
type Fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// Action is an Action.OpenUrl button.
type Action struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// MSTeams holds Teams-only card options.
type MSTeams struct {
	Width string `json:"width"` // "Full" uses the whole message width
}

// NewPayload renders m as a Teams message: a title coloured by severity, a
// subtitle, a FactSet (service, severity, status, versions, reason,
// incident), the timeline step if there is one, and a button to the report.
func NewPayload(m notify.Message) Payload {
	body := []Element{
		{Type: "TextBlock", Text: title(m), Size: "Large", Weight: "Bolder", Color: color(m), Wrap: true},
		{Type: "TextBlock", Text: fmt.Sprintf("%s · incident %s", m.Update, m.Status), IsSubtle: true, Wrap: true},
		{Type: "FactSet", Facts: []Fact{
			{"Service", orDash(m.Service)},
			{"Severity", orDash(string(m.Severity))},
			{"Status", orDash(string(m.Status))},
			{"Version", versions(m)},
			{"Reason", orDash(m.Reason)},
			{"Incident", orDash(m.IncidentID)},
		}},
	}
	if e := m.Event; e != nil {
		text := "**" + e.Type + "**"
		if e.Actor != "" {
			text += " by " + e.Actor
		}
		if e.Message != "" {
			text += ": " + e.Message
		}
		body = append(body, Element{Type: "TextBlock", Text: text, Wrap: true})
	}
	card := Card{
		Schema:  "http://adaptivecards.io/schemas/adaptive-card.json",
		Type:    "AdaptiveCard",
		Version: "1.4",
		Body:    body,
		MSTeams: &MSTeams{Width: "Full"},
	}
	if m.ReportURL != "" {
		card.Actions = []Action{{Type: "Action.OpenUrl", Title: "Open incident report", URL: m.ReportURL}}
	}
	return Payload{Type: "message", Attachments: []Attachment{{
		ContentType: "application/vnd.microsoft.card.adaptive",
		Content:     card,
	}}}
}

func title(m notify.Message) string {
	t := m.Title
	if t == "" {
		t = m.Service + " incident"
	}
	if m.Update == notify.Resolved {
		return "Resolved: " + t
	}
	return t
}

// color maps severity to Adaptive Card text colours; resolved is Good.
func color(m notify.Message) string {
	if m.Update == notify.Resolved || m.Status == "resolved" {
		return "Good"
	}
	switch m.Severity {
	case "critical":
		return "Attention"
	case "major":
		return "Warning"
	}
	return "Default"
}

func versions(m notify.Message) string {
	switch {
	case m.From == "" && m.To == "":
		return "–"
	case m.To == "":
		return m.From
	}
	return m.From + " → " + m.To
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
