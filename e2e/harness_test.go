// Package e2e drives the real server with a real browser: Debian's Chromium,
// headless, through chromedp. Each test starts the program through
// server.Run on free loopback ports, with the widget on http://localhost:P
// and the demo host page on http://127.0.0.1:Q — two different sites, so the
// browser applies its cross-site rules as on a real CRM.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/callbridge/widget-server/internal/server"
)

// env is one running server and one browser tab.
type env struct {
	server.Addrs
	ctx     context.Context // chromedp context of the first tab
	dataDir string
	run     *serverRun // the server, to stop and start again
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("no Chromium found: install Debian's chromium (the README's test command does) or set CHROMIUM")
	return ""
}

// start runs the server and opens a browser, with extra Chromium switches
// if given. Everything stops at test end.
func start(t *testing.T, switches ...string) *env {
	t.Helper()
	return startWith(t, server.Config{}, switches...)
}

// startWith is start with server settings (listeners and data dir are set here).
func startWith(t *testing.T, cfg server.Config, switches ...string) *env {
	t.Helper()
	run := runServer(t, cfg)
	return &env{Addrs: run.addrs, ctx: browser(t, switches...), dataDir: run.cfg.DataDir, run: run}
}

// startStopLimit bounds how long the program may take to start or stop: a
// start hashes the demo users' passwords, which takes long under the race
// detector on a loaded machine. It guards against a hang; it is no measure.
const startStopLimit = 90 * time.Second

// serverRun is the program run in-process through server.Run. It can be
// stopped (as SIGTERM does) and started again on the same ports and data
// dir; it stops at test end.
type serverRun struct {
	t      *testing.T
	cfg    server.Config
	addrs  server.Addrs
	cancel context.CancelFunc
	done   chan error
}

// runServer starts the server on free loopback ports with a new data dir,
// unless cfg names one (made ready by the test), logging to cfg.Logger if
// set, else (with -v) to stderr.
func runServer(t *testing.T, cfg server.Config) *serverRun {
	t.Helper()
	var logs io.Writer = io.Discard
	if testing.Verbose() {
		logs = os.Stderr
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg.Listen, cfg.DemoListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Dev = true // a developer's machine: demo users, the demo page, media on loopback
	if cfg.DataDir == "" {
		cfg.DataDir = filepath.Join(t.TempDir(), "data")
	}
	r := &serverRun{t: t, cfg: cfg}
	r.start()
	// From now on the same ports: a restart is found where the browser
	// left it.
	r.cfg.Listen = r.addrs.WidgetListen
	r.cfg.DemoListen = strings.TrimPrefix(r.addrs.DemoURL, "http://")
	t.Cleanup(r.stop)
	return r
}

// start runs the server and returns once it listens.
func (r *serverRun) start() {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan server.Addrs, 1)
	done := make(chan error, 1)
	cfg := r.cfg
	cfg.Ready = func(a server.Addrs) { ready <- a }
	go func() { done <- server.Run(ctx, cfg) }()
	select {
	case r.addrs = <-ready:
		r.cancel, r.done = cancel, done
	case err := <-done:
		cancel()
		r.t.Fatalf("server did not start: %v", err)
	case <-time.After(startStopLimit):
		cancel()
		r.t.Fatalf("server did not start in %v", startStopLimit)
	}
}

// stop stops the server as SIGTERM does and waits until it has.
func (r *serverRun) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil && !errors.Is(err, context.Canceled) {
			r.t.Errorf("server: %v", err)
		}
	case <-time.After(startStopLimit):
		r.t.Errorf("server did not stop in %v", startStopLimit)
	}
}

// browser starts a headless Chromium with fake media devices and returns the
// context of its first tab.
func browser(t *testing.T, switches ...string) context.Context {
	t.Helper()
	return browserWith(t, nil, switches...)
}

// browserWith is browser with more allocator options (switches with values).
// Now and then Debian's Chromium exits while it starts, before it
// listens for the test (a crash of its own, seen once or twice in a run of
// the suite); a browser that does so is started once more.
func browserWith(t *testing.T, extra []chromedp.ExecAllocatorOption, switches ...string) context.Context {
	t.Helper()
	const attempts = 3
	for i := 1; ; i++ {
		ctx, err := startBrowser(t, extra, switches...)
		if err == nil {
			return ctx
		}
		if i == attempts || !strings.Contains(err.Error(), "chrome failed to start") {
			t.Fatalf("start chromium: %v", err)
		}
		t.Logf("start chromium, attempt %d of %d: %v", i, attempts, err)
	}
}

func startBrowser(t *testing.T, extra []chromedp.ExecAllocatorOption, switches ...string) (context.Context, error) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.WindowSize(1400, 900),
	)
	for _, s := range switches {
		opts = append(opts, chromedp.Flag(s, true))
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil { // launches the browser
		cancelCtx()
		cancelAlloc()
		return nil, err
	}
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	return ctx, nil
}

// within bounds one step of a test.
func within(t *testing.T, ctx context.Context, d time.Duration) context.Context {
	t.Helper()
	// Every bound is against a hang only, and d is what an idle machine
	// needs with room to spare: a loaded one, with Chromium starved of
	// time, gets four times as long.
	c, cancel := context.WithTimeout(ctx, 4*d)
	t.Cleanup(cancel)
	return c
}

// eval runs a JavaScript expression in the page (awaiting promises) and
// decodes its value.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(within(t, ctx, 15*time.Second), chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it is truthy and returns its
// value; the bound is against a hang only.
func waitFor[T any](t *testing.T, ctx context.Context, what, expr string) T {
	t.Helper()
	v, err := chromedp.Run(within(t, ctx, 35*time.Second),
		chromedp.Poll[T](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(2*time.Minute)))
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return v
}

// message is one entry of the demo page's log of widget messages.
type message struct {
	Time   float64        `json:"time"`
	Origin string         `json:"origin"`
	Data   map[string]any `json:"data"`
}

// waitMessage waits until the demo page has received a message of the given
// type for which match (a JS expression over `m.data`) holds, and returns it.
func waitMessage(t *testing.T, ctx context.Context, typ, match string) message {
	t.Helper()
	if match == "" {
		match = "true"
	}
	return waitFor[message](t, ctx, typ, fmt.Sprintf(
		`window.cbDemo && window.cbDemo.messages.find(m => m.data && m.data.type === %q && (%s))`, typ, match))
}
