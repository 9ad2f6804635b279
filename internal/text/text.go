// Package text holds the rules for the text people write: how a post body is normalised
// and validated, how it is split into plain text, links, @mentions and #hashtags, and how
// it is rendered to safe HTML. The website, the API and the workers all use these
// functions, so a post means the same thing everywhere.
//
// Mention rules: an @mention is '@' followed by 1 to 30 characters of [A-Za-z0-9_], where
// the '@' does not follow a letter, digit, '_' or another '@' (so an email address such as
// bob@example.com holds no mention), and the name is not followed by another name character
// or by '@' (so @bob@other.example, an address on another server, is not a local mention).
// Names compare case-insensitively. Text inside a URL is never a mention.
//
// URL rules: a link starts with http:// or https:// (any case) at a word boundary and runs
// to the next whitespace or one of <>"; trailing punctuation .,;:!?'" is not part of it, nor
// is a trailing closing bracket when the link holds more closing than opening ones. Such a
// span that Go's net/url cannot parse, or that has no host, is shown as plain text; it still
// holds no mentions.
//
// Hashtag rules: a hashtag is '#' followed by a name, where:
//   - the '#' is the ASCII number sign (the fullwidth ＃, U+FF03, does not start a hashtag),
//     at the start of the body or after a rune that is not a word rune (a letter, digit,
//     '_' or combining mark) and not '#', '&', '/' or '@'; so "a#b", "C#", "##tag", "&#35;"
//     and ".../#frag" hold no hashtag, while "(#go)" and "x, #go." do;
//   - the name is the longest run of letters, combining marks (Mn, Mc), decimal digits (Nd)
//     and '_' that follows, where the middle dot '·' (U+00B7, Catalan col·lecció) and the
//     zero-width non-joiner (U+200C, Persian) count only between two such runes; the run
//     ends at any other rune, so "#tag." and "#tag's" are the tag "tag", and "#go🎉" is "go";
//   - the name holds at least one letter, so "#123" and "#_" are not hashtags and
//     "#2026goals" is;
//   - the name is at most MaxTagLen (100) runes: a longer run is not a hashtag at all;
//   - text inside a URL (even one shown as plain text) or a mention is never a hashtag.
//
// A hashtag keeps its name as written for display; tags match by FoldTag of the name, so
// #Café, #CAFÉ and #cafe\u0301 (e and a combining acute) are one tag.
package text

import (
	"errors"
	"html"
	"html/template"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxPostChars is the longest post body, counted in Unicode code points after NFC
// normalisation.
const MaxPostChars = 500

// Validation errors returned by NormalizePost.
var (
	ErrEmpty       = errors.New("post is empty")
	ErrTooLong     = errors.New("post is longer than 500 characters")
	ErrInvalidUTF8 = errors.New("post is not valid UTF-8 text")
)

// NormalizePost returns the canonical form of a post body: line endings as \n, control
// characters other than newline and tab removed, NFC-normalised, surrounding whitespace
// trimmed. It fails for invalid UTF-8, an empty result, or more than MaxPostChars
// characters.
func NormalizePost(body string) (string, error) {
	if !utf8.ValidString(body) {
		return "", ErrInvalidUTF8
	}
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, body)
	body = norm.NFC.String(body)
	body = strings.TrimFunc(body, unicode.IsSpace)
	if body == "" {
		return "", ErrEmpty
	}
	if utf8.RuneCountInString(body) > MaxPostChars {
		return "", ErrTooLong
	}
	return body, nil
}

// NormalizeWarning returns the canonical form of a content warning: one line (line breaks
// and tabs become spaces), otherwise normalised as NormalizePost does. An empty or
// all-space warning is "" (no warning). It fails for invalid UTF-8 or more than
// MaxPostChars characters.
func NormalizeWarning(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrInvalidUTF8
	}
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	out, err := NormalizePost(s)
	if errors.Is(err, ErrEmpty) {
		return "", nil
	}
	return out, err
}

// MaxUsernameLen is the longest username.
const MaxUsernameLen = 30

// ValidUsername reports whether s is 1 to 30 characters of [A-Za-z0-9_].
func ValidUsername(s string) bool {
	if len(s) == 0 || len(s) > MaxUsernameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

func isNameByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// HasHiddenFormatting reports whether s holds a character that is not seen but changes
// how the text around it reads: a bidirectional control (U+202A–U+202E, U+2066–U+2069,
// U+200E, U+200F, U+061C), which can reverse what follows it, or a zero-width character
// (U+200B–U+200D, U+2060, U+FEFF), which makes two names that look the same differ.
// Names (display names, app names) may not hold them.
func HasHiddenFormatting(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		switch {
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
			return true
		case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff:
			return true
		}
		return false
	})
}

// Kind says what a Token is.
type Kind int

// The kinds of token.
const (
	Plain Kind = iota
	Mention
	Link
	Hashtag
)

// Token is a piece of a post body. For a Mention, Value is the username as written (without
// '@'); for a Link, Value is the URL; for a Hashtag, Value is the name as written (without
// '#'). Text is always the exact source text, so joining the Text of all tokens gives the
// body back.
type Token struct {
	Kind  Kind
	Text  string
	Value string
}

// Tokenize splits body into plain text, links, mentions and hashtags.
func Tokenize(body string) []Token {
	var toks []Token
	plainStart := 0
	flush := func(end int) {
		if end > plainStart {
			toks = append(toks, Token{Kind: Plain, Text: body[plainStart:end]})
		}
	}
	for i := 0; i < len(body); {
		prev := rune(-1)
		if i > 0 {
			prev, _ = utf8.DecodeLastRuneInString(body[:i])
		}
		if n, ok := linkLen(body[i:], prev); n > 0 {
			// A span shaped like a URL that is not a valid one stays plain text, but it is
			// still skipped whole, so no mention is found inside it.
			if ok {
				flush(i)
				toks = append(toks, Token{Kind: Link, Text: body[i : i+n], Value: body[i : i+n]})
				plainStart = i + n
			}
			i += n
			continue
		}
		if n := mentionLen(body[i:], prev); n > 0 {
			flush(i)
			toks = append(toks, Token{Kind: Mention, Text: body[i : i+n], Value: body[i+1 : i+n]})
			i += n
			plainStart = i
			continue
		}
		if n := hashtagLen(body[i:], prev); n > 0 {
			flush(i)
			toks = append(toks, Token{Kind: Hashtag, Text: body[i : i+n], Value: body[i+1 : i+n]})
			i += n
			plainStart = i
			continue
		}
		_, size := utf8.DecodeRuneInString(body[i:])
		i += size
	}
	flush(len(body))
	return toks
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// mentionLen returns the length of the mention at the start of s, or 0.
func mentionLen(s string, prev rune) int {
	if len(s) < 2 || s[0] != '@' || (prev >= 0 && (isWordRune(prev) || prev == '@')) {
		return 0
	}
	n := 1
	for n < len(s) && isNameByte(s[n]) {
		n++
	}
	name := n - 1
	if name == 0 || name > MaxUsernameLen {
		return 0
	}
	if n < len(s) {
		next, _ := utf8.DecodeRuneInString(s[n:])
		if isWordRune(next) || next == '@' {
			return 0
		}
	}
	return n
}

// linkLen returns the length of the http(s) URL-shaped span at the start of s (0 when
// there is none) and whether it is a URL that may be linked.
func linkLen(s string, prev rune) (int, bool) {
	if prev >= 0 && (isWordRune(prev) || prev == '/' || prev == '@') {
		return 0, false
	}
	var scheme int
	switch {
	case hasPrefixFold(s, "https://"):
		scheme = len("https://")
	case hasPrefixFold(s, "http://"):
		scheme = len("http://")
	default:
		return 0, false
	}
	end := scheme
	for end < len(s) {
		r, size := utf8.DecodeRuneInString(s[end:])
		if unicode.IsSpace(r) || r == '<' || r == '>' || r == '"' || r == utf8.RuneError {
			break
		}
		end += size
	}
	// Drop trailing punctuation and unbalanced closing brackets.
	for end > scheme {
		last := s[end-1]
		switch last {
		case '.', ',', ';', ':', '!', '?', '\'', '"':
			end--
			continue
		case ')', ']', '}':
			open := map[byte]byte{')': '(', ']': '[', '}': '{'}[last]
			if strings.Count(s[scheme:end], string(open)) < strings.Count(s[scheme:end], string(last)) {
				end--
				continue
			}
		}
		break
	}
	if end == scheme {
		return 0, false
	}
	u, err := url.Parse(s[:end])
	return end, err == nil && u.Host != ""
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// MaxMentions is the most distinct users one post can mention; later names are ignored.
const MaxMentions = 10

// Mentions returns the distinct usernames mentioned in body, lowercased, in order of first
// appearance, at most MaxMentions of them.
func Mentions(body string) []string {
	var names []string
	seen := map[string]bool{}
	for _, t := range Tokenize(body) {
		if t.Kind != Mention {
			continue
		}
		name := strings.ToLower(t.Value)
		if seen[name] {
			continue
		}
		seen[name] = true
		names = append(names, name)
		if len(names) == MaxMentions {
			break
		}
	}
	return names
}

// Render returns body as HTML: text escaped, line breaks as <br>, links as anchors,
// mentions as links to the URL that mentionURL returns for the name, and hashtags as links
// to the URL that tagURL returns for the name, shown as
// <a class="hashtag" href="URL" rel="tag">#<span>name</span></a>. Both functions get the
// name as written, without '@' or '#'; a mention or hashtag for which they return "" is
// plain text.
func Render(body string, mentionURL, tagURL func(name string) string) template.HTML {
	var b strings.Builder
	for _, t := range Tokenize(body) {
		switch t.Kind {
		case Link:
			b.WriteString(`<a href="`)
			b.WriteString(html.EscapeString(t.Value))
			b.WriteString(`" rel="nofollow noopener noreferrer" target="_blank">`)
			b.WriteString(html.EscapeString(t.Text))
			b.WriteString(`</a>`)
		case Mention:
			if href := mentionURL(t.Value); href != "" {
				b.WriteString(`<a class="mention" href="`)
				b.WriteString(html.EscapeString(href))
				b.WriteString(`">`)
				b.WriteString(html.EscapeString(t.Text))
				b.WriteString(`</a>`)
			} else {
				writePlain(&b, t.Text)
			}
		case Hashtag:
			if href := tagURL(t.Value); href != "" {
				b.WriteString(`<a class="hashtag" href="`)
				b.WriteString(html.EscapeString(href))
				b.WriteString(`" rel="tag">#<span>`)
				b.WriteString(html.EscapeString(t.Value))
				b.WriteString(`</span></a>`)
			} else {
				writePlain(&b, t.Text)
			}
		default:
			writePlain(&b, t.Text)
		}
	}
	return template.HTML(b.String()) //nolint:gosec // every piece above is escaped
}

func writePlain(b *strings.Builder, s string) {
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteString("<br>")
		}
		b.WriteString(html.EscapeString(line))
	}
}
