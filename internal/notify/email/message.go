package email

import (
	"bytes"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/notify"
)

// render builds the whole RFC 5322 message with CRLF line ends.
func (n *Notifier) render(m notify.Message) []byte {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", n.from.String())
	h("To", joinAddrs(n.to))
	h("Subject", mime.QEncoding.Encode("utf-8", subject(m)))
	h("Date", date(m).Format(time.RFC1123Z))
	h("Message-ID", n.messageID(m))
	if m.Update != notify.Opened {
		root := n.rootID(m.ScopedID())
		h("In-Reply-To", root)
		h("References", root)
	}
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies
	h("X-Ripcord-Incident", atext(m.IncidentID, ""))
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(body(m)))
	qp.Close()
	return b.Bytes()
}

// joinAddrs folds one address per line so long lists stay under the line
// limit.
func joinAddrs(as []*mail.Address) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ",\r\n ")
}

// oneLine keeps header text on one line: CR and LF would start new headers.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func subject(m notify.Message) string {
	title := m.Title
	if title == "" {
		title = m.Service + " incident " + m.IncidentID
	}
	s := oneLine("[ripcord] " + string(m.Severity) + " " + title)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}

// date is the message's own time, so a retried message is byte-identical.
func date(m notify.Message) time.Time {
	if m.At.IsZero() {
		return time.Now()
	}
	return m.At
}

// rootID is the Opened mail's Message-ID, the incident's thread root.
func (n *Notifier) rootID(incidentID string) string {
	return "<ripcord." + atext(incidentID, "") + "@" + n.domain + ">"
}

// messageID is stable per (incident, update): see the package doc.
func (n *Notifier) messageID(m notify.Message) string {
	if m.Update == notify.Opened {
		return n.rootID(m.ScopedID())
	}
	return "<ripcord." + atext(m.ScopedID(), "") + "." + m.UpdateID() + "@" + n.domain + ">"
}

// atext keeps the characters RFC 5322 allows in a Message-ID part (plus
// extra), replacing others with "_".
func atext(s, extra string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r), strings.ContainsRune(extra, r):
			return r
		}
		return '_'
	}, s)
}

// body is the text/plain part.
func body(m notify.Message) string {
	var b strings.Builder
	title := m.Title
	if title == "" {
		title = m.Service + " incident " + m.IncidentID
	}
	fmt.Fprintf(&b, "%s\n\n", title)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-10s %s\n", k+":", v)
		}
	}
	row("Update", string(m.Update))
	row("Status", string(m.Status))
	row("Service", m.Service)
	row("Severity", string(m.Severity))
	row("Kind", string(m.Kind))
	switch {
	case m.From != "" && m.To != "":
		row("Versions", m.From+" -> "+m.To)
	default:
		row("Versions", m.From+m.To)
	}
	row("Reason", m.Reason)
	if e := m.Event; e != nil {
		fmt.Fprintf(&b, "\nTimeline step:\n  %s %s", e.At.UTC().Format(time.RFC3339), e.Type)
		if e.Actor != "" {
			fmt.Fprintf(&b, " by %s", e.Actor)
		}
		if e.Message != "" {
			fmt.Fprintf(&b, ": %s", e.Message)
		}
		b.WriteString("\n")
	}
	if m.ReportURL != "" {
		fmt.Fprintf(&b, "\nReport: %s\n", m.ReportURL)
	}
	fmt.Fprintf(&b, "\n-- \nripcord incident %s\n", m.IncidentID)
	return b.String()
}
