package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// axePath is axe-core as e2e/package-lock.json pins it; the README's test
// command installs it (npm ci in e2e/).
const axePath = "node_modules/axe-core/axe.min.js"

// axeSource reads axe-core; a test that needs it fails without it, for an
// accessibility check skipped is one that never runs.
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.FromSlash(axePath))
	if err != nil {
		t.Fatalf("axe-core is missing (%v): run `npm ci` in e2e/ (scripts/test.sh does)", err)
	}
	return string(b)
}

// axeViolation is one rule axe-core found broken, with where.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// checkAxe runs axe-core in the widget's frame as it shows now and fails
// on every violation of serious or critical impact, listing them.
func checkAxe(t *testing.T, frame context.Context, source, state string) {
	t.Helper()
	// A panel still fading in has the colours of its way in: axe reads the
	// view once its transitions have ended (a ring's endless pulse aside).
	waitFor[bool](t, frame, state+" settled", `document.getAnimations().every(a =>
		a.playState !== 'running' || a.effect?.getTiming().iterations === Infinity)`)
	ctx := within(t, frame, 60*time.Second)
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object'`))
	if err != nil {
		t.Fatalf("%s: %v", state, err)
	}
	if !loaded {
		if loaded, err = chromedp.Run(ctx, chromedp.Evaluate[bool](source+"\n;true")); err != nil || !loaded {
			t.Fatalf("%s: inject axe-core: %v", state, err)
		}
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(
		r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
			id: v.id, impact: v.impact, help: v.help,
			targets: v.nodes.map(n => n.target.join(' ') + (n.failureSummary ? ' — ' + n.failureSummary.replace(/\s+/g, ' ') : '')),
		}))))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: axe.run: %v", state, err)
	}
	var found []axeViolation
	if err := json.Unmarshal([]byte(raw), &found); err != nil {
		t.Fatalf("%s: axe's answer %q: %v", state, raw, err)
	}
	for _, v := range found {
		t.Errorf("%s: axe %s (%s): %s\n\t%s", state, v.ID, v.Impact, v.Help, strings.Join(v.Targets, "\n\t"))
	}
}

// showRoute has the host page show one of the widget's pages and waits
// until the frame shows it.
func showRoute(t *testing.T, e *env, frame context.Context, path string) {
	t.Helper()
	if res := eval[any](t, e.ctx, `RCAdapter.navigateTo('`+path+`')`); res != "ok" {
		t.Fatalf("navigateTo %s: %v", path, res)
	}
	waitFor[bool](t, frame, path, `document.querySelector('.pages [data-route="`+path+`"]').hidden === false`)
}

// TestAccessibilityWithAxe checks the widget with axe-core in its main
// states: signed out, each page, a call ringing and a call in progress.
func TestAccessibilityWithAxe(t *testing.T) {
	source := axeSource(t)
	alice := start(t)
	bob := alice.second(t)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")

	openDemo(t, bob, "")
	frame := frameCtx(t, bob)
	waitFor[bool](t, frame, "the sign-in page", `document.querySelector('[data-route="/login"]').hidden === false`)
	checkAxe(t, frame, source, "signed out")
	popupLogin(t, bob, "bob@demo.test")
	waitLoggedIn(t, bob, "+16505550100*102")
	waitPhoneReady(t, bob)
	checkAxe(t, frame, source, "dialer")
	for _, path := range []string{"/history", "/messages", "/settings", "/calls"} {
		showRoute(t, bob, frame, path)
		checkAxe(t, frame, source, path)
	}
	showRoute(t, bob, frame, "/dialer")

	eval[any](t, alice.ctx, `RCAdapter.clickToCall('102', true)`)
	id := ringingCall(t, bob, "")
	waitFor[bool](t, frame, "the ringing panel", `!document.getElementById('cb-incoming').hidden`)
	checkAxe(t, frame, source, "incoming call")
	controlCallOn(t, bob, "answer", id, "")
	waitMessage(t, bob.ctx, "rc-call-start-notify", sessionOf(id))
	waitFor[bool](t, frame, "the call panel", `!document.getElementById('cb-active-call').hidden &&
		document.getElementById('cb-active-call').dataset.state === 'connected'`)
	checkAxe(t, frame, source, "call in progress")
	controlCallOn(t, bob, "hold", id, "")
	waitFor[bool](t, frame, "the call on hold", `document.getElementById('cb-active-call').dataset.state === 'onHold'`)
	checkAxe(t, frame, source, "call on hold")
	controlCallOn(t, bob, "hangup", id, "")
	waitMessage(t, alice.ctx, "rc-call-end-notify", sessionOf(id))
}

// keys sends key events to a page or to the widget's frame (ctx is the
// one or the other), as a keyboard does: they go to whatever holds the
// focus there.
func keys(t *testing.T, ctx context.Context, what string, events ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(within(t, ctx, 20*time.Second), events...); err != nil {
		t.Fatalf("keys %s: %v", what, err)
	}
}

var (
	tab      = chromedp.KeyEvent(kb.Tab)
	shiftTab = chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
	enter    = chromedp.KeyEvent(kb.Enter)
	space    = chromedp.KeyEvent(" ")
	// toWidget is the host page's shortcut to the widget (adapter.js).
	toWidget = chromedp.KeyEvent("P", chromedp.KeyModifiers(chromedp.ModifierAlt, chromedp.ModifierShift))
)

// focused is the id (or, without one, the tag and text) of what holds the
// focus in the widget's frame.
func focused(t *testing.T, frame context.Context) string {
	t.Helper()
	return eval[string](t, frame, `(() => { const a = document.activeElement;
		return !a ? '' : a.id || a.tagName.toLowerCase() + ':' + a.textContent.trim().slice(0, 30); })()`)
}

// waitFocus waits until the element with id holds the focus in the frame.
func waitFocus(t *testing.T, frame context.Context, id string) {
	t.Helper()
	_, err := chromedp.Run(within(t, frame, 35*time.Second), chromedp.Poll[bool](`document.activeElement && document.activeElement.id === '`+id+`'`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatalf("the focus is on %q (the frame has it: %v), want #%s", focused(t, frame), eval[bool](t, frame, `document.hasFocus()`), id)
	}
}

// tabTo presses Tab (or Shift+Tab) until the element with id holds the
// focus, at most max times, and returns how many it took.
func tabTo(t *testing.T, e *env, frame context.Context, id string, max int, back bool) int {
	t.Helper()
	key := tab
	if back {
		key = shiftTab
	}
	var path []string
	for n := 0; n <= max; n++ {
		now := focused(t, frame)
		if now == id {
			return n
		}
		path = append(path, now)
		keys(t, frame, "Tab", key)
	}
	host := eval[string](t, e.ctx, `(() => { const a = document.activeElement; return a ? a.tagName + '#' + a.id + ':' + a.textContent.trim().slice(0, 20) : ''; })()`)
	t.Fatalf("#%s not reached in %d Tabs; the focus went %s (on the host page: %s)", id, max, strings.Join(path, " → "), host)
	return 0
}

// keyboardSignIn opens the demo page and signs in from the keyboard: the
// host page's shortcut takes it to the widget, where the sign-in page's
// heading holds the focus and Sign in is the next stop; the sign-in window
// is filled in by typing. Signed in, the number to call holds the focus.
// It returns the widget's frame.
func keyboardSignIn(t *testing.T, e *env, user, loginNumber string) context.Context {
	t.Helper()
	openDemo(t, e, "")
	frame := frameCtx(t, e)
	waitFor[bool](t, frame, "the sign-in page", `document.querySelector('[data-route="/login"]').hidden === false`)
	keys(t, e.ctx, "the shortcut to the widget", toWidget)
	waitFor[bool](t, frame, "the widget to take the keyboard", `document.hasFocus()`)
	waitFocus(t, frame, "cb-title-login")
	if n := tabTo(t, e, frame, "cb-sign-in", 2, false); n > 1 {
		t.Errorf("Sign in is %d Tabs into the widget, want at most 1", n)
	}
	keys(t, frame, "Enter on Sign in", enter)
	popup := popupCtx(t, e, e.WidgetURL+"/oauth/authorize")
	err := chromedp.Do(within(t, popup, 20*time.Second),
		chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
		chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`document.activeElement && document.activeElement.name === 'username'`)(ctx, target)
			return err
		}),
		chromedp.KeyEvent(user), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("demo"), chromedp.KeyEvent(kb.Enter))
	if err != nil {
		t.Fatalf("sign in as %s from the keyboard: %v", user, err)
	}
	waitLoggedIn(t, e, loginNumber)
	waitPhoneReady(t, e)
	waitFocus(t, frame, "cb-dial-number")
	return frame
}

// TestKeyboardOnly signs in, calls, holds, resumes, transfers and hangs
// up with key events alone (Tab, Shift+Tab, Enter, Space and the host
// page's shortcut to the widget), checking where the focus goes.
func TestKeyboardOnly(t *testing.T) {
	alice := start(t)
	bob := alice.second(t)
	carol := alice.second(t)
	frame := keyboardSignIn(t, alice, "alice@demo.test", "+16505550100*101")
	bobFrame := keyboardSignIn(t, bob, "bob@demo.test", "+16505550100*102")
	signedIn(t, carol, "carol@demo.test", "+16505550100*103")

	// alice types bob's extension and presses Enter; the call panel takes
	// the focus, and the dialer under it leaves the tab order.
	keys(t, frame, "102 and Enter", chromedp.KeyEvent("102"), enter)
	id := ringingCall(t, bob, "")
	waitFocus(t, frame, "cb-call-name")
	if inert := eval[bool](t, frame, `document.querySelector('.pages').inert && document.getElementById('cb-dial-number').closest('[inert]') !== null`); !inert {
		t.Error("the dialer is not inert under the call panel")
	}

	// bob's ringing panel takes his focus on Answer; Enter answers.
	waitFor[bool](t, bobFrame, "the ringing panel", `!document.getElementById('cb-incoming').hidden`)
	if n := tabTo(t, bob, bobFrame, "cb-answer", 2, false); n > 0 {
		t.Logf("Answer took %d Tabs after the ring", n)
	}
	keys(t, bobFrame, "Enter on Answer", enter)
	waitMessage(t, bob.ctx, "rc-call-start-notify", sessionOf(id))
	waitMessage(t, alice.ctx, "rc-call-start-notify", sessionOf(id))
	waitFocus(t, bobFrame, "cb-call-name")

	// bob holds and resumes: one label, the pressed state says which.
	if n := tabTo(t, bob, bobFrame, "cb-hold", 12, false); n > 8 {
		t.Errorf("Hold is %d Tabs from the call's name", n)
	}
	keys(t, bobFrame, "Space on Hold", space)
	waitMessage(t, bob.ctx, "rc-call-hold-notify", sessionOf(id)+` && m.data.call.isOnHold === true`)
	waitFor[bool](t, bobFrame, "Hold pressed", `document.getElementById('cb-hold').getAttribute('aria-pressed') === 'true'`)
	hold := eval[map[string]string](t, bobFrame, `({label: document.querySelector('#cb-hold .call-control__label').textContent,
		said: document.getElementById('cb-call-announce').textContent, live: String(document.getElementById('cb-call-status').hasAttribute('role'))})`)
	if hold["label"] != "Hold" || !strings.Contains(hold["said"], "On hold") || hold["live"] != "false" {
		t.Errorf("on hold: %v", hold)
	}
	waitFocus(t, bobFrame, "cb-hold")
	keys(t, bobFrame, "Space on Hold again", space)
	waitMessage(t, bob.ctx, "rc-call-resume-notify", sessionOf(id))
	waitFor[bool](t, bobFrame, "Hold not pressed", `document.getElementById('cb-hold').getAttribute('aria-pressed') === 'false'`)
	waitFocus(t, bobFrame, "cb-hold")

	// bob transfers: the panel takes the focus in its field and covers the
	// call; carol takes alice's call, and bob's ends.
	tabTo(t, bob, bobFrame, "cb-transfer-open", 2, false)
	keys(t, bobFrame, "Enter on Transfer", enter)
	waitFocus(t, bobFrame, "cb-transfer-to")
	if covered := eval[bool](t, bobFrame, `document.getElementById('cb-active-call').inert && document.getElementById('cb-tabs').inert`); !covered {
		t.Error("the call panel and the tabs are not inert under the transfer panel")
	}
	keys(t, bobFrame, "carol's extension", chromedp.KeyEvent("103"))
	// The picker offers her, from the server's list of the account's extensions.
	waitFor[bool](t, bobFrame, "carol in the picker", `document.getElementById('cb-transfer-list').textContent.includes('Carol Chen')`)
	waitFor[bool](t, bobFrame, "Transfer now enabled", `!document.getElementById('cb-transfer-blind').disabled`)
	tabTo(t, bob, bobFrame, "cb-transfer-blind", 8, false)
	keys(t, bobFrame, "Enter on Transfer now", enter)
	waitMessage(t, bob.ctx, "rc-call-transfer-notify", `m.data.state === 'started'`)
	waitMessage(t, bob.ctx, "rc-call-end-notify", sessionOf(id))
	// The call panel gone, bob's focus is back on the number to call.
	waitFor[bool](t, bobFrame, "the call panel gone", `document.getElementById('cb-active-call').hidden`)
	waitFocus(t, bobFrame, "cb-dial-number")

	// carol answers; alice, now with her, hangs up from the keyboard, and
	// her focus goes back to her number to call.
	controlCallOn(t, carol, "answer", ringingCall(t, carol, sessionOf(id)), "")
	waitMessage(t, bob.ctx, "rc-call-transfer-notify", `m.data.state === 'completed'`)
	if n := tabTo(t, alice, frame, "cb-hangup", 20, false); n == 0 {
		t.Errorf("Hang up held the focus before any Tab")
	}
	keys(t, frame, "Enter on Hang up", enter)
	waitMessage(t, alice.ctx, "rc-call-end-notify", sessionOf(id))
	waitFor[bool](t, frame, "the call panel gone", `document.getElementById('cb-active-call').hidden`)
	waitFocus(t, frame, "cb-dial-number")
}
