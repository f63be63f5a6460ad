package server

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

// openWidget loads /app as the demo host's iframe does, which starts the
// widget session (cookie) for that host.
func openWidget(t *testing.T, c *http.Client, srv *instance) {
	t.Helper()
	r := do(t, c, "GET", srv.WidgetURL+"/app?clientId=demo&fromAdapter=1&hostOrigin="+url.QueryEscape(srv.DemoURL), nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("/app: %d", r.StatusCode)
	}
}

func startLogin(t *testing.T, c *http.Client, srv *instance, mode string) string {
	t.Helper()
	r := widgetPost(t, c, srv.WidgetURL, "/widget/login", map[string]string{"mode": mode})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("login start: %d %s", r.StatusCode, r.body)
	}
	u, _ := r.json(t)["oAuthUri"].(string)
	if !strings.HasPrefix(u, srv.WidgetURL+"/oauth/authorize?") && !strings.Contains(u, "/oauth/authorize?") {
		t.Fatalf("oAuthUri %q", u)
	}
	return u
}

// TestWidgetPopupLogin runs the widget's sign-in over HTTP: the iframe's
// session starts it, a separate cookie jar (the popup, which shares no
// cookies with the partitioned iframe) signs in, and the iframe completes
// it with the callback URL.
func TestWidgetPopupLogin(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	iframe, popup := browser(), browser()
	openWidget(t, iframe, srv)

	st := do(t, iframe, "GET", srv.WidgetURL+"/widget/state", nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo").json(t)
	if st["loggedIn"] != false {
		t.Fatalf("state before sign-in %v", st)
	}
	oAuthURI := startLogin(t, iframe, srv, "popup")
	callback := location(t, login(t, popup, oAuthURI, "alice@demo.test", "demo"))
	if got := callback.Scheme + "://" + callback.Host + callback.Path; got != srv.WidgetURL+"/oauth/redirect" {
		t.Fatalf("popup redirected to %s", got)
	}
	page := do(t, popup, "GET", callback.String(), nil)
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Header.Get("Content-Security-Policy"), "script-src 'nonce-") {
		t.Fatalf("redirect page: %d", page.StatusCode)
	}

	r := widgetPost(t, iframe, srv.WidgetURL, "/widget/login/complete", map[string]string{"callbackUri": callback.String()})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("complete: %d %s", r.StatusCode, r.body)
	}
	st = r.json(t)
	if st["loggedIn"] != true || st["loginNumber"] != "+16505550100*101" || st["admin"] != true || st["contractedCountryCode"] != "US" {
		t.Fatalf("state after sign-in %v", st)
	}
	if region := st["region"].(map[string]any); region["areaCode"] != "650" {
		t.Errorf("region %v", region)
	}
	if strings.Contains(r.body, "token") {
		t.Errorf("the widget received token material: %s", r.body)
	}
	// A replayed callback finds no flow: the flow was cleared.
	r = widgetPost(t, iframe, srv.WidgetURL, "/widget/login/complete", map[string]string{"callbackUri": callback.String()})
	if r.StatusCode != http.StatusBadRequest || r.json(t)["errorCode"] != "NoLoginInProgress" {
		t.Fatalf("replayed callback: %d %s", r.StatusCode, r.body)
	}
	if st := do(t, iframe, "GET", srv.WidgetURL+"/widget/state", nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo").json(t); st["loggedIn"] != true {
		t.Fatalf("state after sign-in %v", st)
	}

	// Sign out: tokens revoked, session anonymous again.
	r = widgetPost(t, iframe, srv.WidgetURL, "/widget/logout", map[string]string{})
	if r.StatusCode != http.StatusOK || r.json(t)["loggedIn"] != false {
		t.Fatalf("logout: %d %s", r.StatusCode, r.body)
	}
	if st := do(t, iframe, "GET", srv.WidgetURL+"/widget/state", nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo").json(t); st["loggedIn"] != false {
		t.Fatalf("state after sign-out %v", st)
	}
}

func TestWidgetLoginFailures(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	iframe, popup := browser(), browser()
	openWidget(t, iframe, srv)

	t.Run("state mismatch", func(t *testing.T) {
		callback := location(t, login(t, popup, startLogin(t, iframe, srv, "popup"), "bob@demo.test", "demo"))
		q := callback.Query()
		q.Set("state", "forged-state-value")
		callback.RawQuery = q.Encode()
		r := widgetPost(t, iframe, srv.WidgetURL, "/widget/login/complete", map[string]string{"callbackUri": callback.String()})
		if r.StatusCode != http.StatusBadRequest || r.json(t)["errorCode"] != "StateMismatch" {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
	})
	t.Run("callback for another address", func(t *testing.T) {
		callback := location(t, login(t, popup, startLogin(t, iframe, srv, "popup"), "bob@demo.test", "demo"))
		callback.Host = "evil.test"
		r := widgetPost(t, iframe, srv.WidgetURL, "/widget/login/complete", map[string]string{"callbackUri": callback.String()})
		if r.StatusCode != http.StatusBadRequest || r.json(t)["errorCode"] != "BadCallback" {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
	})
	t.Run("code from another session", func(t *testing.T) {
		other := browser()
		openWidget(t, other, srv)
		callback := location(t, login(t, popup, startLogin(t, other, srv, "popup"), "bob@demo.test", "demo"))
		startLogin(t, iframe, srv, "popup")
		r := widgetPost(t, iframe, srv.WidgetURL, "/widget/login/complete", map[string]string{"callbackUri": callback.String()})
		if r.StatusCode != http.StatusBadRequest || r.json(t)["errorCode"] != "StateMismatch" {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
	})
	t.Run("without the widget header", func(t *testing.T) {
		r := do(t, iframe, "POST", srv.WidgetURL+"/widget/login", strings.NewReader(`{}`), "Content-Type", "application/json")
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
	})
	t.Run("from another origin", func(t *testing.T) {
		r := do(t, iframe, "POST", srv.WidgetURL+"/widget/login", strings.NewReader(`{}`),
			"Content-Type", "application/json", "X-Callbridge", "1", "X-Callbridge-Client", "demo", "Origin", srv.DemoURL)
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
	})
	t.Run("bad body", func(t *testing.T) {
		for _, body := range []string{`{"mode":"sideways"}`, `{"mode":1}`, `not json`, `{"unknown":true}`} {
			r := do(t, iframe, "POST", srv.WidgetURL+"/widget/login", strings.NewReader(body),
				"Content-Type", "application/json", "X-Callbridge", "1", "X-Callbridge-Client", "demo")
			if r.StatusCode != http.StatusBadRequest || r.json(t)["errorCode"] == nil {
				t.Errorf("%s: %d %s", body, r.StatusCode, r.body)
			}
		}
	})
}

// TestWidgetHostLogin is the disableLoginPopup flow: the redirect goes to the
// host's registered callback, and the host hands the URL to the widget.
func TestWidgetHostLogin(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	iframe, host := browser(), browser()
	openWidget(t, iframe, srv)
	callback := location(t, login(t, host, startLogin(t, iframe, srv, "host"), "bob@demo.test", "demo"))
	if got := callback.Scheme + "://" + callback.Host + callback.Path; got != srv.DemoURL+"/oauth/callback" {
		t.Fatalf("redirected to %s, want the host's callback", got)
	}
	r := widgetPost(t, iframe, srv.WidgetURL, "/widget/login/complete", map[string]string{"callbackUri": callback.String()})
	if r.StatusCode != http.StatusOK || r.json(t)["loginNumber"] != "+16505550100*102" {
		t.Fatalf("complete: %d %s", r.StatusCode, r.body)
	}
}

// providerFor starts a server to be another's OpenID Connect provider and
// reserves a loopback address for that relying party, so that the provider
// can register clientID with the relying party's redirect URI. It adds ext,
// with password, to the provider's demo account, and returns the provider
// and the relying party's address.
func providerFor(t *testing.T, clientID string, ext identity.Extension, password string) (*instance, string) {
	t.Helper()
	provider := startServer(t, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rpAddr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(rpAddr)
	rpURL := "http://localhost:" + port

	ctx := context.Background()
	db, err := store.Open(ctx, provider.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PutApp(ctx, identity.App{ClientID: clientID, Name: "CRM " + clientID, Origins: []string{rpURL},
		RedirectURIs: []string{rpURL + "/oauth/redirect"}}); err != nil {
		t.Fatal(err)
	}
	dir := identity.NewDirectory(db)
	acct, err := dir.AccountByMainNumber(ctx, identity.DemoMainNumber)
	if err != nil {
		t.Fatal(err)
	}
	ext.AccountID = acct.ID
	if err := dir.CreateExtension(ctx, &ext, password); err != nil {
		t.Fatal(err)
	}
	return provider, rpAddr
}

// TestExternalProvider points one server at another's authorization server
// as an OpenID Connect provider: users sign in there and map to extensions
// here by email; a user with no extension here is refused.
func TestExternalProvider(t *testing.T) {
	t.Parallel()
	provider, rpAddr := providerFor(t, "crm-b", identity.Extension{Number: "199", Name: "Dave Doe",
		Email: "dave@elsewhere.test", Role: identity.RoleUser, Status: identity.StatusEnabled}, "secret")

	rp := startServer(t, Config{Listen: rpAddr, OIDCIssuer: provider.WidgetURL, OIDCClientID: "crm-b"})
	if r := do(t, browser(), "GET", rp.WidgetURL+"/oauth/authorize", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("the relying party still runs its own authorization server: %d", r.StatusCode)
	}

	iframe, popup := browser(), browser()
	openWidget(t, iframe, rp)
	oAuthURI := startLogin(t, iframe, rp, "popup")
	if !strings.HasPrefix(oAuthURI, provider.WidgetURL+"/oauth/authorize?") || !strings.Contains(oAuthURI, "client_id=crm-b") {
		t.Fatalf("oAuthUri %s does not point at the provider", oAuthURI)
	}
	callback := location(t, login(t, popup, oAuthURI, "carol@demo.test", "demo"))
	r := widgetPost(t, iframe, rp.WidgetURL, "/widget/login/complete", map[string]string{"callbackUri": callback.String()})
	if r.StatusCode != http.StatusOK || r.json(t)["loginNumber"] != "+16505550100*103" {
		t.Fatalf("complete: %d %s", r.StatusCode, r.body)
	}

	// Dave exists at the provider only.
	other := browser()
	openWidget(t, other, rp)
	callback = location(t, login(t, browser(), startLogin(t, other, rp, "popup"), "dave@elsewhere.test", "secret"))
	r = widgetPost(t, other, rp.WidgetURL, "/widget/login/complete", map[string]string{"callbackUri": callback.String()})
	if r.StatusCode != http.StatusForbidden || r.json(t)["errorCode"] != "UnknownUser" {
		t.Fatalf("unknown user: %d %s", r.StatusCode, r.body)
	}
}
