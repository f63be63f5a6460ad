package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/callbridge/widget-server/bench/internal/bounded"
	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/bench/internal/widget"
)

// user is one signed-in user of the users scenario: its session's cookie,
// a device per stream, and its presence change in flight.
type user struct {
	cookie  string
	devices []string
	busy    bool         // the status its last change set; the picker's alone
	sentAt  atomic.Int64 // when the change in flight was sent (Unix ns)
	pending atomic.Int32 // its streams that have yet to receive that change
}

// UsersResult is a run of the users scenario.
type UsersResult struct {
	measure.Run
	FDLimitNote    string  `json:"fd_limit,omitempty"`
	Users          int     `json:"users"`
	Streams        int     `json:"streams"`
	Open           int     `json:"open"`
	SeedSeconds    float64 `json:"seed_s"`    // seeding the users into a fresh data directory
	SignInSeconds  float64 `json:"sign_in_s"` // signing every user in and issuing its devices
	ConnectSeconds float64 `json:"connect_s"`
	ConnectFails   int     `json:"connect_failures,omitempty"`
	BaselineMB     float64 `json:"server_rss_before_streams_mb"` // users signed in, no stream open
	ServerRSSMB    float64 `json:"server_rss_mb"`
	BytesPerStream float64 `json:"server_bytes_per_stream"`
	HeapPerStream  float64 `json:"server_live_heap_bytes_per_stream,omitempty"`
	StackPerStream float64 `json:"server_stack_bytes_per_stream,omitempty"`
	GoroutinesPer  float64 `json:"server_goroutines_per_stream,omitempty"`
	ServerIdleCPU  float64 `json:"server_idle_cpu_pct"`

	Changes        int             `json:"changes"`         // presence changes the server accepted
	ChangeFailures int             `json:"change_failures"` // refused or failed requests
	ChangesPerSec  float64         `json:"changes_per_s"`
	Expected       uint64          `json:"expected"` // rc-adapter-syncPresence messages that should arrive
	Delivered      uint64          `json:"delivered"`
	DeliveredPct   float64         `json:"delivered_pct"`
	Reconnects     int64           `json:"reconnects"`
	Latency        measure.Summary `json:"delivery_latency"` // change request sent → line read on a stream of its user
	ServerCPUPct   float64         `json:"server_cpu_pct"`
	ServerThreads  int             `json:"server_threads"`
	ClientCPUPct   float64         `json:"client_cpu_pct"`
	ClientRSSMB    float64         `json:"client_rss_mb"`
	Loadavg        string          `json:"loadavg"`
	MeetsGoals     bool            `json:"meets_goals"`
}

// usersRun is the state of the users scenario.
type usersRun struct {
	cfg        config
	srv        *target.Server
	target     streamTarget
	users      []*user
	cur        atomic.Pointer[counters]
	expected   atomic.Uint64
	reconnects atomic.Int64
	open       atomic.Int64
	wg         sync.WaitGroup
}

// runUsers seeds cfg.users users, signs each in with a session of its own
// and a device per stream, opens their streams, and then changes the
// presence of random users, cfg.changes a second, for cfg.duration.
func runUsers(ctx context.Context, cfg config, srv *target.Server, debug *measure.Debug) error {
	res := &UsersResult{Run: measure.NewRun("ssefan", map[string]any{"scenario": "users", "users": cfg.users,
		"streams_per_user": fmt.Sprintf("%d-%d", cfg.perUserMin, cfg.perUserMax), "changes_per_s": cfg.changes,
		"duration_s": cfg.duration.Seconds(), "goal_p99_ms": cfg.goalP99.Milliseconds(), "goal_bytes_per_stream": cfg.goalPerCon}),
		Users: cfg.users}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		res.FDLimitNote = fmt.Sprintf("RLIMIT_NOFILE %d (hard %d) for each of the server and this tool", lim.Cur, lim.Max)
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.users), 1))
	r := &usersRun{cfg: cfg, srv: srv, users: make([]*user, cfg.users)}
	for i := range r.users {
		n := cfg.perUserMin + rng.IntN(cfg.perUserMax-cfg.perUserMin+1)
		r.users[i] = &user{devices: make([]string, n)}
		res.Streams += n
	}

	load := target.LoadUsers(cfg.firstExt, cfg.users)
	started := time.Now()
	if err := srv.Seed(ctx, load, 4); err != nil {
		return err
	}
	res.SeedSeconds = seconds(time.Since(started))
	fmt.Fprintf(os.Stderr, "ssefan: %d users seeded in %.1f s\n", cfg.users, res.SeedSeconds)
	started = time.Now()
	if err := r.signIn(ctx, load); err != nil {
		return err
	}
	res.SignInSeconds = seconds(time.Since(started))
	fmt.Fprintf(os.Stderr, "ssefan: %d users signed in, %d devices issued, in %.1f s\n", cfg.users, res.Streams, res.SignInSeconds)

	u, _ := url.Parse(srv.URL)
	r.target = streamTarget{addr: net.JoinHostPort("127.0.0.1", u.Port()), host: u.Host, clientID: widget.DemoApp}
	time.Sleep(cfg.settle)
	var baseVars measure.DebugVars
	if debug != nil {
		var err error
		if baseVars, err = debug.Vars(ctx, true); err != nil {
			return err
		}
	}
	base, _ := measure.ReadProc(srv.PID)
	res.BaselineMB = mb(base.RSSBytes)

	streamCtx, stopStreams := context.WithCancel(ctx)
	defer func() {
		stopStreams()
		r.wg.Wait()
	}()
	started = time.Now()
	res.ConnectFails = r.openAll(streamCtx)
	res.ConnectSeconds = seconds(time.Since(started))
	res.Open = int(r.open.Load())
	fmt.Fprintf(os.Stderr, "ssefan: %d of %d streams open in %.1f s\n", res.Open, res.Streams, res.ConnectSeconds)
	if res.ConnectFails > 0 {
		return r.finish(res, fmt.Errorf("%d streams failed to open", res.ConnectFails))
	}

	time.Sleep(cfg.settle)
	idle0, _ := measure.ReadProc(srv.PID)
	time.Sleep(time.Second)
	idle1, _ := measure.ReadProc(srv.PID)
	res.ServerIdleCPU = measure.CPUPercent(idle0, idle1)
	res.ServerRSSMB = mb(idle1.RSSBytes)
	if res.Open > 0 {
		res.BytesPerStream = float64(idle1.RSSBytes-base.RSSBytes) / float64(res.Open)
	}
	if debug != nil && res.Open > 0 {
		v, err := debug.Vars(ctx, true)
		if err != nil {
			return err
		}
		per := func(now, before uint64) float64 {
			return math.Round((float64(now) - float64(before)) / float64(res.Open))
		}
		res.HeapPerStream = per(v.MemStats.HeapAlloc, baseVars.MemStats.HeapAlloc)
		res.StackPerStream = per(v.MemStats.StackInuse, baseVars.MemStats.StackInuse)
		res.GoroutinesPer = float64(v.Goroutines-baseVars.Goroutines) / float64(res.Open)
		if err := debug.SaveProfiles(ctx, cfg.out, "users-"+strconv.Itoa(res.Open)); err != nil {
			return err
		}
	}

	c := &counters{latency: new(measure.Histogram)}
	r.cur.Store(c)
	rc0 := r.reconnects.Load()
	self := os.Getpid()
	s0, _ := measure.ReadProc(srv.PID)
	l0, _ := measure.ReadProc(self)
	profiled := make(chan error, 1)
	if debug != nil && cfg.cpuprofile {
		go func() {
			profiled <- saveCPUProfile(ctx, debug, cfg.duration, cfg.out, "cpu-users-"+strconv.Itoa(res.Open)+".pprof")
		}()
	} else {
		profiled <- nil
	}
	res.Changes, res.ChangeFailures = r.changeFor(ctx, rng)
	if perr := <-profiled; perr != nil {
		fmt.Fprintf(os.Stderr, "ssefan: cpu profile: %v\n", perr)
	}
	s1, _ := measure.ReadProc(srv.PID)
	l1, _ := measure.ReadProc(self)
	res.Loadavg = measure.LoadAvg()
	// Let the last changes arrive (bounded).
	deadline := time.Now().Add(5 * time.Second)
	for c.delivered.Load() < r.expected.Load() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	r.cur.Store(nil)
	res.ChangesPerSec = float64(int(float64(res.Changes)/cfg.duration.Seconds()*10)) / 10
	res.Expected, res.Delivered = r.expected.Load(), c.delivered.Load()
	if res.Expected > 0 {
		res.DeliveredPct = float64(int(float64(res.Delivered)/float64(res.Expected)*100000)) / 1000
	}
	res.Reconnects = r.reconnects.Load() - rc0
	res.Latency = c.latency.Summary()
	res.ServerCPUPct = measure.CPUPercent(s0, s1)
	res.ServerThreads = s1.Threads
	res.ClientCPUPct = measure.CPUPercent(l0, l1)
	res.ClientRSSMB = mb(l1.RSSBytes)
	res.MeetsGoals = res.Open == res.Streams && res.DeliveredPct >= 99.9 && res.Latency.P99ms < float64(cfg.goalP99.Milliseconds()) &&
		res.BytesPerStream <= float64(cfg.goalPerCon)
	return r.finish(res, nil)
}

// finish writes the result, and returns err.
func (r *usersRun) finish(res *UsersResult, err error) error {
	md := usersMarkdown(res)
	fmt.Print(md + "\n")
	if werr := measure.WriteResult(r.cfg.out, "sse-users", res, md); werr != nil {
		return errors.Join(err, werr)
	}
	return err
}

// signIn signs every user in with the widget's popup flow, each in a
// session of its own, and has the session issue a device per stream.
func (r *usersRun) signIn(ctx context.Context, load []target.User) error {
	var first error
	var once sync.Once
	var failed atomic.Bool
	var done atomic.Int64
	fail := func(err error) {
		once.Do(func() { first = err })
		failed.Store(true)
	}
	u, _ := url.Parse(r.srv.URL)
	bounded.Do(len(r.users), r.cfg.signInParallel, func(i int) {
		if ctx.Err() != nil || failed.Load() {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		w := widget.New(r.srv.URL, r.srv.DemoURL)
		defer w.HTTP.CloseIdleConnections() // its connections would hold descriptors the streams need
		if err := w.SignIn(sctx, load[i].Email, load[i].Password); err != nil {
			fail(fmt.Errorf("sign in %s: %w", load[i].Email, err))
			return
		}
		usr := r.users[i]
		for k := range usr.devices {
			d, err := w.NewDevice(sctx)
			if err != nil {
				fail(fmt.Errorf("device of %s: %w", load[i].Email, err))
				return
			}
			usr.devices[k] = d
		}
		usr.cookie = cookieHeader(w.HTTP, u)
		if n := done.Add(1); n%1000 == 0 {
			fmt.Fprintf(os.Stderr, "ssefan: %d users signed in\n", n)
		}
	})
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// openAll opens every stream of every user, cfg.parallel at a time, and
// returns how many failed to open.
func (r *usersRun) openAll(ctx context.Context) int {
	type stream struct {
		u      *user
		device string
	}
	var streams []stream
	for _, u := range r.users {
		for _, d := range u.devices {
			streams = append(streams, stream{u, d})
		}
	}
	var failures atomic.Int64
	bounded.Do(len(streams), r.cfg.parallel, func(i int) {
		if ctx.Err() != nil {
			return
		}
		s := streams[i]
		src := sourceAddr(i, r.cfg.perSource)
		body, err := dialStream(ctx, r.target, src, s.device, s.u.cookie)
		if err != nil {
			if failures.Add(1) == 1 {
				fmt.Fprintf(os.Stderr, "ssefan: stream %d: %v\n", i, err)
			}
			return
		}
		r.open.Add(1)
		r.wg.Add(1)
		go r.serve(ctx, s.u, src, s.device, body)
	})
	return int(failures.Load())
}

// serve reads a stream of u until ctx ends, reopening it with the same
// device (as EventSource does) when the server closes it.
func (r *usersRun) serve(ctx context.Context, u *user, src net.IP, device string, body io.ReadCloser) {
	defer r.wg.Done()
	for {
		r.read(u, body)
		body.Close()
		r.open.Add(-1)
		if ctx.Err() != nil {
			return
		}
		r.reconnects.Add(1)
		var err error
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second): // the server's retry advice
			}
			if body, err = dialStream(ctx, r.target, src, device, u.cookie); err == nil {
				break
			}
		}
		r.open.Add(1)
	}
}

var presenceKey = []byte(`"type":"rc-adapter-syncPresence"`)

// read counts the presence messages of one stream of u, each the arrival
// of u's change in flight on this stream, and their latency from the
// change's request.
func (r *usersRun) read(u *user, body io.Reader) {
	br := bufio.NewReaderSize(body, 2048)
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if err != nil {
			return
		}
		if !bytes.Contains(line, presenceKey) {
			continue
		}
		now := time.Now()
		for {
			p := u.pending.Load()
			if p <= 0 {
				break // not a change this tool made
			}
			if u.pending.CompareAndSwap(p, p-1) {
				if c := r.cur.Load(); c != nil {
					c.delivered.Add(1)
					c.latency.Add(now.Sub(time.Unix(0, u.sentAt.Load())))
				}
				break
			}
		}
	}
}

// presenceChange is one change for a worker to send.
type presenceChange struct {
	u      *user
	status string
}

// changeFor changes the presence of random users, cfg.changes a second,
// for cfg.duration: each to the status it does not have, so each change
// reaches every stream of its user. A user whose change is still in flight
// is not picked. It returns the changes the server took and those that
// were refused, failed or could not be made.
func (r *usersRun) changeFor(ctx context.Context, rng *rand.Rand) (changes, failures int) {
	client := widget.NewHTTPClient()
	client.Jar = nil // each request carries its user's cookie
	const workers = 32
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = workers
	defer client.CloseIdleConnections()
	tab := &widget.Client{Base: r.srv.URL, ClientID: widget.DemoApp}
	work := make(chan presenceChange, 4096)
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ch := range work {
				if r.sendChange(ctx, client, tab, ch) {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	// Paced by the clock, not by ticks, which a busy machine drops.
	const tick = 10 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	start := time.Now()
	end := time.After(r.cfg.duration)
	made := 0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-end:
			break loop
		case <-t.C:
		}
		for due := int(r.cfg.changes * time.Since(start).Seconds()); made < due; made++ {
			u := r.idleUser(rng)
			if u == nil {
				failed.Add(1) // every user tried has a change in flight
				continue
			}
			u.busy = !u.busy
			status := "Available"
			if u.busy {
				status = "Busy"
			}
			u.pending.Store(int32(len(u.devices)))
			u.sentAt.Store(time.Now().UnixNano())
			select {
			case work <- presenceChange{u, status}:
			default: // the workers are behind: the change is not made
				u.pending.Store(0)
				failed.Add(1)
			}
		}
	}
	close(work)
	wg.Wait()
	return int(ok.Load()), int(failed.Load())
}

// idleUser picks a random user with no change in flight, or nil after a
// few tries.
func (r *usersRun) idleUser(rng *rand.Rand) *user {
	for range 16 {
		if u := r.users[rng.IntN(len(r.users))]; u.pending.Load() == 0 {
			return u
		}
	}
	return nil
}

// sendChange sets u's status as its widget does (PUT /widget/presence).
func (r *usersRun) sendChange(ctx context.Context, client *http.Client, tab *widget.Client, ch presenceChange) bool {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, "PUT", r.srv.URL+"/widget/presence", strings.NewReader(`{"userStatus":"`+ch.status+`"}`))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	tab.SetHeaders(req.Header)
	req.Header.Set("Cookie", ch.u.cookie)
	resp, err := client.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("PUT /widget/presence: %d", resp.StatusCode)
		}
	}
	if err != nil {
		ch.u.pending.Store(0)
		return false
	}
	r.expected.Add(uint64(len(ch.u.devices)))
	return true
}

func seconds(d time.Duration) float64 { return float64(int(d.Seconds()*10)) / 10 }

func usersMarkdown(res *UsersResult) string {
	t := measure.Table{Header: []string{"users", "streams", "open", "changes/s", "delivered %", "p50 ms", "p99 ms", "max ms",
		"server RSS MB", "KB/stream", "live heap KB/stream", "stacks KB/stream", "server CPU % (idle)", "client CPU %", "loadavg", "goals"}}
	goal := "miss"
	if res.MeetsGoals {
		goal = "meets"
	}
	t.Add(res.Users, res.Streams, res.Open, res.ChangesPerSec, res.DeliveredPct, res.Latency.P50ms, res.Latency.P99ms, res.Latency.MaxMs,
		res.ServerRSSMB, kb(res.BytesPerStream), kb(res.HeapPerStream), kb(res.StackPerStream),
		fmt.Sprintf("%v (%v)", res.ServerCPUPct, res.ServerIdleCPU), res.ClientCPUPct, res.Loadavg, goal)
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s; load at start %s; %s\n\n", res.Machine, res.Machine.Loadavg, res.FDLimitNote)
	fmt.Fprintf(&b, "Users seeded in %.1f s, signed in with their devices in %.1f s, streams opened in %.1f s. "+
		"Server RSS with the users signed in, before any stream: %.1f MB. Latency: presence change request sent → "+
		"rc-adapter-syncPresence read on a stream of its user.\n\n", res.SeedSeconds, res.SignInSeconds, res.ConnectSeconds, res.BaselineMB)
	b.WriteString(t.String())
	return b.String()
}
