package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/callbridge/widget-server/internal/server"
	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/siptest"
	"github.com/callbridge/widget-server/internal/store"
)

// TestTrunkCallsFromTheWidget: calls between the widget and a carrier
// behind a SIP trunk, the carrier played by SIPp (Debian's sip-tester), one
// run of a scenario of testdata/ per call. alice's calls to outside numbers
// go out on the trunk: one answered with audio both ways, one busy, one
// hung up during the carrier's early media; and the carrier calls bob's
// number, which rings his widget. The carrier's audio is a 1 kHz tone the
// test writes as a pcap file, which SIPp plays as RTP.
func TestTrunkCallsFromTheWidget(t *testing.T) {
	siptest.NeedSIPp(t)
	carrierPort, sipPort := siptest.FreeUDPPort(t), siptest.FreeUDPPort(t)
	dir := keepTrunk(t, sip.TrunkConfig{Name: "carrier", Host: fmt.Sprintf("127.0.0.1:%d", carrierPort), Priority: 1})
	run := runServer(t, server.Config{DataDir: dir,
		SIPListen: []sip.Listen{{Transport: sip.UDP, Addr: fmt.Sprintf("127.0.0.1:%d", sipPort)}}})
	alice := &env{Addrs: run.addrs, ctx: browser(t), dataDir: run.cfg.DataDir, run: run}
	bob := alice.second(t)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")

	media := t.TempDir() // SIPp runs here and plays tone.pcap from here
	if err := siptest.WriteTonePCAP(filepath.Join(media, "tone.pcap"), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// The carrier: a scenario of testdata/ for one call, run in media.
	carrier := func(t *testing.T, scenario string, args ...string) *siptest.Process {
		return siptest.SIPp{Scenario: filepath.Join("testdata", scenario), Port: carrierPort,
			Args: append([]string{"-m", "1"}, args...), Dir: media}.Start(t)
	}

	t.Run("outbound answered with audio both ways", func(t *testing.T) {
		c := carrier(t, "trunk_answer.xml", "-rtp_echo")
		id := dialOut(t, alice, "+14155550123")
		waitMessage(t, alice.ctx, "rc-call-start-notify", sessionOf(id)+` && m.data.call.callStatus === 'connected'`)
		// The carrier's tone reaches alice, and her audio reaches the
		// carrier, which sends it back: she receives both, so more than
		// she sends.
		if received, sent := statsGrow(t, alice, id); received < 1.25*sent {
			t.Errorf("alice received %v bytes and sent %v: no more than the echo of her audio, the tone is missing", received, sent)
		}
		controlCallOn(t, alice, "hangup", id, "")
		end := waitMessage(t, alice.ctx, "rc-call-end-notify", sessionOf(id))
		if r := end.Data["call"].(map[string]any)["result"]; r != "Call connected" {
			t.Errorf("end of the answered call: result %v", r)
		}
		c.Finish() // the scenario ends with the BYE
	})

	t.Run("outbound busy", func(t *testing.T) {
		c := carrier(t, "trunk_busy.xml")
		id := dialOut(t, alice, "+14155550124")
		m := waitMessage(t, alice.ctx, "rc-call-failed-notify", sessionOf(id))
		if call := m.Data["call"].(map[string]any); m.Data["code"] != 486.0 || m.Data["reason"] != "Busy Here" || call["result"] != "Busy" {
			t.Errorf("busy call failed with code %v reason %v result %v, want 486 Busy Here Busy", m.Data["code"], m.Data["reason"], call["result"])
		}
		waitMessage(t, alice.ctx, "rc-call-end-notify", sessionOf(id))
		c.Finish()
	})

	t.Run("outbound early media then cancel", func(t *testing.T) {
		c := carrier(t, "trunk_early_cancel.xml")
		id := dialOut(t, alice, "+14155550125")
		// Before any answer the carrier's tone reaches alice: the browser
		// receives no audio of the server's own while a call rings, and the
		// host page no statistics before the answer.
		frameAudioGrows(t, "alice (early media)", alice)
		controlCallOn(t, alice, "hangup", id, "")
		end := waitMessage(t, alice.ctx, "rc-call-end-notify", sessionOf(id))
		if call := end.Data["call"].(map[string]any); call["result"] != "Canceled" || call["code"] != 487.0 {
			t.Errorf("a call hung up during early media ended with result %v code %v, want Canceled 487", call["result"], call["code"])
		}
		if n := eval[int](t, alice.ctx, `cbDemo.messages.filter(m => m.data && m.data.type === 'rc-call-start-notify' && `+
			sessionOf(id)+`).length`); n != 0 {
			t.Errorf("a call that was never answered started (%d rc-call-start-notify)", n)
		}
		c.Finish() // CANCEL, 200, 487 and the server's ACK
	})

	t.Run("inbound to a direct number", func(t *testing.T) {
		c := carrier(t, "trunk_inbound.xml", fmt.Sprintf("127.0.0.1:%d", sipPort))
		id := ringingCall(t, bob, `m.data.call && m.data.call.direction === 'Inbound' && m.data.call.fromNumber === '+14155550199'`)
		controlCallOn(t, bob, "answer", id, "")
		waitMessage(t, bob.ctx, "rc-call-start-notify", sessionOf(id))
		callAudioFlows(t, "bob (inbound)", bob, id) // the tone: this carrier echoes nothing
		// The carrier hangs up once it played its audio.
		waitMessageWithin(t, bob.ctx, 2*time.Minute, "rc-call-end-notify", sessionOf(id))
		c.Finish()
	})
}

// keepTrunk makes a new data dir with trunks kept in its store, as
// `widget-server trunks add` does, and returns it.
func keepTrunk(t *testing.T, trunks ...sip.TrunkConfig) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	db, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range trunks {
		if err := db.AddTrunk(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// dialOut has e's host page call number and returns the new call's id.
func dialOut(t *testing.T, e *env, number string) string {
	t.Helper()
	before := eval[[]string](t, e.ctx, `cbDemo.messages.filter(m => m.data && m.data.type === 'rc-call-init-notify').map(m => m.data.call.telephonySessionId)`)
	if res := eval[any](t, e.ctx, `RCAdapter.clickToCall('`+number+`', true)`); res != "ok" {
		t.Fatalf("call %s: %v", number, res)
	}
	seen := map[string]bool{}
	for _, id := range before {
		seen[id] = true
	}
	m := waitMessage(t, e.ctx, "rc-call-init-notify", newCall(seen)+` && m.data.call.toNumber === '`+number+`'`)
	return m.Data["call"].(map[string]any)["telephonySessionId"].(string)
}

// statsGrow checks that the audio of a call of e's widget flows both ways:
// after a report of the call's statistics that counts bytes received and
// sent, a later one counts more of both, which it returns.
func statsGrow(t *testing.T, e *env, callID string) (received, sent float64) {
	t.Helper()
	type counts struct{ Received, Sent float64 }
	read := func() []counts {
		return eval[[]counts](t, e.ctx, fmt.Sprintf(`cbDemo.messages.filter(m => m.data && m.data.type === 'rc-call-stats-notify' &&
			m.data.call && m.data.call.telephonySessionId === %q && m.data.stats).map(m => ({Received: m.data.stats.bytesReceived || 0, Sent: m.data.stats.bytesSent || 0}))`, callID))
	}
	deadline := time.Now().Add(2 * time.Minute) // against a hang only: a report comes every 10 s
	for time.Now().Before(deadline) {
		var first *counts
		for _, c := range read() {
			switch {
			case first == nil && c.Received > 0 && c.Sent > 0:
				first = &c
			case first != nil && c.Received > first.Received && c.Sent > first.Sent:
				t.Logf("call statistics: bytes received %v then %v, sent %v then %v", first.Received, c.Received, first.Sent, c.Sent)
				return c.Received, c.Sent
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("the call's audio did not grow both ways; reports: %+v", read())
	return 0, 0
}

// frameAudioGrows checks, inside e's widget frame, that the audio bytes
// its call's connection received grow. The page measures by itself and
// answers once.
func frameAudioGrows(t *testing.T, who string, e *env) {
	t.Helper()
	v, err := chromedp.Run(within(t, frameCtx(t, e), 2*time.Minute), chromedp.Evaluate[[]float64](`(async () => {
		// The newest open connection: a call that just ended may still
		// be listed.
		const received = async () => {
			const pc = window.cbPhone && cbPhone.pcs().filter(pc => pc.signalingState !== 'closed').pop();
			if (!pc) return -1;
			let n = 0;
			(await pc.getStats()).forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') n += r.bytesReceived; });
			return n;
		};
		const first = await received();
		for (const end = Date.now() + 60000; Date.now() < end; ) { // against a hang only
			await new Promise(done => setTimeout(done, 250));
			const now = await received();
			if (first >= 0 && now > first) return [first, now];
		}
		return [first, await received()];
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: getStats: %v", who, err)
	}
	if v[0] < 0 || v[1] <= v[0] {
		t.Fatalf("%s: no audio received (bytesReceived %v, then %v)", who, v[0], v[1])
	}
}

// waitMessageWithin is waitMessage with a bound of its own, for what comes
// only after a carrier played its audio.
func waitMessageWithin(t *testing.T, ctx context.Context, bound time.Duration, typ, match string) message {
	t.Helper()
	m, err := chromedp.Run(within(t, ctx, bound+5*time.Second), chromedp.Poll[message](fmt.Sprintf(
		`window.cbDemo && window.cbDemo.messages.find(m => m.data && m.data.type === %q && (%s))`, typ, match),
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(bound)))
	if err != nil {
		t.Fatalf("waiting for %s: %v", typ, err)
	}
	return m
}
