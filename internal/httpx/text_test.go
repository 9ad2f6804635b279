package httpx

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzBadText: a path or query value is refused exactly when it is not valid UTF-8 or
// holds a NUL.
func FuzzBadText(f *testing.F) {
	for _, s := range []string{"", "plain", "a\x00b", "\xff", "\xc0\x80", "é", "\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		bad := !utf8.ValidString(s) || strings.ContainsRune(s, 0)
		if got := BadText("/"+s, nil) != ""; got != bad {
			t.Fatalf("path %q: refused=%v, want %v", s, got, bad)
		}
		if got := BadText("/", url.Values{"q": {s}}) != ""; got != bad {
			t.Fatalf("query value %q: refused=%v, want %v", s, got, bad)
		}
		if got := BadText("/", url.Values{s: {"x"}}) != ""; got != bad {
			t.Fatalf("query name %q: refused=%v, want %v", s, got, bad)
		}
	})
}
