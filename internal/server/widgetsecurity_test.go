package server

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

// signedInWidget opens the demo widget in a fresh browser and signs in as
// email through the popup flow.
func signedInWidget(t *testing.T, srv *instance, email string) *http.Client {
	t.Helper()
	iframe, r := signInWidget(t, srv, email, "demo")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("sign in as %s: %d %s", email, r.StatusCode, r.body)
	}
	return iframe
}

// widgetStream opens an event stream of client c and reports its status; a
// stream that opened is closed with the test.
func widgetStream(t *testing.T, c *http.Client, srv *instance, query string, header ...string) response {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.WidgetURL+"/widget/events?"+query, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	stream := &http.Client{Jar: c.Jar, Transport: c.Transport}
	resp, err := stream.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("event stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		var b strings.Builder
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			b.WriteString(sc.Text())
		}
		return response{resp, b.String()}
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	bufio.NewReader(resp.Body).ReadString('\n') // the stream is open
	return response{Response: resp}
}

// TestDeviceBoundToSession: a device id is issued to one signed-in session
// and nobody else can use it. Bob, signed in in another browser, knows
// Alice's device id (host pages see it) and tries every endpoint that takes
// one; each answers 403 and nothing happens in Alice's name.
func TestDeviceBoundToSession(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	alice := signedInWidget(t, srv, "alice@demo.test")
	bob := signedInWidget(t, srv, "bob@demo.test")
	aliceDevice := newDevice(t, alice, srv)
	if r := widgetStream(t, alice, srv, "clientId=demo&deviceId="+aliceDevice); r.StatusCode != http.StatusOK {
		t.Fatalf("alice's own stream: %d %s", r.StatusCode, r.body)
	}
	bobDevice := newDevice(t, bob, srv)
	if bobDevice == aliceDevice {
		t.Fatal("two sessions were issued the same device id")
	}

	attacks := []struct {
		name, method, path string
		body               map[string]string
	}{
		{"dial", "POST", "/widget/calls", map[string]string{"deviceId": aliceDevice, "to": "+15550101", "sdp": "v=0"}},
		{"answer", "POST", "/widget/calls/s-anything/answer", map[string]string{"deviceId": aliceDevice, "sdp": "v=0"}},
		{"hangup", "POST", "/widget/calls/s-anything/hangup", map[string]string{"deviceId": aliceDevice}},
		{"hold", "POST", "/widget/calls/s-anything/hold", map[string]string{"deviceId": aliceDevice}},
		{"mute", "POST", "/widget/calls/s-anything/mute", map[string]string{"deviceId": aliceDevice}},
		{"reject", "POST", "/widget/calls/s-anything/reject", map[string]string{"deviceId": aliceDevice}},
		{"list", "GET", "/widget/calls?deviceId=" + url.QueryEscape(aliceDevice), nil},
		{"made-up id", "POST", "/widget/calls", map[string]string{"deviceId": "0123456789abcdef-0123456789abcdef0123456789abcdef", "to": "+15550101", "sdp": "v=0"}},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			var r response
			if a.method == "GET" {
				r = do(t, bob, "GET", srv.WidgetURL+a.path, nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo", "Origin", srv.WidgetURL)
			} else {
				r = widgetPost(t, bob, srv.WidgetURL, a.path, a.body)
			}
			wantAPIError(t, r, http.StatusForbidden, "DeviceNotYours", "")
		})
	}
	t.Run("stream", func(t *testing.T) {
		r := widgetStream(t, bob, srv, "clientId=demo&deviceId="+url.QueryEscape(aliceDevice))
		wantAPIError(t, r, http.StatusForbidden, "DeviceNotYours", "")
	})
	t.Run("alice's device still hers", func(t *testing.T) {
		// Nothing Bob did changed Alice's registration: she can still list
		// her calls with it, and Bob's own device works for him.
		r := do(t, alice, "GET", srv.WidgetURL+"/widget/calls?deviceId="+url.QueryEscape(aliceDevice), nil,
			"X-Callbridge", "1", "X-Callbridge-Client", "demo", "Origin", srv.WidgetURL)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("alice lists her calls: %d %s", r.StatusCode, r.body)
		}
		if r := widgetStream(t, bob, srv, "clientId=demo&deviceId="+bobDevice); r.StatusCode != http.StatusOK {
			t.Fatalf("bob's own stream: %d %s", r.StatusCode, r.body)
		}
	})
	t.Run("signed out", func(t *testing.T) {
		anon := browser()
		openWidget(t, anon, srv)
		wantAPIError(t, widgetPost(t, anon, srv.WidgetURL, "/widget/devices", struct{}{}), http.StatusUnauthorized, "NotSignedIn", "")
	})
	t.Run("after sign-out", func(t *testing.T) {
		// A device dies with the session it was issued to.
		carol := signedInWidget(t, srv, "carol@demo.test")
		device := newDevice(t, carol, srv)
		if r := widgetPost(t, carol, srv.WidgetURL, "/widget/logout", struct{}{}); r.StatusCode != http.StatusOK {
			t.Fatalf("sign out: %d %s", r.StatusCode, r.body)
		}
		callback := location(t, login(t, browser(), startLogin(t, carol, srv, "popup"), "carol@demo.test", "demo"))
		if r := widgetPost(t, carol, srv.WidgetURL, "/widget/login/complete", map[string]string{"callbackUri": callback.String()}); r.StatusCode != http.StatusOK {
			t.Fatalf("sign in again: %d %s", r.StatusCode, r.body)
		}
		wantAPIError(t, widgetStream(t, carol, srv, "clientId=demo&deviceId="+device), http.StatusForbidden, "DeviceNotYours", "")
	})
}

// TestEventStreamRefusesOtherSites: a stream whose request the browser
// marks as coming from another site is refused; the widget's own is not.
func TestEventStreamRefusesOtherSites(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	alice := signedInWidget(t, srv, "alice@demo.test")
	for _, site := range []string{"cross-site", "same-site", "none"} {
		t.Run(site, func(t *testing.T) {
			wantAPIError(t, widgetStream(t, alice, srv, "clientId=demo", "Sec-Fetch-Site", site), http.StatusForbidden, "ForeignOrigin", "")
		})
	}
	if r := widgetStream(t, alice, srv, "clientId=demo", "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusOK {
		t.Fatalf("same-origin stream: %d %s", r.StatusCode, r.body)
	}
}

// TestSessionBoundToApp: a sign-in made in one app's widget does not carry
// over to another app's widget in the same browser partition, and a page of
// one app cannot use the session of another.
func TestSessionBoundToApp(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{})
	ctx := context.Background()
	db, err := store.Open(ctx, srv.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutApp(ctx, identity.App{ClientID: "crm", Name: "Other CRM", Origins: []string{srv.DemoURL},
		RedirectURIs: []string{srv.DemoURL + "/oauth/callback"}, Features: identity.Features{Call: true}}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	state := func(c *http.Client, app string) response {
		return do(t, c, "GET", srv.WidgetURL+"/widget/state", nil, "X-Callbridge", "1", "X-Callbridge-Client", app, "Origin", srv.WidgetURL)
	}
	t.Run("other app's page", func(t *testing.T) {
		alice := signedInWidget(t, srv, "alice@demo.test")
		// A page of another app in the same partition names its app: the
		// demo app's session is not its to use.
		wantAPIError(t, state(alice, "crm"), http.StatusForbidden, "AppMismatch", "")
		wantAPIError(t, widgetStream(t, alice, srv, "clientId=crm"), http.StatusForbidden, "AppMismatch", "")
		if st := state(alice, "demo").json(t); st["loggedIn"] != true {
			t.Fatalf("the demo app's own page: %v", st)
		}
	})
	t.Run("app switch signs out", func(t *testing.T) {
		alice := signedInWidget(t, srv, "alice@demo.test")
		r := do(t, alice, "GET", srv.WidgetURL+"/app?clientId=crm&hostOrigin="+url.QueryEscape(srv.DemoURL), nil)
		if r.StatusCode != http.StatusOK || strings.Contains(r.body, `"loggedIn":true`) {
			t.Fatalf("other app's widget page: %d, signed in: %v", r.StatusCode, strings.Contains(r.body, `"loggedIn":true`))
		}
		if st := state(alice, "crm").json(t); st["loggedIn"] != false {
			t.Fatalf("other app's state: %v", st)
		}
		// Back in the first app's page the sign-in is gone too: it ended.
		openWidget(t, alice, srv)
		if st := state(alice, "demo").json(t); st["loggedIn"] != false {
			t.Fatalf("first app's state after the switch: %v", st)
		}
	})
	t.Run("host switch signs out", func(t *testing.T) {
		alice := signedInWidget(t, srv, "alice@demo.test")
		r := do(t, alice, "GET", srv.WidgetURL+"/app?clientId=demo", nil) // no host origin: another embedding
		if r.StatusCode != http.StatusOK || strings.Contains(r.body, `"loggedIn":true`) {
			t.Fatalf("widget page of another host: %d, signed in: %v", r.StatusCode, strings.Contains(r.body, `"loggedIn":true`))
		}
	})
	t.Run("no app named", func(t *testing.T) {
		alice := signedInWidget(t, srv, "alice@demo.test")
		r := do(t, alice, "GET", srv.WidgetURL+"/widget/state", nil, "X-Callbridge", "1", "Origin", srv.WidgetURL)
		wantAPIError(t, r, http.StatusForbidden, "MissingHeader", "")
	})
}

// TestWidgetCaps: past each per-session, per-device and per-extension cap
// the widget is answered 429 with Retry-After, and what it already has
// keeps working.
func TestWidgetCaps(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{Limits: Limits{StreamsPerSession: 3, DevicesPerSession: 2, CallsPerDevice: 1,
		WidgetRequests: 40, WidgetWindow: time.Hour, SMS: 2, SMSWindow: time.Hour}})
	want429 := func(t *testing.T, r response, code string) {
		t.Helper()
		wantAPIError(t, r, http.StatusTooManyRequests, code, "")
		if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 {
			t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
		}
	}
	t.Run("streams per session", func(t *testing.T) {
		alice := signedInWidget(t, srv, "alice@demo.test")
		for i := range 3 {
			if r := widgetStream(t, alice, srv, "clientId=demo"); r.StatusCode != http.StatusOK {
				t.Fatalf("stream %d: %d %s", i+1, r.StatusCode, r.body)
			}
		}
		want429(t, widgetStream(t, alice, srv, "clientId=demo"), "TooManyStreams")
	})
	t.Run("devices per session", func(t *testing.T) {
		bob := signedInWidget(t, srv, "bob@demo.test")
		for i := range 2 {
			if r := widgetStream(t, bob, srv, "clientId=demo&deviceId="+newDevice(t, bob, srv)); r.StatusCode != http.StatusOK {
				t.Fatalf("device %d: %d %s", i+1, r.StatusCode, r.body)
			}
		}
		want429(t, widgetStream(t, bob, srv, "clientId=demo&deviceId="+newDevice(t, bob, srv)), "TooManyDevices")
	})
	t.Run("calls per device", func(t *testing.T) {
		tab := openTab(t, srv, "carol@demo.test")
		first := newPeer(t)
		tab.dial(t, "+15550107", first) // rings until hung up
		second := newPeer(t)
		r := widgetPost(t, tab.c, srv.WidgetURL, "/widget/calls", map[string]string{"deviceId": tab.device, "to": "+15550101", "sdp": second.offer})
		want429(t, r, "TooManyCalls")
	})
	t.Run("widget requests", func(t *testing.T) {
		anon := browser()
		openWidget(t, anon, srv)
		var last response
		for range 41 {
			last = do(t, anon, "GET", srv.WidgetURL+"/widget/state", nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo", "Origin", srv.WidgetURL)
			if last.StatusCode == http.StatusTooManyRequests {
				break
			}
		}
		want429(t, last, "TooManyRequests")
		other := browser()
		openWidget(t, other, srv)
		if r := do(t, other, "GET", srv.WidgetURL+"/widget/state", nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo", "Origin", srv.WidgetURL); r.StatusCode != http.StatusOK {
			t.Fatalf("another session limited by the first: %d", r.StatusCode)
		}
	})
	t.Run("widget messages", func(t *testing.T) {
		sender := signedInWidget(t, srv, "alice@demo.test")
		send := func() response {
			return widgetPost(t, sender, srv.WidgetURL, "/widget/messages", map[string]any{"type": "Pager", "to": []string{"102"}, "text": "hi"})
		}
		for i := range 2 {
			if r := send(); r.StatusCode != http.StatusOK {
				t.Fatalf("message %d: %d %s", i+1, r.StatusCode, r.body)
			}
		}
		want429(t, send(), "TooManyRequests")
	})
}
