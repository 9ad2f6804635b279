package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/pgtest"
)

// TestMetricsAreForAdmins: without STARLING_METRICS_LISTEN, /metrics on the main address
// answers only an administrator's personal token or website session; anonymous visitors,
// other accounts and made-up tokens get 403 (issue 13, item 14).
func TestMetricsAreForAdmins(t *testing.T) {
	t.Parallel()
	_, dsn := pgtest.NewDB(t)
	token := setupUsers(t, dsn) // alice's personal token
	e := env("DATABASE_URL", dsn, "STARLING_PASSWORD_MEMORY_KIB", "1024", "STARLING_PASSWORD_ITERATIONS", "1")
	out, _, err := runCmd(t, e, "", "token", "create", "--username", "bob", "--scopes", "read")
	require.NoError(t, err)
	bobs := strings.TrimSpace(out)
	p := startProc(t, dsn, nil, "serve")
	scrape := func(bearer string, c *http.Client) (int, string) {
		req, err := http.NewRequest(http.MethodGet, p.base+"/metrics", nil)
		require.NoError(t, err)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := c.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for what, bearer := range map[string]string{"anonymous": "", "a made-up token": "stl_madeup", "a non-admin's token": bobs, "alice before she is an admin": token} {
		st, body := scrape(bearer, http.DefaultClient)
		require.Equal(t, http.StatusForbidden, st, what)
		require.NotContains(t, body, "starling_http_requests_total", what)
	}

	_, _, err = runCmd(t, e, "", "user", "grant-admin", "alice")
	require.NoError(t, err)
	st, body := scrape(token, http.DefaultClient)
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, body, "starling_http_requests_total")

	// An admin's website session works too; bob's does not.
	for name, want := range map[string]int{"alice": http.StatusOK, "bob": http.StatusForbidden} {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		res, err := c.PostForm(p.base+"/login", url.Values{"login": {name}, "password": {"correct horse battery"}})
		require.NoError(t, err)
		res.Body.Close()
		st, _ := scrape("", c)
		require.Equal(t, want, st, name)
	}
}
