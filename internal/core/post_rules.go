package core

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/starling-social/starling/internal/text"
)

// CanDelete reports whether actor may delete p: its author may, and so may an
// administrator; nobody who is not logged in (nil). DeletePost enforces it; pages use it
// to offer the button.
func CanDelete(actor *User, p Post) bool {
	return actor != nil && mayDelete(*actor, p.Author.ID)
}

// mayDelete is the rule of CanDelete for a post by authorID.
func mayDelete(actor User, authorID int64) bool {
	return actor.ID == authorID || actor.IsAdmin
}

// RenderBody returns p's body as HTML (see text.Render). A mention links to base+"/@name"
// only when the mentions worker resolved it to an account (p.Mentioned); any other @name
// stays plain text. A hashtag always links to base+"/tags/key", key being
// text.FoldTag(name). base is "" for a link within the website, the instance's URL for the
// API.
func (p Post) RenderBody(base string) template.HTML {
	mentionURL := func(name string) string {
		if p.Mentioned[strings.ToLower(name)] == 0 {
			return ""
		}
		return base + "/@" + url.PathEscape(name)
	}
	tagURL := func(name string) string {
		return base + "/tags/" + url.PathEscape(text.FoldTag(name))
	}
	return text.Render(p.Body, mentionURL, tagURL)
}

// LinkedMentions returns the lowercased names of the mentions RenderBody links, in order
// of first appearance.
func (p Post) LinkedMentions() []string {
	var out []string
	for _, name := range text.Mentions(p.Body) {
		if p.Mentioned[name] != 0 {
			out = append(out, name)
		}
	}
	return out
}

// Allowance is a rate limit: Allow counts one attempt against key at now and reports
// whether it is within the allowance, how many remain, and when the window resets.
// httpx.Limiter is one.
type Allowance interface {
	Allow(key string, now time.Time) (ok bool, remaining int, reset time.Time)
}

// allowPost counts a post by author against Options.PostLimit, and returns a
// *RateLimitError when it is over.
func (s *Service) allowPost(author User, now time.Time) error {
	if s.opts.PostLimit == nil {
		return nil
	}
	if ok, _, reset := s.opts.PostLimit.Allow(strconv.FormatInt(author.ID, 10), now); !ok {
		return &RateLimitError{RetryAfter: reset.Sub(now), What: "posts"}
	}
	return nil
}
