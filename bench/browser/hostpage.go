package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/bench/internal/widget"
)

// recorder is injected into the host page: a `message` listener that keeps
// every widget message with a sub-millisecond receipt time.
const recorder = `(() => {
  if (window.cbBench) return true;
  const origin = window.cbDemo.widgetOrigin;
  window.cbBench = { got: [], now: () => performance.timeOrigin + performance.now() };
  window.addEventListener('message', (e) => {
    if (e.origin !== origin || !e.data || typeof e.data.type !== 'string') return;
    window.cbBench.got.push({ at: window.cbBench.now(), data: e.data });
  });
  return true;
})()`

// openSignedIn opens the demo page in a new browser and signs user in the
// way a host page does with disableLoginPopup: the widget hands the host the
// sign-in URL, the user signs in there (over HTTP here), the host hands the
// callback back.
func openSignedIn(ctx context.Context, srv *target.Server, chromium, user string) (*tab, error) {
	t, err := newBrowser(ctx, chromium)
	if err != nil {
		return nil, err
	}
	t.srv = srv
	if err := chromedp.Do(t.ctx, chromedp.Navigate(srv.DemoURL+"/?disableLoginPopup=1")); err != nil {
		t.close()
		return nil, err
	}
	steps := func() error {
		if _, err := poll[bool](t.ctx, "the widget", `!!(window.cbDemo && cbDemo.messages.some(m => m.data && m.data.type === 'rc-login-status-notify'))`, 15*time.Second); err != nil {
			return err
		}
		if _, err := evalIn[bool](t.ctx, recorder); err != nil {
			return err
		}
		post := `(RCAdapter.frame.contentWindow.postMessage(%s, %q), true)`
		if _, err := evalIn[bool](t.ctx, fmt.Sprintf(post, `{type: 'rc-adapter-login'}`, srv.URL)); err != nil {
			return err
		}
		oAuthURI, err := poll[string](t.ctx, "rc-login-popup-notify", `(cbDemo.messages.find(m => m.data && m.data.type === 'rc-login-popup-notify') || {data: {}}).data.oAuthUri`, 15*time.Second)
		if err != nil {
			return err
		}
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		callback, err := widget.Authorize(actx, oAuthURI, user, "demo")
		cancel()
		if err != nil {
			return err
		}
		cb, _ := json.Marshal(callback)
		if _, err := evalIn[bool](t.ctx, fmt.Sprintf(post, `{type: 'rc-adapter-authorization-code', callbackUri: `+string(cb)+`}`, srv.URL)); err != nil {
			return err
		}
		_, err = poll[bool](t.ctx, "the dialer", `cbDemo.messages.some(m => m.data && m.data.type === 'rc-dialer-status-notify' && m.data.ready === true) &&
			cbDemo.messages.some(m => m.data && m.data.type === 'rc-login-status-notify' && m.data.loggedIn === true)`, 20*time.Second)
		return err
	}
	if err := steps(); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// sample is a host-page receipt: the page time and the message.
type sample struct {
	At   float64         `json:"at"`
	Data json.RawMessage `json:"data"`
}

// waitFor waits for a message of the given type for which match (a JS
// expression over m.data) holds, received after since (page time, ms).
func (t *tab) waitFor(typ, match string, since float64) (sample, error) {
	return poll[sample](t.ctx, typ, fmt.Sprintf(`cbBench.got.find(m => m.at > %f && m.data.type === %q && (%s)) || null`, since, typ, match), 15*time.Second)
}

func (t *tab) now() (float64, error) { return evalIn[float64](t.ctx, `cbBench.now()`) }
