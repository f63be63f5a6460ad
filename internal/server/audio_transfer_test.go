package server

import (
	"net/http"
	"testing"
	"time"
)

// answerWith answers, from tab, the call that rings it for session, with
// talker tk, and returns the tab's call.
func answerWith(t *testing.T, srv *instance, tab *widgetTab, session any, tk *talker) map[string]any {
	t.Helper()
	call := tab.waitFor(t, "the ring", ringsFor(session))["call"].(map[string]any)
	r := widgetPost(t, tab.c, srv.WidgetURL, "/widget/calls/"+call["id"].(string)+"/answer",
		map[string]string{"deviceId": tab.device, "sdp": tk.offer})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("%s answers: %d %s", tab.device, r.StatusCode, r.body)
	}
	tk.answer(t, r.json(t)["sdp"].(string))
	return call
}

// settle makes what each talker said so far reach the gateway before the
// next step: each switches to a mark nobody checks, and the gateway reports
// it read it, so every packet said before went where the call sent it
// then.
func settle(t *testing.T, tks map[string]*talker, mark byte) {
	t.Helper()
	for who, tk := range tks {
		tk.waitRead(t, who, tk.say(mark))
	}
}

// TestAudioFollowsWarmTransferAndMove: bob, on a call with alice, consults
// carol on a second call (alice is held and hears neither of them), then
// joins alice to carol and leaves: they hear each other and nothing bob's
// legs said. Then alice takes the call on her second tab: carol hears the
// new tab and nothing more of the old one. Marks tell who is heard; the
// absence of a mark is proved as TestAudioFollowsTheCall proves it.
func TestAudioFollowsWarmTransferAndMove(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{RingTimeout: time.Hour})
	aliceTab, bobTab, carolTab := openTab(t, srv, "alice@demo.test"), openTab(t, srv, "bob@demo.test"), openTab(t, srv, "carol@demo.test")
	post := func(tab *widgetTab, path string, body map[string]string) map[string]any {
		t.Helper()
		body["deviceId"] = tab.device
		r := widgetPost(t, tab.c, srv.WidgetURL, path, body)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", tab.device, path, r.StatusCode, r.body)
		}
		return r.json(t)
	}

	alice := newTalker(t, "alice", 'a')
	first := aliceTab.dial(t, "102", alice.peer)
	bob := newTalker(t, "bob", 'b')
	answerWith(t, srv, bobTab, first["telephonySessionId"], bob)
	alice.waitHears(t, "alice", 'b', 10)
	bob.waitHears(t, "bob", 'a', 10)

	// The consultation: alice is held while bob talks to carol.
	consult := newTalker(t, "bob-consult", 'k')
	second := bobTab.dial(t, "103", consult.peer)
	carol := newTalker(t, "carol", 'c')
	answerWith(t, srv, carolTab, second["telephonySessionId"], carol)
	alice.say('A') // said while held: nobody may hear it
	carol.say('C') // said to bob only
	consult.waitHears(t, "bob-consult", 'C', 10)
	carol.waitHears(t, "carol", 'k', 10)
	settle(t, map[string]*talker{"alice": alice, "carol": carol, "bob-consult": consult}, 'x')

	post(bobTab, "/widget/calls/"+first["id"].(string)+"/bridge", map[string]string{"with": second["id"].(string)})
	alice.say('d')
	carol.say('e')
	alice.waitHears(t, "alice", 'e', 10)
	carol.waitHears(t, "carol", 'd', 10)
	for _, c := range []struct {
		who  string
		tk   *talker
		mark byte
	}{{"alice", alice, 'C'}, {"alice", alice, 'k'}, {"carol", carol, 'A'}, {"carol", carol, 'b'}, {"bob-consult", consult, 'A'}} {
		if n := c.tk.count(c.mark); n != 0 {
			t.Errorf("%s heard %d packets marked %q", c.who, n, c.mark)
		}
	}

	// alice takes the call on her second tab.
	aliceTab2 := openTab(t, srv, "alice@demo.test")
	settle(t, map[string]*talker{"alice": alice, "carol": carol}, 'y')
	alice2 := newTalker(t, "alice-2", 'f')
	r := post(aliceTab2, "/widget/calls/"+first["id"].(string)+"/pickup", map[string]string{"sdp": alice2.offer})
	alice2.answer(t, r["sdp"].(string))
	alice.say('G') // the old tab: its leg is closed, nobody may hear it
	carol.say('h')
	alice2.waitHears(t, "alice-2", 'h', 10)
	carol.waitHears(t, "carol", 'f', 10)
	if n := carol.count('G'); n != 0 {
		t.Errorf("carol heard %d packets of the tab the call left", n)
	}
	if n := alice.count('h'); n != 0 {
		t.Errorf("the tab the call left heard %d packets after the move", n)
	}
	aliceTab.waitFor(t, "the end of the moved call", func(m map[string]any) bool {
		c, _ := m["call"].(map[string]any)
		return m["type"] == "rc-call-end-notify" && c["reason"] == "moved"
	})
	carolTab.hangup(t, second["id"].(string))
	aliceTab2.waitFor(t, "the end", func(m map[string]any) bool { return m["type"] == "rc-call-end-notify" })
}
