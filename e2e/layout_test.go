package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// layoutProbe is a JavaScript function, run in the widget's frame, that
// lists what is wrong with the view's geometry: a control outside the
// frame (sideways, or up and down unless it scrolls inside its own
// container), two controls on top of each other, and a required element
// (a selector of the argument) not wholly in view, uncovered, without
// scrolling. A control under a dialog (the incoming call over the page) is
// not one of the view's.
const layoutProbe = `(required) => {
	const W = innerWidth, H = innerHeight, out = [];
	const shown = (el) => el.getClientRects().length > 0 && !el.closest('[inert], .visually-hidden') &&
		el.checkVisibility({visibilityProperty: true});
	const scroller = (el) => {
		for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
			if (/auto|scroll/.test(getComputedStyle(p).overflowY) && p.scrollHeight > p.clientHeight + 1) return p;
		}
		return null;
	};
	const name = (el) => el.id ? '#' + el.id : el.tagName.toLowerCase() + (el.classList[0] ? '.' + el.classList[0] : '') +
		(el.dataset.key || el.dataset.dtmf || el.dataset.nav || '');
	const controls = [];
	for (const el of document.querySelectorAll('button, input, select, textarea, a[href], [tabindex]:not([tabindex="-1"])')) {
		if (!shown(el)) continue;
		const r = el.getBoundingClientRect();
		if (r.width < 1 || r.height < 1) continue;
		if (r.left < -0.5 || r.right > W + 0.5) out.push(name(el) + ' sticks out of the frame sideways');
		const sc = scroller(el);
		let v = {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
		if (sc) {
			const b = sc.getBoundingClientRect();
			if (b.top < -0.5 || b.bottom > H + 0.5) out.push(name(sc) + ', which scrolls, is outside the frame');
			v = {left: Math.max(r.left, b.left), top: Math.max(r.top, b.top), right: Math.min(r.right, b.right), bottom: Math.min(r.bottom, b.bottom)};
			if (v.bottom - v.top < 1) continue; // scrolled away: the user scrolls to it
		} else if (r.top < -0.5 || r.bottom > H + 0.5) {
			out.push(name(el) + ' is outside the frame');
		}
		const top = document.elementFromPoint((v.left + v.right) / 2, (v.top + v.bottom) / 2);
		if (!top || !(el.contains(top) || top.contains(el))) continue; // under a dialog
		controls.push({el, v});
	}
	for (let i = 0; i < controls.length; i++) {
		for (let j = i + 1; j < controls.length; j++) {
			const a = controls[i], b = controls[j];
			if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
			const w = Math.min(a.v.right, b.v.right) - Math.max(a.v.left, b.v.left);
			const h = Math.min(a.v.bottom, b.v.bottom) - Math.max(a.v.top, b.v.top);
			if (w > 1 && h > 1) out.push(name(a.el) + ' overlaps ' + name(b.el));
		}
	}
	for (const sel of required) {
		const el = document.querySelector(sel);
		if (!el || !shown(el)) { out.push(sel + ' is not shown'); continue; }
		const r = el.getBoundingClientRect();
		const inset = Math.min(2, r.width / 4, r.height / 4);
		for (const [x, y] of [[r.left + inset, r.top + inset], [r.right - inset, r.top + inset], [r.left + inset, r.bottom - inset], [r.right - inset, r.bottom - inset]]) {
			const hit = x >= 0 && y >= 0 && x <= W && y <= H && document.elementFromPoint(x, y);
			if (!hit || !(el.contains(hit) || hit.contains(el))) {
				out.push(sel + ' is not wholly in view (at ' + Math.round(x) + ',' + Math.round(y) + ': ' + (hit ? name(hit) : 'outside') + ')');
				break;
			}
		}
	}
	return out;
}`

// layoutSize is one way the widget is embedded: frame flags for adapter.js
// and, for a narrow host page, the page's width.
type layoutSize struct {
	name   string
	query  string
	page   int64 // the host page's width; 0 keeps the browser's 1400×900
	frameW float64
	frameH float64
}

var layoutSizes = []layoutSize{
	{"300x400", "?width=300&height=400", 0, 300, 400},
	{"400x480", "?width=400&height=480", 0, 400, 480},
	{"page400", "", 400, 320, 520},
	// German's longer words, in the smallest frame.
	{"300x400-de", "?width=300&height=400&lang=de", 0, 300, 400},
}

// TestLayoutFits: in frames of 300×400 and 400×480, and on a 400-px-wide
// host page, each view of the widget (signed out, dialer, the keypad in a
// call, an incoming call, two calls, history, a message thread, settings;
// the conference is TestLayoutConference's) keeps its controls inside the
// frame and apart from each other, with hang-up, the call's time and
// Answer in view without scrolling; a notice never covers the number field
// nor repeats what the view says. With CB_SCREENSHOT_DIR set, each state is
// kept as layout-<size>-<state>.png.
func TestLayoutFits(t *testing.T) {
	e := start(t)
	api := newAPIClient(t, e.Addrs, "alice@demo.test")
	for i, s := range layoutSizes {
		t.Run(s.name, func(t *testing.T) {
			// Each size in a browser of its own, signed in there.
			b := e
			if i > 0 {
				b = e.second(t)
			}
			layoutStates(t, b, api, s)
		})
	}
}

// openSized opens the demo page embedded as s says, expanded, and returns
// the frame's context.
func openSized(t *testing.T, e *env, s layoutSize) context.Context {
	t.Helper()
	w, h := int64(1400), int64(900)
	if s.page > 0 {
		w, h = s.page, 800
	}
	if err := chromedp.Do(within(t, e.ctx, 10*time.Second), chromedp.EmulateViewport(w, h)); err != nil {
		t.Fatal(err)
	}
	openDemo(t, e, s.query)
	if s.page > 0 {
		// Compact: minimised to a bar that leaves most of the page free.
		bar := eval[map[string]float64](t, e.ctx, `(() => { const r = document.getElementById('rc-widget').getBoundingClientRect();
			return {width: r.width, height: r.height, right: innerWidth - r.right, bottom: innerHeight - r.bottom}; })()`)
		if bar["width"] > float64(s.page)/2 || bar["height"] > 48 || bar["right"] != 8 || bar["bottom"] != 8 {
			t.Errorf("%s: the compact bar is %v", s.name, bar)
		}
		if dir := os.Getenv("CB_SCREENSHOT_DIR"); dir != "" {
			screenshot(t, e, dir, "layout-"+s.name+"-minimised")
		}
		eval[bool](t, e.ctx, `(RCAdapter.setMinimized(false), true)`)
	}
	box := eval[map[string]float64](t, e.ctx, `(() => { const r = RCAdapter.frame.getBoundingClientRect(), b = document.getElementById('rc-widget').getBoundingClientRect();
		return {width: r.width, height: r.height, left: b.left, top: b.top, right: b.right, bottom: b.bottom, pageW: innerWidth, pageH: innerHeight}; })()`)
	if box["width"] != s.frameW || box["height"] != s.frameH {
		t.Errorf("%s: the frame is %v×%v, want %v×%v", s.name, box["width"], box["height"], s.frameW, s.frameH)
	}
	if box["left"] < 0 || box["top"] < 0 || box["right"] > box["pageW"] || box["bottom"] > box["pageH"] {
		t.Errorf("%s: the widget is not inside the page: %v", s.name, box)
	}
	return frameCtx(t, e)
}

// checkLayout waits until the view's geometry holds (a panel may still be
// moving in) and fails with what is wrong if it does not; with
// CB_SCREENSHOT_DIR set it saves the frame as layout-<size>-<state>.png.
func checkLayout(t *testing.T, e *env, frame context.Context, s layoutSize, state string, required ...string) {
	t.Helper()
	if required == nil {
		required = []string{}
	}
	arg, _ := json.Marshal(required)
	expr := `(` + layoutProbe + `)(` + string(arg) + `)`
	// The bound is against a hang only: a view that never fits fails below.
	_, err := chromedp.Run(within(t, frame, 15*time.Second), chromedp.Poll[bool](`(`+expr+`).length === 0`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		if problems := eval[[]string](t, frame, expr); len(problems) > 0 {
			t.Errorf("%s, %s:\n\t%s", s.name, state, strings.Join(problems, "\n\t"))
		}
	}
	if dir := os.Getenv("CB_SCREENSHOT_DIR"); dir != "" {
		layoutScreenshot(t, e, dir, "layout-"+s.name+"-"+state)
	}
}

// layoutScreenshot saves a PNG of the widget with its bar, at twice its
// size.
func layoutScreenshot(t *testing.T, e *env, dir, name string) {
	t.Helper()
	saveScreenshot(t, e, dir, name, chromedp.ScreenshotScale(chromedp.CSS("#rc-widget"), 2))
}

// dial has the host call number through the widget.
func dial(t *testing.T, e *env, number string) {
	t.Helper()
	if res := eval[any](t, e.ctx, `RCAdapter.clickToCall(`+quote(number)+`, true).then(r => r, e => 'error: ' + (e.code || e.message))`); res != "ok" {
		t.Fatalf("clickToCall %s: %v", number, res)
	}
}

// ringAlice rings alice's widget (frame) with a RingOut from her
// extension, which rings her first, runs while on the ringing call, and
// cancels it.
func ringAlice(t *testing.T, api *apiClient, frame context.Context, while func()) {
	t.Helper()
	r := api.do(t, "POST", "/account/~/extension/~/ring-out", map[string]any{
		"from": map[string]string{"phoneNumber": "101"}, "to": map[string]string{"phoneNumber": "+15550107"}})
	var ro struct{ ID string }
	if r.status != http.StatusOK || json.Unmarshal(r.body, &ro) != nil || ro.ID == "" {
		t.Fatalf("POST ring-out: %d %s", r.status, r.body)
	}
	waitFor[bool](t, frame, "the incoming call", `!document.getElementById('cb-incoming').hidden`)
	while()
	if r := api.do(t, "DELETE", "/account/~/extension/~/ring-out/"+ro.ID, nil); r.status != http.StatusNoContent {
		t.Fatalf("DELETE ring-out: %d %s", r.status, r.body)
	}
	waitFor[bool](t, frame, "the ringing gone", `document.getElementById('cb-incoming').hidden`)
	waitFor[bool](t, frame, "the ended call's view gone", `document.getElementById('cb-active-call').hidden`)
}

// dialAnswered has the host call number through the widget and waits for
// the answer (rc-call-start-notify) and the call's time in the call view.
func dialAnswered(t *testing.T, e *env, frame context.Context, number, who string) {
	t.Helper()
	calls := eval[int](t, e.ctx, `cbDemo.messages.filter(m => m.data.type === 'rc-call-start-notify').length`)
	dial(t, e, number)
	waitFor[string](t, e.ctx, who+"'s answer", fmt.Sprintf(`(() => {
		const m = cbDemo.messages.filter(m => m.data.type === 'rc-call-start-notify')[%d];
		return m ? m.data.call.telephonySessionId : ''; })()`, calls))
	waitFor[bool](t, frame, "the call's time", `/\d:\d\d/.test(document.getElementById('cb-call-status').textContent)`)
}

// layoutStates walks the signed-in views at one size.
func layoutStates(t *testing.T, e *env, api *apiClient, s layoutSize) {
	frame := openSized(t, e, s)
	checkLayout(t, e, frame, s, "signed-out", "#cb-sign-in")
	popupLogin(t, e, "alice@demo.test")
	waitLoggedIn(t, e, "+16505550100*101")
	waitFor[bool](t, frame, "the dialer ready", `!document.getElementById('cb-dial-call').disabled`)
	eval[any](t, e.ctx, `RCAdapter.navigateTo('/dialer')`)
	checkLayout(t, e, frame, s, "dialer", "#cb-dial-number", "#cb-dial-call")

	// A notice pushes the page down, never covers the number field, and
	// does not repeat what the view says in place (here the connection's
	// state in the top bar).
	alert := func(text string) {
		askWidget(t, e, map[string]any{"type": "rc-adapter-message-request", "path": "/custom-alert-message",
			"body": map[string]any{"alertMessage": text, "alertLevel": "warning", "ttl": 60000}})
	}
	// The connection settled first: a state that changes under the test
	// would be a different text by the time the notice comes.
	waitFor[bool](t, frame, "the connection", `document.getElementById('cb-status').dataset.status === 'connected'`)
	inPlace := eval[string](t, frame, `document.querySelector('#cb-status .status__label').textContent`)
	alert(inPlace)
	alert("The line to the office is slow today; calls may take a moment to connect.")
	waitFor[bool](t, frame, "the notice", `document.querySelectorAll('#cb-alerts .alert').length > 0`)
	if shown := eval[[]string](t, frame, `[...document.querySelectorAll('#cb-alerts .alert__text')].map(p => p.textContent)`); len(shown) != 1 {
		t.Errorf("%s: notices %q, want only the one the view does not show (%q shows in the top bar)", s.name, shown, inPlace)
	}
	// It pushes the page down: the call button may need a scroll then.
	checkLayout(t, e, frame, s, "dialer-notice", "#cb-dial-number", "#cb-alerts .alert__close")
	eval[bool](t, frame, `(document.querySelectorAll('#cb-alerts .alert').forEach(a => a.remove()), true)`)

	// The keypad open in a call to the tone line.
	dialAnswered(t, e, frame, "+15550100", "the tone line")
	checkLayout(t, e, frame, s, "call", "#cb-call-status", "#cb-hangup", "#cb-mute", "#cb-hold")
	click(t, frame, "#cb-keypad-toggle")
	waitFor[bool](t, frame, "the keypad", `!document.getElementById('cb-call-pad').hidden`)
	checkLayout(t, e, frame, s, "call-keypad", "#cb-call-status", "#cb-hangup", "#cb-call-keypad [data-dtmf='#']", "#cb-keypad-toggle")
	click(t, frame, "#cb-keypad-toggle")

	// A second call, to the echo line, holds the first: both shown.
	dialAnswered(t, e, frame, "+15550101", "the echo line")
	waitFor[bool](t, frame, "the held call's card", `[...document.querySelectorAll('#cb-call-cards .call-card')].some(c => c.dataset.state === 'onHold')`)
	checkLayout(t, e, frame, s, "two-calls", "#cb-call-cards .call-card[data-state='onHold'] .call-card__open", "#cb-hangup")

	// Both hung up: the held call comes back, then ends too.
	click(t, frame, "#cb-hangup")
	waitFor[bool](t, frame, "the held call back alone", `document.getElementById('cb-call-cards').hidden && !document.getElementById('cb-active-call').hidden`)
	click(t, frame, "#cb-hangup")
	waitFor[bool](t, frame, "the calls ended", `document.getElementById('cb-active-call').hidden`)

	ringAlice(t, api, frame, func() { checkLayout(t, e, frame, s, "incoming", "#cb-answer", "#cb-decline") })

	eval[any](t, e.ctx, `RCAdapter.navigateTo('/history')`)
	waitFor[bool](t, frame, "the history", `document.querySelectorAll('#cb-history-list .history-row').length > 0`)
	checkLayout(t, e, frame, s, "history")

	eval[any](t, e.ctx, `RCAdapter.clickToSMS('+15550101', 'Is the echo line there?')`)
	waitFor[bool](t, frame, "the composer", `!document.getElementById('cb-compose-send').disabled`)
	click(t, frame, "#cb-compose-send")
	waitFor[bool](t, frame, "the echo line's answer", `document.querySelectorAll('#cb-thread-messages .bubble[data-direction="in"]').length > 0`)
	checkLayout(t, e, frame, s, "thread", "#cb-thread-send", "#cb-thread-back")

	eval[any](t, e.ctx, `RCAdapter.navigateTo('/settings')`)
	waitFor[bool](t, frame, "the settings", `document.getElementById('cb-from-number').options.length > 1`)
	checkLayout(t, e, frame, s, "settings")
}

// TestLayoutConference: alice's conference with bob and carol (test lines
// cannot join one) fits frames of 300×400 and 400×480 and a 400-px-wide
// page: Leave, the call's time and every participant's buttons in the
// frame, apart; the list scrolls, the controls stay.
func TestLayoutConference(t *testing.T) {
	alice := start(t)
	bob, carol := alice.second(t), alice.second(t)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")
	signedIn(t, carol, "carol@demo.test", "+16505550100*103")
	seen := map[string]bool{}
	withBob := connectedCall(t, alice, bob, seen)
	seen[withBob] = true
	eval[any](t, alice.ctx, `RCAdapter.clickToCall('103', true)`)
	withCarol := ringingCall(t, carol, newCall(seen))
	controlCallOn(t, carol, "answer", withCarol, "")
	waitMessage(t, alice.ctx, "rc-call-start-notify", sessionOf(withCarol))
	waitMessage(t, bob.ctx, "rc-telephony-session-notify", fmt.Sprintf(
		`m.data.telephonySession.id === %q && m.data.telephonySession.parties.some(p => p.status.code === 'Hold')`, withBob))
	controlCallOn(t, alice, "merge", withCarol, "")
	frame := frameCtx(t, alice)
	waitFor[bool](t, frame, "the conference", `!document.getElementById('cb-conference').hidden && document.querySelectorAll('#cb-conference-list .participant').length >= 2`)

	for _, s := range layoutSizes {
		if strings.Contains(s.query, "lang=") {
			continue // a size again, in a language the page was not opened in
		}
		// Resized in place: a reload would end alice's calls.
		w, h := int64(1400), int64(900)
		if s.page > 0 {
			w, h = s.page, 800
		}
		if err := chromedp.Do(within(t, alice.ctx, 10*time.Second), chromedp.EmulateViewport(w, h)); err != nil {
			t.Fatal(err)
		}
		eval[bool](t, alice.ctx, fmt.Sprintf(`(Object.assign(RCAdapter.frame.style, {width: '%vpx', height: '%vpx'}), true)`, s.frameW, s.frameH))
		waitFor[bool](t, frame, "the frame resized", fmt.Sprintf(`innerWidth === %v && innerHeight === %v`, s.frameW, s.frameH))
		checkLayout(t, alice, frame, s, "conference", "#cb-conference-leave", "#cb-call-status", "#cb-mute")
	}
	click(t, frame, "#cb-conference-end")
	waitMessage(t, bob.ctx, "rc-call-end-notify", "")
	waitMessage(t, carol.ctx, "rc-call-end-notify", "")
}
