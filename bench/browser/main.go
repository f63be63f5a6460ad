// Command browser measures the widget in headless Chromium (chromedp) on
// the demo host page:
//
//   - event latency: a second session of the same user (over HTTP, no
//     browser) toggles mute on a call to the echo test line; for each
//     rc-telephony-session-notify, the time from the server's eventTime
//     stamp to the host page's `message` listener;
//
//   - call setup between two browsers: alice's host page dials bob
//     (RCAdapter.clickToCall) → bob's host page gets rc-call-ring-notify;
//     bob's host page answers (RCAdapter.controlCall('answer')) → alice's
//     host page gets rc-telephony-session-notify with the callee Answered;
//
//   - widget weight: adapter.js gzipped, every byte the demo's first load
//     transfers (cold browser each time), and the time from the adapter.js
//     script tag to the widget's first rc-login-status-notify.
//
//     go run ./bench/browser -events 200 -setups 20 -loads 10
//
// It writes browser.json and browser.md under -out and stops by itself
// (-timeout). Chromium comes from -chromium, $CHROMIUM or /usr/bin/chromium.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/target"
)

type config struct {
	server   target.Config
	chromium string
	events   int
	rate     float64
	setups   int
	ringFor  time.Duration
	loads    int
	timeout  time.Duration
	out      string
}

func main() {
	var cfg config
	fs := flag.NewFlagSet("browser", flag.ExitOnError)
	cfg.server.AddFlags(fs)
	fs.StringVar(&cfg.chromium, "chromium", "", "Chromium binary (default $CHROMIUM or /usr/bin/chromium)")
	fs.IntVar(&cfg.events, "events", 200, "state changes to time on the host page")
	fs.Float64Var(&cfg.rate, "rate", 10, "state changes per second")
	fs.IntVar(&cfg.setups, "setups", 20, "calls set up between the two browsers")
	fs.DurationVar(&cfg.ringFor, "ring-for", time.Second, "how long bob's phone rings before he answers (0: at once)")
	fs.IntVar(&cfg.loads, "loads", 10, "cold first loads of the demo page")
	fs.DurationVar(&cfg.timeout, "timeout", 8*time.Minute, "bound on the whole run")
	fs.StringVar(&cfg.out, "out", "", "directory for browser.json and browser.md (default: $TMPDIR/callbridge-bench)")
	_ = fs.Parse(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "browser:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	chromium, err := findChromium(cfg.chromium)
	if err != nil {
		return err
	}
	// The session that toggles mute sends -rate widget requests a second
	// (10 by default) for -events: at the default 120 per 10 s per session
	// it would be turned away at any higher rate.
	cfg.server.Caps = target.Caps{WidgetRequests: target.Raised}
	srv, err := target.Start(ctx, cfg.server)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(os.Stderr, "browser: server %s, demo %s\n", srv.URL, srv.DemoURL)
	res := &Result{Tool: "browser", Started: time.Now(), Machine: measure.ThisMachine(runtime.Version()),
		Chromium: chromiumVersion(chromium), Loadavg: map[string]string{"start": measure.LoadAvg()}}

	if res.Weight, err = weigh(ctx, srv, chromium, cfg.loads); err != nil {
		return fmt.Errorf("weight: %w", err)
	}
	res.Loadavg["after_weight"] = measure.LoadAvg()

	alice, err := openSignedIn(ctx, srv, chromium, "alice@demo.test")
	if err != nil {
		return fmt.Errorf("alice: %w", err)
	}
	defer alice.close()
	bob, err := openSignedIn(ctx, srv, chromium, "bob@demo.test")
	if err != nil {
		return fmt.Errorf("bob: %w", err)
	}
	defer bob.close()
	res.RingForMs = float64(cfg.ringFor.Milliseconds())
	if err := setups(ctx, alice, bob, cfg.setups, cfg.ringFor, res); err != nil {
		return fmt.Errorf("call setup: %w", err)
	}
	res.Loadavg["after_setup"] = measure.LoadAvg()
	bob.close()
	if err := eventLatency(ctx, srv, alice, cfg, res); err != nil {
		return fmt.Errorf("event latency: %w", err)
	}
	res.Loadavg["end"] = measure.LoadAvg()

	md := markdown(res)
	fmt.Print(md + "\n")
	return measure.WriteResult(cfg.out, "browser", res, md)
}
