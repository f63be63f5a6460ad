package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/bench/internal/widget"
)

// token is an access token of the platform API.
type token struct {
	base, access string
	c            *http.Client
}

// apiToken signs a user in as a CRM's server does: the authorization code
// flow with PKCE against the built-in authorization server.
func apiToken(ctx context.Context, base string, u target.User) (*token, error) {
	verifier := oauth2.GenerateVerifier()
	redirect := base + "/oauth/redirect"
	q := url.Values{
		"client_id": {"demo"}, "response_type": {"code"}, "redirect_uri": {redirect},
		"state": {"soak-" + verifier[:16]}, "scope": {"openid offline_access"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}
	loc, err := widget.Authorize(ctx, base+"/oauth/authorize?"+q.Encode(), u.Email, u.Password)
	if err != nil {
		return nil, err
	}
	lu, err := url.Parse(loc)
	if err != nil || lu.Query().Get("code") == "" {
		return nil, fmt.Errorf("no code in the redirect %q", loc)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {lu.Query().Get("code")},
		"client_id": {"demo"}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c := widget.NewHTTPClient()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := doJSON(c, req, &tok); err != nil {
		return nil, err
	}
	return &token{base: base, access: tok.AccessToken, c: c}, nil
}

func (t *token) get(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", t.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+t.access)
	return doJSON(t.c, req, nil)
}

func (t *token) put(ctx context.Context, path string, body any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, "PUT", t.base+path, strings.NewReader(string(b)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+t.access)
	req.Header.Set("Content-Type", "application/json")
	return doJSON(t.c, req, nil)
}

// revoke ends the token (RFC 7009), as a CRM does when its user signs out.
func (t *token) revoke(ctx context.Context) error {
	form := url.Values{"token": {t.access}, "client_id": {"demo"}}
	req, err := http.NewRequestWithContext(ctx, "POST", t.base+"/oauth/revoke", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return doJSON(t.c, req, nil)
}
