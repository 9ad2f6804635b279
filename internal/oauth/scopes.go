package oauth

import (
	"slices"
	"strings"
)

// Scopes is a set of OAuth scopes, as Mastodon defines them: the top-level read, write,
// follow and push, and granular ones such as read:statuses.
type Scopes []string

var knownScopes = map[string]bool{
	"read": true, "write": true, "follow": true, "push": true, "profile": true,
	"read:accounts": true, "read:blocks": true, "read:bookmarks": true, "read:favourites": true,
	"read:filters": true, "read:follows": true, "read:lists": true, "read:mutes": true,
	"read:notifications": true, "read:search": true, "read:statuses": true,
	"write:accounts": true, "write:blocks": true, "write:bookmarks": true, "write:conversations": true,
	"write:favourites": true, "write:filters": true, "write:follows": true, "write:lists": true,
	"write:media": true, "write:mutes": true, "write:notifications": true, "write:reports": true,
	"write:statuses": true,
}

// ParseScopes parses a space-separated scope list (Mastodon also accepts '+'). An empty
// list means "read". It fails on an unknown scope.
func ParseScopes(s string) (Scopes, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '+' || r == '\t' || r == '\n' })
	if len(fields) == 0 {
		return Scopes{"read"}, nil
	}
	var out Scopes
	for _, f := range fields {
		if !knownScopes[f] {
			return nil, &Error{Code: "invalid_scope", Description: "The requested scope is invalid, unknown, or malformed: " + truncate(f, 40)}
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// String renders the scopes space-separated.
func (s Scopes) String() string { return strings.Join(s, " ") }

// Allows reports whether the scopes grant need (a granular scope such as "read:statuses"):
// granted directly, by its top-level scope, or, for follows, blocks and mutes, by the
// legacy "follow" scope.
func (s Scopes) Allows(need string) bool {
	if slices.Contains(s, need) {
		return true
	}
	top, _, _ := strings.Cut(need, ":")
	if slices.Contains(s, top) {
		return true
	}
	switch need {
	case "read:follows", "write:follows", "read:blocks", "write:blocks", "read:mutes", "write:mutes":
		return slices.Contains(s, "follow")
	}
	return false
}

// Within reports whether every scope of s is allowed by other (a token may not ask for
// more than its app registered).
func (s Scopes) Within(other Scopes) bool {
	for _, x := range s {
		if !other.Allows(x) {
			return false
		}
	}
	return true
}
