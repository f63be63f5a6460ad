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
//
// -scenario users measures the other shape of load: many users with a tab
// or two each (-users, -streams-per-user), each signed in with a session of
// its own, and presence changes spread over them (-changes a second, each
// to a random user) that only that user's streams receive. It writes
// sse-users.json and sse-users.md.
//
//	go run ./bench/ssefan -scenario users -users 10000 -streams-per-user 1-2 -changes 100 -duration 10s
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
	scenario   string
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

	// The users scenario.
	users          int
	perUserMin     int
	perUserMax     int
	changes        float64
	signInParallel int
}

func main() { command.Main("ssefan", parseFlags, run) }

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("ssefan", flag.ContinueOnError)
	var cfg config
	var streams, perUser string
	cfg.server.AddFlags(fs)
	fs.StringVar(&cfg.scenario, "scenario", "broadcast", "broadcast: one user's state changes to every stream; users: many users, each change to its own user's streams")
	fs.StringVar(&streams, "streams", "1000,5000,10000,15000,19500", "concurrent event streams, per step")
	fs.Float64Var(&cfg.rate, "rate", 1, "mute toggles per second (each is three messages to every stream)")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measurement time per step")
	fs.DurationVar(&cfg.settle, "settle", 3*time.Second, "idle time after a step's streams are open, before memory is read")
	fs.IntVar(&cfg.parallel, "connect-parallel", 64, "streams being opened at once")
	fs.IntVar(&cfg.perSource, "per-source", 2000, "streams per source address (127.0.0.2, .3, …)")
	fs.DurationVar(&cfg.timeout, "timeout", 15*time.Minute, "bound on the whole run")
	fs.StringVar(&cfg.out, "out", "", "directory for sse.json and sse.md (default: $TMPDIR/callbridge-bench)")
	fs.DurationVar(&cfg.goalP99, "goal-p99", 50*time.Millisecond, "goal: broadcast delivery p99 below this")
	fs.IntVar(&cfg.goalPerCon, "goal-bytes-per-stream", 30<<10, "goal: server memory per stream at most this")
	fs.IntVar(&cfg.firstExt, "first-extension", 20000, "extension number of the seeded user")
	fs.BoolVar(&cfg.cpuprofile, "cpuprofile", false, "write the server's CPU profile of the last step's measurement (cpu-streams-N.pprof under -out)")
	fs.IntVar(&cfg.users, "users", 10000, "users: signed-in users, extensions from -first-extension on")
	fs.StringVar(&perUser, "streams-per-user", "1-2", "users: streams of each user, N or MIN-MAX (drawn per user)")
	fs.Float64Var(&cfg.changes, "changes", 100, "users: presence changes per second, each of a random user")
	fs.IntVar(&cfg.signInParallel, "signin-parallel", 8, "users: users signing in at once (each sign-in is a bcrypt check on the server)")
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
	switch cfg.scenario {
	case "broadcast":
	case "users":
		lo, hi, ok := strings.Cut(perUser, "-")
		if !ok {
			hi = lo
		}
		var err1, err2 error
		cfg.perUserMin, err1 = strconv.Atoi(strings.TrimSpace(lo))
		cfg.perUserMax, err2 = strconv.Atoi(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil || cfg.perUserMin < 1 || cfg.perUserMax < cfg.perUserMin || cfg.perUserMax > 10 {
			return cfg, fmt.Errorf("-streams-per-user %q: want N or MIN-MAX, 1 to 10", perUser)
		}
		if cfg.users < 1 || cfg.users > 100_000 {
			return cfg, errors.New("-users must be in [1, 100000]")
		}
		if cfg.changes <= 0 || cfg.changes > 10_000 {
			return cfg, errors.New("-changes must be in (0, 10000]")
		}
		cfg.signInParallel = max(cfg.signInParallel, 1)
	default:
		return cfg, fmt.Errorf("-scenario %q: want broadcast or users", cfg.scenario)
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
	// Users with a tab or two each stay within every cap.
	if cfg.scenario == "broadcast" {
		cfg.server.Caps = target.Caps{StreamsPerSession: target.Raised, DevicesPerSession: target.Raised,
			WidgetRequests: target.Raised}
	}
	srv, err := target.Start(ctx, cfg.server)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(os.Stderr, "ssefan: server %s (pid %d)\n", srv.URL, srv.PID)
	if cfg.scenario == "users" {
		return runUsers(ctx, cfg, srv, debug)
	}
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
