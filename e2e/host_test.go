package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// crmScreenshot saves the widget alone at the frame's width of px when
// CB_SCREENSHOT_DIR is set.
func crmScreenshot(t *testing.T, e *env, name string, px int) {
	t.Helper()
	dir := os.Getenv("CB_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	width := eval[string](t, e.ctx, fmt.Sprintf(`(() => { const w = RCAdapter.frame.style.width;
		RCAdapter.frame.style.width = '%dpx'; return w; })()`, px))
	widgetScreenshot(t, e, dir, fmt.Sprintf("%s-%d", name, px))
	eval[bool](t, e.ctx, fmt.Sprintf(`(RCAdapter.frame.style.width = %q, true)`, width))
}

// clickIn clicks the element of id in the widget frame once it shows and is enabled.
func clickIn(t *testing.T, frame context.Context, id string) {
	t.Helper()
	waitFor[bool](t, frame, id, fmt.Sprintf(`(() => { const b = document.getElementById(%q); return !!b && !b.disabled && b.offsetParent !== null; })()`, id))
	eval[bool](t, frame, fmt.Sprintf(`(document.getElementById(%q).click(), true)`, id))
}

// hostRequests counts the widget's requests to the demo CRM so far.
func hostRequests(t *testing.T, e *env) int {
	t.Helper()
	return eval[int](t, e.ctx, `cbDemo.messages.filter(m => m.data && m.data.type === 'rc-post-message-request').length`)
}

// nextHostRequest waits for a request of the widget to the demo CRM at path
// after the first n, and returns its requestId.
func nextHostRequest(t *testing.T, e *env, n int, path string) string {
	t.Helper()
	return waitFor[string](t, e.ctx, "a request to "+path, fmt.Sprintf(
		`(cbDemo.messages.filter(m => m.data && m.data.type === 'rc-post-message-request').slice(%d).filter(m => m.data.path === %q).pop() || {data: {}}).data.requestId`, n, path))
}

// TestHostServices: the demo page registers as the widget's CRM. A caller it
// knows rings with the CRM's name; a call is logged from the call view with
// a note and a disposition and shows in the page's Call log; with Auto-log
// on, a call is logged when it ends; the Contacts page lists the CRM's
// contacts; an answer from another origin is ignored, and a CRM that does
// not answer gives a visible error.
func TestHostServices(t *testing.T) {
	e := start(t)
	signedIn(t, e, "alice@demo.test", "+16505550100*101")
	frame := frameCtx(t, e)

	t.Run("a caller the CRM knows rings with its name", func(t *testing.T) {
		// The server's event stream brings the ring; the replay hook hands
		// the widget one from a number the CRM knows.
		eval[bool](t, frame, `(cbEvents.receive(JSON.stringify({type: 'rc-call-ring-notify', call: {
			id: 's-crm-1', callId: 's-crm-1', telephonySessionId: 's-crm-1', sessionId: '9001', partyId: 'p-crm-1',
			partyData: {partyId: 'p-crm-1', sessionId: '9001'}, direction: 'Inbound', callStatus: 'connecting',
			from: '+16505550199', fromNumber: '+16505550199', to: '101', toNumber: '101', toUserName: 'Alice Adams',
			creationTime: Date.now(), startTime: Date.now(), isOnHold: false, isOnMute: false, isOnTransfer: false,
			recordStatus: 'idle'}})), true)`)
		match := waitMessage(t, e.ctx, "rc-post-message-request", `m.data.path === '/contacts/match' && m.data.body.phoneNumbers.includes('+16505550199')`)
		if origin := match.Origin; origin != e.WidgetURL {
			t.Errorf("the request came from %q, want the widget's origin %q", origin, e.WidgetURL)
		}
		card := waitFor[map[string]string](t, frame, "the CRM's name on the incoming card", `(() => {
			const name = document.getElementById('cb-incoming-name').textContent;
			return name === 'Ada Lovelace' && !document.getElementById('cb-incoming').hidden
				? {name, number: document.getElementById('cb-incoming-number').textContent} : null; })()`)
		if !strings.Contains(card["number"], "Demo CRM") || !strings.Contains(card["number"], "555-0199") {
			t.Errorf("the incoming card's number line says %q, want the number and Demo CRM", card["number"])
		}
		// The README's picture: the demo page, its CRM naming the caller.
		maybeScreenshot(t, e, "demo-matched-caller")
		crmScreenshot(t, e, "crm-incoming", 320)
		crmScreenshot(t, e, "crm-incoming", 300)
		eval[bool](t, frame, `(cbEvents.receive(JSON.stringify({type: 'rc-call-end-notify', call: {
			id: 's-crm-1', callId: 's-crm-1', telephonySessionId: 's-crm-1', sessionId: '9001', partyId: 'p-crm-1',
			direction: 'Inbound', callStatus: 'finished', from: '+16505550199', fromNumber: '+16505550199', to: '101',
			result: 'Missed', endTime: Date.now()}})), true)`)
		waitFor[bool](t, frame, "the ring gone", `document.getElementById('cb-incoming').hidden`)
	})

	t.Run("a call logged with a note shows in the Call log", func(t *testing.T) {
		id := dialOut(t, e, "+15550100")
		waitMessage(t, e.ctx, "rc-call-start-notify", sessionOf(id))
		clickIn(t, frame, "cb-call-log")
		waitFor[bool](t, frame, "the log dialog", `document.getElementById('cb-log-dialog').open`)
		eval[bool](t, frame, `(() => {
			document.getElementById('cb-log-note').value = 'Asked for a quote';
			document.getElementById('cb-log-disposition').value = 'Follow up';
			document.getElementById('cb-log-save').click();
			return true; })()`)
		logged := waitFor[map[string]any](t, e.ctx, "the logged call", `cbDemo.crm.logged.find(l => l.note === 'Asked for a quote')`)
		if logged["disposition"] != "Follow up" || logged["triggerType"] != "manual" {
			t.Errorf("logged %v", logged)
		}
		if call, _ := logged["call"].(map[string]any); call["telephonySessionId"] != id {
			t.Errorf("the logged call is %v, want the call %s", call, id)
		}
		waitFor[bool](t, e.ctx, "the Call log panel", `document.getElementById('crm-call-log').textContent.includes('Asked for a quote')`)
		waitFor[bool](t, frame, "the call marked logged", `!document.getElementById('cb-call-logged').hidden && document.getElementById('cb-call-log').hidden`)
		controlCallOn(t, e, "hangup", id, "")
		waitMessage(t, e.ctx, "rc-call-end-notify", sessionOf(id))
		// The host's own list of unlogged calls leaves it out.
		resp := askWidget(t, e, map[string]any{"type": "rc-adapter-message-request", "path": "/unlogged-calls"})
		data, _ := resp["data"].(map[string]any)
		records, _ := data["records"].([]any)
		for _, r := range records {
			if r.(map[string]any)["telephonySessionId"] == id {
				t.Errorf("/unlogged-calls lists the logged call %s", id)
			}
		}
		// The history marks the same call logged.
		eval[any](t, e.ctx, `RCAdapter.navigateTo('/history')`)
		waitFor[bool](t, frame, "the history row marked logged", `[...document.querySelectorAll('#cb-history-list .history-row__log')]
			.some(b => !b.hidden && b.dataset.logged === 'true' && b.textContent.trim() === 'Logged')`)
	})

	t.Run("auto-log logs a call when it ends", func(t *testing.T) {
		eval[any](t, e.ctx, `RCAdapter.navigateTo('/settings')`)
		waitFor[bool](t, frame, "the settings", `!document.querySelector('[data-route="/settings"]').hidden`)
		clickIn(t, frame, "cb-auto-log")
		waitFor[bool](t, frame, "auto-log on", `document.getElementById('cb-auto-log').checked`)
		id := dialOut(t, e, "+15550100")
		waitMessage(t, e.ctx, "rc-call-start-notify", sessionOf(id))
		controlCallOn(t, e, "hangup", id, "")
		waitMessage(t, e.ctx, "rc-call-end-notify", sessionOf(id))
		logged := waitFor[map[string]any](t, e.ctx, "the auto-logged call", fmt.Sprintf(
			`cbDemo.crm.logged.find(l => l.triggerType === 'auto' && l.call && l.call.telephonySessionId === %q)`, id))
		if call, _ := logged["call"].(map[string]any); call["result"] != "Call connected" {
			t.Errorf("the auto-logged call: %v", call)
		}
		waitFor[bool](t, e.ctx, "the Call log panel", `document.getElementById('crm-call-log').textContent.includes('Auto-logged')`)
		// The choice is kept for the user; turn it off again.
		if stored := eval[string](t, frame, `localStorage.getItem('cb-crm-autolog:+16505550100*101')`); stored != "1" {
			t.Errorf("auto-log kept as %q", stored)
		}
		eval[any](t, e.ctx, `RCAdapter.navigateTo('/settings')`)
		clickIn(t, frame, "cb-auto-log")
	})

	t.Run("a conversation is logged from its thread", func(t *testing.T) {
		texts := eval[int](t, e.ctx, `cbDemo.messages.filter(m => m.data.type === 'rc-inbound-message-notify').length`)
		eval[any](t, e.ctx, `RCAdapter.clickToSMS('+15550101', 'Please log this')`)
		waitFor[bool](t, frame, "the composer", `!document.getElementById('cb-compose-send').disabled`)
		eval[bool](t, frame, `(document.getElementById('cb-compose-send').click(), true)`)
		waitFor[bool](t, e.ctx, "the echo line's answer", fmt.Sprintf(`cbDemo.messages.filter(m => m.data.type === 'rc-inbound-message-notify').length > %d`, texts))
		clickIn(t, frame, "cb-thread-log")
		waitFor[bool](t, frame, "the log dialog", `document.getElementById('cb-log-dialog').open`)
		eval[bool](t, frame, `(() => { document.getElementById('cb-log-note').value = 'Texted the echo line';
			document.getElementById('cb-log-save').click(); return true; })()`)
		logged := waitFor[map[string]any](t, e.ctx, "the logged conversation", `cbDemo.crm.logged.find(l => l.kind === 'messages')`)
		conversation, _ := logged["conversation"].(map[string]any)
		if messages, _ := conversation["messages"].([]any); len(messages) == 0 || logged["note"] != "Texted the echo line" {
			t.Errorf("logged %v", logged)
		}
		waitFor[bool](t, frame, "the thread marked logged", `document.getElementById('cb-thread-log').textContent === 'Logged'`)
		eval[bool](t, frame, `(document.getElementById('cb-thread-back').click(), true)`)
	})

	t.Run("the Contacts page lists the CRM's contacts", func(t *testing.T) {
		eval[any](t, e.ctx, `RCAdapter.navigateTo('/dialer')`)
		waitFor[bool](t, frame, "the ended call gone", `document.getElementById('cb-active-call').hidden`)
		clickIn(t, frame, "cb-dial-contacts")
		waitFor[bool](t, frame, "the contacts", `document.querySelectorAll('#cb-contacts-list .contact-row').length === 5 &&
			!document.getElementById('cb-contacts-more').hidden`)
		crmScreenshot(t, e, "crm-contacts", 320)
		crmScreenshot(t, e, "crm-contacts", 300)
		clickIn(t, frame, "cb-contacts-more")
		waitFor[bool](t, frame, "the second page", `document.querySelectorAll('#cb-contacts-list .contact-row').length === 6`)
		eval[bool](t, frame, `(() => { const s = document.getElementById('cb-contacts-search'); s.value = 'grace';
			s.dispatchEvent(new Event('input')); return true; })()`)
		waitFor[bool](t, frame, "the search", `(() => { const rows = document.querySelectorAll('#cb-contacts-list .contact-row');
			return rows.length === 1 && rows[0].textContent.includes('Grace Hopper'); })()`)
	})

	t.Run("the dialer suggests the CRM's contacts, and a contact opens in the CRM", func(t *testing.T) {
		// The search left Grace Hopper on the Contacts page.
		eval[bool](t, frame, `(document.querySelector('#cb-contacts-list .contact-row__open').click(), true)`)
		waitFor[bool](t, e.ctx, "the contact opened on the page", `document.getElementById('crm-opened').textContent.includes('Grace Hopper')`)
		eval[any](t, e.ctx, `RCAdapter.navigateTo('/dialer')`)
		eval[bool](t, frame, `(() => { const n = document.getElementById('cb-dial-number'); n.value = 'ada';
			n.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`)
		waitFor[bool](t, frame, "the suggestion", `[...document.querySelectorAll('#cb-dial-suggestions .dialer__suggestion')].some(b => b.textContent.startsWith('Ada Lovelace'))`)
		eval[bool](t, frame, `([...document.querySelectorAll('#cb-dial-suggestions .dialer__suggestion')].find(b => b.textContent.startsWith('Ada Lovelace')).click(), true)`)
		waitFor[bool](t, frame, "the number in the dialer", `document.getElementById('cb-dial-number').value.replace(/\D/g, '').endsWith('6505550199') &&
			document.getElementById('cb-dial-suggestions').hidden`)
		// An extension of the account comes from the server, next to the CRM's contact of the same person.
		eval[bool](t, frame, `(() => { const n = document.getElementById('cb-dial-number'); n.value = 'bob';
			n.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`)
		got := waitFor[[]string](t, frame, "the suggestions for bob", `(() => { const s = [...document.querySelectorAll('#cb-dial-suggestions .dialer__suggestion')].map(b => b.textContent);
			return s.length >= 2 ? s : null; })()`)
		if got[0] != "Bob Brown · Ext. 102" || !strings.HasPrefix(got[1], "Bob Brown · (650) 555-0102") {
			t.Errorf("suggestions for bob: %q", got)
		}
		eval[bool](t, frame, `(() => { const n = document.getElementById('cb-dial-number'); n.value = '';
			n.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`)
	})

	t.Run("an answer from another origin is ignored", func(t *testing.T) {
		eval[bool](t, e.ctx, `(document.getElementById('crm-answer').click(), !document.getElementById('crm-answer').checked)`)
		eval[any](t, e.ctx, `RCAdapter.navigateTo('/dialer')`)
		n := hostRequests(t, e)
		clickIn(t, frame, "cb-dial-contacts")
		id := nextHostRequest(t, e, n, "/contacts")
		// A message that claims to be the host's, from another origin.
		eval[bool](t, frame, fmt.Sprintf(`(window.dispatchEvent(new MessageEvent('message', {origin: 'https://evil.example', source: window.parent,
			data: {type: 'rc-post-message-response', responseId: %q, response: {data: [{id: 'm', name: 'Mallory', phoneNumbers: []}]}}})), true)`, id))
		// The host's own answer, which the widget takes.
		eval[bool](t, e.ctx, fmt.Sprintf(`(RCAdapter.frame.contentWindow.postMessage({type: 'rc-post-message-response', responseId: %q,
			response: {data: [{id: 'r', name: 'Rita Real', phoneNumbers: [{phoneNumber: '+16505550177'}]}]}}, %q), true)`, id, e.WidgetURL))
		names := waitFor[string](t, frame, "the host's answer", `(() => { const t = document.getElementById('cb-contacts-list').textContent;
			return t.includes('Rita Real') ? t : ''; })()`)
		if strings.Contains(names, "Mallory") {
			t.Errorf("the widget took an answer from another origin: %q", names)
		}
	})

	t.Run("a CRM that does not answer gives a visible error", func(t *testing.T) {
		n := hostRequests(t, e)
		eval[bool](t, frame, `(() => { const s = document.getElementById('cb-contacts-search'); s.value = 'ada';
			s.dispatchEvent(new Event('input')); return true; })()`)
		nextHostRequest(t, e, n, "/contacts/search")
		waitFor[bool](t, frame, "the search waiting", `document.getElementById('cb-contacts-status').textContent === 'Loading contacts…'`)
		status := waitFor[string](t, frame, "the timeout", `(() => { const s = document.getElementById('cb-contacts-status').textContent;
			return s.startsWith('Could not') ? s : ''; })()`)
		if !strings.Contains(status, "Demo CRM did not answer within 10 s") {
			t.Errorf("the Contacts page says %q", status)
		}
		eval[bool](t, e.ctx, `(document.getElementById('crm-answer').click(), document.getElementById('crm-answer').checked)`)
	})
}
