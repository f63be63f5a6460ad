package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// askWidget posts a command with a requestId to the widget, as a host page
// without the adapter does, and returns the response it is answered with.
func askWidget(t *testing.T, e *env, command map[string]any) map[string]any {
	t.Helper()
	id := fmt.Sprintf("req-%d", time.Now().UnixNano())
	command["requestId"] = id
	b, _ := json.Marshal(command)
	return eval[map[string]any](t, e.ctx, `new Promise(done => {
		addEventListener('message', function on(ev) {
			if (ev.data && ev.data.type === 'rc-adapter-message-response' && ev.data.responseId === `+quote(id)+`) {
				removeEventListener('message', on); done(ev.data.response);
			}
		});
		RCAdapter.frame.contentWindow.postMessage(`+string(b)+`, `+quote(e.WidgetURL)+`);
	})`)
}

// TestCallingSettings: the calling settings reach the host at start, after
// sign-in with the user's numbers, and after rc-calling-settings-update;
// they survive a reload; bad values are refused with an answer.
func TestCallingSettings(t *testing.T) {
	e := start(t)
	openDemo(t, e, "?defaultCallWith=ringout")
	// At start, after the page is known: the flag's calling mode.
	waitMessage(t, e.ctx, "rc-calling-settings-notify", `m.data.callWith === 'ringout' && m.data.callingMode === 'ringout'`)
	routeFirst := eval[bool](t, e.ctx, `(() => {
		const types = cbDemo.messages.map(m => m.data.type);
		return types.indexOf('rc-route-changed-notify') < types.indexOf('rc-calling-settings-notify');
	})()`)
	if !routeFirst {
		t.Error("rc-calling-settings-notify came before the first rc-route-changed-notify")
	}

	openDemo(t, e, "")
	popupLogin(t, e, "alice@demo.test")
	waitLoggedIn(t, e, "+16505550100*101")
	m := waitMessage(t, e.ctx, "rc-calling-settings-notify", `m.data.fromNumbers.length === 2`)
	got, _ := json.Marshal(m.Data)
	want := `{"callWith":"browser","callingMode":"webphone","fromNumber":"+16505550101",` +
		`"fromNumbers":[{"phoneNumber":"+16505550101","usageType":"DirectNumber"},{"phoneNumber":"+16505550100","usageType":"MainCompanyNumber"}],` +
		`"myLocation":"+16505550101","type":"rc-calling-settings-notify"}`
	if string(got) != want {
		t.Errorf("settings after sign-in:\n got %s\nwant %s", got, want)
	}

	resp := askWidget(t, e, map[string]any{"type": "rc-calling-settings-update", "callWith": "ringout",
		"myLocation": "+1 555 0100", "fromNumber": "+16505550100"})
	if resp["data"] != "ok" {
		t.Fatalf("update answered %v", resp)
	}
	waitMessage(t, e.ctx, "rc-calling-settings-notify",
		`m.data.callWith === 'ringout' && m.data.callingMode === 'ringout' && m.data.myLocation === '+15550100' && m.data.fromNumber === '+16505550100'`)

	// Refused: a caller id that is not the user's, a location that is no number.
	for _, bad := range []map[string]any{
		{"type": "rc-calling-settings-update", "fromNumber": "+14155550100"},
		{"type": "rc-calling-settings-update", "myLocation": "my desk"},
		{"type": "rc-calling-settings-update", "callWith": "pigeon"},
	} {
		if resp := askWidget(t, e, bad); resp["error"] != "invalidField" {
			t.Errorf("%v answered %v", bad, resp)
		}
	}

	// The settings page shows them.
	frame := frameCtx(t, e)
	eval[any](t, e.ctx, `RCAdapter.navigateTo('/settings')`)
	shown := waitFor[map[string]any](t, frame, "settings page", `(() => {
		const checked = document.querySelector('input[name="cb-call-with"]:checked');
		const row = document.getElementById('cb-my-location-row');
		return checked && !row.hidden && document.getElementById('cb-from-number').value === '+16505550100' &&
			{callWith: checked.value, location: document.getElementById('cb-my-location').value};
	})()`)
	if shown["callWith"] != "ringout" || shown["location"] != "+1 555 0100" { // shown as typed
		t.Errorf("settings page shows %v", shown)
	}
	maybeScreenshot(t, e, "settings-ringout")

	// A reload keeps them.
	before := eval[int](t, e.ctx, `cbDemo.messages.length`)
	openDemo(t, e, "")
	m = waitMessage(t, e.ctx, "rc-calling-settings-notify", `m.data.fromNumbers.length === 2`)
	if m.Data["callWith"] != "ringout" || m.Data["myLocation"] != "+15550100" || m.Data["fromNumber"] != "+16505550100" {
		t.Errorf("after a reload (%d messages before): %v", before, m.Data)
	}

	// The user picks the browser again on the settings page.
	frame = frameCtx(t, e)
	eval[any](t, e.ctx, `RCAdapter.navigateTo('/settings')`)
	if err := chromedp.Do(within(t, frame, 15*time.Second),
		chromedp.WaitVisible(chromedp.CSS(`input[name="cb-call-with"][value="browser"] + span`)),
		chromedp.Click(chromedp.CSS(`input[name="cb-call-with"][value="browser"] + span`))); err != nil {
		t.Fatalf("pick browser: %v", err)
	}
	waitMessage(t, e.ctx, "rc-calling-settings-notify", `m.data.callWith === 'browser' && m.data.callingMode === 'webphone'`)
}

// TestSetPresence: rc-adapter-set-presence and the status selector set the
// user's presence; the host hears rc-adapter-syncPresence with it.
func TestSetPresence(t *testing.T) {
	e := start(t)
	signedIn(t, e, "alice@demo.test", "+16505550100*101")

	resp := askWidget(t, e, map[string]any{"type": "rc-adapter-set-presence", "userStatus": "Busy", "dndStatus": "DoNotAcceptAnyCalls"})
	data, _ := resp["data"].(map[string]any)
	if data["userStatus"] != "Busy" || data["dndStatus"] != "DoNotAcceptAnyCalls" {
		t.Fatalf("set presence answered %v", resp)
	}
	waitMessage(t, e.ctx, "rc-adapter-syncPresence", `m.data.userStatus === 'Busy' && m.data.dndStatus === 'DoNotAcceptAnyCalls' && m.data.presenceStatus === 'Busy'`)

	frame := frameCtx(t, e)
	eval[any](t, e.ctx, `RCAdapter.navigateTo('/settings')`)
	waitFor[bool](t, frame, "status selector shows do not disturb", `document.getElementById('cb-presence').value === 'DoNotDisturb'`)
	maybeScreenshot(t, e, "settings")

	// The user picks Offline in the widget.
	if err := chromedp.Do(within(t, frame, 15*time.Second), chromedp.SetValue(chromedp.CSS(`#cb-presence`), "Offline")); err != nil {
		t.Fatal(err)
	}
	eval[bool](t, frame, `(document.getElementById('cb-presence').dispatchEvent(new Event('change')), true)`)
	waitMessage(t, e.ctx, "rc-adapter-syncPresence", `m.data.userStatus === 'Offline' && m.data.dndStatus === 'TakeAllCalls' && m.data.presenceStatus === 'Offline'`)

	// Bad values are refused with an answer, and change nothing.
	for _, bad := range []map[string]any{
		{"type": "rc-adapter-set-presence", "userStatus": "Away"},
		{"type": "rc-adapter-set-presence"},
	} {
		if resp := askWidget(t, e, bad); resp["error"] != "invalidField" {
			t.Errorf("%v answered %v", bad, resp)
		}
	}
	n := eval[int](t, e.ctx, `cbDemo.messages.filter(m => m.data.type === 'rc-adapter-syncPresence' && m.data.userStatus === 'Away').length`)
	if n != 0 {
		t.Error("a refused presence reached the host")
	}
}

// TestRingOutMode: in the RingOut calling mode a call from the host goes out
// as a RingOut from myLocation (here the tone line, which answers) to the
// number; the widget follows it in its RingOut bar, whose Cancel ends it.
func TestRingOutMode(t *testing.T) {
	e := start(t)
	signedIn(t, e, "alice@demo.test", "+16505550100*101")
	if resp := askWidget(t, e, map[string]any{"type": "rc-calling-settings-update", "callWith": "ringout", "myLocation": "+15550100"}); resp["data"] != "ok" {
		t.Fatalf("update answered %v", resp)
	}
	waitMessage(t, e.ctx, "rc-calling-settings-notify", `m.data.callWith === 'ringout' && m.data.myLocation === '+15550100'`)

	// The line that rings until the call is cancelled.
	if res := eval[any](t, e.ctx, `RCAdapter.clickToCall('+15550107', true)`); res != "ok" {
		t.Fatalf("clickToCall in RingOut mode: %v", res)
	}
	frame := frameCtx(t, e)
	m := waitMessage(t, e.ctx, "rc-ringout-call-notify", `m.data.call.telephonyStatus === 'CallConnected'`)
	call := m.Data["call"].(map[string]any)
	if call["from"].(map[string]any)["phoneNumber"] != "+15550100" || call["to"].(map[string]any)["phoneNumber"] != "+15550107" {
		t.Errorf("RingOut call %v", call)
	}
	waitFor[bool](t, frame, "the RingOut bar calling the number", `(() => {
		const bar = document.getElementById('cb-ringout');
		return !bar.hidden && bar.dataset.state === 'callee' && !document.getElementById('cb-ringout-cancel').hidden &&
			document.getElementById('cb-ringout-text').textContent.includes('+1 555 0107');
	})()`)
	maybeScreenshot(t, e, "ringout")
	if n := eval[int](t, e.ctx, `cbDemo.messages.filter(m => m.data.type === 'rc-call-init-notify').length`); n != 0 {
		t.Errorf("the browser placed %d calls of its own in RingOut mode", n)
	}

	// The bar says how the RingOut ended for a few seconds: every text it
	// shows is noted, so that a slow test still sees it.
	eval[bool](t, frame, `(() => {
		const text = document.getElementById('cb-ringout-text');
		window.ringOutTexts = [];
		new MutationObserver(() => ringOutTexts.push(text.textContent)).observe(text, {childList: true, characterData: true, subtree: true});
		return true;
	})()`)
	if err := chromedp.Do(within(t, frame, 15*time.Second), chromedp.Click(chromedp.CSS(`#cb-ringout-cancel`))); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	waitMessage(t, e.ctx, "rc-ringout-call-notify", `m.data.call.telephonyStatus === 'NoCall'`)
	waitFor[bool](t, frame, "the RingOut bar saying it was cancelled", `ringOutTexts.includes('RingOut cancelled')`)

	// Another user's phone is no location of alice's: the RingOut is refused
	// with the server's reason.
	if resp := askWidget(t, e, map[string]any{"type": "rc-calling-settings-update", "myLocation": "+16505550102"}); resp["data"] != "ok" {
		t.Fatalf("update answered %v", resp)
	}
	waitFor[bool](t, frame, "the bar gone", `document.getElementById('cb-ringout').hidden`)
	res := eval[map[string]any](t, e.ctx, `RCAdapter.clickToCall('+15550107', true).then(r => ({ok: r}), e => ({code: e.code, message: e.message}))`)
	if res["ok"] != nil || res["code"] != "InvalidParameter" {
		t.Errorf("a RingOut from bob's number answered %v", res)
	}
}
