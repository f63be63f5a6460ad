package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// waitCallKnown waits until node lists the tab's call session: it knows
// the call, which another node carries, from the calls bucket.
func waitCallKnown(t *testing.T, node *instance, tab *widgetTab, session any) {
	t.Helper()
	for deadline := time.Now().Add(patience); ; {
		r := do(t, tab.c, "GET", node.WidgetURL+"/widget/calls?deviceId="+tab.device, nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo")
		var list struct {
			Calls []map[string]any `json:"calls"`
		}
		if json.Unmarshal([]byte(r.body), &list); r.StatusCode == http.StatusOK {
			for _, c := range list.Calls {
				if c["telephonySessionId"] == session && c["callStatus"] != nil {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node never listed call %v: %d %s", session, r.StatusCode, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// threeTabs starts three nodes, a, b and c, with alice's widget on a,
// bob's on b and carol's on c, each node knowing the other two tabs.
func threeTabs(t *testing.T) (a, b, c *instance, aliceTab, bobTab, carolTab *widgetTab) {
	t.Helper()
	nodes := startNodes(t, 3)
	a, b, c = nodes[0], nodes[1], nodes[2]
	aliceTab, bobTab, carolTab = openTab(t, a, "alice@demo.test"), openTab(t, b, "bob@demo.test"), openTab(t, c, "carol@demo.test")
	for _, n := range nodes {
		waitRemoteDevices(t, n, 2)
	}
	return a, b, c, aliceTab, bobTab, carolTab
}

// on is the tab with its requests sent to node: a load balancer without
// stickiness.
func (w *widgetTab) on(node *instance) *widgetTab {
	moved := *w
	moved.srv = node
	return &moved
}

// TestConferenceAcrossNodes: alice's widget is on node a, bob's on b,
// carol's on c. Alice calls bob through node a, then carol through node
// c: her second call is placed on node a, with her first, so that the two
// can be merged. She brings bob in through node b's API; each of the three
// hears the other two. She ends the conference through node c, and every
// call ends. Then two calls that came in through different nodes: she
// merges them, one node takes the other's call over, and again each of
// the three hears the other two.
func TestConferenceAcrossNodes(t *testing.T) {
	const aliceHz, bobHz, carolHz = 440, 1000, 1600
	a, b, c, aliceTab, bobTab, carolTab := threeTabs(t)

	// answer has tab answer the call of session through node with a new
	// peer sending hz.
	answer := func(node *instance, tab *widgetTab, session any, name string, hz float64) *tonePeer {
		t.Helper()
		tp := newTonePeer(t, name, opusFrames(t, hz, 50))
		answerTone(t, node, tab, session, tp)
		return tp
	}

	aliceToBob := newTonePeer(t, "alice-bob", opusFrames(t, aliceHz, 50))
	withBob := aliceTab.dial(t, "102", aliceToBob.peer)
	bob := answer(b, bobTab, withBob["telephonySessionId"], "bob", bobHz)
	aliceToBob.await(t, "alice hears bob", func() bool { return aliceToBob.received >= 10 })

	waitCallKnown(t, c, aliceTab.on(c), withBob["telephonySessionId"])
	aliceToCarol := newTonePeer(t, "alice-carol", opusFrames(t, aliceHz, 50))
	withCarol := aliceTab.on(c).dial(t, "103", aliceToCarol.peer)
	carol := answer(c, carolTab, withCarol["telephonySessionId"], "carol", carolHz)
	aliceToCarol.await(t, "alice hears carol", func() bool { return aliceToCarol.received >= 10 })

	aliceOnB := newPlatform(t, b, "alice@demo.test")
	body := fmt.Sprintf(`{"sessionId": %q, "partyId": %q}`, withBob["telephonySessionId"], withBob["partyId"])
	r := aliceOnB.call("POST", "/account/~/telephony/sessions/"+withCarol["telephonySessionId"].(string)+"/parties/bring-in", body)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("bring-in through node b: %d %s", r.StatusCode, r.body)
	}
	wantHears(t, "alice", aliceToCarol, aliceHz, bobHz, carolHz)
	wantHears(t, "bob", bob, bobHz, aliceHz, carolHz)
	wantHears(t, "carol", carol, carolHz, aliceHz, bobHz)

	// The conference, named by its call, through node c.
	conf := "/widget/conferences/" + withCarol["telephonySessionId"].(string) + "?deviceId=" + aliceTab.device
	if r := do(t, aliceTab.c, "DELETE", c.WidgetURL+conf, nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo"); r.StatusCode != http.StatusNoContent {
		t.Fatalf("end the conference through node c: %d %s", r.StatusCode, r.body)
	}
	for _, tab := range []*widgetTab{bobTab, carolTab} {
		tab.waitFor(t, "the end of the conference's call", func(m map[string]any) bool {
			return m["type"] == "rc-call-end-notify"
		})
	}

	// Bob (node b) and carol (node c) call alice: each call is carried by
	// its caller's node. Alice answers both through node a and merges
	// them there: node b takes carol's call over, and carol's widget
	// connects its audio again to node b.
	aliceInBob, aliceInCarol := newTonePeer(t, "alice-bob", opusFrames(t, aliceHz, 50)), newTonePeer(t, "alice-carol", opusFrames(t, aliceHz, 50))
	bob2, carol2 := newTonePeer(t, "bob", opusFrames(t, bobHz, 50)), newTonePeer(t, "carol", opusFrames(t, carolHz, 50))
	fromBob := bobTab.dial(t, "101", bob2.peer)
	answerTone(t, a, aliceTab, fromBob["telephonySessionId"], aliceInBob)
	fromCarol := carolTab.dial(t, "101", carol2.peer)
	answerTone(t, a, aliceTab, fromCarol["telephonySessionId"], aliceInCarol)
	aliceInCarol.await(t, "alice hears carol", func() bool { return aliceInCarol.received >= 10 })
	// Her answer held her call with bob, which another node carries.
	aliceTab.waitFor(t, "the hold of the call with bob", func(m map[string]any) bool {
		c, _ := m["call"].(map[string]any)
		return m["type"] == "rc-call-hold-notify" && c != nil && c["telephonySessionId"] == fromBob["telephonySessionId"]
	})

	r = widgetPost(t, aliceTab.c, a.WidgetURL, "/widget/calls/"+fromBob["telephonySessionId"].(string)+"/merge",
		map[string]string{"deviceId": aliceTab.device, "otherCallId": fromCarol["telephonySessionId"].(string)})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("merge of calls of nodes b and c: %d %s", r.StatusCode, r.body)
	}
	carol3 := rejoinTone(t, c, carolTab, fromCarol["telephonySessionId"], "carol", carolHz)
	wantHears(t, "alice", aliceInBob, aliceHz, bobHz, carolHz)
	wantHears(t, "bob", bob2, bobHz, aliceHz, carolHz)
	wantHears(t, "carol", carol3, carolHz, aliceHz, bobHz)
}

// answerTone has tab answer the ringing call of session through node with
// tp's offer.
func answerTone(t *testing.T, node *instance, tab *widgetTab, session any, tp *tonePeer) {
	t.Helper()
	call := tab.waitFor(t, "the ring", ringsFor(session))["call"].(map[string]any)
	r := widgetPost(t, tab.c, node.WidgetURL, "/widget/calls/"+call["id"].(string)+"/answer",
		map[string]string{"deviceId": tab.device, "sdp": tp.offer})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("answer through %s: %d %s", node.WidgetURL, r.StatusCode, r.body)
	}
	tp.answer(t, r.json(t)["sdp"].(string))
}

// rejoinTone waits until tab is told that the audio of session moved to
// another node, and connects again through node with a new peer sending hz.
func rejoinTone(t *testing.T, node *instance, tab *widgetTab, session any, name string, hz float64) *tonePeer {
	t.Helper()
	tab.waitFor(t, "cb-call-rejoin", func(m map[string]any) bool {
		return m["type"] == "cb-call-rejoin" && m["telephonySessionId"] == session
	})
	tp := newTonePeer(t, name, opusFrames(t, hz, 50))
	r := widgetPost(t, tab.c, node.WidgetURL, "/widget/calls/"+session.(string)+"/rejoin",
		map[string]string{"deviceId": tab.device, "sdp": tp.offer})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("%s connects again: %d %s", name, r.StatusCode, r.body)
	}
	tp.answer(t, r.json(t)["sdp"].(string))
	return tp
}

// TestBridgeAcrossNodes: bob's widget (node b) and carol's (node c) call
// alice, whose widget is on node a; she joins the two (the end of a warm
// transfer) through node c. Node b takes carol's call over, carol's widget
// connects again, and bob and carol hear each other.
func TestBridgeAcrossNodes(t *testing.T) {
	const bobHz, carolHz = 1000, 1600
	a, _, c, aliceTab, bobTab, carolTab := threeTabs(t)
	bob, carol := newTonePeer(t, "bob", opusFrames(t, bobHz, 50)), newTonePeer(t, "carol", opusFrames(t, carolHz, 50))
	fromBob := bobTab.dial(t, "101", bob.peer)
	answerTone(t, a, aliceTab, fromBob["telephonySessionId"], newTonePeer(t, "alice-bob", opusFrames(t, 440, 50)))
	fromCarol := carolTab.dial(t, "101", carol.peer)
	answerTone(t, a, aliceTab, fromCarol["telephonySessionId"], newTonePeer(t, "alice-carol", opusFrames(t, 440, 50)))

	r := widgetPost(t, aliceTab.c, c.WidgetURL, "/widget/calls/"+fromBob["telephonySessionId"].(string)+"/bridge",
		map[string]string{"deviceId": aliceTab.device, "with": fromCarol["telephonySessionId"].(string)})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("bridge of calls of nodes b and c: %d %s", r.StatusCode, r.body)
	}
	carol = rejoinTone(t, c, carolTab, fromCarol["telephonySessionId"], "carol", carolHz)
	wantHears(t, "bob", bob, bobHz, carolHz)
	wantHears(t, "carol", carol, carolHz, bobHz)
}

// TestRingOutAcrossNodes: bob places a RingOut through node a; node b
// reports it and lists it among his active calls; node c cancels it.
func TestRingOutAcrossNodes(t *testing.T) {
	nodes := startNodes(t, 3)
	onA, onB, onC := newPlatform(t, nodes[0], "bob@demo.test"), newPlatform(t, nodes[1], "bob@demo.test"), newPlatform(t, nodes[2], "bob@demo.test")

	ro := onA.ringOut(`{"from":{"phoneNumber":"+15550107"},"to":{"phoneNumber":"+15550100"}}`)
	id := ro["id"].(string)
	if got := onB.get(ringOutPath + "/" + id); statusOf(got) != "InProgress/InProgress/InProgress" {
		t.Fatalf("the RingOut through node b: %v", got)
	}
	for deadline := time.Now().Add(patience); ; {
		active := onB.get("/account/~/extension/~/active-calls")["records"].([]any)
		if len(active) == 1 && active[0].(map[string]any)["telephonySessionId"] == ro["telephonySessionId"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("active calls through node b: %v", active)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := onC.call("DELETE", ringOutPath+"/"+id, ""); r.StatusCode != http.StatusNoContent {
		t.Fatalf("cancel through node c: %d %s", r.StatusCode, r.body)
	}
	if got := onB.get(ringOutPath + "/" + id); statusOf(got) != "Canceled/Canceled/Canceled" {
		t.Fatalf("the cancelled RingOut through node b: %v", got)
	}
	wantAPIError(t, onC.call("DELETE", ringOutPath+"/"+id, ""), 409, "RingOutNotInProgress", "")
}
