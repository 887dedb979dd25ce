package email

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"

	"github.com/ripcord/ripcord/internal/notify"
)

// Notify mails m to every recipient.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) error {
	if m.IncidentID == "" {
		return errors.New("email: message has no incident id")
	}
	return n.send(ctx, n.render(m))
}

// send runs one SMTP conversation, bounded by Config.Timeout and ctx.
func (n *Notifier) send(ctx context.Context, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	conn, err := n.dial(ctx)
	if err != nil {
		return n.classify(ctx, "connect", err)
	}
	// Closing the connection is what interrupts a blocked read when ctx
	// ends; the deadline covers the same for servers that stall.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, n.host)
	if err != nil {
		conn.Close()
		return n.classify(ctx, "greeting", err)
	}
	defer c.Close()
	return n.transact(ctx, c, msg)
}

func (n *Notifier) dial(ctx context.Context) (net.Conn, error) {
	if n.cfg.TLS == TLSImplicit {
		d := &tls.Dialer{Config: n.tlsConfig()}
		return d.DialContext(ctx, "tcp", n.cfg.Addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", n.cfg.Addr)
}

func (n *Notifier) tlsConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if n.cfg.TLSConfig != nil {
		cfg = n.cfg.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = n.host
	}
	return cfg
}

// transact is EHLO, STARTTLS, AUTH, MAIL, RCPT…, DATA, QUIT.
func (n *Notifier) transact(ctx context.Context, c *smtp.Client, msg []byte) error {
	if err := c.Hello(n.cfg.HelloName); err != nil {
		return n.classify(ctx, "EHLO", err)
	}
	if err := n.startTLS(ctx, c); err != nil {
		return err
	}
	if err := n.auth(ctx, c); err != nil {
		return err
	}
	if err := c.Mail(n.from.Address); err != nil {
		return n.classify(ctx, "MAIL FROM", err)
	}
	for _, a := range n.to {
		if err := c.Rcpt(a.Address); err != nil {
			c.Reset() // all or nothing: no DATA for the others
			return n.classify(ctx, "RCPT TO <"+a.Address+">", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return n.classify(ctx, "DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return n.classify(ctx, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return n.classify(ctx, "end of DATA", err)
	}
	c.Quit() // the server took the mail; a failed QUIT changes nothing
	return nil
}

func (n *Notifier) startTLS(ctx context.Context, c *smtp.Client) error {
	if n.cfg.TLS != TLSStartTLS && n.cfg.TLS != TLSRequireStartTLS {
		return nil
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		if n.cfg.TLS == TLSRequireStartTLS {
			return errors.New("email: the server does not offer STARTTLS and tls is require_starttls")
		}
		return nil
	}
	if err := c.StartTLS(n.tlsConfig()); err != nil {
		return n.classify(ctx, "STARTTLS", err)
	}
	return nil
}

// auth runs AUTH PLAIN when a username is configured. net/smtp refuses it
// on a clear-text connection to anything but localhost, before sending.
func (n *Notifier) auth(ctx context.Context, c *smtp.Client) error {
	if n.cfg.Username == "" {
		return nil
	}
	if ok, _ := c.Extension("AUTH"); !ok {
		return errors.New("email: a username is configured but the server does not offer AUTH")
	}
	err := c.Auth(smtp.PlainAuth("", n.cfg.Username, n.cfg.Password.Reveal(), n.host))
	if err != nil {
		return n.classify(ctx, "AUTH", err)
	}
	return nil
}

// classify maps an SMTP conversation error to notify's retry classes: a
// 4xx reply is retryable, a 5xx permanent; network trouble and ctx ending
// are retryable; everything else (TLS verification, refused clear-text
// AUTH, protocol errors) is permanent. Server text is scrubbed of the
// password and the encoded credentials.
func (n *Notifier) classify(ctx context.Context, step string, err error) error {
	var tp *textproto.Error
	var ne net.Error
	var cv *tls.CertificateVerificationError
	switch {
	case errors.As(err, &tp):
		e := fmt.Errorf("email %s: %d %s", step, tp.Code, n.scrub(tp.Msg))
		if tp.Code >= 400 && tp.Code < 500 {
			return notify.Retryable(e, 0)
		}
		return e
	case ctx.Err() != nil:
		return notify.Retryable(fmt.Errorf("email %s: %w", step, ctx.Err()), 0)
	case errors.As(err, &cv):
		return fmt.Errorf("email %s: %w", step, err)
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return notify.Retryable(fmt.Errorf("email %s: %w", step, err), 0)
	}
	return fmt.Errorf("email %s: %s", step, n.scrub(err.Error()))
}

func (n *Notifier) scrub(s string) string {
	if n.cfg.Password == "" {
		return s
	}
	password := n.cfg.Password.Reveal()
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + n.cfg.Username + "\x00" + password))
	return strings.NewReplacer(plain, "<redacted>", password, "<redacted>").Replace(s)
}
