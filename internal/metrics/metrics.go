// Package metrics owns the server's Prometheus registry and the definition
// of every metric it exports (docs/configuration.md, "Metrics"). The
// registry is this server's own, never the process-wide default, so each
// server and each test counts apart.
//
// The domain packages do not import it: what they count reaches it through
// the small hooks they offer (a function in their Config, called when a
// call or a leg ends, a delivery is tried) or is read from their own
// counters when Prometheus scrapes (Sources). Labels are few and bounded:
// route templates, never paths or ids. It must not import echo, the
// domain packages or the store.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric of the server.
const Namespace = "callbridge"

// Metrics are the server's metrics and the registry they are in.
type Metrics struct {
	reg *prometheus.Registry

	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	callsEnded *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	legsEnded  *prometheus.CounterVec
	legsLost   prometheus.Counter
	legJitter  prometheus.Histogram
}

// New returns the metrics in a registry of their own, with the Go
// runtime's and the process's collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "http_requests_total",
			Help: "HTTP requests answered, by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route template and method (event streams excluded).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		callsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "calls_ended_total",
			Help: "Calls (telephony sessions) ended, by the caller's call-log result.",
		}, []string{"result"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "deliveries_total",
			Help: "Delivery attempts of the outbox, by kind (webhook, sms, message) and outcome (delivered, failed, dropped, given_up).",
		}, []string{"kind", "outcome"}),
		legsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "media_legs_ended_total",
			Help: "Media legs closed, by kind.",
		}, []string{"kind"}),
		legsLost: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "media_packets_lost_total",
			Help: "RTP packets lost on the legs that ended: as their peers reported about the gateway's audio, and as the gateway counted of a carrier's.",
		}),
		legJitter: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "media_leg_jitter_seconds",
			Help:    "Interarrival jitter of each ended leg whose peer reported, as it last did (RFC 3550 A.8).",
			Buckets: []float64{.001, .0025, .005, .01, .02, .03, .05, .1, .2},
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.latency, m.callsEnded, m.deliveries, m.legsEnded, m.legsLost, m.legJitter,
	)
	return m
}

// Registry is where the metrics are; tests gather from it.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry: m.reg, MaxRequestsInFlight: 2, Timeout: 10 * time.Second,
		// A source that fails (the database, for the queue) leaves its
		// metric out of the scrape, not the others.
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// Request counts one answered HTTP request of route (the template the
// router matched, such as /widget/calls/:id/hangup) and, unless it was an
// event stream, its duration.
func (m *Metrics) Request(route, method string, code int, took time.Duration, stream bool) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	if !stream {
		m.latency.WithLabelValues(route, method).Observe(took.Seconds())
	}
}

// CallEnded counts a call that ended with the caller's result ("Call
// connected", "Missed", "Busy", …: the call log's).
func (m *Metrics) CallEnded(result string) { m.callsEnded.WithLabelValues(result).Inc() }

// Delivery counts an attempt of an outbox job of kind with its outcome.
func (m *Metrics) Delivery(kind, outcome string) { m.deliveries.WithLabelValues(kind, outcome).Inc() }

// LegEnded counts a closed media leg of kind with the packets lost on it
// and, when its peer reported any, its last jitter in milliseconds.
func (m *Metrics) LegEnded(kind string, lost int64, jitterMs float64, reported bool) {
	m.legsEnded.WithLabelValues(kind).Inc()
	if lost > 0 {
		m.legsLost.Add(float64(lost))
	}
	if reported {
		m.legJitter.Observe(jitterMs / 1000)
	}
}

// MediaTotals are the media gateway's figures at a scrape.
type MediaTotals struct {
	Legs                         map[string]int // open legs by kind
	PacketsReceived, PacketsSent uint64         // since the start, over every leg
	BytesReceived, BytesSent     uint64
	// DirectReceived and DirectSent are those of the browser legs' RTP
	// that went on the gateway's own SRTP path.
	DirectReceived, DirectSent uint64
}

// StreamTotals are the event streams' figures at a scrape.
type StreamTotals struct {
	Open            int
	Opened, Dropped uint64
}

// StorageErrors are the errors of the database since the start.
type StorageErrors struct {
	Unavailable uint64 // the storage failed: full, read-only, I/O, replaced file
	Refused     uint64 // SQLite refused a statement: a constraint, a busy database, …
}

// Sources are what is read when Prometheus scrapes. A nil field is not
// exported.
type Sources struct {
	Calls   func() int
	Streams func() StreamTotals
	Media   func() MediaTotals
	Storage func() StorageErrors
	// Queued counts the outbox jobs waiting, by kind; it reads the
	// database, within the context's deadline.
	Queued func(ctx context.Context) (map[string]int, error)
	// QueueKinds are the kinds Queued reports, each exported even when
	// none waits.
	QueueKinds []string
}

// Watch registers the sources.
func (m *Metrics) Watch(s Sources) {
	m.reg.MustRegister(sourceCollector{s})
}

// WatchCluster exports what a node of a cluster knows of the others: the
// devices (widget tabs) connected to other nodes, which its calls ring.
func (m *Metrics) WatchCluster(remoteDevices func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "cluster_remote_devices",
		Help: "Devices connected to other nodes of the cluster that this node's calls ring.",
	}, func() float64 { return float64(remoteDevices()) }))
}

var (
	descCalls       = prometheus.NewDesc(Namespace+"_calls_active", "Calls (telephony sessions) in progress: ringing, connected or on hold.", nil, nil)
	descStreamsOpen = prometheus.NewDesc(Namespace+"_event_streams_open", "Widget event streams (SSE) open now.", nil, nil)
	descStreamsOpnd = prometheus.NewDesc(Namespace+"_event_streams_opened_total", "Widget event streams opened.", nil, nil)
	descStreamsDrop = prometheus.NewDesc(Namespace+"_event_streams_dropped_total", "Widget event streams closed because they fell behind (the widget reconnects and replays).", nil, nil)
	descLegs        = prometheus.NewDesc(Namespace+"_media_legs_active", "Media legs open in the gateway, by kind.", []string{"kind"}, nil)
	descPackets     = prometheus.NewDesc(Namespace+"_media_packets_total", "RTP packets the gateway received from legs and sent to them.", []string{"direction"}, nil)
	descBytes       = prometheus.NewDesc(Namespace+"_media_bytes_total", "RTP payload bytes the gateway received from legs and sent to them.", []string{"direction"}, nil)
	descDirect      = prometheus.NewDesc(Namespace+"_media_srtp_direct_packets_total", "Browser legs' RTP packets decrypted and forwarded, or encrypted and sent, on the socket's reading goroutine by the gateway's own SRTP path.", []string{"direction"}, nil)
	descStorage     = prometheus.NewDesc(Namespace+"_storage_errors_total", "Database errors: unavailable (the storage failed) or refused (SQLite refused the statement).", []string{"kind"}, nil)
	descQueued      = prometheus.NewDesc(Namespace+"_outbox_queued", "Outbox jobs waiting for delivery, by kind.", []string{"kind"}, nil)
)

// queueTimeout bounds the count of the outbox's queue at a scrape.
const queueTimeout = 2 * time.Second

// sourceCollector reads the sources at each scrape.
type sourceCollector struct{ s Sources }

func (c sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCalls, descStreamsOpen, descStreamsOpnd, descStreamsDrop,
		descLegs, descPackets, descBytes, descDirect, descStorage, descQueued} {
		ch <- d
	}
}

func (c sourceCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	if s.Calls != nil {
		ch <- prometheus.MustNewConstMetric(descCalls, prometheus.GaugeValue, float64(s.Calls()))
	}
	if s.Streams != nil {
		t := s.Streams()
		ch <- prometheus.MustNewConstMetric(descStreamsOpen, prometheus.GaugeValue, float64(t.Open))
		ch <- prometheus.MustNewConstMetric(descStreamsOpnd, prometheus.CounterValue, float64(t.Opened))
		ch <- prometheus.MustNewConstMetric(descStreamsDrop, prometheus.CounterValue, float64(t.Dropped))
	}
	if s.Media != nil {
		t := s.Media()
		for kind, n := range t.Legs {
			ch <- prometheus.MustNewConstMetric(descLegs, prometheus.GaugeValue, float64(n), kind)
		}
		ch <- prometheus.MustNewConstMetric(descPackets, prometheus.CounterValue, float64(t.PacketsReceived), "received")
		ch <- prometheus.MustNewConstMetric(descPackets, prometheus.CounterValue, float64(t.PacketsSent), "sent")
		ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(t.BytesReceived), "received")
		ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(t.BytesSent), "sent")
		ch <- prometheus.MustNewConstMetric(descDirect, prometheus.CounterValue, float64(t.DirectReceived), "received")
		ch <- prometheus.MustNewConstMetric(descDirect, prometheus.CounterValue, float64(t.DirectSent), "sent")
	}
	if s.Storage != nil {
		t := s.Storage()
		ch <- prometheus.MustNewConstMetric(descStorage, prometheus.CounterValue, float64(t.Unavailable), "unavailable")
		ch <- prometheus.MustNewConstMetric(descStorage, prometheus.CounterValue, float64(t.Refused), "refused")
	}
	if s.Queued != nil {
		ctx, cancel := context.WithTimeout(context.Background(), queueTimeout)
		counts, err := s.Queued(ctx)
		cancel()
		if err != nil {
			ch <- prometheus.NewInvalidMetric(descQueued, err)
			return
		}
		for _, kind := range s.QueueKinds {
			ch <- prometheus.MustNewConstMetric(descQueued, prometheus.GaugeValue, float64(counts[kind]), kind)
		}
	}
}
