package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/oauth"
	"github.com/callbridge/widget-server/internal/telephony"
)

// events streams the widget's events (Server-Sent Events). A reconnecting
// client sends Last-Event-ID (or ?lastEventId= on a stream it opened anew)
// and first gets what it missed. A signed-in tab
// names its device (?deviceId=): the switch rings it while its stream is open.
func (s *Server) events(c echo.Context) error {
	ctx := c.Request().Context()
	// An event stream is the widget's own: a page of another site must not
	// open it with the user's cookie (where the browser says who asks).
	if site := c.Request().Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return &httperror.Error{Status: http.StatusForbidden, Code: "ForeignOrigin", Message: "event streams are opened by the widget's own page only"}
	}
	w := s.cookie(c.Request())
	if !w.live() {
		return &httperror.Error{Status: http.StatusUnauthorized, Code: "NoSession", Message: "open the widget page first: this stream belongs to a widget session"}
	}
	if err := s.checkClient(w, c.QueryParam("clientId")); err != nil {
		return err
	}
	if isHead(c) { // what a stream would answer, without opening one
		c.Response().Header().Set(echo.HeaderContentType, "text/event-stream")
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		return c.NoContent(http.StatusOK)
	}
	if err := s.devices.openStream(w.sid()); err != nil {
		return err
	}
	closed := func() { s.devices.closeStream(w.sid()) }
	group := bridge.SessionGroup(w.sid())
	forceResync := false
	if w.signedIn() {
		u, err := s.resolveUser(ctx, w)
		switch {
		case err == nil:
			group = bridge.ExtensionGroup(u.Extension.ID)
			if device := c.QueryParam("deviceId"); device != "" && s.Switch != nil {
				err := s.checkDevice(w.sid(), device)
				if err == nil {
					err = s.devices.attach(s.Switch, w.sid(), telephony.Device{ID: device, ExtensionID: u.Extension.ID})
				}
				if err != nil {
					closed()
					return err
				}
				closed = func() {
					s.devices.detach(s.Switch, device)
					s.devices.closeStream(w.sid())
				}
			}
		case errors.Is(err, oauth.ErrSessionEnded):
			forceResync = true // the widget reloads its state and finds itself signed out
		default:
			closed()
			return err
		}
	}
	last := c.Request().Header.Get("Last-Event-ID")
	if last == "" {
		// A stream the widget opened anew after its old one went silent: an
		// EventSource sends Last-Event-ID only when it reconnects by itself.
		last = c.QueryParam("lastEventId")
	}
	if len(last) > 64 {
		last = "invalid"
	}
	sub, replay, resync, err := s.Hub.Subscribe(group, last)
	if err != nil {
		closed()
		return &httperror.Error{Status: http.StatusServiceUnavailable, Code: "ShuttingDown", Message: "the server is shutting down; reconnect shortly", Err: err}
	}
	// The stream may outlive this handler (it takes the connection over);
	// the device stays registered until the stream ends.
	return bridge.Stream(ctx, c.Response(), sub, replay, resync || forceResync, s.stream, closed)
}
