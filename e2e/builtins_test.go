package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// builtinNames are the names every plain JavaScript object inherits from
// Object.prototype: a table indexed with one of them finds a built-in
// instead of nothing.
var builtinNames = []string{"constructor", "__proto__", "toString", "toLocaleString", "valueOf",
	"hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable",
	"__defineGetter__", "__defineSetter__", "__lookupGetter__", "__lookupSetter__"}

// TestHostCommandsNamedAfterBuiltins posts the widget, for each built-in
// name, a command of that type with a requestId, the same without one, and
// an rc-adapter-message-request for that path. Each request is answered
// exactly once with an error, and the widget goes on working: commands
// after them are carried out, and so are server events of those types once
// a user is signed in (they change nothing).
func TestHostCommandsNamedAfterBuiltins(t *testing.T) {
	e := start(t)
	openDemo(t, e, "")
	names, _ := json.Marshal(builtinNames)

	// A request posted last is answered after all the others: the widget
	// answers in order, and the host hears one window's messages in order.
	answers := eval[map[string][]map[string]any](t, e.ctx, `new Promise(done => {
		const frame = RCAdapter.frame.contentWindow, widget = `+quote(e.WidgetURL)+`, answers = new Map();
		addEventListener('message', function on(ev) {
			if (ev.source !== frame || !ev.data || ev.data.type !== 'rc-adapter-message-response') return;
			const id = String(ev.data.responseId);
			answers.set(id, [...(answers.get(id) || []), ev.data.response]);
			if (id === 'last') { removeEventListener('message', on); done(Object.fromEntries(answers)); }
		});
		for (const name of `+string(names)+`) {
			frame.postMessage({type: name, requestId: 'type ' + name}, widget);
			frame.postMessage({type: name}, widget);
			frame.postMessage({type: 'rc-adapter-message-request', requestId: 'path ' + name, path: name}, widget);
		}
		frame.postMessage({type: 'rc-adapter-navigate-to', requestId: 'last', path: '/history'}, widget);
	})`)
	for _, name := range builtinNames {
		for id, code := range map[string]string{"type " + name: "unknownCommand", "path " + name: "unknownPath"} {
			got := answers[id]
			if len(got) != 1 || got[0]["error"] != code {
				t.Errorf("%s: answered %v, want one {error: %s}", id, got, code)
			}
		}
	}
	if last := answers["last"]; len(last) != 1 || last[0]["data"] != "ok" {
		t.Errorf("the command after them was answered %v", last)
	}
	waitMessage(t, e.ctx, "rc-route-changed-notify", `m.data.path === '/history'`)
	if res := eval[any](t, e.ctx, `RCAdapter.navigateTo('/dialer')`); res != "ok" {
		t.Errorf("navigateTo after them resolved %v", res)
	}
	alert := askWidget(t, e, map[string]any{"type": "rc-adapter-message-request", "path": "/custom-alert-message",
		"body": map[string]any{"alertMessage": "still here"}})
	if alert["data"] != "ok" {
		t.Errorf("custom alert after them answered %v", alert)
	}

	// Server events of those types, and RingOut statuses so named, reach
	// every page of a signed-in widget; none of them throws or shows
	// anything (the event stream's replay hook stands in for the server).
	if res := eval[any](t, e.ctx, `RCAdapter.navigateTo('/login')`); res != "ok" {
		t.Fatalf("navigateTo('/login') resolved %v", res)
	}
	popupLogin(t, e, "alice@demo.test")
	waitLoggedIn(t, e, "+16505550100*101")
	frame := frameCtx(t, e)
	got := eval[map[string]any](t, frame, `(() => {
		const thrown = [];
		for (const name of `+string(names)+`) {
			for (const event of [{type: name}, {type: 'rc-ringout-call-notify', call: {telephonyStatus: name}}]) {
				try { cbEvents.receive(JSON.stringify(event)); } catch (err) { thrown.push(JSON.stringify(event) + ': ' + err.message); }
			}
		}
		return {thrown, ringoutShown: !document.getElementById('cb-ringout').hidden};
	})()`)
	if thrown, _ := got["thrown"].([]any); len(thrown) > 0 {
		var lines []string
		for _, l := range thrown {
			lines = append(lines, l.(string))
		}
		t.Errorf("server events threw:\n%s", strings.Join(lines, "\n"))
	}
	if got["ringoutShown"] == true {
		t.Error("a RingOut status named after a built-in showed the RingOut bar")
	}
	if res := eval[any](t, e.ctx, `RCAdapter.navigateTo('/history')`); res != "ok" {
		t.Errorf("navigateTo after the events resolved %v", res)
	}
	waitMessage(t, e.ctx, "rc-route-changed-notify", `m.data.path === '/history'`)
}
