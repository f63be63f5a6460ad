package media

import (
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
)

// LegStats are a leg's counters. Packet and byte counts are RTP packets and
// payload bytes (headers excluded, as in WebRTC statistics) counted by the
// gateway; loss, jitter and round-trip time come from the peer's RTCP
// receiver reports about the audio the gateway sends it (the browser's, or
// the carrier's for an RTP leg), and stay zero until the first report.
// InboundLost and InboundJitterMs are the gateway's own figures for the
// audio an RTP leg receives from the carrier's current source (RFC 3550
// A.3, A.8), which its reports to the carrier carry; zero for browser legs.
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

// readSenderRTCP is the RTCP loop of the leg's sender: reading drives the
// interceptors, and the reception reports about the gateway's stream feed
// Stats.
func (l *leg) readSenderRTCP(sender *webrtc.RTPSender) {
	buf := make([]byte, rtpBufferSize)
	for {
		n, _, err := sender.Read(buf)
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
