package e2e

import (
	"fmt"
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
	// The bound is against a hang only: an answer or a move sets up a new
	// connection, which takes long on a busy machine.
	res, err := chromedp.Run(within(t, e.ctx, 60*time.Second), chromedp.Evaluate[any](
		`RCAdapter.controlCall('`+action+`', `+id+`, `+options+`).then(r => r, e => 'error: ' + (e.code || e.message))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("controlCall %s %s: %v", action, callID, err)
	}
	if res != "ok" {
		t.Fatalf("controlCall %s %s: %v", action, callID, res)
	}
}

// statsReceived lists the bytesReceived of every rc-call-stats-notify that
// e's host page received for one call, in order: the widget's own getStats
// of the call's connection, every 10 s while it is connected.
func statsReceived(t *testing.T, e *env, callID string) []float64 {
	t.Helper()
	return eval[[]float64](t, e.ctx, fmt.Sprintf(`cbDemo.messages.filter(m => m.data && m.data.type === 'rc-call-stats-notify' &&
		m.data.call && m.data.call.telephonySessionId === %q && m.data.stats).map(m => m.data.stats.bytesReceived || 0)`, callID))
}

// callAudioFlows checks that the audio a call of e's widget receives grows:
// a report of the call's statistics comes that counts more bytes received
// than any before it.
func callAudioFlows(t *testing.T, who string, e *env, callID string) {
	t.Helper()
	before := statsReceived(t, e, callID)
	most := 0.0
	for _, b := range before {
		most = max(most, b)
	}
	deadline := time.Now().Add(90 * time.Second) // against a hang only: a report comes every 10 s
	for time.Now().Before(deadline) {
		if now := statsReceived(t, e, callID); len(now) > len(before) && now[len(now)-1] > most {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: no audio received on call %s (bytesReceived reported: %v)", who, callID, statsReceived(t, e, callID))
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
	callAudioFlows(t, "alice", alice, first)
	callAudioFlows(t, "carol", carol, first)
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
	callAudioFlows(t, "bob consulting", bob, consult)
	maybeScreenshot(t, bob, "bob-consulting")
	controlCallOn(t, bob, "cancelTransfer", second, "")
	waitMessage(t, carol.ctx, "rc-call-end-notify", sessionOf(consult))
	waitMessage(t, bob.ctx, "rc-call-resume-notify", sessionOf(second))
	callAudioFlows(t, "bob back with alice", bob, second)

	// Warm, completed: alice and carol talk, bob has left both calls.
	controlCallOn(t, bob, "transfer", second, `{transferNumber: '103', warm: true}`)
	consult = ringingCall(t, carol, newCall(seen))
	seen[consult] = true
	controlCallOn(t, carol, "answer", consult, "")
	waitMessage(t, bob.ctx, "rc-call-start-notify", sessionOf(consult))
	controlCallOn(t, bob, "completeTransfer", second, "")
	waitMessage(t, bob.ctx, "rc-call-transfer-notify", fmt.Sprintf(`m.data.state === 'completed' && m.data.call.telephonySessionId === %q`, second))
	waitMessage(t, bob.ctx, "rc-call-end-notify", sessionOf(consult))
	callAudioFlows(t, "alice after the warm transfer", alice, second)
	callAudioFlows(t, "carol after the warm transfer", carol, consult)
	waitMessage(t, bob.ctx, "rc-adapter-syncPresence", `m.data.telephonyStatus === 'NoCall'`)
	controlCallOn(t, alice, "hangup", second, "")
	waitMessage(t, carol.ctx, "rc-call-end-notify", sessionOf(consult))
	capture(t, "bob-transfers", bob)
}

// TestCallWaitingSwitchAndMove: bob, on a call with alice, takes carol's
// call with hold-and-answer, switches back to alice, and then takes alice's
// call on his second device ("Move here"); audio follows each step.
func TestCallWaitingSwitchAndMove(t *testing.T) {
	alice := start(t)
	bob, carol := alice.second(t), alice.second(t)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")
	signedIn(t, carol, "carol@demo.test", "+16505550100*103")
	// bob's second device: another browser of his, signed in as well. (Two
	// tabs of one browser ring together in TestAnsweredElsewhere; headless
	// Chromium runs the scripts of a tab in the background too seldom, on a
	// busy machine, for a call to be set up there in time.)
	bob2 := alice.second(t)
	signedIn(t, bob2, "bob@demo.test", "+16505550100*102")
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
	callAudioFlows(t, "bob with carol", bob, waiting)

	controlCallOn(t, bob, "switch", first, "")
	waitMessage(t, bob.ctx, "rc-call-resume-notify", sessionOf(first))
	waitMessage(t, bob.ctx, "rc-call-hold-notify", sessionOf(waiting))
	callAudioFlows(t, "bob back with alice", bob, first)
	maybeScreenshot(t, bob, "bob-two-calls")
	controlCallOn(t, carol, "hangup", waiting, "")
	waitMessage(t, bob.ctx, "rc-call-end-notify", sessionOf(waiting))

	// Move here: bob's second device takes alice's call.
	controlCallOn(t, bob2, "moveHere", first, "")
	waitMessage(t, bob.ctx, "rc-call-end-notify", sessionOf(first)+` && m.data.call.reason === 'moved'`)
	waitMessage(t, bob2.ctx, "rc-call-moved-notify", sessionOf(first)+` && typeof m.data.toDeviceId === 'string'`)
	callAudioFlows(t, "bob's second device", bob2, first)
	callAudioFlows(t, "alice after the move", alice, first)
	controlCallOn(t, bob2, "hangup", first, "")
	waitMessage(t, alice.ctx, "rc-call-end-notify", sessionOf(first))
}
