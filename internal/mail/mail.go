// Package mail sends Starling's emails: through an SMTP server when one is configured
// (SMTP_URL), otherwise into .eml files in a local directory, which is what a developer
// machine wants.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one plain-text email.
type Message struct {
	From      string
	To        string
	Subject   string
	Text      string
	MessageID string // without angle brackets; stable for the same notification
}

// Sender delivers messages.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

func build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("mail from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.MessageID)
	msg.SetDate()
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	return msg, nil
}

// SMTP sends through an SMTP server.
type SMTP struct {
	host string
	opts []gomail.Option
}

// NewSMTP configures an SMTP sender from a URL:
//
//	smtp://user:pass@host:587            STARTTLS required (the default)
//	smtp://host:25?tls=opportunistic     STARTTLS when offered
//	smtp://host:25?tls=none              plain text (only for a local relay)
//	smtps://user:pass@host:465           implicit TLS
//
// The port defaults to 587 for smtp and 465 for smtps.
func NewSMTP(raw string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("SMTP_URL: not a URL") // never echo it: it may hold a password
	}
	if u.Hostname() == "" {
		return nil, errors.New("SMTP_URL: missing host")
	}
	opts := []gomail.Option{gomail.WithTimeout(20 * time.Second)}
	port := 587
	switch u.Scheme {
	case "smtp":
		switch u.Query().Get("tls") {
		case "", "starttls", "mandatory":
			opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		case "opportunistic":
			opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
		case "none":
			opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		default:
			return nil, errors.New("SMTP_URL: tls must be starttls, opportunistic or none")
		}
	case "smtps":
		port = 465
		opts = append(opts, gomail.WithSSL())
	default:
		return nil, errors.New("SMTP_URL: scheme must be smtp or smtps")
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, errors.New("SMTP_URL: bad port")
		}
	}
	opts = append(opts, gomail.WithPort(port))
	if u.User != nil {
		pw, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pw))
	}
	return &SMTP{host: u.Hostname(), opts: opts}, nil
}

// Send delivers m over a new SMTP connection.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := build(m)
	if err != nil {
		return err
	}
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	return nil
}

// Dir writes each message as an .eml file into a directory, named after its Message-ID so
// that sending the same message again replaces the file.
type Dir struct {
	dir string
}

// NewDir returns a sender that writes into dir, creating it when needed.
func NewDir(dir string) *Dir { return &Dir{dir: dir} }

// Path returns the file a message with messageID is written to.
func (d *Dir) Path(messageID string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, messageID)
	return filepath.Join(d.dir, safe+".eml")
}

// Send writes m atomically (a temporary file renamed into place).
func (d *Dir) Send(ctx context.Context, m Message) error {
	msg, err := build(m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.dir, 0o750); err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	tmp, err := os.CreateTemp(d.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("mail dir: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	return os.Rename(tmp.Name(), d.Path(m.MessageID))
}

// ErrCircuitOpen is returned while a Breaker pauses sending.
var ErrCircuitOpen = errors.New("mail: sending paused after repeated failures")

// Breaker wraps a Sender and pauses sending for Cooldown after Threshold consecutive
// failures, so that a dead mail server is not hammered by every queued email.
type Breaker struct {
	Sender
	// Threshold is how many consecutive failures open the breaker. Defaults to 5.
	Threshold int
	// Cooldown is how long it stays open. Defaults to 1 minute.
	Cooldown time.Duration

	mu        sync.Mutex
	failures  int
	openUntil time.Time
}

// Send implements Sender.
func (b *Breaker) Send(ctx context.Context, m Message) error {
	if wait := b.OpenFor(); wait > 0 {
		return ErrCircuitOpen
	}
	err := b.Sender.Send(ctx, m)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		b.failures = 0
		return nil
	}
	b.failures++
	threshold, cooldown := b.Threshold, b.Cooldown
	if threshold <= 0 {
		threshold = 5
	}
	if cooldown <= 0 {
		cooldown = time.Minute
	}
	if b.failures >= threshold {
		b.openUntil = time.Now().Add(cooldown)
		b.failures = 0
	}
	return err
}

// OpenFor returns how much longer sending stays paused, or 0.
func (b *Breaker) OpenFor() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return time.Until(b.openUntil).Round(time.Millisecond)
}
