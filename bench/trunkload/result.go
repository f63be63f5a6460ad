package main

import (
	"fmt"
	"strings"

	"github.com/callbridge/widget-server/bench/internal/measure"
)

// Step is one measured step.
type Step struct {
	Calls       int `json:"calls"`
	Established int `json:"established"` // calls whose leg hears the carrier's echo
	// Failed counts the calls of this step's ramp that did not connect (see Note).
	Failed int `json:"failed"`
	// Setup is POST /widget/calls → the caller's stream says CallConnected,
	// for the calls placed in this step.
	Setup        measure.Summary `json:"setup"`
	RampSeconds  float64         `json:"ramp_s"`
	SentPPS      float64         `json:"sent_pps"`     // packets/s the clients sent, all legs
	ReceivedPPS  float64         `json:"received_pps"` // packets/s that came back
	LossPct      float64         `json:"loss_pct"`
	RoundTrip    measure.Summary `json:"round_trip_latency"` // client → gateway → SIPp → gateway → client
	ServerCPUPct float64         `json:"server_cpu_pct"`     // percent of one core
	// ServerCPUPerPacketUs is the server's CPU time over the packets it
	// relayed both ways (sent + received), in µs.
	ServerCPUPerPacketUs float64   `json:"server_cpu_per_packet_us"`
	ServerRSSMB          float64   `json:"server_rss_mb"`
	ServerThreads        int       `json:"server_threads"`
	SIPpCPUPct           float64   `json:"sipp_cpu_pct"`
	ToolCPUPct           float64   `json:"trunkload_cpu_pct"`
	Drops                drops     `json:"udp_drops"` // by the kernel, for a full receive buffer
	SIPp                 sippStats `json:"sipp"`      // SIPp's counts at the end of the step
	Loadavg              string    `json:"loadavg"`
	Note                 string    `json:"note,omitempty"`
}

// Result is the whole run.
type Result struct {
	measure.Run
	Steps []Step `json:"steps"`
	// SIPp is SIPp's last statistics line, after every call was hung up:
	// a call is successful in SIPp once its BYE is answered.
	SIPp     sippStats `json:"sipp_final"`
	HungUp   int       `json:"calls_hung_up"`
	Problems []string  `json:"problems,omitempty"`
}

func markdown(res *Result) string {
	t := measure.Table{Header: []string{"calls", "established", "failed", "setup p50 ms", "setup p99 ms", "sent pkt/s", "loss %",
		"RTT p50 ms", "RTT p99 ms", "RTT max ms", "server CPU %", "server µs/packet", "server RSS MB", "SIPp CPU %",
		"trunkload CPU %", "UDP drops", "SIPp open calls", "SIPp failed", "loadavg"}}
	for _, s := range res.Steps {
		t.Add(s.Calls, s.Established, s.Failed, s.Setup.P50ms, s.Setup.P99ms, s.SentPPS, s.LossPct,
			s.RoundTrip.P50ms, s.RoundTrip.P99ms, s.RoundTrip.MaxMs, s.ServerCPUPct, s.ServerCPUPerPacketUs, s.ServerRSSMB,
			s.SIPpCPUPct, s.ToolCPUPct, s.Drops.Machine, s.SIPp.Current, s.SIPp.Failed, s.Loadavg)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s; load at start %s; %s\n\n", res.Machine, res.Machine.Loadavg, res.Settings["sipp"])
	b.WriteString(t.String())
	fmt.Fprintf(&b, "\nSIPp at the end, after %d hangups: %d calls received, %d successful, %d failed, %d retransmissions, %d out-of-call and %d dead-call messages\n",
		res.HungUp, res.SIPp.Incoming, res.SIPp.Successful, res.SIPp.Failed, res.SIPp.Retransmissions, res.SIPp.OutOfCall, res.SIPp.DeadCall)
	for _, s := range res.Steps {
		if s.Drops.Machine > 0 {
			fmt.Fprintf(&b, "\n%d calls: the kernel dropped %d UDP packets for a full receive buffer: %d at SIPp's echo socket, %d at the server's RTP legs, the rest elsewhere (the clients, the gateway's WebRTC socket)\n",
				s.Calls, s.Drops.Machine, s.Drops.SIPpEcho, s.Drops.RTPLegs)
		}
		if s.Note != "" {
			fmt.Fprintf(&b, "\n%d calls: %s\n", s.Calls, s.Note)
		}
	}
	for _, p := range res.Problems {
		fmt.Fprintf(&b, "\n%s\n", p)
	}
	return b.String()
}
