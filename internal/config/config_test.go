package config_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var noEnv = env(nil)

var defaults = config.Config{
	DatabaseURL:          "",
	Listen:               ":8080",
	BaseURL:              "http://localhost:8080",
	SignupsOpen:          true,
	LogFormat:            "json",
	LogLevel:             "info",
	DataDir:              ".data",
	MigrateOnStart:       config.MigrateAuto,
	DBMaxConns:           10,
	SessionLifetime:      720 * time.Hour,
	PasswordMemoryKiB:    19456,
	PasswordIterations:   2,
	SMTPURL:              "",
	MailFrom:             "",
	MentionEmailDelay:    60 * time.Second,
	MentionEmailLimit:    config.Rate{N: 5, Per: time.Hour},
	NotifyWindow:         5 * time.Millisecond,
	EventRetention:       168 * time.Hour,
	MaxStreamsPerIP:      100,
	MaxStreamsPerUser:    20,
	RateLimit:            config.Rate{N: 300, Per: 5 * time.Minute},
	AppRegistrationLimit: config.Rate{N: 10, Per: time.Hour},
	JobRescueAfter:       2 * time.Minute,
	OAuthPasswordGrant:   true,
	MediaMaxBytes:        16 << 20,
	MediaMaxPixels:       7680 * 4320,
}

// allSettings lists every setting as flag, environment variable and default, as --help
// must show them.
var allSettings = []struct{ flag, env, def string }{
	{"database-url", "DATABASE_URL", `""`},
	{"listen", "STARLING_LISTEN", ":8080"},
	{"base-url", "STARLING_BASE_URL", "http://localhost:8080"},
	{"signups", "STARLING_SIGNUPS", "open"},
	{"members-only", "STARLING_MEMBERS_ONLY", "false"},
	{"log-format", "STARLING_LOG_FORMAT", "json"},
	{"log-level", "STARLING_LOG_LEVEL", "info"},
	{"data-dir", "STARLING_DATA_DIR", ".data"},
	{"migrate-on-start", "STARLING_MIGRATE_ON_START", "auto"},
	{"db-max-conns", "STARLING_DB_MAX_CONNS", "10"},
	{"session-lifetime", "STARLING_SESSION_LIFETIME", "720h"},
	{"password-memory-kib", "STARLING_PASSWORD_MEMORY_KIB", "19456"},
	{"password-iterations", "STARLING_PASSWORD_ITERATIONS", "2"},
	{"smtp-url", "SMTP_URL", `""`},
	{"mail-from", "STARLING_MAIL_FROM", `""`},
	{"mention-email-delay", "STARLING_MENTION_EMAIL_DELAY", "60s"},
	{"mention-email-limit", "STARLING_MENTION_EMAIL_LIMIT", "5/1h"},
	{"notify-window", "STARLING_NOTIFY_WINDOW", "5ms"},
	{"metrics-listen", "STARLING_METRICS_LISTEN", `""`},
	{"event-retention", "STARLING_EVENT_RETENTION", "168h"},
	{"trusted-proxies", "STARLING_TRUSTED_PROXIES", `""`},
	{"max-streams-per-ip", "STARLING_MAX_STREAMS_PER_IP", "100"},
	{"max-streams-per-user", "STARLING_MAX_STREAMS_PER_USER", "20"},
	{"rate-limit", "STARLING_RATE_LIMIT", "300/5m"},
	{"app-registration-limit", "STARLING_APP_REGISTRATION_LIMIT", "10/1h"},
	{"job-rescue-after", "STARLING_JOB_RESCUE_AFTER", "2m"},
	{"oauth-password-grant", "STARLING_OAUTH_PASSWORD_GRANT", "true"},
	{"media-dir", "STARLING_MEDIA_DIR", `""`},
	{"media-max-bytes", "STARLING_MEDIA_MAX_BYTES", "16777216"},
	{"media-max-pixels", "STARLING_MEDIA_MAX_PIXELS", "33177600"},
	{"oauth-allow-http-redirects", "STARLING_OAUTH_ALLOW_HTTP_REDIRECTS", "false"},
}

func TestDefault(t *testing.T) {
	require.Equal(t, defaults, config.Default())
	require.NoError(t, config.Default().Validate())
}

func TestLoadDefaults(t *testing.T) {
	c, args, err := config.Load(nil, noEnv)
	require.NoError(t, err)
	require.Equal(t, defaults, c)
	require.Empty(t, args)
}

func TestLoadEmptyEnvMeansUnset(t *testing.T) {
	m := map[string]string{}
	for _, s := range allSettings {
		m[s.env] = ""
	}
	c, _, err := config.Load(nil, env(m))
	require.NoError(t, err)
	require.Equal(t, defaults, c)
}

var customEnv = map[string]string{
	"DATABASE_URL":                        "postgres://u:p@db:5432/starling",
	"STARLING_LISTEN":                     "127.0.0.1:9000",
	"STARLING_NOTIFY_WINDOW":              "20ms",
	"STARLING_RATE_LIMIT":                 "off",
	"STARLING_APP_REGISTRATION_LIMIT":     "3/10m",
	"STARLING_METRICS_LISTEN":             "127.0.0.1:9100",
	"STARLING_TRUSTED_PROXIES":            "10.0.0.0/8, 192.168.1.1",
	"STARLING_MAX_STREAMS_PER_IP":         "500",
	"STARLING_MAX_STREAMS_PER_USER":       "50",
	"STARLING_EVENT_RETENTION":            "72h",
	"STARLING_BASE_URL":                   "https://starling.example",
	"STARLING_SIGNUPS":                    "closed",
	"STARLING_MEMBERS_ONLY":               "true",
	"STARLING_LOG_FORMAT":                 "text",
	"STARLING_LOG_LEVEL":                  "debug",
	"STARLING_DATA_DIR":                   "/var/lib/starling",
	"STARLING_MIGRATE_ON_START":           "true",
	"STARLING_DB_MAX_CONNS":               "25",
	"STARLING_SESSION_LIFETIME":           "48h30m",
	"STARLING_PASSWORD_MEMORY_KIB":        "65536",
	"STARLING_PASSWORD_ITERATIONS":        "3",
	"SMTP_URL":                            "smtps://mailer:hunter2@mail.example.com:465",
	"STARLING_MAIL_FROM":                  "Birds <birds@example.com>",
	"STARLING_MENTION_EMAIL_DELAY":        "5m",
	"STARLING_MENTION_EMAIL_LIMIT":        "20/30m",
	"STARLING_JOB_RESCUE_AFTER":           "30s",
	"STARLING_OAUTH_PASSWORD_GRANT":       "false",
	"STARLING_OAUTH_ALLOW_HTTP_REDIRECTS": "true",
	"STARLING_MEDIA_DIR":                  "/var/lib/starling/media",
	"STARLING_MEDIA_MAX_BYTES":            "8388608",
	"STARLING_MEDIA_MAX_PIXELS":           "20000000",
}

var customConfig = config.Config{
	DatabaseURL:             "postgres://u:p@db:5432/starling",
	Listen:                  "127.0.0.1:9000",
	BaseURL:                 "https://starling.example",
	SignupsOpen:             false,
	MembersOnly:             true,
	LogFormat:               "text",
	LogLevel:                "debug",
	DataDir:                 "/var/lib/starling",
	MigrateOnStart:          config.MigrateAlways,
	DBMaxConns:              25,
	SessionLifetime:         48*time.Hour + 30*time.Minute,
	PasswordMemoryKiB:       65536,
	PasswordIterations:      3,
	SMTPURL:                 "smtps://mailer:hunter2@mail.example.com:465",
	MailFrom:                "Birds <birds@example.com>",
	MentionEmailDelay:       5 * time.Minute,
	MentionEmailLimit:       config.Rate{N: 20, Per: 30 * time.Minute},
	NotifyWindow:            20 * time.Millisecond,
	MetricsListen:           "127.0.0.1:9100",
	TrustedProxies:          []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32")},
	MaxStreamsPerIP:         500,
	MaxStreamsPerUser:       50,
	EventRetention:          72 * time.Hour,
	RateLimit:               config.Rate{},
	AppRegistrationLimit:    config.Rate{N: 3, Per: 10 * time.Minute},
	JobRescueAfter:          30 * time.Second,
	OAuthPasswordGrant:      false,
	OAuthAllowHTTPRedirects: true,
	MediaDir:                "/var/lib/starling/media",
	MediaMaxBytes:           8 << 20,
	MediaMaxPixels:          20_000_000,
}

func TestEnvOverridesDefault(t *testing.T) {
	c, args, err := config.Load(nil, env(customEnv))
	require.NoError(t, err)
	require.Equal(t, customConfig, c)
	require.Empty(t, args)
}

func TestEnvOverridesEachSettingAlone(t *testing.T) {
	for _, s := range allSettings {
		t.Run(s.env, func(t *testing.T) {
			c, _, err := config.Load(nil, env(map[string]string{s.env: customEnv[s.env]}))
			require.NoError(t, err)
			require.NotEqual(t, defaults, c, "setting %s had no effect", s.env)
		})
	}
}

func TestFlagsWithoutEnv(t *testing.T) {
	var args []string
	for _, s := range allSettings {
		args = append(args, "--"+s.flag+"="+customEnv[s.env])
	}
	c, rest, err := config.Load(args, noEnv)
	require.NoError(t, err)
	require.Equal(t, customConfig, c)
	require.Empty(t, rest)
}

func TestFlagOverridesEnv(t *testing.T) {
	c, _, err := config.Load([]string{
		"--listen=:7000",
		"-signups", "open",
		"--log-level", "warn",
		"--db-max-conns=3",
		"--session-lifetime=1h",
		"--base-url=http://flag.example",
	}, env(customEnv))
	require.NoError(t, err)
	want := customConfig
	want.Listen = ":7000"
	want.SignupsOpen = true
	want.LogLevel = "warn"
	want.DBMaxConns = 3
	want.SessionLifetime = time.Hour
	want.BaseURL = "http://flag.example"
	require.Equal(t, want, c)
}

func TestValidFlagOverridesInvalidEnv(t *testing.T) {
	c, _, err := config.Load([]string{"--db-max-conns=5", "--signups=closed"},
		env(map[string]string{"STARLING_DB_MAX_CONNS": "lots", "STARLING_SIGNUPS": "maybe"}))
	require.NoError(t, err)
	require.Equal(t, 5, c.DBMaxConns)
	require.False(t, c.SignupsOpen)
}

func TestEmptyFlagOverridesEnv(t *testing.T) {
	c, _, err := config.Load([]string{"--database-url="}, env(map[string]string{"DATABASE_URL": "postgres://x"}))
	require.NoError(t, err)
	require.Equal(t, "", c.DatabaseURL)

	_, _, err = config.Load([]string{"--listen="}, env(map[string]string{"STARLING_LISTEN": ":1"}))
	require.ErrorContains(t, err, "STARLING_LISTEN")
}

func TestValuesAreTrimmed(t *testing.T) {
	c, _, err := config.Load([]string{"--log-format", " text\n"},
		env(map[string]string{"STARLING_DB_MAX_CONNS": " 7 ", "STARLING_SIGNUPS": "\tclosed "}))
	require.NoError(t, err)
	require.Equal(t, "text", c.LogFormat)
	require.Equal(t, 7, c.DBMaxConns)
	require.False(t, c.SignupsOpen)
}

func TestRemainingArgs(t *testing.T) {
	c, args, err := config.Load([]string{"--listen", ":9", "serve", "--listen=:10", "extra"}, noEnv)
	require.NoError(t, err)
	require.Equal(t, ":9", c.Listen)
	require.Equal(t, []string{"serve", "--listen=:10", "extra"}, args)

	_, args, err = config.Load([]string{"--", "-x"}, noEnv)
	require.NoError(t, err)
	require.Equal(t, []string{"-x"}, args)
}

func TestUnknownFlag(t *testing.T) {
	_, _, err := config.Load([]string{"--no-such-flag"}, noEnv)
	require.Error(t, err)
	require.ErrorContains(t, err, "no-such-flag")
}

func TestHelpFlag(t *testing.T) {
	_, _, err := config.Load([]string{"-h"}, noEnv)
	require.ErrorIs(t, err, flag.ErrHelp)
}

func TestInvalidValues(t *testing.T) {
	tests := []struct {
		env, value, wantInMsg string
	}{
		{"STARLING_LISTEN", " ", "must not be empty"},
		{"STARLING_BASE_URL", "localhost:8080", "absolute http or https URL"},
		{"STARLING_BASE_URL", "ftp://example.com", "absolute http or https URL"},
		{"STARLING_BASE_URL", "https://", "absolute http or https URL"},
		{"STARLING_BASE_URL", "/relative", "absolute http or https URL"},
		{"STARLING_BASE_URL", "http://bad host/", "absolute http or https URL"},
		{"STARLING_SIGNUPS", "maybe", `must be open or closed, got "maybe"`},
		{"STARLING_SIGNUPS", "Open", `got "Open"`},
		{"STARLING_LOG_FORMAT", "xml", `must be json or text, got "xml"`},
		{"STARLING_LOG_LEVEL", "trace", `must be debug, info, warn or error, got "trace"`},
		{"STARLING_MIGRATE_ON_START", "yes", `must be auto, true or false, got "yes"`},
		{"STARLING_DATA_DIR", " ", "must not be empty"},
		{"STARLING_DB_MAX_CONNS", "lots", `not a whole number: "lots"`},
		{"STARLING_DB_MAX_CONNS", "2.5", "not a whole number"},
		{"STARLING_DB_MAX_CONNS", "1", "must be between 2 and 1000, got 1"},
		{"STARLING_DB_MAX_CONNS", "1001", "must be between 2 and 1000, got 1001"},
		{"STARLING_DB_MAX_CONNS", "-5", "got -5"},
		{"STARLING_SESSION_LIFETIME", "30", `not a duration like 90s or 720h: "30"`},
		{"STARLING_SESSION_LIFETIME", "30d", "not a duration"},
		{"STARLING_SESSION_LIFETIME", "59s", "must be at least 1m, got 59s"},
		{"STARLING_SESSION_LIFETIME", "-1h", "must be at least 1m"},
		{"STARLING_PASSWORD_MEMORY_KIB", "1023", "must be between 1024 and 4194304, got 1023"},
		{"STARLING_PASSWORD_MEMORY_KIB", "4194305", "got 4194305"},
		{"STARLING_PASSWORD_MEMORY_KIB", "19MiB", "not a whole number"},
		{"STARLING_PASSWORD_ITERATIONS", "0", "must be between 1 and 20, got 0"},
		{"STARLING_PASSWORD_ITERATIONS", "21", "got 21"},
		{"STARLING_MENTION_EMAIL_DELAY", "soon", `not a duration like 90s or 720h: "soon"`},
		{"STARLING_MENTION_EMAIL_DELAY", "-1s", "must be between 0s and 24h, got -1s"},
		{"STARLING_MENTION_EMAIL_DELAY", "24h0m1s", "must be between 0s and 24h"},
		{"STARLING_MENTION_EMAIL_LIMIT", "5", `must look like 5/1h (emails per window of at least 1s) or off, got "5"`},
		{"STARLING_MENTION_EMAIL_LIMIT", "0/1h", "must look like 5/1h"},
		{"STARLING_MENTION_EMAIL_LIMIT", "5/500ms", "must look like 5/1h"},
		{"STARLING_MENTION_EMAIL_LIMIT", "five/1h", "must look like 5/1h"},
		{"STARLING_MENTION_EMAIL_LIMIT", "Off", `got "Off"`},
		{"STARLING_MAIL_FROM", "not an address", "must be an address like"},
		{"STARLING_MAIL_FROM", "Starling <starling>", "must be an address like"},
		{"STARLING_MAIL_FROM", "a@", "must be an address like"},
		{"SMTP_URL", "http://mail.example.com", "must look like smtp://"},
		{"SMTP_URL", "mail.example.com:587", "must look like smtp://"},
		{"SMTP_URL", "smtp://", "must look like smtp://"},
		{"SMTP_URL", "smtp://user:pw@:587", "must look like smtp://"},
		{"SMTP_URL", "smtp://user:pw@bad host:587", "must look like smtp://"},
		{"STARLING_OAUTH_PASSWORD_GRANT", "yes", `must be true or false, got "yes"`},
		{"STARLING_OAUTH_PASSWORD_GRANT", "TRUE", `got "TRUE"`},
	}
	for _, tt := range tests {
		t.Run(tt.env+"="+tt.value, func(t *testing.T) {
			_, _, err := config.Load(nil, env(map[string]string{tt.env: tt.value}))
			require.Error(t, err)
			require.ErrorContains(t, err, tt.env+": ")
			require.ErrorContains(t, err, tt.wantInMsg)
			require.Len(t, errorLines(err), 1, "only %s is invalid: %v", tt.env, err)

			// The same value given as a flag is rejected the same way.
			var flagName string
			for _, s := range allSettings {
				if s.env == tt.env {
					flagName = s.flag
				}
			}
			_, _, err = config.Load([]string{"--" + flagName + "=" + tt.value}, noEnv)
			require.ErrorContains(t, err, tt.env+": ")
			require.ErrorContains(t, err, tt.wantInMsg)
		})
	}
}

func TestBoundaryValuesAccepted(t *testing.T) {
	c, _, err := config.Load(nil, env(map[string]string{
		"STARLING_DB_MAX_CONNS":        "2",
		"STARLING_SESSION_LIFETIME":    "1m",
		"STARLING_PASSWORD_MEMORY_KIB": "1024",
		"STARLING_PASSWORD_ITERATIONS": "1",
		"STARLING_MIGRATE_ON_START":    "false",
		"STARLING_LOG_LEVEL":           "error",
	}))
	require.NoError(t, err)
	require.Equal(t, 2, c.DBMaxConns)
	require.Equal(t, time.Minute, c.SessionLifetime)

	c, _, err = config.Load(nil, env(map[string]string{
		"STARLING_DB_MAX_CONNS":        "1000",
		"STARLING_PASSWORD_MEMORY_KIB": "4194304",
		"STARLING_PASSWORD_ITERATIONS": "20",
		"STARLING_LOG_LEVEL":           "warn",
		"STARLING_BASE_URL":            "https://example.com:8443/sub/path",
	}))
	require.NoError(t, err)
	require.Equal(t, 4194304, c.PasswordMemoryKiB)
	require.Equal(t, 20, c.PasswordIterations)

	c, _, err = config.Load(nil, env(map[string]string{"STARLING_MENTION_EMAIL_LIMIT": "off"}))
	require.NoError(t, err)
	require.True(t, c.MentionEmailLimit.Off(), "off: no bound")
	c, _, err = config.Load(nil, env(map[string]string{"STARLING_MENTION_EMAIL_LIMIT": "1/1s"}))
	require.NoError(t, err)
	require.Equal(t, config.Rate{N: 1, Per: time.Second}, c.MentionEmailLimit)

	for _, v := range []map[string]string{
		{"STARLING_MENTION_EMAIL_DELAY": "0s"},
		{"STARLING_MENTION_EMAIL_DELAY": "24h"},
		{"STARLING_MAIL_FROM": "noreply@example.com"},
		{"STARLING_MAIL_FROM": "Starling <starling@example.com>"},
		{"STARLING_MAIL_FROM": `"Starling, the bird" <starling@example.com>`},
		{"SMTP_URL": "smtp://user:pass@mail.example.com:587"},
		{"SMTP_URL": "smtps://mail.example.com:465"},
		{"SMTP_URL": "smtp://localhost:25?tls=none"},
		{"SMTP_URL": "smtp://[::1]:25"},
		{"SMTP_URL": "SMTP://mail.example.com"},
	} {
		_, _, err := config.Load(nil, env(v))
		require.NoError(t, err, "%v", v)
	}
}

// TestSMTPURLErrorHidesPassword: SMTP_URL may hold a password, so a bad value is reported
// without echoing it.
func TestSMTPURLErrorHidesPassword(t *testing.T) {
	for _, v := range []string{
		"http://mailer:s3cr3t-pw@mail.example.com",
		"smtp://mailer:s3cr3t-pw@:587",
		"smtp://mailer:s3cr3t-pw@bad host:587",
		"smtp://mailer:s3cr3t-pw@mail.example.com:%zz",
	} {
		_, _, err := config.Load(nil, env(map[string]string{"SMTP_URL": v}))
		require.ErrorContains(t, err, "SMTP_URL: ", v)
		require.NotContains(t, err.Error(), "s3cr3t", "error for %q leaks the password", v)

		_, _, err = config.Load([]string{"--smtp-url", v}, noEnv)
		require.ErrorContains(t, err, "SMTP_URL: ", v)
		require.NotContains(t, err.Error(), "s3cr3t", "error for %q leaks the password", v)
	}
}

func TestFrom(t *testing.T) {
	tests := []struct {
		baseURL, mailFrom, want string
	}{
		{"http://localhost:8080", "", "Starling <starling@localhost>"},
		{"https://starling.example", "", "Starling <starling@starling.example>"},
		{"https://Starling.Example:8443/sub/", "", "Starling <starling@Starling.Example>"},
		{"https://starling.example", "Birds <birds@example.com>", "Birds <birds@example.com>"},
		{"", "", "Starling <starling@localhost>"},
		{"::not a url", "", "Starling <starling@localhost>"},
	}
	for _, tt := range tests {
		t.Run(tt.baseURL+"|"+tt.mailFrom, func(t *testing.T) {
			c := config.Default()
			c.BaseURL = tt.baseURL
			c.MailFrom = tt.mailFrom
			require.Equal(t, tt.want, c.From())
		})
	}
	c, _, err := config.Load(nil, env(map[string]string{"STARLING_BASE_URL": "https://birds.example"}))
	require.NoError(t, err)
	require.Equal(t, "Starling <starling@birds.example>", c.From())
}

// errorLines splits a joined error into its lines.
func errorLines(err error) []string {
	return strings.Split(err.Error(), "\n")
}

func TestSeveralValidationErrorsAtOnce(t *testing.T) {
	bad := map[string]string{
		"STARLING_BASE_URL":            "nope",
		"STARLING_SIGNUPS":             "maybe",
		"STARLING_LOG_FORMAT":          "xml",
		"STARLING_LOG_LEVEL":           "loud",
		"STARLING_MIGRATE_ON_START":    "sometimes",
		"STARLING_DB_MAX_CONNS":        "1",
		"STARLING_SESSION_LIFETIME":    "1s",
		"STARLING_PASSWORD_MEMORY_KIB": "1",
		"STARLING_PASSWORD_ITERATIONS": "99",
		"STARLING_MENTION_EMAIL_DELAY": "48h",
		"STARLING_MAIL_FROM":           "nobody",
		"SMTP_URL":                     "ftp://x",
	}
	_, _, err := config.Load([]string{"--listen= ", "--data-dir="}, env(bad))
	require.Error(t, err)
	lines := errorLines(err)
	require.Len(t, lines, len(bad)+2, "one line per invalid setting:\n%v", err)
	for name := range bad {
		require.ErrorContains(t, err, name+": ")
	}
	require.ErrorContains(t, err, "STARLING_LISTEN: must not be empty")
	require.ErrorContains(t, err, "STARLING_DATA_DIR: must not be empty")
}

func TestSeveralParseErrorsAtOnce(t *testing.T) {
	_, _, err := config.Load(nil, env(map[string]string{
		"STARLING_DB_MAX_CONNS":        "x",
		"STARLING_SESSION_LIFETIME":    "y",
		"STARLING_PASSWORD_MEMORY_KIB": "z",
		"STARLING_PASSWORD_ITERATIONS": "w",
	}))
	require.Error(t, err)
	require.Len(t, errorLines(err), 4, "%v", err)
	for _, name := range []string{
		"STARLING_DB_MAX_CONNS", "STARLING_SESSION_LIFETIME", "STARLING_PASSWORD_MEMORY_KIB", "STARLING_PASSWORD_ITERATIONS",
	} {
		require.ErrorContains(t, err, name+": ")
	}
}

// TestParseAndValidationErrorsAtOnce: a value that does not parse must not hide the other
// invalid settings; the operator should see every problem in one run.
func TestParseAndValidationErrorsAtOnce(t *testing.T) {
	_, _, err := config.Load(nil, env(map[string]string{
		"STARLING_DB_MAX_CONNS": "lots",  // does not parse
		"STARLING_SIGNUPS":      "maybe", // parses, fails validation
		"STARLING_LOG_FORMAT":   "xml",   // parses, fails validation
	}))
	require.Error(t, err)
	require.ErrorContains(t, err, "STARLING_DB_MAX_CONNS: ")
	require.ErrorContains(t, err, "STARLING_SIGNUPS: ")
	require.ErrorContains(t, err, "STARLING_LOG_FORMAT: ")
}

func TestValidateZeroConfigReportsEverything(t *testing.T) {
	err := config.Config{}.Validate()
	require.Error(t, err)
	// Empty or zero is valid for these: a local database, closed signups, migrations only
	// for the local database, .eml files, the default From address, no mention email
	// delay, no mention email bound, no trusted proxy, no rate limits, no password grant, no
	// http redirects, a server readable by everyone.
	valid := map[string]bool{
		"DATABASE_URL": true, "STARLING_SIGNUPS": true, "STARLING_MIGRATE_ON_START": true, "SMTP_URL": true,
		"STARLING_MAIL_FROM": true, "STARLING_MENTION_EMAIL_DELAY": true, "STARLING_MENTION_EMAIL_LIMIT": true,
		"STARLING_METRICS_LISTEN": true, "STARLING_TRUSTED_PROXIES": true, "STARLING_RATE_LIMIT": true,
		"STARLING_APP_REGISTRATION_LIMIT": true, "STARLING_OAUTH_PASSWORD_GRANT": true,
		"STARLING_OAUTH_ALLOW_HTTP_REDIRECTS": true, "STARLING_MEMBERS_ONLY": true, "STARLING_MEDIA_DIR": true,
	}
	for _, s := range allSettings {
		if valid[s.env] {
			require.NotContains(t, err.Error(), s.env+": ")
			continue
		}
		require.ErrorContains(t, err, s.env+": ")
	}
	require.Len(t, errorLines(err), len(allSettings)-len(valid), "%v", err)
}

func TestRegisterFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	build := config.RegisterFlags(fs, env(map[string]string{"STARLING_LISTEN": ":1234"}))
	for _, s := range allSettings {
		f := fs.Lookup(s.flag)
		require.NotNil(t, f, "flag --%s", s.flag)
		require.Contains(t, f.Usage, "(env "+s.env+")")
	}
	require.Equal(t, ":1234", fs.Lookup("listen").DefValue, "env value becomes the flag default")
	require.Equal(t, "open", fs.Lookup("signups").DefValue)

	require.NoError(t, fs.Parse([]string{"--signups=closed"}))
	c, err := build()
	require.NoError(t, err)
	require.Equal(t, ":1234", c.Listen)
	require.False(t, c.SignupsOpen)
}

func TestWriteHelp(t *testing.T) {
	var b bytes.Buffer
	config.WriteHelp(&b)
	out := b.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	require.Len(t, lines, len(allSettings)+1, out)
	require.Equal(t, []string{"FLAG", "ENVIRONMENT", "DEFAULT", "MEANING"}, strings.Fields(lines[0]))
	for i, s := range allSettings {
		fields := strings.Fields(lines[i+1])
		require.GreaterOrEqual(t, len(fields), 4, lines[i+1])
		require.Equal(t, []string{"--" + s.flag, s.env, s.def}, fields[:3], "help line %q", lines[i+1])
	}
	for _, name := range []string{
		"DATABASE_URL", "STARLING_LISTEN", "STARLING_BASE_URL", "STARLING_SIGNUPS", "STARLING_LOG_FORMAT",
		"STARLING_LOG_LEVEL", "STARLING_DATA_DIR", "STARLING_MIGRATE_ON_START", "STARLING_DB_MAX_CONNS",
		"STARLING_SESSION_LIFETIME", "STARLING_PASSWORD_MEMORY_KIB", "STARLING_PASSWORD_ITERATIONS",
		"SMTP_URL", "STARLING_MAIL_FROM", "STARLING_MENTION_EMAIL_DELAY",
	} {
		require.Contains(t, out, name)
	}
	// Columns are aligned: every ENVIRONMENT value starts at the same offset.
	col := strings.Index(lines[0], "ENVIRONMENT")
	for _, s := range allSettings {
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, "--"+s.flag+" ") {
				require.Equal(t, col, strings.Index(l, s.env), l)
			}
		}
	}
}

// TestWriteHelpDefaultsMatchDefault keeps the help text and Default in step.
func TestWriteHelpDefaultsMatchDefault(t *testing.T) {
	m := map[string]string{}
	for _, s := range allSettings {
		if s.def != `""` {
			m[s.env] = s.def
		}
	}
	c, _, err := config.Load(nil, env(m))
	require.NoError(t, err)
	require.Equal(t, config.Default(), c)
}

func TestSecureCookies(t *testing.T) {
	tests := []struct {
		baseURL string
		want    bool
	}{
		{"https://starling.example", true},
		{"https://starling.example:8443/sub", true},
		{"http://localhost:8080", false},
		{"http://starling.example", false},
		{"HTTP://starling.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.baseURL, func(t *testing.T) {
			c := config.Default()
			c.BaseURL = tt.baseURL
			require.NoError(t, c.Validate())
			require.Equal(t, tt.want, c.SecureCookies())
		})
	}
	require.False(t, config.Default().SecureCookies())

	c, _, err := config.Load([]string{"--base-url=https://flag.example"}, noEnv)
	require.NoError(t, err)
	require.True(t, c.SecureCookies())
}

// TestSecureCookiesSchemeCaseInsensitive: the URL scheme is case-insensitive (RFC 3986)
// and Validate accepts STARLING_BASE_URL=HTTPS://..., so such a site must still get Secure
// cookies.
func TestSecureCookiesSchemeCaseInsensitive(t *testing.T) {
	for _, u := range []string{"HTTPS://starling.example", "Https://starling.example"} {
		c, _, err := config.Load(nil, env(map[string]string{"STARLING_BASE_URL": u}))
		require.NoError(t, err, u)
		require.True(t, c.SecureCookies(), "BaseURL %q is https but cookies are not Secure", u)
	}
}

func TestErrorsAreJoined(t *testing.T) {
	_, _, err := config.Load(nil, env(map[string]string{"STARLING_SIGNUPS": "x", "STARLING_LOG_FORMAT": "y"}))
	var joined interface{ Unwrap() []error }
	require.True(t, errors.As(err, &joined), "errors.Join result expected, got %T", err)
	require.Len(t, joined.Unwrap(), 2)
}

// TestValidateTypedValues: a Config built in code is held to the bounds its strings are.
func TestValidateTypedValues(t *testing.T) {
	c := config.Default()
	c.RateLimit = config.Rate{N: 5, Per: time.Millisecond}
	c.AppRegistrationLimit = config.Rate{N: -1, Per: time.Hour}
	c.MentionEmailLimit = config.Rate{N: 1}
	c.MigrateOnStart = config.Migrate(7)
	err := c.Validate()
	require.Len(t, errorLines(err), 4, "%v", err)
	for _, name := range []string{
		"STARLING_RATE_LIMIT", "STARLING_APP_REGISTRATION_LIMIT", "STARLING_MENTION_EMAIL_LIMIT", "STARLING_MIGRATE_ON_START",
	} {
		require.ErrorContains(t, err, name+": ")
	}
}

func TestRateAndProxyValues(t *testing.T) {
	c, _, err := config.Load(nil, env(map[string]string{
		"STARLING_RATE_LIMIT":             "5/1m",
		"STARLING_APP_REGISTRATION_LIMIT": "off",
		"STARLING_TRUSTED_PROXIES":        " 10.1.2.3/8 ,, ::1 ",
		"STARLING_MIGRATE_ON_START":       "false",
	}))
	require.NoError(t, err)
	require.Equal(t, config.Rate{N: 5, Per: time.Minute}, c.RateLimit)
	require.True(t, c.AppRegistrationLimit.Off())
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}, c.TrustedProxies)
	require.Equal(t, config.MigrateNever, c.MigrateOnStart)
	require.False(t, c.MigrateOnStart.Enabled(true))
	require.True(t, config.MigrateAuto.Enabled(true))
	require.False(t, config.MigrateAuto.Enabled(false))
	require.True(t, config.MigrateAlways.Enabled(false))

	for env_, v := range map[string]string{
		"STARLING_RATE_LIMIT":             "300",
		"STARLING_APP_REGISTRATION_LIMIT": "10/500ms",
		"STARLING_TRUSTED_PROXIES":        "10.0.0.0/8, not-an-ip",
	} {
		_, _, err := config.Load(nil, env(map[string]string{env_: v}))
		require.ErrorContains(t, err, env_+": ", v)
		require.Len(t, errorLines(err), 1, "%v", err)
	}
	for _, bad := range []string{"", "5", "x/1m", "0/1m", "5/1ms", "5/forever"} {
		_, _, err := config.Load([]string{"--rate-limit=" + bad}, noEnv)
		require.ErrorContains(t, err, "STARLING_RATE_LIMIT: ", bad)
	}
}
