package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mattn/go-mastodon"
	"github.com/stretchr/testify/require"
)

// TestUpdateCredentials: go-mastodon's AccountUpdate (a form, with numbered
// fields_attributes) and a JSON-posting app change the profile and the new posts'
// defaults, which verify_credentials, the account, preferences and a post without a
// visibility then show; what Starling cannot do yet is refused by name.
func TestUpdateCredentials(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx := context.Background()
	alice := s.user("alice")
	tok := s.personalToken(alice, "read write")
	c := mastodon.NewClient(&mastodon.Config{Server: s.base, AccessToken: tok})

	name, note, privacy, lang, sensitive := "Alice A.", "Gardens & <code>", "unlisted", "de", true
	a, err := c.AccountUpdate(ctx, &mastodon.Profile{DisplayName: &name, Note: &note,
		Fields: &[]mastodon.Field{{Name: "Site", Value: "https://alice.example/"}, {Name: "Pronouns", Value: "she/her"}},
		Source: &mastodon.AccountSource{Privacy: &privacy, Language: &lang, Sensitive: &sensitive}})
	require.NoError(t, err)
	require.Equal(t, "Alice A.", a.DisplayName)
	require.Contains(t, a.Note, "Gardens &amp; &lt;code&gt;")
	require.Len(t, a.Fields, 2)
	require.Equal(t, "Site", a.Fields[0].Name)
	require.Contains(t, a.Fields[0].Value, `<a href="https://alice.example/"`, "a field's URL is linked")
	require.Equal(t, "unlisted", *a.Source.Privacy)
	require.Equal(t, "de", *a.Source.Language)

	// A post that does not say takes the defaults.
	st, err := c.PostStatus(ctx, &mastodon.Toot{Status: "Die Häuser"})
	require.NoError(t, err)
	require.Equal(t, "unlisted", st.Visibility)
	require.Equal(t, "de", st.Language)
	require.True(t, st.Sensitive)
	st, err = c.PostStatus(ctx, &mastodon.Toot{Status: "public after all", Visibility: "public", Sensitive: false, Language: "en"})
	require.NoError(t, err)
	require.Equal(t, "public", st.Visibility)
	code, prefs, _ := s.call(http.MethodGet, "/api/v1/preferences", tok, nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, prefs, `"posting:default:visibility":"unlisted"`)
	require.Contains(t, prefs, `"posting:default:language":"de"`)

	// JSON, as web apps send it: bot, discoverable, fields as a list, an emptied field.
	code, body := rawJSON(s, http.MethodPatch, "/api/v1/accounts/update_credentials", tok, "application/json",
		[]byte(`{"bot":true,"discoverable":false,"fields_attributes":[{"name":"Site","value":"x"},{"name":"","value":""}],"source":{"language":""}}`))
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"bot":true`)
	require.Contains(t, body, `"discoverable":false`)
	require.Contains(t, body, `"language":""`)
	me, err := c.GetAccountCurrentUser(ctx)
	require.NoError(t, err)
	require.Len(t, me.Fields, 1, "the empty row is dropped")
	require.True(t, me.Bot)
	require.Equal(t, "Alice A.", me.DisplayName, "what was not sent stays")

	for _, bad := range []struct{ body, field string }{
		{`{"locked":"perhaps"}`, "locked"},
		{`{"avatar":"data:image/png;base64,AAAA"}`, "avatar"},
		{`{"hide_collections":true}`, "hide_collections"},
		{`{"indexable":false}`, "indexable"},
		{`{"display_name":"` + strings.Repeat("a", 51) + `"}`, "display_name"},
		{`{"fields_attributes":[{"name":"1","value":"a"},{"name":"2","value":"b"},{"name":"3","value":"c"},{"name":"4","value":"d"},{"name":"5","value":"e"}]}`, "fields_attributes"},
		{`{"fields_attributes":[{"name":"x","value":3}]}`, "fields_attributes"},
		{`{"source":{"privacy":"secret"}}`, "source[privacy]"},
		{`{"source":{"language":"klingon"}}`, "source[language]"},
		{`{"colour":"red"}`, "colour"},
	} {
		code, body := rawJSON(s, http.MethodPatch, "/api/v1/accounts/update_credentials", tok, "application/json", []byte(bad.body))
		require.Equal(t, http.StatusUnprocessableEntity, code, "%s: %s", bad.body, body)
		require.Contains(t, body, bad.field, bad.body)
	}
	code, body2, _ := s.call(http.MethodPatch, "/api/v1/accounts/update_credentials", s.personalToken(alice, "read"),
		url.Values{"note": {"x"}})
	require.Equal(t, http.StatusForbidden, code, body2, "write:accounts is needed")
	code, body2, _ = s.call(http.MethodDelete, "/api/v1/profile/avatar", tok, nil)
	require.Equal(t, http.StatusOK, code, body2)
	require.Contains(t, body2, `"avatar":"`+s.base+`/avatars/`)
}
