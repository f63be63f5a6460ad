package api

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/telephony"
)

// mixMedia is nullMedia that mixes: it records each conference's mix as
// the switch sets it.
type mixMedia struct {
	nullMedia
	mu    sync.Mutex
	mixes map[string][]telephony.MixMember
}

func (m *mixMedia) SetMix(id string, members []telephony.MixMember) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(members) == 0 {
		delete(m.mixes, id)
		return nil
	}
	m.mixes[id] = slices.Clone(members)
	return nil
}

// mix is the members of conference id's mix now.
func (m *mixMedia) mix(id string) []telephony.MixMember {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.mixes[id])
}

// speaking lists the legs of the mix whose audio the others hear.
func (m *mixMedia) speaking(id string) []string {
	var legs []string
	for _, mm := range m.mix(id) {
		if mm.Speak {
			legs = append(legs, mm.Leg)
		}
	}
	slices.Sort(legs)
	return legs
}

// newConferenceAPI is the telephony API over a switch whose media mixes,
// with devices for Alice (a1), Bob (b1) and Carol (c1).
func newConferenceAPI(t *testing.T) (*telephonyAPI, *mixMedia) {
	t.Helper()
	media := &mixMedia{mixes: map[string][]telephony.MixMember{}}
	api := newTelephonyAPIWith(t, media)
	api.devices(t, "alice@demo.test", "a1")
	api.devices(t, "bob@demo.test", "b1")
	api.devices(t, "carol@demo.test", "c1")
	return api, media
}

// connect has device from call number and device to answer: the
// session, connected. A device's earlier call is held.
func (api *telephonyAPI) connect(t *testing.T, from, number, to string) telephony.Session {
	t.Helper()
	ctx := context.Background()
	s, _, err := api.sw.Dial(ctx, from, number, "offer-"+from)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.sw.Answer(ctx, to, s.ID, "offer-"+to); err != nil {
		t.Fatal(err)
	}
	return s
}

// twoCalls has Bob call Alice, then Carol (Alice's call held), both
// answering: the two sessions.
func (api *telephonyAPI) twoCalls(t *testing.T) (withAlice, withCarol telephony.Session) {
	t.Helper()
	return api.connect(t, "b1", "101", "a1"), api.connect(t, "b1", "103", "c1")
}

const conferencePath = "/restapi/v1.0/account/~/telephony/conference"

func sessionPath(id string) string { return "/restapi/v1.0/account/~/telephony/sessions/" + id }

func partyBody(sessionID, partyID string) string {
	return `{"sessionId":"` + sessionID + `","partyId":"` + partyID + `"}`
}

// extensionID is the user's extension id as the API spells it.
func (api *telephonyAPI) extensionID(email string) string {
	return strconv.FormatInt(api.callers[email].Extension.ID, 10)
}

// listed finds a party in a session resource.
func listed(t *testing.T, body apiTelephonySession, id string) bridge.SessionParty {
	t.Helper()
	p, ok := listedParty(body, id)
	if !ok {
		t.Fatalf("party %s not in %+v", id, body.Parties)
	}
	return p
}

// TestConferenceThroughAPI: Bob makes his call with Alice a conference,
// brings his call with Carol in, and everyone's session lists all three;
// he mutes and removes Carol, and Alice leaves, which ends it.
func TestConferenceThroughAPI(t *testing.T) {
	api, media := newConferenceAPI(t)
	withAlice, withCarol := api.twoCalls(t)
	bob1, bob2 := api.partyOf(t, withAlice.ID, "bob@demo.test"), api.partyOf(t, withCarol.ID, "bob@demo.test")
	alice, carol := api.partyOf(t, withAlice.ID, "alice@demo.test"), api.partyOf(t, withCarol.ID, "carol@demo.test")

	rec := api.do("POST", conferencePath, partyBody(withAlice.ID, bob1.ID), "bob@demo.test")
	if rec.Code != http.StatusCreated {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	var cf apiConference
	decodeJSON(t, rec.Body.String(), &cf)
	if cf.ID == "" || cf.State != "held" || !cf.HostPresent || cf.Host.ExtensionID != api.extensionID("bob@demo.test") ||
		cf.Session.ID != withAlice.ID || len(cf.Session.Parties) != 2 || len(cf.Participants) != 2 ||
		!cf.Participants[0].Host || cf.Participants[0].PartyID != bob1.ID || cf.Participants[1].PartyID != alice.ID ||
		cf.Participants[1].Owner == nil || cf.Participants[1].Owner.ExtensionID != api.extensionID("alice@demo.test") ||
		cf.Participants[1].Status.Code != "Answered" || cf.Participants[1].TelephonySessionID != withAlice.ID {
		t.Fatalf("the conference: %s", rec.Body)
	}
	// Again: the same conference.
	rec = api.do("POST", conferencePath, partyBody(withAlice.ID, bob1.ID), "bob@demo.test")
	var again apiConference
	decodeJSON(t, rec.Body.String(), &again)
	if rec.Code != http.StatusCreated || again.ID != cf.ID {
		t.Fatalf("started twice: %d %s", rec.Code, rec.Body)
	}

	rec = api.do("POST", sessionPath(withAlice.ID)+"/parties/bring-in", partyBody(withCarol.ID, bob2.ID), "bob@demo.test")
	if rec.Code != http.StatusOK {
		t.Fatalf("bring-in: %d %s", rec.Code, rec.Body)
	}
	var ts apiTelephonySession
	decodeJSON(t, rec.Body.String(), &ts)
	if ts.ID != withAlice.ID || len(ts.Parties) != 3 || listed(t, ts, bob1.ID).Status.Code != "Answered" ||
		listed(t, ts, carol.ID).ConferenceSessionID != withCarol.ID || listed(t, ts, alice.ID).ConferenceSessionID != "" {
		t.Fatalf("the session after bring-in: %s", rec.Body)
	}
	if got, want := media.speaking(cf.ID), sorted(bob1.ID, alice.ID, carol.ID); !slices.Equal(got, want) {
		t.Fatalf("speaking in the mix: %v, want %v", got, want)
	}

	// Every user's session lists the three, the host's call's parties and Carol's.
	for _, v := range []struct{ who, session string }{
		{"bob@demo.test", withAlice.ID}, {"alice@demo.test", withAlice.ID}, {"carol@demo.test", withCarol.ID},
		{"bob@demo.test", withCarol.ID}, // the host sees every call of the conference
	} {
		rec := api.do("GET", sessionPath(v.session), "", v.who)
		var body apiTelephonySession
		decodeJSON(t, rec.Body.String(), &body)
		if rec.Code != http.StatusOK || len(body.Parties) != 3 {
			t.Fatalf("%s GET %s: %d %s", v.who, v.session, rec.Code, rec.Body)
		}
		for _, id := range []string{bob1.ID, alice.ID, carol.ID} {
			listed(t, body, id)
		}
	}
	if rec := api.do("GET", partyPath(withAlice.ID, carol.ID), "", "bob@demo.test"); rec.Code != http.StatusOK {
		t.Fatalf("GET Carol's party through the host's call: %d %s", rec.Code, rec.Body)
	}

	// The host mutes Carol for the others; the session says so.
	rec = api.do("PATCH", partyPath(withAlice.ID, carol.ID), `{"muted":true}`, "bob@demo.test")
	var p bridge.SessionParty
	decodeJSON(t, rec.Body.String(), &p)
	if rec.Code != http.StatusOK || p.ID != carol.ID || !p.Muted {
		t.Fatalf("host mutes Carol: %d %s", rec.Code, rec.Body)
	}
	if got, want := media.speaking(cf.ID), sorted(bob1.ID, alice.ID); !slices.Equal(got, want) {
		t.Fatalf("speaking after the mute: %v, want %v", got, want)
	}
	// …and Alice, an administrator, mutes Alice's own party: her own mute.
	rec = api.do("PATCH", partyPath(withAlice.ID, alice.ID), `{"muted":true}`, "alice@demo.test")
	decodeJSON(t, rec.Body.String(), &p)
	if rec.Code != http.StatusOK || !p.Muted || !api.partyOf(t, withAlice.ID, "alice@demo.test").Muted {
		t.Fatalf("Alice mutes herself: %d %s", rec.Code, rec.Body)
	}
	if got, want := media.speaking(cf.ID), sorted(bob1.ID); !slices.Equal(got, want) {
		t.Fatalf("speaking after Alice's mute: %v, want %v", got, want)
	}
	// The host mutes Alice too (his mute), and unmutes her: her own mute holds.
	for _, muted := range []string{"true", "false"} {
		if rec := api.do("PATCH", partyPath(withAlice.ID, alice.ID), `{"muted":`+muted+`}`, "bob@demo.test"); rec.Code != http.StatusOK {
			t.Fatalf("host mutes Alice %s: %d %s", muted, rec.Code, rec.Body)
		}
	}
	if got := media.speaking(cf.ID); !slices.Equal(got, []string{bob1.ID}) {
		t.Fatalf("speaking after the host's unmute of Alice: %v", got)
	}
	// The host unmutes Carol through her own call's session.
	rec = api.do("PATCH", partyPath(withCarol.ID, carol.ID), `{"muted":false}`, "bob@demo.test")
	decodeJSON(t, rec.Body.String(), &p)
	if rec.Code != http.StatusOK || p.Muted {
		t.Fatalf("host unmutes Carol: %d %s", rec.Code, rec.Body)
	}

	// The host removes Carol: her call ends, the conference goes on.
	if rec := api.do("DELETE", partyPath(withAlice.ID, carol.ID), "", "bob@demo.test"); rec.Code != http.StatusNoContent {
		t.Fatalf("remove Carol: %d %s", rec.Code, rec.Body)
	}
	if _, ok := api.sw.Session(withCarol.ID); ok {
		t.Fatal("Carol's call goes on after she was removed")
	}
	if got, want := media.speaking(cf.ID), sorted(bob1.ID); !slices.Equal(got, want) || len(media.mix(cf.ID)) != 2 {
		t.Fatalf("the mix after the removal: %+v", media.mix(cf.ID))
	}
	rec = api.do("GET", sessionPath(withAlice.ID), "", "bob@demo.test")
	decodeJSON(t, rec.Body.String(), &ts)
	if len(ts.Parties) != 2 {
		t.Fatalf("the session after the removal: %s", rec.Body)
	}

	// Alice deletes her own party: she leaves, the last participant, so it ends.
	if rec := api.do("DELETE", partyPath(withAlice.ID, alice.ID), "", "alice@demo.test"); rec.Code != http.StatusNoContent {
		t.Fatalf("Alice leaves: %d %s", rec.Code, rec.Body)
	}
	if _, ok := api.sw.Session(withAlice.ID); ok {
		t.Fatal("the conference goes on with its host alone")
	}
	if m := media.mix(cf.ID); len(m) != 0 {
		t.Fatalf("the mix of the ended conference: %+v", m)
	}
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// TestConferenceRefusals: bad bodies, calls of others, and the host's
// actions by those who are not the host, each changing nothing.
func TestConferenceRefusals(t *testing.T) {
	api, media := newConferenceAPI(t)
	withAlice, withCarol := api.twoCalls(t)
	bob1, bob2 := api.partyOf(t, withAlice.ID, "bob@demo.test"), api.partyOf(t, withCarol.ID, "bob@demo.test")
	alice, carol := api.partyOf(t, withAlice.ID, "alice@demo.test"), api.partyOf(t, withCarol.ID, "carol@demo.test")
	ringing, _, err := api.sw.Dial(context.Background(), "c1", "101", "offer-c1-2") // rings Alice
	if err != nil {
		t.Fatal(err)
	}
	aliceRinging := api.partyOf(t, ringing.ID, "alice@demo.test")
	bringIn := sessionPath(withAlice.ID) + "/parties/bring-in"

	tests := []struct {
		name, method, path, body, who string
		status                        int
		code, param                   string
	}{
		{"start: no body", "POST", conferencePath, ``, "bob@demo.test", 400, "InvalidJSON", ""},
		{"start: no session", "POST", conferencePath, `{"partyId":"` + bob1.ID + `"}`, "bob@demo.test", 400, "InvalidParameter", "sessionId"},
		{"start: no party", "POST", conferencePath, `{"sessionId":"` + withAlice.ID + `"}`, "bob@demo.test", 400, "InvalidParameter", "partyId"},
		{"start: empty party", "POST", conferencePath, partyBody(withAlice.ID, ""), "bob@demo.test", 400, "InvalidParameter", "partyId"},
		{"start: session as a number", "POST", conferencePath, `{"sessionId":7,"partyId":"p"}`, "bob@demo.test", 400, "InvalidParameter", "sessionId"},
		{"start: unknown field", "POST", conferencePath, `{"sessionId":"s","partyId":"p","name":"x"}`, "bob@demo.test", 400, "InvalidParameter", "name"},
		{"start: unknown session", "POST", conferencePath, partyBody("s-0000", bob1.ID), "bob@demo.test", 404, "NotFound", "sessionId"},
		{"start: unknown party", "POST", conferencePath, partyBody(withAlice.ID, "p-0000"), "bob@demo.test", 404, "NotFound", "partyId"},
		{"start: another's call", "POST", conferencePath, partyBody(withAlice.ID, bob1.ID), "carol@demo.test", 404, "NotFound", "sessionId"},
		{"start: another's party", "POST", conferencePath, partyBody(withCarol.ID, bob2.ID), "carol@demo.test", 403, "InsufficientPermissions", "partyId"},
		{"start: another account", "POST", "/restapi/v1.0/account/999/telephony/conference", partyBody(withAlice.ID, bob1.ID), "bob@demo.test", 404, "NotFound", ""},
		{"start: a ringing party", "POST", conferencePath, partyBody(ringing.ID, aliceRinging.ID), "alice@demo.test", 409, "InvalidState", ""},
		{"bring-in: no body", "POST", bringIn, ``, "bob@demo.test", 400, "InvalidJSON", ""},
		{"bring-in: no party", "POST", bringIn, `{"sessionId":"` + withCarol.ID + `"}`, "bob@demo.test", 400, "InvalidParameter", "partyId"},
		{"bring-in: the path's session", "POST", bringIn, partyBody(withAlice.ID, bob1.ID), "bob@demo.test", 400, "InvalidParameter", "sessionId"},
		{"bring-in: unknown session", "POST", bringIn, partyBody("s-0000", bob2.ID), "bob@demo.test", 404, "NotFound", "sessionId"},
		{"bring-in: unknown party", "POST", bringIn, partyBody(withCarol.ID, "p-0000"), "bob@demo.test", 404, "NotFound", "partyId"},
		{"bring-in: into another's call", "POST", bringIn, partyBody(withCarol.ID, carol.ID), "carol@demo.test", 404, "NotFound", ""},
		{"bring-in: a call not one's own", "POST", sessionPath(withCarol.ID) + "/parties/bring-in", partyBody(withAlice.ID, bob1.ID), "carol@demo.test", 404, "NotFound", "sessionId"},
		{"bring-in: the remote party", "POST", bringIn, partyBody(withCarol.ID, carol.ID), "bob@demo.test", 403, "InsufficientPermissions", "partyId"},
		{"bring-in: a call of another extension", "POST", sessionPath(withCarol.ID) + "/parties/bring-in", partyBody(ringing.ID, aliceRinging.ID), "alice@demo.test", 403, "InsufficientPermissions", ""},
		{"bring-in: a ringing call", "POST", sessionPath(withAlice.ID) + "/parties/bring-in", partyBody(ringing.ID, aliceRinging.ID), "alice@demo.test", 409, "InvalidState", ""},
		{"end: no conference", "DELETE", sessionPath(withAlice.ID), "", "bob@demo.test", 409, "InvalidState", ""},
		{"end: another's call", "DELETE", sessionPath(withAlice.ID), "", "carol@demo.test", 404, "NotFound", ""},
		{"delete: another's party", "DELETE", partyPath(withAlice.ID, alice.ID), "", "bob@demo.test", 403, "InsufficientPermissions", ""},
		{"delete: unknown party", "DELETE", partyPath(withAlice.ID, "p-0000"), "", "bob@demo.test", 404, "NotFound", ""},
		{"delete: another's call", "DELETE", partyPath(withAlice.ID, bob1.ID), "", "carol@demo.test", 404, "NotFound", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, api.do(tt.method, tt.path, tt.body, tt.who), tt.status, tt.code, tt.param)
			if _, ok := api.sw.ConferenceOf(api.callers["bob@demo.test"].Extension.ID, withAlice.ID); ok {
				t.Fatal("a refused request made a conference")
			}
			for _, s := range []string{withAlice.ID, withCarol.ID} {
				if _, ok := api.sw.Session(s); !ok {
					t.Fatalf("a refused request ended %s", s)
				}
			}
		})
	}

	// In the conference, what only its host may do.
	if rec := api.do("POST", conferencePath, partyBody(withAlice.ID, bob1.ID), "bob@demo.test"); rec.Code != http.StatusCreated {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	if rec := api.do("POST", bringIn, partyBody(withCarol.ID, bob2.ID), "bob@demo.test"); rec.Code != http.StatusOK {
		t.Fatalf("bring-in: %d %s", rec.Code, rec.Body)
	}
	cf, _ := api.sw.ConferenceOf(api.callers["bob@demo.test"].Extension.ID, withAlice.ID)
	speaking := media.speaking(cf.ID)
	hostOnly := []struct {
		name, method, path, body, who string
		status                        int
		code                          string
	}{
		{"remove another participant", "DELETE", partyPath(withCarol.ID, alice.ID), "", "carol@demo.test", 403, "InsufficientPermissions"},
		{"remove the host", "DELETE", partyPath(withCarol.ID, bob1.ID), "", "carol@demo.test", 403, "InsufficientPermissions"},
		{"mute another participant", "PATCH", partyPath(withCarol.ID, alice.ID), `{"muted":true}`, "carol@demo.test", 403, "InsufficientPermissions"},
		{"end for all", "DELETE", sessionPath(withCarol.ID), "", "carol@demo.test", 403, "InsufficientPermissions"},
		{"the host's call, by a participant of another", "DELETE", sessionPath(withAlice.ID), "", "carol@demo.test", 404, "NotFound"},
		{"start again in a participant's call", "POST", conferencePath, partyBody(withCarol.ID, carol.ID), "carol@demo.test", 409, "InvalidState"},
		{"start again in the host's call", "POST", conferencePath, partyBody(withAlice.ID, alice.ID), "alice@demo.test", 409, "InvalidState"},
		{"mute without muted", "PATCH", partyPath(withAlice.ID, carol.ID), `{}`, "bob@demo.test", 400, "InvalidParameter"},
	}
	for _, tt := range hostOnly {
		t.Run(tt.name, func(t *testing.T) {
			rec := api.do(tt.method, tt.path, tt.body, tt.who)
			param := ""
			if tt.code == "InvalidParameter" {
				param = "muted"
			}
			wantError(t, rec, tt.status, tt.code, param)
			if now, ok := api.sw.ConferenceOf(api.callers["bob@demo.test"].Extension.ID, withAlice.ID); !ok || len(now.Participants) != 3 {
				t.Fatalf("a refused request changed the conference: %+v", now)
			}
			if got := media.speaking(cf.ID); !slices.Equal(got, speaking) {
				t.Fatalf("a refused request changed the mix: %v, was %v", got, speaking)
			}
		})
	}
}

// TestEndConferenceThroughAPI: an administrator acts as the host of
// another extension's conference; the host's DELETE of a session of it
// ends every call.
func TestEndConferenceThroughAPI(t *testing.T) {
	api, media := newConferenceAPI(t)
	withAlice, withCarol := api.twoCalls(t)
	bob1, bob2 := api.partyOf(t, withAlice.ID, "bob@demo.test"), api.partyOf(t, withCarol.ID, "bob@demo.test")
	carol := api.partyOf(t, withCarol.ID, "carol@demo.test")
	// Alice, an administrator, merges Bob's calls for him.
	rec := api.do("POST", sessionPath(withAlice.ID)+"/parties/bring-in", partyBody(withCarol.ID, bob2.ID), "alice@demo.test")
	if rec.Code != http.StatusOK {
		t.Fatalf("bring-in by an administrator: %d %s", rec.Code, rec.Body)
	}
	cf, ok := api.sw.ConferenceOf(api.callers["bob@demo.test"].Extension.ID, withAlice.ID)
	if !ok || cf.Host != api.callers["bob@demo.test"].Extension.ID || len(cf.Participants) != 3 {
		t.Fatalf("the conference: %+v", cf)
	}
	// …and mutes Carol as the host would.
	if rec := api.do("PATCH", partyPath(withAlice.ID, carol.ID), `{"muted":true}`, "alice@demo.test"); rec.Code != http.StatusOK {
		t.Fatalf("an administrator mutes Carol: %d %s", rec.Code, rec.Body)
	}
	if got, want := media.speaking(cf.ID), sorted(bob1.ID, api.partyOf(t, withAlice.ID, "alice@demo.test").ID); !slices.Equal(got, want) {
		t.Fatalf("speaking: %v, want %v", got, want)
	}
	// Bob ends it naming Carol's call.
	if rec := api.do("DELETE", sessionPath(withCarol.ID), "", "bob@demo.test"); rec.Code != http.StatusNoContent {
		t.Fatalf("end: %d %s", rec.Code, rec.Body)
	}
	for _, s := range []string{withAlice.ID, withCarol.ID} {
		if _, ok := api.sw.Session(s); ok {
			t.Fatalf("session %s goes on after the end", s)
		}
	}
	if m := media.mix(cf.ID); len(m) != 0 {
		t.Fatalf("the mix of the ended conference: %+v", m)
	}
	wantError(t, api.do("DELETE", sessionPath(withCarol.ID), "", "bob@demo.test"), 404, "NotFound", "")
}

// TestDeletePartyOutsideConference: deleting one's party of a call is its
// drop: the call ends. Without a mixing gateway conferences are not
// available.
func TestDeletePartyOutsideConference(t *testing.T) {
	api := newTelephonyAPI(t)
	api.devices(t, "alice@demo.test", "a1")
	api.devices(t, "bob@demo.test", "b1")
	s := api.connect(t, "b1", "101", "a1")
	bob := api.partyOf(t, s.ID, "bob@demo.test")
	wantError(t, api.do("POST", conferencePath, partyBody(s.ID, bob.ID), "bob@demo.test"), 501, "FeatureNotAvailable", "")
	wantError(t, api.do("DELETE", partyPath(s.ID, api.partyOf(t, s.ID, "alice@demo.test").ID), "", "bob@demo.test"), 403, "InsufficientPermissions", "")
	if rec := api.do("DELETE", partyPath(s.ID, bob.ID), "", "bob@demo.test"); rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if _, ok := api.sw.Session(s.ID); ok {
		t.Fatal("the call goes on after Bob's party was deleted")
	}
}
