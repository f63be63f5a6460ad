package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
)

// Sample is the server's state at one moment.
type Sample struct {
	Phase      string  `json:"phase"` // start, load or end
	ElapsedS   float64 `json:"elapsed_s"`
	Goroutines int     `json:"goroutines"`
	HeapMB     float64 `json:"heap_live_mb"` // HeapAlloc right after a forced collection
	HeapSysMB  float64 `json:"heap_sys_mb"`
	RSSMB      float64 `json:"rss_mb,omitempty"`
	OpenFiles  int     `json:"open_files"`
	Threads    int     `json:"threads,omitempty"`
	NumGC      uint32  `json:"num_gc"`
	CPUPct     float64 `json:"cpu_pct,omitempty"` // since the previous sample, percent of one core
	Loadavg    string  `json:"loadavg"`
}

func (s Sample) line() string {
	return fmt.Sprintf("%6.0fs %-5s goroutines %5d  heap %6.1f MB  rss %6.1f MB  files %4d  cpu %5.1f%%  load %s",
		s.ElapsedS, s.Phase, s.Goroutines, s.HeapMB, s.RSSMB, s.OpenFiles, s.CPUPct, s.Loadavg)
}

// sampler reads the server's debug listener (its variables, after a
// collection) and its /proc entry.
type sampler struct {
	debug measure.Debug
	pid   int
	start time.Time
	prev  *measure.Proc
}

func (s *sampler) take(ctx context.Context, phase string) (Sample, error) {
	out := Sample{Phase: phase, ElapsedS: math.Round(time.Since(s.start).Seconds()), Loadavg: measure.LoadAvg()}
	vars, err := s.debug.Vars(ctx, true)
	if err != nil {
		return out, err
	}
	out.Goroutines, out.OpenFiles, out.NumGC = vars.Goroutines, vars.OpenFiles, vars.MemStats.NumGC
	out.HeapMB = mb(vars.MemStats.HeapAlloc)
	out.HeapSysMB = mb(vars.MemStats.HeapSys)
	if s.pid > 0 {
		p, err := measure.ReadProc(s.pid)
		if err != nil {
			return out, err
		}
		out.RSSMB = mb(uint64(p.RSSBytes))
		out.Threads = p.Threads
		if s.prev != nil {
			out.CPUPct = measure.CPUPercent(*s.prev, p)
		}
		s.prev = &p
		if fds, err := os.ReadDir("/proc/" + strconv.Itoa(s.pid) + "/fd"); err == nil {
			out.OpenFiles = len(fds)
		}
	}
	return out, nil
}

func mb(b uint64) float64 { return math.Round(float64(b)/(1<<20)*10) / 10 }

// Growth compares one figure at the end with the start, and gives its trend
// during the second half of the load (least squares, per 10 minutes): a
// leak grows steadily while the load runs and stays grown after it.
type Growth struct {
	Metric      string  `json:"metric"`
	Start       float64 `json:"start"`
	LoadMin     float64 `json:"load_min"`
	LoadMax     float64 `json:"load_max"`
	End         float64 `json:"end"`
	EndMinStart float64 `json:"end_minus_start"`
	TrendPer10m float64 `json:"second_half_trend_per_10m"`
}

func growth(samples []Sample) []Growth {
	metrics := []struct {
		name string
		get  func(Sample) float64
	}{
		{"goroutines", func(s Sample) float64 { return float64(s.Goroutines) }},
		{"heap_live_mb", func(s Sample) float64 { return s.HeapMB }},
		{"rss_mb", func(s Sample) float64 { return s.RSSMB }},
		{"open_files", func(s Sample) float64 { return float64(s.OpenFiles) }},
		{"threads", func(s Sample) float64 { return float64(s.Threads) }},
	}
	var load []Sample
	for _, s := range samples {
		if s.Phase == "load" {
			load = append(load, s)
		}
	}
	var out []Growth
	for _, m := range metrics {
		g := Growth{Metric: m.name, LoadMin: math.Inf(1), LoadMax: math.Inf(-1)}
		if len(samples) > 0 {
			g.Start, g.End = m.get(samples[0]), m.get(samples[len(samples)-1])
		}
		for _, s := range load {
			g.LoadMin, g.LoadMax = math.Min(g.LoadMin, m.get(s)), math.Max(g.LoadMax, m.get(s))
		}
		if len(load) == 0 {
			g.LoadMin, g.LoadMax = 0, 0
		}
		g.EndMinStart = round(g.End - g.Start)
		g.TrendPer10m = round(slope(load[len(load)/2:], m.get) * 600)
		out = append(out, g)
	}
	return out
}

// slope is the least-squares slope of a figure over elapsed seconds.
func slope(samples []Sample, get func(Sample) float64) float64 {
	n := float64(len(samples))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for _, s := range samples {
		x, y := s.ElapsedS, get(s)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

func round(v float64) float64 { return math.Round(v*100) / 100 }

// markdown renders the result: settings, growth, operations, and the
// samples (one a minute while the load runs).
func markdown(r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Soak, %s\n\n", r.Started.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "Machine: %s; load average at start %s, at end %s.\n\n", r.Machine, r.Machine.Loadavg, r.Loadavg)
	fmt.Fprintf(&b, "Settings: %v\n\n", r.Settings)

	g := measure.Table{Header: []string{"figure", "start", "load min", "load max", "end", "end − start", "trend in 2nd half of load, per 10 min"}}
	for _, x := range r.Growth {
		g.Add(x.Metric, x.Start, x.LoadMin, x.LoadMax, x.End, x.EndMinStart, x.TrendPer10m)
	}
	b.WriteString("## Growth\n\n" + g.String() + "\n")

	o := measure.Table{Header: []string{"operation", "ok", "failed", "last error"}}
	for _, x := range r.Ops {
		o.Add(x.Name, x.OK, x.Failed, strings.ReplaceAll(x.LastError, "|", "/"))
	}
	b.WriteString("## Operations\n\n" + o.String() + "\n")

	s := measure.Table{Header: []string{"elapsed s", "phase", "goroutines", "live heap MB", "heap sys MB", "RSS MB", "open files", "threads", "CPU %", "load avg"}}
	lastMinute := -1.0
	for i, x := range r.Samples {
		minute := math.Floor(x.ElapsedS / 60)
		if x.Phase == "load" && minute == lastMinute && i != len(r.Samples)-2 {
			continue
		}
		lastMinute = minute
		s.Add(x.ElapsedS, x.Phase, x.Goroutines, x.HeapMB, x.HeapSysMB, x.RSSMB, x.OpenFiles, x.Threads, x.CPUPct, x.Loadavg)
	}
	b.WriteString("## Samples (one a minute; all in soak.json)\n\n" + s.String())
	return b.String()
}
