// Command ssefan measures the widget's event stream at scale through the
// public surface: N concurrent GET /widget/events?deviceId=… streams of one
// signed-in session, each with its own device issued to the session by POST
// /widget/devices (source addresses spread over 127.0.0.0/8 so ports do
// not run short), and a publisher tab of the same extension that toggles
// mute on a call to the echo test line at a steady rate. Each toggle is
// broadcast to every stream as three rc-* messages; the tool measures, for
// the rc-telephony-session-notify of each, the time from the server's
// eventTime stamp to the line being read, and the server's memory per
// connection and CPU.
//
//	go run ./bench/ssefan -streams 1000,5000,10000,19500 -rate 1 -duration 10s
//
// It writes sse.json and sse.md under -out and stops by itself (-timeout).
// The server it starts has the per-session caps on streams, devices and
// widget requests raised (target.Raised): one session holds every stream.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/callbridge/widget-server/bench/internal/command"
	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/bench/internal/widget"
)

type config struct {
	server     target.Config
	streams    []int
	rate       float64
	duration   time.Duration
	settle     time.Duration
	parallel   int
	perSource  int
	timeout    time.Duration
	out        string
	cpuprofile bool
	goalP99    time.Duration
	goalPerCon int
	firstExt   int
}

func main() { command.Main("ssefan", parseFlags, run) }

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("ssefan", flag.ContinueOnError)
	var cfg config
	var streams string
	cfg.server.AddFlags(fs)
	fs.StringVar(&streams, "streams", "1000,5000,10000,15000,19500", "concurrent event streams, per step")
	fs.Float64Var(&cfg.rate, "rate", 1, "mute toggles per second (each is three messages to every stream)")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measurement time per step")
	fs.DurationVar(&cfg.settle, "settle", 3*time.Second, "idle time after a step's streams are open, before memory is read")
	fs.IntVar(&cfg.parallel, "connect-parallel", 64, "streams being opened at once")
	fs.IntVar(&cfg.perSource, "per-source", 2000, "streams per source address (127.0.0.2, .3, …)")
	fs.DurationVar(&cfg.timeout, "timeout", 15*time.Minute, "bound on the whole run")
	fs.StringVar(&cfg.out, "out", "", "directory for sse.json and sse.md (default: $TMPDIR/callbridge-bench)")
	fs.DurationVar(&cfg.goalP99, "goal-p99", 100*time.Millisecond, "goal: broadcast delivery p99 below this")
	fs.IntVar(&cfg.goalPerCon, "goal-bytes-per-stream", 30<<10, "goal: server memory per stream at most this")
	fs.IntVar(&cfg.firstExt, "first-extension", 20000, "extension number of the seeded user")
	fs.BoolVar(&cfg.cpuprofile, "cpuprofile", false, "write the server's CPU profile of the last step's measurement (cpu-streams-N.pprof under -out)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	for _, f := range strings.Split(streams, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || (len(cfg.streams) > 0 && n <= cfg.streams[len(cfg.streams)-1]) {
			return cfg, fmt.Errorf("-streams %q: want increasing positive numbers", streams)
		}
		cfg.streams = append(cfg.streams, n)
	}
	if cfg.rate <= 0 || cfg.rate > 100 {
		return cfg, errors.New("-rate must be in (0, 100]")
	}
	return cfg, nil
}

func run(ctx context.Context, cfg config) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	var debug *measure.Debug
	if cfg.server.URL == "" {
		addr, err := measure.FreeDebugAddr()
		if err != nil {
			return err
		}
		cfg.server.Args = append(cfg.server.Args, "--debug-addr", addr)
		debug = &measure.Debug{URL: "http://" + addr}
	}
	// One session holds every stream and device and issues the devices: a
	// browser session holds a few, so the server caps them (and its widget
	// requests, which the publisher's toggles at -rate also count against).
	cfg.server.Caps = target.Caps{StreamsPerSession: target.Raised, DevicesPerSession: target.Raised,
		WidgetRequests: target.Raised}
	srv, err := target.Start(ctx, cfg.server)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(os.Stderr, "ssefan: server %s (pid %d)\n", srv.URL, srv.PID)
	user := target.LoadUsers(cfg.firstExt, 1)
	if err := srv.Seed(ctx, user, 1); err != nil {
		return err
	}
	res := &Result{Run: measure.NewRun("ssefan", map[string]any{"rate_toggles_per_s": cfg.rate, "messages_per_toggle": 3, "duration_s": cfg.duration.Seconds(),
		"goal_p99_ms": cfg.goalP99.Milliseconds(), "goal_bytes_per_stream": cfg.goalPerCon})}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		res.FDLimitNote = fmt.Sprintf("RLIMIT_NOFILE %d (hard %d) for each of the server and this tool", lim.Cur, lim.Max)
	}

	// The listening tab: its session's cookie opens every stream.
	listener := widget.New(srv.URL, srv.DemoURL)
	sctx, scancel := context.WithTimeout(ctx, time.Minute)
	defer scancel()
	if err := listener.SignIn(sctx, user[0].Email, user[0].Password); err != nil {
		return err
	}
	u, _ := url.Parse(srv.URL)
	f := &fan{cfg: cfg, debug: debug, host: u.Host, addr: net.JoinHostPort("127.0.0.1", u.Port()), cookie: cookieHeader(listener.HTTP, u),
		clientID: listener.ClientID, listener: listener}

	// The publishing tab: a call to the echo line, whose mute it toggles.
	pub, err := newPublisher(ctx, srv, user[0])
	if err != nil {
		return fmt.Errorf("publisher: %w", err)
	}
	defer pub.close()

	time.Sleep(cfg.settle)
	if debug != nil {
		if f.baseVars, err = debug.Vars(ctx, true); err != nil {
			return err
		}
	}
	base, _ := measure.ReadProc(srv.PID)
	res.BaselineMB = mb(base.RSSBytes)

	streamCtx, stopStreams := context.WithCancel(ctx)
	defer func() {
		stopStreams()
		f.wg.Wait()
	}()
	for _, n := range cfg.streams {
		st, err := f.step(ctx, streamCtx, srv, pub, base, n)
		res.Steps = append(res.Steps, st)
		fmt.Fprintf(os.Stderr, "ssefan: %+v\n", st)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ssefan: step %d: %v\n", n, err)
			break
		}
	}
	md := markdown(res)
	fmt.Print(md + "\n")
	return measure.WriteResult(cfg.out, "sse", res, md)
}
