package web

import (
	"bufio"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/web/static"
)

const hostOrigin = "http://127.0.0.1:8081"

type testEnv struct {
	srv    *Server
	widget *httptest.Server
	hub    *bridge.Hub
}

func newTestEnv(t *testing.T) *testEnv { return newTestEnvWith(t, nil) }

// newTestEnvWith lets a test adjust the handlers' dependencies.
func newTestEnvWith(t testing.TB, adjust func(*Deps)) *testEnv {
	return newTestEnvMounting(t, nil, adjust)
}

// newTestEnvMounting is newTestEnvWith with a mount of more routes on the
// widget origin, as internal/server mounts the platform API's.
func newTestEnvMounting(t testing.TB, mount func(*echo.Echo), adjust ...func(*Deps)) *testEnv {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PutApp(ctx, identity.App{ClientID: "demo", Name: "Demo CRM", Origins: []string{hostOrigin, "https://crm.example.com"},
		Features: identity.Features{Call: true, SMS: true}}); err != nil {
		t.Fatal(err)
	}
	assets, err := NewAssets(static.FS)
	if err != nil {
		t.Fatal(err)
	}
	hub := bridge.NewHub(bridge.HubConfig{})
	t.Cleanup(hub.Shutdown)
	key := []byte(strings.Repeat("k", 32))
	// Sign-in is tested with the whole server in internal/server; these
	// tests need no authorization server.
	deps := Deps{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Apps: db, Directory: identity.NewDirectory(db),
		Hub: hub, Cookies: NewSessionStore(append(key, key...), key), Assets: assets,
	}
	for _, a := range adjust {
		if a != nil {
			a(&deps)
		}
	}
	srv := NewServer(Config{PublicURL: "http://localhost:8080", DemoURL: hostOrigin, CountryCode: "US"}, deps)
	var mounts []func(*echo.Echo)
	if mount != nil {
		mounts = append(mounts, mount)
	}
	ts := httptest.NewServer(srv.Widget(mounts...))
	t.Cleanup(ts.Close)
	return &testEnv{srv: srv, widget: ts, hub: hub}
}

func get(t *testing.T, client *http.Client, u string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func TestAppRefusals(t *testing.T) {
	env := newTestEnv(t)
	tests := []struct{ name, query, want string }{
		{"no clientId", "", "clientId is missing"},
		{"unknown clientId", "clientId=nope", "Unknown app"},
		{"unlisted host origin", "clientId=demo&hostOrigin=" + url.QueryEscape("http://127.0.0.1:9999"), "may not embed"},
		{"lookalike host origin", "clientId=demo&hostOrigin=" + url.QueryEscape("http://127.0.0.1:80811"), "may not embed"},
		{"null origin", "clientId=demo&hostOrigin=null", "may not embed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, nil, env.widget.URL+"/app?"+tt.query)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if !strings.Contains(body, tt.want) {
				t.Fatalf("body lacks %q:\n%s", tt.want, body)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "script-src") {
				t.Fatalf("refusal page allows scripts: %s", csp)
			}
		})
	}
}

func TestAppPage(t *testing.T) {
	env := newTestEnv(t)
	for _, path := range []string{"/app", "/app.html"} {
		t.Run(path, func(t *testing.T) {
			resp, body := get(t, nil, env.widget.URL+path+"?clientId=demo&fromAdapter=1&hostOrigin="+url.QueryEscape(hostOrigin)+"&zIndex=abc&appServer=x")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"frame-ancestors " + hostOrigin + " https://crm.example.com;", "script-src 'nonce-", "default-src 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "*") {
				t.Errorf("CSP too loose: %s", csp)
			}
			nonce := csp[strings.Index(csp, "'nonce-")+7:]
			nonce = nonce[:strings.Index(nonce, "'")]
			if !strings.Contains(body, `nonce="`+nonce+`"`) {
				t.Error("page scripts do not carry the CSP nonce")
			}
			if pp := resp.Header.Get("Permissions-Policy"); !strings.Contains(pp, "microphone=(self)") {
				t.Errorf("Permissions-Policy %q", pp)
			}
			if resp.Header.Get("Cross-Origin-Opener-Policy") != "same-origin-allow-popups" {
				t.Errorf("COOP %q", resp.Header.Get("Cross-Origin-Opener-Policy"))
			}
			if resp.Header.Get("X-Frame-Options") != "" {
				t.Error("X-Frame-Options would stop every host page")
			}
			for _, want := range []string{`"hostOrigin":"` + hostOrigin + `"`, `"fromAdapter":true`, `flag zIndex=\"abc\"`, `flag appServer is not used`, `"countryCode":"US"`} {
				if !strings.Contains(body, want) {
					t.Errorf("boot config lacks %s", want)
				}
			}
			if strings.Contains(body, `"testHooks"`) {
				t.Error("a production page turns the test hooks on")
			}
			var cookie *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == SessionCookie {
					cookie = c
				}
			}
			if cookie == nil || !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteNoneMode || !cookie.Partitioned || cookie.Path != "/" || cookie.Domain != "" {
				t.Fatalf("session cookie %+v", cookie)
			}
		})
	}
}

// TestAppPageTestHooks: only a development server turns the browser tests'
// hooks on.
func TestAppPageTestHooks(t *testing.T) {
	env := newTestEnv(t)
	env.srv.cfg.Dev = true
	if _, body := get(t, nil, env.widget.URL+"/app?clientId=demo"); !strings.Contains(body, `"testHooks":true`) {
		t.Fatal("a development page lacks the test hooks")
	}
}

func TestAppPageIsGzipped(t *testing.T) {
	env := newTestEnv(t)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, body := get(t, client, env.widget.URL+"/app?clientId=demo", "Accept-Encoding", "gzip")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("status %d, encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(zr)
	if !strings.Contains(string(page), `id="cb-config"`) || len(body) >= len(page)/3 {
		t.Fatalf("gzipped %d bytes of a %d-byte page", len(body), len(page))
	}
}

func TestAppHostOriginFromReferrer(t *testing.T) {
	env := newTestEnv(t)
	_, body := get(t, nil, env.widget.URL+"/app?clientId=demo", "Referer", "https://crm.example.com/contacts/7")
	if !strings.Contains(body, `"hostOrigin":"https://crm.example.com"`) {
		t.Fatal("listed referrer not taken as host origin")
	}
	_, body = get(t, nil, env.widget.URL+"/app?clientId=demo", "Referer", "https://evil.test/")
	if !strings.Contains(body, `"hostOrigin":""`) {
		t.Fatal("unlisted referrer taken as host origin")
	}
}

func TestAdapterJS(t *testing.T) {
	env := newTestEnv(t)
	if n := env.srv.Assets.GzipSize("adapter.js"); n <= 0 || n > 4096 {
		t.Fatalf("adapter.js is %d bytes gzipped; the budget is 4096", n)
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, body := get(t, client, env.widget.URL+"/adapter.js", "Accept-Encoding", "gzip")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" || len(body) != env.srv.Assets.GzipSize("adapter.js") {
		t.Fatalf("status %d encoding %q len %d", resp.StatusCode, resp.Header.Get("Content-Encoding"), len(body))
	}
	etag := resp.Header.Get("ETag")
	if etag == "" || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age=") {
		t.Fatalf("etag %q cache %q", etag, resp.Header.Get("Cache-Control"))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Fatalf("content type %q", ct)
	}
	resp, _ = get(t, client, env.widget.URL+"/adapter.js", "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation status %d", resp.StatusCode)
	}
	resp, body = get(t, client, env.widget.URL+"/adapter.js")
	if resp.Header.Get("Content-Encoding") != "" || !strings.Contains(body, "RCAdapter") {
		t.Fatal("identity encoding not served")
	}
}

// TestAdapterDefinitions: /adapter.d.ts serves the contract's TypeScript
// definitions as committed, as text any page or tool may fetch, cached and
// revalidated as adapter.js is.
func TestAdapterDefinitions(t *testing.T) {
	env := newTestEnv(t)
	want, err := static.FS.ReadFile("adapter.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, body := get(t, client, env.widget.URL+"/adapter.d.ts")
	if resp.StatusCode != http.StatusOK || body != string(want) {
		t.Fatalf("status %d, %d bytes; want the %d bytes of web/static/adapter.d.ts", resp.StatusCode, len(body), len(want))
	}
	if !strings.Contains(body, "export type WidgetEvent =") || !strings.Contains(body, "export interface RCAdapter {") {
		t.Fatal("served file has no WidgetEvent or RCAdapter")
	}
	h := resp.Header
	if ct := h.Get("Content-Type"); ct != "application/typescript; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	if cc := h.Get("Cache-Control"); cc != "public, max-age=300, must-revalidate" {
		t.Errorf("cache control %q", cc)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cross-Origin-Resource-Policy") != "cross-origin" {
		t.Errorf("headers %v", h)
	}
	etag := h.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	resp, _ = get(t, client, env.widget.URL+"/adapter.d.ts", "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation status %d", resp.StatusCode)
	}
	resp, body = get(t, client, env.widget.URL+"/adapter.d.ts", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || len(body) >= len(want) {
		t.Errorf("gzip: encoding %q, %d bytes of %d", resp.Header.Get("Content-Encoding"), len(body), len(want))
	}
}

// TestLocalisedPages: adapter.js's bar and the widget speak the language
// of the lang flag, else of the browser, and each adapter.js keeps to the
// size budget.
func TestLocalisedPages(t *testing.T) {
	env := newTestEnv(t)
	for lang, f := range env.srv.Assets.adapter {
		if n := len(f.gz); n > 4096 {
			t.Errorf("adapter.js in %s is %d bytes gzipped; the budget is 4096", lang, n)
		}
	}
	cases := []struct {
		query, accept     string
		adapterWord       string
		htmlLang, appWord string
	}{
		{"lang=de-DE", "", `"incomingCall":"Eingehender Anruf"`, `lang="de-DE"`, ">Verlauf<"},
		{"", "es-MX,es;q=0.9", `"incomingCall":"Llamada entrante"`, `lang="es-MX"`, ">Historial<"},
		{"lang=fr", "de", `"phone":"Téléphone"`, `lang="fr"`, ">Historique<"},
		{"lang=ja", "fr", `"phone":"Phone"`, `lang="en-US"`, ">History<"},
		{"", "", `"phone":"Phone"`, `lang="en-US"`, ">History<"},
	}
	for _, tc := range cases {
		resp, body := get(t, nil, env.widget.URL+"/adapter.js?clientId=demo&"+tc.query, "Accept-Language", tc.accept)
		if !strings.Contains(body, tc.adapterWord) || !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Accept-Language") {
			t.Errorf("adapter.js?%s, Accept-Language %q: no %s, or Vary %q", tc.query, tc.accept, tc.adapterWord, resp.Header.Values("Vary"))
		}
		_, page := get(t, nil, env.widget.URL+"/app?clientId=demo&"+tc.query, "Accept-Language", tc.accept)
		if !strings.Contains(page, tc.htmlLang) || !strings.Contains(page, tc.appWord) || !strings.Contains(page, `id="cb-messages"`) {
			t.Errorf("app?%s, Accept-Language %q: want %s and %s", tc.query, tc.accept, tc.htmlLang, tc.appWord)
		}
		if tc.query == "lang=ja" && !strings.Contains(page, `flag lang=\"ja\": the widget speaks`) {
			t.Errorf("lang=ja: no warning in the page's configuration")
		}
	}
}

func TestStripCommentLines(t *testing.T) {
	in := "// about the file\n(() => {\n  // a note\n  const u = 'https://x.test'; // kept\n\t// tabbed\n})();\nlast"
	want := "(() => {\n  const u = 'https://x.test'; // kept\n})();\nlast"
	if got := string(stripCommentLines([]byte(in))); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestVersionedStatic(t *testing.T) {
	env := newTestEnv(t)
	base := env.widget.URL + env.srv.Assets.Base()
	resp, _ := get(t, nil, base+"/app.js")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("status %d cache %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	for _, u := range []string{"/static/0000/app.js", env.srv.Assets.Base() + "/nope.js", env.srv.Assets.Base() + "/embed.go"} {
		if resp, _ := get(t, nil, env.widget.URL+u); resp.StatusCode != 404 {
			t.Errorf("%s: status %d, want 404", u, resp.StatusCode)
		}
	}
}

func TestErrorsAreJSON(t *testing.T) {
	env := newTestEnv(t)
	resp, body := get(t, nil, env.widget.URL+"/no/such/thing")
	if resp.StatusCode != 404 || !strings.Contains(body, `"errorCode":"NotFound"`) {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("nosniff missing")
	}
}

// TestEventsStream opens the widget page to get a session, then its event
// stream, publishes to the session's group and reads the event back.
func TestEventsStream(t *testing.T) {
	env := newTestEnv(t)
	resp, body := get(t, nil, env.widget.URL+"/widget/events?clientId=demo")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "NoSession") {
		t.Fatalf("without session: %d %s", resp.StatusCode, body)
	}
	// The cookie is Secure; the test server is plain HTTP, so carry it by hand.
	resp, _ = get(t, nil, env.widget.URL+"/app?clientId=demo")
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			cookie = c.Name + "=" + c.Value
		}
	}
	req, _ := http.NewRequest("GET", env.widget.URL+"/widget/events?clientId=demo", nil)
	req.Header.Set("Cookie", cookie)
	// Bounds against a hang only: a loaded machine may take many seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != 200 {
		t.Fatalf("status %d", stream.StatusCode)
	}
	sc := bufio.NewScanner(stream.Body)
	sc.Scan() // retry:
	// Wait until the stream has subscribed to the session's group.
	deadline := time.Now().Add(30 * time.Second)
	var published bool
	for !published && time.Now().Before(deadline) {
		sid, ok := env.srv.existingSession(req)
		if ok && env.hub.Subscribers(bridge.SessionGroup(sid)) == 1 {
			env.hub.Publish(bridge.SessionGroup(sid), map[string]any{"type": bridge.EventRouteChanged, "path": "/dialer"})
			published = true
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !published {
		t.Fatal("stream did not subscribe")
	}
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "data: ") && !strings.Contains(line, `"cb-heartbeat"`) {
			if line != `data: {"path":"/dialer","type":"rc-route-changed-notify"}` {
				t.Fatalf("got %q", line)
			}
			return
		}
	}
	t.Fatal("stream ended without the event")
}
