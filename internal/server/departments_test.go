package server

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
)

// ringsFor matches the rc-call-ring-notify of one telephony session.
func ringsFor(session any) func(map[string]any) bool {
	return func(m map[string]any) bool {
		c, _ := m["call"].(map[string]any)
		return m["type"] == "rc-call-ring-notify" && c["telephonySessionId"] == session
	}
}

// TestDepartmentPagerAndCalls: the demo department Support (200; bob and
// carol), reached with real tokens and widget streams. A pager message to
// it reaches both members; a call to it rings both members' widgets, the
// first to answer takes it and the other's ringing ends; with carol on
// DoNotAcceptDepartmentCalls only bob's widget rings.
func TestDepartmentPagerAndCalls(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000, RingTimeout: time.Minute})
	alice, bob, carol := newPlatform(t, srv, "alice@demo.test"), newPlatform(t, srv, "bob@demo.test"), newPlatform(t, srv, "carol@demo.test")

	// The administrator reads the department: its type says what it is.
	db, err := store.Open(context.Background(), srv.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := db.AccountByMainNumber(context.Background(), identity.DemoMainNumber)
	if err != nil {
		t.Fatal(err)
	}
	support, err := db.ExtensionByNumber(context.Background(), acct.ID, "200")
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if x := alice.get(fmt.Sprintf("/account/~/extension/%d", support.ID)); x["type"] != "Department" || x["extensionNumber"] != "200" {
		t.Fatalf("the department through the API: %v", x)
	}
	if x := bob.get("/account/~/extension/~"); x["type"] != "User" {
		t.Fatalf("bob through the API: %v", x)
	}

	// Company pager to 200.
	r := alice.call("POST", pagerPath, `{"to": [{"extensionNumber": "200"}], "text": "Who takes the Acme ticket?"}`)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("pager to the department: %d %s", r.StatusCode, r.body)
	}
	sent := r.json(t)
	if sent["pgToDepartment"] != true || sent["messageStatus"] != "Delivered" {
		t.Fatalf("sent copy %v", sent)
	}
	for name, member := range map[string]*platform{"bob": bob, "carol": carol} {
		got := records(t, member.get(storePath+"?messageType=Pager&direction=Inbound"))
		if len(got) != 1 {
			t.Fatalf("%s's inbound pager messages: %v", name, got)
		}
		m := got[0]
		to, _ := m["to"].([]any)
		if m["subject"] != "Who takes the Acme ticket?" || m["readStatus"] != "Unread" || m["messageStatus"] != "Received" ||
			m["from"].(map[string]any)["extensionNumber"] != "101" || len(to) != 1 || to[0].(map[string]any)["extensionNumber"] != "200" ||
			m["conversationId"] != sent["conversationId"] {
			t.Fatalf("%s's copy %v of %v", name, m, sent)
		}
	}
	if got := records(t, alice.get(storePath+"?messageType=Pager&direction=Inbound")); len(got) != 0 {
		t.Fatalf("the sender got a copy: %v", got)
	}

	// A call to 200 rings bob's and carol's widgets; carol answers.
	aliceTab := openTab(t, srv, "alice@demo.test")
	bobTab := openTab(t, srv, "bob@demo.test")
	carolTab := openTab(t, srv, "carol@demo.test")
	media := newPeer(t)
	call := aliceTab.dial(t, "200", media)
	session := call["telephonySessionId"]
	bobRing := bobTab.waitFor(t, "ring of the department call", ringsFor(session))
	carolRing := carolTab.waitFor(t, "ring of the department call", ringsFor(session))
	for _, ring := range []map[string]any{bobRing, carolRing} {
		c := ring["call"].(map[string]any)
		if c["direction"] != "Inbound" || c["to"] != "200" || c["toUserName"] != "Support" || c["from"] != "101" {
			t.Fatalf("ring %v", ring)
		}
	}
	carolMedia := newPeer(t)
	carolCall := carolRing["call"].(map[string]any)
	r = widgetPost(t, carolTab.c, srv.WidgetURL, "/widget/calls/"+carolCall["id"].(string)+"/answer",
		map[string]string{"deviceId": carolTab.device, "sdp": carolMedia.offer})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("carol answers: %d %s", r.StatusCode, r.body)
	}
	carolMedia.answer(t, r.json(t)["sdp"].(string))
	carolTab.waitFor(t, "rc-call-start-notify", isType("rc-call-start-notify"))
	end := bobTab.waitFor(t, "the end of bob's ringing", func(m map[string]any) bool {
		c, _ := m["call"].(map[string]any)
		return m["type"] == "rc-call-end-notify" && c["telephonySessionId"] == session
	})
	if end["_to"] != bobTab.device || end["call"].(map[string]any)["reason"] != "Answered elsewhere" {
		t.Fatalf("bob's end %v", end)
	}
	if got := records(t, bob.get("/account/~/extension/~/active-calls")); len(got) != 0 {
		t.Fatalf("bob's active calls once carol answered: %v", got)
	}
	if got := records(t, carol.get("/account/~/extension/~/active-calls")); len(got) != 1 || got[0]["telephonySessionId"] != session {
		t.Fatalf("carol's active calls: %v", got)
	}
	media.waitConnected(t)
	carolMedia.waitConnected(t)
	aliceTab.hangup(t, call["id"].(string))
	if rec := recordOfSession(t, carol, session.(string)); rec["result"] != "Call connected" || rec["direction"] != "Inbound" {
		t.Fatalf("carol's record %v", rec)
	}

	// Carol takes no department calls: only bob's widget rings.
	if r := carol.call("PUT", "/account/~/extension/~/presence", `{"dndStatus": "DoNotAcceptDepartmentCalls"}`); r.StatusCode != http.StatusOK {
		t.Fatalf("PUT presence: %d %s", r.StatusCode, r.body)
	}
	carolTab.waitFor(t, "rc-adapter-syncPresence without department calls", func(m map[string]any) bool {
		return m["type"] == "rc-adapter-syncPresence" && m["dndStatus"] == "DoNotAcceptDepartmentCalls"
	})
	media = newPeer(t)
	call = aliceTab.dial(t, "200", media)
	session = call["telephonySessionId"]
	bobTab.waitFor(t, "ring of the second department call", ringsFor(session))
	// The switch publishes the ringing before the dial is answered, so a
	// ring of carol's would reach her stream before this presence change.
	if r := carol.call("PUT", "/account/~/extension/~/presence", `{"userStatus": "Busy"}`); r.StatusCode != http.StatusOK {
		t.Fatalf("PUT presence: %d %s", r.StatusCode, r.body)
	}
	carolTab.waitFor(t, "rc-adapter-syncPresence Busy", func(m map[string]any) bool {
		if ringsFor(session)(m) {
			t.Fatalf("carol's widget rings although she takes no department calls: %v", m)
		}
		return m["type"] == "rc-adapter-syncPresence" && m["userStatus"] == "Busy"
	})
	if got := records(t, carol.get("/account/~/extension/~/active-calls")); len(got) != 0 {
		t.Fatalf("carol's active calls: %v", got)
	}
	media.waitConnected(t)
	aliceTab.hangup(t, call["id"].(string))
	if rec := recordOfSession(t, bob, session.(string)); rec["result"] != "Missed" {
		t.Fatalf("bob's record of the call nobody answered %v", rec)
	}
}

// TestExternalProviderRefusesDepartment: a user of an external provider
// whose email is a department's here does not sign in as the department.
func TestExternalProviderRefusesDepartment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// At the provider, desk@elsewhere.test is a user with a password.
	provider, rpAddr := providerFor(t, "crm-d", identity.Extension{Number: "198", Name: "Desk User",
		Email: "desk@elsewhere.test"}, "secret")
	// Here it is a department.
	rpData := filepath.Join(t.TempDir(), "data")
	rdb, err := store.Open(ctx, rpData)
	if err != nil {
		t.Fatal(err)
	}
	rdir := identity.NewDirectory(rdb)
	if err := rdir.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	racct, err := rdir.AccountByMainNumber(ctx, identity.DemoMainNumber)
	if err == nil {
		err = rdir.CreateExtension(ctx, &identity.Extension{AccountID: racct.ID, Number: "210", Name: "Desk",
			Email: "desk@elsewhere.test", Type: identity.TypeDepartment}, "")
	}
	rdb.Close()
	if err != nil {
		t.Fatal(err)
	}

	rp := startServer(t, Config{Listen: rpAddr, DataDir: rpData, OIDCIssuer: provider.WidgetURL, OIDCClientID: "crm-d"})
	iframe := browser()
	openWidget(t, iframe, rp)
	callback := location(t, login(t, browser(), startLogin(t, iframe, rp, "popup"), "desk@elsewhere.test", "secret"))
	r := widgetPost(t, iframe, rp.WidgetURL, "/widget/login/complete", map[string]string{"callbackUri": callback.String()})
	if r.StatusCode != http.StatusForbidden || r.json(t)["errorCode"] != "UnknownUser" {
		t.Fatalf("signed in as a department: %d %s", r.StatusCode, r.body)
	}
}
