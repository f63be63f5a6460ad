package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/webhooks"
)

// socketEnv is the socket route of a server with its own SocketConfig, and
// the webhooks service behind it.
type socketEnv struct {
	url   string
	srv   *Server
	hooks *webhooks.Service
	who   apiCaller
}

func newSocketEnv(t *testing.T, cfg SocketConfig) *socketEnv {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acct := identity.Account{Company: "Acme", MainNumber: "+14155550100", CountryCode: "US"}
	if err := db.CreateAccount(ctx, &acct); err != nil {
		t.Fatal(err)
	}
	x := identity.Extension{AccountID: acct.ID, Number: "101", Name: "Alice", Email: "alice@example.com", Role: identity.RoleUser, Status: identity.StatusEnabled}
	if err := db.CreateExtension(ctx, &x, "no-password"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hooks := webhooks.New(webhooks.Config{Logger: log}, db)
	t.Cleanup(hooks.Close)
	srv := NewServer(Config{PublicURL: "http://localhost:8080", Socket: cfg}, Deps{Log: log, Directory: identity.NewDirectory(db), Webhooks: hooks})
	e := echo.New()
	e.GET(socketPath, srv.socket)
	hs := httptest.NewServer(e)
	t.Cleanup(hs.Close)
	t.Cleanup(srv.Drain)
	return &socketEnv{url: "ws" + strings.TrimPrefix(hs.URL, "http") + socketPath, srv: srv, hooks: hooks, who: apiCaller{acct, x}}
}

// dial opens a socket (recovering wsc when given) and returns it with its
// ConnectionDetails.
func (env *socketEnv) dial(t *testing.T, wsc string) (*websocket.Conn, frameHeader, connectionDetails) {
	t.Helper()
	u := env.url + "?access_token=" + env.srv.socketTokens.issue(env.who.Account.ID, env.who.Extension.ID, time.Minute)
	if wsc != "" {
		u += "&wsc=" + wsc
	}
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var d connectionDetails
	h := readFrame(t, c, &d)
	if h.Type != frameConnectionDetails {
		t.Fatalf("first frame %+v", h)
	}
	return c, h, d
}

func readFrame(t *testing.T, c *websocket.Conn, body any) frameHeader {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, data, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var parts []json.RawMessage
	var h frameHeader
	if json.Unmarshal(data, &parts) != nil || len(parts) == 0 || json.Unmarshal(parts[0], &h) != nil {
		t.Fatalf("frame %s", data)
	}
	if body != nil && len(parts) > 1 {
		json.Unmarshal(parts[1], body)
	}
	return h
}

// subscribeAndDrop subscribes a socket to presence, closes it with a close
// handshake and returns the session's token.
func (env *socketEnv) subscribeAndDrop(t *testing.T) string {
	t.Helper()
	c, h, _ := env.dial(t, "")
	c.WriteMessage(websocket.TextMessage, []byte(`[{"type": "ClientRequest", "messageId": "1", "method": "POST", "path": "/restapi/v1.0/subscription"},
		{"eventFilters": ["/restapi/v1.0/account/~/extension/~/presence"], "deliveryMode": {"transportType": "WebSocket"}}]`))
	if a := readFrame(t, c, nil); a.MessageID != "1" || a.Status != 200 {
		t.Fatalf("subscribe: %+v", a)
	}
	c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(5*time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			break // the server's close
		}
	}
	env.waitDetached(t, h.WSC.Token)
	return h.WSC.Token
}

// waitDetached waits until the server has seen the session's socket go:
// from then on its notifications wait in the session's buffer.
func (env *socketEnv) waitDetached(t *testing.T, wsc string) {
	t.Helper()
	h := env.srv.sockets
	deadline := time.Now().Add(30 * time.Second)
	for {
		h.mu.Lock()
		s := h.sessions[wsc]
		h.mu.Unlock()
		if s == nil {
			return // already ended
		}
		s.mu.Lock()
		gone := s.conn == nil
		s.mu.Unlock()
		if gone {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the server never saw the socket go")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (env *socketEnv) subscriptions(t *testing.T) int {
	t.Helper()
	l, err := env.hooks.List(context.Background(), env.who.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}

// TestSocketRecoveryFails: a session whose missed notifications overflow
// its buffer, or whose recovery timeout passed, is not recovered: the
// client gets Failed and a new session, and the old one's subscriptions
// are gone.
func TestSocketRecoveryFails(t *testing.T) {
	t.Run("buffer overflow", func(t *testing.T) {
		env := newSocketEnv(t, SocketConfig{BufferSize: 2})
		wsc := env.subscribeAndDrop(t)
		for seq := range uint64(3) {
			env.hooks.Notify(webhooks.Event{ExtensionID: env.who.Extension.ID, Kind: webhooks.KindPresence,
				Body: map[string]any{"sequence": seq + 1}, Sequence: seq + 1})
		}
		_, h, d := env.dial(t, wsc)
		if d.RecoveryState != "Failed" || d.RecoveryErrorCode == "" || h.WSC.Token == wsc {
			t.Fatalf("recovery after overflow: %+v %+v", h, d)
		}
		if n := env.subscriptions(t); n != 0 {
			t.Fatalf("%d subscriptions of the lost session", n)
		}
	})
	t.Run("recovery timeout", func(t *testing.T) {
		env := newSocketEnv(t, SocketConfig{RecoveryTimeout: time.Millisecond})
		wsc := env.subscribeAndDrop(t)
		deadline := time.Now().Add(30 * time.Second)
		for env.subscriptions(t) != 0 { // the session ends, and its subscriptions with it
			if time.Now().After(deadline) {
				t.Fatal("the session outlived its recovery timeout")
			}
			time.Sleep(10 * time.Millisecond)
		}
		_, h, d := env.dial(t, wsc)
		if d.RecoveryState != "Failed" || h.WSC.Token == wsc {
			t.Fatalf("recovery after the timeout: %+v %+v", h, d)
		}
	})
	t.Run("within the buffer", func(t *testing.T) {
		env := newSocketEnv(t, SocketConfig{BufferSize: 2})
		wsc := env.subscribeAndDrop(t)
		for seq := range uint64(2) {
			env.hooks.Notify(webhooks.Event{ExtensionID: env.who.Extension.ID, Kind: webhooks.KindPresence,
				Body: map[string]any{"sequence": seq + 1}, Sequence: seq + 1})
		}
		c, h, d := env.dial(t, wsc)
		if d.RecoveryState != "Successful" || h.WSC.Token != wsc {
			t.Fatalf("recovery: %+v %+v", h, d)
		}
		last := h.WSC.Sequence
		for want := 1; want <= 2; want++ {
			var n struct{ Body struct{ Sequence int } }
			f := readFrame(t, c, &n)
			if f.Type != frameServerNotification || n.Body.Sequence != want || f.WSC.Sequence <= last {
				t.Fatalf("missed notification %d: %+v %+v", want, f, n)
			}
			last = f.WSC.Sequence
		}
		if n := env.subscriptions(t); n != 1 {
			t.Fatalf("%d subscriptions after recovery", n)
		}
	})
}

// closedBy waits for the server to close the socket and returns the close
// frame's reason; a socket the server does not close fails the test.
func closedBy(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Text
		}
		if err != nil {
			t.Fatalf("socket not closed by the server: %v", err)
		}
	}
}

// TestSocketTimeouts: a socket with no frames either way for the idle
// timeout is closed, and every socket at the absolute timeout; the session
// is recovered after either.
func TestSocketTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    SocketConfig
		reason string
	}{
		{"idle", SocketConfig{IdleTimeout: 300 * time.Millisecond}, "idle timeout"},
		{"absolute", SocketConfig{AbsoluteTimeout: 300 * time.Millisecond}, "absolute timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newSocketEnv(t, tc.cfg)
			c, h, _ := env.dial(t, "")
			if got := closedBy(t, c); got != tc.reason {
				t.Fatalf("closed with %q, want %q", got, tc.reason)
			}
			_, h2, d := env.dial(t, h.WSC.Token)
			if d.RecoveryState != "Successful" || h2.WSC.Token != h.WSC.Token {
				t.Fatalf("recovery after the %s timeout: %+v %+v", tc.name, h2, d)
			}
		})
	}
}

// TestSocketRecoveryKeepsWhatTheOldSocketLeft: a client that recovers before
// the server saw its old socket go was told nothing was lost, so whatever
// the old socket had queued reaches the new one, even beyond the buffer.
func TestSocketRecoveryKeepsWhatTheOldSocketLeft(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hub := newSocketHub(SocketConfig{BufferSize: 2}.withDefaults(), log)
	newConn := func() *socketConn {
		return &socketConn{out: make(chan serverFrame, 18), done: make(chan struct{}), wrote: make(chan struct{})}
	}
	old, recovering := newConn(), newConn()
	s := &socketSession{hub: hub, conn: old}
	old.ready = true
	for range 3 {
		s.Deliver("sub", []byte(`{}`))
	}
	if len(old.out) != 3 {
		t.Fatalf("%d queued on the old socket", len(old.out))
	}
	s.mu.Lock()
	s.conn, recovering.ready = recovering, true // attach's recovery
	s.mu.Unlock()
	close(old.wrote)
	s.detach(old)
	if len(recovering.out) != 3 || s.lost {
		t.Fatalf("%d of 3 reached the recovering socket; lost %v", len(recovering.out), s.lost)
	}
}
