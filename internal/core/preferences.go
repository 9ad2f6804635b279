package core

import "context"

// Preferences are the defaults a user's apps apply when composing and showing posts
// (Mastodon's /api/v1/preferences).
type Preferences struct {
	// DefaultVisibility is the visibility of a new post when the app does not choose one:
	// "public", "unlisted", "private" or "direct". Defaults to "public".
	DefaultVisibility string
	// DefaultSensitive marks new posts' media as sensitive. Defaults to false.
	DefaultSensitive bool
	// DefaultLanguage is the ISO 639-1 code of new posts, or "" for none. Defaults to "".
	DefaultLanguage string
	// ExpandMedia says how to show media: "default" (hide what is marked sensitive),
	// "show_all" or "hide_all". Defaults to "default".
	ExpandMedia string
	// ExpandSpoilers opens content warnings without a click. Defaults to false.
	ExpandSpoilers bool
}

// PreferencesOf returns u's preferences: the defaults of new posts as the account set them
// (UpdateProfile's source); how to show media and content warnings are not settings yet,
// so everyone gets the defaults stated on Preferences' fields.
func (s *Service) PreferencesOf(ctx context.Context, u User) (Preferences, error) {
	v := u.DefaultVisibility
	if v == "" {
		v = VisibilityPublic
	}
	return Preferences{DefaultVisibility: v, DefaultSensitive: u.DefaultSensitive,
		DefaultLanguage: u.DefaultLanguage, ExpandMedia: "default"}, nil
}
