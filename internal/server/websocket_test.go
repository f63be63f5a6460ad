package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/callbridge/widget-server/internal/identity"
)

// wsFrame is a frame the socket sent: its header and its body.
type wsFrame struct {
	Header struct {
		Type      string `json:"type"`
		MessageID string `json:"messageId"`
		Status    int    `json:"status"`
		WSC       struct {
			Token    string `json:"token"`
			Sequence uint64 `json:"sequence"`
		} `json:"wsc"`
	}
	Body json.RawMessage
	raw  []byte
}

func (f wsFrame) body(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(f.Body, &m); err != nil {
		t.Fatalf("frame body: %v: %s", err, f.raw)
	}
	return m
}

// wsClient is a client of the subscription socket, as the platform's SDK
// speaks to it.
type wsClient struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan wsFrame
	n      int
}

// wsToken asks for a socket token and checks the answer's shape.
func wsToken(t *testing.T, srv *instance, p *platform) (uri, token string) {
	t.Helper()
	r := p.call("POST", srv.WidgetURL+"/restapi/oauth/wstoken", "")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("wstoken: %d %s", r.StatusCode, r.body)
	}
	m := r.json(t)
	uri, _ = m["uri"].(string)
	token, _ = m["ws_access_token"].(string)
	if want := "ws://" + strings.TrimPrefix(srv.WidgetURL, "http://") + "/ws"; uri != want || token == "" || m["expires_in"] != float64(600) {
		t.Fatalf("wstoken answer %s, want uri %s", r.body, want)
	}
	return uri, token
}

// dialSocket opens the socket; wsc names a session to recover.
func dialSocket(t *testing.T, uri, token, wsc string) (*wsClient, *http.Response, error) {
	t.Helper()
	u := uri + "?access_token=" + url.QueryEscape(token)
	if wsc != "" {
		u += "&wsc=" + url.QueryEscape(wsc)
	}
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		return nil, resp, err
	}
	c := &wsClient{t: t, conn: conn, frames: make(chan wsFrame, 1000)}
	go func() {
		defer close(c.frames)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var parts []json.RawMessage
			var f wsFrame
			f.raw = data
			if json.Unmarshal(data, &parts) != nil || len(parts) == 0 || json.Unmarshal(parts[0], &f.Header) != nil {
				t.Errorf("frame is not [header, body]: %s", data)
				return
			}
			if len(parts) > 1 {
				f.Body = parts[1]
			}
			c.frames <- f
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return c, resp, nil
}

func mustDial(t *testing.T, uri, token, wsc string) *wsClient {
	t.Helper()
	c, resp, err := dialSocket(t, uri, token, wsc)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial socket: %v (status %d)", err, status)
	}
	return c
}

// next returns the next frame that matches; it fails after a long deadline.
func (c *wsClient) next(what string, match func(wsFrame) bool) wsFrame {
	c.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				c.t.Fatalf("socket closed while waiting for %s", what)
			}
			if match(f) {
				return f
			}
		case <-deadline:
			c.t.Fatalf("no %s", what)
		}
	}
}

func (c *wsClient) send(frame string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// request sends a ClientRequest and returns its answer.
func (c *wsClient) request(method, path, body string) wsFrame {
	c.t.Helper()
	c.n++
	id := fmt.Sprintf("req-%d", c.n)
	frame := fmt.Sprintf(`[{"type": "ClientRequest", "messageId": %q, "method": %q, "path": %q, "headers": {"X-User-Agent": "test"}}`, id, method, path)
	if body != "" {
		frame += ", " + body
	}
	c.send(frame + "]")
	return c.next("answer to "+id, func(f wsFrame) bool { return f.Header.MessageID == id })
}

// heartbeat sends a Heartbeat and returns the frames that came before its
// answer.
func (c *wsClient) heartbeat() []wsFrame {
	c.t.Helper()
	c.n++
	id := fmt.Sprintf("hb-%d", c.n)
	c.send(fmt.Sprintf(`[{"type": "Heartbeat", "messageId": %q}]`, id))
	var before []wsFrame
	c.next("heartbeat answer", func(f wsFrame) bool {
		if f.Header.MessageID == id {
			if f.Header.Type != "Heartbeat" || f.Header.Status != 200 {
				c.t.Fatalf("heartbeat answer %s", f.raw)
			}
			return true
		}
		before = append(before, f)
		return false
	})
	return before
}

// notification waits for the next notification of a subscription.
func (c *wsClient) notification(sub string) map[string]any {
	c.t.Helper()
	f := c.next("notification of "+sub, func(f wsFrame) bool {
		var b struct{ SubscriptionID string }
		return f.Header.Type == "ServerNotification" && json.Unmarshal(f.Body, &b) == nil && b.SubscriptionID == sub
	})
	return f.body(c.t)
}

// wantClosed waits for the server to close the socket.
func (c *wsClient) wantClosed() {
	c.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				return
			}
			c.t.Fatalf("a frame where the socket should close: %s", f.raw)
		case <-deadline:
			c.t.Fatal("the server did not close the socket")
		}
	}
}

// dropCleanly closes the socket with a close handshake and waits for the
// server's close: from then on the server writes nothing more on it.
func (c *wsClient) dropCleanly() {
	c.t.Helper()
	c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(5*time.Second))
	deadline := time.After(30 * time.Second)
	for {
		select {
		case _, ok := <-c.frames:
			if !ok {
				c.conn.Close()
				return
			}
		case <-deadline:
			c.t.Fatal("the server did not close the socket")
		}
	}
}

const wsPresenceFilter = `{"eventFilters": ["/restapi/v1.0/account/~/extension/~/presence"], "deliveryMode": {"transportType": "WebSocket"}}`

// TestWebSocketSubscriptions drives the socket as the platform's SDK does:
// a socket token, ConnectionDetails, a subscription over the socket, a
// presence notification; a dropped socket, an event meanwhile, recovery
// with wsc and the missed event; renew, delete; another extension's
// subscription refused; bad frames answered with Error frames.
func TestWebSocketSubscriptions(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	alice, bob := newPlatform(t, srv, "alice@demo.test"), newPlatform(t, srv, "bob@demo.test")
	aliceID := alice.extensionID()
	uri, token := wsToken(t, srv, alice)

	// The socket token opens the socket, nothing else; no token, no socket.
	if r := (&platform{t: t, c: browser(), base: alice.base, token: token}).call("GET", "/account/~/extension/~", ""); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("socket token as an access token: %d", r.StatusCode)
	}
	if r := do(t, browser(), "POST", srv.WidgetURL+"/restapi/oauth/wstoken", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wstoken without a bearer: %d", r.StatusCode)
	}
	if _, resp, err := dialSocket(t, uri, token+"x", ""); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("socket with a forged token: %v", err)
	}

	ws := mustDial(t, uri, token, "")
	cd := ws.next("ConnectionDetails", func(f wsFrame) bool { return true })
	details := cd.body(t)
	if cd.Header.Type != "ConnectionDetails" || cd.Header.Status != 200 || cd.Header.WSC.Token == "" || details["recoveryState"] != nil ||
		details["recoveryTimeout"] != float64(60) || details["idleTimeout"] != float64(900) || details["absoluteTimeout"] != float64(86400) ||
		details["recoveryBufferSize"] != float64(100) || details["creationTime"] == nil {
		t.Fatalf("ConnectionDetails %s", cd.raw)
	}
	wsc := cd.Header.WSC.Token

	created := ws.request("POST", "/restapi/v1.0/subscription", wsPresenceFilter)
	sub := created.body(t)
	id, _ := sub["id"].(string)
	if created.Header.Type != "ClientRequest" || created.Header.Status != 200 || id == "" || sub["status"] != "Active" ||
		sub["deliveryMode"].(map[string]any)["transportType"] != "WebSocket" || sub["ownerId"] != fmt.Sprint(aliceID) {
		t.Fatalf("created over the socket: %s", created.raw)
	}
	// The HTTP API lists it too, and it cannot be made there.
	if l := records(t, alice.get("/subscription")); len(l) != 1 || l[0]["id"] != id {
		t.Fatalf("alice's subscriptions %v", l)
	}
	wantAPIError(t, alice.call("POST", "/subscription", wsPresenceFilter), 400, "InvalidParameter", "deliveryMode.transportType")

	const presence = "/account/~/extension/~/presence"
	if r := alice.call("PUT", presence, `{"userStatus": "Busy"}`); r.StatusCode != http.StatusOK {
		t.Fatalf("PUT presence: %d %s", r.StatusCode, r.body)
	}
	n := ws.notification(id)
	if body, _ := n["body"].(map[string]any); body["userStatus"] != "Busy" || !strings.HasSuffix(n["event"].(string), fmt.Sprintf("/extension/%d/presence", aliceID)) ||
		n["ownerId"] != fmt.Sprint(aliceID) || n["uuid"] == "" {
		t.Fatalf("notification %v", n)
	}

	// Dropped: the event meanwhile waits for the session's recovery.
	ws.dropCleanly()
	if r := alice.call("PUT", presence, `{"userStatus": "Available"}`); r.StatusCode != http.StatusOK {
		t.Fatalf("PUT presence: %d %s", r.StatusCode, r.body)
	}
	ws = mustDial(t, uri, token, wsc)
	cd = ws.next("ConnectionDetails", func(f wsFrame) bool { return true })
	if cd.Header.Type != "ConnectionDetails" || cd.body(t)["recoveryState"] != "Successful" || cd.Header.WSC.Token != wsc {
		t.Fatalf("recovery: %s", cd.raw)
	}
	if body := ws.notification(id)["body"].(map[string]any); body["userStatus"] != "Available" {
		t.Fatalf("missed notification %v", body)
	}

	// Renew, over the socket.
	renewed := ws.request("POST", "/restapi/v1.0/subscription/"+id+"/renew", "")
	if renewed.Header.Status != 200 || renewed.body(t)["status"] != "Active" || renewed.body(t)["expiresIn"] != float64(604800) {
		t.Fatalf("renew: %s", renewed.raw)
	}

	// Bob, on his own socket, cannot see, change or delete Alice's.
	buri, btoken := wsToken(t, srv, bob)
	bws := mustDial(t, buri, btoken, "")
	bws.next("ConnectionDetails", func(f wsFrame) bool { return f.Header.Type == "ConnectionDetails" })
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		body := ""
		if m == "PUT" {
			body = wsPresenceFilter
		}
		r := bws.request(m, "/restapi/v1.0/subscription/"+id, body)
		if r.Header.Status != 404 || r.body(t)["errorCode"] != "NotFound" {
			t.Fatalf("bob %s alice's subscription: %s", m, r.raw)
		}
	}
	// Nor recover her session: his socket gets a new one.
	bws2 := mustDial(t, buri, btoken, wsc)
	if cd := bws2.next("ConnectionDetails", func(f wsFrame) bool { return true }); cd.body(t)["recoveryState"] != "Failed" || cd.Header.WSC.Token == wsc {
		t.Fatalf("bob recovering alice's session: %s", cd.raw)
	}

	// Bad frames get Error frames; the socket goes on.
	for _, bad := range []struct{ frame, code string }{
		{"not json", "InvalidFrame"},
		{"[]", "InvalidFrame"},
		{`{"type": "Heartbeat"}`, "InvalidFrame"},
		{`[{"type": "Heartbeat"}]`, "InvalidFrame"},
		{`[{"type": "Surprise", "messageId": "s"}]`, "UnknownFrameType"},
		{`[{"type": "ClientRequest", "messageId": "m", "method": "PATCH", "path": "/restapi/v1.0/subscription"}]`, "InvalidFrame"},
		{`[{"type": "ClientRequest", "messageId": "m", "method": "GET", "path": "http://elsewhere/"}]`, "InvalidFrame"},
		{`[{"type": "ClientRequest", "messageId": "m", "method": "GET", "path": "/restapi/v1.0/subscription", "query": {"a": {"b": 1}}}]`, "InvalidFrame"},
		{`[{"type": "ClientRequest", "messageId": "` + strings.Repeat("m", 70000) + `"}]`, "FrameTooLarge"},
	} {
		ws.send(bad.frame)
		f := ws.next("Error frame", func(f wsFrame) bool { return f.Header.Type == "Error" })
		if f.Header.Status != 400 || f.body(t)["errorCode"] != bad.code {
			t.Fatalf("%.40s: %s", bad.frame, f.raw)
		}
	}
	// A path outside the subscriptions is not found; the calls the socket
	// carries are the subscriptions'.
	if r := ws.request("GET", "/restapi/v1.0/account/~/extension/~", ""); r.Header.Status != 404 {
		t.Fatalf("extension over the socket: %s", r.raw)
	}
	if r := ws.request("POST", "/restapi/v1.0/subscription", `{"eventFilters": ["/restapi/v1.0/account/~/extension/~/nothing"], "deliveryMode": {"transportType": "WebSocket"}}`); r.Header.Status != 400 || r.body(t)["errorCode"] != "InvalidParameter" {
		t.Fatalf("bad filter over the socket: %s", r.raw)
	}

	// Deleted: the next change reaches nobody (the presence change is
	// matched before its PUT returns, so the heartbeat's answer comes
	// after anything it would have sent).
	if r := ws.request("DELETE", "/restapi/v1.0/subscription/"+id, ""); r.Header.Status != 200 {
		t.Fatalf("delete: %s", r.raw)
	}
	alice.call("PUT", presence, `{"userStatus": "Busy"}`)
	for _, f := range ws.heartbeat() {
		if f.Header.Type == "ServerNotification" {
			t.Fatalf("notification after delete: %s", f.raw)
		}
	}
	if l := records(t, alice.get("/subscription")); len(l) != 0 {
		t.Fatalf("alice's subscriptions after delete %v", l)
	}

	// A session that cannot be recovered: Failed, and a new session.
	other := mustDial(t, uri, token, "no-such-session")
	if cd := other.next("ConnectionDetails", func(f wsFrame) bool { return true }); cd.body(t)["recoveryState"] != "Failed" || cd.Header.WSC.Token == "" {
		t.Fatalf("unknown session: %s", cd.raw)
	}
}

// TestWebSocketLimits: an extension's sessions beyond its limit end the
// oldest waiting for recovery, or are refused while all are connected; a
// session holds at most 10 subscriptions.
func TestWebSocketLimits(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000, Limits: Limits{SocketsPerExtension: 1}})
	alice := newPlatform(t, srv, "alice@demo.test")
	uri, token := wsToken(t, srv, alice)

	first := mustDial(t, uri, token, "")
	wsc := first.next("ConnectionDetails", func(f wsFrame) bool { return true }).Header.WSC.Token
	for i := range 10 {
		if r := first.request("POST", "/restapi/v1.0/subscription", wsPresenceFilter); r.Header.Status != 200 {
			t.Fatalf("subscription %d: %s", i+1, r.raw)
		}
	}
	if r := first.request("POST", "/restapi/v1.0/subscription", wsPresenceFilter); r.Header.Status != 403 || r.body(t)["errorCode"] != "SubscriptionLimitExceeded" {
		t.Fatalf("11th subscription of a session: %s", r.raw)
	}

	// While the first is connected, a second session is refused.
	second := mustDial(t, uri, token, "")
	if f := second.next("Error frame", func(f wsFrame) bool { return true }); f.Header.Type != "Error" || f.body(t)["errorCode"] != "SessionLimitExceeded" {
		t.Fatalf("second session: %s", f.raw)
	}
	second.wantClosed()

	// Once it waits for recovery, a new session ends it: its subscriptions
	// go, and it can no longer be recovered.
	first.dropCleanly()
	deadline := time.Now().Add(30 * time.Second)
	var third *wsClient
	for third == nil {
		c := mustDial(t, uri, token, "")
		if f := c.next("first frame", func(f wsFrame) bool { return true }); f.Header.Type == "ConnectionDetails" {
			third = c
		} else if time.Now().After(deadline) {
			t.Fatalf("no new session after the first dropped: %s", f.raw)
		}
	}
	if l := records(t, alice.get("/subscription")); len(l) != 0 {
		t.Fatalf("subscriptions of the ended session: %d", len(l))
	}
	third.dropCleanly()
	var again *wsClient
	for again == nil {
		c := mustDial(t, uri, token, wsc)
		if f := c.next("first frame", func(f wsFrame) bool { return true }); f.Header.Type == "ConnectionDetails" {
			if f.body(t)["recoveryState"] != "Failed" {
				t.Fatalf("recovering an ended session: %s", f.raw)
			}
			again = c
		} else if time.Now().After(deadline) {
			t.Fatalf("no session after the third dropped: %s", f.raw)
		}
	}
}

// TestWebSocketRevoked: when an extension is disabled, the server closes
// its sockets, and neither its socket token nor its session opens another.
func TestWebSocketRevoked(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	ext := addUser(t, srv, "130", "fay@demo.test")
	fay := newPlatform(t, srv, "fay@demo.test")
	uri, token := wsToken(t, srv, fay)
	ws := mustDial(t, uri, token, "")
	wsc := ws.next("ConnectionDetails", func(f wsFrame) bool { return true }).Header.WSC.Token
	if r := ws.request("POST", "/restapi/v1.0/subscription", wsPresenceFilter); r.Header.Status != 200 {
		t.Fatalf("subscribe: %s", r.raw)
	}
	withDirectory(t, srv, func(ctx context.Context, dir *identity.Directory) error {
		return dir.SetStatus(ctx, ext.ID, identity.StatusDisabled)
	})
	ws.wantClosed()
	if _, resp, err := dialSocket(t, uri, token, wsc); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("socket of a disabled extension: %v", err)
	}
}

// TestWebSocketAcrossRestart: a stop closes the sockets; after the restart
// the socket token given before still opens a socket (the SDK keeps it for
// minutes), and the session, which lived in memory, is not recovered.
func TestWebSocketAcrossRestart(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	before, done := runUntil(t, ctx, Config{DataDir: dataDir})
	_, token := wsToken(t, before, newPlatform(t, before, "alice@demo.test"))
	socketURL := func(srv *instance) string { return "ws://" + strings.TrimPrefix(srv.WidgetURL, "http://") + "/ws" }
	ws := mustDial(t, socketURL(before), token, "")
	wsc := ws.next("ConnectionDetails", func(f wsFrame) bool { return true }).Header.WSC.Token
	if r := ws.request("POST", "/restapi/v1.0/subscription", wsPresenceFilter); r.Header.Status != 200 {
		t.Fatalf("subscribe: %s", r.raw)
	}
	stop()
	ws.wantClosed()
	select {
	case <-done:
	case <-time.After(startStopLimit):
		t.Fatal("server did not stop")
	}

	after, _ := runUntil(t, context.Background(), Config{DataDir: dataDir})
	again := mustDial(t, socketURL(after), token, wsc)
	if cd := again.next("ConnectionDetails", func(f wsFrame) bool { return true }); cd.body(t)["recoveryState"] != "Failed" {
		t.Fatalf("after the restart: %s", cd.raw)
	}
}
