package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/oauth"
)

// encoding sends a set of fields one way; JSON values may be nested (poll) or lists.
type encoding struct {
	name   string
	encode func(fields map[string]any) (contentType string, body []byte)
}

// formKeys flattens fields the way form-posting apps write them: lists as k[], objects as
// k[sub], lists inside objects as k[sub][].
func formKeys(fields map[string]any, add func(k, v string)) {
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(prefix+"["+k+"]", e)
			}
		case []any:
			for _, e := range x {
				add(prefix+"[]", fmt.Sprint(e))
			}
		default:
			add(prefix, fmt.Sprint(x))
		}
	}
	for k, v := range fields {
		switch v.(type) {
		case map[string]any, []any:
			walk(k, v)
		default:
			add(k, fmt.Sprint(v))
		}
	}
}

var encodings = []encoding{
	{"form", func(fields map[string]any) (string, []byte) {
		v := url.Values{}
		formKeys(fields, v.Add)
		return "application/x-www-form-urlencoded", []byte(v.Encode())
	}},
	{"multipart", func(fields map[string]any) (string, []byte) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		formKeys(fields, func(k, v string) { mw.WriteField(k, v) })
		mw.Close()
		return mw.FormDataContentType(), buf.Bytes()
	}},
	{"json", func(fields map[string]any) (string, []byte) {
		b, _ := json.Marshal(fields)
		return "application/json", b
	}},
}

// raw sends body with contentType and returns the status and the decoded JSON answer.
func (s *server) raw(method, path, token, contentType string, body []byte, header ...string) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	require.NoError(s.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(b) > 0 && b[0] == '{' {
		require.NoError(s.t, json.Unmarshal(b, &out), string(b))
	}
	if out == nil {
		out = map[string]any{"_raw": string(b)}
	}
	return res.StatusCode, out
}

// appToken returns a token for u issued to a registered app called name, as the code
// grant issues it.
func (s *server) appToken(u core.User, name, scopes string) string {
	s.t.Helper()
	ctx := context.Background()
	app, err := s.oauth.RegisterApp(ctx, name, "https://app.example", []string{oauth.OOB}, scopes)
	require.NoError(s.t, err)
	sc, err := oauth.ParseScopes(scopes)
	require.NoError(s.t, err)
	code, err := s.oauth.IssueCode(ctx, oauth.AuthorizeRequest{App: app, RedirectURI: oauth.OOB, Scopes: sc}, u.ID)
	require.NoError(s.t, err)
	tok, err := s.oauth.ExchangeCode(ctx, app.ClientID, app.ClientSecret, code, oauth.OOB, "")
	require.NoError(s.t, err)
	return tok.AccessToken
}

func (s *server) postCount() int {
	var n int
	require.NoError(s.t, s.pool.QueryRow(context.Background(), "SELECT count(*) FROM posts").Scan(&n))
	return n
}

// TestStatusFieldsEveryEncoding posts each field of POST /api/v1/statuses in each
// encoding and checks that it was stored as sent, or refused with 422 naming it and
// nothing stored. No field may be dropped without a word.
func TestStatusFieldsEveryEncoding(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice, bob, carol := s.user("alice"), s.user("bob"), s.user("carol")
	tok := s.appToken(alice, "Field Tester", "read write")
	ctx := context.Background()
	first, _, err := s.core.Publish(ctx, bob, core.NewPost{Body: "the first post"})
	require.NoError(t, err)
	hidden, _, err := s.core.Publish(ctx, carol, core.NewPost{Body: "for carol's followers", Visibility: core.VisibilityPrivate})
	require.NoError(t, err)
	gone, _, err := s.core.Publish(ctx, bob, core.NewPost{Body: "soon gone"})
	require.NoError(t, err)
	require.NoError(t, s.core.DeletePost(ctx, bob, gone.ID))

	accepted := []struct {
		name   string
		fields map[string]any
		check  func(t *testing.T, st map[string]any)
	}{
		{"status only", map[string]any{"status": "plain"}, func(t *testing.T, st map[string]any) {
			require.Equal(t, "public", st["visibility"])
			require.Nil(t, st["language"])
		}},
		{"visibility public", map[string]any{"status": "v", "visibility": "public"}, func(t *testing.T, st map[string]any) {
			require.Equal(t, "public", st["visibility"])
		}},
		{"visibility unlisted", map[string]any{"status": "v", "visibility": "unlisted"}, func(t *testing.T, st map[string]any) {
			require.Equal(t, "unlisted", st["visibility"])
		}},
		{"visibility private", map[string]any{"status": "v", "visibility": "private"}, func(t *testing.T, st map[string]any) {
			require.Equal(t, "private", st["visibility"])
		}},
		{"visibility direct", map[string]any{"status": "v @bob", "visibility": "direct"}, func(t *testing.T, st map[string]any) {
			require.Equal(t, "direct", st["visibility"])
			require.Len(t, st["mentions"], 1, "a direct post's mentions are known at once: they are who may see it")
		}},
		{"spoiler_text", map[string]any{"status": "the ending", "spoiler_text": "  film\nspoilers "}, func(t *testing.T, st map[string]any) {
			require.Equal(t, "film spoilers", st["spoiler_text"], "one line, trimmed")
			require.Equal(t, true, st["sensitive"], "a post behind a warning is sensitive")
		}},
		{"sensitive", map[string]any{"status": "s", "sensitive": true}, func(t *testing.T, st map[string]any) {
			require.Equal(t, true, st["sensitive"])
			require.Equal(t, "", st["spoiler_text"])
		}},
		{"in_reply_to_id", map[string]any{"status": "a reply", "in_reply_to_id": fmt.Sprint(first.ID)}, func(t *testing.T, st map[string]any) {
			require.Equal(t, fmt.Sprint(first.ID), st["in_reply_to_id"])
			require.Equal(t, fmt.Sprint(bob.ID), st["in_reply_to_account_id"])
		}},
		{"language", map[string]any{"status": "Guten Tag", "language": "de"}, func(t *testing.T, st map[string]any) {
			require.Equal(t, "de", st["language"])
		}},
		{"language with region", map[string]any{"status": "colour", "language": "en-GB"}, func(t *testing.T, st map[string]any) {
			require.Equal(t, "en", st["language"])
		}},
		// What apps send on every post when no option is chosen (Elk, Tusky, toot, Ice Cubes).
		{"defaults sent by apps", map[string]any{"status": "defaults", "spoiler_text": "", "sensitive": false,
			"visibility": "public", "content_type": "text/plain", "quote_approval_policy": "public"},
			func(t *testing.T, st map[string]any) {
				require.Equal(t, "", st["spoiler_text"])
				require.Equal(t, false, st["sensitive"])
			}},
	}
	refused := []struct {
		name   string
		fields map[string]any
		field  string // the field the 422 must name
	}{
		{"visibility bogus", map[string]any{"status": "x", "visibility": "bogus"}, "visibility"},
		{"spoiler_text too long", map[string]any{"status": strings.Repeat("x", 400), "spoiler_text": strings.Repeat("w", 101)}, "spoiler_text"},
		{"language unknown", map[string]any{"status": "x", "language": "xx"}, "language"},
		{"scheduled_at", map[string]any{"status": "x", "scheduled_at": "2030-01-01T00:00:00Z"}, "scheduled_at"},
		{"scheduled_at malformed", map[string]any{"status": "x", "scheduled_at": "tomorrow"}, "scheduled_at"},
		{"in_reply_to_id of no post", map[string]any{"status": "x", "in_reply_to_id": "999999"}, "in_reply_to_id"},
		{"in_reply_to_id of a hidden post", map[string]any{"status": "x", "in_reply_to_id": fmt.Sprint(hidden.ID)}, "in_reply_to_id"},
		{"in_reply_to_id of a deleted post", map[string]any{"status": "x", "in_reply_to_id": fmt.Sprint(gone.ID)}, "in_reply_to_id"},
		{"media_ids", map[string]any{"status": "x", "media_ids": []any{"1", "2"}}, "media_ids"},
		{"poll", map[string]any{"status": "x", "poll": map[string]any{"options": []any{"a", "b"}, "expires_in": "3600"}}, "poll"},
		{"quoted_status_id", map[string]any{"status": "x", "quoted_status_id": "1"}, "quoted_status_id"},
		{"content_type markdown", map[string]any{"status": "x", "content_type": "text/markdown"}, "content_type"},
		{"unknown field", map[string]any{"status": "x", "colour": "blue"}, "colour"},
		{"empty status", map[string]any{"status": ""}, "status"},
	}
	for _, enc := range encodings {
		for _, c := range accepted {
			ct, body := enc.encode(c.fields)
			code, st := s.raw(http.MethodPost, "/api/v1/statuses", tok, ct, body)
			require.Equal(t, http.StatusOK, code, "%s / %s: %v", enc.name, c.name, st)
			c.check(t, st)
			// Stored, not just echoed: read it back, anonymously when anyone may see it.
			reader := ""
			if v := st["visibility"]; v == "private" || v == "direct" {
				code, _ := s.raw(http.MethodGet, "/api/v1/statuses/"+st["id"].(string), "", "", nil)
				require.Equal(t, http.StatusNotFound, code, "%s / %s: hidden from the anonymous", enc.name, c.name)
				reader = tok
			}
			code, back := s.raw(http.MethodGet, "/api/v1/statuses/"+st["id"].(string), reader, "", nil)
			require.Equal(t, http.StatusOK, code)
			c.check(t, back)
			require.Equal(t, "Field Tester", back["application"].(map[string]any)["name"], "the app it was posted with")
		}
		for _, c := range refused {
			before := s.postCount()
			ct, body := enc.encode(c.fields)
			code, out := s.raw(http.MethodPost, "/api/v1/statuses", tok, ct, body)
			require.Equal(t, http.StatusUnprocessableEntity, code, "%s / %s: %v", enc.name, c.name, out)
			require.Contains(t, out["error"], c.field, "%s / %s: the error names the field", enc.name, c.name)
			require.Contains(t, out["details"], c.field, "%s / %s", enc.name, c.name)
			require.Equal(t, before, s.postCount(), "%s / %s: nothing stored", enc.name, c.name)
		}
	}

	// The refused private posts are on no timeline.
	code, body, _ := s.call(http.MethodGet, "/api/v1/timelines/public?limit=40", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, body, `"visibility":"direct"`)
	var n int
	require.NoError(t, s.pool.QueryRow(context.Background(), "SELECT count(*) FROM posts WHERE language = 'de'").Scan(&n))
	require.Equal(t, len(encodings), n, "language stored in the posts table")
}

// TestStatusApplicationIsThePostersApp: a status names the app it was posted with, whoever
// reads it and through whichever app; posts from the website or a personal token name
// none.
func TestStatusApplicationIsThePostersApp(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice, bob := s.user("alice"), s.user("bob")
	aliceTok := s.appToken(alice, "Poster App", "read write")
	bobTok := s.appToken(bob, "Reader App", "read write")

	ct, body := encodings[2].encode(map[string]any{"status": "from my app"})
	code, st := s.raw(http.MethodPost, "/api/v1/statuses", aliceTok, ct, body)
	require.Equal(t, http.StatusOK, code, st)
	require.Equal(t, "Poster App", st["application"].(map[string]any)["name"])
	require.Equal(t, "https://app.example", st["application"].(map[string]any)["website"])
	for _, viewer := range []string{"", bobTok, aliceTok} {
		code, got := s.raw(http.MethodGet, "/api/v1/statuses/"+st["id"].(string), viewer, "", nil)
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "Poster App", got["application"].(map[string]any)["name"])
	}
	code, body2, _ := s.call(http.MethodGet, "/api/v1/timelines/home", bobTok, nil)
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, body2, "Reader App")

	personal := s.personalToken(alice, "read write")
	code, st = s.raw(http.MethodPost, "/api/v1/statuses", personal, ct, body)
	require.Equal(t, http.StatusOK, code)
	require.Nil(t, st["application"])
}

// TestStatusBadInput: malformed bodies, wrong types, NUL bytes, oversized lists and deep
// nesting get a 4xx with a message, never a 500.
func TestStatusBadInput(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tok := s.personalToken(s.user("alice"), "read write")
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprint(i + 1)
	}
	cases := []struct {
		name, ct, body string
		status         int
		mention        string
	}{
		{"not json", "application/json", `{"status":`, 400, "JSON"},
		{"json array", "application/json", `["status"]`, 400, "JSON object"},
		{"trailing data", "application/json", `{"status":"a"} {"status":"b"}`, 400, "after"},
		{"status a number", "application/json", `{"status":123}`, 422, "status"},
		{"status an object", "application/json", `{"status":{"a":1}}`, 422, "status"},
		{"sensitive a word", "application/json", `{"status":"a","sensitive":"maybe"}`, 422, "sensitive"},
		{"media_ids not ids", "application/json", `{"status":"a","media_ids":["x"]}`, 422, "media_ids"},
		{"nul in json", "application/json", `{"status":"a\u0000b"}`, 422, "NUL"},
		{"nul in form", "application/x-www-form-urlencoded", "status=a%00b", 422, "NUL"},
		{"nul in a field name", "application/json", `{"sta\u0000tus":"a"}`, 400, "NUL"},
		{"oversized json list", "application/json", `{"status":"a","media_ids":[` + strings.Join(many, ",") + `]}`, 400, "100"},
		{"oversized form list", "application/x-www-form-urlencoded", "status=a&media_ids[]=" + strings.Join(many, "&media_ids[]="), 400, "100"},
		{"deep nesting", "application/json", `{"poll":{"options":[["a"]],"x":{"y":{"z":1}}}}`, 400, "nested"},
		{"malformed form key", "application/x-www-form-urlencoded", "poll[options=a", 400, "malformed"},
		{"unknown poll field", "application/json", `{"status":"a","poll":{"options":["a","b"],"colour":"red"}}`, 422, "poll[colour]"},
	}
	for _, c := range cases {
		code, out := s.raw(http.MethodPost, "/api/v1/statuses", tok, c.ct, []byte(c.body))
		require.Equal(t, c.status, code, "%s: %v", c.name, out)
		require.Contains(t, fmt.Sprint(out["error"]), c.mention, c.name)
	}
	require.Equal(t, 0, s.postCount())
}
