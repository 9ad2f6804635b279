// Package config reads Starling's settings from environment variables and command-line flags
// into one validated Config. Flags win over environment variables, which win over defaults.
// Every setting is listed by `starling --help` with its environment name and default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Config is every setting of a Starling process. Build one with Load.
type Config struct {
	// DatabaseURL is the PostgreSQL connection string. When empty, `make run` and the dev
	// commands start a local cluster under DataDir and fill this in.
	DatabaseURL string
	// Listen is the HTTP listen address. Defaults to ":8080".
	Listen string
	// BaseURL is the public URL of the site, used in links and emails and to decide whether
	// cookies are marked Secure. Defaults to "http://localhost:8080".
	BaseURL string
	// SignupsOpen lets anyone sign up; when false, accounts are created with
	// `starling user create`. Set by STARLING_SIGNUPS, "open" or "closed". Defaults to true
	// ("open").
	SignupsOpen bool
	// MembersOnly makes nothing readable without logging in: pages, API, streams. Set by
	// STARLING_MEMBERS_ONLY, true or false. Defaults to false (public posts are public).
	MembersOnly bool
	// LogFormat is "json" or "text". Defaults to "json".
	LogFormat string
	// LogLevel is "debug", "info", "warn" or "error". Defaults to "info".
	LogLevel string
	// DataDir holds the local development database and other local files. Defaults to ".data".
	DataDir string
	// MigrateOnStart says whether pending migrations are applied when serve, work or all
	// starts. Set by STARLING_MIGRATE_ON_START, "auto", "true" or "false". Defaults to
	// MigrateAuto: on for the local development database, off when DATABASE_URL is given.
	MigrateOnStart Migrate
	// DBMaxConns is the size of the connection pool. Defaults to 10.
	DBMaxConns int
	// SessionLifetime is how long a login lasts. Defaults to 30 days.
	SessionLifetime time.Duration
	// PasswordMemoryKiB is the argon2id memory cost in KiB. Defaults to 19456 (19 MiB).
	PasswordMemoryKiB int
	// PasswordIterations is the argon2id time cost. Defaults to 2.
	PasswordIterations int
	// SMTPURL is the mail server, e.g. smtp://user:pass@mail.example.com:587. When empty,
	// emails are written as .eml files under DataDir/mail.
	SMTPURL string
	// MailFrom is the From address of Starling's emails. Defaults to
	// "Starling <starling@HOST>" with the host of BaseURL.
	MailFrom string
	// MentionEmailDelay is how long after a mention its email goes out; a post deleted in
	// that time sends nothing. Defaults to 60 seconds.
	MentionEmailDelay time.Duration
	// MentionEmailLimit bounds the single mention emails one recipient gets: past N in a
	// window of Per, further mentions wait for one digest email. Set by
	// STARLING_MENTION_EMAIL_LIMIT, "N/DURATION" or "off" (the zero Rate: no bound).
	// Defaults to 5 an hour.
	MentionEmailLimit Rate
	// NotifyWindow is the shortest time between two wake-up NOTIFYs of one process.
	// Defaults to 5 ms.
	NotifyWindow time.Duration
	// MetricsListen, when set, serves /metrics (and Go's profiler) on this separate
	// address, open to whoever reaches it, and not on the main one. Empty by default: then
	// /metrics on the main address answers administrators only (a website session or a
	// personal access token of an admin), and a work process serves it openly on its one
	// address, which serves nobody else.
	MetricsListen string
	// EventRetention is how long the event log keeps events. Defaults to 7 days.
	EventRetention time.Duration
	// TrustedProxies lists the reverse proxies whose X-Forwarded-For header names the
	// client. Set by STARLING_TRUSTED_PROXIES, IPs or CIDRs, comma-separated; a single IP
	// becomes a full-length prefix. Defaults to none.
	TrustedProxies []netip.Prefix
	// MaxStreamsPerIP and MaxStreamsPerUser cap concurrent live streams. Default to 100
	// and 20.
	MaxStreamsPerIP, MaxStreamsPerUser int
	// RateLimit is the API allowance per token (or per IP without one) and process. Set by
	// STARLING_RATE_LIMIT, "N/DURATION" or "off" (the zero Rate). Defaults to 300 per 5
	// minutes, Mastodon's own figure.
	RateLimit Rate
	// AppRegistrationLimit is how many apps one client address may register per window
	// and process. Set by STARLING_APP_REGISTRATION_LIMIT, "N/DURATION" or "off" (the zero
	// Rate); RateLimit "off" turns it off too. Defaults to 10 an hour.
	AppRegistrationLimit Rate
	// JobRescueAfter is how long a job may stay marked running before it is retried on
	// the assumption that its worker died. One attempt may take half of it, at most 30 s.
	// Defaults to 2 minutes.
	JobRescueAfter time.Duration
	// OAuthPasswordGrant offers grant_type=password at /oauth/token, which command-line
	// clients and libraries use to log in with a username and password. It is held to the
	// login form's limits. Defaults to true.
	OAuthPasswordGrant bool
	// OAuthAllowHTTPRedirects lets apps register http redirect URIs on any host. Defaults
	// to false: http only on loopback addresses (127.0.0.1, [::1], localhost); elsewhere
	// https or an app's own scheme, as Mastodon requires.
	OAuthAllowHTTPRedirects bool
	// MediaDir, when set, keeps uploaded pictures' bytes in this directory instead of the
	// database. Set by STARLING_MEDIA_DIR. Defaults to "" (in the database, in the same
	// backup as the posts).
	MediaDir string
	// MediaMaxBytes is the largest upload accepted, in bytes. Set by
	// STARLING_MEDIA_MAX_BYTES. Defaults to 16 MiB.
	MediaMaxBytes int
	// MediaMaxPixels is the most pixels (width × height) an uploaded picture may have;
	// larger ones are refused from their header, before decoding. Set by
	// STARLING_MEDIA_MAX_PIXELS. Defaults to 33,177,600 (7680 × 4320).
	MediaMaxPixels int
}

// Rate is an allowance of N events per window of length Per. The zero Rate is "off": no
// bound.
type Rate struct {
	N   int
	Per time.Duration
}

// Off reports whether r sets no bound.
func (r Rate) Off() bool { return r.N == 0 }

// Migrate says when pending migrations are applied at start.
type Migrate int

const (
	// MigrateAuto applies them to the local development database only.
	MigrateAuto Migrate = iota
	// MigrateAlways applies them to any database.
	MigrateAlways
	// MigrateNever leaves them to `starling migrate`.
	MigrateNever
)

// Enabled reports whether migrations run at start; localDB says whether the database is
// the local development one.
func (m Migrate) Enabled(localDB bool) bool {
	return m == MigrateAlways || (m == MigrateAuto && localDB)
}

// setting describes one configuration value: its flag, its environment variable, its
// default and how to store a parsed value.
type setting struct {
	flag, env, def, help string
	set                  func(c *Config, v string) error
}

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func integer(p func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not a whole number: %q", v)
		}
		*p(c) = n
		return nil
	}
}

func boolean(p func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		switch v {
		case "true":
			*p(c) = true
		case "false":
			*p(c) = false
		default:
			return fmt.Errorf("must be true or false, got %q", v)
		}
		return nil
	}
}

func duration(p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("not a duration like 90s or 720h: %q", v)
		}
		*p(c) = d
		return nil
	}
}

// mentionEmailLimit parses "N/DURATION" or "off" into MentionEmailLimit.
func mentionEmailLimit(c *Config, v string) error {
	if v == "off" {
		c.MentionEmailLimit = Rate{}
		return nil
	}
	n, d, ok := strings.Cut(v, "/")
	limit, err := strconv.Atoi(n)
	window, derr := time.ParseDuration(d)
	if !ok || err != nil || derr != nil || limit < 1 || window < time.Second {
		return fmt.Errorf("must look like 5/1h (emails per window of at least 1s) or off, got %q", v)
	}
	c.MentionEmailLimit = Rate{N: limit, Per: window}
	return nil
}

// requestRate parses "N/DURATION" (e.g. "300/5m") or "off" into a Rate of requests.
func requestRate(p func(*Config) *Rate) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "off" {
			*p(c) = Rate{}
			return nil
		}
		n, d, ok := strings.Cut(v, "/")
		limit, err := strconv.Atoi(n)
		if !ok || err != nil || limit < 1 {
			return fmt.Errorf("must look like 300/5m (requests per window) or off, got %q", v)
		}
		window, err := time.ParseDuration(d)
		if err != nil || window < time.Second {
			return fmt.Errorf("the window must be a duration of at least 1s, like 5m, got %q", v)
		}
		*p(c) = Rate{N: limit, Per: window}
		return nil
	}
}

// signups parses "open" or "closed" into SignupsOpen.
func signups(c *Config, v string) error {
	switch v {
	case "open":
		c.SignupsOpen = true
	case "closed":
		c.SignupsOpen = false
	default:
		return fmt.Errorf("must be open or closed, got %q", v)
	}
	return nil
}

// migrateOnStart parses "auto", "true" or "false" into MigrateOnStart.
func migrateOnStart(c *Config, v string) error {
	switch v {
	case "auto":
		c.MigrateOnStart = MigrateAuto
	case "true":
		c.MigrateOnStart = MigrateAlways
	case "false":
		c.MigrateOnStart = MigrateNever
	default:
		return fmt.Errorf("must be auto, true or false, got %q", v)
	}
	return nil
}

// trustedProxies parses a comma-separated list of IP addresses and CIDR prefixes into
// TrustedProxies. Empty means no proxy is trusted.
func trustedProxies(c *Config, v string) error {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return fmt.Errorf("%q is not an IP address or CIDR prefix", f)
			}
			f = netip.PrefixFrom(a, a.BitLen()).String()
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return fmt.Errorf("%q is not an IP address or CIDR prefix", f)
		}
		out = append(out, p.Masked())
	}
	c.TrustedProxies = out
	return nil
}

var settings = []setting{
	{"database-url", "DATABASE_URL", "", "PostgreSQL connection string; empty starts a local cluster under the data dir",
		str(func(c *Config) *string { return &c.DatabaseURL })},
	{"listen", "STARLING_LISTEN", ":8080", "HTTP listen address",
		str(func(c *Config) *string { return &c.Listen })},
	{"base-url", "STARLING_BASE_URL", "http://localhost:8080", "public URL of the site (https enables Secure cookies)",
		str(func(c *Config) *string { return &c.BaseURL })},
	{"signups", "STARLING_SIGNUPS", "open", "open: anyone may sign up; closed: accounts come from `starling user create`",
		signups},
	{"members-only", "STARLING_MEMBERS_ONLY", "false", "true: nothing (pages, API, streams) is readable without logging in; false: public posts are public",
		boolean(func(c *Config) *bool { return &c.MembersOnly })},
	{"log-format", "STARLING_LOG_FORMAT", "json", "log format: json or text",
		str(func(c *Config) *string { return &c.LogFormat })},
	{"log-level", "STARLING_LOG_LEVEL", "info", "log level: debug, info, warn or error",
		str(func(c *Config) *string { return &c.LogLevel })},
	{"data-dir", "STARLING_DATA_DIR", ".data", "directory for the local development database and local files",
		str(func(c *Config) *string { return &c.DataDir })},
	{"migrate-on-start", "STARLING_MIGRATE_ON_START", "auto", "apply migrations at start: auto (only for the local database), true or false",
		migrateOnStart},
	{"db-max-conns", "STARLING_DB_MAX_CONNS", "10", "connection pool size per process",
		integer(func(c *Config) *int { return &c.DBMaxConns })},
	{"session-lifetime", "STARLING_SESSION_LIFETIME", "720h", "how long a login lasts",
		duration(func(c *Config) *time.Duration { return &c.SessionLifetime })},
	{"password-memory-kib", "STARLING_PASSWORD_MEMORY_KIB", "19456", "argon2id memory cost in KiB",
		integer(func(c *Config) *int { return &c.PasswordMemoryKiB })},
	{"password-iterations", "STARLING_PASSWORD_ITERATIONS", "2", "argon2id time cost",
		integer(func(c *Config) *int { return &c.PasswordIterations })},
	{"smtp-url", "SMTP_URL", "", "mail server: smtp://user:pass@host:587 (STARTTLS), smtps://host:465, ?tls=none for a local relay; empty writes .eml files under the data dir",
		str(func(c *Config) *string { return &c.SMTPURL })},
	{"mail-from", "STARLING_MAIL_FROM", "", "From address of emails; empty means Starling <starling@host of the base URL>",
		str(func(c *Config) *string { return &c.MailFrom })},
	{"mention-email-delay", "STARLING_MENTION_EMAIL_DELAY", "60s", "delay before a mention email is sent (a post deleted meanwhile sends none)",
		duration(func(c *Config) *time.Duration { return &c.MentionEmailDelay })},
	{"mention-email-limit", "STARLING_MENTION_EMAIL_LIMIT", "5/1h", "mention emails per recipient per window (N/DURATION) before the rest wait for one digest email, or off",
		mentionEmailLimit},
	{"notify-window", "STARLING_NOTIFY_WINDOW", "5ms", "at most one wake-up NOTIFY per process per this window",
		duration(func(c *Config) *time.Duration { return &c.NotifyWindow })},
	{"metrics-listen", "STARLING_METRICS_LISTEN", "", "serve /metrics (and the Go profiler under /debug/pprof/) on this private address; when empty, /metrics on the main address answers administrators only",
		str(func(c *Config) *string { return &c.MetricsListen })},
	{"event-retention", "STARLING_EVENT_RETENTION", "168h", "how long the event log keeps events (older stream cursors get a reset)",
		duration(func(c *Config) *time.Duration { return &c.EventRetention })},
	{"trusted-proxies", "STARLING_TRUSTED_PROXIES", "", "reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For is believed",
		trustedProxies},
	{"max-streams-per-ip", "STARLING_MAX_STREAMS_PER_IP", "100", "concurrent live streams per client address",
		integer(func(c *Config) *int { return &c.MaxStreamsPerIP })},
	{"max-streams-per-user", "STARLING_MAX_STREAMS_PER_USER", "20", "concurrent live streams per account",
		integer(func(c *Config) *int { return &c.MaxStreamsPerUser })},
	{"rate-limit", "STARLING_RATE_LIMIT", "300/5m", "API requests per token (or IP) per window and process, or off (also turns off the login, signup and posting limits)",
		requestRate(func(c *Config) *Rate { return &c.RateLimit })},
	{"app-registration-limit", "STARLING_APP_REGISTRATION_LIMIT", "10/1h", "OAuth app registrations (POST /api/v1/apps) per client address per window and process, or off",
		requestRate(func(c *Config) *Rate { return &c.AppRegistrationLimit })},
	{"job-rescue-after", "STARLING_JOB_RESCUE_AFTER", "2m", "a job still running after this long is retried elsewhere (its worker is presumed dead)",
		duration(func(c *Config) *time.Duration { return &c.JobRescueAfter })},
	{"oauth-password-grant", "STARLING_OAUTH_PASSWORD_GRANT", "true", "offer the OAuth password grant (apps log in with a username and password, within the login limits): true or false",
		boolean(func(c *Config) *bool { return &c.OAuthPasswordGrant })},
	{"media-dir", "STARLING_MEDIA_DIR", "", "keep uploaded pictures' bytes in this directory; empty keeps them in the database",
		str(func(c *Config) *string { return &c.MediaDir })},
	{"media-max-bytes", "STARLING_MEDIA_MAX_BYTES", "16777216", "largest upload accepted, in bytes",
		integer(func(c *Config) *int { return &c.MediaMaxBytes })},
	{"media-max-pixels", "STARLING_MEDIA_MAX_PIXELS", "33177600", "most pixels (width × height) of an uploaded picture; checked before decoding",
		integer(func(c *Config) *int { return &c.MediaMaxPixels })},
	{"oauth-allow-http-redirects", "STARLING_OAUTH_ALLOW_HTTP_REDIRECTS", "false", "let apps register http redirect URIs on any host (false: http only on 127.0.0.1, [::1] and localhost): true or false",
		boolean(func(c *Config) *bool { return &c.OAuthAllowHTTPRedirects })},
}

// Default returns the configuration with every setting at its default.
func Default() Config {
	var c Config
	for _, s := range settings {
		if err := s.set(&c, s.def); err != nil {
			panic("config: bad default for " + s.env + ": " + err.Error())
		}
	}
	return c
}

// RegisterFlags adds one flag per setting to fs. Values from getenv become the flag
// defaults, so a flag given on the command line overrides the environment. The returned
// function applies the parsed flags to a Config and validates it; call it after fs.Parse.
func RegisterFlags(fs *flag.FlagSet, getenv func(string) string) func() (Config, error) {
	values := make([]*string, len(settings))
	for i, s := range settings {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		values[i] = fs.String(s.flag, def, fmt.Sprintf("%s (env %s)", s.help, s.env))
	}
	return func() (Config, error) {
		c := Default()
		var errs []error
		for i, s := range settings {
			if err := s.set(&c, strings.TrimSpace(*values[i])); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.env, err))
			}
		}
		// Report values that did not parse together with those that parsed but are invalid.
		// A setting that failed to parse keeps its default, so Validate says nothing of it.
		if verr := c.Validate(); verr != nil {
			if j, ok := verr.(interface{ Unwrap() []error }); ok {
				errs = append(errs, j.Unwrap()...)
			} else {
				errs = append(errs, verr)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return Config{}, err
		}
		return c, nil
	}
}

// Load parses args (without the program name) and the environment into a validated Config.
// It returns the arguments left after the flags.
func Load(args []string, getenv func(string) string) (Config, []string, error) {
	fs := flag.NewFlagSet("starling", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	build := RegisterFlags(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return Config{}, nil, err
	}
	c, err := build()
	return c, fs.Args(), err
}

// Validate reports every invalid setting at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(env, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{env}, a...)...))
	}
	if c.Listen == "" {
		bad("STARLING_LISTEN", "must not be empty")
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("STARLING_BASE_URL", "must be an absolute http or https URL, got %q", c.BaseURL)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("STARLING_LOG_FORMAT", "must be json or text, got %q", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("STARLING_LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.MigrateOnStart < MigrateAuto || c.MigrateOnStart > MigrateNever {
		bad("STARLING_MIGRATE_ON_START", "must be auto, true or false, got %d", c.MigrateOnStart)
	}
	if c.DataDir == "" {
		bad("STARLING_DATA_DIR", "must not be empty")
	}
	if c.DBMaxConns < 2 || c.DBMaxConns > 1000 {
		bad("STARLING_DB_MAX_CONNS", "must be between 2 and 1000, got %d", c.DBMaxConns)
	}
	if c.SessionLifetime < time.Minute {
		bad("STARLING_SESSION_LIFETIME", "must be at least 1m, got %s", c.SessionLifetime)
	}
	if c.PasswordMemoryKiB < 1024 || c.PasswordMemoryKiB > 4<<20 {
		bad("STARLING_PASSWORD_MEMORY_KIB", "must be between 1024 and 4194304, got %d", c.PasswordMemoryKiB)
	}
	if c.PasswordIterations < 1 || c.PasswordIterations > 20 {
		bad("STARLING_PASSWORD_ITERATIONS", "must be between 1 and 20, got %d", c.PasswordIterations)
	}
	if c.MentionEmailDelay < 0 || c.MentionEmailDelay > 24*time.Hour {
		bad("STARLING_MENTION_EMAIL_DELAY", "must be between 0s and 24h, got %s", c.MentionEmailDelay)
	}
	rate := func(env string, r Rate) {
		if r.N < 0 || (r.N > 0 && r.Per < time.Second) {
			bad(env, "needs a limit of at least 1 and a window of at least 1s, got %d/%s", r.N, r.Per)
		}
	}
	rate("STARLING_MENTION_EMAIL_LIMIT", c.MentionEmailLimit)
	rate("STARLING_RATE_LIMIT", c.RateLimit)
	rate("STARLING_APP_REGISTRATION_LIMIT", c.AppRegistrationLimit)
	if c.NotifyWindow <= 0 || c.NotifyWindow > time.Second {
		bad("STARLING_NOTIFY_WINDOW", "must be between 1ms and 1s, got %s", c.NotifyWindow)
	}
	if c.EventRetention < time.Hour {
		bad("STARLING_EVENT_RETENTION", "must be at least 1h, got %s", c.EventRetention)
	}
	if c.JobRescueAfter < 10*time.Second || c.JobRescueAfter > 24*time.Hour {
		bad("STARLING_JOB_RESCUE_AFTER", "must be between 10s and 24h, got %s", c.JobRescueAfter)
	}
	if c.MaxStreamsPerIP < 1 {
		bad("STARLING_MAX_STREAMS_PER_IP", "must be at least 1, got %d", c.MaxStreamsPerIP)
	}
	if c.MaxStreamsPerUser < 1 {
		bad("STARLING_MAX_STREAMS_PER_USER", "must be at least 1, got %d", c.MaxStreamsPerUser)
	}
	if c.MediaMaxBytes < 1024 || c.MediaMaxBytes > 1<<30 {
		bad("STARLING_MEDIA_MAX_BYTES", "must be between 1024 and 1073741824, got %d", c.MediaMaxBytes)
	}
	if c.MediaMaxPixels < 1 || c.MediaMaxPixels > 1<<28 {
		bad("STARLING_MEDIA_MAX_PIXELS", "must be between 1 and 268435456, got %d", c.MediaMaxPixels)
	}
	if c.MailFrom != "" {
		if _, err := mail.ParseAddress(c.MailFrom); err != nil {
			bad("STARLING_MAIL_FROM", "must be an address like Starling <starling@example.com>")
		}
	}
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			bad("SMTP_URL", "must look like smtp://user:pass@host:587 or smtps://host:465") // never echo: it may hold a password
		}
	}
	return errors.Join(errs...)
}

// From returns the From address of emails.
func (c Config) From() string {
	if c.MailFrom != "" {
		return c.MailFrom
	}
	host := "localhost"
	if u, err := url.Parse(c.BaseURL); err == nil && u.Hostname() != "" && !strings.Contains(u.Hostname(), ":") {
		host = u.Hostname()
	}
	return "Starling <starling@" + host + ">"
}

// SecureCookies reports whether cookies must carry the Secure attribute: true when the
// public URL is https.
func (c Config) SecureCookies() bool {
	u, err := url.Parse(c.BaseURL)
	return err == nil && u.Scheme == "https"
}

// WriteHelp prints every setting with its flag, environment variable and default.
func WriteHelp(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FLAG\tENVIRONMENT\tDEFAULT\tMEANING")
	for _, s := range settings {
		def := s.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(tw, "--%s\t%s\t%s\t%s\n", s.flag, s.env, def, s.help)
	}
	tw.Flush()
}
