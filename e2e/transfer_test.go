package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// controlCallOn sends rc-adapter-control-call for one call (callId "" for
// the contract's default call) and checks the widget carried it out.
func controlCallOn(t *testing.T, e *env, action, callID, options string) {
	t.Helper()
	id := "undefined"
	if callID != "" {
		id = fmt.Sprintf("%q", callID)
	}
	if options == "" {
		options = "undefined"
	}
	if res := eval[any](t, e.ctx, `RCAdapter.controlCall('`+action+`', `+id+`, `+options+`).then(r => r, e => 'error: ' + (e.code || e.message))`); res != "ok" {
		t.Fatalf("controlCall %s %s: %v", action, callID, res)
	}
}

// callBytes reads, inside the widget frame, the audio bytes received by
// the connection of one call.
func callBytes(t *testing.T, frame context.Context, callID string) float64 {
	t.Helper()
	// The bound is against a hang only: a renderer starved by a busy machine
	// may take long to answer.
	v, err := chromedp.Run(within(t, frame, 60*time.Second), chromedp.Evaluate[float64](fmt.Sprintf(`(async () => {
		const pc = window.cbPhone && cbPhone.pcOf(%q);
		if (!pc) return -1;
		let n = 0;
		(await pc.getStats()).forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') n += r.bytesReceived; });
		return n;
	})()`, callID), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("getStats: %v", err)
	}
	return v
}

// callAudioFlows checks that the audio one call of a frame receives grows.
func callAudioFlows(t *testing.T, who string, frame context.Context, callID string) {
	t.Helper()
	first := callBytes(t, frame, callID)
	deadline := time.Now().Add(90 * time.Second) // against a hang only: audio starts within a second on an idle machine
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		if now := callBytes(t, frame, callID); now > first && first >= 0 {
			return
		}
	}
	t.Fatalf("%s: no audio received on call %s (bytesReceived stayed at %v)", who, callID, first)
}

// tabFrame is the widget frame of e's tab, found by the device id its host
// page was told: a browser with several tabs has one widget frame in each.
func tabFrame(t *testing.T, e *env) context.Context {
	t.Helper()
	device := waitMessage(t, e.ctx, "rc-webphone-connection-status-notify", `typeof m.data.deviceId === 'string' && m.data.deviceId !== ''`).Data["deviceId"].(string)
	deadline := time.Now().Add(30 * time.Second) // against a hang only
	for time.Now().Before(deadline) {
		targets, err := chromedp.Targets(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range targets {
			if tg.Type != "iframe" || !strings.HasPrefix(tg.URL, e.WidgetURL+"/app") {
				continue
			}
			ctx, cancel := chromedp.NewContext(e.ctx, chromedp.WithTargetID(tg.TargetID), chromedp.WithDetachOnCancel())
			t.Cleanup(cancel)
			id, err := chromedp.Run(within(t, ctx, 10*time.Second), chromedp.Evaluate[string](`(window.cbPhone && cbPhone.deviceId) || ''`))
			if err == nil && id == device {
				return ctx
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no widget frame of device %s", device)
	return nil
}

// sessionOf is the expression matching a message about one call.
func sessionOf(id string) string {
	return fmt.Sprintf(`m.data.call && m.data.call.telephonySessionId === %q`, id)
}

// ringingCall waits for a call to ring on e's page and returns its id.
func ringingCall(t *testing.T, e *env, match string) string {
	t.Helper()
	if match == "" {
		match = "true"
	}
	return waitMessage(t, e.ctx, "rc-call-ring-notify", match).Data["call"].(map[string]any)["telephonySessionId"].(string)
}

// connectedCall: alice calls bob, who answers; the call's id.
func connectedCall(t *testing.T, alice, bob *env, seen map[string]bool) string {
	t.Helper()
	eval[any](t, alice.ctx, `RCAdapter.clickToCall('102', true)`)
	id := ringingCall(t, bob, newCall(seen))
	controlCallOn(t, bob, "answer", id, "")
	waitMessage(t, bob.ctx, "rc-call-start-notify", sessionOf(id))
	return id
}

// newCall matches a call not in seen, and marks it seen once found.
func newCall(seen map[string]bool) string {
	known := "[]"
	if len(seen) > 0 {
		known = "["
		for id := range seen {
			known += fmt.Sprintf("%q,", id)
		}
		known += "]"
	}
	return `m.data.call && !` + known + `.includes(m.data.call.telephonySessionId)`
}

// TestTransfersBetweenWidgets: bob passes alice's call on to carol, blind
// and after consulting her, and takes it back when he cancels the
// consultation; audio flows on the legs that carry the call after each.
func TestTransfersBetweenWidgets(t *testing.T) {
	alice := start(t)
	bob, carol := alice.second(t), alice.second(t)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")
	signedIn(t, carol, "carol@demo.test", "+16505550100*103")
	aliceFrame, bobFrame, carolFrame := frameCtx(t, alice), frameCtx(t, bob), frameCtx(t, carol)
	seen := map[string]bool{}

	// Blind: bob leaves at once, carol rings, answers, and talks to alice.
	first := connectedCall(t, alice, bob, seen)
	seen[first] = true
	controlCallOn(t, bob, "transfer", first, `{transferNumber: '103'}`)
	waitMessage(t, bob.ctx, "rc-call-transfer-notify", `m.data.state === 'started' && m.data.target === '103'`)
	waitMessage(t, bob.ctx, "rc-call-end-notify", sessionOf(first))
	if got := ringingCall(t, carol, sessionOf(first)); got != first {
		t.Fatalf("carol rings for %s", got)
	}
	controlCallOn(t, carol, "answer", first, "")
	waitMessage(t, bob.ctx, "rc-call-transfer-notify", `m.data.state === 'completed'`)
	callAudioFlows(t, "alice", aliceFrame, first)
	callAudioFlows(t, "carol", carolFrame, first)
	maybeScreenshot(t, carol, "carol-after-blind-transfer")
	controlCallOn(t, carol, "hangup", first, "")
	waitMessage(t, alice.ctx, "rc-call-end-notify", sessionOf(first))

	// Warm, cancelled: bob consults carol, then goes back to alice.
	second := connectedCall(t, alice, bob, seen)
	seen[second] = true
	controlCallOn(t, bob, "transfer", second, `{transferNumber: '103', warm: true}`)
	waitMessage(t, bob.ctx, "rc-call-hold-notify", sessionOf(second))
	consult := ringingCall(t, carol, newCall(seen))
	seen[consult] = true
	controlCallOn(t, carol, "answer", consult, "")
	callAudioFlows(t, "bob consulting", bobFrame, consult)
	maybeScreenshot(t, bob, "bob-consulting")
	controlCallOn(t, bob, "cancelTransfer", second, "")
	waitMessage(t, carol.ctx, "rc-call-end-notify", sessionOf(consult))
	waitMessage(t, bob.ctx, "rc-call-resume-notify", sessionOf(second))
	callAudioFlows(t, "bob back with alice", bobFrame, second)

	// Warm, completed: alice and carol talk, bob has left both calls.
	controlCallOn(t, bob, "transfer", second, `{transferNumber: '103', warm: true}`)
	consult = ringingCall(t, carol, newCall(seen))
	seen[consult] = true
	controlCallOn(t, carol, "answer", consult, "")
	waitMessage(t, bob.ctx, "rc-call-start-notify", sessionOf(consult))
	controlCallOn(t, bob, "completeTransfer", second, "")
	waitMessage(t, bob.ctx, "rc-call-transfer-notify", fmt.Sprintf(`m.data.state === 'completed' && m.data.call.telephonySessionId === %q`, second))
	waitMessage(t, bob.ctx, "rc-call-end-notify", sessionOf(consult))
	callAudioFlows(t, "alice after the warm transfer", aliceFrame, second)
	callAudioFlows(t, "carol after the warm transfer", carolFrame, consult)
	waitMessage(t, bob.ctx, "rc-adapter-syncPresence", `m.data.telephonyStatus === 'NoCall'`)
	controlCallOn(t, alice, "hangup", second, "")
	waitMessage(t, carol.ctx, "rc-call-end-notify", sessionOf(consult))
	capture(t, "bob-transfers", bob)
}

// TestCallWaitingSwitchAndMove: bob, on a call with alice, takes carol's
// call with hold-and-answer, switches back to alice, and then takes alice's
// call on his second tab ("Move here"); audio follows each step.
func TestCallWaitingSwitchAndMove(t *testing.T) {
	alice := start(t)
	bob, carol := alice.second(t), alice.second(t)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")
	signedIn(t, carol, "carol@demo.test", "+16505550100*103")
	bob2ctx, cancel := chromedp.NewContext(bob.ctx) // a second tab of bob's browser
	t.Cleanup(cancel)
	bob2 := &env{Addrs: alice.Addrs, ctx: bob2ctx, dataDir: alice.dataDir}
	openDemo(t, bob2, "")
	waitMessage(t, bob2.ctx, "rc-dialer-status-notify", `m.data.ready === true`)
	bobFrame, bob2Frame := tabFrame(t, bob), tabFrame(t, bob2)
	seen := map[string]bool{}

	first := connectedCall(t, alice, bob, seen)
	seen[first] = true
	eval[any](t, carol.ctx, `RCAdapter.clickToCall('102', true)`)
	waiting := ringingCall(t, bob, newCall(seen))
	seen[waiting] = true
	maybeScreenshot(t, bob, "bob-call-waiting")
	controlCallOn(t, bob, "answer", waiting, `{action: 'hold'}`)
	waitMessage(t, bob.ctx, "rc-call-hold-notify", sessionOf(first))
	waitMessage(t, bob.ctx, "rc-call-start-notify", sessionOf(waiting))
	callAudioFlows(t, "bob with carol", bobFrame, waiting)

	controlCallOn(t, bob, "switch", first, "")
	waitMessage(t, bob.ctx, "rc-call-resume-notify", sessionOf(first))
	waitMessage(t, bob.ctx, "rc-call-hold-notify", sessionOf(waiting))
	callAudioFlows(t, "bob back with alice", bobFrame, first)
	maybeScreenshot(t, bob, "bob-two-calls")
	controlCallOn(t, carol, "hangup", waiting, "")
	waitMessage(t, bob.ctx, "rc-call-end-notify", sessionOf(waiting))

	// Move here: bob's second tab takes alice's call.
	controlCallOn(t, bob2, "moveHere", first, "")
	waitMessage(t, bob.ctx, "rc-call-end-notify", sessionOf(first)+` && m.data.call.reason === 'moved'`)
	waitMessage(t, bob2.ctx, "rc-call-moved-notify", sessionOf(first)+` && typeof m.data.toDeviceId === 'string'`)
	callAudioFlows(t, "bob's second tab", bob2Frame, first)
	callAudioFlows(t, "alice after the move", frameCtx(t, alice), first)
	controlCallOn(t, bob2, "hangup", first, "")
	waitMessage(t, alice.ctx, "rc-call-end-notify", sessionOf(first))
}
