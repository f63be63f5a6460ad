package e2e

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// click clicks the first element matching sel in ctx (a page or a frame).
func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Do(within(t, ctx, 20*time.Second), chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// barState is what the adapter's bar shows: its title, the badge, and the
// frame's height.
const barState = `(() => {
	const box = document.getElementById('rc-widget'), spans = box.querySelectorAll('.rc-widget-header > span');
	return {title: spans[0].textContent, badge: spans[1].hidden ? '' : spans[1].textContent,
		frame: RCAdapter.frame.getBoundingClientRect().height};
})()`

// TestRingWhileMinimised: a call ringing on a minimised widget expands it
// (300 px wide page) with the caller and Answer in view, and is answered
// there; a call the caller gives up on puts the frame back down with a
// badge on the bar and on the History tab, which opening History clears.
func TestRingWhileMinimised(t *testing.T) {
	alice := start(t)
	bob := alice.second(t)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")
	if err := chromedp.Do(within(t, bob.ctx, 10*time.Second), chromedp.EmulateViewport(300, 640)); err != nil {
		t.Fatal(err)
	}
	eval[bool](t, bob.ctx, `(RCAdapter.setMinimized(true), true)`)

	// A call answered in the frame it expanded.
	click(t, alice.ctx, `a[href="tel:102"]`)
	ring := waitMessage(t, bob.ctx, "rc-call-ring-notify", "")
	first := ring.Data["call"].(map[string]any)["id"].(string)
	waitFor[bool](t, bob.ctx, "the frame expanded by the ring", `(() => { const s = `+barState+`;
		return s.title === 'Incoming call' && s.frame > 300; })()`)
	frame := frameCtx(t, bob)
	geometry := waitFor[map[string]any](t, frame, "the caller and Answer in view", `(() => {
		const name = document.getElementById('cb-incoming-name'), answer = document.getElementById('cb-answer');
		if (!name.textContent.includes('Alice Adams')) return null;
		const r = answer.getBoundingClientRect();
		return {inside: r.width > 0 && r.left >= 0 && r.right <= innerWidth && r.bottom <= innerHeight};
	})()`)
	if geometry["inside"] != true {
		t.Errorf("Answer outside the expanded frame at 300 px: %v", geometry)
	}
	if dir := os.Getenv("CB_SCREENSHOT_DIR"); dir != "" {
		screenshot(t, bob, dir, "ringing-minimised-300")
	}
	click(t, frame, `#cb-answer`)
	waitMessage(t, bob.ctx, "rc-call-start-notify", `m.data.call.callStatus === 'connected'`)
	answered := eval[map[string]any](t, bob.ctx, barState)
	if answered["title"] != "Phone" || answered["frame"].(float64) < 300 {
		t.Errorf("after Answer: %v", answered)
	}
	controlCall(t, bob, "hangup", "")
	waitMessage(t, alice.ctx, "rc-call-end-notify", "")
	waitMessage(t, bob.ctx, "rc-call-end-notify", "")

	// A call the caller gives up on is missed.
	eval[bool](t, bob.ctx, `(RCAdapter.setMinimized(true), true)`)
	click(t, alice.ctx, `a[href="tel:102"]`)
	other := `m.data.call.id !== ` + strconv.Quote(first)
	waitMessage(t, bob.ctx, "rc-call-ring-notify", other)
	waitFor[bool](t, bob.ctx, "the second call expanding the frame", `(`+barState+`).frame > 300`)
	controlCall(t, alice, "hangup", "")
	waitMessage(t, bob.ctx, "rc-call-end-notify", other)
	waitFor[bool](t, bob.ctx, "the frame back down with the missed call's badge", `(() => { const s = `+barState+`;
		return s.title === 'Phone' && s.frame === 0 && s.badge === '1'; })()`)
	waitMessage(t, bob.ctx, "rc-badge-notify", `m.data.missedCalls === 1`)
	waitFor[bool](t, frame, "the History tab's badge", `(() => {
		const b = document.getElementById('cb-history-badge'); return !b.hidden && b.textContent === '1'; })()`)
	if dir := os.Getenv("CB_SCREENSHOT_DIR"); dir != "" {
		screenshot(t, bob, dir, "missed-badge-minimised-300")
	}

	eval[bool](t, bob.ctx, `(RCAdapter.setMinimized(false), true)`)
	click(t, frame, `#cb-tabs [data-nav="/history"]`)
	waitFor[bool](t, frame, "the History tab's badge gone", `document.getElementById('cb-history-badge').hidden`)
	waitMessage(t, bob.ctx, "rc-badge-notify", `m.data.missedCalls === 0`)
	eval[bool](t, bob.ctx, `(RCAdapter.setMinimized(true), true)`)
	if s := eval[map[string]any](t, bob.ctx, barState); s["badge"] != "" {
		t.Errorf("bar badge after History was opened: %v", s)
	}

	// Desktop notifications are off until the user turns them on in Settings.
	eval[bool](t, bob.ctx, `(RCAdapter.setMinimized(false), true)`)
	click(t, frame, `#cb-tabs [data-nav="/settings"]`)
	if on := eval[bool](t, frame, `document.getElementById('cb-desktop-notify').checked`); on {
		t.Error("desktop notifications are on by default")
	}
	if dir := os.Getenv("CB_SCREENSHOT_DIR"); dir != "" {
		waitFor[bool](t, frame, "the ended call's view gone", `document.getElementById('cb-active-call').hidden`)
		eval[bool](t, frame, `(document.getElementById('cb-desktop-notify').scrollIntoView(), true)`)
		widgetScreenshot(t, bob, dir, "settings-notifications-300")
	}
}

// TestRestoreAfterClose: a frame closed with × comes back with
// setClosed(false), and with the demo page's Restore.
func TestRestoreAfterClose(t *testing.T) {
	e := start(t)
	openDemo(t, e, "")
	shown := `(() => { const r = document.getElementById('rc-widget').getBoundingClientRect();
		return r.height > 400 && RCAdapter.frame.getBoundingClientRect().height > 400; })()`
	click(t, e.ctx, `#rc-widget button[aria-label="Close"]`)
	if eval[bool](t, e.ctx, shown) {
		t.Fatal("the frame still shows after ×")
	}
	eval[bool](t, e.ctx, `(RCAdapter.setClosed(false), true)`)
	if !eval[bool](t, e.ctx, shown) {
		t.Error("setClosed(false) after × does not show the frame")
	}
	eval[bool](t, e.ctx, `(RCAdapter.setClosed(true), true)`)
	if eval[bool](t, e.ctx, shown) {
		t.Error("setClosed(true) leaves the frame shown")
	}

	// The demo's Restore reopens a frame both minimised and closed.
	eval[bool](t, e.ctx, `(RCAdapter.setClosed(false), RCAdapter.setMinimized(true), true)`)
	click(t, e.ctx, `#rc-widget button[aria-label="Close"]`)
	click(t, e.ctx, `#btn-restore`)
	waitFor[bool](t, e.ctx, "the frame back after Restore", shown)
}
