package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/target"
)

// counters are the current step's, swapped at each step.
type counters struct {
	delivered atomic.Uint64
	latency   *measure.Histogram
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
		go func() {
			profiled <- saveCPUProfile(ctx, f.debug, f.cfg.duration, f.cfg.out, "cpu-streams-"+strconv.Itoa(n)+".pprof")
		}()
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

// saveCPUProfile writes the server's CPU profile of the next d to name
// under out.
func saveCPUProfile(ctx context.Context, debug *measure.Debug, d time.Duration, out, name string) error {
	secs := max(int(d.Seconds()), 1)
	b, err := debug.Get(ctx, "/debug/pprof/profile?seconds="+strconv.Itoa(secs))
	if err != nil {
		return err
	}
	path, err := measure.OutPath(out, name)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
