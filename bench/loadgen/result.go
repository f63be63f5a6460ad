package main

import (
	"fmt"
	"strings"

	"github.com/callbridge/widget-server/bench/internal/measure"
)

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
	// CPU time per packet forwarded (received by a client in the step):
	// of the server (gateway steps; the relay's on relay steps) and of this
	// tool, which sent and received each once. 0 when the server runs in
	// this process.
	ServerUsPerPacket  float64 `json:"server_us_per_packet,omitempty"`
	RelayUsPerPacket   float64 `json:"relay_us_per_packet,omitempty"`
	LoadgenUsPerPacket float64 `json:"loadgen_us_per_packet,omitempty"`
	// From the server's /debug/vars when this tool started it: collections
	// ended during the step, the collector's share of the server's CPU
	// (measure.GCShare) and heap allocations per packet forwarded; nil when
	// the server does not publish them.
	ServerGCs             *uint32  `json:"server_gcs,omitempty"`
	ServerGCPct           *float64 `json:"server_gc_pct,omitempty"`
	ServerAllocsPerPacket *float64 `json:"server_allocs_per_packet,omitempty"`
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
	measure.Run
	Steps         []Step  `json:"steps"`
	GatewayMax    int     `json:"gateway_max_calls"` // largest step meeting the goals
	RelayMax      int     `json:"relay_max_calls"`
	RatioOfRelay  float64 `json:"gateway_to_relay_ratio"`
	GatewayMaxPPS float64 `json:"gateway_max_pps"`
	RelayMaxPPS   float64 `json:"relay_max_pps"`
}

func markdown(res *Result) string {
	t := measure.Table{Header: []string{"target", "calls", "established", "sent pkt/s", "loss %", "p50 ms", "p99 ms", "max ms",
		"server CPU %", "server µs/packet", "relay µs/packet", "GC % of server CPU", "server allocs/packet", "server RSS MB",
		"loadgen CPU %", "loadgen µs/packet", "socket drops", "loadavg", "goals"}}
	for _, s := range res.Steps {
		goal := "miss"
		if s.MeetsGoals {
			goal = "meets"
		}
		t.Add(s.Target, s.Calls, s.Established, s.SentPPS, s.LossPct, s.Latency.P50ms, s.Latency.P99ms, s.Latency.MaxMs,
			s.ServerCPUPct, orDash(s.ServerUsPerPacket), orDash(s.RelayUsPerPacket), ptrOrDash(s.ServerGCPct), ptrOrDash(s.ServerAllocsPerPacket), s.ServerRSSMB,
			s.LoadgenCPUPct, orDash(s.LoadgenUsPerPacket), s.ServerSocketDrops, s.Loadavg, goal)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s; load at start %s\n\n", res.Machine, res.Machine.Loadavg)
	b.WriteString(t.String())
	fmt.Fprintf(&b, "\nLargest step meeting the goals: gateway %d calls (%.0f pkt/s), bare relay %d pairs (%.0f pkt/s); gateway/relay %.3f\n",
		res.GatewayMax, res.GatewayMaxPPS, res.RelayMax, res.RelayMaxPPS, res.RatioOfRelay)
	return b.String()
}

// orDash is v, or "–" when it is 0 (not measured).
func orDash(v float64) any {
	if v == 0 {
		return "–"
	}
	return v
}

// ptrOrDash is *v, or "–" when v is nil (not published by the server).
func ptrOrDash(v *float64) any {
	if v == nil {
		return "–"
	}
	return *v
}
