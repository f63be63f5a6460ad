package server

import (
	"testing"
	"time"
)

// TestSecondCallAcrossNodes: bob's widget (node b) calls alice, whose
// widget is on node a, and she answers; carol's (node c) calls her and she
// answers too. Node c, carol's call's, holds her call with bob, which node
// b carries, for carol's. Her presence through node a counts both calls,
// though node a carries neither. Carol hangs up: alice is never reported
// without a call, her call with bob resumes on its own, as it would on one
// node, and bob hears her again.
func TestSecondCallAcrossNodes(t *testing.T) {
	const aliceHz, bobHz, carolHz = 440, 1000, 1600
	a, _, _, aliceTab, bobTab, carolTab := threeTabs(t)
	bob, carol := newTonePeer(t, "bob", opusFrames(t, bobHz, 50)), newTonePeer(t, "carol", opusFrames(t, carolHz, 50))
	fromBob := bobTab.dial(t, "101", bob.peer)
	answerTone(t, a, aliceTab, fromBob["telephonySessionId"], newTonePeer(t, "alice-bob", opusFrames(t, aliceHz, 50)))
	wantHearsTone(t, "bob", bob, aliceHz)

	fromCarol := carolTab.dial(t, "101", carol.peer)
	answerTone(t, a, aliceTab, fromCarol["telephonySessionId"], newTonePeer(t, "alice-carol", opusFrames(t, aliceHz, 50)))
	aliceTab.waitFor(t, "the hold of bob's call", func(m map[string]any) bool {
		call, _ := m["call"].(map[string]any)
		return m["type"] == "rc-call-hold-notify" && call["telephonySessionId"] == fromBob["telephonySessionId"]
	})
	wantHearsTone(t, "carol", carol, aliceHz)

	alice := newPlatform(t, a, "alice@demo.test")
	for deadline := time.Now().Add(patience); ; {
		p := alice.get("/account/~/extension/~/presence")
		if p["telephonyStatus"] == "CallConnected" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's presence through node a, with a call on node b held and one on node c: %v", p)
		}
		time.Sleep(20 * time.Millisecond)
	}

	carolCall := carolTab.waitFor(t, "carol's call answered", func(m map[string]any) bool {
		call, _ := m["call"].(map[string]any)
		return m["type"] == "rc-call-start-notify" && call["telephonySessionId"] == fromCarol["telephonySessionId"]
	})["call"].(map[string]any)
	carolTab.hangup(t, carolCall["id"].(string))
	aliceTab.waitFor(t, "the resume of bob's call", func(m map[string]any) bool {
		if m["type"] == "rc-adapter-syncPresence" && m["telephonyStatus"] == "NoCall" {
			t.Fatalf("alice reported without a call while her call with bob is held: %v", m)
		}
		call, _ := m["call"].(map[string]any)
		return m["type"] == "rc-call-resume-notify" && call["telephonySessionId"] == fromBob["telephonySessionId"]
	})
	wantHearsTone(t, "bob", bob, aliceHz)
}

// dialUntilDiverted has tab call to through its node until the call goes
// at once to the callee's voicemail, as it does when the callee takes no
// calls: what was set through another node applies here once this node
// learned it. A call that rings instead is ended.
func dialUntilDiverted(t *testing.T, tab *widgetTab, to string) {
	t.Helper()
	for deadline := time.Now().Add(patience); ; {
		p := newTalker(t, "caller", 'x')
		call := tab.dial(t, to, p.peer)
		tab.hangup(t, call["id"].(string))
		if call["callStatus"] == "connected" { // the mailbox answered
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("calls to %s through %s never went to voicemail at once: %v", to, tab.srv.WidgetURL, call)
		}
		time.Sleep(500 * time.Millisecond) // two requests a try: well within the widget's request limit
	}
}
