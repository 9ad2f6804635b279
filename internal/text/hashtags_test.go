package text_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/text"
)

func tag(name, key string) text.Tag { return text.Tag{Name: name, Key: key} }

func TestHashtags(t *testing.T) {
	max := strings.Repeat("a", text.MaxTagLen)
	long := strings.Repeat("a", text.MaxTagLen+1)
	maxWide := strings.Repeat("é", text.MaxTagLen)
	var many []string
	var manyTags []text.Tag
	for i := range text.MaxTags + 1 {
		name := fmt.Sprintf("tag%d", i)
		many = append(many, "#"+name)
		manyTags = append(manyTags, tag(name, name))
	}
	tests := []struct {
		name string
		in   string
		want []text.Tag
	}{
		{name: "none", in: "hello world", want: nil},
		{name: "empty", in: "", want: nil},
		{name: "start of body", in: "#go rocks", want: []text.Tag{tag("go", "go")}},
		{name: "whole body", in: "#Go", want: []text.Tag{tag("Go", "go")}},
		{name: "after space", in: "I like #go", want: []text.Tag{tag("go", "go")}},
		{name: "after newline", in: "hi\n#go", want: []text.Tag{tag("go", "go")}},
		{name: "after tab", in: "hi\t#go", want: []text.Tag{tag("go", "go")}},
		{name: "in parentheses", in: "(#go)", want: []text.Tag{tag("go", "go")}},
		{name: "after comma, trailing period", in: "x, #go.", want: []text.Tag{tag("go", "go")}},
		{name: "in quotes", in: `"#go"`, want: []text.Tag{tag("go", "go")}},
		{name: "trailing punctuation", in: "#tag, #other! #third?", want: []text.Tag{tag("tag", "tag"), tag("other", "other"), tag("third", "third")}},
		{name: "apostrophe ends name", in: "#tag's", want: []text.Tag{tag("tag", "tag")}},
		{name: "hyphen ends name", in: "#open-source", want: []text.Tag{tag("open", "open")}},
		{name: "after letter", in: "a#b", want: nil},
		{name: "C sharp", in: "C# and F#", want: nil},
		{name: "after digit", in: "1#go", want: nil},
		{name: "after underscore", in: "_#go", want: nil},
		{name: "after combining mark", in: "e\u0301#go", want: nil},
		{name: "character reference", in: "&#35; &#x23;", want: nil},
		{name: "after slash", in: "x/#go", want: nil},
		{name: "after at", in: "@#go", want: nil},
		{name: "double hash", in: "##double", want: nil},
		{name: "hash alone", in: "# #", want: nil},
		{name: "hash then space", in: "# go", want: nil},
		{name: "fullwidth number sign", in: "＃go", want: nil},
		{name: "digits only", in: "#123", want: nil},
		{name: "Arabic-Indic digits only", in: "#١٢٣", want: nil},
		{name: "digits then letters", in: "#2026goals", want: []text.Tag{tag("2026goals", "2026goals")}},
		{name: "underscore only", in: "#_ #__1", want: nil},
		{name: "underscores and letters", in: "#_go_", want: []text.Tag{tag("_go_", "_go_")}},
		{name: "URL fragment", in: "https://x.org/#frag", want: nil},
		{name: "URL path fragment", in: "https://x.org/p#tag", want: nil},
		{name: "unparseable URL", in: "https://example.com/%zz#tag", want: nil},
		{name: "after URL", in: "https://x.org/ #tag", want: []text.Tag{tag("tag", "tag")}},
		{name: "after mention", in: "@bob#x", want: nil},
		{name: "followed by at", in: "#go@bob", want: []text.Tag{tag("go", "go")}},
		{name: "CJK", in: "#日本語 です", want: []text.Tag{tag("日本語", "日本語")}},
		{name: "after CJK", in: "日本#語", want: nil},
		{name: "Arabic", in: "#مرحبا", want: []text.Tag{tag("مرحبا", "مرحبا")}},
		{name: "Persian with ZWNJ", in: "#می\u200cخواهم!", want: []text.Tag{tag("می\u200cخواهم", "می\u200cخواهم")}},
		{name: "trailing ZWNJ", in: "#ab\u200c", want: []text.Tag{tag("ab", "ab")}},
		{name: "leading ZWNJ", in: "#\u200cab", want: nil},
		{name: "Devanagari with combining marks", in: "#हिन्दी", want: []text.Tag{tag("हिन्दी", "हिन्दी")}},
		{name: "Hangul", in: "#한국어", want: []text.Tag{tag("한국어", "한국어")}},
		{name: "middle dot", in: "#l·l #col·lecció", want: []text.Tag{tag("l·l", "l·l"), tag("col·lecció", "col·lecció")}},
		{name: "leading middle dot", in: "#·x", want: nil},
		{name: "trailing middle dot", in: "#x·", want: []text.Tag{tag("x", "x")}},
		{name: "two middle dots", in: "#x··y", want: []text.Tag{tag("x", "x")}},
		{name: "emoji after", in: "#go🎉", want: []text.Tag{tag("go", "go")}},
		{name: "emoji before", in: "🎉#go", want: []text.Tag{tag("go", "go")}},
		{
			name: "case and normalisation dedupe, first name kept",
			in:   "#café #CAFÉ #cafe\u0301 #Café",
			want: []text.Tag{tag("café", "café")},
		},
		{name: "uppercase first", in: "#CAFÉ #café", want: []text.Tag{tag("CAFÉ", "café")}},
		{name: "fullwidth letters fold", in: "#ｇｏ #go", want: []text.Tag{tag("ｇｏ", "go")}},
		{name: "sharp s folds", in: "#Straße #STRASSE", want: []text.Tag{tag("Straße", "strasse")}},
		{name: "final sigma folds", in: "#ΟΔΟΣ #οδος", want: []text.Tag{tag("ΟΔΟΣ", "οδοσ")}},
		{name: "Cherokee cases fold together", in: "#ᏣᎳᎩ #ꮳꮃꭹ", want: []text.Tag{tag("ᏣᎳᎩ", "ᏣᎳᎩ")}},
		{name: "order of first appearance", in: "#c #a #b #a", want: []text.Tag{tag("c", "c"), tag("a", "a"), tag("b", "b")}},
		{name: "100 runes", in: "#" + max, want: []text.Tag{tag(max, max)}},
		{name: "100 two-byte runes", in: "#" + maxWide + ".", want: []text.Tag{tag(maxWide, maxWide)}},
		{name: "101 runes is not a tag", in: "#" + long, want: nil},
		{name: "101 runes is not truncated", in: "#" + long + " #ok", want: []text.Tag{tag("ok", "ok")}},
		{name: "capped at MaxTags", in: strings.Join(many, " "), want: manyTags[:text.MaxTags]},
		{
			name: "duplicates do not count toward the cap",
			in:   "#tag0 #TAG0 " + strings.Join(many[:text.MaxTags], " "),
			want: manyTags[:text.MaxTags],
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, text.Hashtags(tt.in))
		})
	}
	require.Equal(t, 100, text.MaxTagLen)
	require.Equal(t, 30, text.MaxTags)
}

func TestFoldTag(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"go", "go"},
		{"Go", "go"},
		{"Café", "café"},
		{"CAFÉ", "café"},
		{"cafe\u0301", "café"},
		{"ｃａｆé", "café"},
		{"ﬁle", "file"},
		{"Straße", "strasse"},
		{"ΟΔΟΣ", "οδοσ"},
		{"οδος", "οδοσ"},
		{"İstanbul", "i\u0307stanbul"},
		{"ᏣᎳᎩ", "ᏣᎳᎩ"},
		{"ꮳꮃꭹ", "ᏣᎳᎩ"},
		{"Col·lecció", "col·lecció"},
		{"می\u200cخواهم", "می\u200cخواهم"},
		{"日本語", "日本語"},
		{"2026Goals", "2026goals"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, text.FoldTag(tt.in))
		})
	}
}

// TestFoldTagIdempotent: a tag links to its key (/tags/key), and the page folds what it
// is given, so the key of a key must be the key itself, for every rune a name may hold.
func TestFoldTagIdempotent(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) || !text.ValidTag("a"+string(r)) {
			continue
		}
		key := text.FoldTag("a" + string(r))
		require.Equal(t, key, text.FoldTag(key), "U+%04X", r)
	}
}

// TestFoldTagKeyMayNotBeAName pins down what FoldTag documents: the key of a valid name is
// not always a valid name, so a page given a key must not check it with ValidTag alone.
func TestFoldTagKeyMayNotBeAName(t *testing.T) {
	for _, name := range []string{strings.Repeat("ß", 60), "a\ufdfa", "a\u037a"} {
		require.True(t, text.ValidTag(name), "%q", name)
		key := text.FoldTag(name)
		require.False(t, text.ValidTag(key), "%q -> %q", name, key)
		require.Equal(t, key, text.FoldTag(key), "%q", name)
	}
}

func TestValidTag(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"go", true},
		{"Go_2", true},
		{"2026goals", true},
		{"_go", true},
		{"日本語", true},
		{"هیچ\u200cکس", true},
		{"हिन्दी", true},
		{"col·lecció", true},
		{"café", true},
		{"cafe\u0301", true},
		{strings.Repeat("x", 100), true},
		{strings.Repeat("字", 100), true},
		{strings.Repeat("x", 101), false},
		{"", false},
		{"123", false},
		{"_", false},
		{"1_2", false},
		{"#go", false},
		{"go go", false},
		{"go.", false},
		{"go-lang", false},
		{"·go", false},
		{"go·", false},
		{"go··go", false},
		{"\u200cgo", false},
		{"go\u200c", false},
		{"go\u200dx", false}, // ZWJ is not allowed
		{"go🎉", false},
		{"\u0301go", true}, // a mark is a name rune wherever it is
		{"go\x00", false},
		{"go\xff", false},
		{"ｇｏ", true},
		{"go/x", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			require.Equal(t, tt.want, text.ValidTag(tt.in))
		})
	}
}

func TestTokenizeHashtagValue(t *testing.T) {
	require.Equal(t, []text.Token{
		{Kind: text.Plain, Text: "I ❤ "},
		{Kind: text.Hashtag, Text: "#Go", Value: "Go"},
		{Kind: text.Plain, Text: "!"},
	}, text.Tokenize("I ❤ #Go!"))
}

func TestRenderTagURLGetsNameAsWritten(t *testing.T) {
	var got []string
	text.Render("#Go #go https://go.dev/#go C#", userURL, func(name string) string {
		got = append(got, name)
		return ""
	})
	require.Equal(t, []string{"Go", "go"}, got)
}

func ExampleHashtags() {
	for _, t := range text.Hashtags("Ship it! #GoLang #golang #café #2026 C# #Straße") {
		fmt.Printf("%s %s\n", t.Name, t.Key)
	}
	// Output:
	// GoLang golang
	// café café
	// Straße strasse
}
