package core

import (
	"context"
	"fmt"
	"time"

	"github.com/starling-social/starling/internal/store"
)

// Credential is what a live stream was opened with, re-checked while the stream runs (see
// live.Hub.Watch): an API access token, or a logged-in website session. The zero
// Credential is an anonymous stream's, with nothing to re-check.
type Credential struct {
	// TokenID is the id of the stream's API access token (OAuth or personal), or 0.
	TokenID int64
	// Session is the stored key of the stream's website session (the SHA-256 of its
	// cookie), or "".
	Session string
	// UserID is the account the session is logged in as.
	UserID int64
	// AuthAt is when the session logged in: a password change or "log out everywhere"
	// after it ends the session.
	AuthAt time.Time
}

// IsZero reports whether c is an anonymous stream's credential.
func (c Credential) IsZero() bool { return c.TokenID == 0 && c.Session == "" }

// EndedCredentials reports, for each of creds, whether it has ended since the stream
// opened: the token was revoked, or the session logged out, expired, or was ended by a
// password change or "log out everywhere". It costs one query per kind of credential,
// however many streams hold them. A zero Credential never ends.
func (s *Service) EndedCredentials(ctx context.Context, creds []Credential) ([]bool, error) {
	var tokens []int64
	var sessions store.CredentialSessionsLiveParams
	seenToken, seenSession := map[int64]bool{}, map[string]bool{}
	for _, c := range creds {
		if c.TokenID != 0 && !seenToken[c.TokenID] {
			seenToken[c.TokenID] = true
			tokens = append(tokens, c.TokenID)
		}
		if c.Session != "" && !seenSession[c.Session] {
			seenSession[c.Session] = true
			sessions.Sessions = append(sessions.Sessions, c.Session)
			sessions.UserIds = append(sessions.UserIds, c.UserID)
			sessions.AuthAts = append(sessions.AuthAts, c.AuthAt)
		}
	}
	liveToken, liveSession := map[int64]bool{}, map[string]bool{}
	if len(tokens) > 0 {
		ids, err := s.q.CredentialTokensLive(ctx, tokens)
		if err != nil {
			return nil, fmt.Errorf("check stream tokens: %w", err)
		}
		for _, id := range ids {
			liveToken[id] = true
		}
	}
	if len(sessions.Sessions) > 0 {
		keys, err := s.q.CredentialSessionsLive(ctx, sessions)
		if err != nil {
			return nil, fmt.Errorf("check stream sessions: %w", err)
		}
		for _, k := range keys {
			liveSession[k] = true
		}
	}
	ended := make([]bool, len(creds))
	for i, c := range creds {
		ended[i] = (c.TokenID != 0 && !liveToken[c.TokenID]) || (c.Session != "" && !liveSession[c.Session])
	}
	return ended, nil
}
