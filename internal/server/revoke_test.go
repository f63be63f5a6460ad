package server

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

// withDirectory runs fn on the server's database through a handle of its
// own, as the operator's commands (widget-server extensions …) do from
// another process.
func withDirectory(t *testing.T, srv *instance, fn func(ctx context.Context, dir *identity.Directory) error) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, srv.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := fn(ctx, identity.NewDirectory(db)); err != nil {
		t.Fatal(err)
	}
}

// addUser adds a user extension to the demo account, with password "demo".
func addUser(t *testing.T, srv *instance, number, email string) identity.Extension {
	t.Helper()
	ext := identity.Extension{Number: number, Name: "User " + number, Email: email}
	withDirectory(t, srv, func(ctx context.Context, dir *identity.Directory) error {
		acct, err := dir.AccountByMainNumber(ctx, identity.DemoMainNumber)
		if err != nil {
			return err
		}
		ext.AccountID = acct.ID
		return dir.CreateExtension(ctx, &ext, "demo")
	})
	return ext
}

// eventStream is one open /widget/events stream, read message by message;
// messages is closed when the server ends the stream.
type eventStream struct {
	messages chan map[string]any
}

func openEvents(t *testing.T, srv *instance, c *http.Client, device string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	u := srv.WidgetURL + "/widget/events?clientId=demo"
	if device != "" {
		u += "&deviceId=" + url.QueryEscape(device)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	resp, err := (&http.Client{Jar: c.Jar, Transport: c.Transport}).Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("event stream: %v %v", err, resp)
	}
	s := &eventStream{messages: make(chan map[string]any, 256)}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		defer close(s.messages)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var m map[string]any
				if json.Unmarshal([]byte(data), &m) == nil {
					select {
					case s.messages <- m:
					case <-ctx.Done():
						return
					}
				}
			}
		}
	}()
	return s
}

// waitEnd waits until the server ends the stream and returns the types of
// the messages it sent before.
func (s *eventStream) waitEnd(t *testing.T) []string {
	t.Helper()
	var types []string
	deadline := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-s.messages:
			if !ok {
				return types
			}
			if typ, _ := m["type"].(string); typ != "cb-heartbeat" {
				types = append(types, typ)
			}
		case <-deadline:
			t.Fatalf("the stream is still open; it sent %v", types)
		}
	}
}

// next returns the stream's next message other than a heartbeat.
func (s *eventStream) next(t *testing.T) map[string]any {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-s.messages:
			if !ok {
				t.Fatal("the stream ended")
			}
			if m["type"] != "cb-heartbeat" {
				return m
			}
		case <-deadline:
			t.Fatal("no message on the stream")
		}
	}
}

// opened waits for the stream's first message: the stream is open (and its
// device registered).
func (s *eventStream) opened(t *testing.T) {
	t.Helper()
	select {
	case _, ok := <-s.messages:
		if !ok {
			t.Fatal("the stream ended")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stream did not open")
	}
}

// signInWidget signs a widget in as email (popup flow) and returns its
// client (the iframe's cookies).
func signInWidget(t *testing.T, srv *instance, email, password string) (*http.Client, response) {
	t.Helper()
	iframe := browser()
	openWidget(t, iframe, srv)
	loc := login(t, browser(), startLogin(t, iframe, srv, "popup"), email, password)
	if loc.StatusCode != http.StatusFound && loc.StatusCode != http.StatusSeeOther {
		return iframe, loc
	}
	return iframe, widgetPost(t, iframe, srv.WidgetURL, "/widget/login/complete", map[string]string{"callbackUri": location(t, loc).String()})
}

func widgetState(t *testing.T, srv *instance, c *http.Client) map[string]any {
	t.Helper()
	return do(t, c, "GET", srv.WidgetURL+"/widget/state", nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo").json(t)
}

// TestRevokedExtensionIsCutOff: disabling an extension, or changing its
// password, with the operator's commands while the server runs ends at once
// everything that extension holds: its API access and refresh tokens, its
// widget sessions, its open event streams (told to reload, then closed) and
// its registered phone devices, which stop ringing.
func TestRevokedExtensionIsCutOff(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	alice := openTab(t, srv, "alice@demo.test")
	aliceAPI := newPlatform(t, srv, "alice@demo.test")

	for _, tc := range []struct {
		name, number, email string
		revoke              func(ctx context.Context, dir *identity.Directory, id int64) error
		signInAgain         string // the password that signs in afterwards; "" none
	}{
		{"disabled", "120", "dana@demo.test", func(ctx context.Context, dir *identity.Directory, id int64) error {
			return dir.SetStatus(ctx, id, identity.StatusDisabled)
		}, ""},
		{"password changed", "121", "erin@demo.test", func(ctx context.Context, dir *identity.Directory, id int64) error {
			return dir.SetPassword(ctx, id, "a new password")
		}, "a new password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ext := addUser(t, srv, tc.number, tc.email)
			// A CRM server's tokens.
			f := newFlow(t, srv)
			access, refresh := tokens(t, f.exchange(t, location(t, login(t, f.c, f.authURL(nil), tc.email, "demo")).Query().Get("code"), f.verifier))
			if r := f.api(t, access); r.StatusCode != http.StatusOK {
				t.Fatalf("API before: %d %s", r.StatusCode, r.body)
			}
			// A signed-in widget with its phone's stream open.
			iframe, r := signInWidget(t, srv, tc.email, "demo")
			if r.StatusCode != http.StatusOK {
				t.Fatalf("widget sign-in: %d %s", r.StatusCode, r.body)
			}
			device := newDevice(t, iframe, srv)
			stream := openEvents(t, srv, iframe, device)
			stream.opened(t)

			withDirectory(t, srv, func(ctx context.Context, dir *identity.Directory) error { return tc.revoke(ctx, dir, ext.ID) })

			// The open stream is told to reload its state, then closed.
			if types := stream.waitEnd(t); len(types) == 0 || types[len(types)-1] != "cb-resync" {
				t.Errorf("the open stream got %v before it ended, want a cb-resync last", types)
			}
			// Opened again with the old cookie, it is a signed-out stream
			// that registers no device.
			again := openEvents(t, srv, iframe, device)
			if m := again.next(t); m["type"] != "cb-resync" {
				t.Errorf("reopened stream starts with %v, want cb-resync", m)
			}
			// Calls to the extension find no device (its answering rule
			// ends calls nobody takes, rather than taking a message).
			if tc.signInAgain != "" {
				if r := aliceAPI.call("PUT", fmt.Sprintf("/account/~/extension/%d/answering-rule", ext.ID),
					`{"noAnswer": {"action": "Disconnect"}}`); r.StatusCode != http.StatusOK {
					t.Fatalf("answering rule: %d %s", r.StatusCode, r.body)
				}
			}
			call := alice.dial(t, tc.number, nil)
			if call["code"] != float64(480) {
				t.Errorf("a call to the revoked extension: %v, want it unavailable (480)", call)
			}
			// The widget's endpoints refuse the ended session.
			if r := widgetPost(t, iframe, srv.WidgetURL, "/widget/calls", map[string]string{"deviceId": device, "to": "101", "sdp": "v=0"}); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("dial after revocation: %d %s", r.StatusCode, r.body)
			}
			if r := widgetPost(t, iframe, srv.WidgetURL, "/widget/messages", map[string]any{"type": "Pager", "to": []string{"101"}, "text": "still here"}); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("message after revocation: %d %s", r.StatusCode, r.body)
			}
			if st := widgetState(t, srv, iframe); st["loggedIn"] != false {
				t.Errorf("widget state after revocation: %v", st)
			}
			// The API tokens are dead.
			wantUnauthorized(t, f.api(t, access), "API after revocation")
			if r := f.refresh(t, refresh); r.StatusCode != http.StatusBadRequest || r.json(t)["error"] != "invalid_grant" {
				t.Errorf("refresh after revocation: %d %s", r.StatusCode, r.body)
			}

			// Another user keeps her session, stream and token.
			aliceAPI.get("/account/~/extension/~")
			if st := widgetState(t, srv, alice.c); st["loggedIn"] != true {
				t.Errorf("alice's widget after another's revocation: %v", st)
			}

			_, r = signInWidget(t, srv, tc.email, "demo")
			if r.StatusCode == http.StatusOK {
				t.Errorf("signed in with the old password after revocation: %s", r.body)
			}
			if tc.signInAgain != "" {
				if _, r := signInWidget(t, srv, tc.email, tc.signInAgain); r.StatusCode != http.StatusOK {
					t.Errorf("sign-in with the new password: %d %s", r.StatusCode, r.body)
				}
			}
		})
	}
}

// TestDisabledExtensionSurvivingSession: an extension disabled behind the
// server's back (its status changed in the database, its sessions left in
// place) is refused by every widget endpoint at the session's next use.
func TestDisabledExtensionSurvivingSession(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	ext := addUser(t, srv, "130", "fay@demo.test")
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(srv.dataDir, store.FileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	setStatus := func(status string) {
		t.Helper()
		if _, err := raw.Exec(`UPDATE extensions SET status = ? WHERE id = ?`, status, ext.ID); err != nil {
			t.Fatal(err)
		}
	}
	const device = "0123456789abcdef-0123456789abcdef0123456789abcdef" // the session ends before the device is looked at

	for _, tc := range []struct {
		name    string
		request func(c *http.Client) response
	}{
		{"dial", func(c *http.Client) response {
			return widgetPost(t, c, srv.WidgetURL, "/widget/calls", map[string]string{"deviceId": device, "to": "101", "sdp": "v=0"})
		}},
		{"list calls", func(c *http.Client) response {
			return do(t, c, "GET", srv.WidgetURL+"/widget/calls?deviceId="+device, nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo")
		}},
		{"send a message", func(c *http.Client) response {
			return widgetPost(t, c, srv.WidgetURL, "/widget/messages", map[string]any{"type": "Pager", "to": []string{"101"}, "text": "from a disabled user"})
		}},
		{"read messages", func(c *http.Client) response {
			return do(t, c, "GET", srv.WidgetURL+"/widget/messages", nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo")
		}},
		{"call log", func(c *http.Client) response {
			return do(t, c, "GET", srv.WidgetURL+"/widget/call-log", nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo")
		}},
		{"ringout", func(c *http.Client) response {
			return widgetPost(t, c, srv.WidgetURL, "/widget/ringout", map[string]string{"from": "+16505550199", "to": "+15550100"})
		}},
		{"phone numbers", func(c *http.Client) response {
			return do(t, c, "GET", srv.WidgetURL+"/widget/phone-numbers", nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setStatus(identity.StatusEnabled)
			iframe, r := signInWidget(t, srv, "fay@demo.test", "demo")
			if r.StatusCode != http.StatusOK {
				t.Fatalf("sign-in: %d %s", r.StatusCode, r.body)
			}
			setStatus(identity.StatusDisabled)
			if r := tc.request(iframe); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s as a disabled extension: %d %s", tc.name, r.StatusCode, r.body)
			}
		})
	}
	t.Run("event stream", func(t *testing.T) {
		setStatus(identity.StatusEnabled)
		iframe, r := signInWidget(t, srv, "fay@demo.test", "demo")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("sign-in: %d %s", r.StatusCode, r.body)
		}
		setStatus(identity.StatusDisabled)
		if m := openEvents(t, srv, iframe, device).next(t); m["type"] != "cb-resync" {
			t.Fatalf("the stream of a disabled extension starts with %v, want cb-resync", m)
		}
		if st := widgetState(t, srv, iframe); st["loggedIn"] != false {
			t.Fatalf("state %v", st)
		}
	})
}
