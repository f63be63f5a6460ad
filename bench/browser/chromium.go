package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/callbridge/widget-server/bench/internal/target"
)

func findChromium(flagPath string) (string, error) {
	for _, p := range []string{flagPath, os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", errors.New("no Chromium: install Debian's chromium or pass -chromium")
}

func chromiumVersion(path string) string {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return path
	}
	return strings.TrimSpace(string(out))
}

// tab is one Chromium with the demo page open.
type tab struct {
	ctx    context.Context
	cancel func()
	srv    *target.Server
	frame  context.Context // the widget's frame, once attached
}

// newBrowser starts a headless Chromium with its own profile and fake
// media devices, as the end-to-end tests do.
func newBrowser(ctx context.Context, chromium string) (*tab, error) {
	dir, err := os.MkdirTemp("", "callbridge-chromium-")
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.WindowSize(1400, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelCtx := chromedp.NewContext(actx)
	t := &tab{ctx: bctx, cancel: func() { cancelCtx(); cancelAlloc(); os.RemoveAll(dir) }}
	if err := chromedp.Do(bctx); err != nil {
		t.cancel()
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	return t, nil
}

func (t *tab) close() {
	if t.cancel != nil {
		t.cancel()
		t.cancel = nil
	}
}

func evalIn[T any](ctx context.Context, expr string) (T, error) {
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return chromedp.Run(c, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// poll waits until expr is truthy and returns its value.
func poll[T any](ctx context.Context, what, expr string, d time.Duration) (T, error) {
	c, cancel := context.WithTimeout(ctx, d+5*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Poll[T](expr, chromedp.WithPollingInterval(5*time.Millisecond), chromedp.WithPollingTimeout(d)))
	if err != nil {
		return v, fmt.Errorf("waiting for %s: %w", what, err)
	}
	return v, nil
}

// frameCtx attaches to the widget's iframe (another site: its own target).
func frameCtx(t *tab, widgetURL string) (context.Context, error) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		targets, err := chromedp.Targets(t.ctx)
		if err != nil {
			return nil, err
		}
		for _, tg := range targets {
			if tg.Type == "iframe" && strings.HasPrefix(tg.URL, widgetURL+"/app") {
				// Attach with this long-lived context: the first run on a
				// chromedp context owns the attachment, and a short
				// per-call timeout would detach it.
				ctx, _ := chromedp.NewContext(t.ctx, chromedp.WithTargetID(tg.TargetID))
				if err := chromedp.Do(ctx); err != nil {
					return nil, err
				}
				return ctx, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, errors.New("no widget frame")
}
