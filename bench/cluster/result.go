package main

import (
	"fmt"
	"strings"

	"github.com/callbridge/widget-server/bench/internal/measure"
)

// CallsResult is a step's calls phase.
type CallsResult struct {
	Completed int     `json:"completed"`  // calls that ended on both streams within the phase
	CrossNode int     `json:"cross_node"` // of those, calls whose callee's tab is on another node than the caller's
	Failed    int     `json:"failed"`
	PerSec    float64 `json:"completed_per_s"`
	// Dial: POST /widget/calls sent → its answer read (the caller's node
	// has made the call and answered its SDP).
	Dial measure.Summary `json:"dial_latency"`
	// Ring: POST /widget/calls sent → rc-call-ring-notify read on the
	// callee's stream. Connect: POST …/answer sent → the caller's stream
	// says CallConnected (rc-active-call-notify). End: POST …/hangup (by the
	// callee) sent → rc-call-end-notify read on the caller's stream.
	Ring           measure.Summary `json:"ring_latency"`
	Connect        measure.Summary `json:"connect_latency"`
	End            measure.Summary `json:"end_latency"`
	NodesCPUPct    float64         `json:"nodes_cpu_pct"`    // all nodes together, percent of one core
	PostgresCPUPct float64         `json:"postgres_cpu_pct"` // the postmaster and its backends, also those that ended
	// PostgresSessions is how many connections the nodes opened to the
	// database during the phase (pg_stat_database.sessions).
	PostgresSessions int64   `json:"postgres_sessions"`
	ClientCPUPct     float64 `json:"client_cpu_pct"` // this tool, with the embedded NATS server
	Loadavg          string  `json:"loadavg"`
	LastError        string  `json:"last_error,omitempty"`
}

// EventsResult is a step's events phase.
type EventsResult struct {
	Changes         int     `json:"changes"` // presence changes the nodes took
	Failed          int     `json:"failed"`  // refused, failed, or not made (every user tried had one in flight)
	ChangesPerSec   float64 `json:"changes_per_s"`
	Expected        uint64  `json:"expected"` // listener deliveries that should arrive
	Delivered       uint64  `json:"delivered"`
	DeliveredPct    float64 `json:"delivered_pct"`
	DeliveredPerSec float64 `json:"delivered_per_s"`
	// Latency: PUT /widget/presence sent → rc-adapter-syncPresence with the
	// new status read on a listener of the user; SameNode for listeners on
	// the node the change went through, OtherNode for the others.
	Latency          measure.Summary `json:"delivery_latency"`
	SameNode         measure.Summary `json:"same_node_latency"`
	OtherNode        measure.Summary `json:"other_node_latency"`
	NodesCPUPct      float64         `json:"nodes_cpu_pct"`
	PostgresCPUPct   float64         `json:"postgres_cpu_pct"`
	PostgresSessions int64           `json:"postgres_sessions"`
	ClientCPUPct     float64         `json:"client_cpu_pct"`
	Loadavg          string          `json:"loadavg"`
	LastError        string          `json:"last_error,omitempty"`
}

// Step is one count of nodes.
type Step struct {
	Nodes         int          `json:"nodes"`
	Users         int          `json:"users"`
	Pairs         int          `json:"pairs"`
	Streams       int          `json:"streams"` // tabs' streams and listeners
	StartSeconds  float64      `json:"start_s"` // starting the nodes one after the other
	SignInSeconds float64      `json:"sign_in_s"`
	Calls         CallsResult  `json:"calls"`
	Events        EventsResult `json:"events"`
	NodesRSSMB    float64      `json:"nodes_rss_mb"`   // all nodes together, at the end
	StreamsClosed int          `json:"streams_closed"` // streams that ended during the step (not reopened)
}

// Result is the whole run.
type Result struct {
	measure.Run
	Steps []Step `json:"steps"`
}

func markdown(res *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s; load at start %s; PostgreSQL %v, NATS %v (embedded in the tool)\n\n", res.Machine, res.Machine.Loadavg,
		res.Settings["postgres"], res.Settings["nats"])
	fmt.Fprintf(&b, "Users %v (user i on node i %% n; pairs 2k → 2k+1), %v listener streams per user (stream k on node (i+k) %% n), "+
		"%v s per phase. CPU in percent of one core: nodes together; PostgreSQL (postmaster and backends, also ended ones); the tool with NATS. "+
		"PostgreSQL connections opened: pg_stat_database.sessions over the phase.\n\n",
		res.Settings["users"], res.Settings["listeners_per_user"], res.Settings["duration_s"])
	calls := measure.Table{Header: []string{"nodes", "calls/s", "completed", "cross-node", "failed", "ring p50 ms", "ring p99 ms",
		"connect p50 ms", "connect p99 ms", "end p50 ms", "end p99 ms", "nodes CPU %", "PostgreSQL CPU %", "PostgreSQL connections opened", "tool CPU %", "loadavg"}}
	events := measure.Table{Header: []string{"nodes", "changes/s", "delivered/s", "delivered %", "p50 ms", "p99 ms",
		"same node p50/p99 ms", "other node p50/p99 ms", "nodes CPU %", "PostgreSQL CPU %", "PostgreSQL connections opened", "tool CPU %", "streams closed", "nodes RSS MB", "loadavg"}}
	for _, s := range res.Steps {
		c, e := s.Calls, s.Events
		calls.Add(s.Nodes, c.PerSec, c.Completed, c.CrossNode, c.Failed, c.Ring.P50ms, c.Ring.P99ms, c.Connect.P50ms, c.Connect.P99ms,
			c.End.P50ms, c.End.P99ms, c.NodesCPUPct, c.PostgresCPUPct, c.PostgresSessions, c.ClientCPUPct, c.Loadavg)
		other := "–"
		if e.OtherNode.Count > 0 {
			other = fmt.Sprintf("%v / %v", e.OtherNode.P50ms, e.OtherNode.P99ms)
		}
		events.Add(s.Nodes, e.ChangesPerSec, e.DeliveredPerSec, e.DeliveredPct, e.Latency.P50ms, e.Latency.P99ms,
			fmt.Sprintf("%v / %v", e.SameNode.P50ms, e.SameNode.P99ms), other, e.NodesCPUPct, e.PostgresCPUPct, e.PostgresSessions, e.ClientCPUPct,
			s.StreamsClosed, s.NodesRSSMB, e.Loadavg)
	}
	b.WriteString("Calls (closed loop, one call at a time per pair; no media):\n\n")
	b.WriteString(calls.String())
	b.WriteString("\nEvents (presence changes through random nodes, counted on the users' listener streams):\n\n")
	b.WriteString(events.String())
	for _, s := range res.Steps {
		if s.Calls.LastError != "" {
			fmt.Fprintf(&b, "\n%d nodes, last call error: %s\n", s.Nodes, s.Calls.LastError)
		}
		if s.Events.LastError != "" {
			fmt.Fprintf(&b, "\n%d nodes, last presence error: %s\n", s.Nodes, s.Events.LastError)
		}
	}
	return b.String()
}
