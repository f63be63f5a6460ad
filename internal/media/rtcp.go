package media

import (
	"errors"
	"math/rand/v2"
	"net"
	"time"

	"github.com/pion/rtcp"
)

// RTCP of every leg (RFC 3550 §6). The gateway is the endpoint toward a
// carrier and toward a browser, and reports what it counts itself: a sender
// report while it sends (what it relayed, under its own SSRC), a receiver
// report otherwise, each with a reception report block about the peer's
// stream and the leg's CNAME; toward a carrier also a BYE when the leg
// closes. The peer's reports about the gateway's stream give Stats its
// loss, jitter and round-trip time. Browser legs use none of the library's
// interceptors: its report interceptors cost four allocations per packet
// received for figures the gateway counts anyway.

// rtcpInterval is the mean time between reports to a carrier: RFC 3550
// §6.2's minimum, which a two-party call's share of bandwidth never lifts.
const rtcpInterval = 5 * time.Second

// browserRTCPInterval is the mean time between reports to a browser: that
// of the library's report interceptors the gateway used before, so that
// Stats' round trip and the browser's own figures stay as fresh.
const browserRTCPInterval = time.Second

// readRTCPSocket is an RTP leg's receive loop on its RTCP port.
func (l *leg) readRTCPSocket() {
	buf := make([]byte, rtpBufferSize)
	for {
		n, from, err := l.rtp.rtcpConn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		from = unmapped(from)
		st := l.rtp.state.Load()
		if st == nil || !st.acceptsRTCP(from) {
			continue
		}
		pkts, ok := l.parseRTCP(st, buf[:n])
		if !ok {
			continue
		}
		if st.awaitsRTCPLatch() {
			// From the latched address but another port: the
			// carrier's RTCP only if it speaks for the stream
			// latched.
			if ssrc, ok := l.rtp.recv.source(); !ok || senderSSRC(pkts) != ssrc {
				continue
			}
			l.latchRTCP(st, from)
		}
		l.noteRTCP(pkts, time.Now())
	}
}

// receiveRTCP reads a compound RTCP packet from the carrier: its sender
// reports (for the round trip of the gateway's next report) and its
// reception reports about the gateway's stream (for Stats).
func (l *leg) receiveRTCP(st *rtpState, pkt []byte, now time.Time) {
	if pkts, ok := l.parseRTCP(st, pkt); ok {
		l.noteRTCP(pkts, now)
	}
}

// parseRTCP decrypts (when SRTCP) and parses a compound RTCP packet.
func (l *leg) parseRTCP(st *rtpState, pkt []byte) ([]rtcp.Packet, bool) {
	if st.in != nil {
		l.rtp.rtcpMu.Lock()
		plain, err := st.in.rtcp.DecryptRTCP(nil, pkt, nil)
		l.rtp.rtcpMu.Unlock()
		if err != nil {
			return nil, false
		}
		pkt = plain
	}
	pkts, err := rtcp.Unmarshal(pkt)
	return pkts, err == nil
}

// noteRTCP takes what the carrier's reports say.
func (l *leg) noteRTCP(pkts []rtcp.Packet, now time.Time) {
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			l.rtp.recv.noteSenderReport(p.SSRC, p.NTPTime, now)
			l.noteReports(p.Reports, now)
		case *rtcp.ReceiverReport:
			l.noteReports(p.Reports, now)
		}
	}
}

// senderSSRC is the SSRC of the sender of a compound packet: that of the
// report it starts with (RFC 3550 §6.1); 0 when it starts with none.
func senderSSRC(pkts []rtcp.Packet) uint32 {
	if len(pkts) == 0 {
		return 0
	}
	switch p := pkts[0].(type) {
	case *rtcp.SenderReport:
		return p.SSRC
	case *rtcp.ReceiverReport:
		return p.SSRC
	}
	return 0
}

// reportRTCP sends the peer a report at randomised intervals around
// rtcpInterval (the first after half of one, RFC 3550 §6.2) until the leg
// closes.
func (l *leg) reportRTCP() {
	interval := l.g.rtcpInterval
	if l.rtp == nil {
		interval = min(interval, browserRTCPInterval)
	}
	t := time.NewTimer(randomised(interval / 2))
	defer t.Stop()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
		if l.rtp != nil {
			l.rtp.sendReport(false)
		} else {
			l.sendTrackReport()
		}
		t.Reset(randomised(interval))
	}
}

// randomised spreads d over [d/2, 3d/2) (RFC 3550 §6.3.1).
func randomised(d time.Duration) time.Duration {
	if d <= 0 {
		return time.Millisecond
	}
	return d/2 + rand.N(d)
}

// sendReport sends one compound report to the carrier, ending with a BYE
// when bye; after the BYE nothing more is sent.
func (r *rtpLeg) sendReport(bye bool) {
	r.reportMu.Lock()
	defer r.reportMu.Unlock()
	if r.byeSent {
		return
	}
	if bye {
		r.byeSent = true
	}
	st := r.state.Load()
	if st == nil || !st.remoteRTCP.IsValid() {
		return
	}
	now := time.Now()
	pkts := make([]rtcp.Packet, 0, 3)
	var blocks []rtcp.ReceptionReport
	if b, ok := r.recv.report(now); ok {
		blocks = append(blocks, b)
	}
	if sr, ok := r.out.senderReport(now); ok {
		sr.Reports = blocks
		pkts = append(pkts, sr)
	} else {
		pkts = append(pkts, &rtcp.ReceiverReport{SSRC: r.out.ssrc, Reports: blocks})
	}
	pkts = append(pkts, &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
		Source: r.out.ssrc,
		Items:  []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: r.cname}},
	}}})
	if bye {
		pkts = append(pkts, &rtcp.Goodbye{Sources: []uint32{r.out.ssrc}})
	}
	raw, err := rtcp.Marshal(pkts)
	if err != nil {
		return
	}
	if st.out != nil {
		if raw, err = st.out.rtcp.EncryptRTCP(nil, raw, nil); err != nil {
			return
		}
	}
	conn := r.rtcpConn
	if st.mux {
		conn = r.rtpConn
	}
	_, _ = conn.WriteToUDPAddrPort(raw, st.remoteRTCP)
}

// senderReport returns a sender report of the stream, when something was
// sent since the last one (RFC 3550 §6.4: a participant that stopped
// sending reports as a receiver).
func (o *rtpOut) senderReport(now time.Time) (*rtcp.SenderReport, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sent.report(o.ssrc, g711ClockRate, now)
}

// report returns a sender report of stream ssrc, whose RTP clock runs at
// rate, when something was sent since the last one, and starts the next
// interval.
func (c *senderCounts) report(ssrc, rate uint32, now time.Time) (*rtcp.SenderReport, bool) {
	if !c.since {
		return nil, false
	}
	c.since = false
	// The RTP time of now, extrapolated from the last packet sent.
	ts := c.lastTS + uint32(now.Sub(c.lastAt)*time.Duration(rate)/time.Second)
	return &rtcp.SenderReport{
		SSRC:        ssrc,
		NTPTime:     ntpTime(now),
		RTPTime:     ts,
		PacketCount: c.packets,
		OctetCount:  c.octets,
	}, true
}

// sendTrackReport sends the browser of a browser leg a compound report: a
// sender report of the gateway's stream while it sends, a receiver report
// otherwise, with a reception report block about the browser's stream once
// it sends, and the stream's CNAME (that of the answer's a=ssrc line, the
// track's stream id).
func (l *leg) sendTrackReport() {
	t := l.sendTrack()
	if t == nil || l.sendSSRC == 0 {
		return
	}
	now := time.Now()
	var blocks []rtcp.ReceptionReport
	if b, ok := l.recv.report(now); ok {
		blocks = append(blocks, b)
	}
	t.mu.Lock()
	sr, sending := t.sent.report(l.sendSSRC, t.codec.ClockRate, now)
	t.mu.Unlock()
	var first rtcp.Packet
	if sending {
		sr.Reports = blocks
		first = sr
	} else {
		first = &rtcp.ReceiverReport{SSRC: l.sendSSRC, Reports: blocks}
	}
	_ = l.pc.WriteRTCP([]rtcp.Packet{first, &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
		Source: l.sendSSRC,
		Items:  []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: t.streamID}},
	}}}})
}

// noteSenderReport keeps the time of the carrier's last sender report, for
// the LSR and DLSR of the next reception report (RFC 3550 §6.4.1).
func (r *recvStats) noteSenderReport(ssrc uint32, ntp uint64, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c.started && ssrc == r.c.ssrc {
		r.c.lastSR, r.c.lastSRAt = uint32(ntp>>16), now
	}
}

// source returns the SSRC of the carrier's current source, once a packet
// came.
func (r *recvStats) source() (uint32, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.c.ssrc, r.c.started
}

// report returns the reception report block about the carrier's current
// source, and starts the next reporting interval (RFC 3550 A.3).
func (r *recvStats) report(now time.Time) (rtcp.ReceptionReport, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := &r.c
	if !c.started {
		return rtcp.ReceptionReport{}, false
	}
	expected := c.expected()
	expInterval, recvInterval := expected-c.expPrior, c.received-c.recvPrior
	c.expPrior, c.recvPrior = expected, c.received
	var fraction uint8
	if lost := int64(expInterval) - int64(recvInterval); expInterval > 0 && lost > 0 {
		fraction = uint8(lost << 8 / int64(expInterval))
	}
	var dlsr uint32
	if c.lastSR != 0 {
		dlsr = uint32(now.Sub(c.lastSRAt).Seconds() * 65536)
	}
	return rtcp.ReceptionReport{
		SSRC:               c.ssrc,
		FractionLost:       fraction,
		TotalLost:          uint32(c.lost()),
		LastSequenceNumber: c.cycles + uint32(c.maxSeq),
		Jitter:             uint32(c.jitter),
		LastSenderReport:   c.lastSR,
		Delay:              dlsr,
	}, true
}

// expected is how many packets the source has sent since its first
// (RFC 3550 A.3).
func (c *recvCounts) expected() uint32 {
	return c.cycles + uint32(c.maxSeq) - c.baseSeq + 1
}

// lost is the cumulative number lost, as a report carries it: duplicates
// can make it negative, which reports as 0, and it saturates at 24 bits.
func (c *recvCounts) lost() int64 {
	return min(max(int64(c.expected())-int64(c.received), 0), 0x7FFFFF)
}

// inbound returns the loss and jitter of the carrier's stream, for Stats.
func (r *recvStats) inbound() (lost int64, jitterMs float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.c.started {
		return 0, 0
	}
	return r.c.lost(), r.c.jitter / float64(r.clockRate()) * 1000
}

// ntpTime is t as a 64-bit NTP timestamp: seconds since 1900, then a binary
// fraction.
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}
