package identity_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

// clock is a settable time for the authorization server.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

const testIssuer = "http://localhost:8080"

// authServer is the built-in authorization server over a real database,
// driven through its HTTP handlers, with one app ("crm") and one user.
type authServer struct {
	*identity.AuthServer
	acct identity.Account
	ext  identity.Extension
	dir  *identity.Directory
	db   *store.DB
}

func newAuthServer(t testing.TB, clk *clock) *authServer {
	t.Helper()
	ctx := context.Background()
	dir, db := newDirectory(t)
	if err := db.PutApp(ctx, identity.App{ClientID: "crm", Name: "CRM", Origins: []string{"https://crm.example.com"},
		RedirectURIs: []string{"https://crm.example.com/callback"}}); err != nil {
		t.Fatal(err)
	}
	acct := identity.Account{Company: "Acme", MainNumber: "+16505550100", CountryCode: "US"}
	if err := dir.CreateAccount(ctx, &acct); err != nil {
		t.Fatal(err)
	}
	ext := identity.Extension{AccountID: acct.ID, Number: "101", Name: "Ann", Email: "ann@acme.test"}
	if err := dir.CreateExtension(ctx, &ext, "correct horse"); err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	a, err := identity.NewAuthServer(identity.AuthServerConfig{
		Issuer: testIssuer, GlobalSecret: []byte(strings.Repeat("s", 32)), SigningKey: key, Now: clk.Now,
	}, db, db.OAuth())
	if err != nil {
		t.Fatal(err)
	}
	return &authServer{AuthServer: a, acct: acct, ext: ext, dir: dir, db: db}
}

// grant runs the authorization code flow for the user and returns the
// token response.
func (a *authServer) grant(t *testing.T) map[string]any {
	t.Helper()
	return a.grantWithState(t, "state-0123456789abcdef")
}

// grantWithState is grant with the request's state ("" for none).
func (a *authServer) grantWithState(t *testing.T, state string) map[string]any {
	t.Helper()
	code, verifier := a.authorize(t, state)
	res, status := a.token(url.Values{"grant_type": {"authorization_code"}, "client_id": {"crm"},
		"redirect_uri": {"https://crm.example.com/callback"}, "code": {code}, "code_verifier": {verifier}})
	if status != http.StatusOK {
		t.Fatalf("code exchange: %d %v", status, res)
	}
	return res
}

// authorize has the user grant crm's authorization request and returns
// the code and its PKCE verifier.
func (a *authServer) authorize(t *testing.T, state string) (code, verifier string) {
	t.Helper()
	verifier = oauth2.GenerateVerifier()
	q := url.Values{
		"client_id": {"crm"}, "response_type": {"code"}, "redirect_uri": {"https://crm.example.com/callback"},
		"scope":          {"openid offline_access"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}
	if state != "" {
		q.Set("state", state)
	}
	r := httptest.NewRequest("GET", testIssuer+"/oauth/authorize?"+q.Encode(), nil)
	ar, err := a.ParseAuthorize(r.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if err := a.Grant(r.Context(), w, ar, a.acct, a.ext); err != nil {
		t.Fatal(err)
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != state {
		t.Fatalf("authorize: %d %v", w.Code, w.Header())
	}
	return loc.Query().Get("code"), verifier
}

func (a *authServer) token(form url.Values) (map[string]any, int) {
	return a.tokenAs(form, "", "")
}

// tokenAs asks the token endpoint with HTTP Basic client authentication
// (none when clientID is "").
func (a *authServer) tokenAs(form url.Values, clientID, secret string) (map[string]any, int) {
	r := httptest.NewRequest("POST", testIssuer+"/oauth/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientID != "" {
		r.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	w := httptest.NewRecorder()
	a.Token(w, r)
	var m map[string]any
	json.Unmarshal(w.Body.Bytes(), &m)
	return m, w.Code
}

func (a *authServer) refresh(refreshToken string) (map[string]any, int) {
	return a.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {"crm"}, "refresh_token": {refreshToken}})
}

// TestRefreshFamilyAbsoluteLifetime: a family of refresh tokens — one
// sign-in and all its rotations — ends a fixed time after the sign-in,
// however often it was rotated in between, so a stolen refresh token kept
// fresh by use does not live for ever.
func TestRefreshFamilyAbsoluteLifetime(t *testing.T) {
	clk := &clock{now: time.Now()}
	a := newAuthServer(t, clk)
	start := clk.Now()
	refresh := a.grant(t)["refresh_token"].(string)

	// Rotated every six days (within the week a refresh token lives
	// unused), and once more a minute before the family's end: each works.
	for _, at := range []time.Duration{6, 12, 18, 24} {
		clk.set(start.Add(at * 24 * time.Hour))
		res, status := a.refresh(refresh)
		if status != http.StatusOK {
			t.Fatalf("refresh on day %d: %d %v", at, status, res)
		}
		refresh = res["refresh_token"].(string)
	}
	clk.set(start.Add(identity.RefreshFamilyLifetime - time.Minute))
	res, status := a.refresh(refresh)
	if status != http.StatusOK {
		t.Fatalf("refresh a minute before the family's end: %d %v", status, res)
	}
	refresh = res["refresh_token"].(string)

	// At the end of the family, its newest refresh token is refused.
	for _, after := range []time.Duration{0, time.Minute} {
		clk.set(start.Add(identity.RefreshFamilyLifetime + after))
		res, status := a.refresh(refresh)
		if status != http.StatusBadRequest || res["error"] != "invalid_grant" {
			t.Fatalf("refresh %v after the family's end: %d %v", after, status, res)
		}
	}

	// A new sign-in starts a new family. (Its ID token may not claim a
	// sign-in later than the real time, so the clock goes back to it.)
	clk.set(time.Now())
	res, status = a.refresh(a.grant(t)["refresh_token"].(string))
	if status != http.StatusOK {
		t.Fatalf("refresh of a new family: %d %v", status, res)
	}
}

// TestPlatformSDKSignIn: what the platform's SDKs do and read. With PKCE a
// request without state, or with a short one, is granted; the token answer
// says when the refresh token expires, whose tokens they are, and which
// sign-in they belong to, the same after a refresh; a request without PKCE
// is still refused.
func TestPlatformSDKSignIn(t *testing.T) {
	week := float64(7 * 24 * 3600)
	var a *authServer
	for _, state := range []string{"", "x1"} {
		// fosite dates tokens by the real clock: the test's starts there.
		clk := &clock{now: time.Now()}
		a = newAuthServer(t, clk)
		res := a.grantWithState(t, state)
		// The test's clock stands still while fosite's runs on: a second
		// or two either way.
		if got, _ := res["refresh_token_expires_in"].(float64); got < week-600 || got > week+600 {
			t.Errorf("state %q: refresh_token_expires_in = %v, want a week", state, got)
		}
		if got := res["owner_id"]; got != identity.Subject(a.ext.ID) {
			t.Errorf("state %q: owner_id = %v, want %s", state, got, identity.Subject(a.ext.ID))
		}
		endpoint, _ := res["endpoint_id"].(string)
		if endpoint == "" {
			t.Fatalf("state %q: no endpoint_id: %v", state, res)
		}
		clk.set(clk.Now().Add(time.Hour))
		refreshed, status := a.refresh(res["refresh_token"].(string))
		if status != http.StatusOK || refreshed["endpoint_id"] != endpoint {
			t.Errorf("state %q: refresh: %d, endpoint_id %v, want %s", state, status, refreshed["endpoint_id"], endpoint)
		}
		if got, _ := refreshed["refresh_token_expires_in"].(float64); got <= 0 || got > week+600 {
			t.Errorf("state %q: refreshed refresh_token_expires_in = %v", state, got)
		}
	}
	q := url.Values{"client_id": {"crm"}, "response_type": {"code"}, "redirect_uri": {"https://crm.example.com/callback"},
		"scope": {"openid"}}
	r := httptest.NewRequest("GET", testIssuer+"/oauth/authorize?"+q.Encode(), nil)
	if _, err := a.ParseAuthorize(r.Context(), r); err == nil {
		t.Error("a request without PKCE and without state was accepted")
	}
}
