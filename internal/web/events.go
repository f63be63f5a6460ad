package web

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
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
	w := s.cookie(c.Request())
	if !w.live() {
		return &Error{Status: http.StatusUnauthorized, Code: "NoSession", Message: "open the widget page first: this stream belongs to a widget session"}
	}
	group := sessionGroup(w.sid())
	forceResync := false
	var detach func()
	if w.signedIn() {
		sess, err := s.Sessions.Get(ctx, w.sid())
		switch {
		case err == nil:
			group = extensionGroup(sess.ExtensionID)
			if device := c.QueryParam("deviceId"); device != "" && s.Switch != nil {
				if !deviceIDPattern.MatchString(device) {
					return &Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Message: "deviceId is malformed"}
				}
				s.devices.attach(s.Switch, telephony.Device{ID: device, ExtensionID: sess.ExtensionID})
				detach = func() { s.devices.detach(s.Switch, device) }
			}
		case errors.Is(err, oauth.ErrSessionEnded):
			forceResync = true // the widget reloads its state and finds itself signed out
		default:
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
		if detach != nil {
			detach()
		}
		return &Error{Status: http.StatusServiceUnavailable, Code: "ShuttingDown", Message: "the server is shutting down; reconnect shortly", Err: err}
	}
	// The stream may outlive this handler (it takes the connection over);
	// the device stays registered until the stream ends.
	return bridge.Stream(ctx, c.Response(), sub, replay, resync || forceResync, s.stream, detach)
}

// CallEvent hands one switch event to the widgets of its extension, as the
// rc-* messages the bridge maps it to, in order, and to the extension's
// webhook subscriptions (presence, telephony sessions).
func (s *Server) CallEvent(ev telephony.Event) {
	envs := s.calls.Messages(ev)
	msgs := make([]any, len(envs))
	for i, env := range envs {
		envs[i] = s.withUserPresence(ev.Extension, env)
		msgs[i] = envs[i]
	}
	// One publication: each stream wakes and writes once for all of them.
	if _, err := s.Hub.PublishAll(extensionGroup(ev.Extension), msgs); err != nil {
		s.log.Warn("call event not delivered", "extension", ev.Extension, "err", err)
	}
	for _, env := range envs {
		s.subscriberEvent(ev, env)
	}
}

// deviceGrace keeps a device registered this long after its stream closed,
// so a reconnecting stream does not hang up its calls.
const deviceGrace = 15 * time.Second

// devices counts the open streams of each device and unregisters a device
// from the switch only when it has had none for deviceGrace.
type devices struct {
	mu      sync.Mutex
	streams map[string]int
	timers  map[string]*time.Timer
}

func (d *devices) attach(sw Switch, dev telephony.Device) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.streams == nil {
		d.streams, d.timers = map[string]int{}, map[string]*time.Timer{}
	}
	if t := d.timers[dev.ID]; t != nil {
		t.Stop()
		delete(d.timers, dev.ID)
	}
	d.streams[dev.ID]++
	sw.RegisterDevice(dev)
}

func (d *devices) detach(sw Switch, id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.streams[id]--; d.streams[id] > 0 {
		return
	}
	delete(d.streams, id)
	d.timers[id] = time.AfterFunc(deviceGrace, func() {
		d.mu.Lock()
		if d.streams[id] > 0 {
			d.mu.Unlock()
			return
		}
		delete(d.timers, id)
		d.mu.Unlock()
		sw.UnregisterDevice(id)
	})
}
