package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/store"
	"github.com/starling-social/starling/internal/text"
)

// ProfileField is one name–value pair of a profile ("Pronouns": "she/her").
type ProfileField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Profile field limits (Mastodon's).
const (
	MaxProfileFields     = 4
	MaxProfileFieldChars = 255
)

// ProfileUpdate is a change to a profile: a nil part stays as it is.
type ProfileUpdate struct {
	DisplayName, Note *string
	Bot, Discoverable *bool
	Fields            *[]ProfileField
	// DefaultVisibility, DefaultSensitive and DefaultLanguage are the new posts'
	// defaults; a DefaultLanguage of "" removes the default.
	DefaultVisibility *string
	DefaultSensitive  *bool
	DefaultLanguage   *string
	// Locked makes follows of the account requests it answers; unlocking accepts every
	// pending request.
	Locked *bool
}

// UpdateProfile applies u to user's profile and returns the account as it now is. Every
// problem is reported at once, by the field's API name (display_name, note,
// fields_attributes, source[privacy], source[language]).
func (s *Service) UpdateProfile(ctx context.Context, user User, u ProfileUpdate) (User, error) {
	problems := map[string]string{}
	optBool := func(b *bool) pgtype.Bool {
		if b == nil {
			return pgtype.Bool{}
		}
		return pgtype.Bool{Bool: *b, Valid: true}
	}
	p := store.UserUpdateProfileParams{ID: user.ID, Bot: optBool(u.Bot), Discoverable: optBool(u.Discoverable),
		DefaultSensitive: optBool(u.DefaultSensitive)}
	if u.DisplayName != nil {
		name := strings.TrimSpace(*u.DisplayName)
		if msg := displayNameProblem(name); msg != "" {
			problems["display_name"] = msg
		}
		p.DisplayName = &name
	}
	if u.Note != nil {
		bio, err := text.NormalizePost(*u.Note)
		switch {
		case errors.Is(err, text.ErrEmpty):
			bio = ""
		case err != nil:
			problems["note"] = "Use at most 500 characters of valid text."
		}
		p.Bio = &bio
	}
	if u.Fields != nil {
		fields := make([]ProfileField, 0, len(*u.Fields))
		for _, f := range *u.Fields {
			f.Name, f.Value = strings.TrimSpace(f.Name), strings.TrimSpace(f.Value)
			if f.Name == "" && f.Value == "" {
				continue // an emptied row of the form
			}
			if f.Name == "" || utf8.RuneCountInString(f.Name) > MaxProfileFieldChars || utf8.RuneCountInString(f.Value) > MaxProfileFieldChars ||
				!text.Storable(f.Name) || !text.Storable(f.Value) || text.HasHiddenFormatting(f.Name) {
				problems["fields_attributes"] = fmt.Sprintf("each field needs a name; names and values have at most %d characters", MaxProfileFieldChars)
			}
			fields = append(fields, f)
		}
		if len(fields) > MaxProfileFields {
			problems["fields_attributes"] = fmt.Sprintf("at most %d fields", MaxProfileFields)
		}
		b, err := json.Marshal(fields)
		if err != nil {
			return User{}, err
		}
		p.Fields = b
	}
	if u.DefaultVisibility != nil {
		switch *u.DefaultVisibility {
		case VisibilityPublic, VisibilityUnlisted, VisibilityPrivate, VisibilityDirect:
			p.DefaultVisibility = u.DefaultVisibility
		default:
			problems["source[privacy]"] = "is one of public, unlisted, private, direct"
		}
	}
	if u.DefaultLanguage != nil {
		p.SetLanguage = true
		if *u.DefaultLanguage != "" {
			code, ok := LanguageCode(*u.DefaultLanguage)
			if !ok {
				problems["source[language]"] = "is not an ISO 639-1 language code"
			}
			p.DefaultLanguage = &code
		}
	}
	if len(problems) > 0 {
		return User{}, &ValidationError{Fields: problems}
	}
	var row store.User
	var eventID int64
	err := s.changeAccount(ctx, user.ID, func(q *store.Queries) error {
		var err error
		if row, err = q.UserUpdateProfile(ctx, p); err != nil {
			return err
		}
		if u.Locked != nil && *u.Locked != row.Locked {
			if eventID, err = s.setLocked(ctx, q, user.ID, *u.Locked); err != nil {
				return err
			}
			row.Locked = *u.Locked
		}
		return nil
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("update profile: %w", err)
	}
	s.woke(events.TopicFollowCreated, eventID)
	return userFrom(row), nil
}

// changeAccount runs change in a transaction that also writes userID's account.updated
// event, so that every process's caches drop what they keep of the account (see
// internal/cache), then wakes the readers.
func (s *Service) changeAccount(ctx context.Context, userID int64, change func(q *store.Queries) error) error {
	var eventID int64
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		if err := change(q); err != nil {
			return err
		}
		var err error
		eventID, err = events.Append(ctx, q, events.AccountUpdated{UserID: userID})
		return err
	})
	if err != nil {
		return err
	}
	s.woke(events.TopicAccountUpdated, eventID)
	return nil
}
