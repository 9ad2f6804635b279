// Package oauth is Starling's OAuth 2.0 authorization server: client registration, the
// authorization-code grant with optional PKCE (S256), the client-credentials grant, the
// password grant (the person's credentials are checked by the caller), personal access
// tokens, revocation and token lookup. Secrets, codes and tokens are random
// and stored only as SHA-256 hashes.
package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/store"
	"github.com/starling-social/starling/internal/text"
)

// OOB is the redirect URI for apps without one: the code is shown to the user to copy.
const OOB = "urn:ietf:wg:oauth:2.0:oob"

// CodeLifetime is how long an authorization code can be exchanged.
const CodeLifetime = 10 * time.Minute

// Error is an OAuth error (RFC 6749 section 5.2): a code and a description fit to show.
type Error struct {
	Code        string
	Description string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func oauthErr(code, desc string) error { return &Error{Code: code, Description: desc} }

// ErrNotFound is returned by lookups of unknown apps and tokens.
var ErrNotFound = errors.New("not found")

// Service is the authorization server. It is safe for concurrent use.
type Service struct {
	db store.Conn
	q  *store.Queries
	// Now returns the current time. Tests may replace it.
	Now func() time.Time
	// AllowHTTPRedirects lets apps register, and be sent back to, http redirect URIs on
	// any host. Defaults to false: http only for loopback addresses (127.0.0.1, [::1],
	// localhost), where an app on the person's own machine listens; everything else must
	// use https or an app's own scheme, so that codes do not cross the network in clear.
	// Set it before the service is used.
	AllowHTTPRedirects bool
	// Wake, when set, is told of each event the service writes (the token.revoked of a
	// revocation), so that the event log's readers read it at once. Set it before use.
	Wake func(eventID int64)
}

// New returns the service using db.
func New(db store.Conn) *Service {
	return &Service{db: db, q: store.New(db), Now: time.Now}
}

func randomToken(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Hash returns the stored form of a secret, code or token.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// App is a registered client.
type App struct {
	ID           int64
	Name         string
	Website      string
	RedirectURIs []string
	Scopes       Scopes
	ClientID     string
	// ClientSecret is set only on the App that RegisterApp returns.
	ClientSecret string
}

func appFrom(a store.OauthApp) App {
	scopes, _ := ParseScopes(a.Scopes)
	return App{ID: a.ID, Name: a.Name, Website: a.Website, RedirectURIs: a.RedirectUris, Scopes: scopes, ClientID: a.ClientID}
}

// ValidationError is a registration input problem (422 in the API).
type ValidationError struct{ Message string }

func (e *ValidationError) Error() string { return e.Message }

// MaxRedirectURIBytes bounds the length of one registered redirect URI.
const MaxRedirectURIBytes = 2000

// MaxRedirectURIs bounds the redirect URIs of one app.
const MaxRedirectURIs = 20

// refusedSchemes are the schemes a redirect URI may not use: they run code in, or read
// from, the browser or the machine instead of handing the answer to an app.
var refusedSchemes = map[string]bool{
	"javascript": true, "vbscript": true, "data": true, "file": true, "blob": true, "about": true, "filesystem": true,
}

// checkRedirectURI reports what is wrong with a redirect URI offered at registration, or
// "" when it is acceptable: the OOB URN; an https URL with a host, or an http one on a
// loopback address (any host when allowHTTP); or an app's own scheme (icecubesapp://,
// com.example.app:/oauth), which mobile and desktop apps use to receive the answer.
// Relative URIs, fragments (RFC 6749 3.1.2), whitespace and the schemes in refusedSchemes
// are refused.
func checkRedirectURI(u string, allowHTTP bool) string {
	if u == OOB {
		return ""
	}
	if len(u) > MaxRedirectURIBytes {
		return fmt.Sprintf("Redirect URI must be at most %d characters.", MaxRedirectURIBytes)
	}
	if strings.ContainsFunc(u, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "Redirect URI must not contain spaces or control characters."
	}
	if strings.Contains(u, "#") {
		return "Redirect URI must not contain a fragment."
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" {
		return "Redirect URI must be an absolute URI."
	}
	switch {
	case refusedSchemes[p.Scheme]:
		return "Redirect URI must not use the " + p.Scheme + ": scheme."
	case (p.Scheme == "http" || p.Scheme == "https") && p.Host == "":
		return "Redirect URI must be an absolute URI."
	case p.Scheme == "http" && !allowHTTP && !isLoopback(p.Hostname()):
		return "Redirect URI must use https: http is only for loopback addresses (127.0.0.1, [::1], localhost)."
	}
	return ""
}

// isLoopback reports whether host (without brackets or port) is the machine itself: a
// loopback IP address or the name localhost (RFC 8252 section 7.3).
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RegisterApp registers a client. redirectURIs are checked by checkRedirectURI.
func (s *Service) RegisterApp(ctx context.Context, name, website string, redirectURIs []string, scopes string) (App, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return App{}, &ValidationError{"Validation failed: Application name can't be blank and must be at most 200 characters"}
	}
	if text.HasHiddenFormatting(name) {
		// The consent page shows the name: a direction mark could reverse what follows it.
		return App{}, &ValidationError{"Validation failed: Application name (client_name) must not contain invisible formatting characters (direction marks, zero-width spaces)"}
	}
	if len(redirectURIs) == 0 {
		return App{}, &ValidationError{"Validation failed: Redirect URI can't be blank"}
	}
	if len(redirectURIs) > MaxRedirectURIs {
		return App{}, &ValidationError{fmt.Sprintf("Validation failed: Redirect URI: at most %d may be registered", MaxRedirectURIs)}
	}
	for _, u := range redirectURIs {
		if msg := checkRedirectURI(u, s.AllowHTTPRedirects); msg != "" {
			return App{}, &ValidationError{"Validation failed: " + msg}
		}
	}
	if website != "" {
		if p, err := url.Parse(website); err != nil || (p.Scheme != "http" && p.Scheme != "https") || len(website) > 2000 {
			return App{}, &ValidationError{"Validation failed: Website must be an http or https URL"}
		}
	}
	sc, err := ParseScopes(scopes)
	if err != nil {
		return App{}, &ValidationError{"Validation failed: Scopes " + err.(*Error).Description}
	}
	clientID := randomToken("")
	secret := randomToken("")
	row, err := s.q.OAuthAppCreate(ctx, store.OAuthAppCreateParams{
		Name: name, Website: website, RedirectUris: redirectURIs, Scopes: sc.String(),
		ClientID: clientID, ClientSecretHash: Hash(secret),
	})
	if err != nil {
		return App{}, fmt.Errorf("register app: %w", err)
	}
	app := appFrom(row)
	app.ClientSecret = secret
	return app, nil
}

// AppByClientID returns the app with clientID.
func (s *Service) AppByClientID(ctx context.Context, clientID string) (App, error) {
	if !text.Storable(clientID) { // no client has such an id, and Postgres would refuse it
		return App{}, ErrNotFound
	}
	row, err := s.q.OAuthAppByClientID(ctx, clientID)
	if errors.Is(err, pgx.ErrNoRows) {
		return App{}, ErrNotFound
	}
	if err != nil {
		return App{}, fmt.Errorf("app: %w", err)
	}
	return appFrom(row), nil
}

// authenticateClient checks a client's id and secret.
func (s *Service) authenticateClient(ctx context.Context, clientID, secret string) (store.OauthApp, error) {
	if !text.Storable(clientID) { // no client has such an id, and Postgres would refuse it
		clientID = ""
	}
	row, err := s.q.OAuthAppByClientID(ctx, clientID)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && subtle.ConstantTimeCompare([]byte(Hash(secret)), []byte(row.ClientSecretHash)) != 1) {
		return store.OauthApp{}, oauthErr("invalid_client", "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.")
	}
	if err != nil {
		return store.OauthApp{}, fmt.Errorf("client: %w", err)
	}
	return row, nil
}

// AuthorizeRequest is a checked /oauth/authorize request.
type AuthorizeRequest struct {
	App           App
	RedirectURI   string
	Scopes        Scopes
	State         string
	CodeChallenge string
}

// CheckAuthorize validates the parameters of an authorization request: the client first,
// then the redirect URI (redirectURI, or the app's only one when it is empty, as RFC 6749
// section 3.1.2.3 allows), then the rest. Its errors are for the consent page to show to
// the person, never to redirect with (RFC 6749 section 4.1.2.1, RFC 9700 section 4.11.2).
func (s *Service) CheckAuthorize(ctx context.Context, clientID, redirectURI, responseType, scope, challenge, method string) (AuthorizeRequest, error) {
	app, err := s.AppByClientID(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		return AuthorizeRequest{}, oauthErr("invalid_client", "Unknown client_id.")
	}
	if err != nil {
		return AuthorizeRequest{}, err
	}
	if redirectURI == "" && len(app.RedirectURIs) == 1 {
		redirectURI = app.RedirectURIs[0]
	}
	if !slices.Contains(app.RedirectURIs, redirectURI) {
		return AuthorizeRequest{}, oauthErr("invalid_request", "The redirect_uri does not match one registered for this application.")
	}
	// Checked again: the URI may have been registered under older rules, or while
	// AllowHTTPRedirects was on.
	if msg := checkRedirectURI(redirectURI, s.AllowHTTPRedirects); msg != "" {
		return AuthorizeRequest{}, oauthErr("invalid_request", "The redirect_uri is not allowed on this server. "+msg)
	}
	req := AuthorizeRequest{App: app, RedirectURI: redirectURI}
	if responseType != "code" {
		return req, oauthErr("unsupported_response_type", "Only response_type=code is supported.")
	}
	if req.Scopes, err = ParseScopes(scope); err != nil {
		return req, err
	}
	if !req.Scopes.Within(app.Scopes) {
		return req, oauthErr("invalid_scope", "The requested scope exceeds the scopes registered for this application.")
	}
	switch {
	case challenge == "" && method == "":
	case method == "S256" && validPKCE(challenge):
		req.CodeChallenge = challenge
	case method == "plain" || method == "":
		return req, oauthErr("invalid_request", "Only the S256 code_challenge_method is supported.")
	default:
		return req, oauthErr("invalid_request", "Invalid code_challenge or code_challenge_method.")
	}
	return req, nil
}

// validPKCE checks the form of a code verifier or S256 challenge (RFC 7636: 43 to 128
// characters of [A-Za-z0-9-._~]).
func validPKCE(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
			return false
		}
	}
	return true
}

// IssueCode records the user's consent to req and returns a single-use code.
func (s *Service) IssueCode(ctx context.Context, req AuthorizeRequest, userID int64) (string, error) {
	code := randomToken("")
	err := s.q.OAuthCodeCreate(ctx, store.OAuthCodeCreateParams{
		CodeHash: Hash(code), AppID: req.App.ID, UserID: userID, RedirectUri: req.RedirectURI,
		Scopes: req.Scopes.String(), CodeChallenge: req.CodeChallenge, ExpiresAt: s.Now().Add(CodeLifetime),
	})
	if err != nil {
		return "", fmt.Errorf("issue code: %w", err)
	}
	return code, nil
}

// Token is an issued access token. AccessToken is the only time the raw token exists.
type Token struct {
	AccessToken string
	Scopes      Scopes
	CreatedAt   time.Time
}

func (s *Service) issue(ctx context.Context, appID, userID *int64, name string, scopes Scopes) (Token, error) {
	return issueWith(ctx, s.q, appID, userID, name, scopes)
}

// issueWith is issue on q, which may be a transaction's.
func issueWith(ctx context.Context, q *store.Queries, appID, userID *int64, name string, scopes Scopes) (Token, error) {
	raw := randomToken("stl_")
	row, err := q.OAuthTokenCreate(ctx, store.OAuthTokenCreateParams{
		TokenHash: Hash(raw), AppID: appID, UserID: userID, Name: name, Scopes: scopes.String(),
	})
	if err != nil {
		return Token{}, fmt.Errorf("issue token: %w", err)
	}
	return Token{AccessToken: raw, Scopes: scopes, CreatedAt: row.CreatedAt}, nil
}

// ExchangeCode runs the authorization_code grant. The code is checked and used up in one
// transaction, with its row locked: a code sent by another client, too late, with another
// redirect_uri or with a wrong code_verifier is refused and stays as it was, so the client
// it was issued to can still exchange it. Only a second exchange by that same client, once
// the first succeeded, means the code may have leaked: it is refused and the tokens the
// app holds for the person are revoked (RFC 6749 section 4.1.2).
func (s *Service) ExchangeCode(ctx context.Context, clientID, secret, code, redirectURI, verifier string) (Token, error) {
	app, err := s.authenticateClient(ctx, clientID, secret)
	if err != nil {
		return Token{}, err
	}
	invalid := oauthErr("invalid_grant", "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.")
	if code == "" {
		return Token{}, invalid
	}
	var revokedEvent int64
	var tok Token
	var refused error // the answer when the exchange is refused; the transaction still commits
	err = store.WithTx(ctx, s.db, func(_ pgx.Tx, q *store.Queries) error {
		row, err := q.OAuthCodeForExchange(ctx, Hash(code))
		if errors.Is(err, pgx.ErrNoRows) {
			refused = invalid
			return nil
		}
		if err != nil {
			return fmt.Errorf("code: %w", err)
		}
		switch {
		case row.AppID != app.ID:
			refused = invalid // another client's code: not its to spend
			return nil
		case row.UsedAt != nil:
			// The same client again, after a successful exchange: the code may have leaked,
			// so what it was exchanged for is revoked.
			ids, err := q.OAuthTokenRevokeRevokeForCode(ctx, store.OAuthTokenRevokeRevokeForCodeParams{AppID: &row.AppID, UserID: &row.UserID})
			if err == nil {
				revokedEvent, err = RecordRevoked(ctx, q, row.UserID, ids)
			}
			if err != nil {
				return fmt.Errorf("revoke the tokens of a reused code: %w", err)
			}
			refused = invalid
			return nil
		case row.RedirectUri != redirectURI || s.Now().After(row.ExpiresAt):
			refused = invalid
			return nil
		}
		if row.CodeChallenge != "" {
			sum := sha256.Sum256([]byte(verifier))
			if !validPKCE(verifier) || base64.RawURLEncoding.EncodeToString(sum[:]) != row.CodeChallenge {
				refused = oauthErr("invalid_grant", "The code_verifier does not match the code_challenge.")
				return nil
			}
		}
		if err := q.OAuthCodeMarkUsed(ctx, row.CodeHash); err != nil {
			return fmt.Errorf("use code: %w", err)
		}
		scopes, _ := ParseScopes(row.Scopes)
		appID, userID := row.AppID, row.UserID
		tok, err = issueWith(ctx, q, &appID, &userID, "", scopes)
		return err
	})
	if err != nil {
		return Token{}, fmt.Errorf("exchange code: %w", err)
	}
	s.wake(revokedEvent)
	if refused != nil {
		return Token{}, refused
	}
	return tok, nil
}

// ClientCredentials runs the client_credentials grant: a token for the app itself, with
// no user.
func (s *Service) ClientCredentials(ctx context.Context, clientID, secret, scope string) (Token, error) {
	app, err := s.authenticateClient(ctx, clientID, secret)
	if err != nil {
		return Token{}, err
	}
	scopes, err := ParseScopes(scope)
	if err != nil {
		return Token{}, err
	}
	if !scopes.Within(appFrom(app).Scopes) {
		return Token{}, oauthErr("invalid_scope", "The requested scope exceeds the scopes registered for this application.")
	}
	appID := app.ID
	return s.issue(ctx, &appID, nil, "", scopes)
}

// PasswordRequest is a password-grant request (RFC 6749 section 4.3) whose client and
// scope are checked; the person's credentials are not yet.
type PasswordRequest struct {
	// AppID is the authenticated client's app.
	AppID int64
	// Scopes are what the token will grant.
	Scopes Scopes
}

// ErrBadCredentials is the answer to a password grant with a wrong login name or
// password; it is the same for both, so that it reveals no account.
var ErrBadCredentials error = &Error{Code: "invalid_grant", Description: "The username or password is incorrect."}

// CheckPasswordGrant authenticates the client of a password grant and checks the scope it
// asks for (at most what the app registered; "read" when empty). The caller then checks
// the person's credentials, within the login allowances, and calls IssuePasswordToken.
// The client comes first, so that an unknown client learns nothing about accounts.
func (s *Service) CheckPasswordGrant(ctx context.Context, clientID, secret, scope string) (PasswordRequest, error) {
	app, err := s.authenticateClient(ctx, clientID, secret)
	if err != nil {
		return PasswordRequest{}, err
	}
	scopes, err := ParseScopes(scope)
	if err != nil {
		return PasswordRequest{}, err
	}
	if !scopes.Within(appFrom(app).Scopes) {
		return PasswordRequest{}, oauthErr("invalid_scope", "The requested scope exceeds the scopes registered for this application.")
	}
	return PasswordRequest{AppID: app.ID, Scopes: scopes}, nil
}

// IssuePasswordToken issues the token of a checked password grant to userID, whose
// credentials the caller has verified.
func (s *Service) IssuePasswordToken(ctx context.Context, req PasswordRequest, userID int64) (Token, error) {
	return s.issue(ctx, &req.AppID, &userID, "", req.Scopes)
}

// CreatePersonalToken issues a token for userID's own scripts and bots.
func (s *Service) CreatePersonalToken(ctx context.Context, userID int64, name, scope string) (Token, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return Token{}, &ValidationError{"Give the token a name of at most 100 characters."}
	}
	scopes, err := ParseScopes(scope)
	if err != nil {
		return Token{}, &ValidationError{err.(*Error).Description}
	}
	return s.issue(ctx, nil, &userID, name, scopes)
}

// Grant is what a valid access token stands for.
type Grant struct {
	TokenID    int64
	UserID     int64 // 0 for an app token
	AppID      int64 // 0 for a personal token
	AppName    string
	AppWebsite string
	Scopes     Scopes
}

// Lookup returns the grant of a raw access token, or ErrNotFound when it is unknown or
// revoked.
func (s *Service) Lookup(ctx context.Context, raw string) (Grant, error) {
	if raw == "" || len(raw) > 200 {
		return Grant{}, ErrNotFound
	}
	row, err := s.q.OAuthTokenByHash(ctx, Hash(raw))
	if errors.Is(err, pgx.ErrNoRows) {
		return Grant{}, ErrNotFound
	}
	if err != nil {
		return Grant{}, fmt.Errorf("token: %w", err)
	}
	scopes, _ := ParseScopes(row.Scopes)
	g := Grant{TokenID: row.ID, Scopes: scopes, AppName: row.AppName, AppWebsite: row.AppWebsite}
	if row.UserID != nil {
		g.UserID = *row.UserID
	}
	if row.AppID != nil {
		g.AppID = *row.AppID
	}
	// last_used_at moves at most once a minute; checking here spares every other request
	// the round trip (the query repeats the check, against the database's clock).
	if row.LastUsedAt == nil || time.Since(*row.LastUsedAt) > time.Minute {
		_ = s.q.OAuthTokenTouch(ctx, row.ID)
	}
	return g, nil
}

// Revoke revokes token on behalf of the client that holds it (RFC 7009). Revoking an
// unknown token is not an error.
func (s *Service) Revoke(ctx context.Context, clientID, secret, token string) error {
	app, err := s.authenticateClient(ctx, clientID, secret)
	if err != nil {
		return err
	}
	var eventID int64
	err = store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		rows, err := q.OAuthTokenRevokeByHash(ctx, store.OAuthTokenRevokeByHashParams{TokenHash: Hash(token), AppID: &app.ID})
		for _, r := range rows {
			var user int64
			if r.UserID != nil {
				user = *r.UserID
			}
			if err == nil {
				eventID, err = RecordRevoked(ctx, q, user, []int64{r.ID})
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	s.wake(eventID)
	return nil
}

// RecordRevoked appends, through q (in the revoking transaction), the token.revoked event
// of tokens ids of userID (0 for an app's own token), so that every process drops them
// from its token cache at once. It writes nothing for no ids.
func RecordRevoked(ctx context.Context, q *store.Queries, userID int64, ids []int64) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	return events.Append(ctx, q, events.TokenRevoked{UserID: userID, TokenIDs: ids})
}

// wake tells the readers of the event log that event id was written.
func (s *Service) wake(id int64) {
	if id > 0 && s.Wake != nil {
		s.Wake(id)
	}
}

// AuthorizedApp is one live token of a user, for the settings page.
type AuthorizedApp = store.OAuthTokensOfUserRow

// TokensOf lists userID's live tokens.
func (s *Service) TokensOf(ctx context.Context, userID int64) ([]AuthorizedApp, error) {
	rows, err := s.q.OAuthTokensOfUser(ctx, &userID)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return rows, nil
}

// RevokeForUser revokes token id if it belongs to userID.
func (s *Service) RevokeForUser(ctx context.Context, userID, id int64) error {
	var eventID int64
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		ids, err := q.OAuthTokenRevokeForUser(ctx, store.OAuthTokenRevokeForUserParams{ID: id, UserID: &userID})
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return ErrNotFound
		}
		eventID, err = RecordRevoked(ctx, q, userID, ids)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	s.wake(eventID)
	return nil
}
