package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/starling-social/starling/internal/store"
	"github.com/starling-social/starling/internal/text"
)

// Settings are the preferences a user edits on the settings page.
type Settings struct {
	DisplayName   string
	Bio           string
	EmailMentions bool
	// Theme is the website's colour theme; "" keeps the default, ThemeSystem.
	Theme string
}

// The website's colour themes: the system's (light or dark as the device is set), or one
// of them always.
const (
	ThemeSystem = "system"
	ThemeLight  = "light"
	ThemeDark   = "dark"
)

// UpdateSettings saves userID's settings after checking them.
func (s *Service) UpdateSettings(ctx context.Context, userID int64, in Settings) error {
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	bio, err := text.NormalizePost(in.Bio)
	switch {
	case errors.Is(err, text.ErrEmpty):
		bio = ""
	case err != nil:
		return invalid("bio", "Use at most 500 characters of valid text.")
	}
	errs := map[string]string{}
	if msg := displayNameProblem(in.DisplayName); msg != "" {
		errs["display_name"] = msg
	}
	in.Theme = cmp.Or(in.Theme, ThemeSystem)
	if !slices.Contains([]string{ThemeSystem, ThemeLight, ThemeDark}, in.Theme) {
		errs["theme"] = "Choose the system's theme, light or dark."
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	err = s.changeAccount(ctx, userID, func(q *store.Queries) error {
		return q.UserUpdateSettings(ctx, store.UserUpdateSettingsParams{
			ID: userID, DisplayName: in.DisplayName, Bio: bio, EmailMentions: in.EmailMentions, Theme: in.Theme,
		})
	})
	if err != nil {
		return fmt.Errorf("update settings: %w", err)
	}
	return nil
}
