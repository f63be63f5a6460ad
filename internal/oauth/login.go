package oauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Errors of the sign-in flow, for callers to test with errors.Is.
var (
	ErrNoFlow          = errors.New("no sign-in in progress")
	ErrFlowExpired     = errors.New("sign-in took too long")
	ErrStateMismatch   = errors.New("state does not match")
	ErrBadCallback     = errors.New("malformed callback")
	ErrAccessDenied    = errors.New("sign-in refused")
	ErrExchange        = errors.New("code exchange failed")
	ErrUnknownUser     = errors.New("no extension for this user")
	ErrSessionEnded    = errors.New("session ended")
	ErrRefreshRejected = errors.New("refresh rejected")
)

// FlowLifetime bounds how long a started sign-in may take.
const FlowLifetime = 10 * time.Minute

// Endpoints locate the authorization server. AuthURL is opened by the
// browser; TokenURL and RevokeURL are called by this server, so they may
// point at an internal address.
type Endpoints struct {
	AuthURL   string
	TokenURL  string
	RevokeURL string
}

// Flow is a sign-in in progress, kept in the widget's session between start
// and completion. It never reaches the host page.
type Flow struct {
	ClientID    string    `json:"c"`
	RedirectURI string    `json:"r"`
	State       string    `json:"s"`
	Verifier    string    `json:"v"`
	Started     time.Time `json:"t"`
}

// Identifier tells which extension a token belongs to: by calling the
// platform API with it (built-in server) or from the ID token's email
// (external OpenID Connect provider).
type Identifier interface {
	Identify(ctx context.Context, clientID string, tok *oauth2.Token) (extensionID int64, err error)
}

// Client is the widget's OAuth 2 client: authorization code with PKCE S256,
// tokens exchanged and refreshed by this server (golang.org/x/oauth2).
type Client struct {
	endpoints Endpoints
	// fixedClientID and secret are set for an external provider, where this
	// deployment is one client; otherwise each app's clientId is used.
	fixedClientID, secret string
	// appSecret, with the built-in authorization server, is the secret the
	// widget presents for an app (nil: none).
	appSecret func(clientID string) string
	scopes    []string
	http      *http.Client
	identify  Identifier
}

// ClientConfig configures a Client.
type ClientConfig struct {
	Endpoints    Endpoints
	ClientID     string // empty: use each app's clientId
	ClientSecret string
	// AppSecret, when ClientID is empty, gives the secret to present for an
	// app's clientId: the built-in server's WidgetClientSecret, which its
	// confidential apps accept and its public ones ignore.
	AppSecret  func(clientID string) string
	Scopes     []string
	HTTPClient *http.Client
}

// NewClient returns a sign-in client.
func NewClient(cfg ClientConfig, identify Identifier) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	return &Client{endpoints: cfg.Endpoints, fixedClientID: cfg.ClientID, secret: cfg.ClientSecret,
		appSecret: cfg.AppSecret, scopes: cfg.Scopes, http: hc, identify: identify}
}

// credentials are the client id and secret the token and revocation
// endpoints get for an app's sign-in.
func (c *Client) credentials(clientID string) (string, string) {
	if c.fixedClientID != "" {
		return c.fixedClientID, c.secret
	}
	if c.appSecret != nil {
		return clientID, c.appSecret(clientID)
	}
	return clientID, ""
}

func (c *Client) config(clientID, redirectURI string) *oauth2.Config {
	clientID, secret := c.credentials(clientID)
	style := oauth2.AuthStyleInParams
	if secret != "" {
		style = oauth2.AuthStyleInHeader
	}
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: secret,
		RedirectURL:  redirectURI,
		Scopes:       c.scopes,
		Endpoint:     oauth2.Endpoint{AuthURL: c.endpoints.AuthURL, TokenURL: c.endpoints.TokenURL, AuthStyle: style},
	}
}

func (c *Client) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.http)
}

// Start begins a sign-in for an app: a random state and a PKCE verifier to
// keep in the session, and the URL the user's browser opens.
func (c *Client) Start(clientID, redirectURI string, now time.Time) (Flow, string) {
	f := Flow{ClientID: clientID, RedirectURI: redirectURI, State: randomString(32), Verifier: oauth2.GenerateVerifier(), Started: now}
	return f, c.config(clientID, redirectURI).AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier))
}

// Complete finishes a sign-in from the URL the authorization server
// redirected to: it checks the URL is the flow's redirect URI, compares the
// state in constant time, exchanges the code with the verifier and finds the
// extension. The caller clears the flow whatever the outcome.
func (c *Client) Complete(ctx context.Context, f Flow, callbackURI string, now time.Time) (*oauth2.Token, int64, error) {
	if f.State == "" {
		return nil, 0, ErrNoFlow
	}
	if now.Sub(f.Started) > FlowLifetime {
		return nil, 0, ErrFlowExpired
	}
	cb, err := ParseCallback(callbackURI, f.RedirectURI)
	if err != nil {
		return nil, 0, err
	}
	if subtle.ConstantTimeCompare([]byte(cb.State), []byte(f.State)) != 1 {
		return nil, 0, ErrStateMismatch
	}
	if cb.Error != "" {
		return nil, 0, fmt.Errorf("%w: %s", ErrAccessDenied, cb.Error)
	}
	tok, err := c.config(f.ClientID, f.RedirectURI).Exchange(c.ctx(ctx), cb.Code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrExchange, err)
	}
	ext, err := c.identify.Identify(ctx, f.ClientID, tok)
	if err != nil {
		return nil, 0, err
	}
	return tok, ext, nil
}

// Refresh exchanges a refresh token for a new token pair.
func (c *Client) Refresh(ctx context.Context, clientID string, tok *oauth2.Token) (*oauth2.Token, error) {
	if tok.RefreshToken == "" {
		return nil, fmt.Errorf("%w: no refresh token", ErrRefreshRejected)
	}
	stale := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Unix(1, 0)}
	next, err := c.config(clientID, "").TokenSource(c.ctx(ctx), stale).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return nil, fmt.Errorf("%w: %v", ErrRefreshRejected, err)
		}
		return nil, fmt.Errorf("refresh: %w", err)
	}
	return next, nil
}

// Revoke revokes the token's family at the authorization server (RFC 7009).
// Providers without a revocation endpoint are skipped.
func (c *Client) Revoke(ctx context.Context, clientID string, tok *oauth2.Token) error {
	if c.endpoints.RevokeURL == "" || tok == nil {
		return nil
	}
	t, kind := tok.RefreshToken, "refresh_token"
	if t == "" {
		t, kind = tok.AccessToken, "access_token"
	}
	clientID, secret := c.credentials(clientID)
	form := url.Values{"token": {t}, "token_type_hint": {kind}, "client_id": {clientID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoints.RevokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revoke: status %d", resp.StatusCode)
	}
	return nil
}

// Callback is what a redirect to the widget carries.
type Callback struct {
	Code, State, Error string
}

// MaxCallbackLength bounds a callback URL.
const MaxCallbackLength = 4096

// ParseCallback reads the code, state or error from the URL the user was
// redirected to. The URL must be the expected redirect URI (same scheme,
// host and path) so a code meant for elsewhere is never accepted.
func ParseCallback(raw, redirectURI string) (Callback, error) {
	if len(raw) > MaxCallbackLength {
		return Callback{}, fmt.Errorf("%w: longer than %d bytes", ErrBadCallback, MaxCallbackLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Callback{}, fmt.Errorf("%w: %v", ErrBadCallback, err)
	}
	want, err := url.Parse(redirectURI)
	if err != nil {
		return Callback{}, fmt.Errorf("%w: redirect URI: %v", ErrBadCallback, err)
	}
	if !strings.EqualFold(u.Scheme, want.Scheme) || !strings.EqualFold(u.Host, want.Host) || u.Path != want.Path || u.User != nil {
		return Callback{}, fmt.Errorf("%w: not the sign-in redirect address", ErrBadCallback)
	}
	q := u.Query()
	for _, k := range []string{"code", "state", "error"} {
		if len(q[k]) > 1 {
			return Callback{}, fmt.Errorf("%w: %s given twice", ErrBadCallback, k)
		}
	}
	cb := Callback{Code: q.Get("code"), State: q.Get("state"), Error: q.Get("error")}
	if cb.State == "" {
		return Callback{}, fmt.Errorf("%w: no state", ErrBadCallback)
	}
	if cb.Code == "" && cb.Error == "" {
		return Callback{}, fmt.Errorf("%w: neither code nor error", ErrBadCallback)
	}
	return cb, nil
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
