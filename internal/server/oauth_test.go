package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// authFlow is one authorization-code grant against the built-in server,
// driven over HTTP as a client would.
type authFlow struct {
	srv      *instance
	c        *http.Client
	redirect string
	verifier string
	state    string // "" for none
	prefix   string // of the endpoints: /oauth, or /restapi/oauth as the platform's SDKs use
}

func newFlow(t *testing.T, srv *instance) *authFlow {
	return &authFlow{srv: srv, c: browser(), redirect: srv.WidgetURL + "/oauth/redirect",
		verifier: oauth2.GenerateVerifier(), state: "state-" + oauth2.GenerateVerifier()[:16], prefix: "/oauth"}
}

func (f *authFlow) authURL(extra url.Values) string {
	q := url.Values{
		"client_id": {"demo"}, "response_type": {"code"}, "redirect_uri": {f.redirect},
		"scope":          {"openid offline_access"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(f.verifier)}, "code_challenge_method": {"S256"},
	}
	if f.state != "" {
		q.Set("state", f.state)
	}
	for k, v := range extra {
		q[k] = v
	}
	return f.srv.WidgetURL + f.prefix + "/authorize?" + q.Encode()
}

// code signs in as alice and returns the authorization code.
func (f *authFlow) code(t *testing.T) string {
	t.Helper()
	loc := location(t, login(t, f.c, f.authURL(nil), "alice@demo.test", "demo"))
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != f.redirect {
		t.Fatalf("redirected to %s, want %s", got, f.redirect)
	}
	if loc.Query().Get("state") != f.state || loc.Query().Get("code") == "" {
		t.Fatalf("redirect query %v", loc.Query())
	}
	return loc.Query().Get("code")
}

func (f *authFlow) exchange(t *testing.T, code, verifier string) response {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"demo"}, "redirect_uri": {f.redirect}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return postForm(t, f.c, f.srv.WidgetURL+f.prefix+"/token", form)
}

func (f *authFlow) refresh(t *testing.T, refreshToken string) response {
	t.Helper()
	return postForm(t, f.c, f.srv.WidgetURL+f.prefix+"/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}, "client_id": {"demo"}})
}

// api calls GET /restapi/v1.0/account/~/extension/~ with a token.
func (f *authFlow) api(t *testing.T, token string) response {
	t.Helper()
	return do(t, f.c, "GET", f.srv.WidgetURL+"/restapi/v1.0/account/~/extension/~", nil, "Authorization", "Bearer "+token)
}

func tokens(t *testing.T, r response) (access, refresh string) {
	t.Helper()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("token endpoint: %d %s", r.StatusCode, r.body)
	}
	m := r.json(t)
	access, _ = m["access_token"].(string)
	refresh, _ = m["refresh_token"].(string)
	if access == "" || refresh == "" || m["token_type"] != "bearer" {
		t.Fatalf("token response %v", m)
	}
	return access, refresh
}

func wantGrantError(t *testing.T, r response, what string) {
	t.Helper()
	if r.StatusCode != http.StatusBadRequest && r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("%s: status %d, want 400/401: %s", what, r.StatusCode, r.body)
	}
	if e := r.json(t)["error"]; e == nil {
		t.Fatalf("%s: no OAuth error in %s", what, r.body)
	}
}

func wantUnauthorized(t *testing.T, r response, what string) {
	t.Helper()
	if r.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("%s: status %d, WWW-Authenticate %q: %s", what, r.StatusCode, r.Header.Get("WWW-Authenticate"), r.body)
	}
	m := r.json(t)
	if m["errorCode"] == nil || m["message"] == nil {
		t.Fatalf("%s: error body %s", what, r.body)
	}
}

func TestAuthorizationCodeGrant(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	f := newFlow(t, srv)
	grant := f.exchange(t, f.code(t), f.verifier)
	access, _ := tokens(t, grant)
	if exp, _ := grant.json(t)["expires_in"].(float64); exp < 3000 || exp > 3600 {
		t.Errorf("access token lives %v s, want about an hour", exp)
	}

	me := f.api(t, access)
	if me.StatusCode != http.StatusOK {
		t.Fatalf("api: %d %s", me.StatusCode, me.body)
	}
	ext := me.json(t)
	if ext["extensionNumber"] != "101" || ext["loginNumber"] != "+16505550100*101" || ext["contact"].(map[string]any)["email"] != "alice@demo.test" {
		t.Fatalf("current extension %v", ext)
	}
	wantUnauthorized(t, f.api(t, ""), "no token")
	wantUnauthorized(t, f.api(t, "garbage"), "unknown token")
	r := do(t, f.c, "GET", srv.WidgetURL+"/restapi/v1.0/account/~/extension/~", nil)
	wantUnauthorized(t, r, "no Authorization header")
}

func TestPKCEIsRequired(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	t.Run("wrong verifier", func(t *testing.T) {
		f := newFlow(t, srv)
		wantGrantError(t, f.exchange(t, f.code(t), oauth2.GenerateVerifier()), "wrong verifier")
	})
	t.Run("missing verifier", func(t *testing.T) {
		f := newFlow(t, srv)
		wantGrantError(t, f.exchange(t, f.code(t), ""), "missing verifier")
	})
	t.Run("no challenge", func(t *testing.T) {
		f := newFlow(t, srv)
		u := f.authURL(url.Values{"code_challenge": nil, "code_challenge_method": nil})
		u = strings.Replace(u, "code_challenge=", "x=", -1)
		loc := location(t, do(t, f.c, "GET", u, nil))
		if loc.Query().Get("error") == "" {
			t.Fatalf("authorization without PKCE answered %s", loc)
		}
	})
	t.Run("plain method", func(t *testing.T) {
		f := newFlow(t, srv)
		loc := location(t, do(t, f.c, "GET", f.authURL(url.Values{"code_challenge_method": {"plain"}, "code_challenge": {f.verifier}}), nil))
		if loc.Query().Get("error") == "" {
			t.Fatalf("plain PKCE accepted: %s", loc)
		}
	})
}

func TestRedirectURIMustMatchExactly(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	for _, bad := range []string{
		"http://evil.test/oauth/redirect",
		srv.WidgetURL + "/oauth/redirect/x",
		srv.WidgetURL + "/oauth/redirect?x=1",
		strings.Replace(srv.DemoURL, ":", ":1", 2) + "/oauth/callback", // loopback with another port
	} {
		f := newFlow(t, srv)
		f.redirect = bad
		r := do(t, f.c, "GET", f.authURL(nil), nil)
		if r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" {
			t.Errorf("redirect_uri %s: status %d location %q", bad, r.StatusCode, r.Header.Get("Location"))
		}
	}
	// A code issued for one registered URI cannot be redeemed with another.
	f := newFlow(t, srv)
	code := f.code(t)
	f.redirect = srv.DemoURL + "/oauth/callback"
	wantGrantError(t, f.exchange(t, code, f.verifier), "redirect_uri differs at the token endpoint")
}

func TestCodeReplayRevokesTokens(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	f := newFlow(t, srv)
	code := f.code(t)
	access, refresh := tokens(t, f.exchange(t, code, f.verifier))
	wantGrantError(t, f.exchange(t, code, f.verifier), "code replay")
	wantUnauthorized(t, f.api(t, access), "access token after code replay")
	wantGrantError(t, f.refresh(t, refresh), "refresh token after code replay")
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	f := newFlow(t, srv)
	access1, refresh1 := tokens(t, f.exchange(t, f.code(t), f.verifier))
	access2, refresh2 := tokens(t, f.refresh(t, refresh1))
	if refresh2 == refresh1 || access2 == access1 {
		t.Fatal("refresh did not rotate the tokens")
	}
	if r := f.api(t, access2); r.StatusCode != http.StatusOK {
		t.Fatalf("new access token: %d", r.StatusCode)
	}
	wantUnauthorized(t, f.api(t, access1), "access token of a rotated pair")
	// Reusing the rotated refresh token revokes the whole family.
	wantGrantError(t, f.refresh(t, refresh1), "rotated refresh token reused")
	wantUnauthorized(t, f.api(t, access2), "access token after reuse")
	wantGrantError(t, f.refresh(t, refresh2), "current refresh token after reuse")
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	f := newFlow(t, srv)
	access, refresh := tokens(t, f.exchange(t, f.code(t), f.verifier))
	r := postForm(t, f.c, srv.WidgetURL+"/oauth/revoke", url.Values{"token": {refresh}, "token_type_hint": {"refresh_token"}, "client_id": {"demo"}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.StatusCode, r.body)
	}
	wantUnauthorized(t, f.api(t, access), "access token after revoke")
	wantGrantError(t, f.refresh(t, refresh), "refresh after revoke")
}

// TestPlatformSDKEndpoints: a client written for the platform finds the
// endpoints under /restapi/oauth, may send no state (PKCE protects the
// code), and reads when its refresh token expires, its owner and its
// sign-in from the token answers; revoking there ends the tokens.
func TestPlatformSDKEndpoints(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	f := newFlow(t, srv)
	f.prefix, f.state = "/restapi/oauth", ""
	grant := f.exchange(t, f.code(t), f.verifier)
	access, refresh := tokens(t, grant)
	m := grant.json(t)
	if exp, _ := m["refresh_token_expires_in"].(float64); exp < 3600 {
		t.Errorf("refresh_token_expires_in = %v", m["refresh_token_expires_in"])
	}
	endpoint, _ := m["endpoint_id"].(string)
	if owner, _ := m["owner_id"].(string); owner == "" || endpoint == "" {
		t.Errorf("owner_id %v, endpoint_id %v", m["owner_id"], m["endpoint_id"])
	}
	if me := f.api(t, access); me.StatusCode != http.StatusOK || fmt.Sprint(me.json(t)["id"]) != m["owner_id"] {
		t.Errorf("the owner's extension: %d %s, owner_id %v", me.StatusCode, me.body, m["owner_id"])
	}
	refreshed := f.refresh(t, refresh)
	access, refresh = tokens(t, refreshed)
	if refreshed.json(t)["endpoint_id"] != endpoint {
		t.Errorf("endpoint_id after refresh %v, want %s", refreshed.json(t)["endpoint_id"], endpoint)
	}
	r := postForm(t, f.c, srv.WidgetURL+"/restapi/oauth/revoke", url.Values{"token": {refresh}, "client_id": {"demo"}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.StatusCode, r.body)
	}
	wantUnauthorized(t, f.api(t, access), "access token after revoke")
}

func TestSignInForm(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{SignInClock: frozenClock()}) // the back-off's wait does not run out between requests
	f := newFlow(t, srv)
	page := do(t, f.c, "GET", f.authURL(nil), nil)
	for _, want := range []string{`name="username"`, `name="password"`, "Demo CRM"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("sign-in page lacks %s", want)
		}
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("sign-in page CSP %q", csp)
	}

	t.Run("csrf", func(t *testing.T) {
		other := browser() // no CSRF cookie
		r := submitLogin(t, other, f.authURL(nil), page.body, "alice@demo.test", "demo")
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("form without its cookie: %d", r.StatusCode)
		}
	})
	t.Run("login number", func(t *testing.T) {
		g := newFlow(t, srv)
		loc := location(t, login(t, g.c, g.authURL(nil), "+1 (650) 555-0100*102", "demo"))
		access, _ := tokens(t, g.exchange(t, loc.Query().Get("code"), g.verifier))
		if n := g.api(t, access).json(t)["extensionNumber"]; n != "102" {
			t.Fatalf("signed in as %v, want 102", n)
		}
	})
	t.Run("wrong password then back-off", func(t *testing.T) {
		g := newFlow(t, srv)
		for i := 1; i <= 3; i++ {
			r := login(t, g.c, g.authURL(nil), "carol@demo.test", "wrong")
			if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong email, number or password") {
				t.Fatalf("attempt %d: %d", i, r.StatusCode)
			}
		}
		r := login(t, g.c, g.authURL(nil), "carol@demo.test", "demo")
		if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Fatalf("after 3 failures the right password answered %d (Retry-After %q)", r.StatusCode, r.Header.Get("Retry-After"))
		}
	})
	t.Run("unknown client", func(t *testing.T) {
		r := do(t, f.c, "GET", strings.Replace(f.authURL(nil), "client_id=demo", "client_id=nope", 1), nil)
		if r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" {
			t.Fatalf("unknown client: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
	})
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	c := browser()
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		m := do(t, c, "GET", srv.WidgetURL+path, nil).json(t)
		if m["issuer"] != srv.WidgetURL || m["token_endpoint"] != srv.WidgetURL+"/oauth/token" {
			t.Errorf("%s: %v", path, m)
		}
		if methods, _ := m["code_challenge_methods_supported"].([]any); len(methods) != 1 || methods[0] != "S256" {
			t.Errorf("%s: PKCE methods %v", path, methods)
		}
	}
	if keys := do(t, c, "GET", srv.WidgetURL+"/oauth/jwks", nil).json(t)["keys"].([]any); len(keys) != 1 {
		t.Errorf("jwks: %v", keys)
	}
}

// TestExpiredTokens: tokens are refused once their lifetime is over. The
// test waits for an expiry (or sleeps at least a lifetime, which a slow
// machine can only lengthen); where a token must still be valid, a machine
// too slow to use it within its lifetime gets another one, never a failure.
func TestExpiredTokens(t *testing.T) {
	t.Parallel()
	const refreshTTL = 10 * time.Second
	t.Run("api", func(t *testing.T) {
		t.Parallel()
		const accessTTL = 2 * time.Second
		srv := startServer(t, Config{AccessTokenTTL: accessTTL, RefreshTokenTTL: refreshTTL})
		f := newFlow(t, srv)
		access, refresh := tokens(t, f.exchange(t, f.code(t), f.verifier))
		deadline := time.Now().Add(accessTTL + patience)
		r := f.api(t, access)
		for r.StatusCode == http.StatusOK && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			r = f.api(t, access)
		}
		wantUnauthorized(t, r, "expired access token")
		for {
			issued := time.Now()
			var access2 string
			access2, refresh = tokens(t, f.refresh(t, refresh))
			r := f.api(t, access2)
			if r.StatusCode == http.StatusOK {
				break
			}
			if time.Since(issued) < accessTTL || time.Now().After(deadline) {
				t.Fatalf("refreshed access token: %d", r.StatusCode)
			}
		}
		time.Sleep(refreshTTL + time.Second)
		wantGrantError(t, f.refresh(t, refresh), "expired refresh token")
	})
	t.Run("widget session", func(t *testing.T) {
		// A widget session whose tokens can no longer be refreshed is
		// signed out. Its access token lives a minute: within the session
		// keeper's refresh margin (2 min), so every request refreshes it,
		// and long enough that its expires_in, whole seconds rounded down
		// at the token endpoint, never comes out 0 on a slow machine (a
		// token without expiry is never refreshed).
		t.Parallel()
		srv := startServer(t, Config{AccessTokenTTL: time.Minute, RefreshTokenTTL: refreshTTL})
		iframe := browser()
		openWidget(t, iframe, srv)
		callback := location(t, login(t, browser(), startLogin(t, iframe, srv, "popup"), "alice@demo.test", "demo"))
		if r := widgetPost(t, iframe, srv.WidgetURL, "/widget/login/complete", map[string]string{"callbackUri": callback.String()}); r.StatusCode != 200 {
			t.Fatalf("complete: %d %s", r.StatusCode, r.body)
		}
		time.Sleep(refreshTTL + time.Second)
		st := do(t, iframe, "GET", srv.WidgetURL+"/widget/state", nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo").json(t)
		if st["loggedIn"] != false {
			t.Fatalf("state with expired tokens: %v", st)
		}
	})
}
