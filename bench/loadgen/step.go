package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
)

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
