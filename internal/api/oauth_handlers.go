package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/oauth"
)

// oauthError writes an RFC 6749 error: 401 for invalid_client, 400 otherwise.
func (s *Server) oauthError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		s.answerError(w, r, err)
		return
	}
	status := http.StatusBadRequest
	if oe.Code == "invalid_client" {
		status = http.StatusUnauthorized
	}
	writeJSON(w, status, map[string]string{"error": oe.Code, "error_description": oe.Description})
}

func (s *Server) appCreate(w http.ResponseWriter, r *http.Request) {
	if s.apps != nil {
		now := time.Now()
		if ok, _, reset := s.apps.Allow(s.proxies.ClientIP(r), now); !ok {
			tooMany(w, now, reset, "Too many applications registered from this address; try again later")
			return
		}
	}
	f, ok := s.readFields(w, r)
	if !ok {
		return
	}
	// redirect_uris is one string (several separated by spaces or newlines) or a list.
	var uris []string
	for _, u := range f.Strings("redirect_uris", oauth.MaxRedirectURIs) {
		uris = append(uris, strings.Fields(u)...)
	}
	name, website, scopes := f.String("client_name"), f.String("website"), f.String("scopes")
	if !s.checkFields(w, f) {
		return
	}
	app, err := s.oauth.RegisterApp(r.Context(), name, website, uris, scopes)
	var verr *oauth.ValidationError
	if errors.As(err, &verr) {
		writeError(w, http.StatusUnprocessableEntity, verr.Message)
		return
	}
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id(app.ID), "name": app.Name, "website": nullable(app.Website), "scopes": app.Scopes,
		"redirect_uri": strings.Join(app.RedirectURIs, "\n"), "redirect_uris": app.RedirectURIs,
		"client_id": app.ClientID, "client_secret": app.ClientSecret, "client_secret_expires_at": 0,
		"vapid_key": "",
	})
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) appVerify(w http.ResponseWriter, r *http.Request) {
	g := callerOf(r).grant
	if g.AppID == 0 {
		writeJSON(w, http.StatusOK, map[string]any{"name": "Personal access token", "website": nil, "scopes": g.Scopes, "vapid_key": ""})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": g.AppName, "website": nullable(g.AppWebsite), "scopes": g.Scopes, "vapid_key": ""})
}

// clientRequest reads the fields of a token or revocation request and the client's
// credentials, from the body or HTTP Basic authentication. It answers a body it cannot
// read itself (RFC 6749's invalid_request) and returns ok=false.
func clientRequest(w http.ResponseWriter, r *http.Request) (f *fields, clientID, secret string, ok bool) {
	f, err := readFields(r)
	if err != nil {
		writeJSON(w, paramsStatus(err), map[string]string{"error": "invalid_request", "error_description": err.Error()})
		return nil, "", "", false
	}
	clientID, secret = f.String("client_id"), f.String("client_secret")
	if u, p, basic := r.BasicAuth(); basic {
		clientID, secret = u, p
	}
	return f, clientID, secret, true
}

// checkClientFields answers invalid_request naming the fields that were wrong or that the
// request's grant does not take, and returns false, when there are any.
func checkClientFields(w http.ResponseWriter, f *fields) bool {
	err := f.check()
	if err == nil {
		return true
	}
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": err.Error()})
	return false
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	v, clientID, secret, ok := clientRequest(w, r)
	if !ok {
		return
	}
	grant := v.String("grant_type")
	// Apps send redirect_uri and scope with every grant (Mastodon.py, toot, Elk, Ice Cubes).
	// A code's token has the scopes the person consented to, and only the code grant has a
	// redirect to check, so elsewhere they change nothing; the answer's scope says what
	// was granted.
	if grant != "authorization_code" {
		v.Ignore("redirect_uri")
	}
	if grant == "authorization_code" {
		v.Ignore("scope")
	}
	if grant != "" && !slices.Contains(s.grantTypes, grant) {
		s.oauthError(w, r, &oauth.Error{Code: "unsupported_grant_type", Description: "Supported grant types: " + strings.Join(s.grantTypes, ", ") + "."})
		return
	}
	var tok oauth.Token
	var err error
	switch grant {
	case "authorization_code":
		code, redirect, verifier := v.String("code"), v.String("redirect_uri"), v.String("code_verifier")
		if !checkClientFields(w, v) {
			return
		}
		tok, err = s.oauth.ExchangeCode(r.Context(), clientID, secret, code, redirect, verifier)
	case "client_credentials":
		scope := v.String("scope")
		if !checkClientFields(w, v) {
			return
		}
		tok, err = s.oauth.ClientCredentials(r.Context(), clientID, secret, scope)
	case "password":
		scope, login, password := v.String("scope"), v.String("username"), v.String("password")
		if !checkClientFields(w, v) {
			return
		}
		s.passwordGrant(w, r, scope, login, password, clientID, secret)
		return
	default: // no grant_type: unknown ones were refused above
		err = &oauth.Error{Code: "invalid_request", Description: "The grant_type parameter is missing."}
	}
	if err != nil {
		s.oauthError(w, r, err)
		return
	}
	writeToken(w, tok)
}

// writeToken answers a token request with tok, the same way for every grant.
func writeToken(w http.ResponseWriter, tok oauth.Token) {
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok.AccessToken, "token_type": "Bearer", "scope": tok.Scopes.String(),
		"created_at": tok.CreatedAt.Unix(),
	})
}

// passwordGrant runs grant_type=password: the client first, then the person's login name
// (or email) and password, counted against the login allowances the website's form uses.
func (s *Server) passwordGrant(w http.ResponseWriter, r *http.Request, scope, login, password, clientID, secret string) {
	req, err := s.oauth.CheckPasswordGrant(r.Context(), clientID, secret, scope)
	if err != nil {
		s.oauthError(w, r, err)
		return
	}
	if login == "" || password == "" {
		s.oauthError(w, r, &oauth.Error{Code: "invalid_request", Description: "The username and password parameters are required."})
		return
	}
	var key string // the account's, for its username and email alike (core.LoginKey)
	if s.logins != nil {
		if key, err = s.core.LoginKey(r.Context(), login); err != nil {
			s.answerError(w, r, err)
			return
		}
		now := time.Now()
		if ok, reset := s.logins.Allow(s.proxies.ClientIP(r), key, now); !ok {
			tooMany(w, now, reset, "Too many login attempts; wait a little and try again")
			return
		}
	}
	u, err := s.core.Authenticate(r.Context(), login, password)
	if errors.Is(err, core.ErrBadCredentials) {
		s.oauthError(w, r, oauth.ErrBadCredentials)
		return
	}
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	if s.logins != nil {
		s.logins.Succeeded(s.proxies.ClientIP(r), key)
	}
	tok, err := s.oauth.IssuePasswordToken(r.Context(), req, u.ID)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	writeToken(w, tok)
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	v, clientID, secret, ok := clientRequest(w, r)
	if !ok {
		return
	}
	token := v.String("token")
	v.Ignore("token_type_hint") // RFC 7009: a hint the server may ignore; tokens are looked up by value
	if !checkClientFields(w, v) {
		return
	}
	if err := s.oauth.Revoke(r.Context(), clientID, secret, token); err != nil {
		s.oauthError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (s *Server) oauthMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.base + "/",
		"authorization_endpoint":                s.base + "/oauth/authorize",
		"token_endpoint":                        s.base + "/oauth/token",
		"revocation_endpoint":                   s.base + "/oauth/revoke",
		"app_registration_endpoint":             s.base + "/api/v1/apps",
		"scopes_supported":                      []string{"read", "write", "follow", "push", "profile", "read:accounts", "read:follows", "read:notifications", "read:statuses", "write:follows", "write:notifications", "write:statuses"},
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 s.grantTypes,
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"service_documentation":                 "https://docs.joinmastodon.org/",
	})
}
