package slack

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackutilsx"

	"github.com/ripcord/ripcord/internal/notify"
)

// Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
const (
	maxHeader = 150  // header block plain_text
	maxField  = 2000 // one section field
	maxText   = 3000 // top-level text and a section's text
)

// blocks renders the incident's current state: a header with the title and
// a section whose fields are service, severity, status, versions and
// reason, then a context line with the incident ID and report link.
func blocks(m notify.Message) []slack.Block {
	header := slack.NewHeaderBlock(plain(truncate(emoji(m)+" "+title(m), maxHeader)))
	fields := []*slack.TextBlockObject{
		labelled("Service", m.Service),
		labelled("Severity", string(m.Severity)),
		labelled("Status", string(m.Status)),
		labelled("Version", versions(m)),
		labelled("Reason", m.Reason),
	}
	ctx := "Incident `" + esc(m.IncidentID) + "`"
	if m.ReportURL != "" {
		ctx += " · <" + esc(m.ReportURL) + "|report>"
	}
	return []slack.Block{
		header,
		slack.NewSectionBlock(nil, fields, nil),
		slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, ctx, false, false)),
	}
}

// fallback is the plain `text` Slack shows in notifications and to clients
// that cannot render blocks.
func fallback(m notify.Message) string {
	s := fmt.Sprintf("[%s] %s — %s: %s (%s)", m.Severity, title(m), m.Service, m.Status, versions(m))
	return truncate(esc(s), maxText)
}

// reply is the thread message for one timeline step.
func reply(m notify.Message) string {
	e := m.Event
	s := fmt.Sprintf("*%s*", esc(e.Type))
	if e.Actor != "" {
		s += " by " + esc(e.Actor)
	}
	if e.Message != "" {
		s += ": " + esc(e.Message)
	}
	if m.Update == notify.Resolved {
		s = ":white_check_mark: " + s
	}
	return truncate(s, maxText)
}

func title(m notify.Message) string {
	if m.Title != "" {
		return m.Title
	}
	return m.Service + " incident"
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

func emoji(m notify.Message) string {
	if m.Update == notify.Resolved || m.Status == "resolved" {
		return "✅"
	}
	switch m.Severity {
	case "critical":
		return "🔴"
	case "major":
		return "🟠"
	}
	return "🟡"
}

func labelled(name, value string) *slack.TextBlockObject {
	if value == "" {
		value = "–"
	}
	return slack.NewTextBlockObject(slack.MarkdownType, truncate("*"+name+"*\n"+esc(value), maxField), false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

// esc escapes &, < and > so text from the incident cannot inject mentions
// or links into mrkdwn.
func esc(s string) string { return slackutilsx.EscapeMessage(s) }

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
