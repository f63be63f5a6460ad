package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/telephony"
)

// A device is one widget tab's phone. Its id is issued by this server to a
// signed-in session (POST /widget/devices) and is bound to it: the id is a
// random nonce and a MAC of the nonce and the session id, so only requests
// carrying that session's cookie can use it, on any node that holds the
// key, and a device id learnt elsewhere (host pages see it in
// rc-webphone-connection-status-notify) is worth nothing to anyone else.

// deviceNonceLen and deviceMACLen are the hex lengths of an id's parts.
const (
	deviceNonceLen = 16
	deviceMACLen   = 32
)

// Defaults of the per-session caps.
const (
	DefaultMaxStreamsPerSession = 20
	DefaultMaxDevicesPerSession = 10
)

// newDeviceID issues a device id bound to the session sid.
func (s *Server) newDeviceID(sid string) string {
	b := make([]byte, deviceNonceLen/2)
	rand.Read(b)
	nonce := hex.EncodeToString(b)
	return nonce + "-" + s.deviceMAC(sid, nonce)
}

func (s *Server) deviceMAC(sid, nonce string) string {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write([]byte("callbridge device\x00"))
	m.Write([]byte(sid))
	m.Write([]byte{0})
	m.Write([]byte(nonce))
	return hex.EncodeToString(m.Sum(nil))[:deviceMACLen]
}

// deviceOfSession tells whether id was issued to the session sid.
func (s *Server) deviceOfSession(sid, id string) bool {
	nonce, mac, ok := strings.Cut(id, "-")
	if !ok || len(nonce) != deviceNonceLen || len(mac) != deviceMACLen || sid == "" {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(s.deviceMAC(sid, nonce)))
}

var (
	errDeviceNotYours = &httperror.Error{Status: http.StatusForbidden, Code: "DeviceNotYours",
		Message: "this device belongs to another session: reload the widget"}
	errDeviceMalformed = &httperror.Error{Status: http.StatusBadRequest, Code: "InvalidParameter",
		Message: "deviceId is missing or malformed"}
)

// checkDevice checks that id names a device issued to the session sid.
func (s *Server) checkDevice(sid, id string) error {
	if !deviceIDPattern.MatchString(id) {
		return errDeviceMalformed
	}
	if !s.deviceOfSession(sid, id) {
		return errDeviceNotYours
	}
	return nil
}

type deviceResponse struct {
	DeviceID string `json:"deviceId"`
}

// issueDevice answers POST /widget/devices: a new device id for this tab,
// bound to the signed-in session. It becomes a phone the switch rings when
// the tab opens its event stream with it.
func (s *Server) issueDevice(c echo.Context) error {
	return c.JSON(http.StatusOK, deviceResponse{DeviceID: s.newDeviceID(userOf(c).Session.ID)})
}

// deviceGrace keeps a device registered this long after its stream closed,
// so a reconnecting stream does not hang up its calls.
const deviceGrace = 15 * time.Second

// devices counts the open streams of each device and of each session, caps
// both, and unregisters a device from the switch only when it has had no
// stream for deviceGrace.
type devices struct {
	maxStreams, maxDevices int // per session

	mu         sync.Mutex
	streams    map[string]int         // open streams per device
	timers     map[string]*time.Timer // devices in their grace period
	owner      map[string]string      // session of each registered device
	bySession  map[string]map[string]struct{}
	sessStream map[string]int // open streams per session
	pending    sync.WaitGroup // grace timers not yet stopped or run
	stopped    bool           // the server is shutting down: no new grace periods
}

var (
	errTooManyStreams = &httperror.Error{Status: http.StatusTooManyRequests, Code: "TooManyStreams",
		Message: "this session has too many event streams open: close a widget tab", RetryAfter: httperror.CapRetryAfter}
	errTooManyDevices = &httperror.Error{Status: http.StatusTooManyRequests, Code: "TooManyDevices",
		Message: "this session has too many phones registered: close a widget tab", RetryAfter: httperror.CapRetryAfter}
	errDeviceTaken = &httperror.Error{Status: http.StatusForbidden, Code: "DeviceNotYours",
		Message: "this device is registered to another user: reload the widget"}
)

func (d *devices) init() {
	if d.streams == nil {
		d.streams, d.timers = map[string]int{}, map[string]*time.Timer{}
		d.owner, d.bySession, d.sessStream = map[string]string{}, map[string]map[string]struct{}{}, map[string]int{}
	}
}

// openStream counts a stream of session sid against its cap.
func (d *devices) openStream(sid string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.init()
	if d.sessStream[sid] >= d.maxStreams {
		return errTooManyStreams
	}
	d.sessStream[sid]++
	return nil
}

func (d *devices) closeStream(sid string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sessStream[sid]--; d.sessStream[sid] <= 0 {
		delete(d.sessStream, sid)
	}
}

// attach registers dev with the switch for the stream of session sid. A
// device registered for another session, or by the switch to another
// extension, is refused and left as it is.
func (d *devices) attach(sw Switch, sid string, dev telephony.Device) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.init()
	if o, ok := d.owner[dev.ID]; ok && o != sid {
		return errDeviceTaken
	}
	if _, known := d.bySession[sid][dev.ID]; !known && len(d.bySession[sid]) >= d.maxDevices {
		return errTooManyDevices
	}
	if err := sw.RegisterDevice(dev); err != nil {
		return err // telephony.ErrDeviceTaken: 403 DeviceNotYours
	}
	if t := d.timers[dev.ID]; t != nil {
		if t.Stop() {
			d.pending.Done()
		}
		delete(d.timers, dev.ID)
	}
	d.owner[dev.ID] = sid
	if d.bySession[sid] == nil {
		d.bySession[sid] = map[string]struct{}{}
	}
	d.bySession[sid][dev.ID] = struct{}{}
	d.streams[dev.ID]++
	return nil
}

func (d *devices) detach(sw Switch, id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.streams[id]--; d.streams[id] > 0 {
		return
	}
	delete(d.streams, id)
	if d.stopped {
		return
	}
	d.pending.Add(1)
	d.timers[id] = time.AfterFunc(deviceGrace, func() {
		defer d.pending.Done()
		d.mu.Lock()
		if d.streams[id] > 0 || d.stopped {
			d.mu.Unlock()
			return
		}
		delete(d.timers, id)
		sid := d.owner[id]
		delete(d.owner, id)
		if delete(d.bySession[sid], id); len(d.bySession[sid]) == 0 {
			delete(d.bySession, sid)
		}
		d.mu.Unlock()
		sw.UnregisterDevice(id)
	})
}

// stop ends every grace period at shutdown and waits for a timer already
// running: once it returns, no device is unregistered from here.
func (d *devices) stop() {
	d.mu.Lock()
	d.stopped = true
	for id, t := range d.timers {
		if t.Stop() {
			d.pending.Done()
		}
		delete(d.timers, id)
	}
	d.mu.Unlock()
	d.pending.Wait()
}
