package server

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/siptest"
	"github.com/thesyncim/gopus"
)

// hear keeps what the peer receives from now on, and returns the next n
// Opus payloads.
func (tp *tonePeer) hear(t *testing.T, n int) [][]byte {
	t.Helper()
	tp.mu.Lock()
	tp.keeping, tp.heard = true, nil
	tp.mu.Unlock()
	tp.await(t, fmt.Sprintf("%d packets heard", n), func() bool { return len(tp.heard) >= n })
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.keeping = false
	return tp.heard[:n]
}

// toneShares decodes Opus payloads and returns, for each frequency, the
// share of the sound's power it carries (Goertzel over the whole window).
func toneShares(t *testing.T, payloads [][]byte, hzs ...float64) []float64 {
	t.Helper()
	dec, err := gopus.NewDecoder(gopus.DefaultDecoderConfig(opusRate, 1))
	if err != nil {
		t.Fatal(err)
	}
	var x []float64
	buf := make([]int16, 5760)
	for _, p := range payloads {
		n, err := dec.DecodeInt16(p, buf)
		if err != nil {
			t.Fatalf("undecodable Opus from the gateway: %v", err)
		}
		for _, v := range buf[:n] {
			x = append(x, float64(v))
		}
	}
	var energy float64
	for _, v := range x {
		energy += v * v
	}
	out := make([]float64, len(hzs))
	if energy == 0 {
		return out
	}
	for i, hz := range hzs {
		// A pure tone's Goertzel power is energy·N/2.
		out[i] = goertzel(x, hz, opusRate) / (energy * float64(len(x)) / 2)
	}
	return out
}

// wantHears waits until a second of what tp receives carries each tone of
// others (at least a tenth of the power each) and not its own (under a
// hundredth), and checks the next second does not carry its own either.
// That the others stay loud is not asked again: a sender the machine
// stalls for a moment goes quiet for that moment, as it would on a real
// call, but nothing makes a member hear itself.
func wantHears(t *testing.T, who string, tp *tonePeer, own float64, others ...float64) {
	t.Helper()
	hzs := append([]float64{own}, others...)
	ok := func(sh []float64) bool {
		if sh[0] > 0.01 {
			return false
		}
		for _, s := range sh[1:] {
			if s < 0.1 {
				return false
			}
		}
		return true
	}
	var sh []float64
	for range 30 { // each try a second of audio, received: against a hang only
		if sh = toneShares(t, tp.hear(t, 50), hzs...); ok(sh) {
			if sh = toneShares(t, tp.hear(t, 50), hzs...); sh[0] > 0.01 {
				t.Fatalf("%s: heard the conference, then itself: shares %v of %v Hz", who, sh, hzs)
			}
			return
		}
	}
	t.Fatalf("%s never heard the others without itself: shares %v of %v Hz", who, sh, hzs)
}

// TestConferenceAudio: alice calls bob, then carol, and brings bob's call
// into carol's through the API. Each of the three hears the other two and
// not themselves; once bob hangs up, alice and carol no longer hear him.
func TestConferenceAudio(t *testing.T) {
	t.Parallel()
	const aliceHz, bobHz, carolHz = 440, 1000, 1600
	srv := startServer(t, Config{APIRateLimit: 10000, RingTimeout: time.Hour})
	aliceAPI := newPlatform(t, srv, "alice@demo.test")
	aliceTab, bobTab, carolTab := openTab(t, srv, "alice@demo.test"), openTab(t, srv, "bob@demo.test"), openTab(t, srv, "carol@demo.test")

	// answer has tab answer the call of session with a new peer sending hz.
	answer := func(tab *widgetTab, session string, name string, hz float64) (*tonePeer, string) {
		t.Helper()
		call := tab.waitFor(t, "the ring", ringsFor(session))["call"].(map[string]any)
		tp := newTonePeer(t, name, opusFrames(t, hz, 50))
		r := widgetPost(t, tab.c, srv.WidgetURL, "/widget/calls/"+call["id"].(string)+"/answer",
			map[string]string{"deviceId": tab.device, "sdp": tp.offer})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s answers: %d %s", name, r.StatusCode, r.body)
		}
		tp.answer(t, r.json(t)["sdp"].(string))
		return tp, call["id"].(string)
	}

	aliceToBob := newTonePeer(t, "alice-bob", opusFrames(t, aliceHz, 50))
	withBob := aliceTab.dial(t, "102", aliceToBob.peer)
	bob, bobCall := answer(bobTab, withBob["telephonySessionId"].(string), "bob", bobHz)
	aliceToCarol := newTonePeer(t, "alice-carol", opusFrames(t, aliceHz, 50))
	withCarol := aliceTab.dial(t, "103", aliceToCarol.peer)
	carol, _ := answer(carolTab, withCarol["telephonySessionId"].(string), "carol", carolHz)
	aliceToCarol.await(t, "alice hears carol", func() bool { return aliceToCarol.received >= 10 })

	body := fmt.Sprintf(`{"sessionId": %q, "partyId": %q}`, withBob["telephonySessionId"], withBob["partyId"])
	r := aliceAPI.call("POST", "/account/~/telephony/sessions/"+withCarol["telephonySessionId"].(string)+"/parties/bring-in", body)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("bring-in: %d %s", r.StatusCode, r.body)
	}
	if parties := r.json(t)["parties"].([]any); len(parties) < 3 {
		t.Fatalf("the conference's session lists %v", parties)
	}
	wantHears(t, "alice", aliceToCarol, aliceHz, bobHz, carolHz)
	wantHears(t, "bob", bob, bobHz, aliceHz, carolHz)
	wantHears(t, "carol", carol, carolHz, aliceHz, bobHz)

	// Bob hangs up: the two others hear each other, and him no more.
	if r := widgetPost(t, bobTab.c, srv.WidgetURL, "/widget/calls/"+bobCall+"/hangup", map[string]string{"deviceId": bobTab.device}); r.StatusCode >= 300 {
		t.Fatalf("bob hangs up: %d %s", r.StatusCode, r.body)
	}
	wantHearsWithout(t, "alice", aliceToCarol, bobHz, aliceHz, carolHz)
	wantHearsWithout(t, "carol", carol, bobHz, carolHz, aliceHz)
}

// wantHearsWithout waits until what tp receives carries want and neither
// its own tone nor gone's.
func wantHearsWithout(t *testing.T, who string, tp *tonePeer, gone, own, want float64) {
	t.Helper()
	var sh []float64
	for range 30 {
		sh = toneShares(t, tp.hear(t, 50), own, gone, want)
		if sh[0] < 0.01 && sh[1] < 0.01 && sh[2] > 0.1 {
			return
		}
	}
	t.Fatalf("%s: shares %v of %v, %v, %v Hz", who, sh, own, gone, want)
}

// TestConferenceWithTheNetwork: alice calls bob, then a number on the
// phone network (SIPp answering in PCMU with a 1 kHz tone), and brings the
// network call into bob's: alice and bob, in Opus, hear the carrier's
// G.711 tone and each other, and not themselves. Alice ends it for all:
// the carrier gets its BYE.
func TestConferenceWithTheNetwork(t *testing.T) {
	const aliceHz, bobHz, carrierHz = 440, 1600, 1000
	sipPort, carrierPort := siptest.FreeUDPPort(t), siptest.FreeUDPPort(t)
	dir := keepTrunks(t, sip.TrunkConfig{Name: "carrier", Host: fmt.Sprintf("127.0.0.1:%d", carrierPort), Priority: 1})
	srv := startServer(t, Config{DataDir: dir, RingTimeout: time.Hour, APIRateLimit: 10000, SIPListen: udpListen(sipPort)})
	media := t.TempDir() // SIPp runs here and plays tone.pcap from here
	if err := siptest.WriteTonePCAP(filepath.Join(media, "tone.pcap"), time.Minute); err != nil {
		t.Fatal(err)
	}
	carrier := siptest.SIPp{Scenario: "../../e2e/testdata/trunk_answer.xml", Port: carrierPort, Args: []string{"-m", "1"}, Dir: media}.Start(t)
	aliceAPI := newPlatform(t, srv, "alice@demo.test")
	aliceTab, bobTab := openTab(t, srv, "alice@demo.test"), openTab(t, srv, "bob@demo.test")

	alice := newTonePeer(t, "alice", opusFrames(t, aliceHz, 50))
	withBob := aliceTab.dial(t, "102", alice.peer)
	session := withBob["telephonySessionId"].(string)
	call := bobTab.waitFor(t, "the ring", ringsFor(session))["call"].(map[string]any)
	bob := newTonePeer(t, "bob", opusFrames(t, bobHz, 50))
	r := widgetPost(t, bobTab.c, srv.WidgetURL, "/widget/calls/"+call["id"].(string)+"/answer",
		map[string]string{"deviceId": bobTab.device, "sdp": bob.offer})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("bob answers: %d %s", r.StatusCode, r.body)
	}
	bob.answer(t, r.json(t)["sdp"].(string))

	withNetwork := aliceTab.dial(t, "+1 415 555 0123", newTalkerIn(t, "alice-network", 'n', pcmu).peer)
	network := withNetwork["telephonySessionId"].(string)
	aliceTab.waitFor(t, "the network's answer", func(m map[string]any) bool {
		c, _ := m["call"].(map[string]any)
		return m["type"] == "rc-call-start-notify" && c != nil && c["telephonySessionId"] == network
	})
	body := fmt.Sprintf(`{"sessionId": %q, "partyId": %q}`, network, withNetwork["partyId"])
	if r := aliceAPI.call("POST", "/account/~/telephony/sessions/"+session+"/parties/bring-in", body); r.StatusCode != http.StatusOK {
		t.Fatalf("bring-in: %d %s", r.StatusCode, r.body)
	}
	wantHears(t, "alice", alice, aliceHz, bobHz, carrierHz)
	wantHears(t, "bob", bob, bobHz, aliceHz, carrierHz)

	if r := aliceAPI.call("DELETE", "/account/~/telephony/sessions/"+session, ""); r.StatusCode != http.StatusNoContent {
		t.Fatalf("end the conference: %d %s", r.StatusCode, r.body)
	}
	carrier.Finish() // the scenario ends with the server's BYE
}
