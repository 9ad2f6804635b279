package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFollowFieldsAsAppsSendThem: the follow options each app sends are honoured or
// refused by name, in the encodings the apps use (Mastodon.py's form, megalodon's JSON,
// Ice Cubes' query string with an empty body).
func TestFollowFieldsAsAppsSendThem(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice, bob := s.user("alice"), s.user("bob")
	tok := s.personalToken(alice, "read write follow")
	follow := fmt.Sprintf("/api/v1/accounts/%d/follow", bob.ID)
	form, js := "application/x-www-form-urlencoded", "application/json"

	ok := []struct{ name, path, ct, body string }{
		{"Mastodon.py", follow, form, "reblogs=1&notify=0"},
		{"megalodon", follow, js, `{"reblog":true}`},
		{"Ice Cubes", follow + "?notify=false&reblogs=true", "", ""},
		{"Tusky", follow, form, "reblogs=true"},
		{"no body", follow, "", ""},
		{"unfollow, empty JSON", fmt.Sprintf("/api/v1/accounts/%d/unfollow", bob.ID), js, `{}`},
		{"clear, empty JSON", "/api/v1/notifications/clear", js, `{}`},
	}
	for _, c := range ok {
		code, out := s.raw(http.MethodPost, c.path, tok, c.ct, []byte(c.body))
		require.Equal(t, http.StatusOK, code, "%s: %v", c.name, out)
	}
	refused := []struct{ name, path, ct, body, field string }{
		{"hide boosts", follow, form, "reblogs=false", "reblogs"},
		{"hide boosts, megalodon", follow, js, `{"reblog":false}`, "reblogs"},
		{"notify", follow, js, `{"notify":true}`, "notify"},
		{"languages", follow, form, "languages[]=en", "languages"},
		{"unknown", follow, js, `{"colour":"red"}`, "colour"},
		{"clear with a field", "/api/v1/notifications/clear", js, `{"all":true}`, "all"},
		{"unfollow with a field", fmt.Sprintf("/api/v1/accounts/%d/unfollow", bob.ID), form, "x=1", "x"},
	}
	for _, c := range refused {
		code, out := s.raw(http.MethodPost, c.path, tok, c.ct, []byte(c.body))
		require.Equal(t, http.StatusUnprocessableEntity, code, "%s: %v", c.name, out)
		require.Contains(t, out["error"], c.field, c.name)
	}
}
