package main

import (
	"fmt"
	"strings"

	"github.com/callbridge/widget-server/bench/internal/measure"
)

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
	measure.Run
	BaselineMB  float64 `json:"server_rss_before_streams_mb"`
	Steps       []Step  `json:"steps"`
	FDLimitNote string  `json:"fd_limit,omitempty"`
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
	fmt.Fprintf(&b, "Machine: %s; load at start %s; %s\n\n", res.Machine, res.Machine.Loadavg, res.FDLimitNote)
	fmt.Fprintf(&b, "Server RSS before any stream: %.1f MB.\n\n", res.BaselineMB)
	b.WriteString(t.String())
	return b.String()
}
