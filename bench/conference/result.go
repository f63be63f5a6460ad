package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/callbridge/widget-server/bench/internal/measure"
)

// Step is one phase of one step.
type Step struct {
	Phase        string  `json:"phase"` // relay or mix
	Size         int     `json:"size"`
	Conferences  int     `json:"conferences"`
	Participants int     `json:"participants"`
	SetupSeconds float64 `json:"setup_s"`
	// CPUPct is the process's CPU (the gateway and every peer), in percent
	// of one core; CPUPerParticipantPct the same over the participants.
	CPUPct               float64 `json:"cpu_pct"`
	CPUPerParticipantPct float64 `json:"cpu_per_participant_pct"`
	// Latency is a burst sent → heard (see the command's doc); SendLate
	// how late the peers' packets left against their schedule.
	Latency  measure.Summary `json:"burst_latency"`
	SendLate measure.Summary `json:"send_late"`
	// HeardPct is the share of bursts heard by each listener that should
	// hear them; Unmatched counts burst starts heard that no burst sent
	// explains.
	HeardPct    float64 `json:"heard_pct"`
	Unmatched   uint64  `json:"unmatched"`
	SentPPS     float64 `json:"sent_pps"`     // packets/s the peers sent
	ReceivedPPS float64 `json:"received_pps"` // packets/s the peers received
	Loadavg     string  `json:"loadavg"`
	Note        string  `json:"note,omitempty"`
}

// Result is the whole run.
type Result struct {
	measure.Run
	Steps []Step `json:"steps"`
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func markdown(res *Result) string {
	t := measure.Table{Header: []string{"conferences × size", "participants", "phase", "process CPU %", "CPU % a participant",
		"p50 ms", "p99 ms", "max ms", "bursts heard %", "unmatched", "received pkt/s", "sent late p99 ms", "loadavg"}}
	for _, s := range res.Steps {
		t.Add(fmt.Sprintf("%d × %d", s.Conferences, s.Size), s.Participants, s.Phase, s.CPUPct, s.CPUPerParticipantPct,
			s.Latency.P50ms, s.Latency.P99ms, s.Latency.MaxMs, s.HeardPct, s.Unmatched, s.ReceivedPPS, s.SendLate.P99ms, s.Loadavg)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s; load at start %s\n\n", res.Machine, res.Machine.Loadavg)
	b.WriteString(t.String())
	b.WriteString("\nWhat mixing adds, per participant (mix − relay, same peers and traffic):\n\n")
	for i := 0; i+1 < len(res.Steps); i += 2 {
		r, m := res.Steps[i], res.Steps[i+1]
		fmt.Fprintf(&b, "- %d × %d: %+.2f %% of a core; p99 %+.1f ms\n", m.Conferences, m.Size,
			m.CPUPerParticipantPct-r.CPUPerParticipantPct, m.Latency.P99ms-r.Latency.P99ms)
	}
	for _, s := range res.Steps {
		if s.Note != "" {
			fmt.Fprintf(&b, "\n%d × %d, %s: %s\n", s.Conferences, s.Size, s.Phase, s.Note)
		}
	}
	return b.String()
}
