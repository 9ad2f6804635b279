package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSignupPostAndReadLoggedOut(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.client().signup("bob")
	alice := s.client()
	alice.signup("alice")

	res := alice.post("/posts", url.Values{"body": {"Hello <team>! cc @bob and @nobody https://example.com/a?b=1&c=2."}, "next": {"/home"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, "/home", res.location)
	s.waitFor(`SELECT count(*) FROM mentions`, 1)

	anon := s.client()
	page := anon.get("/")
	require.Equal(t, http.StatusOK, page.status)
	require.Contains(t, page.body, "Hello &lt;team&gt;!")
	require.Contains(t, page.body, `<a class="mention" href="/@bob">@bob</a>`)
	require.Contains(t, page.body, ` @nobody `, "unknown names are not linked")
	require.Contains(t, page.body, `<a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener noreferrer" target="_blank">`)
	require.NotContains(t, page.body, "<team>")
	require.NotContains(t, page.body, `name="body"`, "no compose box for anonymous readers")

	userPage := anon.get("/@ALICE")
	require.Equal(t, http.StatusOK, userPage.status)
	require.Contains(t, userPage.body, "Hello &lt;team&gt;!")
	// The count is the stats worker's counter (one source for the page and the API), so it
	// follows the post within moments.
	require.Eventually(t, func() bool {
		return strings.Contains(anon.get("/@ALICE").body, "<strong>1</strong> post</span>")
	}, 10*time.Second, 20*time.Millisecond, "the post count follows the post")

	id := regexp.MustCompile(`/posts/(\d+)`).FindStringSubmatch(page.body)
	require.NotNil(t, id)
	require.Equal(t, http.StatusOK, anon.get("/posts/"+id[1]).status)

	// Home needs a login.
	res = anon.get("/home")
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/login?next=%2Fhome", res.location)
}

func TestSessionCookieAndLoginLogout(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.client()
	res := c.post("/signup", url.Values{"username": {"alice"}, "email": {"alice@example.com"}, "password": {testPassword}})
	require.Equal(t, http.StatusSeeOther, res.status)
	cookie := res.header.Get("Set-Cookie")
	require.Contains(t, cookie, "starling_session=")
	require.Contains(t, cookie, "HttpOnly")
	require.Contains(t, cookie, "SameSite=Lax")
	token := strings.TrimPrefix(strings.Split(cookie, ";")[0], "starling_session=")
	require.Equal(t, 0, s.count(`SELECT count(*) FROM sessions WHERE token = $1`, token), "session token stored in clear")
	require.Equal(t, 1, s.count(`SELECT count(*) FROM sessions`))

	require.Equal(t, http.StatusOK, c.get("/home").status)
	res = c.post("/logout", nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, http.StatusSeeOther, c.get("/home").status, "logged out")

	res = c.post("/login", url.Values{"login": {"alice"}, "password": {"not the password"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "Wrong username or password.")
	unknown := c.post("/login", url.Values{"login": {"nobody"}, "password": {"not the password"}})
	require.Equal(t, res.status, unknown.status)
	require.Contains(t, unknown.body, "Wrong username or password.")

	res = c.post("/login", url.Values{"login": {"ALICE@example.com"}, "password": {testPassword}, "next": {"/@alice"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/@alice", res.location)
	newToken := strings.TrimPrefix(strings.Split(res.header.Get("Set-Cookie"), ";")[0], "starling_session=")
	require.NotEqual(t, token, newToken, "token renewed on login")

	// An open redirect is refused.
	res = c.post("/login", url.Values{"login": {"alice"}, "password": {testPassword}, "next": {"//evil.example/"}})
	require.Equal(t, "/", res.location)
}

func TestBadInputGetsClearErrorsAndChangesNothing(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	alice := s.client()
	alice.signup("alice")
	posts := func() int { return s.count(`SELECT count(*) FROM posts`) }

	for name, body := range map[string]string{
		"empty":          "",
		"whitespace":     "   \r\n\t  ",
		"501 characters": strings.Repeat("ü", 501),
		"invalid UTF-8":  "bad \xff bytes",
	} {
		res := alice.post("/posts", url.Values{"body": {body}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status, name)
		require.Regexp(t, `Write something first|at most 500 characters|not valid UTF-8`, res.body, name)
	}
	require.Equal(t, 0, posts())
	res := alice.post("/posts", url.Values{"body": {strings.Repeat("ü", 500)}})
	require.Equal(t, http.StatusSeeOther, res.status, "500 two-byte characters fit")

	// Duplicate username differing only in case.
	other := s.client()
	res = other.post("/signup", url.Values{"username": {"ALICE"}, "email": {"other@example.com"}, "password": {testPassword}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "This username is taken.")
	// Weak and short passwords.
	res = other.post("/signup", url.Values{"username": {"bob"}, "email": {"bob@example.com"}, "password": {"short"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "Use at least 10 characters.")
	require.Contains(t, res.body, `value="bob@example.com"`, "the form keeps what was typed")
	res = other.post("/signup", url.Values{"username": {"bob"}, "email": {"bob@example.com"}, "password": {"password123"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "too common")
	require.Equal(t, 1, s.count(`SELECT count(*) FROM users`))

	// Unknown user page and post.
	require.Equal(t, http.StatusNotFound, other.get("/@nobody").status)
	require.Equal(t, http.StatusNotFound, other.get("/@not-a-valid-name!").status)
	require.Equal(t, http.StatusNotFound, other.get("/posts/999999").status)
	require.Equal(t, http.StatusBadRequest, other.get("/?before=abc").status)

	// Deleting another user's post.
	other.signup("bob")
	var id int64
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT id FROM posts LIMIT 1`).Scan(&id))
	res = other.post(fmt.Sprintf("/posts/%d/delete", id), nil)
	require.Equal(t, http.StatusForbidden, res.status)
	require.Equal(t, 1, posts())

	// A cross-origin form post.
	res = alice.post("/posts", url.Values{"body": {"forged"}}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusForbidden, res.status)
	require.Contains(t, res.body, "sent from another site")
	require.Equal(t, 1, posts())

	// An oversized form.
	res = alice.post("/posts", url.Values{"body": {strings.Repeat("x", 100<<10)}})
	require.Equal(t, http.StatusRequestEntityTooLarge, res.status)

	// The owner can delete.
	res = alice.post(fmt.Sprintf("/posts/%d/delete", id), nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, http.StatusNotFound, alice.get(fmt.Sprintf("/posts/%d", id)).status)
}

func TestSecurityHeadersAndRequestID(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.client()
	res := c.get("/")
	require.Contains(t, res.header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	require.NotContains(t, res.header.Get("Content-Security-Policy"), "unsafe-inline")
	require.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"))
	require.NotEmpty(t, res.header.Get("Referrer-Policy"))
	require.Len(t, res.header.Get("X-Request-ID"), 20)

	c.signup("alice")
	res = c.post("/posts", url.Values{"body": {"traced"}}, "X-Request-ID", "trace-me-42")
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "trace-me-42", res.header.Get("X-Request-ID"))
	require.Equal(t, 1, s.count(`SELECT count(*) FROM events WHERE topic = 'post.created' AND request_id = 'trace-me-42'`))
	require.Regexp(t, `"msg":"post created".*"request_id":"trace-me-42"`, s.logs.String())
	require.Regexp(t, `"msg":"http request".*"path":"/posts".*"request_id":"trace-me-42"`, s.logs.String())

	// A hostile request id is replaced, not echoed.
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/healthz", nil)
	req.Header.Set("X-Request-ID", "evil\"<script>")
	res = c.do(req)
	require.Len(t, res.header.Get("X-Request-ID"), 20)
	require.Equal(t, http.StatusOK, c.get("/readyz").status)
}

func TestPasswordNeverInPagesOrLogs(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.client()
	c.signup("alice")
	var hash string
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT password_hash FROM users`).Scan(&hash))
	require.True(t, strings.HasPrefix(hash, "$argon2id$"))
	c.post("/posts", url.Values{"body": {"hi"}})
	c.post("/login", url.Values{"login": {"alice"}, "password": {"wrong password here"}})
	var pages strings.Builder
	for _, p := range []string{"/", "/home", "/@alice", "/login", "/signup"} {
		pages.WriteString(c.get(p).body)
	}
	for _, secret := range []string{hash, strings.Split(hash, "$")[5], "argon2id", testPassword, "wrong password here"} {
		require.NotContains(t, pages.String(), secret)
		require.NotContains(t, s.logs.String(), secret)
	}
}

func TestWebTimelinePagination(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.client()
	c.signup("alice")
	for i := range 45 {
		res := c.post("/posts", url.Values{"body": {fmt.Sprintf("post %02d", i)}})
		require.Equal(t, http.StatusSeeOther, res.status)
	}
	seen := map[string]bool{}
	path, pages := "/", 0
	older := regexp.MustCompile(`<a rel="next" href="([^"]+)">`)
	postRe := regexp.MustCompile(`post (\d\d)`)
	for path != "" {
		res := c.get(path)
		require.Equal(t, http.StatusOK, res.status)
		pages++
		for _, m := range postRe.FindAllStringSubmatch(res.body, -1) {
			require.False(t, seen[m[1]], "post %s twice", m[1])
			seen[m[1]] = true
		}
		path = ""
		if m := older.FindStringSubmatch(res.body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	require.Equal(t, 3, pages)
	require.Len(t, seen, 45)
}

func TestFollowFromProfile(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bob := s.client()
	bob.signup("bob")
	bob.post("/posts", url.Values{"body": {"bob was here"}})
	alice := s.client()
	alice.signup("alice")
	require.NotContains(t, alice.get("/home").body, "bob was here")
	res := alice.post("/@bob/follow", nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Contains(t, alice.get("/home").body, "bob was here")
	require.Contains(t, alice.get("/@bob").body, "Unfollow")
	require.Equal(t, http.StatusUnprocessableEntity, alice.post("/@alice/follow", nil).status)
	require.Equal(t, http.StatusNotFound, alice.post("/@nobody/follow", nil).status)
	require.Equal(t, http.StatusSeeOther, alice.post("/@bob/unfollow", nil).status)
	require.NotContains(t, alice.get("/home").body, "bob was here")
	anon := s.client()
	res = anon.post("/@bob/follow", nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.True(t, strings.HasPrefix(res.location, "/login"))
}

func TestLogsShowRequestLinesForTheDenyPath(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.client()
	c.post("/posts", url.Values{"body": {"x"}}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	require.Contains(t, s.logs.String(), `"status":403`)
	require.NotContains(t, s.logs.String(), "panic")
}
