package e2e

import (
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
}

// screenshot saves a PNG of a page, and fails on an empty one.
func screenshot(t *testing.T, e *env, dir, name string) {
	t.Helper()
	time.Sleep(300 * time.Millisecond) // let transitions settle
	png, err := chromedp.Run(within(t, e.ctx, 15*time.Second), chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
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
