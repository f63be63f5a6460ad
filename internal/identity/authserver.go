package identity

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	"github.com/ory/fosite/storage"
	"github.com/ory/fosite/token/jwt"
)

// OAuthStore persists the authorization server's codes and tokens.
// Implemented by internal/store.
type OAuthStore interface {
	oauth2.CoreStorage
	oauth2.TokenRevocationStorage
	pkce.PKCERequestStorage
	openid.OpenIDConnectRequestStorage
	storage.Transactional
}

// AuthServerConfig configures the built-in authorization server.
type AuthServerConfig struct {
	// Issuer is the server's public base URL; endpoints hang below it.
	Issuer string
	// GlobalSecret signs opaque tokens (HMAC); at least 32 bytes.
	GlobalSecret []byte
	// SigningKey signs OpenID Connect ID tokens (RS256).
	SigningKey *rsa.PrivateKey
	// WidgetRedirectURI is the widget's own redirect page, allowed for every app.
	WidgetRedirectURI                                                string
	AccessTokenLifespan, RefreshTokenLifespan, AuthorizeCodeLifespan time.Duration
	// Now is the clock of sign-ins and of the refresh family's lifetime
	// (time.Now when nil).
	Now func() time.Time
}

// RefreshFamilyLifetime is how long a family of refresh tokens — one
// sign-in and every rotation of it — lives in all, however often it is
// rotated: then the user signs in again.
const RefreshFamilyLifetime = 30 * 24 * time.Hour

// Scopes a client may be granted.
var grantableScopes = []string{"openid", "email", "profile", "offline_access"}

// AuthServer is the built-in OAuth 2 authorization server (RFC 6749) with
// PKCE S256 required (RFC 7636), refresh-token rotation where reuse revokes
// the whole token family (RFC 6819 §5.2.2.3), revocation (RFC 7009) and
// OpenID Connect ID tokens, so another deployment can sign in against it as
// an external provider. The protocol work is fosite's; this type supplies
// clients (the registered apps), the user's session and the limits.
type AuthServer struct {
	cfg      AuthServerConfig
	provider fosite.OAuth2Provider
	apps     AppStore
	keyID    string
	jwt      atomic.Pointer[JWTCredentials] // nil: the jwt-bearer grant is off
}

// NewAuthServer builds the authorization server.
func NewAuthServer(cfg AuthServerConfig, apps AppStore, store OAuthStore) (*AuthServer, error) {
	if len(cfg.GlobalSecret) < 32 {
		return nil, errors.New("authorization server: global secret must be at least 32 bytes")
	}
	if cfg.SigningKey == nil {
		return nil, errors.New("authorization server: no signing key")
	}
	if cfg.AccessTokenLifespan == 0 {
		cfg.AccessTokenLifespan = time.Hour
	}
	if cfg.RefreshTokenLifespan == 0 {
		cfg.RefreshTokenLifespan = 7 * 24 * time.Hour
	}
	if cfg.AuthorizeCodeLifespan == 0 {
		cfg.AuthorizeCodeLifespan = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &AuthServer{cfg: cfg, apps: apps, keyID: keyID(&cfg.SigningKey.PublicKey)}
	fc := &fosite.Config{
		AccessTokenLifespan:            cfg.AccessTokenLifespan,
		RefreshTokenLifespan:           cfg.RefreshTokenLifespan,
		AuthorizeCodeLifespan:          cfg.AuthorizeCodeLifespan,
		IDTokenLifespan:                cfg.AccessTokenLifespan,
		IDTokenIssuer:                  cfg.Issuer,
		AccessTokenIssuer:              cfg.Issuer,
		TokenURL:                       cfg.Issuer + "/oauth/token",
		GlobalSecret:                   cfg.GlobalSecret,
		EnforcePKCE:                    true,
		EnablePKCEPlainChallengeMethod: false,
		ScopeStrategy:                  fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:       fosite.DefaultAudienceMatchingStrategy,
		MinParameterEntropy:            fosite.MinParameterEntropy, // of a nonce; of state: ParseAuthorize
		RefreshTokenScopes:             []string{},                 // every client gets refresh tokens
		ClientSecretsHasher:            secretHasher{},
		SendDebugMessagesToClients:     false,
	}
	keyGetter := func(context.Context) (any, error) { return cfg.SigningKey, nil }
	a.provider = compose.Compose(fc,
		struct {
			OAuthStore
			*clients
		}{store, &clients{apps: apps, widgetRedirect: cfg.WidgetRedirectURI, widgetSecret: a.WidgetClientSecret}},
		&compose.CommonStrategy{
			CoreStrategy:               compose.NewOAuth2HMACStrategy(fc),
			OpenIDConnectTokenStrategy: compose.NewOpenIDConnectStrategy(keyGetter, fc),
			Signer:                     &jwt.DefaultSigner{GetPrivateKey: keyGetter},
		},
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		func(config fosite.Configurator, storage any, strategy any) any {
			return &jwtBearer{
				auth:    a,
				helper:  &oauth2.HandleHelper{AccessTokenStrategy: strategy.(oauth2.AccessTokenStrategy), AccessTokenStorage: storage.(oauth2.AccessTokenStorage), Config: config},
				refresh: strategy.(oauth2.RefreshTokenStrategy),
				store:   storage.(oauth2.RefreshTokenStorage),
			}
		},
		compose.OAuth2PKCEFactory,
		compose.OAuth2TokenRevocationFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory,
		// After the refresh handler, which has loaded the family's session.
		func(fosite.Configurator, any, any) any { return familyLifetime{now: cfg.Now} },
	)
	return a, nil
}

// familyLifetime ends a family of refresh tokens RefreshFamilyLifetime
// after its sign-in, whatever its rotations: a refresh past that is
// invalid_grant, and a refresh token issued before it expires by then. The
// family starts at the sign-in's auth_time, which every rotation keeps.
type familyLifetime struct {
	now func() time.Time
}

func (familyLifetime) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

func (familyLifetime) CanHandleTokenEndpointRequest(_ context.Context, r fosite.AccessRequester) bool {
	return r.GetGrantTypes().ExactOne("refresh_token")
}

func (f familyLifetime) HandleTokenEndpointRequest(ctx context.Context, r fosite.AccessRequester) error {
	if !f.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	s, ok := r.GetSession().(*openid.DefaultSession)
	if !ok || s.Claims == nil || s.Claims.AuthTime.IsZero() {
		return fosite.ErrInvalidGrant.WithHint("The refresh token's sign-in time is unknown: sign in again.")
	}
	end := s.Claims.AuthTime.Add(RefreshFamilyLifetime)
	if !f.now().Before(end) {
		return fosite.ErrInvalidGrant.WithHint("The refresh token's sign-in is older than its lifetime: sign in again.")
	}
	if exp := s.GetExpiresAt(fosite.RefreshToken); exp.IsZero() || exp.After(end) {
		s.SetExpiresAt(fosite.RefreshToken, end.UTC())
	}
	return nil
}

func (familyLifetime) PopulateTokenEndpointResponse(context.Context, fosite.AccessRequester, fosite.AccessResponder) error {
	return fosite.ErrUnknownRequest
}

// clients serves the registered apps as OAuth clients: public ones (no
// secret; PKCE protects the code), and confidential ones, which also
// authenticate with their secret and may exchange JWT credentials.
type clients struct {
	apps           AppStore
	widgetRedirect string
	widgetSecret   func(clientID string) string
}

func (c *clients) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	if !ValidClientID(id) {
		return nil, fosite.ErrNotFound
	}
	app, err := c.apps.App(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return appClient(app, c.widgetRedirect, c.widgetSecret(id)), nil
}

func appClient(app App, widgetRedirect, widgetSecret string) *fosite.DefaultClient {
	redirects := append([]string{}, app.RedirectURIs...)
	if widgetRedirect != "" && !slices.Contains(redirects, widgetRedirect) {
		redirects = append(redirects, widgetRedirect)
	}
	c := &fosite.DefaultClient{
		ID:            app.ClientID,
		Public:        true,
		RedirectURIs:  redirects,
		GrantTypes:    []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"},
		Scopes:        grantableScopes,
	}
	if app.Confidential() {
		c.Public = false
		c.Secret = []byte(app.SecretHash)
		c.GrantTypes = append(c.GrantTypes, GrantTypeJWTBearer)
		// The widget signs the app's users in too, with its own secret.
		c.RotatedSecrets = [][]byte{[]byte(HashClientSecret(widgetSecret))}
	}
	return c
}

// Client assertions (RFC 7523) are not offered; these satisfy the interface.
func (c *clients) ClientAssertionJWTValid(context.Context, string) error { return nil }
func (c *clients) SetClientAssertionJWT(context.Context, string, time.Time) error {
	return nil
}

// newSession is the per-request session fosite fills in and stores.
func newSession() *openid.DefaultSession {
	return &openid.DefaultSession{Claims: &jwt.IDTokenClaims{}, Headers: &jwt.Headers{}}
}

// AuthorizeRequest is a parsed, checked authorization request.
type AuthorizeRequest struct {
	fosite.AuthorizeRequester
	// ClientName is the app's display name for the sign-in page.
	ClientName string
}

// ParseAuthorize reads and checks an authorization request. Beyond fosite's
// checks it demands a redirect_uri that is exactly one the client registered
// (no loopback port wildcard) and a S256 code challenge.
func (a *AuthServer) ParseAuthorize(ctx context.Context, r *http.Request) (*AuthorizeRequest, error) {
	// PKCE (required below) is what stops a forged redirect, so state is the
	// client's own business (RFC 9700 §2.1): it may be absent or short, as
	// the platform's SDKs send it. fosite wants 8 characters at least, so a
	// shorter one is lengthened for it and given back as it came.
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return &AuthorizeRequest{AuthorizeRequester: fosite.NewAuthorizeRequest()}, fosite.ErrInvalidRequest.WithHint("The request could not be read.")
	}
	state := r.Form.Get("state")
	short := len(state) < fosite.MinParameterEntropy
	if short {
		r.Form.Set("state", shortStatePad+state)
	}
	ar, err := a.provider.NewAuthorizeRequest(ctx, r)
	if short {
		if state == "" {
			r.Form.Del("state")
		} else {
			r.Form.Set("state", state)
		}
		if req, ok := ar.(*fosite.AuthorizeRequest); ok {
			req.State = state
		}
	}
	if err != nil {
		return &AuthorizeRequest{AuthorizeRequester: ar}, err
	}
	raw := ar.GetRequestForm().Get("redirect_uri")
	if raw == "" || !slices.Contains(ar.GetClient().GetRedirectURIs(), raw) {
		return &AuthorizeRequest{AuthorizeRequester: ar}, fosite.ErrInvalidRequest.WithHint("The redirect_uri must be given and match a registered one exactly.")
	}
	// Checked here too (fosite checks when issuing the code) so the user is
	// not asked for a password on a request that can never succeed.
	form := ar.GetRequestForm()
	if form.Get("code_challenge") == "" || form.Get("code_challenge_method") != "S256" {
		return &AuthorizeRequest{AuthorizeRequester: ar}, fosite.ErrInvalidRequest.WithHint("PKCE with code_challenge_method=S256 is required.")
	}
	name := ar.GetClient().GetID()
	if app, err := a.apps.App(ctx, name); err == nil {
		name = app.Name
	}
	return &AuthorizeRequest{AuthorizeRequester: ar, ClientName: name}, nil
}

// shortStatePad lengthens a short state for fosite's check; it never
// leaves ParseAuthorize.
const shortStatePad = "(short state)"

// RedirectsToClient reports whether an authorization error may be sent to the
// client's redirect URI; otherwise it must be shown to the user.
func (a *AuthServer) RedirectsToClient(ar *AuthorizeRequest) bool {
	if ar == nil || ar.AuthorizeRequester == nil || ar.GetClient() == nil {
		return false
	}
	raw := ar.GetRequestForm().Get("redirect_uri")
	return raw != "" && slices.Contains(ar.GetClient().GetRedirectURIs(), raw)
}

// WriteAuthorizeError answers an authorization request with an error.
func (a *AuthServer) WriteAuthorizeError(ctx context.Context, w http.ResponseWriter, ar *AuthorizeRequest, err error) {
	a.provider.WriteAuthorizeError(ctx, w, ar.AuthorizeRequester, err)
}

// Grant completes an authorization request for the signed-in extension:
// grants the requested scopes and redirects with the code. When the code
// cannot be issued (its storage failed) nothing is written and the error is
// returned for the caller to answer, with WriteAuthorizeError or otherwise.
func (a *AuthServer) Grant(ctx context.Context, w http.ResponseWriter, ar *AuthorizeRequest, acct Account, ext Extension) error {
	for _, s := range ar.GetRequestedScopes() {
		ar.GrantScope(s)
	}
	s := newSession()
	a.signIn(s, acct, ext)
	resp, err := a.provider.NewAuthorizeResponse(ctx, ar.AuthorizeRequester, s)
	if err != nil {
		return err
	}
	a.provider.WriteAuthorizeResponse(ctx, w, ar.AuthorizeRequester, resp)
	return nil
}

// signIn fills a new session for the extension signing in now.
func (a *AuthServer) signIn(s *openid.DefaultSession, acct Account, ext Extension) {
	now := a.cfg.Now().UTC()
	s.Subject = Subject(ext.ID)
	s.Username = ext.Email
	s.Claims.Subject = s.Subject
	s.Claims.Issuer = a.cfg.Issuer
	s.Claims.AuthTime = now
	s.Claims.RequestedAt = now
	s.Claims.Extra = map[string]any{
		"email":          ext.Email,
		"email_verified": true,
		"name":           ext.Name,
		"login_number":   LoginNumber(acct, ext),
	}
	s.Headers.Extra = map[string]any{"kid": a.keyID}
}

// Token serves the token endpoint: authorization_code, refresh_token and,
// for confidential clients, the jwt-bearer grant.
func (a *AuthServer) Token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	req, err := a.provider.NewAccessRequest(ctx, r, newSession())
	if err != nil {
		a.provider.WriteAccessError(ctx, w, req, err)
		return
	}
	for _, s := range req.GetRequestedScopes() {
		if slices.Contains(grantableScopes, s) {
			req.GrantScope(s)
		}
	}
	resp, err := a.provider.NewAccessResponse(ctx, req)
	if err != nil {
		a.provider.WriteAccessError(ctx, w, req, err)
		return
	}
	tokenExtras(req, resp, a.cfg.Now())
	a.provider.WriteAccessResponse(ctx, w, req, resp)
}

// tokenExtras adds what the platform's SDKs read from a token answer beside
// RFC 6749's fields: when the refresh token expires (without it they take
// it for expired), whose tokens they are (owner_id, the extension) and
// which sign-in they belong to (endpoint_id, the same across refreshes).
func tokenExtras(req fosite.AccessRequester, resp fosite.AccessResponder, now time.Time) {
	s := req.GetSession()
	if exp := s.GetExpiresAt(fosite.RefreshToken); !exp.IsZero() && resp.GetExtra("refresh_token") != nil {
		resp.SetExtra("refresh_token_expires_in", max(int64(exp.Sub(now).Seconds()), 0))
	}
	if sub := s.GetSubject(); sub != "" {
		resp.SetExtra("owner_id", sub)
	}
	resp.SetExtra("endpoint_id", req.GetID())
}

// Revoke serves the revocation endpoint (RFC 7009). Revoking either token of
// a family revokes the family.
func (a *AuthServer) Revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a.provider.WriteRevocationResponse(ctx, w, a.provider.NewRevocationRequest(ctx, r))
}

// ErrInvalidToken is returned for a missing, expired, revoked or unknown token.
var ErrInvalidToken = errors.New("invalid access token")

// ValidateAccessToken returns the extension an access token was issued to.
func (a *AuthServer) ValidateAccessToken(ctx context.Context, token string) (int64, error) {
	if token == "" || len(token) > 512 {
		return 0, ErrInvalidToken
	}
	use, req, err := a.provider.IntrospectToken(ctx, token, fosite.AccessToken, newSession())
	if err != nil || use != fosite.AccessToken {
		return 0, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	id, err := ParseSubject(req.GetSession().GetSubject())
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return id, nil
}

// Subject is the OAuth subject of an extension.
func Subject(extensionID int64) string { return strconv.FormatInt(extensionID, 10) }

// ParseSubject reads an extension id from an OAuth subject.
func ParseSubject(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("bad subject %q", s)
	}
	return id, nil
}

// Metadata is the authorization server metadata (RFC 8414); OpenID Connect
// discovery serves the same document.
func (a *AuthServer) Metadata() map[string]any {
	iss := a.cfg.Issuer
	grants := []string{"authorization_code", "refresh_token"}
	if a.jwt.Load() != nil {
		grants = append(grants, GrantTypeJWTBearer)
	}
	authMethods := []string{"none", "client_secret_basic", "client_secret_post"}
	return map[string]any{
		"issuer":                 iss,
		"authorization_endpoint": iss + "/oauth/authorize",
		"token_endpoint":         iss + "/oauth/token",
		"revocation_endpoint":    iss + "/oauth/revoke",
		// The same endpoints where the platform's SDKs look for them.
		"platform_endpoints": map[string]string{
			"authorization_endpoint": iss + "/restapi/oauth/authorize",
			"token_endpoint":         iss + "/restapi/oauth/token",
			"revocation_endpoint":    iss + "/restapi/oauth/revoke",
		},
		"jwks_uri":                                   iss + "/oauth/jwks",
		"response_types_supported":                   []string{"code"},
		"grant_types_supported":                      grants,
		"code_challenge_methods_supported":           []string{"S256"},
		"token_endpoint_auth_methods_supported":      authMethods,
		"revocation_endpoint_auth_methods_supported": authMethods,
		"scopes_supported":                           grantableScopes,
		"subject_types_supported":                    []string{"public"},
		"id_token_signing_alg_values_supported":      []string{"RS256"},
		"claims_supported":                           []string{"sub", "iss", "aud", "exp", "iat", "email", "email_verified", "name", "login_number"},
	}
}

// JWKS is the public key set that verifies ID tokens.
func (a *AuthServer) JWKS() map[string]any {
	pub := &a.cfg.SigningKey.PublicKey
	return map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": a.keyID,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}}
}

func keyID(pub *rsa.PublicKey) string {
	sum := sha256.Sum256(pub.N.Bytes())
	return base64.RawURLEncoding.EncodeToString(sum[:8])
}
