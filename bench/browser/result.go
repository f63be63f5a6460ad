package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
)

// Result is the whole run.
type Result struct {
	Tool     string          `json:"tool"`
	Started  time.Time       `json:"started"`
	Machine  measure.Machine `json:"machine"`
	Chromium string          `json:"chromium"`
	Loadavg  map[string]string

	EventLatency   measure.Summary `json:"host_event_latency"`
	ClockOffsetMs  float64         `json:"page_clock_offset_ms"` // Date.now() − (timeOrigin + now()) on the host page
	DialToRing     measure.Summary `json:"dial_to_ring"`
	RingForMs      float64         `json:"ring_before_answer_ms"` // how long the callee let it ring
	AnswerToCaller measure.Summary `json:"answer_to_caller_answered"`
	// Where call setup time goes, from the widget frames' Resource Timing:
	// the command reaching the widget and the widget preparing its offer
	// (microphone, RTCPeerConnection, ICE gathering) before its request, the
	// request itself (the server opening the media leg), and what follows.
	DialPrep      measure.Summary `json:"dial_widget_before_request"`
	DialRequest   measure.Summary `json:"dial_request"`
	AnswerPrep    measure.Summary `json:"answer_widget_before_request"`
	AnswerRequest measure.Summary `json:"answer_request"`
	AnswerAfter   measure.Summary `json:"answer_response_to_caller_page"`
	Weight        Weight          `json:"weight"`
}

// Weight is what the widget costs a host page on first load.
type Weight struct {
	AdapterGzipBytes int `json:"adapter_js_gzip_bytes"`
	// Bytes the demo's first load transferred (headers included) and their
	// bodies as sent (gzipped where served so): the widget's share is
	// adapter.js plus everything its frame loaded.
	WidgetTransferBytes int             `json:"widget_transfer_bytes"`
	WidgetBodyBytes     int             `json:"widget_encoded_body_bytes"`
	PageTransferBytes   int             `json:"page_transfer_bytes"`
	PageBodyBytes       int             `json:"page_encoded_body_bytes"`
	WidgetResources     []Resource      `json:"widget_resources"`
	FirstEvent          measure.Summary `json:"script_tag_to_first_login_status"`
	// ColdSteps times the milestones of the cold loads from the adapter.js
	// request: where the wait for the first event goes.
	ColdSteps []ColdStep `json:"cold_load_steps"`
}

// ColdStep is one milestone of a cold load.
type ColdStep struct {
	Name  string          `json:"name"`
	Since measure.Summary `json:"since_adapter_request"`
}

// Resource is one request of the widget's first load.
type Resource struct {
	URL      string `json:"url"`
	Transfer int    `json:"transfer_bytes"`
	Body     int    `json:"encoded_body_bytes"`
	Decoded  int    `json:"decoded_body_bytes"`
}

func markdown(r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s, %d cores; %s; load %v\n\n", r.Machine.CPU, r.Machine.Cores, r.Chromium, r.Loadavg)
	t := measure.Table{Header: []string{"measure", "n", "p50 ms", "p99 ms", "max ms"}}
	row := func(name string, s measure.Summary) { t.Add(name, s.Count, s.P50ms, s.P99ms, s.MaxMs) }
	row("server state change → host page `message` (rc-telephony-session-notify)", r.EventLatency)
	row("dial on alice's page → rc-call-ring-notify on bob's page", r.DialToRing)
	row(fmt.Sprintf("answer on bob's page (after %.0f ms of ringing) → alice's page sees callee Answered", r.RingForMs), r.AnswerToCaller)
	row("  of which: bob's widget before its POST …/answer (offer, ICE gathering)", r.AnswerPrep)
	row("  of which: POST /widget/calls/{id}/answer", r.AnswerRequest)
	row("  of which: answer response → alice's page", r.AnswerAfter)
	row("  dial: alice's widget before its POST /widget/calls", r.DialPrep)
	row("  dial: POST /widget/calls", r.DialRequest)
	row("adapter.js script tag → first rc-login-status-notify (cold load)", r.Weight.FirstEvent)
	b.WriteString(t.String())
	fmt.Fprintf(&b, "\nHost page clock offset (Date.now() − performance time): %.3f ms\n\n", r.ClockOffsetMs)
	w := r.Weight
	fmt.Fprintf(&b, "adapter.js gzipped: %d bytes. Widget first load: %d bytes transferred (%d bytes of bodies as sent). "+
		"Whole demo page first load: %d bytes transferred (%d of bodies).\n\n", w.AdapterGzipBytes, w.WidgetTransferBytes, w.WidgetBodyBytes,
		w.PageTransferBytes, w.PageBodyBytes)
	rt := measure.Table{Header: []string{"widget resource", "transferred", "body as sent", "body decoded"}}
	for _, x := range w.WidgetResources {
		rt.Add(x.URL, x.Transfer, x.Body, x.Decoded)
	}
	b.WriteString(rt.String())
	ct := measure.Table{Header: []string{"cold load, from the adapter.js request", "n", "p50 ms", "p99 ms", "max ms"}}
	for _, c := range w.ColdSteps {
		ct.Add(c.Name, c.Since.Count, c.Since.P50ms, c.Since.P99ms, c.Since.MaxMs)
	}
	b.WriteString("\n")
	b.WriteString(ct.String())
	return b.String()
}
