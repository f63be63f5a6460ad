package api

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/telephony"
)

// warmTransfer has Alice (a1) on a call from Bob, held, and on a consult
// she placed to Carol, who answered: the two sessions.
func (api *telephonyAPI) warmTransfer(t *testing.T) (withBob, withCarol telephony.Session) {
	t.Helper()
	ctx := context.Background()
	withBob, _ = api.ringing(t)
	if _, _, err := api.sw.Answer(ctx, "a1", withBob.ID, "offer-a1"); err != nil {
		t.Fatal(err)
	}
	withCarol, _, err := api.sw.Dial(ctx, "a1", "103", "offer-a1-2") // holds the call with Bob
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.sw.Answer(ctx, "c1", withCarol.ID, "offer-c1"); err != nil {
		t.Fatal(err)
	}
	return withBob, withCarol
}

// TestBridgeThroughAPIRefusals: the requests the completion of a warm
// transfer refuses, each changing nothing.
func TestBridgeThroughAPIRefusals(t *testing.T) {
	ctx := context.Background()
	api := newTelephonyAPI(t)
	api.devices(t, "alice@demo.test", "a1")
	api.devices(t, "bob@demo.test", "b1")
	api.devices(t, "carol@demo.test", "c1")
	withBob, withCarol := api.warmTransfer(t)
	alice1, alice2 := api.partyOf(t, withBob.ID, "alice@demo.test"), api.partyOf(t, withCarol.ID, "alice@demo.test")
	bob, carol := api.partyOf(t, withBob.ID, "bob@demo.test"), api.partyOf(t, withCarol.ID, "carol@demo.test")
	ringing, _, err := api.sw.Dial(ctx, "c1", "101", "offer-c1-2") // rings Alice's a1
	if err != nil {
		t.Fatal(err)
	}
	alice3 := api.partyOf(t, ringing.ID, "alice@demo.test")
	bridge := partyPath(withBob.ID, alice1.ID) + "/bridge"
	body := func(sessionID, partyID string) string {
		return `{"telephonySessionId":"` + sessionID + `","partyId":"` + partyID + `"}`
	}
	tests := []struct {
		name, path, body, who string
		status                int
		code, param           string
	}{
		{"no body", bridge, ``, "alice@demo.test", 400, "InvalidJSON", ""},
		{"no session", bridge, `{"partyId":"` + alice2.ID + `"}`, "alice@demo.test", 400, "InvalidParameter", "telephonySessionId"},
		{"no party", bridge, `{"telephonySessionId":"` + withCarol.ID + `"}`, "alice@demo.test", 400, "InvalidParameter", "partyId"},
		{"empty party", bridge, body(withCarol.ID, ""), "alice@demo.test", 400, "InvalidParameter", "partyId"},
		{"session as a number", bridge, `{"telephonySessionId":7,"partyId":"p"}`, "alice@demo.test", 400, "InvalidParameter", "telephonySessionId"},
		{"unknown field", bridge, `{"telephonySessionId":"s","partyId":"p","warm":true}`, "alice@demo.test", 400, "InvalidParameter", "warm"},
		{"the same session", bridge, body(withBob.ID, alice1.ID), "alice@demo.test", 400, "InvalidParameter", "telephonySessionId"},
		{"unknown other session", bridge, body("s-0000", alice2.ID), "alice@demo.test", 404, "NotFound", "telephonySessionId"},
		{"unknown other party", bridge, body(withCarol.ID, "p-0000"), "alice@demo.test", 404, "NotFound", "partyId"},
		{"another's party in the other session", bridge, body(withCarol.ID, carol.ID), "alice@demo.test", 403, "InsufficientPermissions", "partyId"},
		{"a session not one's own", bridge, body(withCarol.ID, alice2.ID), "carol@demo.test", 404, "NotFound", ""},
		{"another's party, not admin", partyPath(withCarol.ID, alice2.ID) + "/bridge", body(withBob.ID, alice1.ID), "carol@demo.test", 403, "InsufficientPermissions", ""},
		{"another's party, by an admin", partyPath(withBob.ID, bob.ID) + "/bridge", body(withCarol.ID, carol.ID), "alice@demo.test", 403, "InsufficientPermissions", ""},
		{"with a session of others", partyPath(withBob.ID, bob.ID) + "/bridge", body(withCarol.ID, carol.ID), "bob@demo.test", 404, "NotFound", "telephonySessionId"},
		{"with a ringing party", bridge, body(ringing.ID, alice3.ID), "alice@demo.test", 409, "InvalidState", ""},
		{"unknown session", partyPath("s-0000", alice1.ID) + "/bridge", body(withCarol.ID, alice2.ID), "alice@demo.test", 404, "NotFound", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, api.do("POST", tt.path, tt.body, tt.who), tt.status, tt.code, tt.param)
			if p := api.partyOf(t, withBob.ID, "alice@demo.test"); p.ID != alice1.ID || p.Status != telephony.StatusHold {
				t.Fatalf("the refused bridge changed Alice's held party: %+v", p)
			}
			if p := api.partyOf(t, withCarol.ID, "alice@demo.test"); p.ID != alice2.ID || p.Status != telephony.StatusAnswered {
				t.Fatalf("the refused bridge changed Alice's consult: %+v", p)
			}
		})
	}
}

// TestBridgeThroughAPI: Alice completes her warm transfer: Bob and Carol
// are connected in Bob's session, which the answer shows, and Alice has
// left both calls. It needs the switch's Bridge.
func TestBridgeThroughAPI(t *testing.T) {
	api := newTelephonyAPI(t)
	api.devices(t, "alice@demo.test", "a1")
	api.devices(t, "bob@demo.test", "b1")
	api.devices(t, "carol@demo.test", "c1")
	withBob, withCarol := api.warmTransfer(t)
	alice1, alice2 := api.partyOf(t, withBob.ID, "alice@demo.test"), api.partyOf(t, withCarol.ID, "alice@demo.test")
	rec := api.do("POST", partyPath(withBob.ID, alice1.ID)+"/bridge",
		`{"telephonySessionId":"`+withCarol.ID+`","partyId":"`+alice2.ID+`"}`, "alice@demo.test")
	if rec.Code != http.StatusOK {
		t.Fatalf("bridge: %d %s", rec.Code, rec.Body)
	}
	var body apiTelephonySession
	decodeJSON(t, rec.Body.String(), &body)
	bob := strconv.FormatInt(api.callers["bob@demo.test"].Extension.ID, 10)
	if body.ID != withBob.ID || len(body.Parties) != 1 || body.Parties[0].Status.Code != "Answered" ||
		body.Parties[0].Owner == nil || body.Parties[0].Owner.ExtensionID != bob {
		t.Fatalf("the session after the bridge: %s", rec.Body)
	}
	if ts, ok := api.sw.Session(withCarol.ID); !ok || len(ts.Parties) != 1 || ts.Parties[0].Owner != api.callers["carol@demo.test"].Extension.ID ||
		ts.Parties[0].Status != telephony.StatusAnswered {
		t.Fatalf("the consultation after the bridge: %+v", ts)
	}
	if calls := api.sw.Sessions(api.callers["alice@demo.test"].Extension.ID); len(calls) != 0 {
		t.Fatalf("Alice still has calls: %+v", calls)
	}
}

// TestPickupAndFlipThroughAPIRefusals: the requests that moving a call to
// another device refuses, each changing nothing.
func TestPickupAndFlipThroughAPIRefusals(t *testing.T) {
	ctx := context.Background()
	api := newTelephonyAPI(t)
	api.devices(t, "alice@demo.test", "a1", "a2")
	api.devices(t, "bob@demo.test", "b1")
	api.devices(t, "carol@demo.test", "c1")
	s, alice := api.ringing(t)
	pickup, flip := partyPath(s.ID, alice.ID)+"/pickup", partyPath(s.ID, alice.ID)+"/flip"
	wantError(t, api.do("POST", pickup, `{"deviceId":"a2"}`, "alice@demo.test"), 409, "InvalidState", "")
	wantError(t, api.do("POST", flip, ``, "alice@demo.test"), 409, "InvalidState", "")
	if _, _, err := api.sw.Answer(ctx, "a1", s.ID, "offer-a1"); err != nil {
		t.Fatal(err)
	}
	bob := api.partyOf(t, s.ID, "bob@demo.test")
	tests := []struct {
		name, path, body, who string
		status                int
		code, param           string
	}{
		{"pickup: no body", pickup, ``, "alice@demo.test", 400, "InvalidJSON", ""},
		{"pickup: no device", pickup, `{}`, "alice@demo.test", 400, "InvalidParameter", "deviceId"},
		{"pickup: empty device", pickup, `{"deviceId":""}`, "alice@demo.test", 400, "InvalidParameter", "deviceId"},
		{"pickup: device as a number", pickup, `{"deviceId":7}`, "alice@demo.test", 400, "InvalidParameter", "deviceId"},
		{"pickup: unknown field", pickup, `{"deviceId":"a2","callFlipId":"1"}`, "alice@demo.test", 400, "InvalidParameter", "callFlipId"},
		{"pickup: the device it is on", pickup, `{"deviceId":"a1"}`, "alice@demo.test", 400, "InvalidParameter", "deviceId"},
		{"pickup: another's device", pickup, `{"deviceId":"c1"}`, "alice@demo.test", 400, "InvalidParameter", "deviceId"},
		{"pickup: an unknown device", pickup, `{"deviceId":"a9"}`, "alice@demo.test", 400, "InvalidParameter", "deviceId"},
		{"pickup: another's party", pickup, `{"deviceId":"a2"}`, "bob@demo.test", 403, "InsufficientPermissions", ""},
		{"pickup: a session not one's own", pickup, `{"deviceId":"a2"}`, "carol@demo.test", 404, "NotFound", ""},
		{"pickup: unknown party", partyPath(s.ID, "p-0000") + "/pickup", `{"deviceId":"a2"}`, "alice@demo.test", 404, "NotFound", ""},
		{"flip: not JSON", flip, `{"deviceId":`, "alice@demo.test", 400, "InvalidJSON", ""},
		{"flip: the device it is on", flip, `{"deviceId":"a1"}`, "alice@demo.test", 400, "InvalidParameter", "deviceId"},
		{"flip: another's device", flip, `{"deviceId":"b1"}`, "alice@demo.test", 400, "InvalidParameter", "deviceId"},
		{"flip: another's party", flip, `{}`, "bob@demo.test", 403, "InsufficientPermissions", ""},
		{"flip: a session not one's own", flip, ``, "carol@demo.test", 404, "NotFound", ""},
		{"flip: no other device", partyPath(s.ID, bob.ID) + "/flip", ``, "bob@demo.test", 409, "TargetUnreachable", ""},
		{"flip: no other device, by an admin", partyPath(s.ID, bob.ID) + "/flip", `{}`, "alice@demo.test", 409, "TargetUnreachable", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, api.do("POST", tt.path, tt.body, tt.who), tt.status, tt.code, tt.param)
			if p := api.partyOf(t, s.ID, "alice@demo.test"); p.ID != alice.ID || p.Device != "a1" || p.Status != telephony.StatusAnswered {
				t.Fatalf("the refused move changed Alice's party: %+v", p)
			}
		})
	}
}

// TestPickupAndFlipThroughAPI: pickup rings the device named, flip all the
// others; the party stays on its device meanwhile, and answering on one
// moves the call there. It needs the switch's Move.
func TestPickupAndFlipThroughAPI(t *testing.T) {
	ctx := context.Background()
	api := newTelephonyAPI(t)
	api.devices(t, "alice@demo.test", "a1", "a2", "a3")
	api.devices(t, "bob@demo.test", "b1")
	s, alice := api.ringing(t)
	if _, _, err := api.sw.Answer(ctx, "a1", s.ID, "offer-a1"); err != nil {
		t.Fatal(err)
	}
	rings := func() []string {
		ts, _ := api.sw.Session(s.ID)
		var out []string
		for _, p := range ts.Parties {
			out = append(out, p.Offered...)
		}
		slices.Sort(out)
		return out
	}
	moved := func(device string) {
		t.Helper()
		if _, _, err := api.sw.Answer(ctx, device, s.ID, "offer-"+device); err != nil {
			t.Fatal(err)
		}
		if p := api.partyOf(t, s.ID, "alice@demo.test"); p.Device != device || p.Status != telephony.StatusAnswered {
			t.Fatalf("Alice's party after the answer on %s: %+v", device, p)
		}
		if p := api.partyOf(t, s.ID, "bob@demo.test"); p.Status != telephony.StatusAnswered {
			t.Fatalf("Bob's party after the move: %+v", p)
		}
	}

	rec := api.do("POST", partyPath(s.ID, alice.ID)+"/pickup", `{"deviceId":"a2"}`, "alice@demo.test")
	if rec.Code != http.StatusOK {
		t.Fatalf("pickup: %d %s", rec.Code, rec.Body)
	}
	var party bridge.SessionParty
	if decodeJSON(t, rec.Body.String(), &party); party.ID != alice.ID || party.Status.Code != "Answered" {
		t.Fatalf("pickup answered the party %s", rec.Body)
	}
	if got := rings(); !slices.Equal(got, []string{"a2"}) {
		t.Fatalf("after pickup the call rings %v, want a2", got)
	}
	moved("a2")

	on := api.partyOf(t, s.ID, "alice@demo.test")
	rec = api.do("POST", partyPath(s.ID, on.ID)+"/flip", ``, "alice@demo.test")
	if rec.Code != http.StatusOK {
		t.Fatalf("flip: %d %s", rec.Code, rec.Body)
	}
	if got := rings(); !slices.Equal(got, []string{"a1", "a3"}) {
		t.Fatalf("after flip the call rings %v, want a1 and a3", got)
	}
	moved("a3")
}

// FuzzBridgeAndMoveRequests sends arbitrary bodies to bridge, pickup and
// flip of Alice's connected party, served by the real switch: whatever
// arrives, the answer is a JSON error or success, never a panic or a 5xx.
func FuzzBridgeAndMoveRequests(f *testing.F) {
	f.Add("bridge", `{"telephonySessionId":"s-0","partyId":"p-0"}`, false)
	f.Add("bridge", `{"telephonySessionId":null,"partyId":["p"]}`, true)
	f.Add("pickup", `{"deviceId":"a2"}`, false)
	f.Add("pickup", `{"deviceId":"a1"}`, true)
	f.Add("flip", ``, false)
	f.Add("flip", `{"deviceId":null}`, true)
	api := newTelephonyAPI(f)
	for email, dev := range map[string]string{"alice@demo.test": "a1", "bob@demo.test": "b1"} {
		if err := api.sw.RegisterDevice(telephony.Device{ID: dev, ExtensionID: api.callers[email].Extension.ID}); err != nil {
			f.Fatal(err)
		}
	}
	s, _, err := api.sw.Dial(context.Background(), "b1", "101", "offer-b1")
	if err != nil {
		f.Fatal(err)
	}
	if _, _, err := api.sw.Answer(context.Background(), "a1", s.ID, "offer-a1"); err != nil {
		f.Fatal(err)
	}
	var alice string
	ts, _ := api.sw.Session(s.ID)
	for _, p := range ts.Parties {
		if p.Device == "a1" {
			alice = p.ID
		}
	}
	f.Fuzz(func(t *testing.T, action, body string, admin bool) {
		if action == "" || url.PathEscape(action) != action || strings.Contains(action, "/") {
			return
		}
		who := "bob@demo.test"
		if admin {
			who = "alice@demo.test"
		}
		rec := api.do("POST", partyPath(s.ID, alice)+"/"+action, body, who)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: status %d %s", action, body, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("%s %q: %d, content type %q", action, body, rec.Code, ct)
		}
	})
}
