package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStaticListsNoDirectory: /static/ serves its files and lists no directory (issue 13,
// item 14).
func TestStaticListsNoDirectory(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.client()
	require.Equal(t, http.StatusOK, c.get("/static/style.css").status)
	require.Equal(t, http.StatusOK, c.get("/static/avatar.png").status)
	for _, path := range []string{"/static/", "/static/.", "/static/./", "/static//", "/static/nope/", "/static/index.html"} {
		res, at := c.get(path), path
		for i := 0; i < 3 && res.status == http.StatusMovedPermanently; i++ { // a cleaned path
			next, err := url.Parse(res.location)
			require.NoError(t, err)
			at = (&url.URL{Path: at}).ResolveReference(next).String()
			res = c.get(at)
		}
		require.Equal(t, http.StatusNotFound, res.status, path)
		require.NotContains(t, res.body, `href="style.css"`, path)
		require.NotContains(t, res.body, "<pre>", path)
	}
}
