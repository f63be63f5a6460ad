package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestScreenshots signs alice in on the demo page and captures the page and
// the widget's pages. With CB_SCREENSHOT_DIR set the PNGs are kept there
// (the README's picture is made this way); otherwise they go to a temp dir.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("CB_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	e := start(t)
	openDemo(t, e, "")
	shoot := func(name string) { screenshot(t, e, dir, name) }
	shoot("signed-out")
	popupLogin(t, e, "alice@demo.test")
	waitLoggedIn(t, e, "+16505550100*101")
	shoot("demo")
	eval[any](t, e.ctx, `RCAdapter.navigateTo('/settings')`)
	shoot("settings")
	widgetPages(t, e, dir, "")
	openDemo(t, e, "?theme=dark")
	waitMessage(t, e.ctx, "rc-login-status-notify", `m.data.loggedIn === true`)
	widgetPages(t, e, dir, "-dark")
}

// widgetPages captures the widget alone on its history (after a call to the
// busy line), messages (after a text to the echo line, which answers) and
// settings pages: widget-history, widget-messages, widget-conversation and
// widget-settings, each name followed by suffix.
func widgetPages(t *testing.T, e *env, dir, suffix string) {
	t.Helper()
	frame := frameCtx(t, e)
	shoot := func(name string) { widgetScreenshot(t, e, dir, name+suffix) }
	calls := eval[int](t, e.ctx, `cbDemo.messages.filter(m => m.data.type === 'rc-call-end-notify').length`)
	eval[any](t, e.ctx, `RCAdapter.clickToCall('+15550102', true)`)
	waitFor[bool](t, e.ctx, "the busy call's end", fmt.Sprintf(`cbDemo.messages.filter(m => m.data.type === 'rc-call-end-notify').length > %d`, calls))
	waitFor[bool](t, frame, "the call panel gone", `document.getElementById('cb-active-call').hidden`)
	eval[any](t, e.ctx, `RCAdapter.navigateTo('/history')`)
	waitFor[bool](t, frame, "the history", fmt.Sprintf(`document.querySelectorAll('#cb-history-list .history-row').length > %d`, calls))
	shoot("widget-history")

	texts := eval[int](t, e.ctx, `cbDemo.messages.filter(m => m.data.type === 'rc-inbound-message-notify').length`)
	eval[any](t, e.ctx, `RCAdapter.clickToSMS('+15550101', 'Is the echo line there?')`)
	waitFor[bool](t, frame, "the composer", `!document.getElementById('cb-compose-send').disabled`)
	eval[bool](t, frame, `(document.getElementById('cb-compose-send').click(), true)`)
	waitFor[bool](t, e.ctx, "the echo line's answer", fmt.Sprintf(`cbDemo.messages.filter(m => m.data.type === 'rc-inbound-message-notify').length > %d`, texts))
	waitFor[bool](t, frame, "the answer in the conversation", `document.querySelectorAll('#cb-thread-messages .bubble[data-direction="in"]').length > 0`)
	shoot("widget-conversation")
	eval[bool](t, frame, `(document.getElementById('cb-thread-back').click(), true)`)
	shoot("widget-messages")

	eval[any](t, e.ctx, `RCAdapter.navigateTo('/settings')`)
	waitFor[bool](t, frame, "the settings", `document.getElementById('cb-from-number').options.length > 1`)
	shoot("widget-settings")
}

// widgetScreenshot saves a PNG of the widget's frame alone, at twice its
// size, and fails on an empty one.
func widgetScreenshot(t *testing.T, e *env, dir, name string) {
	t.Helper()
	saveScreenshot(t, e, dir, name, chromedp.ScreenshotScale(chromedp.CSS("#rc-widget-adapter-frame"), 2))
}

// screenshot saves a PNG of a page, and fails on an empty one.
func screenshot(t *testing.T, e *env, dir, name string) {
	t.Helper()
	saveScreenshot(t, e, dir, name, chromedp.CaptureScreenshot())
}

// saveScreenshot takes a screenshot with capture once transitions have
// settled, fails on an empty one, and saves it as dir/name.png.
func saveScreenshot(t *testing.T, e *env, dir, name string, capture chromedp.Action[[]byte]) {
	t.Helper()
	var png []byte
	// A loaded machine may paint a frame late: an empty capture is taken
	// again until one is painted, for as long as a test waits for anything.
	deadline := time.Now().Add(30 * time.Second)
	for {
		time.Sleep(300 * time.Millisecond) // let transitions settle
		var err error
		if png, err = chromedp.Run(within(t, e.ctx, 15*time.Second), capture); err != nil {
			t.Fatal(err)
		}
		if len(png) >= 10_000 || time.Now().After(deadline) {
			break
		}
	}
	if len(png) < 10_000 {
		t.Fatalf("%s: screenshot of %d bytes looks empty", name, len(png))
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// maybeScreenshot saves a PNG only when CB_SCREENSHOT_DIR is set.
func maybeScreenshot(t *testing.T, e *env, name string) {
	if dir := os.Getenv("CB_SCREENSHOT_DIR"); dir != "" {
		screenshot(t, e, dir, name)
	}
}
