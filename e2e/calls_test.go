package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/callbridge/widget-server/internal/server"
	"github.com/callbridge/widget-server/internal/store"
)

// second opens another browser (another user's computer) on the same server.
func (e *env) second(t *testing.T) *env {
	return &env{Addrs: e.Addrs, ctx: browser(t), dataDir: e.dataDir}
}

// signedIn opens the demo page and signs a user in with the popup, then
// waits until the dialer is ready (microphone granted, device registered).
func signedIn(t *testing.T, e *env, user, loginNumber string) {
	t.Helper()
	openDemo(t, e, "")
	popupLogin(t, e, user)
	waitLoggedIn(t, e, loginNumber)
	waitPhoneReady(t, e)
}

// waitPhoneReady waits until the tab can call and be called: its dialer is
// ready, and its link to the server is up, so its phone rings for the
// calls placed from then on. (The dialer is ready once signed in with a
// microphone, which may come before the link.)
func waitPhoneReady(t *testing.T, e *env) {
	t.Helper()
	waitMessage(t, e.ctx, "rc-dialer-status-notify", `m.data.ready === true`)
	waitMessage(t, e.ctx, "rc-webphone-connection-status-notify", `m.data.connectionStatus === 'connected'`)
}

// bytesReceived reads, inside the widget frame, the audio bytes received by
// the tab's first call's RTCPeerConnection.
func bytesReceived(t *testing.T, frame context.Context) float64 {
	t.Helper()
	v, err := chromedp.Run(within(t, frame, 10*time.Second), chromedp.Evaluate[float64](`(async () => {
		const pc = window.cbPhone && cbPhone.pcs()[0];
		if (!pc) return -1;
		let n = 0;
		(await pc.getStats()).forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') n += r.bytesReceived; });
		return n;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("getStats: %v", err)
	}
	return v
}

// audioFlows checks that a frame's received audio grows.
func audioFlows(t *testing.T, who string, frame context.Context) {
	t.Helper()
	first := bytesReceived(t, frame)
	deadline := time.Now().Add(30 * time.Second) // against a hang only: audio starts within a second on an idle machine
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		if now := bytesReceived(t, frame); now > first && first >= 0 {
			return
		}
	}
	t.Fatalf("%s: no audio received (bytesReceived stayed at %v)", who, first)
}

func controlCall(t *testing.T, e *env, action, options string) {
	t.Helper()
	if options == "" {
		options = "undefined"
	}
	if res := eval[any](t, e.ctx, `RCAdapter.controlCall('`+action+`', undefined, `+options+`).then(r => r, e => 'error: ' + (e.code || e.message))`); res != "ok" {
		t.Fatalf("controlCall %s: %v", action, res)
	}
}

// TestCallBetweenWidgets is alice calling bob through the gateway: every
// step's events on the right host page, audio both ways, hold, mute, DTMF,
// hang-up, and one call-log record per party.
func TestCallBetweenWidgets(t *testing.T) {
	alice := startWith(t, server.Config{MetricsListen: "127.0.0.1:0"})
	bob := alice.second(t)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")

	// alice clicks a tel: link on her CRM page.
	if err := chromedp.Do(within(t, alice.ctx, 10*time.Second), chromedp.Click(chromedp.CSS(`a[href="tel:102"]`))); err != nil {
		t.Fatalf("click tel:102: %v", err)
	}
	ring := waitMessage(t, bob.ctx, "rc-call-ring-notify", "")
	call := ring.Data["call"].(map[string]any)
	if call["direction"] != "Inbound" || call["fromUserName"] != "Alice Adams" || call["telephonySessionId"] == nil {
		t.Errorf("ring on bob's page: %v", call)
	}
	waitMessage(t, alice.ctx, "rc-call-init-notify", `m.data.call.direction === 'Outbound'`)
	// A call to another widget user starts, for the caller, when it rings there.
	waitMessage(t, alice.ctx, "rc-call-start-notify", "")
	waitMessage(t, bob.ctx, "rc-adapter-syncPresence", `m.data.telephonyStatus === 'Ringing'`)
	maybeScreenshot(t, bob, "bob-ringing")

	controlCall(t, bob, "answer", "")
	waitMessage(t, bob.ctx, "rc-call-start-notify", `m.data.call.callStatus === 'connected'`)
	waitMessage(t, alice.ctx, "rc-telephony-session-notify",
		`m.data.telephonySession.parties.some(p => p.direction === 'Inbound' && p.status.code === 'Answered')`)
	waitMessage(t, alice.ctx, "rc-active-call-notify", `m.data.call.telephonyStatus === 'CallConnected'`)

	audioFlows(t, "alice", frameCtx(t, alice))
	audioFlows(t, "bob", frameCtx(t, bob))
	// Chromium's audio went through the gateway's own SRTP path: the keys
	// it derived from the browsers' DTLS handshakes are theirs.
	// A leg's sending moves there once its first packet authenticated:
	// wait for it rather than read the counters once.
	for _, direction := range []string{"received", "sent"} {
		sample := `callbridge_media_srtp_direct_packets_total{direction="` + direction + `"}`
		n := metricValue(t, alice.MetricsURL, sample)
		for deadline := time.Now().Add(30 * time.Second); n <= 0 && time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond)
			n = metricValue(t, alice.MetricsURL, sample)
		}
		if n <= 0 {
			t.Errorf("packets %s on the own SRTP path: %v", direction, n)
		}
	}
	maybeScreenshot(t, alice, "alice-in-call")

	controlCall(t, alice, "hold", "")
	waitMessage(t, alice.ctx, "rc-call-hold-notify", `m.data.call.isOnHold === true`)
	controlCall(t, alice, "unhold", "")
	waitMessage(t, alice.ctx, "rc-call-resume-notify", `m.data.call.isOnHold === false`)
	controlCall(t, alice, "mute", "")
	waitMessage(t, alice.ctx, "rc-call-mute-notify", `m.data.call.isOnMute === true`)
	controlCall(t, alice, "unmute", "")
	waitMessage(t, alice.ctx, "rc-call-mute-notify", `m.data.call.isOnMute === false`)
	controlCall(t, alice, "dtmf", `{dtmf: '5'}`)
	waitMessage(t, alice.ctx, "rc-dtmf-sent-notify", `m.data.tone === '5'`)

	controlCall(t, bob, "hangup", "")
	aliceEnd := waitMessage(t, alice.ctx, "rc-call-end-notify", "")
	bobEnd := waitMessage(t, bob.ctx, "rc-call-end-notify", "")
	for who, m := range map[string]message{"alice": aliceEnd, "bob": bobEnd} {
		c := m.Data["call"].(map[string]any)
		if c["result"] != "Call connected" || c["endTime"] == nil || c["duration"] == nil {
			t.Errorf("%s end: %v", who, c)
		}
	}
	waitMessage(t, alice.ctx, "rc-adapter-syncPresence", `m.data.telephonyStatus === 'NoCall'`)
	// The call's last statistics, from the browser's view of the gateway.
	stats := waitMessage(t, alice.ctx, "rc-call-stats-notify", `m.data.stats && m.data.stats.packetsReceived > 0`)
	if s := stats.Data["stats"].(map[string]any); s["bytesSent"].(float64) <= 0 || s["mos"] == nil {
		t.Errorf("call stats %v", s)
	}
	waitMessage(t, bob.ctx, "rc-webphone-connection-status-notify", `m.data.connectionStatus === 'connected' && typeof m.data.deviceId === 'string'`)

	// One call-log record per party.
	db, err := store.Open(context.Background(), alice.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second) // against a hang only
	for {
		a, _ := db.CallRecords(context.Background(), 1, 10)
		b, _ := db.CallRecords(context.Background(), 2, 10)
		if len(a) == 1 && len(b) == 1 {
			if a[0].Direction != "Outbound" || b[0].Direction != "Inbound" || a[0].Result != "Call connected" || a[0].SessionID != b[0].SessionID {
				t.Errorf("call log: %+v / %+v", a[0], b[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("call log has %d and %d records, want 1 each", len(a), len(b))
		}
		time.Sleep(100 * time.Millisecond)
	}
	noSecretsReachedHost(t, alice, false)
	capture(t, "alice-calls-bob", alice)
	capture(t, "bob-answers-alice", bob)
}

// capture keeps every message a host page received when CB_CAPTURE_DIR is
// set; docs/events.md's examples come from such a run.
func capture(t *testing.T, name string, e *env) {
	t.Helper()
	dir := os.Getenv("CB_CAPTURE_DIR")
	if dir == "" {
		return
	}
	msgs := eval[[]message](t, e.ctx, `cbDemo.messages`)
	b, _ := json.MarshalIndent(msgs, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCallsToTestNumbers dials the built-in test numbers: busy, invalid and
// unanswered calls fail with their codes; the tone line answers with audio.
func TestCallsToTestNumbers(t *testing.T) {
	e := startWith(t, server.Config{RingTimeout: 3 * time.Second})
	signedIn(t, e, "alice@demo.test", "+16505550100*101")
	for _, tc := range []struct {
		number string
		code   float64
	}{{"+15550102", 486}, {"+15550104", 404}, {"+15550107", 408}} {
		res := eval[any](t, e.ctx, `RCAdapter.clickToCall('`+tc.number+`', true)`)
		if res != "ok" {
			t.Fatalf("call %s: %v", tc.number, res)
		}
		m := waitMessage(t, e.ctx, "rc-call-failed-notify", `m.data.call.toNumber === '`+tc.number+`'`)
		if m.Data["code"] != tc.code {
			t.Errorf("%s failed with %v, want %v", tc.number, m.Data["code"], tc.code)
		}
		waitMessage(t, e.ctx, "rc-call-end-notify", `m.data.call.toNumber === '`+tc.number+`'`)
	}
	// The tone line answers: the call starts on answer, and audio arrives.
	eval[any](t, e.ctx, `RCAdapter.clickToCall('+15550100', true)`)
	waitMessage(t, e.ctx, "rc-call-start-notify", `m.data.call.toNumber === '+15550100'`)
	audioFlows(t, "alice (tone)", frameCtx(t, e))
	controlCall(t, e, "hangup", "")
	waitMessage(t, e.ctx, "rc-call-end-notify", `m.data.call.toNumber === '+15550100'`)
	capture(t, "test-numbers", e)
}

// TestAnsweredElsewhere rings bob in two tabs; one answers, the other stops.
func TestAnsweredElsewhere(t *testing.T) {
	alice := start(t)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")
	bob1 := alice.second(t)
	signedIn(t, bob1, "bob@demo.test", "+16505550100*102")
	bob2ctx, cancel := chromedp.NewContext(bob1.ctx) // a second tab of bob's browser
	t.Cleanup(cancel)
	bob2 := &env{Addrs: alice.Addrs, ctx: bob2ctx, dataDir: alice.dataDir}
	openDemo(t, bob2, "")
	waitMessage(t, bob2.ctx, "rc-login-status-notify", `m.data.loggedIn === true`)
	waitPhoneReady(t, bob2)

	eval[any](t, alice.ctx, `RCAdapter.clickToCall('102', true)`)
	waitMessage(t, bob1.ctx, "rc-call-ring-notify", "")
	waitMessage(t, bob2.ctx, "rc-call-ring-notify", "")
	controlCall(t, bob1, "answer", "")
	waitMessage(t, bob1.ctx, "rc-call-start-notify", "")
	waitMessage(t, bob2.ctx, "rc-call-end-notify", "")
	controlCall(t, alice, "hangup", "")
	waitMessage(t, bob1.ctx, "rc-call-end-notify", "")
}

// TestInactiveTabCallEvents: with disableInactiveTabCallEvent=1 only the
// most recently active tab tells its host page about active calls and
// telephony sessions; every tab still rings.
func TestInactiveTabCallEvents(t *testing.T) {
	alice := start(t)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")
	bob1 := alice.second(t)
	openDemo(t, bob1, "?disableInactiveTabCallEvent=1")
	popupLogin(t, bob1, "bob@demo.test")
	waitLoggedIn(t, bob1, "+16505550100*102")
	waitPhoneReady(t, bob1)
	bob2ctx, cancel := chromedp.NewContext(bob1.ctx)
	t.Cleanup(cancel)
	bob2 := &env{Addrs: alice.Addrs, ctx: bob2ctx, dataDir: alice.dataDir}
	openDemo(t, bob2, "?disableInactiveTabCallEvent=1") // the newer tab is the active one
	waitPhoneReady(t, bob2)

	eval[any](t, alice.ctx, `RCAdapter.clickToCall('102', true)`)
	waitMessage(t, bob1.ctx, "rc-call-ring-notify", "")
	waitMessage(t, bob2.ctx, "rc-call-ring-notify", "")
	waitMessage(t, bob2.ctx, "rc-active-call-notify", "")
	waitMessage(t, bob2.ctx, "rc-telephony-session-notify", "")
	controlCall(t, alice, "hangup", "")
	waitMessage(t, bob1.ctx, "rc-call-end-notify", "")
	waitMessage(t, bob2.ctx, "rc-call-end-notify", "")
	n := eval[int](t, bob1.ctx, `cbDemo.messages.filter(m => m.data.type === 'rc-active-call-notify' || m.data.type === 'rc-telephony-session-notify').length`)
	if n != 0 {
		t.Errorf("the inactive tab relayed %d active-call/telephony-session events", n)
	}
}

// metricValue reads one sample of the server's metrics (-1 when absent).
func metricValue(t *testing.T, metricsURL, sample string) float64 {
	t.Helper()
	res, err := http.Get(metricsURL + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metrics: %q: %v", line, err)
			}
			return f
		}
	}
	return -1
}
