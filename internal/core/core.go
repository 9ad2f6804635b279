// Package core holds Starling's domain rules and owns every transaction. The website, the
// API and the workers call the same functions here; none of them writes SQL of its own, and
// nothing here sees an HTTP request.
package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/starling-social/starling/internal/avatar"
	"github.com/starling-social/starling/internal/media"
	"github.com/starling-social/starling/internal/password"
	"github.com/starling-social/starling/internal/store"
)

// Errors that callers map to responses.
var (
	// ErrNotFound means the thing asked for does not exist (or is deleted).
	ErrNotFound = errors.New("not found")
	// ErrForbidden means the actor may not do this to that thing.
	ErrForbidden = errors.New("forbidden")
	// ErrSignupsClosed means public signup is turned off.
	ErrSignupsClosed = errors.New("signups are closed")
	// ErrBadCredentials means the login or the password is wrong. It never says which.
	ErrBadCredentials = errors.New("wrong username or password")
)

// ValidationError lists what is wrong with the input, by field name.
type ValidationError struct {
	// Fields maps a field name to a message fit to show next to that field.
	Fields map[string]string
}

func (e *ValidationError) Error() string { return "invalid input: " + e.Describe() }

// Describe lists every field's problem, "field: message", in field order.
func (e *ValidationError) Describe() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return strings.Join(parts, "; ")
}

func invalid(field, msg string) *ValidationError {
	return &ValidationError{Fields: map[string]string{field: msg}}
}

// Enqueuer adds jobs in the caller's transaction. A *river.Client[pgx.Tx] is one.
type Enqueuer interface {
	InsertManyTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

// Options configures a Service.
type Options struct {
	// Jobs enqueues the background jobs of a write in the write's transaction. Required.
	Jobs Enqueuer
	// MentionEmailDelay is how long after a mention its email is sent, so that a post
	// deleted quickly sends nothing. Defaults to 0 (at once).
	MentionEmailDelay time.Duration
	// Password is the argon2id cost for new hashes.
	Password password.Params
	// SignupsOpen lets anyone create an account with SignUp.
	SignupsOpen bool
	// MembersOnly makes nothing readable without an account (see MayRead).
	MembersOnly bool
	// Wake is called after a transaction that appended events commits, with the newest
	// event id, to wake event readers (see events.Notifier). Optional.
	Wake func(eventID int64)
	// OnEvent is called after a transaction commits, once per event topic written (for
	// metrics). Optional.
	OnEvent func(topic string)
	// NotifyInTx sends the wake-up NOTIFY inside the post's own transaction instead. It
	// exists only to measure what keeping NOTIFY out of the write path buys; never set it
	// in production.
	NotifyInTx bool
	// Log receives domain log lines. Defaults to slog.Default().
	Log *slog.Logger
	// InstanceCountsMaxAge is how long InstanceCounts and ActiveMonth answer from this
	// process's memory before counting again, so that anonymous requests for the
	// instance's figures cost no count per request. Defaults to 1 minute.
	InstanceCountsMaxAge time.Duration
	// PostLimit is the posting allowance: Publish counts every attempt against the author's
	// id and refuses, with a *RateLimitError, one over it, whether it comes from the website
	// or the API. Defaults to nil: no limit.
	PostLimit Allowance
	// SearchWindow is how many buckets of 10,000 post ids, the newest, a search of posts
	// first looks in (see searchWindows), and SearchCandidates how many of the newest
	// matches it ranks. They default to 2 and SearchCandidates; tests narrow them.
	SearchWindow     int64
	SearchCandidates int
	// MediaLimits bound uploads. Zero fields take media.DefaultLimits'.
	MediaLimits media.Limits
	// MediaDir, when set, keeps media bytes in this directory instead of the database
	// (their shapes and who may see them stay in the database).
	MediaDir string
	// MediaWorkers is how many pictures this process processes at a time, in requests and
	// jobs together. Defaults to the number of CPUs.
	MediaWorkers int
	// MediaCacheBytes bounds the memory that keeps recently served media bytes. Defaults
	// to 64 MiB.
	MediaCacheBytes int
}

// Service is the domain layer. It is safe for concurrent use.
type Service struct {
	db        store.Conn
	q         *store.Queries
	opts      Options
	log       *slog.Logger
	dummyHash string
	// counts caches InstanceCounts and ActiveMonth.
	counts instanceCounts
	// mediaSlots bounds the pictures processed at a time; files is the media directory
	// (nil: bytes in the database); blobs caches served bytes; key signs media addresses.
	mediaSlots  chan struct{}
	files       *diskFiles
	blobs       *blobCache
	publicMedia publicCache
	keyMu       sync.Mutex
	key         []byte
}

// New returns a Service that runs its queries and transactions on db: a pool, or in
// tests a transaction that is rolled back afterwards.
func New(db store.Conn, opts Options) *Service {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Jobs == nil {
		panic("core: Options.Jobs is required")
	}
	if opts.SearchWindow <= 0 {
		opts.SearchWindow = defaultSearchWindow
	}
	if opts.SearchCandidates <= 0 {
		opts.SearchCandidates = SearchCandidates
	}
	if opts.InstanceCountsMaxAge == 0 {
		opts.InstanceCountsMaxAge = time.Minute
	}
	// A hash to verify against when a login names no account, so that a wrong username
	// costs the same time as a wrong password.
	dummy, err := password.Hash("starling-no-such-user", opts.Password)
	if err != nil {
		panic("core: " + err.Error())
	}
	opts.MediaLimits = mediaLimits(opts.MediaLimits)
	if opts.MediaWorkers <= 0 {
		opts.MediaWorkers = runtime.NumCPU()
	}
	if opts.MediaCacheBytes <= 0 {
		opts.MediaCacheBytes = 64 << 20
	}
	s := &Service{db: db, q: store.New(db), opts: opts, log: opts.Log, dummyHash: dummy,
		mediaSlots: make(chan struct{}, opts.MediaWorkers), blobs: newBlobCache(opts.MediaCacheBytes)}
	if opts.MediaDir != "" {
		s.files = &diskFiles{dir: opts.MediaDir}
	}
	return s
}

// SignupsOpen reports whether anyone may sign up.
func (s *Service) SignupsOpen() bool { return s.opts.SignupsOpen }

// MayRead reports whether viewerID (0: nobody logged in) may read anything at all: on a
// members-only server only members may; otherwise everyone may (and MaySee decides each
// post). Every read surface asks it first: pages, API, streams.
func (s *Service) MayRead(viewerID int64) bool { return !s.opts.MembersOnly || viewerID != 0 }

// MembersOnly reports whether this server is readable by its members only.
func (s *Service) MembersOnly() bool { return s.opts.MembersOnly }

// User is an account as the rest of the program sees it: everything but the password hash.
type User struct {
	ID          int64
	Username    string
	Email       string
	DisplayName string
	Bio         string
	IsAdmin     bool
	CreatedAt   time.Time
	// EmailMentions is true when the user wants an email for each mention.
	EmailMentions bool
	// EmailVerified is true when a link sent to Email was used, or an administrator made
	// the account. Mention emails go only to verified addresses.
	EmailVerified bool
	// SessionsValidAfter: website sessions that logged in before it are logged out.
	SessionsValidAfter time.Time
	// Bot marks an account that posts automatically; Discoverable lists it in the people
	// directory.
	Bot, Discoverable bool
	// Fields are the profile's name–value pairs, at most MaxProfileFields.
	Fields []ProfileField
	// DefaultVisibility, DefaultSensitive and DefaultLanguage apply to a new post that
	// does not choose (Mastodon's source privacy, sensitive and language).
	DefaultVisibility string
	DefaultSensitive  bool
	DefaultLanguage   string
	// AvatarMediaID and HeaderMediaID are the chosen pictures, 0 for none.
	AvatarMediaID, HeaderMediaID int64
	// Locked makes follows of the account requests it answers.
	Locked bool
	// Theme is the website's colour theme for the user: ThemeSystem, ThemeLight or
	// ThemeDark.
	Theme string
}

// AvatarPath is the address of the account's avatar on this site: the uploaded one, or
// the generated one.
func (u User) AvatarPath() string {
	if u.AvatarMediaID != 0 {
		return "/media/" + strconv.FormatInt(u.AvatarMediaID, 10) + "/original"
	}
	return avatar.Path(u.ID)
}

// HeaderPath is the address of the account's header picture, "" for none.
func (u User) HeaderPath() string {
	if u.HeaderMediaID != 0 {
		return "/media/" + strconv.FormatInt(u.HeaderMediaID, 10) + "/original"
	}
	return ""
}

// Name returns the display name, or the username when no display name is set.
func (u User) Name() string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Username
}

func userFrom(u store.User) User {
	out := User{ID: u.ID, Username: u.Username, Email: u.Email, DisplayName: u.DisplayName,
		Bio: u.Bio, IsAdmin: u.IsAdmin, CreatedAt: u.CreatedAt, EmailMentions: u.EmailMentions,
		SessionsValidAfter: u.SessionsValidAfter, EmailVerified: u.EmailVerifiedAt != nil,
		Bot: u.Bot, Discoverable: u.Discoverable, DefaultVisibility: u.DefaultVisibility,
		DefaultSensitive: u.DefaultSensitive, Locked: u.Locked, Theme: u.Theme}
	if u.AvatarMediaID != nil {
		out.AvatarMediaID = *u.AvatarMediaID
	}
	if u.HeaderMediaID != nil {
		out.HeaderMediaID = *u.HeaderMediaID
	}
	if u.DefaultLanguage != nil {
		out.DefaultLanguage = *u.DefaultLanguage
	}
	_ = json.Unmarshal(u.Fields, &out.Fields) // the column is a checked JSON array
	return out
}

// enqueue adds jobs in tx.
func (s *Service) enqueue(ctx context.Context, tx pgx.Tx, args ...river.JobArgs) error {
	if len(args) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a}
	}
	if _, err := s.opts.Jobs.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	return nil
}

// woke runs the hooks for a committed event of topic.
func (s *Service) woke(topic string, eventID int64) {
	if eventID <= 0 {
		return
	}
	if s.opts.Wake != nil {
		s.opts.Wake(eventID)
	}
	if s.opts.OnEvent != nil {
		s.opts.OnEvent(topic)
	}
}
