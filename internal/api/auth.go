package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/oauth"
)

type grantKey struct{}

// caller is who is calling: the token's grant and, for user tokens, the user.
type caller struct {
	grant oauth.Grant
	user  *core.User
}

func callerOf(r *http.Request) *caller {
	c, _ := r.Context().Value(grantKey{}).(*caller)
	return c
}

// bearer returns the access token of r: the Authorization header, or the access_token
// query parameter (streaming clients), or Sec-WebSocket-Protocol (WebSocket clients).
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	if t := r.URL.Query().Get("access_token"); t != "" {
		return t
	}
	return strings.TrimSpace(r.Header.Get("Sec-WebSocket-Protocol"))
}

// lookupKey carries the rate limiter's lookup of the request's token (a *tokenLookup), so
// that authentication uses it instead of looking the token up a second time.
type lookupKey struct{}

// tokenLookup is the outcome of resolve for the request's token.
type tokenLookup struct {
	caller *caller
	err    error
}

// lookupToken resolves raw, the request's token, once per request: the rate limiter's
// lookup when it made one, a new one otherwise.
func (s *Server) lookupToken(r *http.Request, raw string) (*caller, error) {
	if l, ok := r.Context().Value(lookupKey{}).(*tokenLookup); ok {
		return l.caller, l.err
	}
	return s.resolve(r.Context(), raw)
}

// resolve returns who calls with raw token: from the token cache when it holds the token
// (internal/cache: dropped when the token is revoked or its user changes, and after a
// second at most), else from the database, the token and then its user. A token that is
// unknown, revoked or whose user is gone gives oauth.ErrNotFound; any other error is not
// the token's fault. The caller returned is the caller's own copy.
func (s *Server) resolve(ctx context.Context, raw string) (*caller, error) {
	key := oauth.Hash(raw)
	if c, ok := s.tokens.Get(key); ok {
		return c.copy(), nil
	}
	ticket := s.tokens.Ticket()
	g, err := s.oauth.Lookup(ctx, raw)
	if err != nil {
		return nil, err
	}
	c := &caller{grant: g}
	if g.UserID != 0 {
		u, err := s.core.UserByID(ctx, g.UserID)
		if errors.Is(err, core.ErrNotFound) {
			return nil, oauth.ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		c.user = &u
	}
	s.tokens.Put(ticket, key, g.TokenID, g.UserID, c)
	return c.copy(), nil
}

// copy returns a copy of c that a request may change without changing the cached one.
func (c *caller) copy() *caller {
	out := *c
	if c.user != nil {
		u := *c.user
		out.user = &u
	}
	return &out
}

// ForgetTokens drops tokens ids from the token cache: they were revoked (the
// token.revoked event).
func (s *Server) ForgetTokens(ids []int64) { s.tokens.Revoke(ids) }

// ForgetAllTokens empties the token cache.
func (s *Server) ForgetAllTokens() { s.tokens.Clear() }

// ForgetUser drops the tokens of userID from the token cache: the account changed (the
// account.updated event).
func (s *Server) ForgetUser(userID int64) { s.tokens.ForgetUser(userID) }

// authenticate resolves the request's token. It answers 401 itself for a bad token and
// returns ok=false; a missing token gives a nil caller.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*caller, bool) {
	raw := bearer(r)
	if raw == "" {
		return nil, true
	}
	c, err := s.lookupToken(r, raw)
	if errors.Is(err, oauth.ErrNotFound) {
		writeError(w, http.StatusUnauthorized, "The access token is invalid")
		return nil, false
	}
	if err != nil {
		s.answerError(w, r, err) // not the token's fault: never a 401 that logs the app out
		return nil, false
	}
	return c, true
}

func withCaller(r *http.Request, c *caller) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), grantKey{}, c))
}

// auth requires a valid token with scope (any scope when scope is "").
func (s *Server) auth(scope string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if c == nil {
			writeError(w, http.StatusUnauthorized, "The access token is invalid")
			return
		}
		if scope != "" && !c.grant.Scopes.Allows(scope) {
			writeError(w, http.StatusForbidden, "This action is outside the authorized scopes")
			return
		}
		h(w, withCaller(r, c))
	}
}

// user requires a user's token with scope.
func (s *Server) user(scope string, h http.HandlerFunc) http.HandlerFunc {
	return s.auth(scope, func(w http.ResponseWriter, r *http.Request) {
		if callerOf(r).user == nil {
			writeError(w, http.StatusUnprocessableEntity, "This method requires an authenticated user")
			return
		}
		h(w, r)
	})
}

// optional accepts anonymous calls and valid tokens; a bad token is still refused. On a
// members-only server (core.MayRead) it answers 401 to a call without a member's token.
func (s *Server) optional(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if c != nil {
			r = withCaller(r, c)
		}
		if !s.core.MayRead(viewerID(r)) {
			writeError(w, http.StatusUnauthorized, "This server is for its members only: log in to read it")
			return
		}
		h(w, r)
	}
}

// viewerID returns the calling user's id, or 0.
func viewerID(r *http.Request) int64 {
	if c := callerOf(r); c != nil && c.user != nil {
		return c.user.ID
	}
	return 0
}

// errBodyTooLarge is params' error for a body over MaxBodyBytes.
var errBodyTooLarge = fmt.Errorf("the request body is larger than %d bytes", MaxBodyBytes)

// paramsStatus is the status for an error from params: 413 for a body over the limit,
// 400 otherwise.
func paramsStatus(err error) int {
	if errors.Is(err, errBodyTooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// bodyError turns a failure to read the body into errBodyTooLarge or what.
func bodyError(err error, what string) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errBodyTooLarge
	}
	return errors.New(what)
}

// pageParams reads max_id, since_id, min_id and limit. It answers 400 itself when they are
// malformed.
func pageParams(w http.ResponseWriter, r *http.Request) (core.Page, bool) {
	q := r.URL.Query()
	var p core.Page
	num := func(k string) (int64, bool) {
		s := q.Get(k)
		if s == "" {
			return 0, true
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, k+" must be a status or notification id")
			return 0, false
		}
		return n, true
	}
	var ok bool
	if p.Before, ok = num("max_id"); !ok {
		return p, false
	}
	since, ok := num("since_id")
	if !ok {
		return p, false
	}
	minID, ok := num("min_id")
	if !ok {
		return p, false
	}
	p.After = since
	if minID > 0 {
		p.After, p.Ascending = minID, true
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "limit must be a positive number")
			return p, false
		}
		p.Limit = min(n, core.MaxPageSize)
	}
	return p, true
}

// setLink writes the Link header for a newest-first page whose ids run from newest to
// oldest: next pages go to older items, prev to newer ones.
func (s *Server) setLink(w http.ResponseWriter, r *http.Request, newest, oldest int64) {
	if newest == 0 {
		return
	}
	link := func(k string, id int64) string {
		q := r.URL.Query()
		q.Del("max_id")
		q.Del("min_id")
		q.Del("since_id")
		q.Set(k, strconv.FormatInt(id, 10))
		return s.base + r.URL.Path + "?" + q.Encode()
	}
	w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next", <%s>; rel="prev"`, link("max_id", oldest), link("min_id", newest)))
}

// pathID parses the {id} path parameter; malformed ids are simply not found.
func pathID(r *http.Request, raw string) (int64, bool) {
	n, err := strconv.ParseInt(raw, 10, 64)
	return n, err == nil && n > 0
}
