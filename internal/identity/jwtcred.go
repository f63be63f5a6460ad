package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// JWT credentials let a server sign in as a user without a browser: the
// user (or an administrator for a user) creates a named credential, a JWT
// this server signs, and the server app exchanges it at the token endpoint
// with grant_type urn:ietf:params:oauth:grant-type:jwt-bearer (RFC 7523
// §2.1) for an access and a refresh token. The JWT only names the
// credential: whether it may still be used is the store's word, so
// revoking one takes effect at once, and ends the tokens it was exchanged
// for.

// GrantTypeJWTBearer is the RFC 7523 grant type.
const GrantTypeJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// Limits of JWT credentials.
const (
	// MaxJWTCredentials is how many unrevoked credentials one extension may hold.
	MaxJWTCredentials = 20
	// MaxJWTCredentialLifetime bounds an expiring credential's lifetime.
	MaxJWTCredentialLifetime = 3 * 366 * 24 * time.Hour
	// maxAssertion bounds the assertion read at the token endpoint; ours
	// are about 600 bytes.
	maxAssertion = 4096
)

// Statuses of a JWT credential, as the API and the widget show them.
const (
	JWTActive  = "Active"
	JWTExpired = "Expired"
	JWTRevoked = "Revoked"
)

// maxDays is MaxJWTCredentialLifetime in days.
const maxDays = int(MaxJWTCredentialLifetime / (24 * time.Hour))

// ParamError is a value the rules refuse, naming its field; it wraps
// ErrInvalid.
type ParamError struct {
	Param, Message string
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Message }
func (e *ParamError) Unwrap() error { return ErrInvalid }

// ErrLimit reports that an extension holds as many credentials as it may.
var ErrLimit = errors.New("limit reached")

// JWTCredential is one named credential of an extension.
type JWTCredential struct {
	ID          string
	AccountID   int64
	ExtensionID int64
	Name        string
	CreatedBy   int64 // the extension that created it; 0: the operator
	CreatedAt   time.Time
	ExpiresAt   time.Time // zero: does not expire
	RevokedAt   time.Time // zero: not revoked
	LastUsedAt  time.Time // zero: never exchanged
}

// Status is the credential's state at now.
func (c JWTCredential) Status(now time.Time) string {
	switch {
	case !c.RevokedAt.IsZero():
		return JWTRevoked
	case !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt):
		return JWTExpired
	}
	return JWTActive
}

// JWTCredentialStore persists JWT credentials. Implemented by internal/store.
type JWTCredentialStore interface {
	// CreateJWTCredential stores c unless its extension already holds limit
	// unrevoked, unexpired credentials (ErrLimit).
	CreateJWTCredential(ctx context.Context, c JWTCredential, limit int) error
	// JWTCredential returns one credential, or ErrNotFound.
	JWTCredential(ctx context.Context, id string) (JWTCredential, error)
	// JWTCredentials lists an extension's credentials, newest first.
	JWTCredentials(ctx context.Context, extensionID int64) ([]JWTCredential, error)
	// RevokeJWTCredential marks it revoked at the given time and ends the
	// tokens exchanged for it; ErrNotFound when there is none.
	RevokeJWTCredential(ctx context.Context, id string, at time.Time) error
	// UseJWTCredential records an exchange: when, and the token family
	// (the request id) it started, so that revoking can end it.
	UseJWTCredential(ctx context.Context, id, requestID string, at time.Time) error
}

// Actor is who manages a credential: an extension, or the operator at the
// command line.
type Actor struct {
	ext      Extension
	operator bool
}

// ExtensionActor is a signed-in extension acting.
func ExtensionActor(e Extension) Actor { return Actor{ext: e} }

// OperatorActor is the server's operator, who may manage every credential.
func OperatorActor() Actor { return Actor{operator: true} }

// mayManage reports whether the actor may manage target's credentials:
// its own, or, for an administrator, those of its account's users.
func (a Actor) mayManage(target Extension) bool {
	if a.operator {
		return true
	}
	if a.ext.ID == 0 || !a.ext.Enabled() {
		return false
	}
	return a.ext.ID == target.ID || a.ext.Admin() && a.ext.AccountID == target.AccountID
}

func (a Actor) id() int64 { return a.ext.ID }

// JWTCredentials manages and checks JWT credentials. It shares the
// authorization server's signing key and issuer.
type JWTCredentials struct {
	store  JWTCredentialStore
	dir    *Directory
	signer jose.Signer
	auth   *AuthServer
}

// ErrForbidden: the actor may not manage that extension's credentials.
var ErrForbidden = errors.New("forbidden")

// JWTCredentials returns the service over store. The authorization server
// then accepts the jwt-bearer grant from confidential clients.
func (a *AuthServer) JWTCredentials(store JWTCredentialStore, dir *Directory) (*JWTCredentials, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: a.cfg.SigningKey},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", a.keyID))
	if err != nil {
		return nil, fmt.Errorf("jwt credentials: %w", err)
	}
	j := &JWTCredentials{store: store, dir: dir, signer: signer, auth: a}
	a.jwt.Store(j)
	return j, nil
}

// Credentials returns the JWT credentials service, nil when there is none
// (or no built-in authorization server).
func (a *AuthServer) Credentials() *JWTCredentials {
	if a == nil {
		return nil
	}
	return a.jwt.Load()
}

// jwtClaims are a credential's claims. Audience names both token endpoint
// paths, as the platform's SDKs use the second.
type jwtClaims struct {
	josejwt.Claims
}

func (j *JWTCredentials) audience() josejwt.Audience {
	iss := j.auth.cfg.Issuer
	return josejwt.Audience{iss + "/oauth/token", iss + "/restapi/oauth/token"}
}

// Create makes a credential for extension forID, named name, expiring
// after ttl (0: never), and returns it with its JWT, which is shown once:
// only its id is stored.
func (j *JWTCredentials) Create(ctx context.Context, actor Actor, forID int64, name string, ttl time.Duration) (JWTCredential, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 64 || strings.ContainsFunc(name, isControl) {
		return JWTCredential{}, "", &ParamError{Param: "name", Message: "give 1 to 64 characters"}
	}
	if ttl < 0 || ttl > MaxJWTCredentialLifetime {
		return JWTCredential{}, "", &ParamError{Param: "expiresInDays", Message: fmt.Sprintf("give 0 (never) to %d days", maxDays)}
	}
	_, ext, err := j.dir.ExtensionWithAccount(ctx, forID)
	if err != nil {
		return JWTCredential{}, "", err
	}
	if !actor.mayManage(ext) {
		return JWTCredential{}, "", ErrForbidden
	}
	if ext.Department() {
		return JWTCredential{}, "", &ParamError{Param: "extensionId", Message: "a department does not sign in"}
	}
	now := j.auth.cfg.Now().UTC().Truncate(time.Second)
	c := JWTCredential{ID: newCredentialID(), AccountID: ext.AccountID, ExtensionID: ext.ID,
		Name: name, CreatedBy: actor.id(), CreatedAt: now}
	claims := jwtClaims{Claims: josejwt.Claims{
		Issuer: j.auth.cfg.Issuer, Subject: Subject(ext.ID), Audience: j.audience(),
		ID: c.ID, IssuedAt: josejwt.NewNumericDate(now),
	}}
	if ttl > 0 {
		c.ExpiresAt = now.Add(ttl)
		claims.Expiry = josejwt.NewNumericDate(c.ExpiresAt)
	}
	token, err := josejwt.Signed(j.signer).Claims(claims).Serialize()
	if err != nil {
		return JWTCredential{}, "", fmt.Errorf("sign jwt credential: %w", err)
	}
	if err := j.store.CreateJWTCredential(ctx, c, MaxJWTCredentials); err != nil {
		return JWTCredential{}, "", err
	}
	return c, token, nil
}

// List returns extension forID's credentials.
func (j *JWTCredentials) List(ctx context.Context, actor Actor, forID int64) ([]JWTCredential, error) {
	_, ext, err := j.dir.ExtensionWithAccount(ctx, forID)
	if err != nil {
		return nil, err
	}
	if !actor.mayManage(ext) {
		return nil, ErrForbidden
	}
	return j.store.JWTCredentials(ctx, forID)
}

// Revoke ends a credential and every token exchanged for it. A credential
// the actor may not manage is ErrNotFound, as one that does not exist.
func (j *JWTCredentials) Revoke(ctx context.Context, actor Actor, id string) (JWTCredential, error) {
	c, err := j.store.JWTCredential(ctx, id)
	if err != nil {
		return JWTCredential{}, err
	}
	_, ext, err := j.dir.ExtensionWithAccount(ctx, c.ExtensionID)
	if err != nil {
		return JWTCredential{}, err
	}
	if !actor.mayManage(ext) {
		return JWTCredential{}, fmt.Errorf("jwt credential %s: %w", id, ErrNotFound)
	}
	if !c.RevokedAt.IsZero() {
		return c, nil
	}
	c.RevokedAt = j.auth.cfg.Now().UTC()
	if err := j.store.RevokeJWTCredential(ctx, id, c.RevokedAt); err != nil {
		return JWTCredential{}, err
	}
	return c, nil
}

// errAssertion is every refused assertion's cause, said once to the
// client; the detail goes to the debug field, which fosite keeps from it.
var errAssertion = errors.New("the assertion is not a valid JWT credential of this server")

// Verify checks an assertion and returns its credential and extension.
// The JWT must be ours (RS256 with our key, our issuer, our token
// endpoint as audience) and its credential unrevoked, unexpired and of
// an enabled user.
func (j *JWTCredentials) Verify(ctx context.Context, assertion string) (JWTCredential, Account, Extension, error) {
	fail := func(format string, args ...any) (JWTCredential, Account, Extension, error) {
		return JWTCredential{}, Account{}, Extension{}, fmt.Errorf("%w: "+format, append([]any{errAssertion}, args...)...)
	}
	if assertion == "" || len(assertion) > maxAssertion {
		return fail("length %d", len(assertion))
	}
	tok, err := josejwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return fail("%v", err)
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID != j.auth.keyID {
		return fail("unknown key")
	}
	var claims jwtClaims
	if err := tok.Claims(&j.auth.cfg.SigningKey.PublicKey, &claims); err != nil {
		return fail("%v", err)
	}
	now := j.auth.cfg.Now()
	if err := claims.ValidateWithLeeway(josejwt.Expected{Issuer: j.auth.cfg.Issuer, Time: now}, time.Minute); err != nil {
		return fail("%v", err)
	}
	if !claims.Audience.Contains(j.auth.cfg.Issuer+"/oauth/token") && !claims.Audience.Contains(j.auth.cfg.Issuer+"/restapi/oauth/token") {
		return fail("audience %v", claims.Audience)
	}
	extID, err := ParseSubject(claims.Subject)
	if err != nil || claims.ID == "" {
		return fail("subject or id missing")
	}
	c, err := j.store.JWTCredential(ctx, claims.ID)
	if errors.Is(err, ErrNotFound) {
		return fail("credential %s does not exist", claims.ID)
	}
	if err != nil {
		return JWTCredential{}, Account{}, Extension{}, err
	}
	if c.ExtensionID != extID {
		return fail("credential %s is not extension %d's", c.ID, extID)
	}
	if st := c.Status(now); st != JWTActive {
		return fail("credential %s is %s", c.ID, strings.ToLower(st))
	}
	a, e, err := j.dir.ExtensionWithAccount(ctx, extID)
	if errors.Is(err, ErrNotFound) {
		return fail("extension %d does not exist", extID)
	}
	if err != nil {
		return JWTCredential{}, Account{}, Extension{}, err
	}
	if !e.Enabled() || e.Department() {
		return fail("extension %d may not sign in", extID)
	}
	return c, a, e, nil
}

func newCredentialID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// ParseJWTLifetime reads an expiry as the widget and the command give it:
// "never" (or empty) or a number of days, "90d".
func ParseJWTLifetime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "never" {
		return 0, nil
	}
	days, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
	if err != nil || days < 1 || time.Duration(days)*24*time.Hour > MaxJWTCredentialLifetime {
		return 0, &ParamError{Param: "expires", Message: fmt.Sprintf("%q: give never or 1d to %dd", s, maxDays)}
	}
	return time.Duration(days) * 24 * time.Hour, nil
}
