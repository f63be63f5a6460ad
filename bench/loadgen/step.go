package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/pprof"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/pace"
)

// measureStep runs one step's warm-up and measurement and fills in the
// figures common to both targets. debug, when not nil, is the server's
// debug listener, for its collector's CPU and its allocations.
func measureStep(ctx context.Context, cfg config, p *pace.Pacer, id int, pid, udpPort int, profile bool, debug *measure.Debug) (Step, error) {
	var st Step
	if err := p.Warm(ctx, cfg.warmup); err != nil {
		return st, err
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
	v0, verr := debugVars(ctx, debug)
	s0, _ := measure.ReadProc(pid)
	l0, _ := measure.ReadProc(self)
	d0, _ := measure.UDPDrops(udpPort)
	e0 := measure.UDPRcvbufErrors()
	stats := p.Count(ctx, id, cfg.duration)
	s1, _ := measure.ReadProc(pid)
	l1, _ := measure.ReadProc(self)
	v1, verr1 := debugVars(ctx, debug)
	st.Loadavg = measure.LoadAvg()
	time.Sleep(time.Second) // packets in flight still count for this step
	d1, _ := measure.UDPDrops(udpPort)
	st.ServerSocketDrops, st.RcvbufErrors = d1-d0, measure.UDPRcvbufErrors()-e0
	secs := s1.At.Sub(s0.At).Seconds()
	f := stats.Figures(secs)
	st.SentPPS, st.ReceivedPPS, st.LossPct = f.SentPPS, f.ReceivedPPS, f.LossPct
	st.Latency = stats.Latency.Summary()
	st.ServerCPUPct = measure.CPUPercent(s0, s1)
	st.ServerRSSMB = float64(s1.RSSBytes>>10) / 1024
	st.ServerRSSMB = float64(int(st.ServerRSSMB*10)) / 10
	st.ServerThreads = s1.Threads
	if pid != self {
		st.LoadgenCPUPct = measure.CPUPercent(l0, l1)
		st.ServerUsPerPacket = usPer(s1.CPU-s0.CPU, f.Received)
		st.LoadgenUsPerPacket = usPer(l1.CPU-l0.CPU, f.Received)
	}
	if verr == nil && verr1 == nil {
		gcs := v1.MemStats.NumGC - v0.MemStats.NumGC
		st.ServerGCs = &gcs
		if pct, ok := measure.GCShare(v0, v1); ok {
			st.ServerGCPct = &pct
		}
		if per, ok := measure.AllocsPer(v0, v1, f.Received); ok {
			st.ServerAllocsPerPacket = &per
		}
	}
	return st, ctx.Err()
}

// debugVars reads the server's /debug/vars, if it has a debug listener.
func debugVars(ctx context.Context, d *measure.Debug) (measure.DebugVars, error) {
	if d == nil {
		return measure.DebugVars{}, errors.New("no debug listener")
	}
	return d.Vars(ctx, false)
}

// usPer is cpu per packet in microseconds, to two decimals.
func usPer(cpu time.Duration, packets uint64) float64 {
	if packets == 0 {
		return 0
	}
	return math.Round(float64(cpu)/float64(time.Microsecond)/float64(packets)*100) / 100
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
	b, _ := json.Marshal(st)
	fmt.Fprintf(os.Stderr, "%s: %s\n", st.Target, b)
	if st.MeetsGoals {
		*r.max, *r.maxPPS = st.Calls, st.ReceivedPPS
		r.misses = 0
		return false
	}
	r.misses++
	return r.misses >= r.cfg.stopAfter
}
