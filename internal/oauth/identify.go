package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// APIIdentifier identifies a token's user the way any API client does: it
// asks the platform API for the current extension
// (GET /restapi/v1.0/account/~/extension/~) with the token.
type APIIdentifier struct {
	BaseURL string // where this server's API answers, e.g. http://127.0.0.1:8080
	HTTP    *http.Client
}

// Identify returns the extension id the API reports for the token.
func (a APIIdentifier) Identify(ctx context.Context, _ string, tok *oauth2.Token) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.BaseURL+"/restapi/v1.0/account/~/extension/~", nil)
	if err != nil {
		return 0, err
	}
	tok.SetAuthHeader(req)
	req.Header.Set("Accept", "application/json")
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("identify: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("identify: status %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var ext struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(body, &ext); err != nil || ext.ID <= 0 {
		return 0, fmt.Errorf("identify: bad extension: %v", err)
	}
	return ext.ID, nil
}

// ExtensionByEmail finds the extension of a verified email address;
// ErrUnknownUser when there is none.
type ExtensionByEmail func(ctx context.Context, email string) (int64, error)

// OIDCIdentifier identifies users of an external OpenID Connect provider by
// the email in their ID token, mapped to an extension, and only when the
// token says the provider verified it (email_verified is true).
type OIDCIdentifier struct {
	verifier *oidc.IDTokenVerifier
	lookup   ExtensionByEmail
}

// Provider is an external OpenID Connect provider found by discovery.
type Provider struct {
	Endpoints  Endpoints
	Identifier *OIDCIdentifier
}

// DiscoverProvider reads the issuer's discovery document and prepares the
// ID-token verifier for clientID.
func DiscoverProvider(ctx context.Context, issuer, clientID string, hc *http.Client, lookup ExtensionByEmail) (*Provider, error) {
	ctx = oidc.ClientContext(ctx, hc)
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", issuer, err)
	}
	var extra struct {
		Revocation string `json:"revocation_endpoint"`
	}
	p.Claims(&extra)
	ep := p.Endpoint()
	return &Provider{
		Endpoints: Endpoints{AuthURL: ep.AuthURL, TokenURL: ep.TokenURL, RevokeURL: extra.Revocation},
		Identifier: &OIDCIdentifier{
			verifier: p.VerifierContext(ctx, &oidc.Config{ClientID: clientID}),
			lookup:   lookup,
		},
	}, nil
}

// Identify verifies the ID token and maps its email to an extension. An
// email the provider does not vouch for is ErrUnknownUser.
func (o *OIDCIdentifier) Identify(ctx context.Context, _ string, tok *oauth2.Token) (int64, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return 0, errors.New("identify: the provider sent no ID token (is the openid scope allowed?)")
	}
	idt, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		return 0, fmt.Errorf("identify: %w", err)
	}
	var claims struct {
		Email    string          `json:"email"`
		Verified json.RawMessage `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return 0, fmt.Errorf("%w: the ID token's claims: %v", ErrUnknownUser, err)
	}
	if claims.Email == "" || !verified(claims.Verified) {
		return 0, fmt.Errorf("%w: the provider did not vouch for an email address (email %q, email_verified %s)",
			ErrUnknownUser, claims.Email, claims.Verified)
	}
	return o.lookup(ctx, strings.ToLower(claims.Email))
}

// verified reports whether an email_verified claim is the JSON boolean true
// (OpenID Connect Core 1.0 §5.1). Absent, null, false and any other spelling
// are not: an address the provider has not verified may be anyone's.
func verified(claim json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(claim), []byte("true"))
}
