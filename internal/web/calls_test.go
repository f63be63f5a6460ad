package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/callbridge/widget-server/internal/phonenumber"
	"github.com/callbridge/widget-server/internal/telephony"
)

// stubSwitch stands in for the switch (tested in internal/telephony and, with
// the real gateway, in e2e) so the call endpoints' input handling is fuzzed
// alone.
type stubSwitch struct{}

func (stubSwitch) RegisterDevice(telephony.Device) error { return nil }
func (stubSwitch) UnregisterDevice(string)               {}
func (stubSwitch) Devices(int64) []string                { return nil }
func (stubSwitch) Dial(_ context.Context, device, to, sdp string) (telephony.Session, string, error) {
	if _, err := phonenumber.Normalize(to, "US"); err != nil {
		return telephony.Session{}, "", telephony.ErrBadNumber
	}
	return telephony.Session{ID: "s-1"}, "v=0", nil
}
func (stubSwitch) Answer(context.Context, string, string, string) (telephony.Session, string, error) {
	return telephony.Session{}, "", telephony.ErrNoSuchCall
}
func (stubSwitch) Reject(context.Context, string, string) error     { return telephony.ErrNoSuchCall }
func (stubSwitch) Hangup(context.Context, string, string) error     { return telephony.ErrNoSuchCall }
func (stubSwitch) Hold(context.Context, string, string) error       { return telephony.ErrInvalidState }
func (stubSwitch) Unhold(context.Context, string, string) error     { return telephony.ErrInvalidState }
func (stubSwitch) Mute(context.Context, string, string, bool) error { return telephony.ErrNoSuchCall }
func (stubSwitch) Sessions(int64) []telephony.Session               { return nil }
func (stubSwitch) Session(string) (telephony.Session, bool)         { return telephony.Session{}, false }

// The stand-in switch refuses RingOuts; the real switch serves the API's
// FuzzTelephonyRequests (internal/api).
func (stubSwitch) RingOut(context.Context, int64, string, string, string, bool) (telephony.RingOut, error) {
	return telephony.RingOut{}, telephony.ErrBadNumber
}
func (stubSwitch) CancelRingOut(context.Context, int64, string) (telephony.RingOut, error) {
	return telephony.RingOut{}, telephony.ErrNoSuchCall
}

// FuzzCallRequests sends arbitrary bodies to the call endpoints the widget
// uses for host commands (rc-adapter-new-call, rc-adapter-control-call):
// whatever arrives, the answer is a JSON error or success, never a panic or
// a 5xx.
func FuzzCallRequests(f *testing.F) {
	f.Add("/widget/calls", `{"deviceId":"0123456789abcdef","to":"102","sdp":"v=0"}`)
	f.Add("/widget/calls", `{"deviceId":"x","to":"","sdp":""}`)
	f.Add("/widget/calls/s-1/answer", `{"deviceId":"0123456789abcdef","sdp":"v=0"}`)
	f.Add("/widget/calls/s-1/hold", `{"deviceId":"0123456789abcdef"}`)
	f.Add("/widget/calls/s-1/frobnicate", `{}`)
	f.Add("/widget/calls", `{"deviceId":"0123456789abcdef","to":"1800CALFEDE","sdp":"v=0","extra":1}`)
	f.Add("/widget/calls", `[`)
	env := newTestEnvWith(f, func(d *Deps) { d.Switch = stubSwitch{} })
	f.Fuzz(func(t *testing.T, path, body string) {
		if !strings.HasPrefix(path, "/widget/calls") || strings.ContainsAny(path, " ?#%") {
			return
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			return
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(widgetHeader, "1")
		req.Header.Set(clientHeader, "demo")
		rec := httptest.NewRecorder()
		env.srv.Widget().ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: status %d %s", path, body, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("%s %q: content type %q", path, body, ct)
		}
	})
}

// FuzzWidgetRingOutRequests sends arbitrary bodies and ids to the widget's
// RingOut endpoints: whatever arrives, the answer is a JSON error or
// success (204 for a cancel), never a panic or a 5xx.
func FuzzWidgetRingOutRequests(f *testing.F) {
	f.Add("POST", "/widget/ringout", `{"from":"102","to":"+15550100"}`)
	f.Add("DELETE", "/widget/ringout/1", "")
	f.Add("POST", "/widget/ringout", `{"from":1}`)
	f.Add("DELETE", "/widget/ringout/99999999999999999999999999", "")
	env := newTestEnvWith(f, func(d *Deps) { d.Switch = stubSwitch{} })
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/widget/ringout") || strings.ContainsAny(path, " ?#%") {
			return
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			return
		}
		switch method {
		case "GET", "POST", "PATCH", "DELETE", "PUT":
		default:
			return
		}
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(widgetHeader, "1")
		req.Header.Set(clientHeader, "demo")
		rec := httptest.NewRecorder()
		env.srv.Widget().ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: status %d %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Code == http.StatusNoContent {
			return
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("%s %s %q: %d, content type %q", method, path, body, rec.Code, ct)
		}
	})
}
