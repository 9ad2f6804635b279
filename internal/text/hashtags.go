package text

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// MaxTagLen is the longest hashtag name, in code points, not counting the '#'. A longer run
// of name characters is not a hashtag at all: it is not cut down to MaxTagLen.
const MaxTagLen = 100

// MaxTags is the most distinct hashtags one post can have; later ones are ignored.
const MaxTags = 30

// Tag is a hashtag of a post.
type Tag struct {
	// Name is the name as first written in the post, without '#', in its original case. It
	// is what is shown.
	Name string
	// Key is FoldTag(Name), what tags are matched by: two tags with the same Key are the
	// same tag.
	Key string
}

// Hashtags returns the distinct hashtags of body (see the package documentation for what
// is one), in order of first appearance, at most MaxTags of them. Tags are distinct by Key;
// the Name of each is the one first written.
func Hashtags(body string) []Tag {
	var tags []Tag
	seen := map[string]bool{}
	for _, t := range Tokenize(body) {
		if t.Kind != Hashtag {
			continue
		}
		key := FoldTag(t.Value)
		if seen[key] {
			continue
		}
		seen[key] = true
		tags = append(tags, Tag{Name: t.Value, Key: key})
		if len(tags) == MaxTags {
			break
		}
	}
	return tags
}

// FoldTag returns the key that hashtag name (without '#') is matched by: its NFKC
// normalisation, case-folded (Unicode full case folding), so that "Café", "CAFÉ",
// "cafe\u0301" and the fullwidth "Ｃａｆé" have the same key "café". The original case is
// kept for display (Tag.Name); the key is only for matching and looking tags up.
//
// Folding can undo normalisation ("ß\u0301" folds to "ss\u0301", which NFKC composes to
// "sś"), so the folded text is normalised again, and folded again while that changes it:
// a key is its own key, FoldTag(FoldTag(name)) == FoldTag(name).
//
// A key is not always a valid name itself: folding can lengthen a name past MaxTagLen
// (each ß becomes ss, ﬃ becomes ffi), and NFKC turns a few letters into text with other
// characters (U+FDFA, an Arabic ligature, becomes four words). A page that takes a tag from
// a URL holding a key (RenderBody links to /tags/key) must therefore also accept a string
// that is its own key, not only one that ValidTag accepts.
func FoldTag(name string) string {
	key := norm.NFKC.String(name)
	// One round reaches the fixed point for every letter followed by a combining mark (the
	// second round only confirms it); the bound only guards against looping.
	for range 4 {
		// A Caser keeps state, so each round makes its own.
		next := norm.NFKC.String(strings.Map(foldCherokee, cases.Fold().String(key)))
		if next == key {
			break
		}
		key = next
	}
	return key
}

// foldCherokee corrects cases.Fold for Cherokee, which folds to the uppercase letters
// (CaseFolding.txt: AB70; C; 13A0 and 13F8; C; 13F0): cases.Fold swaps the two cases
// instead (https://github.com/golang/go/issues/46101), so that "Ꭰ" and "ꭰ" would fold to
// different keys. It maps the lowercase letters that Fold returns to their uppercase.
func foldCherokee(r rune) rune {
	switch {
	case r >= 0xab70 && r <= 0xabbf:
		return r - 0xab70 + 0x13a0
	case r >= 0x13f8 && r <= 0x13fd:
		return r - 0x13f8 + 0x13f0
	}
	return r
}

// ValidTag reports whether name, given without '#', is a whole hashtag name by the rules
// in the package documentation: 1 to MaxTagLen letters, marks, decimal digits and '_', with
// '·' (U+00B7) or ZWNJ (U+200C) only between two of them, and at least one letter. A page
// or API that takes a tag name (/api/v1/tags/:name) checks it with ValidTag.
func ValidTag(name string) bool {
	return name != "" && tagNameLen(name) == len(name)
}

// hashtagLen returns the length of the hashtag ('#' and name) at the start of s, or 0.
// prev is the rune before s, or -1 at the start of the body.
func hashtagLen(s string, prev rune) int {
	if len(s) < 2 || s[0] != '#' || (prev >= 0 && !mayPrecedeTag(prev)) {
		return 0
	}
	n := tagNameLen(s[1:])
	if n == 0 {
		return 0
	}
	return 1 + n
}

// mayPrecedeTag reports whether a '#' after r may start a hashtag: not after a word rune
// (C#, a#b), nor after '#', '&' (&#35;), '/' (a path's /#fragment) or '@'.
func mayPrecedeTag(r rune) bool {
	if isTagNameRune(r) || unicode.Is(unicode.M, r) {
		return false
	}
	switch r {
	case '#', '&', '/', '@':
		return false
	}
	return true
}

// tagNameLen returns the length in bytes of the run of name runes at the start of s when
// that run is a valid hashtag name, and 0 when there is none or it is not one (no letter,
// more than MaxTagLen runes).
func tagNameLen(s string) int {
	end, runes, letter := 0, 0, false
	for end < len(s) {
		r, size := utf8.DecodeRuneInString(s[end:])
		if !isTagNameRune(r) {
			if !isTagJoiner(r) || runes == 0 {
				break
			}
			// A joiner counts only when a name rune follows it (one came before it).
			next, _ := utf8.DecodeRuneInString(s[end+size:])
			if !isTagNameRune(next) {
				break
			}
		}
		runes++
		if runes > MaxTagLen {
			return 0
		}
		letter = letter || unicode.IsLetter(r)
		end += size
	}
	if !letter {
		return 0
	}
	return end
}

// isTagNameRune reports whether r may be part of a hashtag name: a letter, a nonspacing or
// spacing combining mark, a decimal digit or '_'.
func isTagNameRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nd)
}

// isTagJoiner reports whether r may be inside a hashtag name between two name runes: the
// middle dot of Catalan (col·lecció) and the zero-width non-joiner of Persian.
func isTagJoiner(r rune) bool {
	return r == '\u00b7' || r == '\u200c'
}
