package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPreferences: the documented keys with Mastodon's defaults (accounts have no such
// settings yet).
func TestPreferences(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice := s.user("alice")
	st, body, _ := s.call(http.MethodGet, "/api/v1/preferences", s.personalToken(alice, "read"), nil)
	require.Equal(t, http.StatusOK, st, body)
	require.JSONEq(t, `{
		"posting:default:visibility": "public",
		"posting:default:sensitive": false,
		"posting:default:language": null,
		"reading:expand:media": "default",
		"reading:expand:spoilers": false
	}`, body)
}
