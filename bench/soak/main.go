// Command soak runs a long mixed load against the widget server through its
// public surface and samples what a leak shows in: the server's goroutines,
// its live heap (after a forced collection), its RSS and its open files,
// before the load, throughout it and after it has stopped and settled.
//
// The load: users signing in and out as the widget does (popup flow over
// HTTP) and as a CRM server does (authorization code with PKCE, token,
// revocation); two-party calls between widget users and calls to the test
// numbers, with pion clients sending and receiving audio; platform API reads
// and presence changes; event streams that open and close; pager messages.
//
//	go run ./bench/soak -duration 20m
//
// It starts the server (built from ./cmd/widget-server, or -server-bin)
// with --debug-addr on loopback, or measures a running one (-url, -demo-url,
// -data-dir, -debug-url, -pid). It writes soak.json and soak.md under -out
// (and the server's goroutine and heap profiles before and after)
// and stops by itself: -duration bounds the load, -timeout the whole run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/callbridge/widget-server/bench/internal/command"
	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/target"
)

type config struct {
	server      target.Config
	debugURL    string
	pid         int
	duration    time.Duration
	sample      time.Duration
	settle      time.Duration
	timeout     time.Duration
	users       int
	firstNumber int
	pairs       int
	apiWorkers  int
	streams     int
	out         string
}

func main() { command.Main("soak", parseFlags, run) }

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	var cfg config
	cfg.server.AddFlags(fs)
	fs.StringVar(&cfg.debugURL, "debug-url", "", "with -url: the server's --debug-addr as http://127.0.0.1:PORT")
	fs.IntVar(&cfg.pid, "pid", 0, "with -url: the server's process id, for RSS and threads (default: not sampled)")
	fs.DurationVar(&cfg.duration, "duration", 90*time.Second, "how long the load runs (the recorded soak: 20m)")
	fs.DurationVar(&cfg.sample, "sample", 10*time.Second, "time between samples")
	fs.DurationVar(&cfg.settle, "settle", 100*time.Second, "wait after the load before the last sample (devices linger 15 s after their stream, the server's own idle connections 90 s)")
	fs.DurationVar(&cfg.timeout, "timeout", 0, "bound on the whole run (default: duration + 5m)")
	fs.IntVar(&cfg.users, "users", 10, "users seeded and shared by the workers")
	fs.IntVar(&cfg.firstNumber, "first-extension", 20000, "extension number of the first seeded user")
	fs.IntVar(&cfg.pairs, "pairs", 2, "caller/callee pairs calling each other and the test numbers")
	fs.IntVar(&cfg.apiWorkers, "api-workers", 2, "platform API clients reading and setting presence")
	fs.IntVar(&cfg.streams, "streams", 4, "event streams opening and closing")
	fs.StringVar(&cfg.out, "out", "", "directory for soak.json and soak.md (default: $TMPDIR/callbridge-bench)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.duration <= 0 || cfg.sample <= 0 || cfg.settle < 0 {
		return cfg, errors.New("-duration and -sample must be positive, -settle not negative")
	}
	if cfg.timeout == 0 {
		cfg.timeout = cfg.duration + cfg.settle + 5*time.Minute
	}
	if cfg.server.URL != "" && cfg.debugURL == "" {
		return cfg, errors.New("-url needs -debug-url: the server's goroutines and heap come from its --debug-addr")
	}
	if cfg.users < 2 || cfg.pairs < 1 {
		return cfg, errors.New("-users must be at least 2 and -pairs at least 1")
	}
	return cfg, nil
}

// Result is the whole run, as soak.json holds it.
type Result struct {
	measure.Run
	Samples []Sample   `json:"samples"`
	Ops     []OpResult `json:"operations"`
	Growth  []Growth   `json:"growth"`
	Loadavg string     `json:"loadavg_at_end"`
}

func run(ctx context.Context, cfg config) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	res := &Result{Run: measure.NewRun("soak", map[string]any{
		"duration_s": cfg.duration.Seconds(), "sample_s": cfg.sample.Seconds(), "settle_s": cfg.settle.Seconds(),
		"users": cfg.users, "pairs": cfg.pairs, "api_workers": cfg.apiWorkers, "streams": cfg.streams,
	})}
	// Fail before the run, not after it, if the results cannot be written.
	if _, err := measure.OutPath(cfg.out, "soak.json"); err != nil {
		return err
	}

	srv, debugURL, pid, err := startServer(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Printf("server %s (pid %d, debug %s)\n", srv.URL, pid, debugURL)
	users := target.LoadUsers(cfg.firstNumber, cfg.users)
	if err := srv.Seed(ctx, users, 2); err != nil {
		return fmt.Errorf("seed users: %w", err)
	}
	sampler := &sampler{debug: measure.Debug{URL: debugURL}, pid: pid, start: time.Now()}
	first, err := sampler.take(ctx, "start")
	if err != nil {
		return err
	}
	res.Samples = append(res.Samples, first)
	fmt.Println(first.line())
	if err := sampler.debug.SaveProfiles(ctx, cfg.out, "start"); err != nil {
		return err
	}

	ops := newOps()
	load := &loadRun{srv: srv, users: users, ops: ops, cfg: cfg}
	loadCtx, stopLoad := context.WithTimeout(ctx, cfg.duration)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		load.run(loadCtx)
	}()
	tick := time.NewTicker(cfg.sample)
	for sampling := true; sampling; {
		select {
		case <-loadCtx.Done():
			sampling = false
		case <-tick.C:
			s, err := sampler.take(ctx, "load")
			if err != nil {
				fmt.Fprintln(os.Stderr, "sample:", err)
				continue
			}
			res.Samples = append(res.Samples, s)
			fmt.Println(s.line(), ops.brief())
		}
	}
	tick.Stop()
	stopLoad()
	wg.Wait()
	load.closeIdle()
	fmt.Printf("load stopped; settling for %v\n", cfg.settle)
	select {
	case <-time.After(cfg.settle):
	case <-ctx.Done():
		return ctx.Err()
	}
	last, err := sampler.take(ctx, "end")
	if err != nil {
		return err
	}
	res.Samples = append(res.Samples, last)
	fmt.Println(last.line())
	if err := sampler.debug.SaveProfiles(ctx, cfg.out, "end"); err != nil {
		return err
	}

	res.Ops = ops.results()
	res.Growth = growth(res.Samples)
	res.Loadavg = measure.LoadAvg()
	return measure.WriteResult(cfg.out, "soak", res, markdown(res))
}

// startServer starts the server with a debug listener on a free loopback
// port, or finds the running one the flags name.
func startServer(ctx context.Context, cfg config) (*target.Server, string, int, error) {
	// Each stream tab asks for a new device every 0.7–8 s and a device is
	// kept 15 s after its stream: more than the default 10 a session may
	// hold. The messages tab sends a pager message a second, twice the
	// default 30 a minute.
	cfg.server.Caps = target.Caps{DevicesPerSession: target.Raised, SMS: target.Raised}
	if cfg.server.URL != "" {
		srv, err := target.Start(ctx, cfg.server)
		return srv, strings.TrimSuffix(cfg.debugURL, "/"), cfg.pid, err
	}
	debugAddr, err := measure.FreeDebugAddr()
	if err != nil {
		return nil, "", 0, err
	}
	sc := cfg.server
	sc.Args = append(sc.Args, "--debug-addr", debugAddr, "--api-rate-limit", "1000000/10s")
	srv, err := target.Start(ctx, sc)
	if err != nil {
		return nil, "", 0, err
	}
	return srv, "http://" + debugAddr, srv.PID, nil
}
