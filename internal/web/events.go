package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/oauth"
	"github.com/callbridge/widget-server/internal/telephony"
)

// sessionGroup is the hub group of a signed-out widget session's events.
func sessionGroup(sid string) string { return "session:" + sid }

// extensionGroup is the hub group of a signed-in extension's events: every
// tab of every session of the extension listens to it; messages meant for
// one device carry its id.
func extensionGroup(ext int64) string { return "ext:" + strconv.FormatInt(ext, 10) }

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
	group := sessionGroup(w.sid())
	forceResync := false
	if w.signedIn() {
		u, err := s.resolveUser(ctx, w)
		switch {
		case err == nil:
			group = extensionGroup(u.Extension.ID)
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

// CallEvent hands one switch event to the widgets of its extension, as the
// rc-* messages the bridge maps it to, in order, the presence among them
// completed with what the user set. It returns those messages, for the
// extension's webhook subscriptions (internal/api).
func (s *Server) CallEvent(ev telephony.Event) []bridge.Envelope {
	envs := s.calls.Messages(ev)
	msgs := make([]any, len(envs))
	for i, env := range envs {
		if s.Presence != nil {
			envs[i] = s.Presence.WithUserPresence(ev.Extension, env)
		}
		msgs[i] = envs[i]
	}
	// One publication: each stream wakes and writes once for all of them.
	if _, err := s.Hub.PublishAll(extensionGroup(ev.Extension), msgs); err != nil {
		s.log.Warn("call event not delivered", "extension", ev.Extension, "err", err)
	}
	return envs
}

// MessageEvent hands one change of a message copy to the widgets of its
// extension (rc-message-updated-notify, and rc-inbound-message-notify for a
// new inbound copy). The service reports each version of a copy once, so
// nothing here is published twice.
func (s *Server) MessageEvent(c messaging.Change) {
	ext := c.Message.ExtensionID
	for _, env := range bridge.MessageEvents(c) {
		if _, err := s.Hub.Publish(extensionGroup(ext), env); err != nil {
			s.log.Warn("message event not delivered", "extension", ext, "message", c.Message.ID, "err", err)
		}
	}
}

// PresenceChanged tells the extension's widgets of a presence their user
// set, here or through the platform API (rc-adapter-syncPresence).
func (s *Server) PresenceChanged(ext int64, p bridge.SyncPresence) {
	if _, err := s.Hub.Publish(extensionGroup(ext), p); err != nil {
		s.log.Warn("presence not pushed to the widget", slog.Int64("extension", ext), slog.Any("err", err))
	}
}
