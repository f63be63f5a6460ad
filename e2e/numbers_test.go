package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// TestKeypadDialsTheREADMENumber types the README's tone line on the
// dialer's keypad as a user reads it, 15550100: the field shows it as the
// README writes it while it is typed, the call reaches the tone line, which
// answers with its tone, and the call view names it by what it does. A 0
// held on the keypad types a +.
func TestKeypadDialsTheREADMENumber(t *testing.T) {
	e := start(t)
	signedIn(t, e, "alice@demo.test", "+16505550100*101")
	frame := frameCtx(t, e)
	field := `document.getElementById('cb-dial-number').value`
	key := func(k string) string { return `#cb-dial-keypad [data-key="` + k + `"]` }

	// Each press shows the number so far the way it will be dialled.
	shown := []string{"1", "15", "155", "1555", "1 555 0", "1 555 01", "1 555 010", "1 555 0100"}
	for i, k := range "15550100" {
		if err := chromedp.Do(within(t, frame, 10*time.Second), chromedp.Click(chromedp.CSS(key(string(k))))); err != nil {
			t.Fatalf("press %c: %v", k, err)
		}
		if got := eval[string](t, frame, field); got != shown[i] {
			t.Fatalf("after %d presses the field shows %q, want %q", i+1, got, shown[i])
		}
	}

	// It dials +1 555 0100, the tone line, which answers and plays its tone.
	if err := chromedp.Do(within(t, frame, 10*time.Second), chromedp.Click(chromedp.CSS(`#cb-dial-call`))); err != nil {
		t.Fatalf("click call: %v", err)
	}
	started := waitMessage(t, e.ctx, "rc-call-start-notify", `m.data.call.toNumber === '+15550100'`)
	if res := started.Data["call"].(map[string]any)["result"]; res == "Unavailable" || res == "Failed" {
		t.Fatalf("the call ended %v", res)
	}
	waitFor[bool](t, frame, "the call view naming the tone line", `document.getElementById('cb-call-name').textContent === 'Tone line' &&
		document.getElementById('cb-call-number').textContent === '+1 555 0100'`)
	audioFlows(t, "alice (tone line dialled as 15550100)", frame)
	controlCall(t, e, "hangup", "")
	waitMessage(t, e.ctx, "rc-call-end-notify", `m.data.call.toNumber === '+15550100'`)
	waitFor[bool](t, frame, "the call panel gone", `document.getElementById('cb-active-call').hidden`)

	// A held 0 types a + (the hold is the widget's to time: the release
	// waits for the + to show, not for a clock).
	eval[any](t, frame, `(() => { const f = document.getElementById('cb-dial-number'); f.value = ''; f.dispatchEvent(new Event('input')); return true; })()`)
	x, y := centre(t, frame, key("0"))
	if err := chromedp.Do(within(t, frame, 10*time.Second),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1))); err != nil {
		t.Fatalf("hold 0: %v", err)
	}
	waitFor[bool](t, frame, "a + from the held 0", field+` === '+'`)
	if err := chromedp.Do(within(t, frame, 10*time.Second),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1))); err != nil {
		t.Fatalf("release 0: %v", err)
	}
	if got := eval[string](t, frame, field); got != "+" {
		t.Errorf("after holding 0 the field shows %q, want +", got)
	}
}

// centre is the middle of the element sel in the frame, in its viewport.
func centre(t *testing.T, frame context.Context, sel string) (float64, float64) {
	t.Helper()
	r := eval[[]float64](t, frame, `(() => { const b = document.querySelector('`+sel+`').getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; })()`)
	return r[0], r[1]
}
