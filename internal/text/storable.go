package text

import (
	"strings"
	"unicode/utf8"
)

// Storable reports whether s is text that PostgreSQL can store and compare: valid UTF-8
// without NUL characters. Postgres answers anything else with an error, so every value a
// request carries is checked with it before it goes near a query.
func Storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// NotStorable is the message for a value that is not Storable, fit to show: it names what
// is wrong without echoing the bytes.
const NotStorable = "must be text: valid UTF-8 without NUL characters"
