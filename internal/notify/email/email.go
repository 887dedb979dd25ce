package email

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/notify"
)

// DefaultTimeout bounds one whole SMTP conversation.
const DefaultTimeout = 10 * time.Second

// TLS modes; see the package doc.
const (
	TLSStartTLS        = "starttls"
	TLSRequireStartTLS = "require_starttls"
	TLSImplicit        = "tls"
	TLSNone            = "none"
)

// Config configures one SMTP relay and its recipients.
type Config struct {
	// Addr is the server's host:port, e.g. smtp.example.com:587.
	Addr string `yaml:"addr" json:"addr"`
	// From is the sender, "ripcord@example.com" or "Ripcord <ripcord@example.com>".
	From string `yaml:"from" json:"from"`
	// To lists the recipients, each in the same forms as From.
	To []string `yaml:"to" json:"to"`
	// Username and Password, when set, authenticate with AUTH PLAIN. The
	// password prints as <redacted>.
	Username string        `yaml:"username" json:"username,omitempty"`
	Password notify.Secret `yaml:"-" json:"-"`
	// TLS is starttls (default), require_starttls, tls or none.
	TLS string `yaml:"tls" json:"tls,omitempty"`
	// TLSConfig overrides certificate verification (a private CA, or a
	// ServerName other than Addr's host). Nil verifies against the system
	// roots for Addr's host.
	TLSConfig *tls.Config `yaml:"-" json:"-"`
	// HelloName is the EHLO name; "localhost" when empty.
	HelloName string `yaml:"hello_name" json:"hello_name,omitempty"`
	// MessageIDDomain is the right-hand side of Message-IDs; the From
	// address's domain when empty.
	MessageIDDomain string `yaml:"message_id_domain" json:"message_id_domain,omitempty"`
	// Timeout bounds one SMTP conversation; DefaultTimeout when zero.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// Notifier mails incident updates.
type Notifier struct {
	cfg    Config
	host   string // Addr's host, for TLS and AUTH
	from   *mail.Address
	to     []*mail.Address
	domain string
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates cfg and returns a Notifier. Email keeps no per-incident
// state: threading and dedup derive from the incident id and Seq alone.
func New(cfg Config) (*Notifier, error) {
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "localhost"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	n := &Notifier{cfg: cfg}
	if err := n.validate(); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *Notifier) validate() error {
	c := &n.cfg
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil || host == "" || port == "" {
		return fmt.Errorf("email: addr must be host:port, got %q", c.Addr)
	}
	n.host = host
	if !slices.Contains([]string{TLSStartTLS, TLSRequireStartTLS, TLSImplicit, TLSNone}, c.TLS) {
		return fmt.Errorf("email: tls must be starttls, require_starttls, tls or none, not %q", c.TLS)
	}
	switch {
	case c.Timeout < 0:
		return fmt.Errorf("email: timeout must not be negative, got %s", c.Timeout)
	case c.Password != "" && c.Username == "":
		return errors.New("email: password is set but username is not")
	case len(c.To) == 0:
		return errors.New("email: to needs at least one recipient")
	case strings.ContainsAny(c.HelloName, " \r\n"):
		return fmt.Errorf("email: hello_name %q must be a single word", c.HelloName)
	}
	if n.from, err = mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("email: from %q: %w", c.From, err)
	}
	for _, s := range c.To {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return fmt.Errorf("email: to %q: %w", s, err)
		}
		n.to = append(n.to, a)
	}
	n.domain = c.MessageIDDomain
	if n.domain == "" {
		n.domain = n.from.Address[strings.LastIndexByte(n.from.Address, '@')+1:]
	}
	if n.domain = atext(n.domain, "."); n.domain == "" {
		return errors.New("email: message_id_domain is empty after removing characters a Message-ID cannot hold")
	}
	return nil
}

// String describes the notifier by its config. fmt would print the
// unexported cfg field, password included, without it.
func (n *Notifier) String() string { return fmt.Sprintf("email.Notifier%+v", n.cfg) }

// GoString is String for %#v.
func (n *Notifier) GoString() string { return n.String() }

// LogValue logs the config, whose password prints as <redacted>.
func (n *Notifier) LogValue() slog.Value { return slog.AnyValue(n.cfg) }
