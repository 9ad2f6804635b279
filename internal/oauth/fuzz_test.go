package oauth

import (
	"strings"
	"testing"
)

// FuzzParseScopes: parsing never panics, accepts only known scopes, and what it accepts
// round-trips and allows itself.
func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"", "read", "read write follow", "read+write", "read:statuses admin:write", "  read\twrite ", "read read"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseScopes(s)
		if err != nil {
			return
		}
		for _, x := range sc {
			if !knownScopes[x] {
				t.Fatalf("unknown scope %q accepted", x)
			}
			if !sc.Allows(x) {
				t.Fatalf("%v does not allow its own %q", sc, x)
			}
		}
		again, err := ParseScopes(sc.String())
		if err != nil || again.String() != sc.String() {
			t.Fatalf("%q does not round-trip: %v %v", sc.String(), again, err)
		}
	})
}

// FuzzPKCE: a verifier or challenge is accepted only in RFC 7636's alphabet and length.
func FuzzPKCE(f *testing.F) {
	f.Add(strings.Repeat("a", 43))
	f.Add(strings.Repeat("~", 128))
	f.Add(strings.Repeat("a", 129))
	f.Add("short")
	f.Fuzz(func(t *testing.T, s string) {
		if !validPKCE(s) {
			return
		}
		if len(s) < 43 || len(s) > 128 {
			t.Fatalf("length %d accepted", len(s))
		}
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
				t.Fatalf("%q accepted", r)
			}
		}
	})
}
