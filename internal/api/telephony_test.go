package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
)

// demoDirectory is the switch's directory of the demo account as
// identity.SeedDemo creates it: extension ids by number, their direct
// numbers, the main number reaching the administrator.
type demoDirectory struct {
	ids map[string]int64 // extension number → id
}

var demoNames = map[string]string{"101": "Alice Adams", "102": "Bob Brown", "103": "Carol Chen"}

func (d demoDirectory) number(id int64) string {
	for n, v := range d.ids {
		if v == id {
			return n
		}
	}
	return ""
}

func (d demoDirectory) Lookup(ctx context.Context, caller int64, n string) (telephony.Endpoint, bool, error) {
	ext, ok := strings.CutPrefix(n, "+16505550")
	switch {
	case n == identity.DemoMainNumber:
		ext = "101"
	case !ok:
		ext = n
	}
	if _, known := d.ids[ext]; !known {
		return telephony.Endpoint{}, false, nil
	}
	ep, err := d.Describe(ctx, d.ids[ext])
	return ep, err == nil, err
}

func (d demoDirectory) Describe(ctx context.Context, id int64) (telephony.Endpoint, error) {
	n := d.number(id)
	if n == "" {
		return telephony.Endpoint{}, fmt.Errorf("extension %d: not found", id)
	}
	return telephony.Endpoint{PhoneNumber: "+16505550" + n, Name: demoNames[n], ExtensionNumber: n, ExtensionID: id}, nil
}

func (demoDirectory) Region(context.Context, int64) (string, error) { return "US", nil }

// nullMedia answers every leg and carries no audio: the fuzzed requests
// never get as far as media from a browser.
type nullMedia struct{}

func (nullMedia) OpenLeg(context.Context, string, string, telephony.LegKind) (string, error) {
	return "v=0", nil
}
func (nullMedia) Connect(string, string) error { return nil }
func (nullMedia) SetForward(string, bool)      {}
func (nullMedia) CloseLeg(string)              {}

// telephonyAPI is the API's telephony routes with the real switch over the
// seeded demo account, and the caller chosen per request (the bearer
// middleware is tested with real tokens in internal/server).
type telephonyAPI struct {
	handler http.Handler
	sw      *telephony.Switch
	callers map[string]apiCaller // by email
}

func newTelephonyAPI(t testing.TB) *telephonyAPI { return newTelephonyAPIWith(t, nullMedia{}) }

// newTelephonyAPIWith is newTelephonyAPI with the switch's media.
func newTelephonyAPIWith(t testing.TB, media telephony.Media) *telephonyAPI {
	t.Helper()
	ctx := context.Background()
	var sw *telephony.Switch
	env := newTestEnvWith(t, func(d *Deps, _ *store.DB) {
		if err := d.Directory.SeedDemo(ctx); err != nil {
			t.Fatal(err)
		}
		ids := map[string]int64{}
		for n, email := range map[string]string{"101": "alice@demo.test", "102": "bob@demo.test", "103": "carol@demo.test"} {
			_, x, err := d.Directory.ExtensionByEmail(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			ids[n] = x.ID
		}
		pres := presence.New(presence.Config{}, nil)
		sw = telephony.New(telephony.Config{RingTimeout: time.Minute, Logger: slog.New(slog.DiscardHandler)},
			demoDirectory{ids}, media, telephony.NewBus(), pres, nil)
		d.Switch, d.Presence = sw, pres
	})
	t.Cleanup(func() { sw.Close(ctx) })
	api := &telephonyAPI{sw: sw, callers: map[string]apiCaller{}}
	for _, email := range []string{"alice@demo.test", "bob@demo.test", "carol@demo.test"} {
		a, x, err := env.srv.Directory.ExtensionByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		api.callers[email] = apiCaller{a, x}
	}
	e := echo.New()
	e.HTTPErrorHandler = httperror.Handler(env.srv.log)
	as := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			who, ok := api.callers[c.Request().Header.Get("X-Test-Caller")]
			if !ok {
				return &httperror.Error{Status: http.StatusUnauthorized, Code: "TokenMissing", Message: "no caller"}
			}
			c.Set(string(extensionKey), who)
			return next(c)
		}
	}
	env.srv.telephonyAPIRoutes(e.Group("/restapi/v1.0"), []echo.MiddlewareFunc{as})
	api.handler = e
	return api
}

// do sends one request as the user with that email and returns the recorder.
func (api *telephonyAPI) do(method, path, body, email string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-Caller", email)
	rec := httptest.NewRecorder()
	api.handler.ServeHTTP(rec, req)
	return rec
}

// TestTelephonyRequestErrors checks how the RingOut and call-control
// endpoints answer bad requests: status, errorCode and parameter.
func TestTelephonyRequestErrors(t *testing.T) {
	api := newTelephonyAPI(t)
	ro := api.do("POST", "/restapi/v1.0/account/~/extension/~/ring-out",
		`{"from":{"phoneNumber":"+15550107"},"to":{"phoneNumber":"+15550100"}}`, "bob@demo.test")
	if ro.Code != http.StatusOK {
		t.Fatalf("RingOut: %d %s", ro.Code, ro.Body)
	}
	var body apiRingOut
	decodeJSON(t, ro.Body.String(), &body)
	session := "/restapi/v1.0/account/~/telephony/sessions/" + body.TelephonySessionID
	s, _ := api.sw.Session(body.TelephonySessionID)
	from, to := s.Parties[0].ID, s.Parties[1].ID

	const ringOut = "/restapi/v1.0/account/~/extension/~/ring-out"
	tests := []struct {
		name, method, path, body, who string
		status                        int
		code, param                   string
	}{
		{"no from", "POST", ringOut, `{"to":{"phoneNumber":"102"}}`, "bob@demo.test", 400, "InvalidParameter", "from.phoneNumber"},
		{"empty to", "POST", ringOut, `{"from":{"phoneNumber":"102"},"to":{"phoneNumber":" "}}`, "bob@demo.test", 400, "InvalidParameter", "to.phoneNumber"},
		{"letters", "POST", ringOut, `{"from":{"phoneNumber":"call me"},"to":{"phoneNumber":"101"}}`, "bob@demo.test", 400, "InvalidParameter", "from.phoneNumber"},
		{"long", "POST", ringOut, `{"from":{"phoneNumber":"102"},"to":{"phoneNumber":"` + strings.Repeat("1", 65) + `"}}`, "bob@demo.test", 400, "InvalidParameter", "to.phoneNumber"},
		{"number as a number", "POST", ringOut, `{"from":{"phoneNumber":102}}`, "bob@demo.test", 400, "InvalidParameter", "from.phoneNumber"},
		{"playPrompt not a boolean", "POST", ringOut, `{"from":{"phoneNumber":"102"},"to":{"phoneNumber":"101"},"playPrompt":"yes"}`, "bob@demo.test", 400, "InvalidParameter", "playPrompt"},
		{"unknown field", "POST", ringOut, `{"from":{"phoneNumber":"102"},"to":{"phoneNumber":"101"},"country":{"id":"1"}}`, "bob@demo.test", 400, "InvalidParameter", "country"},
		{"caller id of another", "POST", ringOut, `{"from":{"phoneNumber":"102"},"to":{"phoneNumber":"101"},"callerId":{"phoneNumber":"+16505550101"}}`, "bob@demo.test", 400, "InvalidParameter", "callerId.phoneNumber"},
		{"another extension's number as from", "POST", ringOut, `{"from":{"phoneNumber":"+16505550101"},"to":{"phoneNumber":"+15550100"}}`, "bob@demo.test", 400, "InvalidParameter", "from.phoneNumber"},
		{"not JSON", "POST", ringOut, `{"from":`, "bob@demo.test", 400, "InvalidJSON", ""},
		{"another account", "POST", "/restapi/v1.0/account/999/extension/~/ring-out", `{}`, "bob@demo.test", 404, "NotFound", ""},
		{"another extension, not admin", "POST", "/restapi/v1.0/account/~/extension/1/ring-out", `{}`, "bob@demo.test", 403, "InsufficientPermissions", ""},
		{"unknown RingOut", "GET", ringOut + "/12345", "", "bob@demo.test", 404, "NotFound", ""},
		{"malformed RingOut id", "GET", ringOut + "/abc", "", "bob@demo.test", 404, "NotFound", ""},
		{"another's RingOut", "GET", ringOut + "/" + body.ID, "", "carol@demo.test", 404, "NotFound", ""},
		{"cancel another's RingOut", "DELETE", ringOut + "/" + body.ID, "", "carol@demo.test", 404, "NotFound", ""},
		{"session of others", "GET", session, "", "carol@demo.test", 404, "NotFound", ""},
		{"unknown session", "GET", "/restapi/v1.0/account/~/telephony/sessions/s-0000", "", "bob@demo.test", 404, "NotFound", ""},
		{"unknown party", "GET", session + "/parties/p-0000", "", "bob@demo.test", 404, "NotFound", ""},
		{"the test line's party", "POST", session + "/parties/" + to + "/hold", "", "bob@demo.test", 403, "InsufficientPermissions", ""},
		{"hold while ringing", "POST", session + "/parties/" + from + "/hold", "", "bob@demo.test", 409, "InvalidState", ""},
		{"PATCH without muted", "PATCH", session + "/parties/" + from, `{}`, "bob@demo.test", 400, "InvalidParameter", "muted"},
		{"PATCH with another field", "PATCH", session + "/parties/" + from, `{"standAlone":true}`, "bob@demo.test", 400, "InvalidParameter", "standAlone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := api.do(tt.method, tt.path, tt.body, tt.who)
			wantError(t, rec, tt.status, tt.code, tt.param)
		})
	}
	// The admin of the account sees and controls Bob's party; then Bob cancels.
	if rec := api.do("GET", session, "", "alice@demo.test"); rec.Code != http.StatusOK {
		t.Fatalf("admin reads the session: %d %s", rec.Code, rec.Body)
	}
	if rec := api.do("POST", session+"/parties/"+from+"/reject", "", "alice@demo.test"); rec.Code != http.StatusOK {
		t.Fatalf("admin rejects Bob's ringing party: %d %s", rec.Code, rec.Body)
	}
	wantError(t, api.do("DELETE", ringOut+"/"+body.ID, "", "bob@demo.test"), 409, "RingOutNotInProgress", "")
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := params.Decoder(strings.NewReader(s)).Decode(v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
}

func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code, param string) {
	t.Helper()
	var e httperror.Body
	if err := params.Decoder(rec.Body).Decode(&e); err != nil {
		t.Fatalf("status %d, body not an error: %v", rec.Code, err)
	}
	if rec.Code != status || e.ErrorCode != code || e.Message == "" || len(e.Errors) != 1 || e.Errors[0].ParameterName != param {
		t.Fatalf("status %d %+v, want %d %s naming %q", rec.Code, e, status, code, param)
	}
}

// FuzzTelephonyRequests sends arbitrary bodies and path parameters to the
// RingOut and telephony session endpoints, served by the real switch:
// whatever arrives, the answer is a JSON error or success (204 for a
// cancel or a delete), never a panic or a 5xx. The widget's RingOut endpoints have
// FuzzWidgetRingOutRequests (internal/web).
func FuzzTelephonyRequests(f *testing.F) {
	const ro = "/restapi/v1.0/account/~/extension/~/ring-out"
	const ts = "/restapi/v1.0/account/~/telephony/sessions/"
	f.Add("POST", ro, `{"from":{"phoneNumber":"+15550100"},"to":{"phoneNumber":"+15550101"},"playPrompt":true}`, true)
	f.Add("POST", ro, `{"from":{"phoneNumber":"102"},"to":{"phoneNumber":"1800CALFEDE"},"callerId":{"phoneNumber":"+16505550100"}}`, false)
	f.Add("POST", ro, `{"from":{"phoneNumber":"+16505550103"},"to":{"phoneNumber":"+15550102"}}`, false)
	f.Add("POST", ro, `{"from":null,"to":[]}`, true)
	f.Add("GET", ro+"/1", "", true)
	f.Add("DELETE", ro+"/99999999999999999999", "", false)
	f.Add("GET", ts+"s-0123456789abcdef", "", true)
	f.Add("POST", ts+"s-0/parties/p-0/hold", "", false)
	f.Add("PATCH", ts+"s-0/parties/p-0", `{"muted":true}`, true)
	f.Add("POST", ts+"s-0/parties/p-0/transfer", `{"phoneNumber":"+16505550103"}`, false)
	f.Add("POST", ts+"s-0/parties/p-0/transfer", `{"phoneNumber":"103","extensionNumber":"103"}`, true)
	f.Add("POST", ts+"s-0/parties/p-0/forward", `{"extensionNumber":"1"}`, false)
	f.Add("POST", ts+"s-0/parties/p-0/forward", `{"extensionNumber":null}`, true)
	f.Add("POST", ts+"s-0/parties/p-0/ignore", `{"deviceId":""}`, false)
	f.Add("POST", ts+"s-0/parties/p-0/ignore", `{"deviceId":["a1"]}`, true)
	f.Add("POST", "/restapi/v1.0/account/~/telephony/conference", `{"sessionId":"s-0","partyId":"p-0"}`, false)
	f.Add("POST", ts+"s-0/parties/bring-in", `{"sessionId":"s-1","partyId":null}`, true)
	f.Add("DELETE", ts+"s-0/parties/p-0", "", false)
	f.Add("DELETE", ts+"s-0", "", true)
	api := newTelephonyAPI(f)
	f.Fuzz(func(t *testing.T, method, path, body string, admin bool) {
		if !strings.HasPrefix(path, "/restapi/v1.0/account/") || strings.ContainsAny(path, " ?#%") {
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
		who := "bob@demo.test"
		if admin {
			who = "alice@demo.test"
		}
		rec := api.do(method, path, body, who)
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
