package api_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLookupIsLocalOnly: accounts/lookup finds name and name@this-host, and answers 404
// for the same name on another server, which Starling does not know (issue 13, item 14).
func TestLookupIsLocalOnly(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	bob := s.user("bob")
	host := strings.TrimPrefix(s.base, "http://")
	for _, acct := range []string{"bob", "@bob", "BOB", "bob@" + host, "@bob@" + strings.ToUpper(host)} {
		st, body, _ := s.call(http.MethodGet, "/api/v1/accounts/lookup?acct="+url.QueryEscape(acct), "", nil)
		require.Equal(t, http.StatusOK, st, acct)
		require.Contains(t, body, `"id":"`+strconv.FormatInt(bob.ID, 10)+`"`, acct)
	}
	for _, acct := range []string{"bob@other.example", "@bob@other.example", "bob@", "bob@" + host + ".evil.example"} {
		st, body, _ := s.call(http.MethodGet, "/api/v1/accounts/lookup?acct="+url.QueryEscape(acct), "", nil)
		require.Equal(t, http.StatusNotFound, st, "%s: %s", acct, body)
	}
}
