package text_test

import (
	"errors"
	"html"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/text/unicode/norm"

	"github.com/starling-social/starling/internal/text"
)

// seeds are interesting post bodies shared by every fuzz target.
var seeds = []string{
	"",
	" ",
	"hello world",
	"a\r\nb\rc\n",
	"\x00\x01\x7f\u0085\u009f",
	"e\u0301 \u1100\u1161 \u212b \u0958",
	" \u0301\u0316x",
	"\u00a0\u3000\u2028hi\u2029",
	"\xff\xfe@bob \xc3",
	"@bob",
	"@_",
	"@@bob",
	"@bob@other.example",
	"bob@example.com",
	"é@bob @bobé 字@bob 🐦@bob @bob🐦",
	"(@bob) @ann, @cat. \n@dan",
	"@" + strings.Repeat("a", 30),
	"@" + strings.Repeat("a", 31),
	"@Bob @bob @BOB",
	"@a @b @c @d @e @f @g @h @i @j @k @l",
	"https://example.com",
	"HTTPS://EXAMPLE.COM/X",
	"see https://example.com/a?b=1&c=2.",
	"https://en.wikipedia.org/wiki/Go_(language)",
	"(https://en.wikipedia.org/wiki/Go_(language))",
	"[https://example.com/a[1]] {https://example.com/b}",
	"https://example.com/@bob",
	"https://@bob.example.com/",
	"http://[::1]:8080/x",
	"http://[bad @bob",
	"https://",
	"https://...",
	"xhttps://example.com",
	"javascript:alert(1)",
	"javascript:https://example.com",
	"<script>alert('x')</script>",
	`<a href="javascript:alert(1)">x</a>`,
	`https://example.com/it's"><script>`,
	`https://example.com/"onmouseover="alert(1)`,
	"https://example.com/a\x00b",
	"https://exa\u00e9mple.com/\u2028@x",
	"Tom & \"Jerry\" &amp; &lt;",
	strings.Repeat("é", 501),
	"#go",
	"#Go #go #GO",
	"(#go) x, #go. #tag's #go🎉 🎉#go",
	"a#b C# &#35; &#x23; ##double # #",
	"#123 #_ #2026goals #_go_",
	"https://x.org/#frag https://x.org/p#tag https://example.com/%zz#tag",
	"@bob#x #go@bob @#go x/#go",
	"#日本語 #مرحبا #می\u200cخواهم #हिन्दी #한국어",
	"#l·l #·x #x· #x··y #\u200cab #ab\u200c",
	"#café #CAFÉ #cafe\u0301 #ｇｏ ＃go",
	"#Straße #STRASSE #ΟΔΟΣ #οδος #ᏣᎳᎩ #ꮳꮃꭹ #ﷺ #aͺ",
	"e\u0301#go #\u0301go",
	"#" + strings.Repeat("a", 100),
	"#" + strings.Repeat("a", 101),
	"#a #b #c #d #e #f #g #h #i #j #k #l #m #n #o #p #q #r #s #t #u #v #w #x #y #z #aa #bb #cc #dd #ee #ff",
	`#go"><script>`,
}

func FuzzNormalizePost(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := text.NormalizePost(in)
		if err != nil {
			if out != "" {
				t.Fatalf("error %v with non-empty result %q", err, out)
			}
			switch {
			case errors.Is(err, text.ErrInvalidUTF8):
				if utf8.ValidString(in) {
					t.Fatalf("ErrInvalidUTF8 for valid UTF-8 %q", in)
				}
			case errors.Is(err, text.ErrEmpty), errors.Is(err, text.ErrTooLong):
				if !utf8.ValidString(in) {
					t.Fatalf("%v instead of ErrInvalidUTF8 for %q", err, in)
				}
			default:
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !utf8.ValidString(in) {
			t.Fatalf("invalid UTF-8 %q accepted", in)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 output %q", out)
		}
		if n := utf8.RuneCountInString(out); n == 0 || n > text.MaxPostChars {
			t.Fatalf("output has %d code points: %q", n, out)
		}
		if !norm.NFC.IsNormalString(out) {
			t.Fatalf("output not NFC: %q", out)
		}
		if strings.ContainsRune(out, '\r') {
			t.Fatalf("output contains CR: %q", out)
		}
		for _, r := range out {
			if unicode.IsControl(r) && r != '\n' && r != '\t' {
				t.Fatalf("output contains control %U: %q", r, out)
			}
		}
		first, _ := utf8.DecodeRuneInString(out)
		last, _ := utf8.DecodeLastRuneInString(out)
		if unicode.IsSpace(first) || unicode.IsSpace(last) {
			t.Fatalf("output not trimmed: %q", out)
		}
		again, err := text.NormalizePost(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
	})
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// isTagRune is a rune a hashtag name may hold anywhere (without the joiners · and ZWNJ).
func isTagRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nd)
}

func hasHTTPPrefix(s string) bool {
	l := strings.ToLower(s[:min(len(s), len("https://"))])
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

func FuzzTokenize(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		toks := text.Tokenize(in)
		var b strings.Builder
		for i, tok := range toks {
			if tok.Text == "" {
				t.Fatalf("token %d is empty: %#v", i, toks)
			}
			before := b.String()
			b.WriteString(tok.Text)
			after := in[min(b.Len(), len(in)):]
			prev, next := rune(-1), rune(-1)
			if before != "" {
				prev, _ = utf8.DecodeLastRuneInString(before)
			}
			if after != "" {
				next, _ = utf8.DecodeRuneInString(after)
			}
			switch tok.Kind {
			case text.Plain:
				if tok.Value != "" {
					t.Fatalf("plain token with value: %#v", tok)
				}
				if i > 0 && toks[i-1].Kind == text.Plain {
					t.Fatalf("adjacent plain tokens at %d: %#v", i, toks)
				}
			case text.Mention:
				if tok.Text != "@"+tok.Value {
					t.Fatalf("mention text %q is not '@' + value %q", tok.Text, tok.Value)
				}
				if !text.ValidUsername(tok.Value) {
					t.Fatalf("mention value %q is not a valid username (input %q)", tok.Value, in)
				}
				if prev >= 0 && (isWordRune(prev) || prev == '@') {
					t.Fatalf("mention %q follows %q in %q", tok.Text, prev, in)
				}
				if next >= 0 && (isWordRune(next) || next == '@') {
					t.Fatalf("mention %q followed by %q in %q", tok.Text, next, in)
				}
			case text.Link:
				if tok.Text != tok.Value {
					t.Fatalf("link text %q != value %q", tok.Text, tok.Value)
				}
				if !hasHTTPPrefix(tok.Value) {
					t.Fatalf("link %q does not start with http:// or https:// (input %q)", tok.Value, in)
				}
				if prev >= 0 && isWordRune(prev) {
					t.Fatalf("link %q follows word character %q in %q", tok.Value, prev, in)
				}
				if !utf8.ValidString(tok.Value) {
					t.Fatalf("link %q is not valid UTF-8", tok.Value)
				}
				if strings.ContainsAny(tok.Value, "<>\"") || strings.IndexFunc(tok.Value, unicode.IsSpace) >= 0 {
					t.Fatalf("link %q contains a delimiter (input %q)", tok.Value, in)
				}
				if strings.ContainsAny(tok.Value[len(tok.Value)-1:], ".,;:!?'\"") {
					t.Fatalf("link %q ends in punctuation (input %q)", tok.Value, in)
				}
			case text.Hashtag:
				if tok.Text != "#"+tok.Value {
					t.Fatalf("hashtag text %q is not '#' + value %q", tok.Text, tok.Value)
				}
				if !text.ValidTag(tok.Value) {
					t.Fatalf("hashtag value %q is not a valid tag (input %q)", tok.Value, in)
				}
				if prev >= 0 && (isTagRune(prev) || unicode.Is(unicode.M, prev) || strings.ContainsRune("#&/@", prev)) {
					t.Fatalf("hashtag %q follows %q in %q", tok.Text, prev, in)
				}
				// The name is the whole run: no name rune, nor a joiner and a name rune, follows.
				if next >= 0 {
					_, size := utf8.DecodeRuneInString(after)
					afterNext, _ := utf8.DecodeRuneInString(after[size:])
					if isTagRune(next) || (next == '\u00b7' || next == '\u200c') && isTagRune(afterNext) {
						t.Fatalf("hashtag %q followed by %q in %q", tok.Text, after[:size], in)
					}
				}
			default:
				t.Fatalf("unknown kind %d", tok.Kind)
			}
		}
		if b.String() != in {
			t.Fatalf("tokens join to %q, want %q", b.String(), in)
		}
	})
}

func FuzzMentions(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		names := text.Mentions(in)
		if len(names) > text.MaxMentions {
			t.Fatalf("%d mentions > %d", len(names), text.MaxMentions)
		}
		lower := strings.ToLower(in)
		seen := map[string]bool{}
		for _, n := range names {
			if seen[n] {
				t.Fatalf("duplicate %q in %q", n, names)
			}
			seen[n] = true
			if n != strings.ToLower(n) {
				t.Fatalf("%q is not lowercase", n)
			}
			if !text.ValidUsername(n) {
				t.Fatalf("%q is not a valid username", n)
			}
			if !strings.Contains(lower, "@"+n) {
				t.Fatalf("%q does not appear after '@' in %q", n, in)
			}
		}
		// Mentions agrees with Tokenize: the first MaxMentions distinct lowercased names.
		var want []string
		wantSeen := map[string]bool{}
		for _, tok := range text.Tokenize(in) {
			if tok.Kind != text.Mention || len(want) == text.MaxMentions {
				continue
			}
			if n := strings.ToLower(tok.Value); !wantSeen[n] {
				wantSeen[n] = true
				want = append(want, n)
			}
		}
		if strings.Join(want, " ") != strings.Join(names, " ") || len(want) != len(names) {
			t.Fatalf("Mentions %q, Tokenize gives %q", names, want)
		}
	})
}

const (
	linkOpenPrefix    = `<a href="`
	linkOpenSuffix    = `" rel="nofollow noopener noreferrer" target="_blank">`
	mentionOpenPrefix = `<a class="mention" href="`
	mentionOpenSuffix = `">`
	tagOpenPrefix     = `<a class="hashtag" href="`
	tagOpenSuffix     = `" rel="tag">`
)

// safeHref reports whether u (unescaped) is a URL Render may link to in the fuzz tests:
// http(s), a user page or a tag page.
func safeHref(u string) bool {
	return hasHTTPPrefix(u) || strings.HasPrefix(u, "/@") || strings.HasPrefix(u, "/tags/")
}

// checkRendered verifies the safety invariants of Render's output without an HTML parser:
// the only markup is <a ...>, </a>, <br>, and <span>…</span> right after the '#' of a
// hashtag anchor; every href is http(s), /@ or /tags/; anchors do not nest; and the visible
// text, unescaped, is exactly the body (with <br> as \n).
func checkRendered(t *testing.T, body, out string) {
	t.Helper()
	var visible strings.Builder
	inAnchor, inTag, inSpan := false, false, false
	for i := 0; i < len(out); {
		rest := out[i:]
		if rest[0] == '>' {
			t.Fatalf("stray '>' at %d in %q", i, out)
		}
		if rest[0] == '"' || rest[0] == '\'' {
			t.Fatalf("unescaped quote at %d in %q", i, out)
		}
		if rest[0] == '&' {
			j := strings.IndexByte(rest, ';')
			if j < 0 {
				t.Fatalf("bare '&' at %d in %q", i, out)
			}
		}
		if rest[0] != '<' {
			j := strings.IndexByte(rest, '<')
			if j < 0 {
				j = len(rest)
			}
			seg := rest[:j]
			if strings.ContainsAny(seg, "<>\"'") {
				t.Fatalf("unescaped markup character in text %q of %q", seg, out)
			}
			visible.WriteString(html.UnescapeString(seg))
			i += j
			continue
		}
		switch {
		case strings.HasPrefix(rest, "<br>"):
			visible.WriteByte('\n')
			i += len("<br>")
		case strings.HasPrefix(rest, "</a>"):
			if !inAnchor || inSpan {
				t.Fatalf("</a> without <a> or inside <span> in %q", out)
			}
			inAnchor, inTag = false, false
			i += len("</a>")
		case strings.HasPrefix(rest, "<span>"):
			// Only as in #<span>name</span></a>, right after the '#' that opens a hashtag.
			if !inTag || inSpan || !strings.HasSuffix(out[:i], tagOpenSuffix+"#") {
				t.Fatalf("unexpected <span> at %d in %q", i, out)
			}
			inSpan = true
			i += len("<span>")
		case strings.HasPrefix(rest, "</span>"):
			if !inSpan || !strings.HasPrefix(rest, "</span></a>") {
				t.Fatalf("unexpected </span> at %d in %q", i, out)
			}
			inSpan = false
			i += len("</span>")
		case strings.HasPrefix(rest, "<a "):
			if inAnchor {
				t.Fatalf("nested <a> in %q", out)
			}
			inAnchor = true
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				t.Fatalf("unterminated tag in %q", out)
			}
			tag := rest[:end+1]
			var href string
			switch {
			case strings.HasPrefix(tag, linkOpenPrefix) && strings.HasSuffix(tag, linkOpenSuffix):
				href = tag[len(linkOpenPrefix) : len(tag)-len(linkOpenSuffix)]
			case strings.HasPrefix(tag, mentionOpenPrefix) && strings.HasSuffix(tag, mentionOpenSuffix):
				href = tag[len(mentionOpenPrefix) : len(tag)-len(mentionOpenSuffix)]
			case strings.HasPrefix(tag, tagOpenPrefix) && strings.HasSuffix(tag, tagOpenSuffix):
				href = tag[len(tagOpenPrefix) : len(tag)-len(tagOpenSuffix)]
				inTag = true
				if !strings.HasPrefix(rest[end+1:], "#<span>") {
					t.Fatalf("hashtag anchor without #<span> in %q", out)
				}
			default:
				t.Fatalf("unexpected tag %q in %q", tag, out)
			}
			if strings.ContainsAny(href, "<>\"'") {
				t.Fatalf("unescaped character in href %q", href)
			}
			u := html.UnescapeString(href)
			if !safeHref(u) {
				t.Fatalf("unsafe href %q in %q", u, out)
			}
			i += end + 1
		default:
			t.Fatalf("unexpected '<' at %d in %q", i, out)
		}
	}
	if inAnchor {
		t.Fatalf("unclosed <a> in %q", out)
	}
	// Every href=" in the output (whatever the parse above thought) is safe.
	for rest := out; ; {
		j := strings.Index(rest, `href="`)
		if j < 0 {
			break
		}
		rest = rest[j+len(`href="`):]
		v, _, _ := strings.Cut(rest, `"`)
		u := html.UnescapeString(v)
		if !safeHref(u) {
			t.Fatalf("unsafe href %q in %q", u, out)
		}
	}
	if visible.String() != body {
		t.Fatalf("visible text %q differs from body %q", visible.String(), body)
	}
	checkParsed(t, body, out)
}

// checkParsed parses out as a browser would (an HTML5 parser, inside a <p>) and checks
// that it holds only text, <br>, <a> elements with known attributes and safe links, and
// <span> elements without attributes inside an <a>, and that its text is the body.
func checkParsed(t *testing.T, body, out string) {
	t.Helper()
	nodes, err := xhtml.ParseFragment(strings.NewReader(out), &xhtml.Node{Type: xhtml.ElementNode, Data: "p", DataAtom: atom.P})
	if err != nil {
		t.Fatalf("parsing %q: %v", out, err)
	}
	allowed := map[string]bool{"href": true, "rel": true, "target": true, "class": true}
	var text strings.Builder
	var walk func(n *xhtml.Node, inA bool)
	inSpan := false
	walk = func(n *xhtml.Node, inA bool) {
		switch n.Type {
		case xhtml.TextNode:
			text.WriteString(n.Data)
		case xhtml.ElementNode:
			switch n.DataAtom {
			case atom.Br:
				text.WriteByte('\n')
			case atom.A:
				if inA {
					t.Fatalf("nested <a> in %q", out)
				}
				for _, a := range n.Attr {
					if !allowed[a.Key] || a.Namespace != "" {
						t.Fatalf("attribute %q on <a> in %q", a.Key, out)
					}
					if a.Key == "href" && !safeHref(a.Val) {
						t.Fatalf("unsafe href %q in %q", a.Val, out)
					}
				}
				inA = true
			case atom.Span:
				if !inA || inSpan || len(n.Attr) > 0 {
					t.Fatalf("<span> outside <a>, nested or with attributes in %q", out)
				}
				inSpan = true
				defer func() { inSpan = false }()
			default:
				t.Fatalf("element <%s> in %q", n.Data, out)
			}
		default:
			t.Fatalf("node of type %d (%q) in %q", n.Type, n.Data, out)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inA)
		}
	}
	for _, n := range nodes {
		walk(n, false)
	}
	// The parser rewrites carriage returns and drops NULs, as browsers do: compare the
	// text only for bodies it leaves alone.
	if utf8.ValidString(body) && !strings.ContainsAny(body, "\r\x00") && text.String() != body {
		t.Fatalf("parsed text %q differs from body %q", text.String(), body)
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range seeds {
		f.Add(s, true, true)
	}
	f.Add(`@bob">`, false, true)
	f.Add(`#go">`, true, false)
	f.Fuzz(func(t *testing.T, body string, linkMentions, linkTags bool) {
		var names, tags []string
		mentionURL := func(name string) string {
			names = append(names, name)
			if !linkMentions || strings.HasPrefix(name, "x") {
				return ""
			}
			return "/@" + name
		}
		tagURL := func(name string) string {
			tags = append(tags, name)
			if !linkTags || strings.HasPrefix(name, "x") {
				return ""
			}
			return "/tags/" + url.PathEscape(text.FoldTag(name))
		}
		out := string(text.Render(body, mentionURL, tagURL))
		for _, n := range names {
			if !text.ValidUsername(n) {
				t.Fatalf("mentionURL called with invalid name %q", n)
			}
		}
		for _, n := range tags {
			if !text.ValidTag(n) {
				t.Fatalf("tagURL called with invalid name %q", n)
			}
		}
		checkRendered(t, body, out)
	})
}

func FuzzHashtags(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		tags := text.Hashtags(in)
		if len(tags) > text.MaxTags {
			t.Fatalf("%d tags > %d", len(tags), text.MaxTags)
		}
		seen := map[string]bool{}
		for _, tg := range tags {
			if !text.ValidTag(tg.Name) {
				t.Fatalf("tag name %q is not valid (input %q)", tg.Name, in)
			}
			if tg.Key != text.FoldTag(tg.Name) {
				t.Fatalf("tag %q has key %q, FoldTag gives %q", tg.Name, tg.Key, text.FoldTag(tg.Name))
			}
			if text.FoldTag(tg.Key) != tg.Key {
				t.Fatalf("key %q of %q folds to %q", tg.Key, tg.Name, text.FoldTag(tg.Key))
			}
			if seen[tg.Key] {
				t.Fatalf("duplicate key %q in %q", tg.Key, tags)
			}
			seen[tg.Key] = true
			if !strings.Contains(in, "#"+tg.Name) {
				t.Fatalf("#%s does not appear in %q", tg.Name, in)
			}
		}
		// Hashtags agrees with Tokenize: the first MaxTags distinct keys, and the tokens join
		// back to the input.
		var want []text.Tag
		var b strings.Builder
		for _, tok := range text.Tokenize(in) {
			b.WriteString(tok.Text)
			if tok.Kind != text.Hashtag || len(want) == text.MaxTags {
				continue
			}
			if k := text.FoldTag(tok.Value); !slices.ContainsFunc(want, func(t text.Tag) bool { return t.Key == k }) {
				want = append(want, text.Tag{Name: tok.Value, Key: k})
			}
		}
		if b.String() != in {
			t.Fatalf("tokens join to %q, want %q", b.String(), in)
		}
		if !slices.Equal(want, tags) {
			t.Fatalf("Hashtags %q, Tokenize gives %q", tags, want)
		}
		// A valid name is one hashtag when written after '#', and only then.
		toks := text.Tokenize("#" + in)
		one := len(toks) == 1 && toks[0].Kind == text.Hashtag && toks[0].Value == in
		if one != text.ValidTag(in) {
			t.Fatalf("ValidTag(%q) = %v, but Tokenize(%q) = %#v", in, text.ValidTag(in), "#"+in, toks)
		}
		// Rendered hashtags are balanced, safe anchors.
		out := string(text.Render(in, func(string) string { return "" }, func(name string) string {
			return "/tags/" + url.PathEscape(text.FoldTag(name))
		}))
		checkRendered(t, in, out)
		if n := strings.Count(out, `<a class="hashtag"`); n < len(tags) {
			t.Fatalf("%d hashtag anchors for %d tags in %q", n, len(tags), out)
		}
	})
}
