package email

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// smtpd is a small line-based SMTP receiver on a loopback listener:
// EHLO/HELO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
// Each finished transaction is recorded as a session.
type smtpd struct {
	t  *testing.T
	ln net.Listener

	tls      *tls.Config // offer STARTTLS when set
	user     string      // offer AUTH PLAIN and accept these credentials when set
	password string

	mu       sync.Mutex
	reply    map[string]string // verb (or "EOD" for end of data) → reply to give once
	sessions []*session
	wg       sync.WaitGroup
}

type session struct {
	TLS      bool
	AuthUser string
	From     string
	To       []string
	Data     string // unstuffed, CRLF line ends
	Verbs    []string
	Done     bool // DATA accepted
}

func newSMTPD(t *testing.T, addr string) *smtpd { return newSMTPDOn(t, addr, nil) }

// newSMTPDOn listens with implicit TLS (SMTPS) when implicit is set.
func newSMTPDOn(t *testing.T, addr string, implicit *tls.Config) *smtpd {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if implicit != nil {
		ln = tls.NewListener(ln, implicit)
	}
	s := &smtpd{t: t, ln: ln, reply: map[string]string{}}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

// testTLS returns a server config and a client config trusting it, from
// httptest's certificate (valid for 127.0.0.1 and example.com).
func testTLS(t *testing.T) (server, client *tls.Config) {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	defer ts.Close()
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return &tls.Config{Certificates: ts.TLS.Certificates}, &tls.Config{RootCAs: pool, ServerName: "example.com"}
}

func (s *smtpd) addr() string { return s.ln.Addr().String() }

func (s *smtpd) once(verb, reply string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply[verb] = reply
}

func (s *smtpd) take(verb string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.reply[verb]
	delete(s.reply, verb)
	return r, ok
}

func (s *smtpd) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.serve(c)
		}()
	}
}

func (s *smtpd) done() []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*session
	for _, ss := range s.sessions {
		if ss.Done {
			out = append(out, ss.copy())
		}
	}
	return out
}

func (ss *session) copy() *session {
	c := *ss
	c.To = append([]string(nil), ss.To...)
	c.Verbs = append([]string(nil), ss.Verbs...)
	return &c
}

func (s *smtpd) all() []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*session
	for _, ss := range s.sessions {
		out = append(out, ss.copy())
	}
	return out
}

// set changes a session under the lock, as tests read sessions concurrently.
func (s *smtpd) set(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

func (s *smtpd) serve(c net.Conn) {
	ss := &session{}
	s.mu.Lock()
	s.sessions = append(s.sessions, ss)
	s.mu.Unlock()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(line string) { fmt.Fprintf(w, "%s\r\n", line); w.Flush() }
	say("220 smtpd.test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		s.set(func() { ss.Verbs = append(ss.Verbs, verb) })
		if rep, ok := s.take(verb); ok {
			say(rep)
			if strings.HasPrefix(rep, "421") {
				return
			}
			continue
		}
		switch verb {
		case "EHLO":
			s.ehlo(say, ss)
		case "HELO", "NOOP", "RSET":
			say("250 OK")
		case "STARTTLS":
			if s.tls == nil || ss.TLS {
				say("502 not now")
				continue
			}
			say("220 go ahead")
			tc := tls.Server(c, s.tls)
			if tc.Handshake() != nil {
				return
			}
			c = tc
			s.set(func() { ss.TLS = true })
			r, w = bufio.NewReader(c), bufio.NewWriter(c)
		case "AUTH":
			s.authPlain(say, ss, arg)
		case "MAIL":
			s.set(func() { ss.From = strings.TrimSuffix(strings.TrimPrefix(strings.Fields(arg)[0], "FROM:<"), ">") })
			say("250 sender ok")
		case "RCPT":
			s.set(func() { ss.To = append(ss.To, strings.TrimSuffix(strings.TrimPrefix(arg, "TO:<"), ">")) })
			say("250 recipient ok")
		case "DATA":
			if !s.dataCmd(r, say, ss) {
				return
			}
		case "QUIT":
			say("221 bye")
			return
		default:
			say("500 unknown command")
		}
	}
}

func (s *smtpd) ehlo(say func(string), ss *session) {
	say("250-smtpd.test")
	if s.tls != nil && !ss.TLS {
		say("250-STARTTLS")
	}
	if s.user != "" {
		say("250-AUTH PLAIN")
	}
	say("250 8BITMIME")
}

func (s *smtpd) authPlain(say func(string), ss *session, arg string) {
	mech, b64, _ := strings.Cut(arg, " ")
	raw, err := base64.StdEncoding.DecodeString(b64)
	parts := strings.Split(string(raw), "\x00")
	if mech != "PLAIN" || err != nil || len(parts) != 3 || parts[1] != s.user || parts[2] != s.password {
		say("535 5.7.8 authentication failed for " + arg) // echoes the credentials on purpose
		return
	}
	s.set(func() { ss.AuthUser = parts[1] })
	say("235 2.7.0 authenticated")
}

// dataCmd answers DATA, reads the message and accepts it unless a reply
// for "EOD" (end of data) was set.
func (s *smtpd) dataCmd(r *bufio.Reader, say func(string), ss *session) bool {
	say("354 end with <CRLF>.<CRLF>")
	if !s.data(r, ss) {
		return false
	}
	if rep, ok := s.take("EOD"); ok {
		say(rep)
		return true
	}
	s.set(func() { ss.Done = true })
	say("250 queued")
	return true
}

// data reads the message up to the lone dot, undoing dot-stuffing.
func (s *smtpd) data(r *bufio.Reader, ss *session) bool {
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return false
		}
		if !strings.HasSuffix(line, "\r\n") {
			s.t.Errorf("DATA line without CRLF: %q", line)
		}
		if line == ".\r\n" {
			break
		}
		b.WriteString(strings.TrimPrefix(line, "."))
	}
	s.set(func() { ss.Data = b.String() })
	return true
}
