package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/jobargs"
	"github.com/starling-social/starling/internal/oauth"
	"github.com/starling-social/starling/internal/password"
	"github.com/starling-social/starling/internal/store"
	"github.com/starling-social/starling/internal/text"
)

// Password rules.
const (
	MinPasswordLen = 10
	// MaxPasswordBytes bounds the work one login attempt can cause.
	MaxPasswordBytes = 256
	maxDisplayName   = 50
)

// commonPasswords are refused outright: they are the first ones any attacker tries.
var commonPasswords = map[string]bool{
	"password12": true, "password123": true, "1234567890": true, "12345678910": true,
	"qwertyuiop": true, "1q2w3e4r5t": true, "0987654321": true, "1111111111": true,
	"iloveyou12": true, "qwerty1234": true, "passw0rd12": true, "letmein123": true,
	"welcome123": true, "abcdefghij": true, "abc1234567": true, "starling12": true,
	"starling123": true, "administrator": true, "changeme123": true, "football12": true,
	"sunshine12": true, "princess12": true, "trustno1234": true, "zaq12wsxcde": true,
	"password1234": true, "qwertyuiop1": true, "asdfghjkl1": true, "1qaz2wsx3edc": true,
}

// reservedUsernames are refused for new accounts, at signup and by `starling user create`
// alike: names people take for the server's own voice (admin, support, security), the
// addresses mail servers reserve (postmaster, abuse, hostmaster: RFC 2142), and the site's
// own words and paths (login, settings, api, oauth, static, nodeinfo), so that no account
// can pass for the instance or its staff. Compared in any case.
var reservedUsernames = map[string]bool{
	"admin": true, "administrator": true, "root": true, "superuser": true, "sysadmin": true,
	"support": true, "help": true, "helpdesk": true, "info": true, "contact": true, "feedback": true,
	"postmaster": true, "abuse": true, "hostmaster": true, "webmaster": true, "security": true,
	"mail": true, "email": true, "noreply": true, "no_reply": true, "mailer_daemon": true,
	"www": true, "api": true, "oauth": true, "about": true, "settings": true, "login": true,
	"logout": true, "signup": true, "register": true, "static": true, "well_known": true,
	"nodeinfo": true, "webfinger": true, "metrics": true, "healthz": true, "readyz": true,
	"home": true, "notifications": true, "posts": true, "stats": true, "events": true,
	"search": true, "explore": true, "public": true, "instance": true, "server": true,
	"mastodon": true, "starling": true, "staff": true, "team": true, "moderator": true,
	"moderators": true, "mod": true, "official": true, "system": true, "owner": true,
}

// SignUpInput is what a person gives to create an account.
type SignUpInput struct {
	Username    string
	Email       string
	Password    string
	DisplayName string
}

func validateSignUp(in *SignUpInput) *ValidationError {
	errs := map[string]string{}
	in.Username = strings.TrimSpace(in.Username)
	in.Email = strings.TrimSpace(in.Email)
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	if !text.ValidUsername(in.Username) {
		errs["username"] = "Use 1 to 30 letters, digits or underscores."
	} else if reservedUsernames[strings.ToLower(in.Username)] {
		errs["username"] = "This username is reserved; choose another."
	}
	if !validEmail(in.Email) {
		errs["email"] = "Enter an email address like name@example.com."
	}
	if msg := displayNameProblem(in.DisplayName); msg != "" {
		errs["display_name"] = msg
	}
	if msg := passwordProblem(in.Password, in.Username, in.Email); msg != "" {
		errs["password"] = msg
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

// passwordProblem returns why pw is not acceptable, or "".
func passwordProblem(pw, username, email string) string {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return "Use valid text."
	case n < MinPasswordLen:
		return fmt.Sprintf("Use at least %d characters.", MinPasswordLen)
	case len(pw) > MaxPasswordBytes:
		return fmt.Sprintf("Use at most %d bytes.", MaxPasswordBytes)
	case commonPasswords[strings.ToLower(pw)]:
		return "This password is too common; choose another."
	case strings.Count(pw, pw[:1]) == len(pw):
		return "Do not repeat a single character."
	case username != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(username)):
		return "Do not include your username."
	case email != "" && strings.EqualFold(pw, email):
		return "Do not use your email address."
	}
	return ""
}

// SignUp creates an account when signups are open. Its address is unverified: the same
// transaction enqueues the email with the link that verifies it.
func (s *Service) SignUp(ctx context.Context, in SignUpInput) (User, error) {
	if !s.opts.SignupsOpen {
		return User{}, ErrSignupsClosed
	}
	return s.createUser(ctx, in, false)
}

// CreateUser creates an account whether or not signups are open: the admin path. Its
// address counts as verified, since an administrator gave it.
func (s *Service) CreateUser(ctx context.Context, in SignUpInput) (User, error) {
	return s.createUser(ctx, in, true)
}

// createUser writes the user and its user.created event in one transaction, with the
// address marked verified or the job that sends its verification link.
func (s *Service) createUser(ctx context.Context, in SignUpInput, verified bool) (User, error) {
	if verr := validateSignUp(&in); verr != nil {
		return User{}, verr
	}
	hash, err := password.Hash(in.Password, s.opts.Password)
	if err != nil {
		return User{}, err
	}
	var u store.User
	var eventID int64
	err = store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		var err error
		u, err = q.UserCreate(ctx, store.UserCreateParams{
			Username: in.Username, Email: in.Email, PasswordHash: hash, DisplayName: in.DisplayName,
		})
		if err != nil {
			return err
		}
		if verified {
			err = q.UserSetEmailVerified(ctx, u.ID)
			u.EmailVerifiedAt = &u.CreatedAt
		} else {
			err = s.enqueue(ctx, tx, jobargs.VerifyEmail{UserID: u.ID})
		}
		if err != nil {
			return err
		}
		eventID, err = events.Append(ctx, q, events.UserCreated{UserID: u.ID})
		return err
	})
	if c, ok := store.IsUniqueViolation(err); ok {
		if strings.Contains(c, "email") {
			return User{}, invalid("email", "An account with this email address exists already.")
		}
		return User{}, invalid("username", "This username is taken.")
	}
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	s.woke(events.TopicUserCreated, eventID)
	s.log.InfoContext(ctx, "user created", "user_id", u.ID)
	return userFrom(u), nil
}

// Authenticate returns the account whose username or email is login when pw is its
// password. Unknown logins and wrong passwords both give ErrBadCredentials, after the same
// amount of hashing work.
func (s *Service) Authenticate(ctx context.Context, login, pw string) (User, error) {
	login = strings.TrimSpace(login)
	if len(pw) > MaxPasswordBytes || len(login) > 254 || !utf8.ValidString(login) {
		return User{}, ErrBadCredentials
	}
	u, err := s.q.UserGetByLogin(ctx, login)
	hash := u.PasswordHash
	if errors.Is(err, pgx.ErrNoRows) {
		hash = s.dummyHash
	} else if err != nil {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	ok, verr := password.Verify(pw, hash)
	if verr != nil {
		return User{}, fmt.Errorf("authenticate user %d: %w", u.ID, verr)
	}
	if !ok || err != nil {
		return User{}, ErrBadCredentials
	}
	return userFrom(u), nil
}

// GrantAdmin gives the admin flag to the named user.
func (s *Service) GrantAdmin(ctx context.Context, username string) error {
	var eventID int64
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		ids, err := q.UserSetAdmin(ctx, store.UserSetAdminParams{Username: username, IsAdmin: true})
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return ErrNotFound
		}
		eventID, err = events.Append(ctx, q, events.AccountUpdated{UserID: ids[0]}) // what the account may do
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("grant admin: %w", err)
	}
	s.woke(events.TopicAccountUpdated, eventID)
	return nil
}

// UserByID returns the account with id.
func (s *Service) UserByID(ctx context.Context, id int64) (User, error) {
	u, err := s.q.UserGetByID(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("user %d: %w", id, err)
	}
	return userFrom(u), nil
}

// UserByUsername returns the account named username, in any case.
func (s *Service) UserByUsername(ctx context.Context, username string) (User, error) {
	if !text.ValidUsername(username) {
		return User{}, ErrNotFound
	}
	u, err := s.q.UserGetByUsername(ctx, username)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("user %q: %w", username, err)
	}
	return userFrom(u), nil
}

// Profile is a user page's header.
type Profile struct {
	User      User
	Posts     int64
	Followers int64
	Following int64
	// ViewerFollows is true when the viewer follows this user; ViewerRequested when the
	// viewer asked to follow this locked account and waits for an answer.
	ViewerFollows, ViewerRequested bool
	// bioMentions are the lowercased names the bio mentions that are accounts here.
	bioMentions map[string]bool
}

// maxBioMentions is how many of a bio's mentions are looked up to be linked.
const maxBioMentions = 10

// RenderBio returns the profile's bio as HTML, as a post's text is rendered: escaped, its
// URLs and hashtags linked, and its mentions of accounts that exist linked to them (under
// base, "" for this site's paths).
func (p Profile) RenderBio(base string) template.HTML {
	mentionURL := func(name string) string {
		if !p.bioMentions[strings.ToLower(name)] {
			return ""
		}
		return base + "/@" + url.PathEscape(name)
	}
	tagURL := func(name string) string { return base + "/tags/" + url.PathEscape(text.FoldTag(name)) }
	return text.Render(p.User.Bio, mentionURL, tagURL)
}

// ProfileOf returns the profile of username as seen by viewerID (0 for anonymous).
func (s *Service) ProfileOf(ctx context.Context, username string, viewerID int64) (Profile, error) {
	u, err := s.UserByUsername(ctx, username)
	if err != nil {
		return Profile{}, err
	}
	counts, err := s.CountsOf(ctx, []int64{u.ID}) // the same numbers the API shows
	if err != nil {
		return Profile{}, fmt.Errorf("profile: %w", err)
	}
	st := counts[u.ID]
	p := Profile{User: u, Posts: st.Posts, Followers: st.Followers, Following: st.Following}
	for i, name := range text.Mentions(u.Bio) {
		if i == maxBioMentions {
			break
		}
		if _, err := s.UserByUsername(ctx, name); err == nil {
			if p.bioMentions == nil {
				p.bioMentions = map[string]bool{}
			}
			p.bioMentions[strings.ToLower(name)] = true
		} else if !errors.Is(err, ErrNotFound) {
			return Profile{}, fmt.Errorf("profile: %w", err)
		}
	}
	if viewerID != 0 && viewerID != u.ID {
		rels, err := s.RelationshipsOf(ctx, viewerID, []int64{u.ID})
		if err != nil {
			return Profile{}, fmt.Errorf("profile: %w", err)
		}
		if len(rels) == 1 {
			p.ViewerFollows, p.ViewerRequested = rels[0].Following, rels[0].Requested
		}
	}
	return p, nil
}

// displayNameProblem returns why s is not an acceptable display name, or "": at most 50
// characters of valid text, without control characters, and without the invisible
// characters that reverse or disguise the text around them (text.HasHiddenFormatting).
func displayNameProblem(s string) string {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxDisplayName ||
		strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "Use at most 50 characters."
	}
	if text.HasHiddenFormatting(s) {
		return "Remove the invisible formatting characters (direction marks, zero-width spaces)."
	}
	return ""
}

// LoginKey returns the key under which attempts to log in as login are limited (see
// httpx.LoginLimits): the account's own key, the same whether login is its username or
// its email in any case (AccountLoginKey), or, for a login no account has, a key made from
// the name itself. Known and unknown logins cost the same lookup, and a key reveals nothing
// to someone who only sees the answers: each name is limited alike.
func (s *Service) LoginKey(ctx context.Context, login string) (string, error) {
	login = strings.TrimSpace(login)
	if len(login) <= 254 && utf8.ValidString(login) {
		u, err := s.q.UserGetByLogin(ctx, login)
		if err == nil {
			return AccountLoginKey(u.ID), nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return "", fmt.Errorf("login key: %w", err)
		}
	}
	sum := sha256.Sum256([]byte(strings.ToLower(login)))
	return "name:" + hex.EncodeToString(sum[:16]), nil
}

// AccountLoginKey returns the LoginKey of the account userID: what its logins and the
// checks of its current password (CheckPassword, ChangePassword) are limited under.
func AccountLoginKey(userID int64) string { return "account:" + strconv.FormatInt(userID, 10) }

// CheckPassword returns nil when pw is userID's password, and a ValidationError on
// current_password when it is not: the re-authentication asked for before a change that
// outlives the session, such as a new personal access token.
func (s *Service) CheckPassword(ctx context.Context, userID int64, pw string) error {
	row, err := s.q.UserGetByID(ctx, userID)
	if err != nil {
		return fmt.Errorf("check password: %w", err)
	}
	return checkCurrentPassword(row, pw)
}

func checkCurrentPassword(row store.User, pw string) error {
	if len(pw) > MaxPasswordBytes {
		return invalid("current_password", "That is not your current password.")
	}
	ok, err := password.Verify(pw, row.PasswordHash)
	if err != nil {
		return fmt.Errorf("check password of user %d: %w", row.ID, err)
	}
	if !ok {
		return invalid("current_password", "That is not your current password.")
	}
	return nil
}

// ChangePassword sets userID's password after checking the current one and, in the same
// transaction, ends every website session that logged in before now (the caller renews its
// own) and revokes every OAuth and personal token of the account: whoever held the old
// password, or a token made with it, is out.
func (s *Service) ChangePassword(ctx context.Context, userID int64, current, next string) error {
	row, err := s.q.UserGetByID(ctx, userID)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if err := checkCurrentPassword(row, current); err != nil {
		return err
	}
	if msg := passwordProblem(next, row.Username, row.Email); msg != "" {
		return invalid("new_password", msg)
	}
	hash, err := password.Hash(next, s.opts.Password)
	if err != nil {
		return err
	}
	var revoked []int64
	var eventID int64
	err = store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		if err := q.UserSetPassword(ctx, store.UserSetPasswordParams{ID: userID, PasswordHash: hash}); err != nil {
			return err
		}
		if revoked, err = q.OAuthTokensRevokeAllOfUser(ctx, &userID); err != nil {
			return err
		}
		eventID, err = oauth.RecordRevoked(ctx, q, userID, revoked)
		return err
	})
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	s.woke(events.TopicTokenRevoked, eventID)
	s.log.InfoContext(ctx, "password changed; other sessions ended and tokens revoked", "user_id", userID, "tokens_revoked", len(revoked))
	return nil
}

// EndSessions ends every website session of userID that logged in before now and revokes
// every OAuth and personal token of the account: "log out everywhere".
func (s *Service) EndSessions(ctx context.Context, userID int64) error {
	var eventID int64
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		if err := q.UserEndSessions(ctx, userID); err != nil {
			return err
		}
		ids, err := q.OAuthTokensRevokeAllOfUser(ctx, &userID)
		if err != nil {
			return err
		}
		eventID, err = oauth.RecordRevoked(ctx, q, userID, ids)
		return err
	})
	if err == nil {
		s.woke(events.TopicTokenRevoked, eventID)
	}
	if err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	s.log.InfoContext(ctx, "logged out everywhere", "user_id", userID)
	return nil
}
