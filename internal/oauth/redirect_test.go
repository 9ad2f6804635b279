package oauth

import (
	"strings"
	"testing"
)

// TestCheckRedirectURI: http is for loopback addresses only unless the server allows it;
// schemes that run code or read local files are refused whatever the setting.
func TestCheckRedirectURI(t *testing.T) {
	for _, c := range []struct {
		uri              string
		strict, allowing bool // accepted without and with AllowHTTPRedirects
	}{
		{"https://client.example/cb", true, true},
		{"http://127.0.0.1:8765/cb", true, true},
		{"http://127.1.2.3/cb", true, true},
		{"http://[::1]:4000/cb", true, true},
		{"http://localhost:4000/callback", true, true},
		{"http://LocalHost/cb", true, true},
		{"icecubesapp://", true, true},
		{OOB, true, true},
		{"http://client.example/callback", false, true},
		{"HTTP://client.example/cb", false, true},
		{"http://10.0.0.1/cb", false, true},
		{"http://localhost.evil.example/cb", false, true},
		{"http://127.0.0.1.evil.example/cb", false, true},
		{"http://[::ffff:8.8.8.8]/cb", false, true},
		{"javascript:alert(1)", false, false},
		{"data:text/html,x", false, false},
		{"vbscript:msgbox(1)", false, false},
		{"file:///etc/passwd", false, false},
		{"https://client.example/" + strings.Repeat("x", MaxRedirectURIBytes), false, false},
	} {
		if got := checkRedirectURI(c.uri, false) == ""; got != c.strict {
			t.Errorf("%s: accepted=%v by default, want %v (%s)", c.uri, got, c.strict, checkRedirectURI(c.uri, false))
		}
		if got := checkRedirectURI(c.uri, true) == ""; got != c.allowing {
			t.Errorf("%s: accepted=%v with http allowed, want %v", c.uri, got, c.allowing)
		}
	}
}
