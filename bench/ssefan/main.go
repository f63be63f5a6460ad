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
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/peer"
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

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "ssefan:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "ssefan:", err)
		os.Exit(1)
	}
}

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

// Step is one measured step.
type Step struct {
	Streams         int             `json:"streams"`
	Open            int             `json:"open"`
	DevicesSeconds  float64         `json:"devices_issued_s"` // issuing the step's new devices, before its streams open
	ConnectSeconds  float64         `json:"connect_s"`
	Toggles         int             `json:"toggles"`
	MessagesPerSec  float64         `json:"broadcast_messages_per_s"` // messages published per second (each to every stream)
	Expected        uint64          `json:"expected"`                 // telephony-session messages that should arrive
	Delivered       uint64          `json:"delivered"`
	Reconnects      int64           `json:"reconnects"`
	Latency         measure.Summary `json:"delivery_latency"`
	ServerRSSMB     float64         `json:"server_rss_mb"`
	BytesPerStream  float64         `json:"server_bytes_per_stream"`
	ServerCPUPct    float64         `json:"server_cpu_pct"`
	ServerIdleCPU   float64         `json:"server_idle_cpu_pct"`
	ServerThreads   int             `json:"server_threads"`
	ClientCPUPct    float64         `json:"client_cpu_pct"`
	ClientRSSMB     float64         `json:"client_rss_mb"`
	Loadavg         string          `json:"loadavg"`
	MeetsGoals      bool            `json:"meets_goals"`
	DeliveredPct    float64         `json:"delivered_pct"`
	ConnectFailures int             `json:"connect_failures,omitempty"`
	// From the server's debug listener, after a collection (when this tool
	// started the server): growth over the state before any stream, per stream.
	HeapPerStream  float64 `json:"server_live_heap_bytes_per_stream,omitempty"`
	StackPerStream float64 `json:"server_stack_bytes_per_stream,omitempty"`
	GoroutinesPer  float64 `json:"server_goroutines_per_stream,omitempty"`
}

// Result is the whole run.
type Result struct {
	Tool        string          `json:"tool"`
	Started     time.Time       `json:"started"`
	Machine     measure.Machine `json:"machine"`
	Settings    map[string]any  `json:"settings"`
	BaselineMB  float64         `json:"server_rss_before_streams_mb"`
	Steps       []Step          `json:"steps"`
	FDLimitNote string          `json:"fd_limit,omitempty"`
}

// counters are the current step's, swapped at each step.
type counters struct {
	delivered atomic.Uint64
	latency   *measure.Histogram
}

type fan struct {
	cfg        config
	debug      *measure.Debug    // the server's debug listener, when this tool started it
	baseVars   measure.DebugVars // its variables before any stream
	addr       string            // server's host:port
	host       string            // Host header
	cookie     string
	clientID   string
	listener   *widget.Client // the session every stream belongs to
	devices    []string       // device of stream i; grown by step only
	cur        atomic.Pointer[counters]
	reconnects atomic.Int64
	open       atomic.Int64
	next       atomic.Int64
	wg         sync.WaitGroup
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
	res := &Result{Tool: "ssefan", Started: time.Now(), Machine: measure.ThisMachine(runtime.Version()),
		Settings: map[string]any{"rate_toggles_per_s": cfg.rate, "messages_per_toggle": 3, "duration_s": cfg.duration.Seconds(),
			"goal_p99_ms": cfg.goalP99.Milliseconds(), "goal_bytes_per_stream": cfg.goalPerCon}}
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

func kb(b float64) float64 { return float64(int(b/1024*10)) / 10 }

func mb(b int64) float64 { return float64(int(float64(b)/(1<<20)*10)) / 10 }

func markdown(res *Result) string {
	t := measure.Table{Header: []string{"streams", "open", "msgs/s broadcast", "delivered %", "p50 ms", "p99 ms", "max ms",
		"server RSS MB", "KB/stream", "live heap KB/stream", "stacks KB/stream", "goroutines/stream",
		"server CPU % (idle)", "client CPU %", "loadavg", "goals"}}
	for _, s := range res.Steps {
		goal := "miss"
		if s.MeetsGoals {
			goal = "meets"
		}
		t.Add(s.Streams, s.Open, s.MessagesPerSec, s.DeliveredPct, s.Latency.P50ms, s.Latency.P99ms, s.Latency.MaxMs,
			s.ServerRSSMB, kb(s.BytesPerStream), kb(s.HeapPerStream), kb(s.StackPerStream), s.GoroutinesPer, fmt.Sprintf("%v (%v)", s.ServerCPUPct, s.ServerIdleCPU),
			s.ClientCPUPct, s.Loadavg, goal)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s, %d cores, %d MB, Linux %s, %s; load at start %s; %s\n\n",
		res.Machine.CPU, res.Machine.Cores, res.Machine.MemoryMB, res.Machine.Kernel, res.Machine.Go, res.Machine.Loadavg, res.FDLimitNote)
	fmt.Fprintf(&b, "Server RSS before any stream: %.1f MB.\n\n", res.BaselineMB)
	b.WriteString(t.String())
	return b.String()
}

// step opens streams up to n, lets them settle, then publishes for the
// measurement time.
func (f *fan) step(ctx, streamCtx context.Context, srv *target.Server, pub *publisher, base measure.Proc, n int) (Step, error) {
	st := Step{Streams: n}
	issued := time.Now()
	if err := f.issueDevices(ctx, n); err != nil {
		return st, err
	}
	st.DevicesSeconds = float64(int(time.Since(issued).Seconds()*10)) / 10
	started := time.Now()
	failures, err := f.openUpTo(streamCtx, n)
	st.ConnectFailures = failures
	st.ConnectSeconds = float64(int(time.Since(started).Seconds()*10)) / 10
	st.Open = int(f.open.Load())
	if err != nil {
		return st, err
	}
	time.Sleep(f.cfg.settle)
	idle0, _ := measure.ReadProc(srv.PID)
	time.Sleep(time.Second)
	idle1, _ := measure.ReadProc(srv.PID)
	st.ServerIdleCPU = measure.CPUPercent(idle0, idle1)
	st.ServerRSSMB = mb(idle1.RSSBytes)
	if st.Open > 0 {
		st.BytesPerStream = float64(idle1.RSSBytes-base.RSSBytes) / float64(st.Open)
	}
	if f.debug != nil && st.Open > 0 {
		// Where the memory is: live heap and goroutine stacks, after a
		// collection; and the profiles, to be read with go tool pprof.
		v, err := f.debug.Vars(ctx, true)
		if err != nil {
			return st, err
		}
		per := func(now, before uint64) float64 {
			return math.Round((float64(now) - float64(before)) / float64(st.Open))
		}
		st.HeapPerStream = per(v.MemStats.HeapAlloc, f.baseVars.MemStats.HeapAlloc)
		st.StackPerStream = per(v.MemStats.StackInuse, f.baseVars.MemStats.StackInuse)
		st.GoroutinesPer = float64(v.Goroutines-f.baseVars.Goroutines) / float64(st.Open)
		if err := f.debug.SaveProfiles(ctx, f.cfg.out, "streams-"+strconv.Itoa(n)); err != nil {
			return st, err
		}
	}

	c := &counters{latency: new(measure.Histogram)}
	f.cur.Store(c)
	rc0 := f.reconnects.Load()
	self := os.Getpid()
	s0, _ := measure.ReadProc(srv.PID)
	l0, _ := measure.ReadProc(self)
	profiled := make(chan error, 1)
	if f.debug != nil && f.cfg.cpuprofile && n == f.cfg.streams[len(f.cfg.streams)-1] {
		go func() { profiled <- f.saveCPUProfile(ctx, n) }()
	} else {
		profiled <- nil
	}
	toggles, err := pub.toggleFor(ctx, f.cfg.rate, f.cfg.duration)
	if perr := <-profiled; perr != nil {
		fmt.Fprintf(os.Stderr, "ssefan: cpu profile: %v\n", perr)
	}
	s1, _ := measure.ReadProc(srv.PID)
	l1, _ := measure.ReadProc(self)
	st.Loadavg = measure.LoadAvg()
	// Let the last broadcast arrive everywhere (bounded).
	deadline := time.Now().Add(5 * time.Second)
	want := uint64(toggles) * uint64(st.Open)
	for c.delivered.Load() < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	f.cur.Store(nil)
	st.Toggles = toggles
	st.MessagesPerSec = float64(int(float64(3*toggles)/f.cfg.duration.Seconds()*10)) / 10
	st.Expected, st.Delivered = want, c.delivered.Load()
	if want > 0 {
		st.DeliveredPct = float64(int(float64(st.Delivered)/float64(want)*100000)) / 1000
	}
	st.Reconnects = f.reconnects.Load() - rc0
	st.Latency = c.latency.Summary()
	st.ServerCPUPct = measure.CPUPercent(s0, s1)
	st.ServerThreads = s1.Threads
	st.ClientCPUPct = measure.CPUPercent(l0, l1)
	st.ClientRSSMB = mb(l1.RSSBytes)
	st.MeetsGoals = st.Open == n && st.DeliveredPct >= 99.9 && st.Latency.P99ms < float64(f.cfg.goalP99.Milliseconds()) &&
		st.BytesPerStream <= float64(f.cfg.goalPerCon)
	return st, err
}

// saveCPUProfile writes the server's CPU profile of the measurement time
// (cpu-streams-N.pprof under -out).
func (f *fan) saveCPUProfile(ctx context.Context, n int) error {
	secs := max(int(f.cfg.duration.Seconds()), 1)
	b, err := f.debug.Get(ctx, "/debug/pprof/profile?seconds="+strconv.Itoa(secs))
	if err != nil {
		return err
	}
	out, err := measure.OutPath(f.cfg.out, "cpu-streams-"+strconv.Itoa(n)+".pprof")
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}

// issueDevices has the listening session issue devices until there is one
// for each of n streams, as each widget tab asks for its own: a few
// requests at a time, over the session's kept-alive connections.
func (f *fan) issueDevices(ctx context.Context, n int) error {
	from := len(f.devices)
	if n <= from {
		return nil
	}
	f.devices = append(f.devices, make([]string, n-from)...)
	const parallel = 4
	next := atomic.Int64{}
	next.Store(int64(from))
	errc := make(chan error, parallel)
	for range parallel {
		go func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					errc <- nil
					return
				}
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				d, err := f.listener.NewDevice(rctx)
				cancel()
				if err != nil {
					next.Store(int64(n)) // the others stop too
					errc <- fmt.Errorf("device for stream %d: %w", i, err)
					return
				}
				f.devices[i] = d
			}
		}()
	}
	var first error
	for range parallel {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// openUpTo opens streams until n are open, parallel at a time.
func (f *fan) openUpTo(ctx context.Context, n int) (int, error) {
	sem := make(chan struct{}, max(f.cfg.parallel, 1))
	var failures atomic.Int64
	var wg sync.WaitGroup
	for int(f.next.Load()) < n {
		i := int(f.next.Add(1) - 1)
		if ctx.Err() != nil {
			break
		}
		device := f.devices[i]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			body, err := f.connect(ctx, i, device)
			if err != nil {
				if failures.Add(1) == 1 {
					fmt.Fprintf(os.Stderr, "ssefan: stream %d: %v\n", i, err)
				}
				return
			}
			f.open.Add(1)
			f.wg.Add(1)
			go f.serve(ctx, i, device, body)
		}()
	}
	wg.Wait()
	if n := failures.Load(); n > 0 {
		return int(n), fmt.Errorf("%d streams failed to open", n)
	}
	return 0, ctx.Err()
}

// connect opens stream i, of device, from its source address and returns
// its body once the server has answered.
func (f *fan) connect(ctx context.Context, i int, device string) (io.ReadCloser, error) {
	src := net.IPv4(127, 0, byte((2+i/f.cfg.perSource)>>8), byte(2+i/f.cfg.perSource))
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", f.addr)
	if err != nil {
		return nil, err
	}
	q := url.Values{"clientId": {f.clientID}, "deviceId": {device}}
	req := "GET /widget/events?" + q.Encode() + " HTTP/1.1\r\nHost: " + f.host +
		"\r\nAccept: text/event-stream\r\nCookie: " + f.cookie + "\r\n\r\n"
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(conn, 1024)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		conn.Close()
		return nil, fmt.Errorf("status %d %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	_ = conn.SetDeadline(time.Time{})
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	return struct {
		io.Reader
		io.Closer
	}{resp.Body, conn}, nil
}

var eventTimeKey = []byte(`"eventTime":"`)

// serve reads stream i until ctx ends, reopening it with the same device
// (as EventSource does) when the server closes it.
func (f *fan) serve(ctx context.Context, i int, device string, body io.ReadCloser) {
	defer f.wg.Done()
	for {
		f.read(body)
		body.Close()
		f.open.Add(-1)
		if ctx.Err() != nil {
			return
		}
		f.reconnects.Add(1)
		var err error
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second): // the server's retry advice
			}
			if body, err = f.connect(ctx, i, device); err == nil {
				break
			}
		}
		f.open.Add(1)
	}
}

// read counts the telephony-session messages of one stream and their
// delivery latency. It parses only the eventTime field: parsing every
// message fully at this fan-out would cost the server its CPU.
func (f *fan) read(body io.Reader) {
	br := bufio.NewReaderSize(body, 2048)
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A long line: only its start matters.
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if err != nil {
			return
		}
		now := time.Now()
		k := bytes.Index(line, eventTimeKey)
		if k < 0 {
			continue
		}
		rest := line[k+len(eventTimeKey):]
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, string(rest[:end]))
		if err != nil {
			continue
		}
		if c := f.cur.Load(); c != nil {
			c.delivered.Add(1)
			c.latency.Add(now.Sub(at))
		}
	}
}

func cookieHeader(c *http.Client, u *url.URL) string {
	var parts []string
	for _, ck := range c.Jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; ")
}

// publisher is the tab whose call state changes are broadcast.
type publisher struct {
	w      *widget.Client
	device string
	callID string
	leg    *peer.Leg
	muted  bool
}

func newPublisher(ctx context.Context, srv *target.Server, u target.User) (*publisher, error) {
	p := &publisher{w: widget.New(srv.URL, srv.DemoURL)}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.w.SignIn(sctx, u.Email, u.Password); err != nil {
		return nil, err
	}
	var err error
	if p.device, err = p.w.NewDevice(sctx); err != nil {
		return nil, err
	}
	connected := make(chan struct{})
	var once sync.Once
	if _, err := p.w.Events(ctx, p.device, func(ev widget.Event) {
		if ev.Type == "rc-active-call-notify" && ev.Call.TelephonyStatus == "CallConnected" {
			once.Do(func() { close(connected) })
		}
	}); err != nil {
		return nil, err
	}
	leg, offer, err := peer.New(nil, nil)
	if err != nil {
		return nil, err
	}
	p.leg = leg
	call, answer, err := p.w.Dial(sctx, p.device, "+15550101", offer)
	if err != nil {
		leg.Close()
		return nil, err
	}
	p.callID = call.ID
	if err := leg.Answer(sctx, answer); err != nil {
		leg.Close()
		return nil, err
	}
	select {
	case <-connected:
	case <-sctx.Done():
		leg.Close()
		return nil, errors.New("the echo line did not answer")
	}
	return p, nil
}

// toggleFor toggles mute rate times a second for d and returns how many
// toggles the server accepted.
func (p *publisher) toggleFor(ctx context.Context, rate float64, d time.Duration) (int, error) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	end := time.After(d)
	n := 0
	for {
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case <-end:
			return n, nil
		case <-tick.C:
		}
		action := "mute"
		if p.muted {
			action = "unmute"
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := p.w.Control(cctx, p.device, p.callID, action)
		cancel()
		if err != nil {
			return n, err
		}
		p.muted = !p.muted
		n++
	}
}

func (p *publisher) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.w.Control(ctx, p.device, p.callID, "hangup")
	p.leg.Close()
}
