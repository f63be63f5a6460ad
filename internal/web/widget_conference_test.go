package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/telephony"
)

// The stand-in switch of the request fuzzers has no conferences.
func (stubSwitch) Merge(context.Context, string, string, string) (telephony.Conference, error) {
	return telephony.Conference{}, telephony.ErrNoSuchCall
}
func (stubSwitch) Invite(context.Context, string, string, string, string) (telephony.Session, string, error) {
	return telephony.Session{}, "", telephony.ErrNoSuchCall
}
func (stubSwitch) RemoveParticipant(context.Context, int64, string, string) error {
	return telephony.ErrNoSuchCall
}
func (stubSwitch) MuteParticipant(context.Context, int64, string, string, bool) error {
	return telephony.ErrNoSuchCall
}
func (stubSwitch) EndConference(context.Context, int64, string) error { return telephony.ErrNoSuchCall }
func (stubSwitch) ConferenceOf(int64, string) (telephony.Conference, bool) {
	return telephony.Conference{}, false
}

// mixes holds the last mix the switch set for each conference, by its id
// (ids are unique, so tests do not share one).
var mixes sync.Map

// SetMix makes the null media a mixer: it notes the mix and carries no
// audio (the gateway's mixing is tested in internal/media and e2e).
func (nullMedia) SetMix(id string, members []telephony.MixMember) error {
	mixes.Store(id, slices.Clone(members))
	return nil
}

// mixOf is the last mix of conference id: each leg's Speak and Listen.
func mixOf(id string) []telephony.MixMember {
	m, _ := mixes.Load(id)
	members, _ := m.([]telephony.MixMember)
	return members
}

// conferenceRequest sends the tab's request to a conference endpoint: its
// deviceId in the query of a DELETE, else in the JSON body with fields. A
// 204 answers with a nil body.
func (env *callEnv) conferenceRequest(t *testing.T, name, method, path string, fields map[string]any) (int, map[string]any) {
	t.Helper()
	tb := env.tabs[name]
	var body io.Reader
	if method == http.MethodDelete {
		path += "?deviceId=" + url.QueryEscape(tb.device)
	} else {
		b := map[string]any{"deviceId": tb.device}
		for k, v := range fields {
			b[k] = v
		}
		raw, _ := json.Marshal(b)
		body = strings.NewReader(string(raw))
	}
	req, _ := http.NewRequest(method, env.widget.URL+path, body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(widgetHeader, "1")
	req.Header.Set(clientHeader, "demo")
	req.Header.Set("Origin", "http://localhost:8080")
	req.Header.Set("Cookie", env.cookies[tb.user])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return resp.StatusCode, nil
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: %d, body not JSON: %v", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// conferencePath is /widget/conferences/{id}[/participants/{partyId}].
func conferencePath(id string, party ...string) string {
	p := "/widget/conferences/" + id
	if len(party) > 0 {
		p += "/participants/" + party[0]
	}
	return p
}

// wantError checks an error answer: status, errorCode and the parameter named.
func wantError(t *testing.T, what string, status int, body map[string]any, wantStatus int, code, param string) {
	t.Helper()
	if status != wantStatus || body["errorCode"] != code {
		t.Errorf("%s: %d %v, want %d %s", what, status, body, wantStatus, code)
		return
	}
	errs, _ := body["errors"].([]any)
	if len(errs) != 1 {
		t.Errorf("%s: errors %v", what, body["errors"])
		return
	}
	if got, _ := errs[0].(map[string]any)["parameterName"].(string); got != param {
		t.Errorf("%s: parameterName %q, want %q", what, got, param)
	}
}

// participantNames lists the names of the conference's participants, in order.
func participantNames(v map[string]any) []string {
	var names []string
	list, _ := v["participants"].([]any)
	for _, p := range list {
		names = append(names, p.(map[string]any)["name"].(string))
	}
	return names
}

// TestWidgetMerge: alice (a1), on a call with bob held while she called
// carol, merges the two; what the merge refuses changes nothing.
func TestWidgetMerge(t *testing.T) {
	env := newCallEnv(t)
	withBob, withCarol := env.warmTransfer(t)
	merge := callPath(withCarol.ID, "merge")
	env.wantRefusals(t, []refusal{
		{"no otherCallId", "a1", merge, nil, 400, "InvalidParameter", "otherCallId"},
		{"otherCallId too long", "a1", merge, map[string]any{"otherCallId": strings.Repeat("s", 65)}, 400, "InvalidParameter", "otherCallId"},
		{"otherCallId a number", "a1", merge, map[string]any{"otherCallId": 1}, 400, "InvalidParameter", "otherCallId"},
		{"merged with itself", "a1", merge, map[string]any{"otherCallId": withCarol.ID}, 400, "InvalidParameter", "otherCallId"},
		{"unknown field", "a1", merge, map[string]any{"otherCallId": withBob.ID, "with": withBob.ID}, 400, "InvalidParameter", "with"},
		{"malformed device", "a1", merge, `{"deviceId":"x","otherCallId":"` + withBob.ID + `"}`, 400, "InvalidParameter", ""},
		{"unknown call", "a1", callPath("s-nope", "merge"), map[string]any{"otherCallId": withBob.ID}, 404, "NotFound", ""},
		{"unknown other call", "a1", merge, map[string]any{"otherCallId": "s-nope"}, 404, "NotFound", ""},
		{"another user's call", "c1", callPath(withBob.ID, "merge"), map[string]any{"otherCallId": withCarol.ID}, 404, "NotFound", ""},
		{"another tab's calls", "a2", merge, map[string]any{"otherCallId": withBob.ID}, 403, "InsufficientPermissions", ""},
	}, func(t *testing.T) {
		if _, in := env.sw.ConferenceOf(env.ext["alice"].ID, withCarol.ID); in {
			t.Fatal("a refused merge made a conference")
		}
		if p := env.party(t, withBob.ID, "alice"); p.Status != telephony.StatusHold {
			t.Fatalf("a refused merge changed alice's held party: %+v", p)
		}
	})

	status, body := env.post(t, "a1", merge, map[string]any{"otherCallId": withBob.ID})
	if status != http.StatusOK {
		t.Fatalf("merge: %d %v", status, body)
	}
	conf, _ := body["conference"].(map[string]any)
	if conf["id"] == "" || conf["host"] != true || conf["hostPresent"] != true || conf["state"] != "connected" ||
		conf["telephonySessionId"] != withCarol.ID || conf["hostSessionId"] != withCarol.ID {
		t.Fatalf("merge answered %v", conf)
	}
	if got := participantNames(conf); !slices.Equal(got, []string{"Alice Adams", "Carol Chen", "Bob Brown"}) {
		t.Errorf("participants %v, want the host, then carol, then bob", got)
	}
	mix := mixOf(conf["id"].(string))
	if len(mix) != 3 || slices.ContainsFunc(mix, func(m telephony.MixMember) bool { return !m.Speak || !m.Listen }) {
		t.Errorf("the mix after the merge: %+v, want three legs that speak and listen", mix)
	}
	if ts, ok := env.sw.Session(withBob.ID); !ok || slices.ContainsFunc(ts.Parties, func(p telephony.Party) bool {
		return p.Owner == env.ext["alice"].ID && p.Status != telephony.StatusDisconnected
	}) {
		t.Errorf("alice's party of the call with bob did not leave it: %+v", ts.Parties)
	}

	// The call merged in is alice's no more; a call that rings is not
	// one to merge yet.
	status, body = env.post(t, "a1", merge, map[string]any{"otherCallId": withBob.ID})
	wantError(t, "merged again", status, body, 404, "NotFound", "")
	ringing := env.dial(t, "b1", "101")
	status, body = env.post(t, "a1", merge, map[string]any{"otherCallId": ringing.ID})
	wantError(t, "a call that rings", status, body, 409, "InvalidState", "")
}

// conferenceOfThree is alice (a1) hosting a conference with carol and bob,
// merged as the widget does: its id and the parties of bob and carol.
func (env *callEnv) conferenceOfThree(t *testing.T) (id, bob, carol string, withBob, withCarol telephony.Session) {
	t.Helper()
	withBob, withCarol = env.warmTransfer(t)
	status, body := env.post(t, "a1", callPath(withCarol.ID, "merge"), map[string]any{"otherCallId": withBob.ID})
	if status != http.StatusOK {
		t.Fatalf("merge: %d %v", status, body)
	}
	cf, ok := env.sw.ConferenceOf(env.ext["alice"].ID, withCarol.ID)
	if !ok {
		t.Fatal("no conference after the merge")
	}
	for _, p := range cf.Participants {
		switch p.ExtensionID {
		case env.ext["bob"].ID:
			bob = p.PartyID
		case env.ext["carol"].ID:
			carol = p.PartyID
		}
	}
	return cf.ID, bob, carol, withBob, withCarol
}

// TestWidgetConferenceHost: the host mutes carol, removes bob and ends the
// conference; the participants may do none of it, a user not in it hears
// of no such conference, and bad ids are refused.
func TestWidgetConferenceHost(t *testing.T) {
	env := newCallEnv(t)
	id, bob, carol, withBob, withCarol := env.conferenceOfThree(t)
	unchanged := func(t *testing.T) {
		t.Helper()
		cf, ok := env.sw.ConferenceOf(env.ext["alice"].ID, id)
		if !ok || len(cf.Participants) != 3 || slices.ContainsFunc(cf.Participants, func(p telephony.Participant) bool { return p.MutedByHost }) {
			t.Fatalf("a refused request changed the conference: %+v", cf)
		}
	}
	for _, tt := range []struct {
		name, tab, method, path string
		fields                  map[string]any
		status                  int
		code, param             string
	}{
		{"a participant removes", "b1", http.MethodDelete, conferencePath(id, carol), nil, 403, "InsufficientPermissions", ""},
		{"a participant removes by their call", "b1", http.MethodDelete, conferencePath(withBob.ID, carol), nil, 403, "InsufficientPermissions", ""},
		{"a participant mutes", "c1", http.MethodPatch, conferencePath(id, bob), map[string]any{"muted": true}, 403, "InsufficientPermissions", ""},
		{"a participant ends it", "c1", http.MethodDelete, conferencePath(id), nil, 403, "InsufficientPermissions", ""},
		{"unknown conference", "a1", http.MethodDelete, conferencePath("conf-nope"), nil, 404, "NotFound", ""},
		{"unknown conference of a party", "a1", http.MethodDelete, conferencePath("conf-nope", bob), nil, 404, "NotFound", ""},
		{"conference id too long", "a1", http.MethodDelete, conferencePath(strings.Repeat("c", 65)), nil, 400, "InvalidParameter", "id"},
		{"unknown party", "a1", http.MethodDelete, conferencePath(id, "p-nope"), nil, 404, "NotFound", ""},
		{"party id too long", "a1", http.MethodPatch, conferencePath(id, strings.Repeat("p", 65)), map[string]any{"muted": true}, 400, "InvalidParameter", "partyId"},
		{"mute without muted", "a1", http.MethodPatch, conferencePath(id, carol), nil, 400, "InvalidParameter", "muted"},
		{"muted not a boolean", "a1", http.MethodPatch, conferencePath(id, carol), map[string]any{"muted": "yes"}, 400, "InvalidParameter", "muted"},
		{"unknown field", "a1", http.MethodPatch, conferencePath(id, carol), map[string]any{"muted": true, "for": "all"}, 400, "InvalidParameter", "for"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := env.conferenceRequest(t, tt.tab, tt.method, tt.path, tt.fields)
			wantError(t, tt.name, status, body, tt.status, tt.code, tt.param)
			unchanged(t)
		})
	}
	t.Run("no device", func(t *testing.T) {
		status, body := env.widgetRequest(t, "alice", http.MethodDelete, conferencePath(id), "")
		wantError(t, "no device", status, body, 400, "InvalidParameter", "")
		unchanged(t)
	})
	t.Run("another session's device", func(t *testing.T) {
		status, body := env.widgetRequest(t, "bob", http.MethodDelete, conferencePath(id)+"?deviceId="+url.QueryEscape(env.tabs["a1"].device), "")
		wantError(t, "bob with alice's device", status, body, 403, "DeviceNotYours", "")
		status, body = env.widgetRequest(t, "bob", http.MethodPatch, conferencePath(id, carol), `{"deviceId":"`+env.tabs["a1"].device+`","muted":true}`)
		wantError(t, "bob mutes with alice's device", status, body, 403, "DeviceNotYours", "")
		unchanged(t)
	})

	// The host mutes carol for everyone: her leg no longer speaks in the mix.
	if status, body := env.conferenceRequest(t, "a1", http.MethodPatch, conferencePath(id, carol), map[string]any{"muted": true}); status != http.StatusNoContent {
		t.Fatalf("mute: %d %v", status, body)
	}
	cf, _ := env.sw.ConferenceOf(env.ext["alice"].ID, id)
	if i := slices.IndexFunc(cf.Participants, func(p telephony.Participant) bool { return p.PartyID == carol }); i < 0 || !cf.Participants[i].MutedByHost {
		t.Fatalf("carol after the host muted her: %+v", cf.Participants)
	}
	if speaking := slices.IndexFunc(mixOf(id), func(m telephony.MixMember) bool { return !m.Speak }); speaking < 0 {
		t.Errorf("the mix still has every leg speaking: %+v", mixOf(id))
	}

	// The host removes bob, by the session of her own call: his call ends.
	if status, body := env.conferenceRequest(t, "a1", http.MethodDelete, conferencePath(withCarol.ID, bob), nil); status != http.StatusNoContent {
		t.Fatalf("remove: %d %v", status, body)
	}
	if _, ok := env.sw.Session(withBob.ID); ok {
		t.Error("bob's call went on after the host removed him")
	}
	// Bob is in it no more: to him it is no conference of his.
	status, body := env.conferenceRequest(t, "b1", http.MethodDelete, conferencePath(id), nil)
	wantError(t, "bob after he was removed", status, body, 404, "NotFound", "")

	// The host ends it for all: alice's call with carol ends.
	if status, body := env.conferenceRequest(t, "a1", http.MethodDelete, conferencePath(id), nil); status != http.StatusNoContent {
		t.Fatalf("end: %d %v", status, body)
	}
	if _, ok := env.sw.Session(withCarol.ID); ok {
		t.Error("the call with carol went on after the host ended the conference")
	}
	status, body = env.conferenceRequest(t, "a1", http.MethodDelete, conferencePath(id), nil)
	wantError(t, "ended already", status, body, 404, "NotFound", "")
}

// TestWidgetConferenceOfOthers: a conference alice hosts with bob is no
// conference of carol's, by its id or by the session of a call in it.
func TestWidgetConferenceOfOthers(t *testing.T) {
	env := newCallEnv(t)
	withBob := env.dial(t, "b1", "101")
	env.answer(t, "a1", withBob.ID)
	cf, err := env.sw.StartConference(context.Background(), env.ext["alice"].ID, withBob.ID, env.party(t, withBob.ID, "alice").ID)
	if err != nil {
		t.Fatal(err)
	}
	bob := env.party(t, withBob.ID, "bob").ID
	for _, path := range []string{conferencePath(cf.ID), conferencePath(withBob.ID), conferencePath(cf.ID, bob)} {
		status, body := env.conferenceRequest(t, "c1", http.MethodDelete, path, nil)
		wantError(t, "carol: DELETE "+path, status, body, 404, "NotFound", "")
	}
	status, body := env.conferenceRequest(t, "c1", http.MethodPatch, conferencePath(cf.ID, bob), map[string]any{"muted": true})
	wantError(t, "carol mutes bob", status, body, 404, "NotFound", "")
	if _, ok := env.sw.ConferenceOf(env.ext["alice"].ID, cf.ID); !ok {
		t.Fatal("the conference ended")
	}
}

// TestConferenceErrors: where the gateway cannot mix, a merge is 501, and
// a participant who asks what only the host may do is told so.
func TestConferenceErrors(t *testing.T) {
	for _, tt := range []struct {
		err    error
		host   bool
		status int
		code   string
	}{
		{telephony.ErrNoConferences, false, http.StatusNotImplemented, "FeatureNotAvailable"},
		{telephony.ErrNoConferences, true, http.StatusNotImplemented, "FeatureNotAvailable"},
		{telephony.ErrNotYourCall, true, http.StatusForbidden, "InsufficientPermissions"},
		{telephony.ErrInvalidState, true, http.StatusConflict, "InvalidState"},
		{telephony.ErrNoSuchParty, true, http.StatusNotFound, "NotFound"},
	} {
		answer := error(fmt.Errorf("conference c-1: %w", tt.err))
		if tt.host {
			answer = hostError(answer)
		}
		e := httperror.From(answer)
		if e.Status != tt.status || e.Code != tt.code || !errors.Is(answer, tt.err) {
			t.Errorf("%v (host %v): %d %s, want %d %s", tt.err, tt.host, e.Status, e.Code, tt.status, tt.code)
		}
		if tt.err == telephony.ErrNotYourCall && !strings.Contains(e.Message, "host") {
			t.Errorf("a participant is told %q", e.Message)
		}
	}
}

// TestWidgetAddParticipant: a call placed with conferenceId joins the
// conference of the call it names once answered; another user's call, or
// one too long to be an id, is refused before anything rings.
func TestWidgetAddParticipant(t *testing.T) {
	env := newCallEnv(t)
	withBob := env.dial(t, "b1", "101")
	env.answer(t, "a1", withBob.ID)
	dial := func(name string, fields map[string]any) (int, map[string]any) {
		t.Helper()
		return env.post(t, name, "/widget/calls", fields)
	}
	status, body := dial("c1", map[string]any{"to": "102", "sdp": "offer-c1", "conferenceId": withBob.ID})
	wantError(t, "another user's call", status, body, 403, "InsufficientPermissions", "")
	status, body = dial("a1", map[string]any{"to": "103", "sdp": "offer-a1", "conferenceId": strings.Repeat("s", 65)})
	wantError(t, "conferenceId too long", status, body, 400, "InvalidParameter", "conferenceId")
	if n := len(env.sw.Sessions(env.ext["carol"].ID)); n != 0 {
		t.Fatalf("a refused invitation rang carol: %d calls", n)
	}

	status, body = dial("a1", map[string]any{"to": "103", "sdp": "offer-a1", "conferenceId": withBob.ID})
	if status != http.StatusOK {
		t.Fatalf("add carol: %d %v", status, body)
	}
	invited := body["call"].(map[string]any)["telephonySessionId"].(string)
	env.answer(t, "c1", invited)
	cf, ok := env.sw.ConferenceOf(env.ext["alice"].ID, withBob.ID)
	if !ok || len(cf.Participants) != 3 || cf.SessionID != withBob.ID {
		t.Fatalf("after carol answered: %+v %v", cf, ok)
	}
	if mix := mixOf(cf.ID); len(mix) != 3 {
		t.Fatalf("the mix %+v", mix)
	}
}
