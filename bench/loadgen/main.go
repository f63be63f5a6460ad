// Command loadgen measures the media gateway under load through the
// server's public surface only, and the bare UDP relay ceiling on the same
// machine in the same run.
//
// For each step of -calls it seeds users with the operator commands, signs
// them in over HTTP as the widget does, opens their event streams, and
// places two-party calls (POST /widget/calls, the callee's ring on its
// stream, POST /widget/calls/{id}/answer) with pion clients on loopback. Every
// leg sends 20 ms Opus-sized RTP (50 packets/s) carrying its send time and a
// counter; the other leg measures loss and one-way latency. Calls of earlier
// steps keep running. It then does the same with plain UDP sockets through
// bench/udprelay for each step of -relay-calls.
//
//	go run ./bench/loadgen -calls 50,100,200 -duration 10s -out /tmp/results
//
// It writes media.json and media.md under -out and stops by itself: every
// step is bounded, and -timeout bounds the whole run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/webrtc/v3"

	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/peer"
	"github.com/callbridge/widget-server/bench/internal/target"
)

type config struct {
	server        target.Config
	relayBin      string
	relayRcvbuf   int
	calls         []int
	relayCalls    []int
	duration      time.Duration
	warmup        time.Duration
	payload       int
	srtp          string
	shards        int
	setupParallel int
	seedParallel  int
	maxLossPct    float64
	maxP99        time.Duration
	stopAfter     int
	timeout       time.Duration
	out           string
	cpuprofile    string
	firstNumber   int
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	var cfg config
	var calls, relayCalls string
	cfg.server.AddFlags(fs)
	fs.BoolVar(&cfg.server.Embed, "embed", false, "run the server inside this process (for -cpuprofile)")
	fs.StringVar(&cfg.relayBin, "relay-bin", "", "a built udprelay (default: go build ./bench/udprelay)")
	fs.IntVar(&cfg.relayRcvbuf, "relay-rcvbuf", 0, "the relay's socket buffer, bytes (0: the kernel's default, as the gateway's socket has)")
	fs.StringVar(&calls, "calls", "50,100,150,200,300,400,500", "concurrent calls through the gateway, per step (empty: skip)")
	fs.StringVar(&relayCalls, "relay-calls", "500,1000,2000,3000,4000", "concurrent pairs through the bare relay, per step (empty: skip)")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measurement time per step")
	fs.DurationVar(&cfg.warmup, "warmup", 3*time.Second, "time before each measurement once the step's calls are up")
	fs.IntVar(&cfg.payload, "payload", 80, "RTP payload bytes (80: a 20 ms Opus frame at 32 kbit/s)")
	fs.StringVar(&cfg.srtp, "srtp", "default", "SRTP profiles the clients accept: default, gcm128, gcm256, cm")
	fs.IntVar(&cfg.shards, "shards", 2, "sending goroutines")
	fs.IntVar(&cfg.setupParallel, "setup-parallel", 4, "calls set up at once")
	fs.IntVar(&cfg.seedParallel, "seed-parallel", 2, "operator commands run at once when seeding")
	fs.Float64Var(&cfg.maxLossPct, "max-loss", 0.5, "goal: packet loss below this, percent")
	fs.DurationVar(&cfg.maxP99, "max-p99", 5*time.Millisecond, "goal: p99 one-way latency below this")
	fs.IntVar(&cfg.stopAfter, "stop-after-misses", 2, "stop ramping after this many steps in a row miss the goals")
	fs.DurationVar(&cfg.timeout, "timeout", 25*time.Minute, "bound on the whole run")
	fs.StringVar(&cfg.out, "out", "", "directory for media.json and media.md (default: $TMPDIR/callbridge-bench)")
	fs.StringVar(&cfg.cpuprofile, "cpuprofile", "", "with -embed: CPU profile of the last gateway step's measurement (server goroutines carry the label side=server)")
	fs.IntVar(&cfg.firstNumber, "first-extension", 10000, "extension number of the first seeded user")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	var err error
	if cfg.calls, err = intList(calls); err != nil {
		return cfg, fmt.Errorf("-calls: %w", err)
	}
	if cfg.relayCalls, err = intList(relayCalls); err != nil {
		return cfg, fmt.Errorf("-relay-calls: %w", err)
	}
	if _, ok := peer.SRTPProfiles[cfg.srtp]; !ok {
		return cfg, fmt.Errorf("-srtp %q: want default, gcm128, gcm256 or cm", cfg.srtp)
	}
	if cfg.cpuprofile != "" && !cfg.server.Embed {
		return cfg, errors.New("-cpuprofile needs -embed: the server has no profiling endpoint")
	}
	if cfg.duration <= 0 || cfg.duration > 10*time.Minute {
		return cfg, errors.New("-duration must be between 0 and 10m")
	}
	return cfg, nil
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, errors.New("steps must increase")
		}
		out = append(out, n)
	}
	return out, nil
}

// Step is one measured step.
type Step struct {
	Target        string          `json:"target"` // gateway or relay
	Calls         int             `json:"calls"`
	Established   int             `json:"established"`
	SetupSeconds  float64         `json:"setup_s,omitempty"`
	SentPPS       float64         `json:"sent_pps"`     // packets/s offered, both directions together
	ReceivedPPS   float64         `json:"received_pps"` // packets/s delivered
	LossPct       float64         `json:"loss_pct"`
	Latency       measure.Summary `json:"one_way_latency"`
	ServerCPUPct  float64         `json:"server_cpu_pct"` // percent of one core
	ServerRSSMB   float64         `json:"server_rss_mb"`
	ServerThreads int             `json:"server_threads"`
	LoadgenCPUPct float64         `json:"loadgen_cpu_pct"`
	// Packets the kernel dropped because a receive buffer was full: at the
	// gateway's (or relay's) socket, and on the whole machine.
	ServerSocketDrops uint64 `json:"server_socket_drops"`
	RcvbufErrors      uint64 `json:"udp_rcvbuf_errors"`
	Loadavg           string `json:"loadavg"`
	MeetsGoals        bool   `json:"meets_goals"`
	Note              string `json:"note,omitempty"`
}

// Result is the whole run.
type Result struct {
	Tool          string          `json:"tool"`
	Started       time.Time       `json:"started"`
	Machine       measure.Machine `json:"machine"`
	Settings      map[string]any  `json:"settings"`
	Steps         []Step          `json:"steps"`
	GatewayMax    int             `json:"gateway_max_calls"` // largest step meeting the goals
	RelayMax      int             `json:"relay_max_calls"`
	RatioOfRelay  float64         `json:"gateway_to_relay_ratio"`
	GatewayMaxPPS float64         `json:"gateway_max_pps"`
	RelayMaxPPS   float64         `json:"relay_max_pps"`
}

func run(ctx context.Context, cfg config) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	res := &Result{
		Tool: "loadgen", Started: time.Now(), Machine: measure.ThisMachine(runtime.Version()),
		Settings: map[string]any{
			"duration_s": cfg.duration.Seconds(), "warmup_s": cfg.warmup.Seconds(), "payload_bytes": cfg.payload, "relay_rcvbuf": cfg.relayRcvbuf,
			"packets_per_s_per_leg": 50, "srtp": cfg.srtp, "embedded_server": cfg.server.Embed,
			"goal_loss_pct": cfg.maxLossPct, "goal_p99_ms": float64(cfg.maxP99) / float64(time.Millisecond),
		},
	}
	// Fail before the run, not after it, if the results cannot be written.
	if _, err := measure.OutPath(cfg.out, "media.json"); err != nil {
		return err
	}
	if len(cfg.calls) > 0 {
		if err := runGateway(ctx, cfg, res); err != nil {
			return err
		}
	}
	if len(cfg.relayCalls) > 0 && ctx.Err() == nil {
		if err := runRelay(ctx, cfg, res); err != nil {
			return err
		}
	}
	if res.RelayMaxPPS > 0 {
		res.RatioOfRelay = float64(int(res.GatewayMaxPPS/res.RelayMaxPPS*1000)) / 1000
	}
	md := markdown(res)
	fmt.Print(md + "\n")
	return measure.WriteResult(cfg.out, "media", res, md)
}

func markdown(res *Result) string {
	t := measure.Table{Header: []string{"target", "calls", "established", "sent pkt/s", "loss %", "p50 ms", "p99 ms", "max ms",
		"server CPU %", "server RSS MB", "loadgen CPU %", "socket drops", "loadavg", "goals"}}
	for _, s := range res.Steps {
		goal := "miss"
		if s.MeetsGoals {
			goal = "meets"
		}
		t.Add(s.Target, s.Calls, s.Established, s.SentPPS, s.LossPct, s.Latency.P50ms, s.Latency.P99ms, s.Latency.MaxMs,
			s.ServerCPUPct, s.ServerRSSMB, s.LoadgenCPUPct, s.ServerSocketDrops, s.Loadavg, goal)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s, %d cores, %d MB, Linux %s, %s; load at start %s\n\n",
		res.Machine.CPU, res.Machine.Cores, res.Machine.MemoryMB, res.Machine.Kernel, res.Machine.Go, res.Machine.Loadavg)
	b.WriteString(t.String())
	fmt.Fprintf(&b, "\nLargest step meeting the goals: gateway %d calls (%.0f pkt/s), bare relay %d pairs (%.0f pkt/s); gateway/relay %.3f\n",
		res.GatewayMax, res.GatewayMaxPPS, res.RelayMax, res.RelayMaxPPS, res.RatioOfRelay)
	return b.String()
}

// measureStep runs one step's warm-up and measurement and fills in the
// figures common to both targets.
func measureStep(ctx context.Context, cfg config, sched *scheduler, id int, pid, udpPort int, profile bool) (Step, error) {
	var st Step
	sched.end()
	select {
	case <-ctx.Done():
		return st, ctx.Err()
	case <-time.After(cfg.warmup):
	}
	if profile {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			return st, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return st, err
		}
		defer pprof.StopCPUProfile()
	}
	self := os.Getpid()
	s0, _ := measure.ReadProc(pid)
	l0, _ := measure.ReadProc(self)
	d0, _ := measure.UDPDrops(udpPort)
	e0 := measure.UDPRcvbufErrors()
	stats := sched.begin(id)
	select {
	case <-ctx.Done():
	case <-time.After(cfg.duration):
	}
	sched.end()
	s1, _ := measure.ReadProc(pid)
	l1, _ := measure.ReadProc(self)
	st.Loadavg = measure.LoadAvg()
	time.Sleep(time.Second) // packets in flight still count for this step
	d1, _ := measure.UDPDrops(udpPort)
	st.ServerSocketDrops, st.RcvbufErrors = d1-d0, measure.UDPRcvbufErrors()-e0
	secs := s1.At.Sub(s0.At).Seconds()
	sent, recv := stats.sent.Load(), stats.recv.Load()
	st.SentPPS = float64(int(float64(sent) / secs))
	st.ReceivedPPS = float64(int(float64(recv) / secs))
	if sent > 0 {
		st.LossPct = float64(int((1-float64(recv)/float64(sent))*100000)) / 1000
		if st.LossPct < 0 {
			st.LossPct = 0
		}
	}
	st.Latency = stats.latency.Summary()
	st.ServerCPUPct = measure.CPUPercent(s0, s1)
	st.ServerRSSMB = float64(s1.RSSBytes>>10) / 1024
	st.ServerRSSMB = float64(int(st.ServerRSSMB*10)) / 10
	st.ServerThreads = s1.Threads
	if pid != self {
		st.LoadgenCPUPct = measure.CPUPercent(l0, l1)
	}
	return st, ctx.Err()
}

func (cfg config) meets(st Step) bool {
	return st.Established == st.Calls && st.LossPct < cfg.maxLossPct &&
		st.Latency.P99ms < float64(cfg.maxP99)/float64(time.Millisecond) && st.Latency.Count > 0
}

// ramp follows the steps of one target: it judges and records each, keeps
// the largest that meets the goals, and says when to stop ramping.
type ramp struct {
	cfg    config
	max    *int
	maxPPS *float64
	misses int
}

// record adds st to res and reports whether -stop-after-misses steps in a
// row have now missed the goals.
func (r *ramp) record(res *Result, st Step) (stop bool) {
	st.MeetsGoals = r.cfg.meets(st)
	res.Steps = append(res.Steps, st)
	fmt.Fprintf(os.Stderr, "%s: %+v\n", st.Target, st)
	if st.MeetsGoals {
		*r.max, *r.maxPPS = st.Calls, st.ReceivedPPS
		r.misses = 0
		return false
	}
	r.misses++
	return r.misses >= r.cfg.stopAfter
}

func runGateway(ctx context.Context, cfg config, res *Result) error {
	srv, err := target.Start(ctx, cfg.server)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(os.Stderr, "gateway: server %s (pid %d, embedded %v), data %s\n", srv.URL, srv.PID, srv.Embedded, srv.DataDir)
	sched := newScheduler(cfg.shards, cfg.payload)
	sctx, stopSending := context.WithCancel(ctx)
	var sending sync.WaitGroup
	sending.Add(1)
	go func() {
		defer sending.Done()
		sched.run(sctx)
	}()
	profiles := peer.SRTPProfiles[cfg.srtp]
	var calls []*call
	var peers []*tab
	defer func() {
		stopSending()
		sending.Wait()
		closeAll(calls)
	}()
	r, mediaPort := ramp{cfg: cfg, max: &res.GatewayMax, maxPPS: &res.GatewayMaxPPS}, 0
	for i, n := range cfg.calls {
		started := time.Now()
		users := target.LoadUsers(cfg.firstNumber, 2*n)
		if err := srv.Seed(ctx, users, cfg.seedParallel); err != nil {
			return err
		}
		var err error
		peers, err = signInAll(ctx, srv, users, peers, cfg.setupParallel)
		if err != nil {
			return err
		}
		calls, err = placeAll(ctx, peers, calls, n, profiles, sched, cfg.setupParallel)
		note := ""
		if err != nil {
			note = err.Error()
			fmt.Fprintf(os.Stderr, "gateway: step %d: %v\n", n, err)
		}
		setup := time.Since(started)
		fmt.Fprintf(os.Stderr, "gateway: %d calls up in %s; measuring\n", len(calls), setup.Round(time.Second))
		if mediaPort == 0 && len(calls) > 0 {
			mediaPort = answerPort(calls[0].caller.PC().RemoteDescription())
		}
		st, err := measureStep(ctx, cfg, sched, len(res.Steps)+1, srv.PID, mediaPort, cfg.cpuprofile != "" && i == len(cfg.calls)-1)
		st.Target, st.Calls, st.Note = "gateway", n, note
		st.SetupSeconds = float64(int(setup.Seconds()*10)) / 10
		for _, c := range calls {
			if c.established() {
				st.Established++
			}
		}
		if srv.Embedded {
			st.Note = strings.TrimSpace(st.Note + " server embedded: CPU and RSS are the whole process")
		}
		if stop := r.record(res, st); stop || err != nil {
			return err
		}
	}
	return nil
}

// signInAll signs in the users that have no peer yet, parallel at a time.
func signInAll(ctx context.Context, srv *target.Server, users []target.User, have []*tab, parallel int) ([]*tab, error) {
	out := append([]*tab(nil), have...)
	out = append(out, make([]*tab, len(users)-len(have))...)
	errc := make(chan error, len(users))
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i := len(have); i < len(users); i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p, err := signIn(ctx, srv, users[i])
			if err != nil {
				errc <- fmt.Errorf("sign in %s: %w", users[i].Email, err)
				return
			}
			out[i] = p
		}()
	}
	wg.Wait()
	close(errc)
	return out, <-errc
}

// placeAll places calls until there are n: call k is from peer 2k to 2k+1.
func placeAll(ctx context.Context, peers []*tab, calls []*call, n int, profiles []dtls.SRTPProtectionProfile, sched *scheduler, parallel int) ([]*call, error) {
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for k := len(calls); k < n; k++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := placeCall(ctx, peers[2*k], peers[2*k+1], profiles, sched)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("call %d: %w", k, err)
				}
				return
			}
			calls = append(calls, c)
			sched.add(legSender{c.caller})
			sched.add(legSender{c.callee})
		}()
	}
	wg.Wait()
	return calls, firstErr
}

func closeAll(calls []*call) {
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c.caller.Close()
			c.callee.Close()
		}()
	}
	wg.Wait()
}

func runRelay(ctx context.Context, cfg config, res *Result) error {
	relay, err := startRelay(ctx, cfg.relayBin, cfg.relayRcvbuf)
	if err != nil {
		return err
	}
	defer relay.close()
	fmt.Fprintf(os.Stderr, "relay: %s (pid %d)\n", relay.addr, relay.pid)
	sched := newScheduler(cfg.shards, cfg.payload)
	sctx, stopSending := context.WithCancel(ctx)
	var sending sync.WaitGroup
	sending.Add(1)
	go func() {
		defer sending.Done()
		sched.run(sctx)
	}()
	var legs []*relayLeg
	defer func() {
		stopSending()
		sending.Wait()
		for _, l := range legs {
			l.close()
		}
	}()
	r := ramp{cfg: cfg, max: &res.RelayMax, maxPPS: &res.RelayMaxPPS}
	for _, n := range cfg.relayCalls {
		started := time.Now()
		for k := len(legs) / 2; k < n; k++ {
			a, err := newRelayLeg(ctx, relay.addr, uint32(k), 0, sched)
			if err != nil {
				return err
			}
			b, err := newRelayLeg(ctx, relay.addr, uint32(k), 1, sched)
			if err != nil {
				a.close()
				return err
			}
			legs = append(legs, a, b)
			sched.add(a)
			sched.add(b)
		}
		setup := time.Since(started)
		st, err := measureStep(ctx, cfg, sched, len(res.Steps)+1, relay.pid, relay.addr.Port, false)
		st.Target, st.Calls = "relay", n
		st.SetupSeconds = float64(int(setup.Seconds()*10)) / 10
		for i := 0; i+1 < len(legs); i += 2 {
			if legs[i].got.Load() && legs[i+1].got.Load() {
				st.Established++
			}
		}
		if stop := r.record(res, st); stop || err != nil {
			return err
		}
	}
	return nil
}

// answerPort is the port of the gateway's host candidate in its answer.
func answerPort(sd *webrtc.SessionDescription) int {
	if sd == nil {
		return 0
	}
	for line := range strings.Lines(sd.SDP) {
		if f := strings.Fields(line); len(f) >= 8 && strings.HasPrefix(f[0], "a=candidate") && strings.EqualFold(f[2], "udp") {
			if p, err := strconv.Atoi(f[5]); err == nil {
				return p
			}
		}
	}
	return 0
}
