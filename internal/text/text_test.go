package text_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/text"
)

func TestNormalizePost(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr error
	}{
		{name: "plain", in: "hello world", want: "hello world"},
		{name: "CRLF becomes LF", in: "a\r\nb\r\nc", want: "a\nb\nc"},
		{name: "lone CR becomes LF", in: "a\rb", want: "a\nb"},
		{name: "CR CR LF", in: "a\r\r\nb", want: "a\n\nb"},
		{name: "LF CR", in: "a\n\rb", want: "a\n\nb"},
		{name: "tab and newline kept", in: "a\tb\nc", want: "a\tb\nc"},
		{name: "NUL removed", in: "a\x00b", want: "ab"},
		{name: "C0 controls removed", in: "a\x01\x02\x07\x08\x0b\x0c\x1b\x1fb", want: "ab"},
		{name: "DEL removed", in: "a\x7fb", want: "ab"},
		{name: "C1 controls removed", in: "a\u0080\u0085\u009fb", want: "ab"},
		{name: "NFC composes e + combining acute", in: "caf\u0065\u0301", want: "caf\u00e9"},
		{name: "NFC composes Hangul jamo", in: "\u1100\u1161", want: "\uac00"},
		{name: "NFC singleton Angstrom sign", in: "\u212b", want: "\u00c5"},
		{name: "control between base and combining mark removed then composed", in: "e\x00\u0301", want: "\u00e9"},
		{name: "trims spaces", in: "   hi   ", want: "hi"},
		{name: "trims newlines and tabs", in: "\n\t hi \t\n", want: "hi"},
		{name: "trims CRLF", in: "\r\nhi\r\n", want: "hi"},
		{name: "trims unicode spaces", in: "\u00a0\u3000\u2003hi\u2028\u2029", want: "hi"},
		{name: "inner whitespace kept", in: "a  \n\n  b", want: "a  \n\n  b"},
		{name: "emoji kept", in: "🐦 starling", want: "🐦 starling"},
		{name: "zero width space is not a control", in: "a\u200bb", want: "a\u200bb"},
		{name: "empty", in: "", wantErr: text.ErrEmpty},
		{name: "only spaces", in: "   ", wantErr: text.ErrEmpty},
		{name: "only whitespace and controls", in: " \r\n\t\x00\x7f\u0085\u00a0", wantErr: text.ErrEmpty},
		{name: "invalid UTF-8 byte", in: "abc\xff", wantErr: text.ErrInvalidUTF8},
		{name: "truncated UTF-8 sequence", in: "caf\xc3", wantErr: text.ErrInvalidUTF8},
		{name: "overlong encoding", in: "\xc0\xaf", wantErr: text.ErrInvalidUTF8},
		{name: "surrogate half", in: "\xed\xa0\x80", wantErr: text.ErrInvalidUTF8},
		{name: "invalid UTF-8 even if otherwise empty", in: "\xff", wantErr: text.ErrInvalidUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := text.NormalizePost(tt.in)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestNormalizePostLength(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantLen int // in code points; 0 means an error is expected
		wantErr error
	}{
		{name: "500 ASCII", in: strings.Repeat("a", 500), wantLen: 500},
		{name: "501 ASCII", in: strings.Repeat("a", 501), wantErr: text.ErrTooLong},
		{name: "500 two-byte runes (1000 bytes)", in: strings.Repeat("é", 500), wantLen: 500},
		{name: "501 two-byte runes", in: strings.Repeat("é", 501), wantErr: text.ErrTooLong},
		{name: "500 four-byte runes (2000 bytes)", in: strings.Repeat("🐦", 500), wantLen: 500},
		{name: "501 four-byte runes", in: strings.Repeat("🐦", 501), wantErr: text.ErrTooLong},
		{name: "500 CJK runes", in: strings.Repeat("字", 500), wantLen: 500},
		{
			name:    "500 decomposed e-acute (1000 code points before NFC) is 500 after",
			in:      strings.Repeat("e\u0301", 500),
			wantLen: 500,
		},
		{
			name:    "501 decomposed e-acute is too long after NFC",
			in:      strings.Repeat("e\u0301", 501),
			wantErr: text.ErrTooLong,
		},
		{
			name:    "surrounding whitespace does not count",
			in:      "  \n" + strings.Repeat("a", 500) + "\n\t ",
			wantLen: 500,
		},
		{
			name:    "removed control characters do not count",
			in:      strings.Repeat("a\x00", 500),
			wantLen: 500,
		},
		{
			// U+0958 is a composition exclusion: NFC decomposes it to two code points.
			name:    "NFC expansion counts",
			in:      strings.Repeat("\u0958", 251),
			wantErr: text.ErrTooLong,
		},
		{name: "NFC expansion within limit", in: strings.Repeat("\u0958", 250), wantLen: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := text.NormalizePost(tt.in)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantLen, utf8.RuneCountInString(got))
		})
	}
	require.Equal(t, 500, text.MaxPostChars)
}

func TestNormalizePostIdempotent(t *testing.T) {
	for _, in := range []string{
		"hello", " a\r\nb ", "e\u0301", "\u0958x", "\u00a0\u0301x", "a\x00\u0301", "  \t tab\tkept\t  ",
	} {
		once, err := text.NormalizePost(in)
		require.NoError(t, err, "%q", in)
		twice, err := text.NormalizePost(once)
		require.NoError(t, err, "%q", once)
		require.Equal(t, once, twice, "input %q", in)
	}
}

func TestValidUsername(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"a", true},
		{"_", true},
		{"0", true},
		{"bob", true},
		{"Bob_99", true},
		{"ALLCAPS", true},
		{"__init__", true},
		{strings.Repeat("a", 30), true},
		{strings.Repeat("a", 31), false},
		{"", false},
		{"bob smith", false},
		{"bob-smith", false},
		{"bob.smith", false},
		{"@bob", false},
		{"bob@example", false},
		{"bob\n", false},
		{" bob", false},
		{"josé", false},
		{"ｂｏｂ", false}, // fullwidth letters
		{"bob\x00", false},
		{"\xff", false},
		{strings.Repeat("é", 15), false}, // 15 runes, 30 bytes, but not ASCII
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			require.Equal(t, tt.want, text.ValidUsername(tt.in))
		})
	}
	require.Equal(t, 30, text.MaxUsernameLen)
}

func TestHasHiddenFormatting(t *testing.T) {
	hidden := []rune{0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
		0x200e, 0x200f, 0x061c, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff}
	for _, r := range hidden {
		require.True(t, text.HasHiddenFormatting("Ali"+string(r)+"ce"), "U+%04X", r)
	}
	for _, s := range []string{"", "Alice", "José Ñúñez", "محمد", "עברית", "日本語", "😀 party", "a\tb"} {
		require.False(t, text.HasHiddenFormatting(s), "%q", s)
	}
}

func plain(s string) text.Token   { return text.Token{Kind: text.Plain, Text: s} }
func link(s string) text.Token    { return text.Token{Kind: text.Link, Text: s, Value: s} }
func mention(s string) text.Token { return text.Token{Kind: text.Mention, Text: "@" + s, Value: s} }
func hashtag(s string) text.Token { return text.Token{Kind: text.Hashtag, Text: "#" + s, Value: s} }

func TestTokenize(t *testing.T) {
	long := strings.Repeat("a", 31)
	max := strings.Repeat("b", 30)
	tests := []struct {
		name string
		in   string
		want []text.Token
	}{
		{name: "empty", in: "", want: nil},
		{name: "plain only", in: "hello world", want: []text.Token{plain("hello world")}},
		{name: "mention only", in: "@bob", want: []text.Token{mention("bob")}},
		{name: "link only", in: "https://example.com", want: []text.Token{link("https://example.com")}},
		{
			name: "mixed",
			in:   "hi @bob see https://example.com/x?y=1 now",
			want: []text.Token{
				plain("hi "), mention("bob"), plain(" see "), link("https://example.com/x?y=1"), plain(" now"),
			},
		},
		{
			name: "mention case kept as written",
			in:   "@Bob_99!",
			want: []text.Token{mention("Bob_99"), plain("!")},
		},
		{
			name: "adjacent mentions separated by space",
			in:   "@a @b",
			want: []text.Token{mention("a"), plain(" "), mention("b")},
		},
		{name: "lone at sign", in: "@", want: []text.Token{plain("@")}},
		{name: "at followed by space", in: "@ bob", want: []text.Token{plain("@ bob")}},
		{name: "double at", in: "@@bob", want: []text.Token{plain("@@bob")}},
		{name: "email", in: "bob@example.com", want: []text.Token{plain("bob@example.com")}},
		{name: "remote address", in: "@bob@other.example", want: []text.Token{plain("@bob@other.example")}},
		{name: "31 char name", in: "@" + long, want: []text.Token{plain("@" + long)}},
		{name: "30 char name", in: "@" + max + ".", want: []text.Token{mention(max), plain(".")}},
		{name: "name followed by letter with accent", in: "@bobé", want: []text.Token{plain("@bobé")}},
		{name: "unicode letter before at", in: "é@bob", want: []text.Token{plain("é@bob")}},
		{name: "hyphen ends name", in: "@bob-smith", want: []text.Token{mention("bob"), plain("-smith")}},
		{name: "slash before at", in: "x/@bob", want: []text.Token{plain("x/"), mention("bob")}},
		{
			name: "mention inside link is part of link",
			in:   "https://example.com/@bob",
			want: []text.Token{link("https://example.com/@bob")},
		},
		{
			name: "link trailing period",
			in:   "see https://example.com.",
			want: []text.Token{plain("see "), link("https://example.com"), plain(".")},
		},
		{
			name: "link trailing punctuation run",
			in:   "https://example.com/a?!.,;:'\"",
			want: []text.Token{link("https://example.com/a"), plain("?!.,;:'\"")},
		},
		{
			name: "link in parentheses",
			in:   "(https://example.com/a)",
			want: []text.Token{plain("("), link("https://example.com/a"), plain(")")},
		},
		{
			name: "balanced parentheses kept",
			in:   "https://en.wikipedia.org/wiki/Go_(language)",
			want: []text.Token{link("https://en.wikipedia.org/wiki/Go_(language)")},
		},
		{
			name: "balanced parentheses kept inside parentheses",
			in:   "(see https://en.wikipedia.org/wiki/Go_(language))",
			want: []text.Token{plain("(see "), link("https://en.wikipedia.org/wiki/Go_(language)"), plain(")")},
		},
		{
			name: "brackets and braces",
			in:   "[https://example.com/a[1]] {https://example.com/b}",
			want: []text.Token{
				plain("["), link("https://example.com/a[1]"), plain("] {"), link("https://example.com/b"), plain("}"),
			},
		},
		{
			name: "uppercase scheme",
			in:   "HTTPS://EXAMPLE.COM/X and HtTp://example.com",
			want: []text.Token{link("HTTPS://EXAMPLE.COM/X"), plain(" and "), link("HtTp://example.com")},
		},
		{
			name: "link stops at angle brackets and quotes",
			in:   `<https://example.com/a>"https://example.com/b"`,
			want: []text.Token{
				plain("<"), link("https://example.com/a"), plain(`>"`), link("https://example.com/b"), plain(`"`),
			},
		},
		{
			name: "link stops at newline",
			in:   "https://example.com/a\nnext",
			want: []text.Token{link("https://example.com/a"), plain("\nnext")},
		},
		{name: "scheme only", in: "https://", want: []text.Token{plain("https://")}},
		{name: "scheme and punctuation", in: "https://...", want: []text.Token{plain("https://...")}},
		{name: "letter before scheme", in: "xhttps://example.com", want: []text.Token{plain("xhttps://example.com")}},
		{name: "ftp not linked", in: "ftp://example.com", want: []text.Token{plain("ftp://example.com")}},
		{name: "javascript not linked", in: "javascript:alert(1)", want: []text.Token{plain("javascript:alert(1)")}},
		{
			name: "link with port, query, fragment",
			in:   "http://localhost:8080/p?q=1&r=2#frag",
			want: []text.Token{link("http://localhost:8080/p?q=1&r=2#frag")},
		},
		{
			name: "link followed by mention",
			in:   "https://example.com @bob",
			want: []text.Token{link("https://example.com"), plain(" "), mention("bob")},
		},
		{
			name: "mention after newline and parenthesis",
			in:   "hi\n@ann (@bob) @cat,",
			want: []text.Token{
				plain("hi\n"), mention("ann"), plain(" ("), mention("bob"), plain(") "), mention("cat"), plain(","),
			},
		},
		{
			name: "invalid UTF-8 passes through",
			in:   "\xff@bob \xfe",
			want: []text.Token{plain("\xff"), mention("bob"), plain(" \xfe")},
		},
		{name: "hashtag only", in: "#Go", want: []text.Token{hashtag("Go")}},
		{
			name: "hashtag, mention and link",
			in:   "#go by @bob: https://go.dev/#top #Fast.",
			want: []text.Token{
				hashtag("go"), plain(" by "), mention("bob"), plain(": "), link("https://go.dev/#top"), plain(" "),
				hashtag("Fast"), plain("."),
			},
		},
		{name: "hashtag after word is plain", in: "C# a#b", want: []text.Token{plain("C# a#b")}},
		{name: "hashtag after mention is plain", in: "@bob#x", want: []text.Token{mention("bob"), plain("#x")}},
		{name: "hashtag followed by at", in: "#go@bob", want: []text.Token{hashtag("go"), plain("@bob")}},
		{
			name: "hashtag in unparseable URL is plain",
			in:   "https://example.com/%zz#tag",
			want: []text.Token{plain("https://example.com/%zz#tag")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := text.Tokenize(tt.in)
			require.Equal(t, tt.want, got)
			var b strings.Builder
			for _, tok := range got {
				b.WriteString(tok.Text)
			}
			require.Equal(t, tt.in, b.String(), "tokens must join back to the input")
		})
	}
}

func TestMentions(t *testing.T) {
	eleven := make([]string, 11)
	var elevenBody []string
	for i := range eleven {
		eleven[i] = fmt.Sprintf("user%d", i)
		elevenBody = append(elevenBody, "@"+eleven[i])
	}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "none", in: "hello world", want: nil},
		{name: "empty", in: "", want: nil},
		{name: "start of text", in: "@bob hi", want: []string{"bob"}},
		{name: "end of text", in: "hi @bob", want: []string{"bob"}},
		{name: "whole text", in: "@bob", want: []string{"bob"}},
		{name: "after newline", in: "hi\n@bob", want: []string{"bob"}},
		{name: "after tab", in: "hi\t@bob", want: []string{"bob"}},
		{name: "after parenthesis", in: "(@bob)", want: []string{"bob"}},
		{name: "after punctuation", in: "hi,@bob;@ann!@cat", want: []string{"bob", "ann", "cat"}},
		{name: "after quote", in: `"@bob"`, want: []string{"bob"}},
		{name: "trailing period", in: "thanks @bob.", want: []string{"bob"}},
		{name: "trailing comma", in: "@bob, @ann", want: []string{"bob", "ann"}},
		{name: "trailing colon", in: "@bob: hi", want: []string{"bob"}},
		{name: "trailing apostrophe", in: "@bob's post", want: []string{"bob"}},
		{name: "underscore only", in: "@_", want: []string{"_"}},
		{name: "underscores and digits", in: "@_9_", want: []string{"_9_"}},
		{name: "email address", in: "mail bob@example.com", want: nil},
		{name: "email address with underscore before", in: "a_@bob", want: nil},
		{name: "digit before at", in: "1@bob", want: nil},
		{name: "remote mention", in: "@bob@other.example", want: nil},
		{name: "remote mention then local", in: "@bob@other.example @ann", want: []string{"ann"}},
		{name: "double at", in: "@@bob", want: nil},
		{name: "mention in URL path", in: "https://example.com/@bob", want: nil},
		{name: "mention in URL query", in: "http://example.com/?to=@bob&x=1", want: nil},
		{name: "mention in URL userinfo", in: "https://@bob.example.com/", want: nil},
		{name: "mention after URL", in: "https://example.com/ @bob", want: []string{"bob"}},
		{name: "case-insensitive dedupe", in: "@Bob @bob @BOB @ann @ANN", want: []string{"bob", "ann"}},
		{name: "lowercased", in: "@MixedCase", want: []string{"mixedcase"}},
		{name: "order of first appearance", in: "@cat @ann @bob @ann", want: []string{"cat", "ann", "bob"}},
		{name: "30 char name", in: "@" + strings.Repeat("x", 30), want: []string{strings.Repeat("x", 30)}},
		{name: "31 char name ignored", in: "@" + strings.Repeat("x", 31), want: nil},
		{name: "31 char name ignored, not truncated", in: "@" + strings.Repeat("x", 31) + " @ok", want: []string{"ok"}},
		{name: "unicode letter before", in: "é@bob", want: nil},
		{name: "CJK before", in: "字@bob", want: nil},
		{name: "unicode digit before", in: "٣@bob", want: nil},
		{name: "unicode letter after", in: "@bobé", want: nil},
		{name: "emoji before", in: "🐦@bob", want: []string{"bob"}},
		{name: "emoji after", in: "@bob🐦", want: []string{"bob"}},
		{name: "non-breaking space before", in: "hi\u00a0@bob", want: []string{"bob"}},
		{name: "hyphen after", in: "@bob-smith", want: []string{"bob"}},
		{name: "slash before", in: "cc/@bob", want: []string{"bob"}},
		{name: "at alone", in: "@ @", want: nil},
		{name: "capped at MaxMentions", in: strings.Join(elevenBody, " "), want: eleven[:text.MaxMentions]},
		{
			name: "duplicates do not count toward the cap",
			in:   "@user0 @USER0 " + strings.Join(elevenBody[:10], " "),
			want: eleven[:10],
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, text.Mentions(tt.in))
		})
	}
	require.Equal(t, 10, text.MaxMentions)
}

func userURL(name string) string { return "/@" + name }

func tagURL(name string) string { return "/tags/" + name }

func TestRender(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		mentionURL func(string) string
		tagURL     func(string) string
		want       string
	}{
		{name: "empty", in: "", want: ""},
		{name: "plain", in: "hello", want: "hello"},
		{
			name: "script escaped",
			in:   "<script>alert(1)</script>",
			want: "&lt;script&gt;alert(1)&lt;/script&gt;",
		},
		{
			name: "quotes and ampersands escaped",
			in:   `Tom & "Jerry" 'x' &amp;`,
			want: "Tom &amp; &#34;Jerry&#34; &#39;x&#39; &amp;amp;",
		},
		{name: "newlines become br", in: "a\nb\n\nc", want: "a<br>b<br><br>c"},
		{name: "leading and trailing newline", in: "\na\n", want: "<br>a<br>"},
		{
			name: "link",
			in:   "see https://example.com/a?b=1&c=2.",
			want: `see <a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener noreferrer" target="_blank">https://example.com/a?b=1&amp;c=2</a>.`,
		},
		{
			name: "link with balanced parentheses",
			in:   "(https://en.wikipedia.org/wiki/Go_(language))",
			want: `(<a href="https://en.wikipedia.org/wiki/Go_(language)" rel="nofollow noopener noreferrer" target="_blank">https://en.wikipedia.org/wiki/Go_(language)</a>)`,
		},
		{
			name: "link with quote and apostrophe stops or is escaped",
			in:   `https://example.com/it's"><script>`,
			want: `<a href="https://example.com/it&#39;s" rel="nofollow noopener noreferrer" target="_blank">https://example.com/it&#39;s</a>&#34;&gt;&lt;script&gt;`,
		},
		{
			name: "uppercase scheme linked",
			in:   "HTTP://EXAMPLE.COM",
			want: `<a href="HTTP://EXAMPLE.COM" rel="nofollow noopener noreferrer" target="_blank">HTTP://EXAMPLE.COM</a>`,
		},
		{name: "javascript never linked", in: "javascript:alert(1)", want: "javascript:alert(1)"},
		{
			name: "javascript html not linked",
			in:   `<a href="javascript:alert(1)">x</a>`,
			want: "&lt;a href=&#34;javascript:alert(1)&#34;&gt;x&lt;/a&gt;",
		},
		{name: "data URL never linked", in: "data:text/html,<b>x</b>", want: "data:text/html,&lt;b&gt;x&lt;/b&gt;"},
		{
			name: "mention linked",
			in:   "hi @Bob!",
			want: `hi <a class="mention" href="/@Bob">@Bob</a>!`,
		},
		{
			name:       "mention URL escaped",
			in:         "@bob",
			mentionURL: func(name string) string { return `/u?n=` + name + `&x="y"` },
			want:       `<a class="mention" href="/u?n=bob&amp;x=&#34;y&#34;">@bob</a>`,
		},
		{
			name:       "mention plain when URL empty",
			in:         "@bob\n@ann",
			mentionURL: func(string) string { return "" },
			want:       "@bob<br>@ann",
		},
		{
			name:       "only some mentions linked",
			in:         "@bob @ghost",
			mentionURL: func(name string) string { return map[string]string{"bob": "/@bob"}[name] },
			want:       `<a class="mention" href="/@bob">@bob</a> @ghost`,
		},
		{name: "email not linked", in: "bob@example.com", want: "bob@example.com"},
		{
			name: "mixed",
			in:   "<b>@ann</b>\nhttps://x.example/",
			want: `&lt;b&gt;<a class="mention" href="/@ann">@ann</a>&lt;/b&gt;<br><a href="https://x.example/" rel="nofollow noopener noreferrer" target="_blank">https://x.example/</a>`,
		},
		{
			name: "hashtag linked",
			in:   "(#Go) is fun",
			want: `(<a class="hashtag" href="/tags/Go" rel="tag">#<span>Go</span></a>) is fun`,
		},
		{
			name:   "hashtag URL escaped",
			in:     "#go",
			tagURL: func(name string) string { return `/t?n=` + name + `&x="y"<` },
			want:   `<a class="hashtag" href="/t?n=go&amp;x=&#34;y&#34;&lt;" rel="tag">#<span>go</span></a>`,
		},
		{
			name: "hashtag name kept as written",
			in:   "#Café\n#日本語",
			want: `<a class="hashtag" href="/tags/Café" rel="tag">#<span>Café</span></a><br>` +
				`<a class="hashtag" href="/tags/日本語" rel="tag">#<span>日本語</span></a>`,
		},
		{
			name:   "hashtag plain when URL empty",
			in:     "#go\n#rust",
			tagURL: func(string) string { return "" },
			want:   "#go<br>#rust",
		},
		{
			name:   "only some hashtags linked",
			in:     "#go #spam",
			tagURL: func(name string) string { return map[string]string{"go": "/tags/go"}[name] },
			want:   `<a class="hashtag" href="/tags/go" rel="tag">#<span>go</span></a> #spam`,
		},
		{name: "entity and C sharp not linked", in: "&#35; C# a#b", want: "&amp;#35; C# a#b"},
		{
			name: "fragment stays in link",
			in:   "https://x.org/p#tag",
			want: `<a href="https://x.org/p#tag" rel="nofollow noopener noreferrer" target="_blank">https://x.org/p#tag</a>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu, tu := tt.mentionURL, tt.tagURL
			if mu == nil {
				mu = userURL
			}
			if tu == nil {
				tu = tagURL
			}
			require.Equal(t, tt.want, string(text.Render(tt.in, mu, tu)))
		})
	}
}

func TestRenderMentionURLGetsNameAsWritten(t *testing.T) {
	var got []string
	text.Render("@Bob @bob https://example.com/@carol bob@example.com", func(name string) string {
		got = append(got, name)
		return ""
	}, tagURL)
	require.Equal(t, []string{"Bob", "bob"}, got)
}

// TestNoMentionInsideUnparseableURL: the package documents that a URL is http:// or
// https:// at a word boundary running to the next whitespace or <>", and that "text inside
// a URL is never a mention". Tokenize additionally drops links that net/url cannot parse
// (bad %-escape, bad port, unclosed '['), and the text inside them then yields mentions:
// a post quoting such a URL notifies the user named in its path.
func TestNoMentionInsideUnparseableURL(t *testing.T) {
	for _, in := range []string{
		"https://example.com/%zz/@bob",
		"see https://example.com/@bob%",
		"http://example.com:abc/@bob",
	} {
		require.Empty(t, text.Mentions(in), "input %q", in)
	}
}
