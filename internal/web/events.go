package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
)

// sessionGroup is the hub group of a widget session's events.
func sessionGroup(sid string) string { return "session:" + sid }

// events streams the widget session's events (Server-Sent Events). A
// reconnecting client sends Last-Event-ID and first gets what it missed.
func (s *Server) events(c echo.Context) error {
	sid, ok := s.existingSession(c.Request())
	if !ok {
		return &Error{Status: http.StatusUnauthorized, Code: "NoSession", Message: "open the widget page first: this stream belongs to a widget session"}
	}
	last := c.Request().Header.Get("Last-Event-ID")
	if len(last) > 64 {
		last = "invalid"
	}
	sub, replay, resync, err := s.Hub.Subscribe(sessionGroup(sid), last)
	if err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "ShuttingDown", Message: "the server is shutting down; reconnect shortly", Err: err}
	}
	return bridge.Stream(c.Request().Context(), c.Response(), sub, replay, resync, s.stream)
}
