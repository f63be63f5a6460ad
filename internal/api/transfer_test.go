package api

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/telephony"
)

// devices registers each device id for the user with that email.
func (api *telephonyAPI) devices(t *testing.T, email string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := api.sw.RegisterDevice(telephony.Device{ID: id, ExtensionID: api.callers[email].Extension.ID}); err != nil {
			t.Fatal(err)
		}
	}
}

// ringing has Bob (device b1) call Alice (101) and returns the session,
// still ringing, with Alice's party.
func (api *telephonyAPI) ringing(t *testing.T) (telephony.Session, telephony.Party) {
	t.Helper()
	s, _, err := api.sw.Dial(context.Background(), "b1", "101", "offer-b1")
	if err != nil {
		t.Fatal(err)
	}
	return s, api.partyOf(t, s.ID, "alice@demo.test")
}

// partyOf is the active party of the user in the session.
func (api *telephonyAPI) partyOf(t *testing.T, sessionID, email string) telephony.Party {
	t.Helper()
	s, ok := api.sw.Session(sessionID)
	if !ok {
		t.Fatalf("session %s ended", sessionID)
	}
	for _, p := range s.Parties {
		if p.Owner == api.callers[email].Extension.ID && p.Status != telephony.StatusDisconnected {
			return p
		}
	}
	t.Fatalf("no party of %s in %+v", email, s.Parties)
	return telephony.Party{}
}

func partyPath(sessionID, partyID string) string {
	return "/restapi/v1.0/account/~/telephony/sessions/" + sessionID + "/parties/" + partyID
}

// TestTransferThroughAPI: Alice, on a call with Bob, transfers it to
// Carol through the API: she leaves, Carol rings, and when Carol answers
// Bob and Carol are connected. Requests the switch must not act on change
// nothing.
func TestTransferThroughAPI(t *testing.T) {
	ctx := context.Background()
	api := newTelephonyAPI(t)
	api.devices(t, "alice@demo.test", "a1")
	api.devices(t, "bob@demo.test", "b1")
	api.devices(t, "carol@demo.test", "c1")
	s, alice := api.ringing(t)
	transfer := partyPath(s.ID, alice.ID) + "/transfer"

	wantError(t, api.do("POST", transfer, `{"extensionNumber":"103"}`, "alice@demo.test"), 409, "InvalidState", "")
	if _, _, err := api.sw.Answer(ctx, "a1", s.ID, "offer-a1"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, body, who string
		status          int
		code, param     string
	}{
		{"both fields", `{"phoneNumber":"+16505550103","extensionNumber":"103"}`, "alice@demo.test", 400, "InvalidParameter", "extensionNumber"},
		{"neither field", `{}`, "alice@demo.test", 400, "InvalidParameter", "phoneNumber"},
		{"empty number", `{"phoneNumber":" "}`, "alice@demo.test", 400, "InvalidParameter", "phoneNumber"},
		{"not a number", `{"phoneNumber":"call me"}`, "alice@demo.test", 400, "InvalidParameter", "phoneNumber"},
		{"number as a number", `{"phoneNumber":16505550103}`, "alice@demo.test", 400, "InvalidParameter", "phoneNumber"},
		{"extension of one digit", `{"extensionNumber":"1"}`, "alice@demo.test", 400, "InvalidParameter", "extensionNumber"},
		{"extension with letters", `{"extensionNumber":"10a"}`, "alice@demo.test", 400, "InvalidParameter", "extensionNumber"},
		{"unknown field", `{"phoneNumber":"103","voicemail":true}`, "alice@demo.test", 400, "InvalidParameter", "voicemail"},
		{"no body", ``, "alice@demo.test", 400, "InvalidJSON", ""},
		{"unknown extension", `{"extensionNumber":"199"}`, "alice@demo.test", 409, "TargetUnreachable", ""},
		{"unavailable test line", `{"phoneNumber":"+15550103"}`, "alice@demo.test", 409, "TargetUnreachable", ""},
		{"echo test line", `{"phoneNumber":"+15550101"}`, "alice@demo.test", 409, "InvalidState", ""},
		{"another's party", `{"extensionNumber":"103"}`, "bob@demo.test", 403, "InsufficientPermissions", ""},
		{"a session not one's own", `{"extensionNumber":"103"}`, "carol@demo.test", 404, "NotFound", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, api.do("POST", transfer, tt.body, tt.who), tt.status, tt.code, tt.param)
			if p := api.partyOf(t, s.ID, "alice@demo.test"); p.ID != alice.ID || p.Status != telephony.StatusAnswered {
				t.Fatalf("the refused transfer changed Alice's party: %+v", p)
			}
		})
	}

	rec := api.do("POST", transfer, `{"extensionNumber":"103"}`, "alice@demo.test")
	if rec.Code != http.StatusOK {
		t.Fatalf("transfer: %d %s", rec.Code, rec.Body)
	}
	var body apiTelephonySession
	decodeJSON(t, rec.Body.String(), &body)
	if body.ID != s.ID || len(body.Parties) != 2 || body.Parties[0].Owner == nil || body.Parties[1].Status.Code != "Proceeding" ||
		body.Parties[1].To.ExtensionNumber != "103" {
		t.Fatalf("the session after the transfer: %+v", body)
	}
	carol := api.partyOf(t, s.ID, "carol@demo.test")
	if !slices.Equal(carol.Ringing, []string{"c1"}) {
		t.Fatalf("Carol's party rings %v", carol.Ringing)
	}
	if _, _, err := api.sw.Answer(ctx, "c1", s.ID, "offer-c1"); err != nil {
		t.Fatal(err)
	}
	after, _ := api.sw.Session(s.ID)
	for _, p := range after.Parties {
		if p.Status != telephony.StatusAnswered || p.Owner == api.callers["alice@demo.test"].Extension.ID {
			t.Fatalf("after Carol answered: %+v", after.Parties)
		}
	}
	// Alice's party has left the session: she can no longer act on it.
	wantError(t, api.do("POST", transfer, `{"extensionNumber":"102"}`, "alice@demo.test"), 404, "NotFound", "")
}

// TestForwardThroughAPI: a call ringing for Alice is forwarded to Carol
// before Alice answers; an answered party cannot forward.
func TestForwardThroughAPI(t *testing.T) {
	ctx := context.Background()
	api := newTelephonyAPI(t)
	api.devices(t, "alice@demo.test", "a1", "a2")
	api.devices(t, "bob@demo.test", "b1")
	api.devices(t, "carol@demo.test", "c1")
	s, alice := api.ringing(t)
	forward := partyPath(s.ID, alice.ID) + "/forward"
	wantError(t, api.do("POST", forward, `{"phoneNumber":"+16505550103","extensionNumber":"103"}`, "alice@demo.test"), 400, "InvalidParameter", "extensionNumber")
	wantError(t, api.do("POST", forward, `{"extensionNumber":"199"}`, "alice@demo.test"), 409, "TargetUnreachable", "")
	wantError(t, api.do("POST", forward, `{"extensionNumber":"103"}`, "bob@demo.test"), 403, "InsufficientPermissions", "")
	bob := api.partyOf(t, s.ID, "bob@demo.test")
	wantError(t, api.do("POST", partyPath(s.ID, bob.ID)+"/forward", `{"extensionNumber":"103"}`, "bob@demo.test"), 409, "InvalidState", "")

	rec := api.do("POST", forward, `{"phoneNumber":"+16505550103"}`, "alice@demo.test")
	if rec.Code != http.StatusOK {
		t.Fatalf("forward: %d %s", rec.Code, rec.Body)
	}
	var body apiTelephonySession
	decodeJSON(t, rec.Body.String(), &body)
	if len(body.Parties) != 2 || body.Parties[1].To.ExtensionNumber != "103" || body.Parties[1].Status.Code != "Proceeding" {
		t.Fatalf("the session after the forward: %+v", body)
	}
	if carol := api.partyOf(t, s.ID, "carol@demo.test"); !slices.Equal(carol.Ringing, []string{"c1"}) {
		t.Fatalf("Carol's party rings %v", carol.Ringing)
	}
	after, _ := api.sw.Session(s.ID)
	if _, ok := after.Party(alice.ID); ok {
		t.Fatalf("Alice's party is still in the session: %+v", after.Parties)
	}
	if _, _, err := api.sw.Answer(ctx, "c1", s.ID, "offer-c1"); err != nil {
		t.Fatal(err)
	}
	carol := api.partyOf(t, s.ID, "carol@demo.test")
	wantError(t, api.do("POST", partyPath(s.ID, carol.ID)+"/forward", `{"extensionNumber":"101"}`, "carol@demo.test"), 409, "InvalidState", "")
}

// TestIgnoreThroughAPI: one of Alice's two ringing devices stops ringing;
// the other rings on.
func TestIgnoreThroughAPI(t *testing.T) {
	ctx := context.Background()
	api := newTelephonyAPI(t)
	api.devices(t, "alice@demo.test", "a1", "a2")
	api.devices(t, "bob@demo.test", "b1")
	s, alice := api.ringing(t)
	ignore := partyPath(s.ID, alice.ID) + "/ignore"
	wantError(t, api.do("POST", ignore, `{}`, "alice@demo.test"), 400, "InvalidParameter", "deviceId")
	wantError(t, api.do("POST", ignore, ``, "alice@demo.test"), 400, "InvalidJSON", "")
	wantError(t, api.do("POST", ignore, `{"deviceId":"b1"}`, "alice@demo.test"), 400, "InvalidParameter", "deviceId")
	wantError(t, api.do("POST", ignore, `{"deviceId":7}`, "alice@demo.test"), 400, "InvalidParameter", "deviceId")
	wantError(t, api.do("POST", ignore, `{"deviceId":"a1"}`, "bob@demo.test"), 403, "InsufficientPermissions", "")
	wantError(t, api.do("POST", ignore, `{"deviceId":"a1"}`, "carol@demo.test"), 404, "NotFound", "")

	rec := api.do("POST", ignore, `{"deviceId":"a1"}`, "alice@demo.test")
	if rec.Code != http.StatusOK {
		t.Fatalf("ignore: %d %s", rec.Code, rec.Body)
	}
	var body bridge.SessionParty
	decodeJSON(t, rec.Body.String(), &body)
	if body.ID != alice.ID || body.Status.Code != "Proceeding" {
		t.Fatalf("the party after ignore: %s", rec.Body)
	}
	if p := api.partyOf(t, s.ID, "alice@demo.test"); !slices.Equal(p.Ringing, []string{"a2"}) {
		t.Fatalf("Alice's party rings %v, want a2 only", p.Ringing)
	}
	wantError(t, api.do("POST", ignore, `{"deviceId":"a1"}`, "alice@demo.test"), 400, "InvalidParameter", "deviceId")
	if _, _, err := api.sw.Answer(ctx, "a2", s.ID, "offer-a2"); err != nil {
		t.Fatal(err)
	}
	wantError(t, api.do("POST", ignore, `{"deviceId":"a2"}`, "alice@demo.test"), 409, "InvalidState", "")
}
