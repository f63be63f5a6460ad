package media

import (
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// LegStats are a leg's counters. Packet and byte counts are RTP packets and
// payload bytes (headers excluded, as in WebRTC statistics) counted by the
// gateway; loss, jitter and round-trip time come from the peer's RTCP
// receiver reports about the audio the gateway sends it (the browser's, or
// the carrier's for an RTP leg), and stay zero until the first report.
// InboundLost and InboundJitterMs are the gateway's own figures for the
// audio the leg receives from the peer's current source (RFC 3550 A.3,
// A.8), which its reports to the peer carry.
type LegStats struct {
	PacketsReceived, PacketsSent, BytesReceived, BytesSent uint64
	PacketsLost                                            int64
	JitterMs                                               float64
	RTTMs                                                  float64
	InboundLost                                            int64
	InboundJitterMs                                        float64
}

// reportStats holds the latest figures of the browser's receiver reports.
type reportStats struct {
	mu       sync.Mutex
	lost     int64
	jitterMs float64
	rttMs    float64
}

func (l *leg) stats() LegStats {
	var s LegStats
	if l.rtp != nil {
		s.InboundLost, s.InboundJitterMs = l.rtp.recv.inbound()
	} else {
		s.InboundLost, s.InboundJitterMs = l.recv.inbound()
	}
	l.reports.mu.Lock()
	defer l.reports.mu.Unlock()
	return LegStats{
		InboundLost:     s.InboundLost,
		InboundJitterMs: s.InboundJitterMs,
		PacketsReceived: l.packetsReceived.Load(),
		PacketsSent:     l.packetsSent.Load(),
		BytesReceived:   l.bytesReceived.Load(),
		BytesSent:       l.bytesSent.Load(),
		PacketsLost:     l.reports.lost,
		JitterMs:        l.reports.jitterMs,
		RTTMs:           l.reports.rttMs,
	}
}

// rtcpReader is where a browser leg reads RTCP: its sender (the browser's
// reports about the gateway's stream) or its receiver (the browser's sender
// reports); the library gives a compound packet to each SSRC it names.
type rtcpReader interface {
	Read([]byte) (int, interceptor.Attributes, error)
}

// readRTCP is an RTCP loop of a browser leg: the reception reports about
// the gateway's stream feed Stats, and the browser's sender reports the
// round trip of the gateway's next report.
func (l *leg) readRTCP(r rtcpReader) {
	buf := make([]byte, rtpBufferSize)
	for {
		n, _, err := r.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		now := time.Now()
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.ReceiverReport:
				l.noteReports(p.Reports, now)
			case *rtcp.SenderReport:
				l.recv.noteSenderReport(p.SSRC, p.NTPTime, now)
				l.noteReports(p.Reports, now)
			}
		}
	}
}

// noteReports keeps the figures of the report block about the leg's own
// stream (RFC 3550 §6.4.1).
func (l *leg) noteReports(reports []rtcp.ReceptionReport, now time.Time) {
	for _, r := range reports {
		if r.SSRC != l.sendSSRC {
			continue
		}
		l.reports.mu.Lock()
		l.reports.lost = int64(r.TotalLost)
		if l.sendClockRate > 0 {
			l.reports.jitterMs = float64(r.Jitter) / float64(l.sendClockRate) * 1000
		}
		if rtt, ok := roundTrip(r, now); ok {
			l.reports.rttMs = float64(rtt) / float64(time.Millisecond)
		}
		l.reports.mu.Unlock()
	}
}

// roundTrip computes A - LSR - DLSR in compact NTP units (RFC 3550 §6.4.1).
// It is unknown until the peer has received a sender report (LSR 0).
func roundTrip(r rtcp.ReceptionReport, now time.Time) (time.Duration, bool) {
	if r.LastSenderReport == 0 {
		return 0, false
	}
	rtt := ntpCompact(now) - r.LastSenderReport - r.Delay
	if rtt >= 1<<31 { // negative: clocks or a stale report
		return 0, false
	}
	return time.Duration(rtt) * time.Second / 65536, true
}

// ntpCompact is the middle 32 bits of the NTP timestamp of t: seconds since
// 1900 in the upper half, a binary fraction in the lower.
func ntpCompact(t time.Time) uint32 {
	const ntpEpochOffset = 2208988800 // 1900-01-01 to 1970-01-01, in seconds
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return uint32(secs<<16 | frac>>16)
}

// legCounts are a leg's packet and byte counts, or the sum of several legs'.
type legCounts struct {
	packetsReceived, packetsSent, bytesReceived, bytesSent uint64
}

func (l *leg) counts() legCounts {
	return legCounts{
		packetsReceived: l.packetsReceived.Load(),
		packetsSent:     l.packetsSent.Load(),
		bytesReceived:   l.bytesReceived.Load(),
		bytesSent:       l.bytesSent.Load(),
	}
}

func (c *legCounts) add(o legCounts) {
	c.packetsReceived += o.packetsReceived
	c.packetsSent += o.packetsSent
	c.bytesReceived += o.bytesReceived
	c.bytesSent += o.bytesSent
}

func (c legCounts) sub(o legCounts) legCounts {
	return legCounts{
		packetsReceived: c.packetsReceived - o.packetsReceived,
		packetsSent:     c.packetsSent - o.packetsSent,
		bytesReceived:   c.bytesReceived - o.bytesReceived,
		bytesSent:       c.bytesSent - o.bytesSent,
	}
}

// Totals are the gateway's figures over all its legs: those open now and
// those closed since it started.
type Totals struct {
	Legs                         map[Kind]int // open legs by kind
	PacketsReceived, PacketsSent uint64       // RTP packets, as LegStats counts them
	BytesReceived, BytesSent     uint64
	// DirectReceived and DirectSent count the browser legs' RTP packets
	// on the gateway's own SRTP path (direct.go), among those above.
	DirectReceived, DirectSent uint64
}

// Totals returns the gateway's figures. The counts never go back: a leg
// that leaves the table takes its counts into those of the ended legs at
// once, and what it counts until its goroutines have stopped when it has
// closed.
func (g *Gateway) Totals() Totals {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := Totals{Legs: make(map[Kind]int)}
	sum := g.ended
	for _, l := range g.legs {
		t.Legs[l.kind]++
		sum.add(l.counts())
	}
	t.PacketsReceived, t.PacketsSent = sum.packetsReceived, sum.packetsSent
	t.BytesReceived, t.BytesSent = sum.bytesReceived, sum.bytesSent
	t.DirectReceived, t.DirectSent = g.mux.directIn.Load(), g.mux.directOut.Load()
	return t
}

// retireLocked counts a leg that leaves the table among the ended legs.
func (g *Gateway) retireLocked(l *leg) {
	if l.retired != nil {
		return
	}
	c := l.counts()
	g.ended.add(c)
	l.retired = &c
}

// settle adds to the ended legs what a retired leg counted after it left
// the table, once it has closed, and tells OnLegClosed.
func (g *Gateway) settle(l *leg) {
	g.mu.Lock()
	retired := l.retired
	if retired != nil {
		g.ended.add(l.counts().sub(*retired))
	}
	g.mu.Unlock()
	if cb := g.cfg.OnLegClosed; cb != nil && retired != nil {
		cb(l.kind, l.stats())
	}
}
