package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"
)

func init() {
	// The examples of docs/api-calls.md: $RINGOUT_ID is a RingOut between two
	// test lines that connected, $TELEPHONY_SESSION_ID its session and
	// $PARTY_ID the administrator's party in it.
	docsSeeders = append(docsSeeders, func(t *testing.T, srv *instance, admin *platform) map[string]string {
		ro := admin.ringOut(`{"from":{"phoneNumber":"+15550100"},"to":{"phoneNumber":"+15550101"}}`)
		ro = admin.waitRingOut(ro["id"].(string), "Success")
		session := admin.get("/account/~/telephony/sessions/" + ro["telephonySessionId"].(string))
		return map[string]string{
			"RINGOUT_ID":           ro["id"].(string),
			"TELEPHONY_SESSION_ID": ro["telephonySessionId"].(string),
			"PARTY_ID":             parties(t, session)[0]["id"].(string),
		}
	})
}

const ringOutPath = "/account/~/extension/~/ring-out"

// ringOut places a RingOut that must be accepted.
func (p *platform) ringOut(body string) map[string]any {
	p.t.Helper()
	r := p.call("POST", ringOutPath, body)
	if r.StatusCode != http.StatusOK {
		p.t.Fatalf("POST ring-out %s: %d %s", body, r.StatusCode, r.body)
	}
	return r.json(p.t)
}

// waitRingOut polls a RingOut, as seeds/001's clients do, until its
// callStatus is the one wanted; another final status fails the test.
func (p *platform) waitRingOut(id, callStatus string) map[string]any {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ro := p.get(ringOutPath + "/" + id)
		got := ro["status"].(map[string]any)["callStatus"]
		if got == callStatus {
			return ro
		}
		if got != "InProgress" || time.Now().After(deadline) {
			p.t.Fatalf("RingOut %s: %v, want callStatus %s", id, ro, callStatus)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func parties(t *testing.T, session map[string]any) []map[string]any {
	t.Helper()
	raw, _ := session["parties"].([]any)
	if len(raw) != 2 {
		t.Fatalf("session parties %v", session)
	}
	out := make([]map[string]any, len(raw))
	for i, p := range raw {
		out[i] = p.(map[string]any)
	}
	return out
}

func statusOf(ro map[string]any) string {
	s := ro["status"].(map[string]any)
	return fmt.Sprintf("%v/%v/%v", s["callStatus"], s["callerStatus"], s["calleeStatus"])
}

// TestRingOutBetweenTestLines places RingOuts from one test line to another,
// with no browser: polling, the session and its parties' control, cancel,
// the statuses of failing lines and the call log.
func TestRingOutBetweenTestLines(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000, RingTimeout: time.Minute})
	alice, bob, carol := newPlatform(t, srv, "alice@demo.test"), newPlatform(t, srv, "bob@demo.test"), newPlatform(t, srv, "carol@demo.test")
	bobID := bob.extensionID()

	ro := bob.ringOut(`{"from":{"phoneNumber":"+15550100"},"to":{"phoneNumber":"+1 555 0101"},"playPrompt":false}`)
	id := ro["id"].(string)
	wantURI := fmt.Sprintf("%s/restapi/v1.0/account/%v/extension/%d/ring-out/%s", srv.WidgetURL,
		num(bob.get("/account/~/extension/~")["account"].(map[string]any)["id"]), bobID, id)
	if ro["uri"] != wantURI || statusOf(ro) != "InProgress/InProgress/InProgress" || ro["telephonySessionId"] == "" ||
		ro["from"].(map[string]any)["phoneNumber"] != "+15550100" || ro["to"].(map[string]any)["phoneNumber"] != "+15550101" {
		t.Fatalf("RingOut %v, want uri %s", ro, wantURI)
	}
	ro = bob.waitRingOut(id, "Success")
	if statusOf(ro) != "Success/Success/Success" {
		t.Fatalf("connected RingOut %v", ro)
	}
	sessionPath := "/account/~/telephony/sessions/" + ro["telephonySessionId"].(string)
	session := bob.get(sessionPath)
	ps := parties(t, session)
	from, to := ps[0], ps[1]
	if session["origin"].(map[string]any)["type"] != "RingOut" || session["sessionId"] != id ||
		from["owner"].(map[string]any)["extensionId"] != fmt.Sprint(bobID) || from["direction"] != "Outbound" ||
		from["status"].(map[string]any)["code"] != "Answered" || to["owner"] != nil || to["status"].(map[string]any)["code"] != "Answered" {
		t.Fatalf("session %v", session)
	}
	partyPath := sessionPath + "/parties/" + from["id"].(string)
	if p := bob.get(partyPath); p["id"] != from["id"] {
		t.Fatalf("party %v", p)
	}
	if p := alice.get(sessionPath); p["id"] != session["id"] {
		t.Fatalf("the administrator reads bob's session: %v", p)
	}
	wantAPIError(t, carol.call("GET", sessionPath, ""), 404, "NotFound", "")
	active := bob.get("/account/~/extension/~/active-calls")["records"].([]any)
	if len(active) != 1 || active[0].(map[string]any)["action"] != "RingOut Web" ||
		active[0].(map[string]any)["telephonySessionId"] != ro["telephonySessionId"] {
		t.Fatalf("active calls during the RingOut: %v", active)
	}

	// Party control: hold, unhold, mute by POST and by PATCH, refusals.
	steps := []struct {
		who            *platform
		method, action string
		body           string
		code           string // party status code after
		muted          bool
	}{
		{bob, "POST", "/hold", "", "Hold", false},
		{bob, "POST", "/unhold", "", "Answered", false},
		{bob, "POST", "/mute", "", "Answered", true},
		{bob, "PATCH", "", `{"muted": false}`, "Answered", false},
		{alice, "PATCH", "", `{"muted": true}`, "Answered", true},
		{alice, "POST", "/unmute", "", "Answered", false},
	}
	for _, st := range steps {
		r := st.who.call(st.method, partyPath+st.action, st.body)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", st.method, st.action, r.StatusCode, r.body)
		}
		p := r.json(t)
		if p["status"].(map[string]any)["code"] != st.code || p["muted"] != st.muted {
			t.Fatalf("%s %s: party %v", st.method, st.action, p)
		}
	}
	wantAPIError(t, bob.call("POST", partyPath+"/unhold", ""), 409, "InvalidState", "")
	wantAPIError(t, bob.call("POST", partyPath+"/reject", ""), 409, "InvalidState", "")
	wantAPIError(t, bob.call("POST", sessionPath+"/parties/"+to["id"].(string)+"/hold", ""), 403, "InsufficientPermissions", "")
	wantAPIError(t, carol.call("POST", partyPath+"/hold", ""), 404, "NotFound", "")
	wantAPIError(t, bob.call("POST", sessionPath+"/parties/p-0123/hold", ""), 404, "NotFound", "")
	wantAPIError(t, bob.call("POST", partyPath+"/park", ""), 404, "NotFound", "")
	wantAPIError(t, bob.call("PATCH", partyPath, `{"muted": "yes"}`), 400, "InvalidParameter", "muted")
	wantAPIError(t, bob.call("DELETE", ringOutPath+"/"+id, ""), 409, "RingOutNotInProgress", "")

	// Drop: the call ends; the RingOut is still there to read, the session is not.
	r := bob.call("POST", partyPath+"/drop", "")
	if r.StatusCode != http.StatusOK || r.json(t)["status"].(map[string]any)["code"] != "Disconnected" {
		t.Fatalf("drop: %d %s", r.StatusCode, r.body)
	}
	wantAPIError(t, bob.call("GET", sessionPath, ""), 404, "NotFound", "")
	wantAPIError(t, bob.call("POST", partyPath+"/hold", ""), 404, "NotFound", "")
	ro = bob.get(ringOutPath + "/" + id)
	if statusOf(ro) != "Success/Success/Success" || ro["endTime"] == nil {
		t.Fatalf("RingOut after the drop %v", ro)
	}
	rec := recordOfSession(t, bob, ro["telephonySessionId"].(string))
	if rec["action"] != "RingOut Web" || rec["result"] != "Call connected" || rec["direction"] != "Outbound" ||
		rec["from"].(map[string]any)["phoneNumber"] != "+15550100" {
		t.Fatalf("call-log record %v", rec)
	}

	// Cancel while from rings; a cancelled RingOut cannot be cancelled again.
	ro = bob.ringOut(`{"from":{"phoneNumber":"+15550107"},"to":{"phoneNumber":"+15550100"}}`)
	if r := bob.call("DELETE", ringOutPath+"/"+ro["id"].(string), ""); r.StatusCode != http.StatusNoContent || r.body != "" {
		t.Fatalf("DELETE: %d %q", r.StatusCode, r.body)
	}
	if got := bob.get(ringOutPath + "/" + ro["id"].(string)); statusOf(got) != "Canceled/Canceled/Canceled" {
		t.Fatalf("cancelled RingOut %v", got)
	}
	wantAPIError(t, bob.call("DELETE", ringOutPath+"/"+ro["id"].(string), ""), 409, "RingOutNotInProgress", "")
	if rec := recordOfSession(t, bob, ro["telephonySessionId"].(string)); rec["result"] != "Canceled" {
		t.Fatalf("record of the cancelled RingOut %v", rec)
	}

	// Each failing line: the status of the leg it was.
	for _, tc := range []struct{ from, to, want string }{
		{"+15550102", "+15550100", "Busy/Busy/Canceled"},
		{"+15550105", "+15550100", "Rejected/Rejected/Canceled"},
		{"+15550104", "+15550100", "CannotReach/CannotReach/Canceled"},
		{"+15550106", "+15550100", "NotEnoughFunds/NotEnoughFunds/Canceled"},
		{"+15550100", "+15550102", "Busy/Success/Busy"},
		{"+15550100", "+14155550123", "CannotReach/Success/CannotReach"},
	} {
		ro := bob.ringOut(fmt.Sprintf(`{"from":{"phoneNumber":%q},"to":{"phoneNumber":%q}}`, tc.from, tc.to))
		final := strings.SplitN(tc.want, "/", 2)[0]
		if got := bob.waitRingOut(ro["id"].(string), final); statusOf(got) != tc.want {
			t.Errorf("%s → %s: %s, want %s", tc.from, tc.to, statusOf(got), tc.want)
		}
	}

	// The administrator places a RingOut for bob; bob owns it.
	r = alice.call("POST", fmt.Sprintf("/account/~/extension/%d/ring-out", bobID), `{"from":{"phoneNumber":"+15550107"},"to":{"phoneNumber":"+15550100"}}`)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("admin RingOut for bob: %d %s", r.StatusCode, r.body)
	}
	forBob := r.json(t)["id"].(string)
	if got := bob.get(ringOutPath + "/" + forBob); got["id"] != forBob {
		t.Fatalf("bob's RingOut %v", got)
	}
	wantAPIError(t, alice.call("GET", ringOutPath+"/"+forBob, ""), 404, "NotFound", "")
	wantAPIError(t, carol.call("DELETE", fmt.Sprintf("/account/~/extension/%d/ring-out/%s", bobID, forBob), ""), 403, "InsufficientPermissions", "")
	if r := alice.call("DELETE", fmt.Sprintf("/account/~/extension/%d/ring-out/%s", bobID, forBob), ""); r.StatusCode != http.StatusNoContent {
		t.Fatalf("admin cancels bob's RingOut: %d %s", r.StatusCode, r.body)
	}

	// Bad requests.
	for _, tc := range []struct{ body, code, param string }{
		{`{"from":{"phoneNumber":"+16505550101"},"to":{"phoneNumber":"+15550100"}}`, "InvalidParameter", "from.phoneNumber"},
		{`{"from":{"phoneNumber":"+15550100"}}`, "InvalidParameter", "to.phoneNumber"},
		{`{"from":{"phoneNumber":"+15550100"},"to":{"phoneNumber":"not a number"}}`, "InvalidParameter", "to.phoneNumber"},
		{`{"from":{"phoneNumber":"+15550100"},"to":{"phoneNumber":"101"},"callerId":{"phoneNumber":"+16505550103"}}`, "InvalidParameter", "callerId.phoneNumber"},
		{`{"from":{"phoneNumber":"+15550100"},"to":{"phoneNumber":"101"},"playPrompt":1}`, "InvalidParameter", "playPrompt"},
		{`{"from":"+15550100"}`, "InvalidParameter", "from"},
		{`[]`, "InvalidJSON", ""},
		{``, "InvalidJSON", ""},
	} {
		wantAPIError(t, bob.call("POST", ringOutPath, tc.body), 400, tc.code, tc.param)
	}
	if r := bob.call("POST", ringOutPath, `{"from":"+15550100"}`); strings.Contains(r.body, "web.") {
		t.Errorf("the error names a Go type: %s", r.body)
	}
	wantAPIError(t, bob.call("GET", ringOutPath+"/123", ""), 404, "NotFound", "")
	wantAPIError(t, bob.call("GET", "/account/~/extension/~/ring-out/x", ""), 404, "NotFound", "")
	wantAPIError(t, bob.call("DELETE", ringOutPath+"/123", ""), 404, "NotFound", "")
	wantAPIError(t, bob.call("GET", fmt.Sprintf("/account/~/extension/%d/ring-out/%s", bobID+100, id), ""), 403, "InsufficientPermissions", "")
	wantAPIError(t, bob.call("GET", "/account/12345/extension/~/ring-out/"+id, ""), 404, "NotFound", "")
	wantAPIError(t, bob.call("GET", "/account/~/telephony/sessions/s-unknown", ""), 404, "NotFound", "")
	r = do(t, bob.c, "POST", bob.base+ringOutPath, strings.NewReader(`{}`), "Content-Type", "application/json")
	wantAPIError(t, r, 401, "TokenMissing", "")
}

// TestRingOutFromOwnWidget: bob's RingOut from his own number rings his
// widget tab as an inbound call; a pion peer answers it as the widget does,
// the tone line then answers, and the tab hears of each step.
func TestRingOutFromOwnWidget(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000, RingTimeout: time.Minute})
	bob := newPlatform(t, srv, "bob@demo.test")
	tab := openTab(t, srv, "bob@demo.test")

	ro := bob.ringOut(`{"from":{"phoneNumber":"102"},"to":{"phoneNumber":"+15550100"}}`)
	ring := tab.waitFor(t, "rc-call-ring-notify", isType("rc-call-ring-notify"))
	call := ring["call"].(map[string]any)
	if ring["_to"] != tab.device || call["direction"] != "Inbound" || call["fromNumber"] != "+15550100" ||
		call["telephonySessionId"] != ro["telephonySessionId"] || call["toNumber"] != "+16505550102" {
		t.Fatalf("ring %v", ring)
	}
	media := newPCMUPeer(t) // the tone line's audio is G.711: the gateway answers the leg with PCMU
	r := widgetPost(t, tab.c, srv.WidgetURL, "/widget/calls/"+call["id"].(string)+"/answer",
		map[string]string{"deviceId": tab.device, "sdp": media.offer})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("answer: %d %s", r.StatusCode, r.body)
	}
	media.answer(t, r.json(t)["sdp"].(string))
	tab.waitFor(t, "rc-call-start-notify", isType("rc-call-start-notify"))
	tab.waitFor(t, "rc-ringout-call-notify CallConnected", func(m map[string]any) bool {
		c, _ := m["call"].(map[string]any)
		return m["type"] == "rc-ringout-call-notify" && c["telephonyStatus"] == "CallConnected" && c["direction"] == "Outbound"
	})
	if got := bob.waitRingOut(ro["id"].(string), "Success"); statusOf(got) != "Success/Success/Success" {
		t.Fatalf("RingOut %v", got)
	}
	media.waitConnected(t)

	// The CRM server holds bob's party: his widget shows it.
	partyPath := "/account/~/telephony/sessions/" + call["telephonySessionId"].(string) + "/parties/" + call["partyId"].(string)
	if r := bob.call("POST", partyPath+"/hold", ""); r.StatusCode != http.StatusOK {
		t.Fatalf("hold: %d %s", r.StatusCode, r.body)
	}
	held := tab.waitFor(t, "rc-call-hold-notify", isType("rc-call-hold-notify"))
	if held["_to"] != tab.device || held["call"].(map[string]any)["isOnHold"] != true {
		t.Fatalf("hold notify %v", held)
	}
	tab.hangup(t, call["id"].(string))
	end := tab.waitFor(t, "rc-call-end-notify", isType("rc-call-end-notify"))
	if end["call"].(map[string]any)["result"] != "Call connected" {
		t.Fatalf("end %v", end)
	}
	tab.waitFor(t, "rc-ringout-call-notify NoCall", func(m map[string]any) bool {
		c, _ := m["call"].(map[string]any)
		return m["type"] == "rc-ringout-call-notify" && c["telephonyStatus"] == "NoCall"
	})

	// The widget's own RingOut endpoints.
	const path = "/widget/ringout"
	r = widgetPost(t, tab.c, srv.WidgetURL, path, map[string]string{"from": "+15550107", "to": "+15550100"})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("widget RingOut: %d %s", r.StatusCode, r.body)
	}
	w := r.json(t)
	if w["status"].(map[string]any)["callStatus"] != "InProgress" || w["id"] == "" {
		t.Fatalf("widget RingOut %v", w)
	}
	del := func(id string) response {
		return do(t, tab.c, "DELETE", srv.WidgetURL+path+"/"+id, nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo", "Origin", srv.WidgetURL)
	}
	if r := del(w["id"].(string)); r.StatusCode != http.StatusNoContent {
		t.Fatalf("widget cancel: %d %s", r.StatusCode, r.body)
	}
	wantAPIError(t, del(w["id"].(string)), 409, "RingOutNotInProgress", "")
	wantAPIError(t, del("4242"), 404, "NotFound", "")
	wantAPIError(t, widgetPost(t, tab.c, srv.WidgetURL, path, map[string]string{"from": "101", "to": "+15550100"}), 400, "InvalidParameter", "from")
	wantAPIError(t, widgetPost(t, tab.c, srv.WidgetURL, path, map[string]string{"from": "102"}), 400, "InvalidParameter", "to")
	wantAPIError(t, widgetPost(t, browser(), srv.WidgetURL, path, map[string]string{"from": "102", "to": "101"}), 401, "NotSignedIn", "")
	r = do(t, tab.c, "POST", srv.WidgetURL+path, strings.NewReader(`{"from":"102","to":"101"}`), "Content-Type", "application/json")
	wantAPIError(t, r, 403, "MissingHeader", "")
}

// TestHoldByAPIOnEchoCall: alice's widget calls the echo line; her CRM
// server, and then the administrator for bob's call, control the party by
// API, and the widget hears of it as if its own buttons had been pressed.
func TestHoldByAPIOnEchoCall(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	alice, carol := newPlatform(t, srv, "alice@demo.test"), newPlatform(t, srv, "carol@demo.test")
	aliceTab, bobTab := openTab(t, srv, "alice@demo.test"), openTab(t, srv, "bob@demo.test")

	media := newPeer(t)
	call := aliceTab.dial(t, "+15550101", media)
	aliceTab.waitFor(t, "rc-call-start-notify", isType("rc-call-start-notify"))
	media.waitConnected(t)
	party := "/account/~/telephony/sessions/" + call["telephonySessionId"].(string) + "/parties/" + call["partyId"].(string)
	for _, st := range []struct {
		action, event string
		check         func(c map[string]any) bool
	}{
		{"hold", "rc-call-hold-notify", func(c map[string]any) bool { return c["isOnHold"] == true }},
		{"unhold", "rc-call-resume-notify", func(c map[string]any) bool { return c["isOnHold"] == false }},
		{"mute", "rc-call-mute-notify", func(c map[string]any) bool { return c["isOnMute"] == true }},
		{"unmute", "rc-call-mute-notify", func(c map[string]any) bool { return c["isOnMute"] == false }},
	} {
		if r := alice.call("POST", party+"/"+st.action, ""); r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", st.action, r.StatusCode, r.body)
		}
		aliceTab.waitFor(t, st.event, func(m map[string]any) bool {
			c, _ := m["call"].(map[string]any)
			return m["type"] == st.event && m["_to"] == aliceTab.device && st.check(c)
		})
	}
	wantAPIError(t, carol.call("POST", party+"/hold", ""), 404, "NotFound", "")

	// Bob's call: the administrator may hold his party; carol may not see it.
	media2 := newPeer(t)
	bobCall := bobTab.dial(t, "+15550101", media2)
	bobTab.waitFor(t, "rc-call-start-notify", isType("rc-call-start-notify"))
	bobParty := "/account/~/telephony/sessions/" + bobCall["telephonySessionId"].(string) + "/parties/" + bobCall["partyId"].(string)
	wantAPIError(t, carol.call("POST", bobParty+"/hold", ""), 404, "NotFound", "")
	if r := alice.call("POST", bobParty+"/hold", ""); r.StatusCode != http.StatusOK {
		t.Fatalf("admin holds bob's party: %d %s", r.StatusCode, r.body)
	}
	bobTab.waitFor(t, "rc-call-hold-notify", func(m map[string]any) bool { return m["type"] == "rc-call-hold-notify" })
	if r := alice.call("POST", bobParty+"/drop", ""); r.StatusCode != http.StatusOK {
		t.Fatalf("admin drops bob's party: %d %s", r.StatusCode, r.body)
	}
	bobTab.waitFor(t, "rc-call-end-notify", isType("rc-call-end-notify"))

	if r := alice.call("POST", party+"/drop", ""); r.StatusCode != http.StatusOK {
		t.Fatalf("drop: %d %s", r.StatusCode, r.body)
	}
	end := aliceTab.waitFor(t, "rc-call-end-notify", isType("rc-call-end-notify"))
	if end["call"].(map[string]any)["result"] != "Call connected" {
		t.Fatalf("end %v", end)
	}
}

// newPCMUPeer is newPeer sending G.711 µ-law, as a browser does when the
// gateway answers its offer with PCMU only (a leg to the tone line).
func newPCMUPeer(t *testing.T) *peer {
	t.Helper()
	return newPeerWith(t, func(pc *webrtc.PeerConnection) error {
		track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "audio", "test")
		if err == nil {
			_, err = pc.AddTrack(track)
		}
		return err
	})
}
