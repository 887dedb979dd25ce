package email

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func msg(u notify.Update, st incident.Status, seq int64, event string) notify.Message {
	m := notify.Message{
		Update: u, IncidentID: "INC-0001", Service: "checkout", Kind: incident.KindRollback,
		Severity: incident.Major, Status: st, Title: "checkout v2.4.0 rolled back",
		Reason: "error rate 7.2% > 2% for 3m", From: "v2.4.0", To: "v2.3.9",
		ReportURL: "https://ripcord.example/incidents/INC-0001", At: t0, Seq: seq,
	}
	if event != "" {
		m.Event = &incident.Event{At: t0.Add(2 * time.Minute), Type: incident.EvRollbackDone, Actor: "ripcord", Message: event}
	}
	return m
}

func newNotifier(t *testing.T, cfg Config) *Notifier {
	t.Helper()
	if cfg.From == "" {
		cfg.From = "Ripcord <ripcord@alerts.example.com>"
	}
	if cfg.To == nil {
		cfg.To = []string{"oncall@example.com", "Team Lead <lead@example.com>"}
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// parse reads a received message and decodes its quoted-printable body.
func parse(t *testing.T, data string) (*mail.Message, string) {
	t.Helper()
	pm, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, data)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(pm.Body))
	if err != nil {
		t.Fatal(err)
	}
	return pm, string(b)
}

func TestWireFormatAndThreading(t *testing.T) {
	srv := newSMTPD(t, "127.0.0.1:0")
	n := newNotifier(t, Config{Addr: srv.addr()})
	ctx := context.Background()
	for _, m := range []notify.Message{msg(notify.Opened, incident.Investigating, 1, ""), msg(notify.Updated, incident.Identified, 2, "Rolled back to v2.3.9.")} {
		if err := n.Notify(ctx, m); err != nil {
			t.Fatalf("%s: %v", m.Update, err)
		}
	}
	got := srv.done()
	if len(got) != 2 {
		t.Fatalf("sessions = %d", len(got))
	}
	for _, s := range got {
		if s.From != "ripcord@alerts.example.com" || !slices.Equal(s.To, []string{"oncall@example.com", "lead@example.com"}) {
			t.Errorf("envelope %s → %v", s.From, s.To)
		}
		if !slices.Equal(s.Verbs, []string{"EHLO", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"}) {
			t.Errorf("verbs %v", s.Verbs)
		}
	}
	open, body := parse(t, got[0].Data)
	h := open.Header
	want := map[string]string{
		"From":                      `"Ripcord" <ripcord@alerts.example.com>`,
		"Subject":                   "[ripcord] major checkout v2.4.0 rolled back",
		"Message-Id":                "<ripcord.INC-0001@alerts.example.com>",
		"Mime-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
		"Auto-Submitted":            "auto-generated",
		"X-Ripcord-Incident":        "INC-0001",
		"In-Reply-To":               "",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("Opened %s = %q, want %q", k, got, v)
		}
	}
	if to, _ := h.AddressList("To"); len(to) != 2 || to[1].Address != "lead@example.com" {
		t.Errorf("To = %v", to)
	}
	if d, _ := h.Date(); !d.Equal(t0) {
		t.Errorf("Date = %v", d)
	}
	for _, s := range []string{"Status:    investigating", "Service:   checkout", "Severity:  major", "Versions:  v2.4.0 -> v2.3.9",
		"Reason:    error rate 7.2% > 2% for 3m", "Report: https://ripcord.example/incidents/INC-0001", "ripcord incident INC-0001"} {
		if !strings.Contains(body, s) {
			t.Errorf("Opened body lacks %q:\n%s", s, body)
		}
	}
	upd, body := parse(t, got[1].Data)
	for k, v := range map[string]string{
		"Message-Id": "<ripcord.INC-0001.2@alerts.example.com>", "In-Reply-To": "<ripcord.INC-0001@alerts.example.com>",
		"References": "<ripcord.INC-0001@alerts.example.com>",
	} {
		if got := upd.Header.Get(k); got != v {
			t.Errorf("update %s = %q, want %q", k, got, v)
		}
	}
	for _, s := range []string{"Status:    identified", "Timeline step:\r\n  2026-11-25T12:02:00Z rollback_done by ripcord: Rolled back to v2.3.9."} {
		if !strings.Contains(body, s) {
			t.Errorf("update body lacks %q:\n%q", s, body)
		}
	}
}

// A retried message is byte-identical, so its Message-ID dedups it.
func TestRetryIsIdentical(t *testing.T) {
	srv := newSMTPD(t, "127.0.0.1:0")
	n := newNotifier(t, Config{Addr: srv.addr()})
	m := msg(notify.Updated, incident.Monitoring, 7, "holding")
	for range 2 {
		if err := n.Notify(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	got := srv.done()
	if len(got) != 2 || got[0].Data != got[1].Data {
		t.Fatalf("retry differs:\n%s\n---\n%s", got[0].Data, got[1].Data)
	}
	zero := msg(notify.Updated, incident.Monitoring, 0, "a")
	other := msg(notify.Updated, incident.Monitoring, 0, "b")
	if n.messageID(zero) == n.messageID(other) || n.messageID(zero) != n.messageID(msg(notify.Updated, incident.Monitoring, 0, "a")) {
		t.Error("zero-seq Message-IDs must differ by content and be stable")
	}
}

func TestHeaderInjectionAndEncoding(t *testing.T) {
	srv := newSMTPD(t, "127.0.0.1:0")
	n := newNotifier(t, Config{Addr: srv.addr(), MessageIDDomain: "ids.example.org"})
	m := msg(notify.Opened, incident.Investigating, 1, "")
	m.Title = "bad deploy\r\nBcc: victim@example.net\r\n\r\nhi ünïcode"
	m.IncidentID = "INC 9\r\nX: y"
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	pm, body := parse(t, srv.done()[0].Data)
	if pm.Header.Get("Bcc") != "" || pm.Header.Get("X") != "" {
		t.Fatalf("header injected: %v", pm.Header)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
	if err != nil || subj != "[ripcord] major bad deploy Bcc: victim@example.net hi ünïcode" {
		t.Errorf("subject %q %v", subj, err)
	}
	if id := pm.Header.Get("Message-Id"); id != "<ripcord.INC_9__X__y@ids.example.org>" {
		t.Errorf("Message-ID %q", id)
	}
	if !strings.Contains(body, "hi ünïcode") {
		t.Errorf("body %q", body)
	}
}

func TestDotStuffing(t *testing.T) {
	srv := newSMTPD(t, "127.0.0.1:0")
	n := newNotifier(t, Config{Addr: srv.addr()})
	m := msg(notify.Updated, incident.Identified, 2, "")
	m.Reason = "line one\n.\n.leading dot"
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if _, body := parse(t, srv.done()[0].Data); !strings.Contains(body, "line one\r\n.\r\n.leading dot") {
		t.Errorf("body %q", body)
	}
}

func TestStartTLSAndAuth(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	srv := newSMTPD(t, "127.0.0.2:0") // not "localhost" to net/smtp: AUTH needs TLS
	srv.tls, srv.user, srv.password = srvTLS, "bot", testPassword
	n := newNotifier(t, Config{Addr: srv.addr(), Username: "bot", Password: testPassword, TLSConfig: cliTLS})
	if err := n.Notify(context.Background(), msg(notify.Opened, incident.Investigating, 1, "")); err != nil {
		t.Fatal(err)
	}
	s := srv.done()[0]
	if !s.TLS || s.AuthUser != "bot" || !slices.Equal(s.Verbs, []string{"EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"}) {
		t.Errorf("session %+v", s)
	}
}

func TestImplicitTLS(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	srv := newSMTPDOn(t, "127.0.0.1:0", srvTLS)
	srv.user, srv.password = "bot", testPassword
	n := newNotifier(t, Config{Addr: srv.addr(), TLS: TLSImplicit, TLSConfig: cliTLS, Username: "bot", Password: testPassword})
	if err := n.Notify(context.Background(), msg(notify.Opened, incident.Investigating, 1, "")); err != nil {
		t.Fatal(err)
	}
	if s := srv.done(); len(s) != 1 || s[0].AuthUser != "bot" {
		t.Errorf("sessions %+v", s)
	}
}

func TestNoPlainAuthInClear(t *testing.T) {
	srv := newSMTPD(t, "127.0.0.2:0")
	srv.user, srv.password = "bot", testPassword
	err := newNotifier(t, Config{Addr: srv.addr(), Username: "bot", Password: testPassword}).
		Notify(context.Background(), msg(notify.Opened, incident.Investigating, 1, ""))
	if ok, _ := notify.IsRetryable(err); err == nil || ok || !strings.Contains(err.Error(), "unencrypted") {
		t.Fatalf("err = %v, want permanent refusal", err)
	}
	for _, s := range srv.all() {
		if slices.Contains(s.Verbs, "AUTH") {
			t.Error("credentials were sent in clear")
		}
	}
	// To loopback by name, net/smtp allows it.
	srv2 := newSMTPD(t, "127.0.0.1:0")
	srv2.user, srv2.password = "bot", testPassword
	if err := newNotifier(t, Config{Addr: srv2.addr(), Username: "bot", Password: testPassword}).
		Notify(context.Background(), msg(notify.Opened, incident.Investigating, 1, "")); err != nil {
		t.Fatal(err)
	}
}

func TestRequireStartTLS(t *testing.T) {
	srv := newSMTPD(t, "127.0.0.1:0")
	err := newNotifier(t, Config{Addr: srv.addr(), TLS: TLSRequireStartTLS}).Notify(context.Background(), msg(notify.Opened, incident.Investigating, 1, ""))
	if ok, _ := notify.IsRetryable(err); err == nil || ok {
		t.Fatalf("err = %v, want permanent", err)
	}
	if len(srv.done()) != 0 {
		t.Error("sent without TLS")
	}
}

func TestUntrustedCertificateIsPermanent(t *testing.T) {
	srvTLS, _ := testTLS(t)
	srv := newSMTPD(t, "127.0.0.1:0")
	srv.tls = srvTLS
	err := newNotifier(t, Config{Addr: srv.addr()}).Notify(context.Background(), msg(notify.Opened, incident.Investigating, 1, ""))
	if ok, _ := notify.IsRetryable(err); err == nil || ok || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want permanent STARTTLS failure", err)
	}
}

func TestRetryClassification(t *testing.T) {
	cases := []struct {
		verb, reply string
		retryable   bool
	}{
		{"RCPT", "450 4.2.1 mailbox busy", true},
		{"RCPT", "550 5.1.1 no such user", false},
		{"MAIL", "452 4.3.1 insufficient storage", true},
		{"EOD", "451 4.3.0 try later", true},
		{"EOD", "554 5.7.1 rejected as spam", false},
		{"DATA", "421 4.3.2 shutting down", true},
	}
	for _, c := range cases {
		srv := newSMTPD(t, "127.0.0.1:0")
		srv.once(c.verb, c.reply)
		err := newNotifier(t, Config{Addr: srv.addr()}).Notify(context.Background(), msg(notify.Opened, incident.Investigating, 1, ""))
		if ok, _ := notify.IsRetryable(err); err == nil || ok != c.retryable || !strings.Contains(err.Error(), c.reply[4:]) {
			t.Errorf("%s %q: err = %v retryable %v, want %v", c.verb, c.reply, err, ok, c.retryable)
		}
		if len(srv.done()) != 0 {
			t.Errorf("%s %q: a mail was accepted", c.verb, c.reply)
		}
		if c.verb == "RCPT" && slices.Contains(srv.all()[0].Verbs, "DATA") {
			t.Errorf("%s: DATA sent after a refused recipient", c.reply)
		}
	}
}

func TestNetworkFailuresAreRetryable(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	err := newNotifier(t, Config{Addr: addr}).Notify(context.Background(), msg(notify.Opened, incident.Investigating, 1, ""))
	if ok, _ := notify.IsRetryable(err); !ok {
		t.Errorf("refused: err = %v, want retryable", err)
	}
	// A server that accepts and never greets: ctx's deadline ends the wait
	// (the error is that deadline, as the context's or as the connection's
	// deadline set from it), and the client hangs up rather than leaving
	// the connection open (the server reads EOF).
	stall, _ := net.Listen("tcp", "127.0.0.1:0")
	defer stall.Close()
	hungUp := make(chan error, 1)
	go func() {
		c, err := stall.Accept()
		if err != nil {
			hungUp <- err
			return
		}
		defer c.Close()
		_, err = io.Copy(io.Discard, c)
		hungUp <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	err = newNotifier(t, Config{Addr: stall.Addr().String()}).Notify(ctx, msg(notify.Opened, incident.Investigating, 1, ""))
	ended := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
	if ok, _ := notify.IsRetryable(err); !ok || !ended {
		t.Errorf("stalled server: err = %v, want a retryable error ended by the context", err)
	}
	select {
	case err := <-hungUp:
		if err != nil {
			t.Errorf("the server saw %v, want the client to close the connection", err)
		}
	case <-time.After(time.Minute): // a hang guard, not a speed check
		t.Error("the client kept the stalled connection open")
	}
}
