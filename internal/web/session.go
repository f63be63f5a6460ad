package web

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
)

// SessionCookie is the widget's session cookie. The __Host- prefix pins it to
// this exact host and path /, and the browser refuses it without Secure.
const SessionCookie = "__Host-cb_session"

// Session lifetimes: an absolute limit carried in the cookie's MaxAge and
// checked from the creation time stored inside it.
const sessionMaxAge = 12 * time.Hour

// NewSessionStore returns the cookie store for widget sessions. The cookie is
// Secure, HttpOnly, SameSite=None (the widget lives in a third-party iframe)
// and Partitioned, so browsers that split third-party storage keep one jar
// per host site instead of refusing it.
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

// widgetSession returns the id of the widget session of the request, creating
// the session (and setting its cookie) when there is none or it expired.
func (s *Server) widgetSession(c echo.Context) (string, error) {
	sess, _ := s.sessions.Get(c.Request(), SessionCookie) // a bad or stale cookie yields a new session
	sid, _ := sess.Values["sid"].(string)
	created, _ := sess.Values["created"].(int64)
	if sid != "" && time.Since(time.Unix(created, 0)) < sessionMaxAge {
		return sid, nil
	}
	sid = randomID()
	sess.Values = map[any]any{"sid": sid, "created": time.Now().Unix()}
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return "", fmt.Errorf("save session: %w", err)
	}
	return sid, nil
}

// existingSession returns the session id without creating one.
func (s *Server) existingSession(r *http.Request) (string, bool) {
	sess, err := s.sessions.Get(r, SessionCookie)
	if err != nil || sess.IsNew {
		return "", false
	}
	sid, _ := sess.Values["sid"].(string)
	created, _ := sess.Values["created"].(int64)
	if sid == "" || time.Since(time.Unix(created, 0)) >= sessionMaxAge {
		return "", false
	}
	return sid, true
}

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
