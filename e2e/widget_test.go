package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// openDemo loads the demo host page and waits for the widget's first event.
func openDemo(t *testing.T, e *env, query string) {
	t.Helper()
	if err := chromedp.Do(within(t, e.ctx, 20*time.Second), chromedp.Navigate(e.DemoURL+"/"+query)); err != nil {
		t.Fatalf("open demo page: %v", err)
	}
	waitMessage(t, e.ctx, "rc-login-status-notify", "")
}

func TestWidgetEmbedsAndSpeaksFromItsOrigin(t *testing.T) {
	e := start(t)
	openDemo(t, e, "")

	frame := eval[map[string]string](t, e.ctx, `(() => {
		const f = document.getElementById('rc-widget-adapter-frame');
		return f ? {allow: f.getAttribute('allow'), src: f.src} : null })()`)
	if frame["allow"] != "microphone; autoplay" {
		t.Errorf("iframe allow = %q", frame["allow"])
	}
	src, _ := url.Parse(frame["src"])
	if src.Scheme+"://"+src.Host != e.WidgetURL || src.Path != "/app" || src.Query().Get("clientId") != "demo" ||
		src.Query().Get("fromAdapter") != "1" || src.Query().Get("hostOrigin") != e.DemoURL {
		t.Errorf("iframe src = %s", src)
	}

	// The first events, in order, each from the widget's exact origin.
	want := []string{"rc-login-status-notify", "rc-region-settings-notify", "rc-dialer-status-notify", "rc-route-changed-notify"}
	waitMessage(t, e.ctx, want[len(want)-1], "")
	msgs := eval[[]message](t, e.ctx, `window.cbDemo.messages`)
	if len(msgs) < len(want) {
		t.Fatalf("got %d messages, want at least %d", len(msgs), len(want))
	}
	for i, w := range want {
		if got := msgs[i].Data["type"]; got != w {
			t.Errorf("message %d is %v, want %s", i, got, w)
		}
	}
	for _, m := range msgs {
		if m.Origin != e.WidgetURL {
			t.Errorf("%v came from origin %q, want %q", m.Data["type"], m.Origin, e.WidgetURL)
		}
	}
	login := msgs[0].Data
	if login["loggedIn"] != false || login["features"] == nil {
		t.Errorf("login status = %v", login)
	}
	if route := msgs[3].Data["path"]; route != "/login" {
		t.Errorf("first route = %v", route)
	}
	region := msgs[1].Data
	if region["countryCode"] != "US" {
		t.Errorf("region = %v", region)
	}

	// Loading the adapter a second time makes no second widget.
	n := eval[int](t, e.ctx, `new Promise(done => {
		const s = document.createElement('script');
		s.src = document.getElementById('widget-adapter').src;
		s.onload = s.onerror = () => done(document.querySelectorAll('iframe[id$="-adapter-frame"]').length);
		document.body.appendChild(s);
	})`)
	if n != 1 {
		t.Errorf("%d widget frames after loading adapter.js twice", n)
	}
}

func TestNavigateTo(t *testing.T) {
	e := start(t)
	openDemo(t, e, "")
	// Through the adapter API: the promise resolves once the widget acted.
	res := eval[any](t, e.ctx, `RCAdapter.navigateTo('/history')`)
	if res != "ok" {
		t.Errorf("navigateTo resolved with %v", res)
	}
	waitMessage(t, e.ctx, "rc-route-changed-notify", `m.data.path === '/history'`)

	// A raw postMessage, as integrations without the adapter send it.
	eval[bool](t, e.ctx, `(RCAdapter.frame.contentWindow.postMessage({type: 'rc-adapter-navigate-to', path: '/settings'}, `+
		quote(e.WidgetURL)+`), true)`)
	waitMessage(t, e.ctx, "rc-route-changed-notify", `m.data.path === '/settings'`)

	// A bad path is refused with an answer, not silence.
	errCode := eval[string](t, e.ctx, `RCAdapter.navigateTo('/nowhere').then(() => 'resolved', e => e.code || e.message)`)
	if errCode == "resolved" || errCode == "timeout" {
		t.Errorf("bad path answered %q", errCode)
	}
	// An unknown message-request path is answered with an error.
	resp := eval[map[string]any](t, e.ctx, `new Promise(done => {
		const id = 'req-1';
		addEventListener('message', function on(ev) {
			if (ev.data && ev.data.type === 'rc-adapter-message-response' && ev.data.responseId === id) {
				removeEventListener('message', on); done(ev.data.response);
			}
		});
		RCAdapter.frame.contentWindow.postMessage({type: 'rc-adapter-message-request', requestId: id, path: '/no-such-path'}, `+quote(e.WidgetURL)+`);
	})`)
	if resp["error"] == nil {
		t.Errorf("unknown path answered %v", resp)
	}
}

// TestCommandsWhileTheWidgetLoads: a host page that sends commands the
// moment it hears loggedIn: true, which the widget's page says before its
// script has run, has every command carried out, in order, and answered
// once, and hears loggedIn once. (Whether a command reaches the page before
// or after the widget's script ran is the browser's choice; the node tests
// of early.js and TestBootScript hold the first case.)
func TestCommandsWhileTheWidgetLoads(t *testing.T) {
	e := start(t)
	signedIn(t, e, "alice@demo.test", "+16505550100*101")
	host := `if (location.origin === ` + quote(e.DemoURL) + `) {
		window.cbEarlyCommands = { answers: [], sentAt: 0 };
		addEventListener('message', (ev) => {
			if (ev.origin !== ` + quote(e.WidgetURL) + ` || !ev.data) return;
			const early = window.cbEarlyCommands;
			if (ev.data.type === 'rc-login-status-notify' && ev.data.loggedIn === true && !early.sentAt) {
				early.sentAt = performance.now();
				for (const [id, path] of [['early-1', '/history'], ['early-2', '/messages']]) {
					ev.source.postMessage({ type: 'rc-adapter-navigate-to', path, requestId: id }, ` + quote(e.WidgetURL) + `);
				}
			}
			if (ev.data.type === 'rc-adapter-message-response') early.answers.push(ev.data);
		});
	}`
	addScript := func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: host})
		return chromedp.Void{}, err
	}
	if err := chromedp.Do(within(t, e.ctx, 10*time.Second), addScript); err != nil {
		t.Fatal(err)
	}
	openDemo(t, e, "")
	waitMessage(t, e.ctx, "rc-route-changed-notify", `m.data.path === '/messages'`)
	answers := waitFor[[]map[string]any](t, e.ctx, "both answers", `window.cbEarlyCommands.answers.length >= 2 && window.cbEarlyCommands.answers`)
	if len(answers) != 2 || answers[0]["responseId"] != "early-1" || answers[1]["responseId"] != "early-2" {
		t.Fatalf("answers: %v", answers)
	}
	for _, a := range answers {
		if r, _ := a["response"].(map[string]any); r != nil && r["error"] != nil {
			t.Errorf("%v answered %v", a["responseId"], r)
		}
	}
	routes := eval[[]string](t, e.ctx, `cbDemo.messages.filter(m => m.data.type === 'rc-route-changed-notify').map(m => m.data.path)`)
	if len(routes) < 3 || routes[len(routes)-2] != "/history" || routes[len(routes)-1] != "/messages" {
		t.Errorf("routes after the reload: %v", routes)
	}
	logins := eval[int](t, e.ctx, `cbDemo.messages.filter(m => m.data.type === 'rc-login-status-notify').length`)
	if logins != 1 {
		t.Errorf("the host heard rc-login-status-notify %d times on one load", logins)
	}
}

// TestForeignMessagesIgnored posts commands to the widget from a window that
// is not its parent (same origin as the host) and from a window on an unlisted
// origin; the widget must act on neither, while the parent's own command that
// follows is carried out.
func TestForeignMessagesIgnored(t *testing.T) {
	e := start(t)
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><script>
			opener.frames[0].postMessage({type: 'rc-adapter-navigate-to', path: '/messages'}, ` + quote(e.WidgetURL) + `);
			opener.postMessage('foreign-sent', ` + quote(e.DemoURL) + `);
			close();
		</script>`))
	}))
	defer foreign.Close()
	openDemo(t, e, "")
	eval[bool](t, e.ctx, `new Promise(done => {
		// A same-origin window that is not the widget's parent.
		const sibling = document.createElement('iframe');
		document.body.appendChild(sibling);
		const s = sibling.contentDocument.createElement('script');
		s.src = URL.createObjectURL(new Blob(['parent.RCAdapter.frame.contentWindow.postMessage({type: "rc-adapter-navigate-to", path: "/calls"}, ' + `+quote(quote(e.WidgetURL))+` + ')'], {type: 'text/javascript'}));
		sibling.contentDocument.body.appendChild(s);
		// A window on an unlisted origin that holds a reference to the widget.
		addEventListener('message', function on(ev) { if (ev.data === 'foreign-sent') { removeEventListener('message', on); done(true); } });
		window.open(`+quote(foreign.URL)+`);
	})`)
	eval[bool](t, e.ctx, `(RCAdapter.frame.contentWindow.postMessage({type: 'rc-adapter-navigate-to', path: '/dialer'}, `+quote(e.WidgetURL)+`), true)`)
	waitMessage(t, e.ctx, "rc-route-changed-notify", `m.data.path === '/dialer'`)
	paths := eval[[]string](t, e.ctx, `cbDemo.messages.filter(m => m.data.type === 'rc-route-changed-notify').map(m => m.data.path)`)
	for _, p := range paths {
		if p == "/calls" || p == "/messages" {
			t.Errorf("the widget obeyed a foreign window: routes %v", paths)
		}
	}
}

// TestUnlistedOriginCannotFrame frames /app from a page whose origin the app
// does not list; the browser must refuse to render it (CSP frame-ancestors),
// while the same frame on the demo page (a listed origin) renders.
func TestUnlistedOriginCannotFrame(t *testing.T) {
	e := start(t)
	appURL := e.WidgetURL + "/app?clientId=demo&hostOrigin=" + url.QueryEscape(e.DemoURL)
	unlisted := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><iframe id="w" src="` + appURL + `"></iframe>`))
	}))
	defer unlisted.Close()

	if rendered := widgetRendered(t, e, unlisted.URL); rendered {
		t.Error("a page on an unlisted origin rendered the widget in its frame")
	}
	if rendered := widgetRendered(t, e, e.DemoURL+"/"); !rendered {
		t.Error("the demo page (a listed origin) could not render the widget")
	}
}

// widgetRendered opens pageURL and reports whether its widget frame holds the
// widget's document, by attaching to the frame's own target.
func widgetRendered(t *testing.T, e *env, pageURL string) bool {
	t.Helper()
	if err := chromedp.Do(within(t, e.ctx, 20*time.Second), chromedp.Navigate(pageURL)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second) // against a hang on a busy machine, not a measure
	for time.Now().Before(deadline) {
		targets, err := chromedp.Targets(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range targets {
			if tg.Type != "iframe" || !strings.HasPrefix(tg.URL, e.WidgetURL+"/app") {
				continue
			}
			fctx, cancel := chromedp.NewContext(e.ctx, chromedp.WithTargetID(tg.TargetID), chromedp.WithDetachOnCancel())
			state, err := chromedp.Run(within(t, fctx, 10*time.Second), chromedp.Poll[string](
				`document.readyState === 'complete' && (document.getElementById('cb-config') ? 'widget' : 'other:' + location.href)`,
				chromedp.WithPollingTimeout(5*time.Second)))
			cancel()
			if err != nil { // a frame of the previous page, gone meanwhile
				t.Logf("inspect frame %s: %v", tg.URL, err)
				continue
			}
			t.Logf("frame on %s: %s", pageURL, state)
			return state == "widget"
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("no widget frame target on %s", pageURL)
	return false
}

// TestDispose removes the widget: no node, no global, no listener is left,
// and tel: links go back to the browser.
func TestDispose(t *testing.T) {
	e := start(t)
	openDemo(t, e, "")
	left := eval[map[string]any](t, e.ctx, `(() => {
		const before = document.querySelectorAll('*').length;
		const widgetNodes = document.querySelectorAll('#rc-widget, #rc-widget *').length;
		const styles = document.querySelectorAll('style').length;
		RCAdapter.dispose();
		let captured = false;
		const link = document.querySelector('a[href^="tel:"]');
		const probe = ev => { captured = ev.defaultPrevented; ev.preventDefault(); };
		addEventListener('click', probe);
		link.click();
		removeEventListener('click', probe);
		return {
			removed: before - document.querySelectorAll('*').length,
			widgetNodes, styles,
			stylesAfter: document.querySelectorAll('style').length,
			frames: document.querySelectorAll('iframe').length,
			global: typeof window.RCAdapter,
			captured,
		};
	})()`)
	if left["frames"] != float64(0) || left["global"] != "undefined" || left["captured"] != false {
		t.Errorf("after dispose: %v", left)
	}
	if left["stylesAfter"] != float64(0) {
		t.Errorf("style elements left: %v", left)
	}
	if want := left["widgetNodes"].(float64) + left["styles"].(float64); left["removed"] != want {
		t.Errorf("dispose removed %v nodes, want %v (the widget's and its styles)", left["removed"], want)
	}
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }
