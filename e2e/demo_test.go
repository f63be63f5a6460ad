package e2e

import (
	"encoding/json"
	"testing"
)

// TestDemoTrustsOnlyTheWidget checks the demo host page, the script
// integrators copy: it reads only messages of the widget's own frame, and
// opens a sign-in URL (rc-login-popup-notify with disableLoginPopup=1) only
// when it is on the widget's origin. A window of the widget's origin that is
// not the frame is not heard; oAuthUri values that are scripts, data, blobs
// or another origin open nothing, while the widget's own URL opens.
func TestDemoTrustsOnlyTheWidget(t *testing.T) {
	e := start(t)
	openDemo(t, e, "?disableLoginPopup=1")
	authorize := e.WidgetURL + "/oauth/authorize?client_id=demo&state="

	// Another window at the widget's origin, which the host page opened.
	eval[bool](t, e.ctx, `(open(`+quote(e.WidgetURL+"/healthz")+`), true)`)
	other := popupCtx(t, e, e.WidgetURL+"/healthz")
	// From here on the page records what it would open instead of opening it.
	eval[bool](t, e.ctx, `(() => {
		window.opened = [];
		window.open = (url) => { opened.push(String(url)); return null; };
		window.otherSent = new Promise(done => addEventListener('message', function on(ev) {
			if (ev.data === 'other-sent') { removeEventListener('message', on); done(true); }
		}));
		return true;
	})()`)
	eval[bool](t, other, `(() => {
		const host = `+quote(e.DemoURL)+`;
		opener.postMessage({type: 'rc-login-popup-notify', oAuthUri: `+quote(authorize+"from-other-window")+`}, host);
		opener.postMessage({type: 'rc-route-changed-notify', path: '/from-other-window'}, host);
		opener.postMessage('other-sent', host);
		return true;
	})()`)
	// The page hears one window's messages in order: once the last is in,
	// the demo's listener has seen the others.
	eval[bool](t, e.ctx, `otherSent`)
	heard := eval[[]string](t, e.ctx, `cbDemo.messages.map(m => JSON.stringify(m.data)).filter(d => d.includes('from-other-window'))`)
	if len(heard) > 0 {
		t.Errorf("the demo page took messages of another window at the widget's origin: %v", heard)
	}
	if opened := eval[[]string](t, e.ctx, `opened`); len(opened) > 0 {
		t.Errorf("the demo page opened %v for another window", opened)
	}

	// The widget's own frame hands over sign-in URLs; only the last is on
	// the widget's origin.
	bad := []string{
		"javascript:alert(document.domain)",
		" javascript:alert(document.domain)",
		"JavaScript:alert(document.domain)",
		"data:text/html,<script>alert(document.domain)</script>",
		"vbscript:msgbox(1)",
		"blob:" + e.WidgetURL + "/0b9e9a2e-6a1b-4c1e-8d4f-2f1e5e0a7c11",
		e.DemoURL + "/oauth/callback?code=x",
		"http://evil.example/authorize",
		"https://evil.example/authorize",
		"//evil.example/authorize",
		"/oauth/authorize",
		"http://" + e.WidgetURL[len("http://"):] + "@evil.example/authorize",
		"",
	}
	good := authorize + "from-widget"
	uris, _ := json.Marshal(append(bad, good))
	frame := frameCtx(t, e)
	eval[bool](t, frame, `(() => {
		for (const oAuthUri of `+string(uris)+`) parent.postMessage({type: 'rc-login-popup-notify', oAuthUri}, `+quote(e.DemoURL)+`);
		return true;
	})()`)
	waitFor[bool](t, e.ctx, "the widget's sign-in URL opened", `opened.length > 0`)
	opened := eval[[]string](t, e.ctx, `opened`)
	if len(opened) != 1 || opened[0] != good {
		t.Errorf("the demo page opened %q, want only %q", opened, good)
	}
}
