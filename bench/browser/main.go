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
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/peer"
	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/bench/internal/widget"
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

// Result is the whole run.
type Result struct {
	Tool     string          `json:"tool"`
	Started  time.Time       `json:"started"`
	Machine  measure.Machine `json:"machine"`
	Chromium string          `json:"chromium"`
	Loadavg  map[string]string

	EventLatency   measure.Summary `json:"host_event_latency"`
	ClockOffsetMs  float64         `json:"page_clock_offset_ms"` // Date.now() − (timeOrigin + now()) on the host page
	DialToRing     measure.Summary `json:"dial_to_ring"`
	RingForMs      float64         `json:"ring_before_answer_ms"` // how long the callee let it ring
	AnswerToCaller measure.Summary `json:"answer_to_caller_answered"`
	// Where call setup time goes, from the widget frames' Resource Timing:
	// the command reaching the widget and the widget preparing its offer
	// (microphone, RTCPeerConnection, ICE gathering) before its request, the
	// request itself (the server opening the media leg), and what follows.
	DialPrep      measure.Summary `json:"dial_widget_before_request"`
	DialRequest   measure.Summary `json:"dial_request"`
	AnswerPrep    measure.Summary `json:"answer_widget_before_request"`
	AnswerRequest measure.Summary `json:"answer_request"`
	AnswerAfter   measure.Summary `json:"answer_response_to_caller_page"`
	Weight        Weight          `json:"weight"`
}

// Weight is what the widget costs a host page on first load.
type Weight struct {
	AdapterGzipBytes int `json:"adapter_js_gzip_bytes"`
	// Bytes the demo's first load transferred (headers included) and their
	// bodies as sent (gzipped where served so): the widget's share is
	// adapter.js plus everything its frame loaded.
	WidgetTransferBytes int             `json:"widget_transfer_bytes"`
	WidgetBodyBytes     int             `json:"widget_encoded_body_bytes"`
	PageTransferBytes   int             `json:"page_transfer_bytes"`
	PageBodyBytes       int             `json:"page_encoded_body_bytes"`
	WidgetResources     []Resource      `json:"widget_resources"`
	FirstEvent          measure.Summary `json:"script_tag_to_first_login_status"`
}

// Resource is one request of the widget's first load.
type Resource struct {
	URL      string `json:"url"`
	Transfer int    `json:"transfer_bytes"`
	Body     int    `json:"encoded_body_bytes"`
	Decoded  int    `json:"decoded_body_bytes"`
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

func markdown(r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s, %d cores; %s; load %v\n\n", r.Machine.CPU, r.Machine.Cores, r.Chromium, r.Loadavg)
	t := measure.Table{Header: []string{"measure", "n", "p50 ms", "p99 ms", "max ms"}}
	row := func(name string, s measure.Summary) { t.Add(name, s.Count, s.P50ms, s.P99ms, s.MaxMs) }
	row("server state change → host page `message` (rc-telephony-session-notify)", r.EventLatency)
	row("dial on alice's page → rc-call-ring-notify on bob's page", r.DialToRing)
	row(fmt.Sprintf("answer on bob's page (after %.0f ms of ringing) → alice's page sees callee Answered", r.RingForMs), r.AnswerToCaller)
	row("  of which: bob's widget before its POST …/answer (offer, ICE gathering)", r.AnswerPrep)
	row("  of which: POST /widget/calls/{id}/answer", r.AnswerRequest)
	row("  of which: answer response → alice's page", r.AnswerAfter)
	row("  dial: alice's widget before its POST /widget/calls", r.DialPrep)
	row("  dial: POST /widget/calls", r.DialRequest)
	row("adapter.js script tag → first rc-login-status-notify (cold load)", r.Weight.FirstEvent)
	b.WriteString(t.String())
	fmt.Fprintf(&b, "\nHost page clock offset (Date.now() − performance time): %.3f ms\n\n", r.ClockOffsetMs)
	w := r.Weight
	fmt.Fprintf(&b, "adapter.js gzipped: %d bytes. Widget first load: %d bytes transferred (%d bytes of bodies as sent). "+
		"Whole demo page first load: %d bytes transferred (%d of bodies).\n\n", w.AdapterGzipBytes, w.WidgetTransferBytes, w.WidgetBodyBytes,
		w.PageTransferBytes, w.PageBodyBytes)
	rt := measure.Table{Header: []string{"widget resource", "transferred", "body as sent", "body decoded"}}
	for _, x := range w.WidgetResources {
		rt.Add(x.URL, x.Transfer, x.Body, x.Decoded)
	}
	b.WriteString(rt.String())
	return b.String()
}

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

// setups runs n calls from alice to bob: dial → ring; after ringFor, as a
// person takes a moment to pick up, answer → caller sees it.
func setups(ctx context.Context, alice, bob *tab, n int, ringFor time.Duration, res *Result) error {
	ring, answered := new(measure.Histogram), new(measure.Histogram)
	dialPrep, dialReq, ansPrep, ansReq, ansAfter := new(measure.Histogram), new(measure.Histogram), new(measure.Histogram), new(measure.Histogram), new(measure.Histogram)
	for _, t := range []*tab{alice, bob} {
		f, err := frameCtx(t, t.srv.URL)
		if err != nil {
			return err
		}
		t.frame = f
		if _, err := evalIn[bool](f, `(performance.setResourceTimingBufferSize(100000), true)`); err != nil {
			return err
		}
	}
	for i := range n {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t0, err := evalIn[float64](alice.ctx, `(() => { const t = cbBench.now(); RCAdapter.clickToCall('102', true); return t; })()`)
		if err != nil {
			return err
		}
		r, err := bob.waitFor("rc-call-ring-notify", "true", t0)
		if err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		ring.Add(msDur(r.At - t0))
		time.Sleep(ringFor)
		t2, err := evalIn[float64](bob.ctx, `(() => { const t = cbBench.now(); RCAdapter.controlCall('answer'); return t; })()`)
		if err != nil {
			return err
		}
		a, err := alice.waitFor("rc-telephony-session-notify",
			`m.data.telephonySession.parties.some(p => p.direction === 'Inbound' && p.status.code === 'Answered')`, t2)
		if err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		answered.Add(msDur(a.At - t2))
		if d, err := lastFetch(alice.frame, "/widget/calls"); err != nil {
			fmt.Fprintf(os.Stderr, "browser: dial timing: %v\n", err)
		} else if d.Start > 0 {
			dialPrep.Add(msDur(d.Start - t0))
			dialReq.Add(msDur(d.End - d.Start))
		}
		if d, err := lastFetch(bob.frame, "/answer"); err != nil {
			fmt.Fprintf(os.Stderr, "browser: answer timing: %v\n", err)
		} else if d.Start > 0 {
			ansPrep.Add(msDur(d.Start - t2))
			ansReq.Add(msDur(d.End - d.Start))
			ansAfter.Add(msDur(a.At - d.End))
		}
		t4, _ := alice.now()
		if _, err := evalIn[any](alice.ctx, `RCAdapter.controlCall('hangup').then(r => r, e => String(e))`); err != nil {
			return err
		}
		if _, err := alice.waitFor("rc-call-end-notify", "true", t4); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		if _, err := bob.waitFor("rc-adapter-syncPresence", `m.data.telephonyStatus === 'NoCall'`, t4); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	res.DialToRing, res.AnswerToCaller = ring.Summary(), answered.Summary()
	res.DialPrep, res.DialRequest = dialPrep.Summary(), dialReq.Summary()
	res.AnswerPrep, res.AnswerRequest, res.AnswerAfter = ansPrep.Summary(), ansReq.Summary(), ansAfter.Summary()
	return nil
}

// span is one request's start and end, in page time (ms since the epoch).
type span struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// lastFetch returns the timing of the frame's latest request whose URL ends
// with suffix.
func lastFetch(frame context.Context, suffix string) (span, error) {
	return evalIn[span](frame, fmt.Sprintf(`(() => {
  const e = performance.getEntriesByType('resource').filter(e => e.name.endsWith(%q)).pop();
  return e ? {start: performance.timeOrigin + e.startTime, end: performance.timeOrigin + e.responseEnd} : {start: 0, end: 0};
})()`, suffix))
}

func msDur(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// eventLatency has a second session of alice's (over HTTP, with a pion
// client) call the echo line and toggle mute; alice's host page times
// every rc-telephony-session-notify against the server's eventTime.
func eventLatency(ctx context.Context, srv *target.Server, page *tab, cfg config, res *Result) error {
	w := widget.New(srv.URL, srv.DemoURL)
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := w.SignIn(sctx, "alice@demo.test", "demo"); err != nil {
		return err
	}
	device, err := w.NewDevice(sctx)
	if err != nil {
		return err
	}
	connected := make(chan struct{}, 1)
	if _, err := w.Events(sctx, device, func(ev widget.Event) {
		if ev.Type == "rc-active-call-notify" && ev.Call.TelephonyStatus == "CallConnected" {
			select {
			case connected <- struct{}{}:
			default:
			}
		}
	}); err != nil {
		return err
	}
	leg, offer, err := peer.New(nil, nil)
	if err != nil {
		return err
	}
	defer leg.Close()
	call, answer, err := w.Dial(sctx, device, "+15550101", offer)
	if err != nil {
		return err
	}
	defer func() {
		hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer hcancel()
		_ = w.Control(hctx, device, call.ID, "hangup")
	}()
	if err := leg.Answer(sctx, answer); err != nil {
		return err
	}
	select {
	case <-connected:
	case <-sctx.Done():
		return errors.New("the echo line did not answer")
	}
	time.Sleep(500 * time.Millisecond)
	start, err := page.now()
	if err != nil {
		return err
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.rate))
	defer tick.Stop()
	for i := range cfg.events {
		<-tick.C
		action := "mute"
		if i%2 == 1 {
			action = "unmute"
		}
		if err := w.Control(sctx, device, call.ID, action); err != nil {
			return err
		}
	}
	time.Sleep(time.Second)
	got, err := evalIn[[]sample](page.ctx, fmt.Sprintf(`cbBench.got.filter(m => m.at > %f && m.data.type === 'rc-telephony-session-notify').map(m => ({at: m.at, data: {telephonySession: {eventTime: m.data.telephonySession.eventTime}}}))`, start))
	if err != nil {
		return err
	}
	h := new(measure.Histogram)
	for _, s := range got {
		var d struct {
			TelephonySession struct {
				EventTime time.Time `json:"eventTime"`
			} `json:"telephonySession"`
		}
		if json.Unmarshal(s.Data, &d) != nil {
			continue
		}
		at := time.UnixMicro(int64(s.At * 1000))
		h.Add(at.Sub(d.TelephonySession.EventTime))
	}
	res.EventLatency = h.Summary()
	res.ClockOffsetMs, _ = evalIn[float64](page.ctx, `Date.now() - (performance.timeOrigin + performance.now())`)
	if h.Count() < uint64(cfg.events) {
		return fmt.Errorf("the host page got %d of %d rc-telephony-session-notify", h.Count(), cfg.events)
	}
	return nil
}

// weigh measures adapter.js gzipped and, loads times in a cold browser,
// the demo page's first load.
func weigh(ctx context.Context, srv *target.Server, chromium string, loads int) (Weight, error) {
	var w Weight
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/adapter.js?clientId=demo", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	hc := widget.NewHTTPClient()
	hc.Transport.(*http.Transport).DisableCompression = true
	resp, err := hc.Do(req)
	if err != nil {
		return w, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		return w, fmt.Errorf("adapter.js not served gzipped (%q)", resp.Header.Get("Content-Encoding"))
	}
	w.AdapterGzipBytes = len(body)
	adapterHeaders := headerBytes(resp)

	first := new(measure.Histogram)
	for i := range loads {
		b, err := newBrowser(ctx, chromium)
		if err != nil {
			return w, err
		}
		err = func() error {
			defer b.close()
			if err := chromedp.Do(b.ctx, chromedp.Navigate(srv.DemoURL+"/")); err != nil {
				return err
			}
			if _, err := poll[bool](b.ctx, "the widget's first event", `!!(window.cbDemo && cbDemo.messages.some(m => m.data && m.data.type === 'rc-login-status-notify'))`, 15*time.Second); err != nil {
				return err
			}
			host, err := evalIn[pageLoad](b.ctx, pageLoadJS)
			if err != nil {
				return err
			}
			first.Add(msDur(host.FirstStatus - host.AdapterStart))
			if i > 0 {
				return nil
			}
			time.Sleep(time.Second) // let the widget finish its own requests
			host, err = evalIn[pageLoad](b.ctx, pageLoadJS)
			if err != nil {
				return err
			}
			frame, err := frameCtx(b, srv.URL)
			if err != nil {
				return err
			}
			inner, err := evalIn[pageLoad](frame, pageLoadJS)
			if err != nil {
				return err
			}
			adapterSeen := false
			for _, r := range host.Resources {
				if strings.HasPrefix(r.URL, srv.URL) {
					// Another site's responses: Resource Timing hides their
					// sizes from the host. The frame's own document is
					// counted from inside it; adapter.js as fetched above.
					if strings.Contains(r.URL, "/adapter.js") && !adapterSeen {
						// Counted once: the host's timeline may list it twice.
						adapterSeen = true
						r = Resource{URL: r.URL, Transfer: w.AdapterGzipBytes + adapterHeaders, Body: w.AdapterGzipBytes}
						w.WidgetTransferBytes += r.Transfer
						w.WidgetBodyBytes += r.Body
						w.WidgetResources = append(w.WidgetResources, r)
					} else {
						continue
					}
				}
				w.PageTransferBytes += r.Transfer
				w.PageBodyBytes += r.Body
			}
			for _, r := range inner.Resources {
				if strings.Contains(r.URL, "/widget/events") {
					continue // the open event stream, not part of the load
				}
				w.PageTransferBytes += r.Transfer
				w.PageBodyBytes += r.Body
				w.WidgetTransferBytes += r.Transfer
				w.WidgetBodyBytes += r.Body
				w.WidgetResources = append(w.WidgetResources, r)
			}
			return nil
		}()
		if err != nil {
			return w, err
		}
	}
	sort.Slice(w.WidgetResources, func(i, j int) bool { return w.WidgetResources[i].Transfer > w.WidgetResources[j].Transfer })
	w.FirstEvent = first.Summary()
	return w, nil
}

// headerBytes approximates a response's header bytes on the wire.
func headerBytes(resp *http.Response) int {
	n := len(resp.Proto) + len(resp.Status) + 4
	for k, vs := range resp.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n + 2
}

// pageLoad is what a frame's Resource Timing says about its load.
type pageLoad struct {
	Resources    []Resource `json:"resources"`
	AdapterStart float64    `json:"adapterStart"` // page time the adapter.js request started
	FirstStatus  float64    `json:"firstStatus"`  // page time of the first rc-login-status-notify (demo log, ms)
}

const pageLoadJS = `(() => {
  const all = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
  const resources = all.map(e => ({url: e.name, transfer_bytes: e.transferSize, encoded_body_bytes: e.encodedBodySize, decoded_body_bytes: e.decodedBodySize}));
  const a = performance.getEntriesByType('resource').find(e => e.name.includes('/adapter.js'));
  const s = window.cbDemo && cbDemo.messages.find(m => m.data && m.data.type === 'rc-login-status-notify');
  return {resources, adapterStart: a ? performance.timeOrigin + a.startTime : 0, firstStatus: s ? s.time : 0};
})()`

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
