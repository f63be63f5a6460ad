package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
)

// Defaults of SocketConfig.
const (
	DefaultSocketTokenLifetime   = 10 * time.Minute
	DefaultSocketSessions        = 10 // per extension
	DefaultSocketRecoveryTimeout = time.Minute
	DefaultSocketIdleTimeout     = 15 * time.Minute
	DefaultSocketAbsoluteTimeout = 24 * time.Hour
	DefaultSocketBufferSize      = 100
	DefaultSocketMaxFrame        = 64 << 10
)

// SocketConfig tunes WebSocket subscriptions. Zero values take the defaults.
type SocketConfig struct {
	TokenLifetime time.Duration // of a socket token from /restapi/oauth/wstoken
	// SessionsPerExtension bounds an extension's socket sessions, connected
	// or waiting for recovery; a new one beyond ends the oldest waiting one,
	// or is refused (429) when all are connected.
	SessionsPerExtension int
	// RecoveryTimeout is how long a session outlives its socket: a
	// reconnect with its wsc token within it resumes the session.
	RecoveryTimeout time.Duration
	// IdleTimeout closes a socket with no frame either way for so long.
	IdleTimeout time.Duration
	// AbsoluteTimeout closes a socket this long after it opened; the client
	// reconnects and recovers its session.
	AbsoluteTimeout time.Duration
	// BufferSize bounds the notifications kept for a session without a
	// socket; when more come, the session cannot be recovered.
	BufferSize int
	// MaxFrameSize bounds a client frame, in bytes: a larger one is answered
	// with an Error frame, one four times as large closes the socket.
	MaxFrameSize int
	// TokenKey signs socket tokens (32 bytes or more), so that those given
	// before a restart still open sockets after it; nil: a random key, so
	// tokens last as long as the process.
	TokenKey []byte
}

func (c SocketConfig) withDefaults() SocketConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.TokenLifetime, DefaultSocketTokenLifetime)
	def(&c.RecoveryTimeout, DefaultSocketRecoveryTimeout)
	def(&c.IdleTimeout, DefaultSocketIdleTimeout)
	def(&c.AbsoluteTimeout, DefaultSocketAbsoluteTimeout)
	if c.SessionsPerExtension <= 0 {
		c.SessionsPerExtension = DefaultSocketSessions
	}
	if c.BufferSize <= 0 {
		c.BufferSize = DefaultSocketBufferSize
	}
	if c.MaxFrameSize <= 0 {
		c.MaxFrameSize = DefaultSocketMaxFrame
	}
	return c
}

// socketWriteTimeout bounds one frame's write; a client that does not read
// loses its socket (and recovers its session).
const socketWriteTimeout = 10 * time.Second

// connectionDetails is the body of the ConnectionDetails frame, the first
// a socket gets. Times are in seconds.
type connectionDetails struct {
	CreationTime             string `json:"creationTime"`
	MaxConnectionsPerSession int    `json:"maxConnectionsPerSession"`
	RecoveryBufferSize       int    `json:"recoveryBufferSize"`
	RecoveryTimeout          int64  `json:"recoveryTimeout"`
	IdleTimeout              int64  `json:"idleTimeout"`
	AbsoluteTimeout          int64  `json:"absoluteTimeout"`
	MaxActiveRequests        int    `json:"maxActiveRequests"`
	// RecoveryState answers a connection that named a session (wsc):
	// Successful, or Failed, when the client must subscribe again.
	RecoveryState     string `json:"recoveryState,omitempty"`
	RecoveryErrorCode string `json:"recoveryErrorCode,omitempty"`
}

// socketHub holds the socket sessions of this server.
type socketHub struct {
	cfg SocketConfig
	log *slog.Logger
	// drop forgets a session's subscriptions when it ends; nil when
	// subscriptions are off.
	drop func(*socketSession)
	seq  atomic.Uint64 // frames' wsc sequence: increasing over every session, so a new session's is above an old one's

	mu       sync.Mutex
	closed   bool
	sessions map[string]*socketSession // by wsc token
}

// socketSession is a client's session: its subscriptions' sink, which
// outlives a dropped socket for the recovery timeout.
type socketSession struct {
	hub     *socketHub
	token   string // wsc token
	owner   apiCaller
	created time.Time

	mu       sync.Mutex
	conn     *socketConn   // nil while there is none
	pending  []serverFrame // notifications waiting: no socket, a request being answered, or a recovery
	held     int           // ClientRequests being answered: notifications wait behind their answers
	lost     bool          // notifications were dropped: the session cannot be recovered
	detached time.Time     // when the last socket went
	expiry   *time.Timer   // ends the session at the end of the recovery timeout
	ended    bool
}

// socketConn is one open socket of a session.
type socketConn struct {
	ws    *websocket.Conn
	out   chan serverFrame // written in order by the writer
	done  chan struct{}    // closed when the socket is over
	wrote chan struct{}    // closed when the writer has returned
	once  sync.Once
	ready bool // (under the session's lock) notifications go straight to out
	idle  time.Duration
	// unsent is the notification the writer failed to write, if any;
	// read once wrote is closed.
	unsent *serverFrame
}

func newSocketHub(cfg SocketConfig, log *slog.Logger) *socketHub {
	return &socketHub{cfg: cfg, log: log, sessions: map[string]*socketSession{}}
}

// close ends the socket; the reader and the writer return.
func (c *socketConn) close(code int, reason string) {
	c.once.Do(func() {
		close(c.done)
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		c.ws.Close()
	})
}

// send queues a frame, waiting while the queue is full, unless the socket
// ends first.
func (c *socketConn) send(f serverFrame) bool {
	select {
	case c.out <- f:
		return true
	case <-c.done:
		return false
	}
}

// Deliver queues a notification of one of the session's subscriptions
// (webhooks.Sink). It never blocks: a socket that does not keep up is
// closed, and what it did not take waits for its recovery.
func (s *socketSession) Deliver(subscriptionID string, notification []byte) {
	f := serverFrame{header: frameHeader{Type: frameServerNotification, MessageID: newMessageID()},
		body: json.RawMessage(notification)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	s.queueLocked(f)
	s.flushLocked()
}

// queueLocked keeps a notification for later; beyond the buffer the oldest
// is dropped and the session can no longer be recovered.
func (s *socketSession) queueLocked(f serverFrame) {
	if len(s.pending) >= s.hub.cfg.BufferSize {
		s.pending = s.pending[1:]
		s.lost = true
	}
	s.pending = append(s.pending, f)
}

// flushLocked moves the waiting notifications to a ready socket, if nothing
// holds them.
func (s *socketSession) flushLocked() {
	c := s.conn
	if c == nil || !c.ready || s.held > 0 {
		return
	}
	for len(s.pending) > 0 {
		select {
		case c.out <- s.pending[0]:
			s.pending = s.pending[1:]
		default:
			s.hub.log.Warn("socket closed: its client does not read", slog.Int64("extension", s.owner.Extension.ID))
			c.ready = false
			go c.close(websocket.CloseTryAgainLater, "too slow")
			return
		}
	}
	s.pending = nil
}

// hold makes notifications wait behind the answer of a request.
func (s *socketSession) hold() {
	s.mu.Lock()
	s.held++
	s.mu.Unlock()
}

func (s *socketSession) release() {
	s.mu.Lock()
	s.held--
	s.flushLocked()
	s.mu.Unlock()
}

// setReady lets notifications flow to c once the client has read what came
// before them (the ConnectionDetails of a recovery).
func (s *socketSession) setReady(c *socketConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == c && !c.ready {
		c.ready = true
		s.flushLocked()
	}
}

// detach ends c's part in the session: notifications it did not write wait
// for a recovery, which must come within the recovery timeout.
func (s *socketSession) detach(c *socketConn) {
	<-c.wrote
	s.mu.Lock()
	defer s.mu.Unlock()
	var unsent []serverFrame
	if c.unsent != nil {
		unsent = append(unsent, *c.unsent)
	}
	for len(c.out) > 0 {
		if f := <-c.out; f.header.Type == frameServerNotification {
			unsent = append(unsent, f)
		}
	}
	s.pending = append(unsent, s.pending...)
	if s.conn != c {
		// Replaced by a recovery, which was told nothing was lost: what c
		// left goes to the new socket, all of it.
		s.flushLocked()
		return
	}
	if over := len(s.pending) - s.hub.cfg.BufferSize; over > 0 {
		s.pending, s.lost = s.pending[over:], true
	}
	s.conn, s.detached = nil, time.Now()
	if s.ended {
		s.pending = nil
		return
	}
	s.expiry = time.AfterFunc(s.hub.cfg.RecoveryTimeout, func() { s.hub.endDetached(s, "recovery timeout") })
}

// end forgets a session and its subscriptions, and closes its socket.
func (h *socketHub) end(s *socketSession, why string) { h.endIf(s, why, false) }

// endDetached ends a session unless a socket recovered it meanwhile.
func (h *socketHub) endDetached(s *socketSession, why string) { h.endIf(s, why, true) }

func (h *socketHub) endIf(s *socketSession, why string, onlyDetached bool) {
	h.mu.Lock() // attach holds it too: a recovery comes wholly before or after
	s.mu.Lock()
	if s.ended || onlyDetached && s.conn != nil {
		s.mu.Unlock()
		h.mu.Unlock()
		return
	}
	if h.sessions[s.token] == s {
		delete(h.sessions, s.token)
	}
	h.mu.Unlock()
	s.ended, s.pending = true, nil
	if s.expiry != nil {
		s.expiry.Stop()
	}
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		c.close(websocket.CloseGoingAway, why)
	}
	if h.drop != nil {
		h.drop(s)
	}
	h.log.Debug("socket session ended", slog.Int64("extension", s.owner.Extension.ID), slog.String("reason", why))
}

// errSocketSessions answers a socket beyond the extension's sessions.
var errSocketSessions = &httperror.Error{Status: http.StatusTooManyRequests, Code: "SessionLimitExceeded",
	Message: "this extension has as many connected sockets as it may; close one first"}

// attach gives c a session: the one named by wsc when it is the owner's
// and still recoverable (recovered true), or a new one.
func (h *socketHub) attach(owner apiCaller, wsc string, c *socketConn) (s *socketSession, recovered bool, err error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, false, errShuttingDown
	}
	var failed *socketSession // named, but lost: it ends
	if old := h.sessions[wsc]; wsc != "" && old != nil && old.owner.Extension.ID == owner.Extension.ID {
		old.mu.Lock()
		if !old.ended && !old.lost {
			if old.expiry != nil {
				old.expiry.Stop()
			}
			prev := old.conn
			old.conn = c
			old.mu.Unlock()
			h.mu.Unlock()
			if prev != nil { // the client came back before the server saw the old socket go
				prev.close(websocket.CloseNormalClosure, "replaced")
			}
			return old, true, nil
		}
		old.mu.Unlock()
		failed = old
	}
	// A new session, within the extension's limit: the oldest waiting one
	// makes room, connected ones do not.
	var mine []*socketSession
	for _, x := range h.sessions {
		if x.owner.Extension.ID == owner.Extension.ID && x != failed {
			mine = append(mine, x)
		}
	}
	var evict *socketSession
	if len(mine) >= h.cfg.SessionsPerExtension {
		for _, x := range mine {
			x.mu.Lock()
			if x.conn == nil && (evict == nil || x.detached.Before(evict.detached)) {
				evict = x
			}
			x.mu.Unlock()
		}
		if evict == nil {
			h.mu.Unlock()
			if failed != nil {
				h.end(failed, "not recoverable")
			}
			return nil, false, errSocketSessions
		}
	}
	s = &socketSession{hub: h, token: newToken(), owner: owner, created: time.Now(), conn: c}
	h.sessions[s.token] = s
	h.mu.Unlock()
	if failed != nil {
		h.end(failed, "not recoverable")
	}
	if evict != nil {
		h.end(evict, "session limit")
	}
	return s, false, nil
}

// endExtension ends the sessions of an extension.
func (h *socketHub) endExtension(ext int64, why string) {
	h.mu.Lock()
	var list []*socketSession
	for _, s := range h.sessions {
		if s.owner.Extension.ID == ext {
			list = append(list, s)
		}
	}
	h.mu.Unlock()
	for _, s := range list {
		h.end(s, why)
	}
}

// shutdown ends every session; no new socket is taken.
func (h *socketHub) shutdown() {
	h.mu.Lock()
	h.closed = true
	list := make([]*socketSession, 0, len(h.sessions))
	for _, s := range h.sessions {
		list = append(list, s)
	}
	h.mu.Unlock()
	for _, s := range list {
		h.end(s, "server shutting down")
	}
}

var errShuttingDown = &httperror.Error{Status: http.StatusServiceUnavailable, Code: "ShuttingDown", RetryAfter: drainRetryAfter,
	Message: "the server is shutting down; retry in a few seconds"}

func newToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newMessageID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// upgrader accepts sockets from any origin: a socket is opened with a
// token in its URL, never with cookies, so another site's page cannot open
// one as the user.
var upgrader = websocket.Upgrader{
	HandshakeTimeout: 10 * time.Second,
	ReadBufferSize:   4096,
	WriteBufferSize:  4096,
	CheckOrigin:      func(*http.Request) bool { return true },
}

// socket answers GET /ws?access_token=…[&wsc=…]: the socket of
// WebSocket subscriptions (docs/api-subscriptions.md, "WebSocket").
func (s *Server) socket(c echo.Context) error {
	if s.draining.Load() {
		return errShuttingDown
	}
	r := c.Request()
	acctID, extID, ok := s.socketTokens.check(r.URL.Query().Get("access_token"))
	if !ok {
		return &httperror.Error{Status: http.StatusUnauthorized, Code: "TokenInvalid",
			Message: "open the socket with a token from POST /restapi/oauth/wstoken in access_token; it is missing, expired or not one"}
	}
	acct, ext, err := s.Directory.ExtensionWithAccount(r.Context(), extID)
	if errors.Is(err, identity.ErrNotFound) || err == nil && (!ext.Enabled() || acct.ID != acctID) {
		return &httperror.Error{Status: http.StatusUnauthorized, Code: "TokenInvalid", Message: "the token's extension no longer exists or is disabled"}
	}
	if err != nil {
		return err
	}
	wsc := r.URL.Query().Get("wsc")
	if wsc == "" {
		wsc = r.Header.Get("wsc")
	}
	if !websocket.IsWebSocketUpgrade(r) {
		return &httperror.Error{Status: http.StatusBadRequest, Code: "InvalidRequest", Message: "this is a WebSocket endpoint: open it with an Upgrade request"}
	}
	ws, err := upgrader.Upgrade(c.Response(), r, nil)
	if err != nil {
		return nil // the upgrader answered the client
	}
	conn := &socketConn{ws: ws, out: make(chan serverFrame, s.sockets.cfg.BufferSize+16), done: make(chan struct{}),
		wrote: make(chan struct{}), idle: s.sockets.cfg.IdleTimeout}
	sess, recovered, err := s.sockets.attach(apiCaller{acct, ext}, wsc, conn)
	if err != nil {
		he := httperror.From(err)
		ws.SetWriteDeadline(time.Now().Add(socketWriteTimeout))
		if data, err := errorFrame(&frameRefusal{Code: he.Code, Message: he.Message}).encode(); err == nil {
			ws.WriteMessage(websocket.TextMessage, data)
		}
		conn.close(websocket.ClosePolicyViolation, he.Code)
		return nil
	}
	s.serveSocket(sess, conn, wsc != "", recovered)
	return nil
}

// serveSocket runs a socket: ConnectionDetails first, then requests and
// heartbeats in, answers and notifications out, until it closes.
func (s *Server) serveSocket(sess *socketSession, c *socketConn, named, recovered bool) {
	cfg := s.sockets.cfg
	log := s.log.With(slog.Int64("extension", sess.owner.Extension.ID))
	c.ws.SetReadLimit(int64(cfg.MaxFrameSize) * 4)
	c.ws.SetReadDeadline(time.Now().Add(cfg.IdleTimeout))
	c.ws.SetPongHandler(func(string) error {
		c.ws.SetReadDeadline(time.Now().Add(cfg.IdleTimeout))
		sess.setReady(c)
		return nil
	})
	go s.writeSocket(sess, c)
	absolute := time.AfterFunc(cfg.AbsoluteTimeout, func() { c.close(websocket.CloseNormalClosure, "absolute timeout") })
	defer absolute.Stop()

	details := connectionDetails{
		CreationTime: sess.created.UTC().Format(apiTimeFormat), MaxConnectionsPerSession: 1,
		RecoveryBufferSize: cfg.BufferSize, RecoveryTimeout: int64(cfg.RecoveryTimeout / time.Second),
		IdleTimeout: int64(cfg.IdleTimeout / time.Second), AbsoluteTimeout: int64(cfg.AbsoluteTimeout / time.Second),
		MaxActiveRequests: 1,
	}
	if named {
		details.RecoveryState = "Successful"
		if !recovered {
			details.RecoveryState, details.RecoveryErrorCode = "Failed", "SessionNotRecoverable"
		}
	}
	c.send(serverFrame{header: frameHeader{Type: frameConnectionDetails, MessageID: newMessageID(), Status: 200}, body: details})
	if recovered {
		// What waited is sent once the client has read ConnectionDetails:
		// its pong comes after it (RFC 6455 §5.5.3), so the client has
		// resumed its subscriptions' listeners by the time they arrive.
		c.send(serverFrame{ping: true})
	} else {
		sess.setReady(c)
	}
	log.Debug("socket opened", slog.Bool("recovered", recovered))

	closeReason := ""
read:
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				closeReason = "idle timeout"
			}
			break
		}
		c.ws.SetReadDeadline(time.Now().Add(cfg.IdleTimeout))
		if typ != websocket.TextMessage {
			c.send(errorFrame(badFrame("", "frames are JSON text")))
			continue
		}
		if len(data) > cfg.MaxFrameSize {
			c.send(errorFrame(&frameRefusal{Code: "FrameTooLarge", Message: "a frame is at most " + strconv.Itoa(cfg.MaxFrameSize) + " bytes"}))
			continue
		}
		f, err := parseClientFrame(data)
		if err != nil {
			c.send(errorFrame(err))
			continue
		}
		switch f.Type {
		case frameHeartbeat:
			c.send(serverFrame{header: frameHeader{Type: frameHeartbeat, MessageID: f.MessageID, Status: 200}})
		case frameClientRequest:
			sess.hold()
			ok := c.send(s.clientRequest(sess, f))
			sess.release()
			if !ok {
				break read
			}
		}
	}
	c.close(websocket.CloseNormalClosure, closeReason)
	sess.detach(c)
	log.Debug("socket closed")
}

// writeSocket writes c's frames in order, stamping each with the session's
// wsc, until the socket ends.
func (s *Server) writeSocket(sess *socketSession, c *socketConn) {
	defer close(c.wrote)
	for {
		var f serverFrame
		select {
		case f = <-c.out:
		case <-c.done:
			return
		}
		deadline := time.Now().Add(socketWriteTimeout)
		if f.ping {
			if c.ws.WriteControl(websocket.PingMessage, []byte("recover"), deadline) != nil {
				c.close(websocket.CloseAbnormalClosure, "")
				return
			}
			continue
		}
		f.header.WSC = &wscInfo{Token: sess.token, Sequence: s.sockets.seq.Add(1)}
		data, err := f.encode()
		if err != nil {
			s.log.Error("socket frame not encoded", slog.String("type", f.header.Type), slog.Any("err", err))
			continue
		}
		c.ws.SetWriteDeadline(deadline)
		if err := c.ws.WriteMessage(websocket.TextMessage, data); err != nil {
			if f.header.Type == frameServerNotification {
				c.unsent = &f // kept for a recovery (detach takes it)
			}
			c.close(websocket.CloseAbnormalClosure, "")
			return
		}
		// Frames out count as activity, as frames in do.
		c.ws.SetReadDeadline(time.Now().Add(c.idle))
	}
}

// socketKey holds a request's socket session in its context.
type socketKey struct{}

func socketOf(c echo.Context) *socketSession {
	s, _ := c.Request().Context().Value(socketKey{}).(*socketSession)
	return s
}

// maxSocketAnswer bounds the body of an answer sent over a socket.
const maxSocketAnswer = 1 << 20

// clientRequest answers a ClientRequest: the REST call it carries, made as
// the session's extension against the subscription routes.
func (s *Server) clientRequest(sess *socketSession, f clientFrame) serverFrame {
	q := url.Values{}
	for _, kv := range f.Query {
		q.Add(kv[0], kv[1])
	}
	u := &url.URL{Scheme: "http", Host: "socket", Path: f.Path, RawQuery: q.Encode()}
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), socketKey{}, sess), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, f.Method, u.String(), bytes.NewReader(f.Body))
	if err != nil {
		return errorFrame(badFrame(f.MessageID, "the path cannot be read"))
	}
	if len(f.Body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	w := &answerRecorder{header: http.Header{}}
	s.socketAPI.ServeHTTP(w, req)
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	h := frameHeader{Type: frameClientRequest, MessageID: f.MessageID, Status: status,
		Headers: map[string]string{"Content-Type": w.header.Get("Content-Type")}}
	for _, name := range []string{"X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Window", "Retry-After"} {
		if v := w.header.Get(name); v != "" {
			h.Headers[name] = v
		}
	}
	var body any
	if b := bytes.TrimSpace(w.body.Bytes()); len(b) > 0 && json.Valid(b) {
		body = json.RawMessage(b)
	}
	return serverFrame{header: h, body: body}
}

// answerRecorder keeps the answer of a request made over a socket.
type answerRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *answerRecorder) Header() http.Header { return w.header }

func (w *answerRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *answerRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body.Len()+len(b) > maxSocketAnswer {
		return 0, errors.New("answer too large for a socket frame")
	}
	return w.body.Write(b)
}

// socketCaller makes the session's extension the caller of a request that
// came over its socket, as long as the extension is still enabled.
func (s *Server) socketCaller(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess := socketOf(c)
		if sess == nil {
			return &httperror.Error{Status: http.StatusUnauthorized, Code: "TokenMissing", Message: "no socket session"}
		}
		acct, ext, err := s.Directory.ExtensionWithAccount(c.Request().Context(), sess.owner.Extension.ID)
		if errors.Is(err, identity.ErrNotFound) || err == nil && !ext.Enabled() {
			go s.sockets.end(sess, "extension disabled")
			return &httperror.Error{Status: http.StatusUnauthorized, Code: "TokenInvalid", Message: "the session's extension no longer exists or is disabled"}
		}
		if err != nil {
			return err
		}
		c.Set(string(extensionKey), apiCaller{acct, ext})
		return next(c)
	}
}

// newSocketAPI is the router of requests made over sockets: the
// subscription routes, as the session's extension, under its rate limit.
func (s *Server) newSocketAPI() *echo.Echo {
	e := echo.New()
	e.HTTPErrorHandler = httperror.Handler(s.log)
	s.subscriptionAPIRoutes(e.Group("/restapi/v1.0"), []echo.MiddlewareFunc{s.socketCaller, s.rateLimit})
	return e
}

// ExtensionRevoked ends the socket sessions of an extension whose
// credentials ended: their subscriptions deliver nothing more.
func (s *Server) ExtensionRevoked(extensionID int64) {
	s.sockets.endExtension(extensionID, "credentials revoked")
}
