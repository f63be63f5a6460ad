package web

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/oauth"
)

// SessionCookie is the widget's session cookie. The __Host- prefix pins it to
// this exact host and path /, and the browser refuses it without Secure.
const SessionCookie = "__Host-cb_session"

// sessionMaxAge is the cookie's absolute lifetime; a signed-in session also
// ends on the server after oauth.IdleTimeout without use.
const sessionMaxAge = oauth.AbsoluteTimeout

// NewSessionStore returns the cookie store for widget sessions. The cookie is
// Secure, HttpOnly, SameSite=None (the widget lives in a third-party iframe)
// and Partitioned, so browsers that split third-party storage keep one jar
// per host site instead of refusing it. Its content is signed and encrypted.
func NewSessionStore(hashKey, blockKey []byte) *sessions.CookieStore {
	s := sessions.NewCookieStore(hashKey, blockKey)
	s.Options = &sessions.Options{
		Path:        "/",
		MaxAge:      int(sessionMaxAge / time.Second),
		Secure:      true,
		HttpOnly:    true,
		SameSite:    http.SameSiteNoneMode,
		Partitioned: true,
	}
	s.MaxAge(s.Options.MaxAge)
	return s
}

// widgetCookie is what the session cookie holds: the session id (which names
// the event stream and, once signed in, the server-side session with the
// tokens), the host origin the widget was opened for, and a sign-in flow in
// progress.
type widgetCookie struct {
	sess *sessions.Session
}

func (w widgetCookie) sid() string { v, _ := w.sess.Values["sid"].(string); return v }
func (w widgetCookie) created() time.Time {
	v, _ := w.sess.Values["created"].(int64)
	return time.Unix(v, 0)
}
func (w widgetCookie) host() string           { v, _ := w.sess.Values["host"].(string); return v }
func (w widgetCookie) signedIn() bool         { v, _ := w.sess.Values["auth"].(bool); return v }
func (w widgetCookie) live() bool             { return w.sid() != "" && time.Since(w.created()) < sessionMaxAge }
func (w widgetCookie) app() string            { v, _ := w.sess.Values["app"].(string); return v }
func (w widgetCookie) setHost(origin string)  { w.sess.Values["host"] = origin }
func (w widgetCookie) setApp(clientID string) { w.sess.Values["app"] = clientID }
func (w widgetCookie) clearFlow()             { delete(w.sess.Values, "flow") }
func (w widgetCookie) setFlow(f oauth.Flow) {
	b, _ := json.Marshal(f)
	w.sess.Values["flow"] = string(b)
}
func (w widgetCookie) flow() (f oauth.Flow) {
	if v, ok := w.sess.Values["flow"].(string); ok {
		json.Unmarshal([]byte(v), &f)
	}
	return f
}

// renew gives the cookie a new session id: anonymous, or naming a signed-in
// server session. The old id's event stream is told separately.
func (w widgetCookie) renew(sid string, signedIn bool) {
	keep := map[any]any{"sid": sid, "created": time.Now().Unix(), "auth": signedIn}
	for _, k := range []string{"host", "app"} {
		if v, ok := w.sess.Values[k]; ok {
			keep[k] = v
		}
	}
	w.sess.Values = keep
}

func (s *Server) cookie(r *http.Request) widgetCookie {
	sess, _ := s.Cookies.Get(r, SessionCookie) // a bad or stale cookie yields a new, empty session
	return widgetCookie{sess}
}

func (s *Server) saveCookie(c echo.Context, w widgetCookie) error {
	if err := w.sess.Save(c.Request(), c.Response()); err != nil {
		return fmt.Errorf("save session cookie: %w", err)
	}
	return nil
}

// existingSession returns the session id without creating one.
func (s *Server) existingSession(r *http.Request) (string, bool) {
	w := s.cookie(r)
	return w.sid(), w.live()
}

func randomID() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// clientHeader names the app of the widget page a request comes from; the
// event stream, which cannot send headers, names it in ?clientId=.
const clientHeader = "X-Callbridge-Client"

// checkClient refuses a request from a widget page of another app than the
// one the session was opened for.
func (s *Server) checkClient(w widgetCookie, clientID string) error {
	if clientID == "" {
		return &httperror.Error{Status: http.StatusForbidden, Code: "MissingHeader", Message: "widget requests must name their app in the " + clientHeader + " header"}
	}
	if w.live() && clientID != w.app() {
		return &httperror.Error{Status: http.StatusForbidden, Code: "AppMismatch", Message: "this widget page belongs to another app than the session: reload the widget"}
	}
	return nil
}
