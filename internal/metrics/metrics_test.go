package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// value is the value of the series of name whose labels are labels
// (name=value pairs), and whether it is there.
func value(t *testing.T, reg *prometheus.Registry, name string, labels ...string) (float64, bool) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			if len(have) != len(labels)/2 {
				continue
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			return number(m), true
		}
	}
	return 0, false
}

func number(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func TestRequestsAndEvents(t *testing.T) {
	m := New()
	reg := m.Registry()
	m.Request("/widget/calls/:id/hangup", "POST", 200, 30*time.Millisecond, false)
	m.Request("/widget/calls/:id/hangup", "POST", 200, 10*time.Millisecond, false)
	m.Request("/widget/calls/:id/hangup", "POST", 404, time.Millisecond, false)
	m.Request("/widget/events", "GET", 200, time.Hour, true)
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"callbridge_http_requests_total", []string{"route", "/widget/calls/:id/hangup", "method", "POST", "code", "200"}, 2},
		{"callbridge_http_requests_total", []string{"route", "/widget/calls/:id/hangup", "method", "POST", "code", "404"}, 1},
		{"callbridge_http_requests_total", []string{"route", "/widget/events", "method", "GET", "code", "200"}, 1},
		{"callbridge_http_request_duration_seconds", []string{"route", "/widget/calls/:id/hangup", "method", "POST"}, 3},
	} {
		if got, ok := value(t, reg, tc.name, tc.labels...); !ok || got != tc.want {
			t.Errorf("%s%v = %v (there: %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if _, ok := value(t, reg, "callbridge_http_request_duration_seconds", "route", "/widget/events", "method", "GET"); ok {
		t.Error("an event stream's lifetime was taken for a request's duration")
	}

	m.CallEnded("Call connected")
	m.CallEnded("Call connected")
	m.CallEnded("Busy")
	m.Delivery("webhook", "delivered")
	m.Delivery("sms", "given_up")
	m.LegEnded("phone", 3, 12, true)
	m.LegEnded("phone", -1, 4, true) // a report may count duplicates: no loss
	m.LegEnded("tone", 0, 0, false)  // no report: no jitter
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"callbridge_calls_ended_total", []string{"result", "Call connected"}, 2},
		{"callbridge_calls_ended_total", []string{"result", "Busy"}, 1},
		{"callbridge_deliveries_total", []string{"kind", "webhook", "outcome", "delivered"}, 1},
		{"callbridge_deliveries_total", []string{"kind", "sms", "outcome", "given_up"}, 1},
		{"callbridge_media_legs_ended_total", []string{"kind", "phone"}, 2},
		{"callbridge_media_legs_ended_total", []string{"kind", "tone"}, 1},
		{"callbridge_media_packets_lost_total", nil, 3},
		{"callbridge_media_leg_jitter_seconds", nil, 2},
	} {
		if got, ok := value(t, reg, tc.name, tc.labels...); !ok || got != tc.want {
			t.Errorf("%s%v = %v (there: %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if _, ok := value(t, reg, "go_goroutines"); !ok {
		t.Error("no Go runtime metrics")
	}
}

// TestSourcesReadAtScrape: the sources are read at each scrape, every
// leg kind and queue kind named even at zero; a queue that cannot be
// counted leaves only its own metric out of the scrape.
func TestSourcesReadAtScrape(t *testing.T) {
	m := New()
	calls := 1
	var queueErr error
	m.Watch(Sources{
		Calls:   func() int { return calls },
		Streams: func() StreamTotals { return StreamTotals{Open: 2, Opened: 5, Dropped: 1} },
		Media: func() MediaTotals {
			return MediaTotals{Legs: map[string]int{"phone": 2, "rtp": 0}, PacketsReceived: 100, PacketsSent: 90, BytesReceived: 4000, BytesSent: 3600}
		},
		Storage: func() StorageErrors { return StorageErrors{Unavailable: 1, Refused: 4} },
		Queued: func(ctx context.Context) (map[string]int, error) {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("the queue is counted without a deadline")
			}
			return map[string]int{"webhook": 3}, queueErr
		},
		QueueKinds: []string{"webhook", "sms"},
	})
	reg := m.Registry()
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"callbridge_calls_active", nil, 1},
		{"callbridge_event_streams_open", nil, 2},
		{"callbridge_event_streams_opened_total", nil, 5},
		{"callbridge_event_streams_dropped_total", nil, 1},
		{"callbridge_media_legs_active", []string{"kind", "phone"}, 2},
		{"callbridge_media_legs_active", []string{"kind", "rtp"}, 0},
		{"callbridge_media_packets_total", []string{"direction", "received"}, 100},
		{"callbridge_media_packets_total", []string{"direction", "sent"}, 90},
		{"callbridge_media_bytes_total", []string{"direction", "sent"}, 3600},
		{"callbridge_storage_errors_total", []string{"kind", "unavailable"}, 1},
		{"callbridge_storage_errors_total", []string{"kind", "refused"}, 4},
		{"callbridge_outbox_queued", []string{"kind", "webhook"}, 3},
		{"callbridge_outbox_queued", []string{"kind", "sms"}, 0},
	} {
		if got, ok := value(t, reg, tc.name, tc.labels...); !ok || got != tc.want {
			t.Errorf("%s%v = %v (there: %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	calls = 0
	if got, _ := value(t, reg, "callbridge_calls_active"); got != 0 {
		t.Errorf("calls active after the call = %v: not read again", got)
	}

	queueErr = errors.New("database is locked")
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(w.Body)
	if w.Code != 200 || strings.Contains(string(body), "callbridge_outbox_queued{") ||
		!strings.Contains(string(body), "callbridge_calls_active 0") {
		t.Fatalf("scrape with the queue failing: %d\n%s", w.Code, body)
	}
}
