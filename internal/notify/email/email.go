package email

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
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
	Password notify.Secret `yaml:"password" json:"-"`
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
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	cfg = cfg.withDefaults()
	n := &Notifier{cfg: cfg}
	n.host, _, _ = net.SplitHostPort(cfg.Addr)
	n.from, _ = mail.ParseAddress(cfg.From)
	for _, s := range cfg.To {
		a, _ := mail.ParseAddress(s)
		n.to = append(n.to, a)
	}
	n.domain = messageIDDomain(cfg, n.from)
	return n, nil
}

func (c Config) withDefaults() Config {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.HelloName == "" {
		c.HelloName = "localhost"
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate checks c as New would, judging empty fields as their defaults,
// and reports field.Errors with paths relative to the channel's block.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs field.Errors
	if host, port, err := net.SplitHostPort(c.Addr); err != nil || host == "" || port == "" {
		errs.Add("addr", "must be host:port, e.g. smtp.example.com:587, not %q", c.Addr)
	}
	if !slices.Contains([]string{TLSStartTLS, TLSRequireStartTLS, TLSImplicit, TLSNone}, c.TLS) {
		errs.Add("tls", "must be starttls, require_starttls, tls or none, not %q", c.TLS)
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative, not %s", c.Timeout)
	}
	if c.Password != "" && c.Username == "" {
		errs.Add("username", "is required with a password: the account AUTH PLAIN logs in as")
	}
	if strings.ContainsAny(c.HelloName, " \r\n") {
		errs.Add("hello_name", "%q must be a single word", c.HelloName)
	}
	from, err := mail.ParseAddress(c.From)
	if c.From == "" {
		errs.Add("from", "is required, e.g. ripcord@example.com")
	} else if err != nil {
		errs.Add("from", "%q is not an address: %v", c.From, err)
	}
	if len(c.To) == 0 {
		errs.Add("to", "needs at least one recipient, e.g. [oncall@example.com]")
	}
	for i, s := range c.To {
		if _, err := mail.ParseAddress(s); err != nil {
			errs.Add(field.Index("to", i), "%q is not an address: %v", s, err)
		}
	}
	if from != nil && messageIDDomain(c, from) == "" {
		errs.Add("message_id_domain", "is empty after removing characters a Message-ID cannot hold")
	}
	return errs.Err()
}

// messageIDDomain is the right-hand side of Message-IDs: MessageIDDomain,
// else the From address's domain, reduced to characters a Message-ID holds.
func messageIDDomain(c Config, from *mail.Address) string {
	d := c.MessageIDDomain
	if d == "" {
		d = from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	}
	return atext(d, ".")
}

// String describes the notifier by its config. fmt would print the
// unexported cfg field, password included, without it.
func (n *Notifier) String() string { return fmt.Sprintf("email.Notifier%+v", n.cfg) }

// GoString is String for %#v.
func (n *Notifier) GoString() string { return n.String() }

// LogValue logs the config, whose password prints as <redacted>.
func (n *Notifier) LogValue() slog.Value { return slog.AnyValue(n.cfg) }
