package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/ory/fosite"
)

// OAuth persists the authorization server's requests and tokens. It
// implements the storage interfaces of the fosite handlers in use
// (authorization code, PKCE, OpenID Connect, refresh with rotation,
// revocation) and fosite's Transactional, so a refresh rotates atomically.
type OAuth struct {
	db *DB
}

// OAuth returns the authorization server's storage.
func (db *DB) OAuth() *OAuth { return &OAuth{db: db} }

// Token kinds in oauth_requests.kind.
const (
	kindCode    = "code"
	kindPKCE    = "pkce"
	kindOIDC    = "oidc"
	kindAccess  = "access"
	kindRefresh = "refresh"
)

type txKey struct{}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (o *OAuth) q(ctx context.Context) querier {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return tx
	}
	return o.db.sql
}

// BeginTX starts a transaction carried by the returned context.
func (o *OAuth) BeginTX(ctx context.Context) (context.Context, error) {
	tx, err := o.db.sql.BeginTx(ctx, nil)
	if err != nil {
		return ctx, fmt.Errorf("oauth: begin: %w", err)
	}
	return context.WithValue(ctx, txKey{}, tx), nil
}

// Commit commits the context's transaction.
func (o *OAuth) Commit(ctx context.Context) error {
	tx, ok := ctx.Value(txKey{}).(*sql.Tx)
	if !ok {
		return errors.New("oauth: commit without transaction")
	}
	return tx.Commit()
}

// Rollback abandons the context's transaction.
func (o *OAuth) Rollback(ctx context.Context) error {
	tx, ok := ctx.Value(txKey{}).(*sql.Tx)
	if !ok {
		return errors.New("oauth: rollback without transaction")
	}
	return tx.Rollback()
}

// storedRequest is the JSON form of a fosite.Requester. The client is kept
// whole, so a stored token never depends on a later change to the app.
type storedRequest struct {
	ID                string               `json:"id"`
	RequestedAt       time.Time            `json:"requestedAt"`
	Client            fosite.DefaultClient `json:"client"`
	RequestedScope    []string             `json:"scopes"`
	GrantedScope      []string             `json:"grantedScopes"`
	RequestedAudience []string             `json:"requestedAudience"`
	GrantedAudience   []string             `json:"grantedAudience"`
	Form              url.Values           `json:"form"`
	Session           json.RawMessage      `json:"session"`
}

// Form fields never stored: secrets and one-time values the flows don't read back.
var unstoredForm = []string{"password", "client_secret", "code", "refresh_token", "code_verifier"}

func encodeRequest(r fosite.Requester) (storedRequest, error) {
	c := r.GetClient()
	client := fosite.DefaultClient{
		ID: c.GetID(), RedirectURIs: c.GetRedirectURIs(), GrantTypes: c.GetGrantTypes(),
		ResponseTypes: c.GetResponseTypes(), Scopes: c.GetScopes(), Audience: c.GetAudience(), Public: c.IsPublic(),
	}
	session, err := json.Marshal(r.GetSession())
	if err != nil {
		return storedRequest{}, fmt.Errorf("encode session: %w", err)
	}
	form := url.Values{}
	for k, v := range r.GetRequestForm() {
		form[k] = v
	}
	for _, k := range unstoredForm {
		delete(form, k)
	}
	return storedRequest{
		ID: r.GetID(), RequestedAt: r.GetRequestedAt(), Client: client,
		RequestedScope: r.GetRequestedScopes(), GrantedScope: r.GetGrantedScopes(),
		RequestedAudience: r.GetRequestedAudience(), GrantedAudience: r.GetGrantedAudience(),
		Form: form, Session: session,
	}, nil
}

func (s storedRequest) decode(session fosite.Session) (*fosite.Request, error) {
	if session != nil && len(s.Session) > 0 {
		if err := json.Unmarshal(s.Session, session); err != nil {
			return nil, fmt.Errorf("decode session: %w", err)
		}
	}
	client := s.Client
	return &fosite.Request{
		ID: s.ID, RequestedAt: s.RequestedAt, Client: &client,
		RequestedScope: s.RequestedScope, GrantedScope: s.GrantedScope,
		RequestedAudience: s.RequestedAudience, GrantedAudience: s.GrantedAudience,
		Form: s.Form, Session: session,
	}, nil
}

func (o *OAuth) create(ctx context.Context, kind, signature string, r fosite.Requester, expiry fosite.TokenType) error {
	sr, err := encodeRequest(r)
	if err != nil {
		return err
	}
	data, err := json.Marshal(sr)
	if err != nil {
		return fmt.Errorf("oauth: encode %s: %w", kind, err)
	}
	var expires any
	if s := r.GetSession(); s != nil && expiry != "" {
		if t := s.GetExpiresAt(expiry); !t.IsZero() {
			expires = t.UTC().Format(time.RFC3339)
		}
	}
	subject := ""
	if s := r.GetSession(); s != nil {
		subject = s.GetSubject()
	}
	_, err = o.q(ctx).ExecContext(ctx, `
		INSERT INTO oauth_requests (kind, signature, request_id, client_id, subject, expires_at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		kind, signature, r.GetID(), sr.Client.ID, subject, expires, string(data))
	if err != nil {
		return fmt.Errorf("oauth: store %s: %w", kind, err)
	}
	return nil
}

// get loads a request; an inactive one comes back with fosite's inactive
// error for its kind, together with the request, as the handlers expect.
func (o *OAuth) get(ctx context.Context, kind, signature string, session fosite.Session, inactiveErr error) (fosite.Requester, error) {
	var data string
	var active bool
	err := o.q(ctx).QueryRowContext(ctx,
		`SELECT data, active FROM oauth_requests WHERE kind = ? AND signature = ?`, kind, signature).Scan(&data, &active)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: load %s: %w", kind, err)
	}
	var sr storedRequest
	if err := json.Unmarshal([]byte(data), &sr); err != nil {
		return nil, fmt.Errorf("oauth: decode %s: %w", kind, err)
	}
	req, err := sr.decode(session)
	if err != nil {
		return nil, err
	}
	if !active {
		return req, inactiveErr
	}
	return req, nil
}

func (o *OAuth) delete(ctx context.Context, kind, signature string) error {
	if _, err := o.q(ctx).ExecContext(ctx, `DELETE FROM oauth_requests WHERE kind = ? AND signature = ?`, kind, signature); err != nil {
		return fmt.Errorf("oauth: delete %s: %w", kind, err)
	}
	return nil
}

// CreateAuthorizeCodeSession stores the request behind an authorization code.
func (o *OAuth) CreateAuthorizeCodeSession(ctx context.Context, code string, r fosite.Requester) error {
	return o.create(ctx, kindCode, code, r, fosite.AuthorizeCode)
}

// GetAuthorizeCodeSession loads it; a used code answers ErrInvalidatedAuthorizeCode.
func (o *OAuth) GetAuthorizeCodeSession(ctx context.Context, code string, s fosite.Session) (fosite.Requester, error) {
	return o.get(ctx, kindCode, code, s, fosite.ErrInvalidatedAuthorizeCode)
}

// InvalidateAuthorizeCodeSession marks a code used. It is kept, so a replay
// is recognised and the tokens it produced can be revoked.
func (o *OAuth) InvalidateAuthorizeCodeSession(ctx context.Context, code string) error {
	if _, err := o.q(ctx).ExecContext(ctx, `UPDATE oauth_requests SET active = 0 WHERE kind = ? AND signature = ?`, kindCode, code); err != nil {
		return fmt.Errorf("oauth: invalidate code: %w", err)
	}
	return nil
}

// CreatePKCERequestSession stores the PKCE challenge of a code.
func (o *OAuth) CreatePKCERequestSession(ctx context.Context, signature string, r fosite.Requester) error {
	return o.create(ctx, kindPKCE, signature, r, fosite.AuthorizeCode)
}

// GetPKCERequestSession loads it.
func (o *OAuth) GetPKCERequestSession(ctx context.Context, signature string, s fosite.Session) (fosite.Requester, error) {
	return o.get(ctx, kindPKCE, signature, s, fosite.ErrNotFound)
}

// DeletePKCERequestSession removes it.
func (o *OAuth) DeletePKCERequestSession(ctx context.Context, signature string) error {
	return o.delete(ctx, kindPKCE, signature)
}

// CreateOpenIDConnectSession stores the OpenID Connect request of a code.
func (o *OAuth) CreateOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) error {
	return o.create(ctx, kindOIDC, code, r, fosite.AuthorizeCode)
}

// GetOpenIDConnectSession loads it into the requester's session.
func (o *OAuth) GetOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) (fosite.Requester, error) {
	return o.get(ctx, kindOIDC, code, r.GetSession(), fosite.ErrNotFound)
}

// DeleteOpenIDConnectSession removes it.
func (o *OAuth) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	return o.delete(ctx, kindOIDC, code)
}

// CreateAccessTokenSession stores an access token's request.
func (o *OAuth) CreateAccessTokenSession(ctx context.Context, signature string, r fosite.Requester) error {
	return o.create(ctx, kindAccess, signature, r, fosite.AccessToken)
}

// GetAccessTokenSession loads it.
func (o *OAuth) GetAccessTokenSession(ctx context.Context, signature string, s fosite.Session) (fosite.Requester, error) {
	return o.get(ctx, kindAccess, signature, s, fosite.ErrInactiveToken)
}

// DeleteAccessTokenSession removes it.
func (o *OAuth) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	return o.delete(ctx, kindAccess, signature)
}

// CreateRefreshTokenSession stores a refresh token's request.
func (o *OAuth) CreateRefreshTokenSession(ctx context.Context, signature, _ string, r fosite.Requester) error {
	return o.create(ctx, kindRefresh, signature, r, fosite.RefreshToken)
}

// GetRefreshTokenSession loads it; a rotated or revoked token answers
// ErrInactiveToken with its request, which makes the refresh handler revoke
// the whole family (reuse detection).
func (o *OAuth) GetRefreshTokenSession(ctx context.Context, signature string, s fosite.Session) (fosite.Requester, error) {
	return o.get(ctx, kindRefresh, signature, s, fosite.ErrInactiveToken)
}

// DeleteRefreshTokenSession removes it.
func (o *OAuth) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	return o.delete(ctx, kindRefresh, signature)
}

// RotateRefreshToken retires the family's current refresh token and its
// access tokens before the new pair is stored.
func (o *OAuth) RotateRefreshToken(ctx context.Context, requestID, _ string) error {
	if err := o.RevokeRefreshToken(ctx, requestID); err != nil {
		return err
	}
	return o.RevokeAccessToken(ctx, requestID)
}

// RevokeRefreshToken deactivates every refresh token of the family.
func (o *OAuth) RevokeRefreshToken(ctx context.Context, requestID string) error {
	if _, err := o.q(ctx).ExecContext(ctx, `UPDATE oauth_requests SET active = 0 WHERE kind = ? AND request_id = ?`, kindRefresh, requestID); err != nil {
		return fmt.Errorf("oauth: revoke refresh tokens: %w", err)
	}
	return nil
}

// RevokeAccessToken deletes every access token of the family.
func (o *OAuth) RevokeAccessToken(ctx context.Context, requestID string) error {
	if _, err := o.q(ctx).ExecContext(ctx, `DELETE FROM oauth_requests WHERE kind = ? AND request_id = ?`, kindAccess, requestID); err != nil {
		return fmt.Errorf("oauth: revoke access tokens: %w", err)
	}
	return nil
}

// PurgeExpired deletes what expired before the cutoff. Inactive refresh tokens
// are kept until they expire, so reuse is detected for their whole lifetime.
func (o *OAuth) PurgeExpired(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := o.db.sql.ExecContext(ctx, `DELETE FROM oauth_requests WHERE expires_at IS NOT NULL AND expires_at < ?`,
		cutoff.UTC().Format(time.RFC3339))
	if err != nil {
		return 0, fmt.Errorf("oauth: purge: %w", err)
	}
	return res.RowsAffected()
}
