package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/oauth"
)

func TestPasswordChangeAndLogoutEverywhere(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	laptop := s.client()
	laptop.signup("alice")
	phone := s.client()
	res := phone.post("/login", url.Values{"login": {"alice"}, "password": {testPassword}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, http.StatusOK, phone.get("/home").status)

	// A wrong current password or a weak new one changes nothing.
	res = laptop.post("/settings/password", url.Values{"current_password": {"not it at all"}, "new_password": {"brand new passphrase"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "not your current password")
	res = laptop.post("/settings/password", url.Values{"current_password": {testPassword}, "new_password": {"short"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Equal(t, http.StatusOK, phone.get("/home").status, "still logged in")

	res = laptop.post("/settings/password", url.Values{"current_password": {testPassword}, "new_password": {"brand new passphrase"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Contains(t, res.header.Get("Set-Cookie"), "starling_session=", "the session id is rotated")
	require.Equal(t, http.StatusOK, laptop.get("/home").status, "this session stays")
	require.Equal(t, http.StatusSeeOther, phone.get("/home").status, "the other session is logged out")
	require.Equal(t, http.StatusUnprocessableEntity, phone.post("/login", url.Values{"login": {"alice"}, "password": {testPassword}}).status)
	require.Equal(t, http.StatusSeeOther, phone.post("/login", url.Values{"login": {"alice"}, "password": {"brand new passphrase"}}).status)

	// Log out everywhere: every session and every token.
	var uid int64
	require.NoError(t, s.pool.QueryRow(context.Background(), `SELECT id FROM users WHERE username = 'alice'`).Scan(&uid))
	authz := oauth.New(s.pool)
	tok, err := authz.CreatePersonalToken(context.Background(), uid, "script", "read")
	require.NoError(t, err)
	res = phone.post("/settings/logout-everywhere", nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, http.StatusSeeOther, phone.get("/home").status)
	require.Equal(t, http.StatusSeeOther, laptop.get("/home").status)
	_, err = authz.Lookup(context.Background(), tok.AccessToken)
	require.ErrorIs(t, err, oauth.ErrNotFound, "tokens revoked")
}
