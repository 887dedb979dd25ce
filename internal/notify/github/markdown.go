package github

import (
	"fmt"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
)

// marker is the invisible tag on a comment naming the update it carries.
func marker(m notify.Message) string {
	return "<!-- ripcord:" + m.IncidentID + " update " + m.UpdateID() + " -->"
}

// text makes user-supplied text safe to embed: "<" is escaped so it can
// neither open an HTML comment (and forge a marker) nor inject tags.
func text(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "<", "&lt;")
}

func code(s string) string { return "`" + strings.ReplaceAll(s, "`", "'") + "`" }

// issueBody is the Markdown description of a new issue.
func issueBody(m notify.Message) string {
	var b strings.Builder
	if m.Reason != "" {
		fmt.Fprintf(&b, "%s\n\n", text(m.Reason))
	}
	item := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "- **%s:** %s\n", k, v)
		}
	}
	item("Incident", code(m.IncidentID))
	item("Service", text(m.Service))
	item("Kind", text(string(m.Kind)))
	item("Severity", text(string(m.Severity)))
	item("Status", text(string(m.Status)))
	item("Versions", versions(m))
	item("Report", text(m.ReportURL))
	if evs := events(m); len(evs) > 0 {
		b.WriteString("\n### Timeline\n\n")
		for _, e := range evs {
			fmt.Fprintf(&b, "- %s\n", eventLine(e))
		}
	}
	fmt.Fprintf(&b, "\n<!-- ripcord:%s -->\n", m.IncidentID)
	return b.String()
}

// commentBody is the Markdown comment for an update, ending in its marker.
func commentBody(m notify.Message) string {
	var b strings.Builder
	head := "Status: " + text(string(m.Status))
	if m.Update == notify.Resolved {
		head = "Resolved"
	}
	fmt.Fprintf(&b, "**%s**\n\n", head)
	switch {
	case m.Event != nil && m.Event.Message != "":
		fmt.Fprintf(&b, "%s\n\n", text(m.Event.Message))
	case m.Update == notify.Resolved:
		b.WriteString("The incident is resolved.\n\n")
	}
	fmt.Fprintf(&b, "- **Severity:** %s\n", text(string(m.Severity)))
	if v := versions(m); v != "" {
		fmt.Fprintf(&b, "- **Versions:** %s\n", v)
	}
	if m.Event != nil {
		fmt.Fprintf(&b, "- %s\n", eventLine(*m.Event))
	}
	if m.ReportURL != "" {
		fmt.Fprintf(&b, "- **Report:** %s\n", text(m.ReportURL))
	}
	fmt.Fprintf(&b, "\n%s\n", marker(m))
	return b.String()
}

func versions(m notify.Message) string {
	switch {
	case m.From != "" && m.To != "":
		return code(m.From) + " → " + code(m.To)
	case m.From != "":
		return code(m.From)
	case m.To != "":
		return code(m.To)
	}
	return ""
}

func events(m notify.Message) []incident.Event {
	if m.Incident != nil && len(m.Incident.Events) > 0 {
		return m.Incident.Events
	}
	if m.Event != nil {
		return []incident.Event{*m.Event}
	}
	return nil
}

func eventLine(e incident.Event) string {
	s := code(e.At.UTC().Format(time.RFC3339)) + " **" + text(e.Type) + "**"
	if e.Actor != "" {
		s += " (" + text(e.Actor) + ")"
	}
	if e.Message != "" {
		s += ": " + strings.ReplaceAll(text(e.Message), "\n", " ")
	}
	return s
}
