package api_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCodeRefusedWithoutBeingUsedUp: an exchange that is refused — another client's, or
// with the wrong redirect_uri or code_verifier — leaves the code to the client it was
// issued to; only that client's second exchange after a successful one revokes what the
// code gave. (Before, every refused attempt used the code up, so anyone holding it could
// spoil the login; the revocation's error was ignored.)
func TestCodeRefusedWithoutBeingUsedUp(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.user("alice")
	const redirect = "https://client.example/cb"
	a, other := s.app("read write", redirect), s.app("read write", redirect)
	b := s.browser()
	verifier := strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	code := func() string {
		back := b.authorize(authURL(a, redirect, "read", "code_challenge", challenge, "code_challenge_method", "S256"), "alice", "approve")
		require.NotEmpty(t, back.Query().Get("code"))
		return back.Query().Get("code")
	}
	grant := func(c appCreds, code, ru, v string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret},
			"code": {code}, "redirect_uri": {ru}, "code_verifier": {v}}
	}
	works := func(token string) int {
		st, _, _ := s.call(http.MethodGet, "/api/v1/accounts/verify_credentials", token, nil)
		return st
	}

	c := code()
	for what, v := range map[string]url.Values{
		"another client":       grant(other, c, redirect, verifier),
		"another redirect_uri": grant(a, c, "https://client.example/other", verifier),
		"a wrong verifier":     grant(a, c, redirect, strings.Repeat("w", 50)),
		"no verifier":          grant(a, c, redirect, ""),
	} {
		st, m := s.exchange(v)
		require.Equal(t, http.StatusBadRequest, st, what)
		require.Equal(t, "invalid_grant", m["error"], what)
	}
	st, m := s.exchange(grant(a, c, redirect, verifier))
	require.Equal(t, http.StatusOK, st, "the code still works for its own client: %v", m)
	first := m["access_token"].(string)
	require.Equal(t, http.StatusOK, works(first))

	// Another client replaying the spent code changes nothing for the person.
	st, m = s.exchange(grant(other, c, redirect, verifier))
	require.Equal(t, http.StatusBadRequest, st)
	require.Equal(t, "invalid_grant", m["error"])
	require.Equal(t, http.StatusOK, works(first), "another client's replay revokes nothing")

	// The same client's replay: refused, and the token it got is revoked.
	st, m = s.exchange(grant(a, c, redirect, verifier))
	require.Equal(t, http.StatusBadRequest, st)
	require.Equal(t, "invalid_grant", m["error"])
	require.Equal(t, http.StatusUnauthorized, works(first), "a replay by the same client revokes the code's token")

	// Concurrent exchanges of one code: exactly one succeeds (the row lock serialises
	// them; the loser is a replay).
	c = code()
	var wg sync.WaitGroup
	statuses := make([]int, 4)
	for i := range statuses {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, s.base+"/oauth/token", strings.NewReader(grant(a, c, redirect, verifier).Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := http.DefaultClient.Do(req)
			if err == nil {
				statuses[i] = res.StatusCode
				res.Body.Close()
			}
		})
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		require.Contains(t, []int{http.StatusOK, http.StatusBadRequest}, st)
		if st == http.StatusOK {
			ok++
		}
	}
	require.Equal(t, 1, ok, "one exchange of one code: %v", statuses)
}
