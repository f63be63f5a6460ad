package media

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// natSDP is carrier c's SDP with its media address written as addr and its
// RTP port as port: what a phone behind a NAT sends, while its packets
// leave from c's sockets on loopback.
func natSDP(c *carrier, dir, addr string, port int) string {
	s := strings.ReplaceAll(c.sdp(dir), "IN IP4 127.0.0.1", "IN IP4 "+addr)
	return sdpMedia.ReplaceAllString(s, fmt.Sprintf("m=audio %d ${2} ", port))
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// latches returns the "rtp leg latched" log records.
func latches(rec *recorder) []slog.Record {
	var out []slog.Record
	for _, r := range rec.records("rtp leg latched") {
		if r.Message == "rtp leg latched" {
			out = append(out, r)
		}
	}
	return out
}

func anyRTCP(rtcp.Packet) bool { return true }

// browserReady waits until browser leg id is up both ways at the gateway:
// the browser's audio arrives, and the track toward it is bound (packets
// for it before that are dropped).
func browserReady(t *testing.T, g *Gateway, id string) {
	t.Helper()
	waitFor(t, "the browser's audio at the gateway", func() bool { s, _ := g.Stats(id); return s.PacketsReceived >= 5 })
	g.mu.Lock()
	l := g.legs[id]
	g.mu.Unlock()
	waitFor(t, "the gateway's track toward the browser", func() bool { return l.out.bound.Load() != nil })
}

// tagged is a 5-byte payload as the carrier's sendAudio writes it.
func tagged(tag byte) []byte { return []byte{tag, 0, 0, 0, 0} }

// TestRTPLatchBehindNAT is a phone behind a NAT: its SDP says 10.0.0.9:40000,
// its packets come from a loopback port. The gateway sends it nothing until
// its first valid packet, then sends to that packet's source (RTCP to the
// port above), takes packets from there only, keeps the latch across a
// re-negotiation that names the same address, and latches anew after one
// that names another.
func TestRTPLatchBehindNAT(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	rec := newRecorder()
	g := newTrunkGateway(t, Config{Logger: slog.New(rec)})
	ctx := context.Background()
	phone := newCarrier(t, "phone", carrierOpts{adjacent: true})
	answer, err := g.AnswerRTP(ctx, "c", natSDP(phone, "sendrecv", "10.0.0.9", 40000), RTPOptions{})
	if err != nil {
		t.Fatalf("AnswerRTP: %v", err)
	}
	phone.learn(answer)
	b := newClient(t, "browser", chrome)
	b.openLike(g, "b", "c")
	waitFor(t, "browser connected", b.connected)
	if err := g.Connect("b", "c"); err != nil {
		t.Fatal(err)
	}
	b.sendCounterAs(classPCMU, 'B')
	l, _ := g.rtpLeg("c")
	ours := l.rtp.out.ssrc
	phoneAddr := addrOf(phone.conn)

	// Before the phone's first packet nothing goes anywhere, not to the
	// SDP's address either: the browser's audio and the reports wait.
	browserReady(t, g, "b")
	waitFor(t, "more of the browser's audio at the gateway", func() bool { s, _ := g.Stats("b"); return s.PacketsReceived >= 20 })
	st := l.rtp.state.Load()
	if !st.latch || st.sdp.String() != "10.0.0.9:40000" || st.remote.IsValid() || st.remoteRTCP.IsValid() || st.send {
		t.Fatalf("before the first packet: latch %v, sdp %v, remote %v, RTCP to %v, send %v", st.latch, st.sdp, st.remote, st.remoteRTCP, st.send)
	}
	if s, _ := g.Stats("c"); s.PacketsSent != 0 {
		t.Fatalf("%d packets sent before the phone's first", s.PacketsSent)
	}
	if len(phone.packets(nil)) != 0 || len(phone.rtcpOf(anyRTCP)) != 0 {
		t.Fatal("the phone's source got something before it sent")
	}

	// Only a valid RTP packet latches: not SIP, not RTP of another version
	// or of a payload type not negotiated (G.729), not RTCP.
	scanner := newCarrier(t, "scanner", carrierOpts{})
	scanner.learn(answer)
	scanner.sendRaw([]byte("OPTIONS sip:100@10.0.0.5 SIP/2.0\r\n\r\n"))
	v1 := packet(t, 0, 1, 160, 0x5CA, tagged('S'))
	v1[0] = 1 << 6
	scanner.sendRaw(v1)
	scanner.send(18, tagged('S'), true)
	rr, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 0x5CA}})
	if err != nil {
		t.Fatal(err)
	}
	scanner.sendRaw(rr)
	phone.sendAudio('C', 0, 10)
	waitFor(t, "the phone's audio at the browser", func() bool { return b.countTagged('C') >= 10 })
	waitFor(t, "the browser's audio at the phone's source", func() bool { return phone.countTagged('B') >= 10 })
	st = l.rtp.state.Load()
	if st.source != phoneAddr || st.remote != phoneAddr || st.remoteRTCP != netip.AddrPortFrom(phoneAddr.Addr(), phoneAddr.Port()+1) || !st.send {
		t.Fatalf("latched onto %v: RTP to %v, RTCP to %v, send %v; want %v", st.source, st.remote, st.remoteRTCP, st.send, phoneAddr)
	}
	if s, _ := g.Stats("c"); s.PacketsReceived != 10 {
		t.Fatalf("%d packets taken, want the phone's 10", s.PacketsReceived)
	}
	recs := latches(rec)
	if len(recs) != 1 || attr(recs[0], "leg") != "c" || attr(recs[0], "from") != phoneAddr.String() || attr(recs[0], "sdp") != "10.0.0.9:40000" {
		t.Fatalf("latch log: %v", recs)
	}
	waitFor(t, "reports at the port above the phone's", func() bool {
		return len(phone.rtcpOf(func(p rtcp.Packet) bool { sr, ok := p.(*rtcp.SenderReport); return ok && sr.SSRC == ours })) > 0
	})

	// Another source after the latch, valid packets and all, is ignored.
	intruder := newCarrier(t, "intruder", carrierOpts{})
	intruder.learn(answer)
	intruder.ssrc = 0xBAD
	intruder.sendAudio('X', 0, 20)
	phone.sendAudio('C', 10, 5)
	waitFor(t, "the phone's audio after the intruder's", func() bool { return b.countTagged('C') >= 15 })
	if n := b.countTagged('X'); n != 0 {
		t.Fatalf("%d of the intruder's packets reached the browser", n)
	}
	if s, _ := g.Stats("c"); s.PacketsReceived != 15 {
		t.Fatalf("%d packets taken, want the phone's 15", s.PacketsReceived)
	}

	// The gateway holds the phone with the same address: the latch stays,
	// and the phone, silent, still gets the browser's audio (music on hold
	// in a call).
	hold, err := g.OfferRTP(ctx, "c", RTPOptions{Direction: SendOnly})
	if err != nil {
		t.Fatal(err)
	}
	phone.learn(hold)
	if err := g.ApplyRTPAnswer("c", natSDP(phone, "recvonly", "10.0.0.9", 40000)); err != nil {
		t.Fatal(err)
	}
	if st := l.rtp.state.Load(); st.source != phoneAddr || st.remote != phoneAddr || !st.send {
		t.Fatalf("after the hold: source %v, remote %v, send %v", st.source, st.remote, st.send)
	}
	n := phone.countTagged('B')
	waitFor(t, "the browser's audio at the held phone", func() bool { return phone.countTagged('B') >= n+10 })

	// The phone moves (a re-INVITE naming another port): the gateway
	// waits for its first packet again, then sends there, and does not go
	// back to the old source.
	moved := newCarrier(t, "moved", carrierOpts{adjacent: true})
	reoffer, err := g.AnswerRTP(ctx, "c", natSDP(moved, "sendrecv", "10.0.0.9", 40002), RTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	moved.learn(reoffer)
	if st := l.rtp.state.Load(); !st.awaitsLatch() || st.send || st.remote.IsValid() {
		t.Fatalf("after the move: awaits %v, send %v, remote %v", st.awaitsLatch(), st.send, st.remote)
	}
	sent, _ := g.Stats("c")
	atMove := phone.countTagged('B')
	heard, _ := g.Stats("b")
	waitFor(t, "the browser's audio after the move", func() bool { s, _ := g.Stats("b"); return s.PacketsReceived >= heard.PacketsReceived+10 })
	if s, _ := g.Stats("c"); s.PacketsSent > sent.PacketsSent+1 {
		t.Fatalf("%d packets sent before the moved phone's first", s.PacketsSent-sent.PacketsSent)
	}
	moved.sendAudio('D', 0, 10)
	waitFor(t, "the moved phone's audio", func() bool { return b.countTagged('D') >= 10 })
	waitFor(t, "the browser's audio at the moved phone", func() bool { return moved.countTagged('B') >= 10 })
	phone.sendAudio('E', 0, 10)
	moved.sendAudio('D', 10, 5)
	waitFor(t, "the moved phone's audio after the old source's", func() bool { return b.countTagged('D') >= 15 })
	if n := b.countTagged('E'); n != 0 {
		t.Fatalf("%d packets of the old source reached the browser", n)
	}
	if n := phone.countTagged('B'); n > atMove+1 {
		t.Fatalf("%d packets reached the old source after the move", n-atMove)
	}
	recs = latches(rec)
	if len(recs) != 2 || attr(recs[1], "from") != addrOf(moved.conn).String() || attr(recs[1], "sdp") != "10.0.0.9:40002" {
		t.Fatalf("latch log: %v", recs)
	}
	if len(scanner.packets(nil)) != 0 || len(scanner.rtcpOf(anyRTCP)) != 0 || len(intruder.packets(nil)) != 0 || len(intruder.rtcpOf(anyRTCP)) != 0 {
		t.Fatal("the gateway sent to a source it did not latch onto")
	}
}

// TestRTPLatchRTCP: a latched phone whose RTCP leaves from a port of its
// own gets the reports there once its first report came; RTCP from another
// port of its address that does not speak for its stream neither latches
// nor counts.
func TestRTPLatchRTCP(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	ctx := context.Background()
	phone := newCarrier(t, "phone", carrierOpts{})
	// The port above the phone's, where reports go until its RTCP came,
	// is nobody's here.
	if above, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: phone.port() + 1}); err == nil {
		t.Cleanup(func() { _ = above.Close() })
	}
	answer, err := g.AnswerRTP(ctx, "c", natSDP(phone, "sendrecv", "192.168.1.20", 7078), RTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	phone.learn(answer)
	l, _ := g.rtpLeg("c")
	ours := l.rtp.out.ssrc
	phone.sendAudio('C', 0, 5)
	waitFor(t, "the phone's audio", func() bool { s, _ := g.Stats("c"); return s.PacketsReceived >= 5 })
	if st := l.rtp.state.Load(); st.source != addrOf(phone.conn) || st.remoteRTCP.Port() != uint16(phone.port()+1) {
		t.Fatalf("latched onto %v, RTCP to %v", st.source, st.remoteRTCP)
	}

	intruder := newCarrier(t, "intruder", carrierOpts{})
	intruder.learn(answer)
	intruder.sendRTCP(&rtcp.ReceiverReport{SSRC: 0xBAD, Reports: []rtcp.ReceptionReport{{SSRC: ours, TotalLost: 99}}})
	phone.sendRTCP(&rtcp.ReceiverReport{SSRC: phone.ssrc, Reports: []rtcp.ReceptionReport{{SSRC: ours, TotalLost: 7}}})
	// Had the intruder's report latched, the phone's would be refused.
	waitFor(t, "the phone's report in Stats", func() bool { s, _ := g.Stats("c"); return s.PacketsLost == 7 })
	st := l.rtp.state.Load()
	if st.rtcpSource != addrOf(phone.rtcpC) || st.remoteRTCP != addrOf(phone.rtcpC) {
		t.Fatalf("RTCP latched onto %v, sent to %v; want %v", st.rtcpSource, st.remoteRTCP, addrOf(phone.rtcpC))
	}
	if st.acceptsRTCP(addrOf(intruder.rtcpC)) {
		t.Fatal("RTCP from another port is still taken")
	}
	waitFor(t, "reports at the phone's RTCP port", func() bool {
		return len(phone.rtcpOf(func(p rtcp.Packet) bool { r, ok := p.(*rtcp.ReceiverReport); return ok && r.SSRC == ours })) > 0
	})
	if len(intruder.rtcpOf(anyRTCP)) != 0 || len(intruder.packets(nil)) != 0 {
		t.Fatal("the intruder got something")
	}
}

// TestRTPLatchSRTP: an SRTP leg latches only onto a packet that
// authenticates: plain RTP and SRTP under another key, sent first with the
// phone's own SSRC and numbers, do not take it.
func TestRTPLatchSRTP(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	ctx := context.Background()
	phone := newCarrier(t, "phone", carrierOpts{srtp: true, mux: true})
	answer, err := g.AnswerRTP(ctx, "c", natSDP(phone, "sendrecv", "10.0.0.9", 40000), RTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	phone.learn(answer)
	b := newClient(t, "browser", chrome)
	b.openLike(g, "b", "c")
	waitFor(t, "browser connected", b.connected)
	if err := g.Connect("b", "c"); err != nil {
		t.Fatal(err)
	}
	b.sendCounterAs(classPCMU, 'B')
	browserReady(t, g, "b")
	l, _ := g.rtpLeg("c")

	plain := newCarrier(t, "plain", carrierOpts{mux: true})
	plain.learn(answer)
	forger := newCarrier(t, "forger", carrierOpts{srtp: true, mux: true})
	forger.learn(answer) // it could read what the gateway sent it
	other := make([]byte, sdesKeyLen)
	for i := range other {
		other[i] = byte(i)
	}
	forger.txRTP = mustContext(t, other)
	plain.sendAudio('X', 0, 5)
	forger.sendAudio('X', 0, 5)
	phone.sendAudio('C', 0, 10)
	waitFor(t, "the phone's audio at the browser", func() bool { return b.countTagged('C') >= 10 })
	waitFor(t, "the browser's audio at the phone", func() bool { return phone.countTagged('B') >= 10 })
	if st := l.rtp.state.Load(); st.source != addrOf(phone.conn) || st.remoteRTCP != st.source {
		t.Fatalf("latched onto %v (RTCP to %v), want %v", st.source, st.remoteRTCP, addrOf(phone.conn))
	}
	if s, _ := g.Stats("c"); s.PacketsReceived != 10 || b.countTagged('X') != 0 {
		t.Fatalf("%d packets taken (want 10), %d forged ones reached the browser", s.PacketsReceived, b.countTagged('X'))
	}
	waitFor(t, "SRTCP reports at the phone", func() bool {
		return len(phone.rtcpOf(func(p rtcp.Packet) bool { _, ok := p.(*rtcp.SenderReport); return ok })) > 0
	})
	if l.rtp.state.Load().acceptsRTCP(addrOf(phone.rtcpC)) {
		t.Fatal("with rtcp-mux, RTCP is taken from another port than the latched one")
	}
	if len(plain.packets(nil)) != 0 || len(forger.packets(nil)) != 0 || len(forger.rtcpOf(anyRTCP)) != 0 {
		t.Fatal("the gateway sent to a forger")
	}
}

// deliver hands RTP leg id a datagram from from, as its reader does.
func deliver(t *testing.T, g *Gateway, id string, pkt []byte, from string) {
	t.Helper()
	l, err := g.rtpLeg(id)
	if err != nil || l == nil {
		t.Fatalf("no RTP leg %s: %v", id, err)
	}
	l.receiveRTP(newSource(nil), append([]byte(nil), pkt...), netip.MustParseAddrPort(from), time.Now())
}

// taken is how many RTP packets leg id took.
func taken(g *Gateway, id string) uint64 {
	s, _ := g.Stats(id)
	return s.PacketsReceived
}

// TestRTPPublicAddressNotLatched: a carrier whose SDP gives a public
// address (TEST-NET-3 here) is sent to there, and packets from anywhere
// else, loopback included, are not taken nor latched onto.
func TestRTPPublicAddressNotLatched(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	car := newCarrier(t, "carrier", carrierOpts{mux: true})
	if _, err := g.AnswerRTP(context.Background(), "c", natSDP(car, "sendrecv", "203.0.113.5", car.port()), RTPOptions{}); err != nil {
		t.Fatal(err)
	}
	l, _ := g.rtpLeg("c")
	before := l.rtp.state.Load()
	want := netip.AddrPortFrom(netip.MustParseAddr("203.0.113.5"), uint16(car.port()))
	if before.latch || before.remote != want || before.remoteRTCP != want || !before.send {
		t.Fatalf("latch %v, RTP to %v, RTCP to %v, send %v; want no latch and %v", before.latch, before.remote, before.remoteRTCP, before.send, want)
	}
	pkt := packet(t, 0, 1, 160, 0x0C0FFEE, tagged('C'))
	deliver(t, g, "c", pkt, addrOf(car.conn).String())
	if n := taken(g, "c"); n != 0 || l.rtp.state.Load() != before {
		t.Fatalf("a packet from loopback was taken (%d) or changed the leg", n)
	}
	deliver(t, g, "c", pkt, "203.0.113.5:6000")
	if n := taken(g, "c"); n != 1 {
		t.Fatalf("a packet from the carrier's address: %d taken", n)
	}
}

func TestBehindNAT(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"10.0.0.9", true},
		{"172.16.0.1", true},
		{"172.31.255.254", true},
		{"172.32.0.1", false},
		{"192.168.1.20", true},
		{"100.64.0.1", true},
		{"100.127.255.254", true},
		{"100.63.255.255", false},
		{"100.128.0.1", false},
		{"169.254.10.10", true},
		{"0.0.0.0", true},
		{"127.0.0.1", false},
		{"203.0.113.5", false},
		{"192.0.2.7", false},
		{"8.8.8.8", false},
		{"::ffff:10.0.0.9", true},
		{"fd00::1", true},
		{"fe80::1", true},
		{"::", true},
		{"::1", false},
		{"2001:db8::1", false},
	} {
		if got := behindNAT(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("behindNAT(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

// TestRTPLatchRules drives the packet path directly: which SDP addresses
// and options latch, what a valid first packet is, and what a latched leg
// takes.
func TestRTPLatchRules(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	ctx := context.Background()
	offer := func(addr string) string { return strings.ReplaceAll(carrierOffer, "192.0.2.7", addr) }
	good := packet(t, 8, 1, 160, 0x0C0FFEE, tagged('C'))          // PCMA, the leg's codec
	event := packet(t, 96, 2, 160, 0x0C0FFEE, []byte{5, 0, 0, 0}) // the carrier's telephone-event
	v1 := packet(t, 8, 1, 160, 0x0C0FFEE, tagged('C'))
	v1[0] = 1 << 6
	rr, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1}})
	if err != nil {
		t.Fatal(err)
	}
	invalid := map[string][]byte{
		"text":                  []byte("hello, gateway"),
		"short":                 {0x80, 8},
		"version 1":             v1,
		"G.729, not negotiated": packet(t, 18, 1, 160, 0x0C0FFEE, tagged('C')),
		"RTCP":                  rr,
	}
	for i, tc := range []struct {
		name  string
		addr  string
		o     RTPOptions
		latch bool
	}{
		{"private 10/8", "10.0.0.9", RTPOptions{}, true},
		{"private 172.16/12", "172.31.255.254", RTPOptions{}, true},
		{"private 192.168/16", "192.168.1.20", RTPOptions{}, true},
		{"shared 100.64/10", "100.100.0.1", RTPOptions{}, true},
		{"link-local", "169.254.10.10", RTPOptions{}, true},
		{"unspecified", "0.0.0.0", RTPOptions{}, true},
		{"loopback", "127.0.0.1", RTPOptions{}, false},
		{"TEST-NET-3", "203.0.113.5", RTPOptions{}, false},
		{"public next to 172.16/12", "172.32.0.1", RTPOptions{}, false},
		{"public, asked to", "203.0.113.5", RTPOptions{Latch: true}, true},
		{"loopback, asked to", "127.0.0.1", RTPOptions{Latch: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("c%d", i)
			if _, err := g.AnswerRTP(ctx, id, offer(tc.addr), tc.o); err != nil {
				t.Fatal(err)
			}
			l, _ := g.rtpLeg(id)
			st := l.rtp.state.Load()
			if st.latch != tc.latch {
				t.Fatalf("latch %v, want %v", st.latch, tc.latch)
			}
			if !tc.latch {
				sdp := tc.addr + ":30000"
				if st.remote.String() != sdp || !st.send {
					t.Fatalf("RTP to %v (send %v), want %s", st.remote, st.send, sdp)
				}
				deliver(t, g, id, good, "198.51.100.20:5004")
				deliver(t, g, id, good, tc.addr+":5004")
				if n := taken(g, id); n != 1 {
					t.Fatalf("%d packets taken, want 1 (from the SDP's address)", n)
				}
				return
			}
			if st.remote.IsValid() || st.remoteRTCP.IsValid() || st.send {
				t.Fatalf("before a packet: RTP to %v, RTCP to %v, send %v", st.remote, st.remoteRTCP, st.send)
			}
			for what, pkt := range invalid {
				deliver(t, g, id, pkt, "198.51.100.66:5004")
				if st := l.rtp.state.Load(); st.source.IsValid() {
					t.Fatalf("%s latched the leg", what)
				}
			}
			// The carrier's own event type is as good as audio.
			deliver(t, g, id, event, "198.51.100.20:5004")
			st = l.rtp.state.Load()
			if st.source.String() != "198.51.100.20:5004" || st.remote != st.source ||
				st.remoteRTCP.String() != "198.51.100.20:5005" || !st.send {
				t.Fatalf("latched onto %v: RTP to %v, RTCP to %v, send %v", st.source, st.remote, st.remoteRTCP, st.send)
			}
			deliver(t, g, id, good, "198.51.100.20:5004")
			deliver(t, g, id, good, "198.51.100.20:5006")
			deliver(t, g, id, good, "198.51.100.21:5004")
			deliver(t, g, id, good, tc.addr+":30000")
			if n := taken(g, id); n != 2 {
				t.Fatalf("%d packets taken, want 2 (the latched source's)", n)
			}
		})
	}
}

// TestRTPLatchRenegotiation: Latch, once given, holds for the leg's life;
// a re-negotiation naming the same address keeps the latch, an old-style
// hold (c=0.0.0.0) keeps it without sending, and one naming another
// address sets it again.
func TestRTPLatchRenegotiation(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	ctx := context.Background()
	offer := func(addr string) string { return strings.ReplaceAll(carrierOffer, "192.0.2.7", addr) }
	answer := func(sdp string, o RTPOptions) *rtpState {
		t.Helper()
		if _, err := g.AnswerRTP(ctx, "c", sdp, o); err != nil {
			t.Fatal(err)
		}
		l, _ := g.rtpLeg("c")
		return l.rtp.state.Load()
	}
	good := packet(t, 8, 1, 160, 0x0C0FFEE, tagged('C'))
	const a, b = "198.51.100.20:5004", "198.51.100.21:5004"

	answer(offer("203.0.113.5"), RTPOptions{Latch: true})
	deliver(t, g, "c", good, a)
	if n := taken(g, "c"); n != 1 {
		t.Fatalf("%d taken", n)
	}

	// The same address, without the option: still latched onto a.
	st := answer(offer("203.0.113.5"), RTPOptions{})
	if !st.latch || st.source.String() != a || st.remote.String() != a || !st.send {
		t.Fatalf("re-offer: latch %v, source %v, remote %v, send %v", st.latch, st.source, st.remote, st.send)
	}

	// An old-style hold: nothing sent, a still the only source.
	st = answer(offer("0.0.0.0"), RTPOptions{})
	if !st.held || st.send || st.remote.IsValid() || st.remoteRTCP.IsValid() || st.source.String() != a {
		t.Fatalf("hold: held %v, send %v, remote %v, RTCP to %v, source %v", st.held, st.send, st.remote, st.remoteRTCP, st.source)
	}
	deliver(t, g, "c", good, a)
	deliver(t, g, "c", good, b)
	if n := taken(g, "c"); n != 2 {
		t.Fatalf("%d taken during the hold, want 2", n)
	}

	// Resumed at the same address: the same latch, sending again.
	st = answer(offer("203.0.113.5"), RTPOptions{})
	if st.held || st.source.String() != a || st.remote.String() != a || !st.send {
		t.Fatalf("resume: held %v, source %v, remote %v, send %v", st.held, st.source, st.remote, st.send)
	}

	// Another port: the latch is set again, by the first packet.
	st = answer(strings.Replace(offer("203.0.113.5"), "m=audio 30000", "m=audio 30010", 1), RTPOptions{})
	if !st.awaitsLatch() || st.send {
		t.Fatalf("moved: awaits %v, send %v", st.awaitsLatch(), st.send)
	}
	deliver(t, g, "c", good, b)
	deliver(t, g, "c", good, a)
	if st := func() *rtpState { l, _ := g.rtpLeg("c"); return l.rtp.state.Load() }(); st.source.String() != b || taken(g, "c") != 3 {
		t.Fatalf("moved: latched onto %v, %d taken", st.source, taken(g, "c"))
	}
}
