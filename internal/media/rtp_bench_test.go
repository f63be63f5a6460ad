package media

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/srtp/v2"
	"github.com/pion/webrtc/v3"
)

// The relay of a call through a trunk, one packet at a time: a 20 ms G.711
// frame (160 bytes) from the browser's side to the carrier (rewrite,
// encrypt when SRTP, send on the leg's socket), and from the carrier to the
// browser's side (check the source, decrypt, count for the reports,
// rewrite, hand to the browser's track). The browser's side here is a track
// that only marshals the header, as in BenchmarkForward; what the WebRTC
// library adds on that side is BenchmarkForwardThroughLeg's.

// relay is an RTP leg toward a loopback socket that nobody reads, and a
// trunk phone leg without a PeerConnection connected to it. A latched relay
// is told a private address and latches onto the socket.
type relay struct {
	g        *Gateway
	browser  *leg
	rtp      *leg
	sink     *net.UDPConn
	key      []byte // the sink's SDES key, when secure
	toRTP    *source
	fromRTP  *source
	sinkAddr netip.AddrPort
}

var relayCodecs = []webrtc.RTPCodecParameters{
	{RTPCodecCapability: pcmuCapability, PayloadType: 0},
	{RTPCodecCapability: eventCapability, PayloadType: 126},
}

func newRelay(tb testing.TB, secure bool) *relay {
	tb.Helper()
	return newRelayAt(tb, secure, false)
}

func newRelayAt(tb testing.TB, secure, latched bool) *relay {
	tb.Helper()
	addr := "127.0.0.1"
	if latched {
		addr = "10.0.0.9"
	}
	g := newTestGateway(tb, Config{})
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sink.Close() })
	r := &relay{g: g, sink: sink, sinkAddr: sink.LocalAddr().(*net.UDPAddr).AddrPort()}
	if _, err := g.OfferRTP(context.Background(), "c", RTPOptions{SRTP: secure}); err != nil {
		tb.Fatal(err)
	}
	proto, crypto := "RTP/AVP", ""
	if secure {
		r.key = make([]byte, sdesKeyLen)
		proto = "RTP/SAVP"
		crypto = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + base64.StdEncoding.EncodeToString(r.key) + "\r\n"
	}
	answer := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio %d %s 0 101\r\na=rtpmap:101 telephone-event/8000\r\n%sa=rtcp-mux\r\n", addr, addr, r.sinkAddr.Port(), proto, crypto)
	if err := g.ApplyRTPAnswer("c", answer); err != nil {
		tb.Fatal(err)
	}
	if r.rtp, err = g.rtpLeg("c"); err != nil {
		tb.Fatal(err)
	}
	r.browser = &leg{kind: KindTrunkPhone, out: newOutTrackFor("b", classPCMU)}
	r.browser.out.bound.Store(&binding{w: &captureWriter{}, ssrc: 0xCAFE, pts: newPayloadTypes(relayCodecs)})
	r.browser.forward.Store(true)
	r.browser.peer.Store(r.rtp)
	r.rtp.peer.Store(r.browser)
	r.toRTP, r.fromRTP = newSource(relayCodecs), newSource(nil)
	if latched {
		if secure {
			tb.Fatal("a latched relay is plain RTP")
		}
		r.rtp.receiveRTP(r.fromRTP, packet(tb, 0, 0, 0, 77, make([]byte, 160)), r.sinkAddr, time.Now())
		if st := r.rtp.rtp.state.Load(); st.source != r.sinkAddr || !st.send {
			tb.Fatalf("the relay latched onto %v (send %v)", st.source, st.send)
		}
	}
	return r
}

// relayCases are the relays the benchmarks run.
var relayCases = []struct {
	name            string
	secure, latched bool
}{
	{"rtp", false, false},
	{"srtp", true, false},
	{"rtp-latched", false, true},
}

// carrierPackets are n packets as the sink would send them, encrypted when
// the relay is secure.
func (r *relay) carrierPackets(tb testing.TB, n int) [][]byte {
	tb.Helper()
	var enc *srtp.Context
	if r.key != nil {
		enc = mustContext(tb, r.key)
	}
	pkts := make([][]byte, n)
	for i := range pkts {
		p := packet(tb, 0, uint16(i), uint32(i)*160, 77, make([]byte, 160))
		if enc != nil {
			var err error
			if p, err = enc.EncryptRTP(nil, p, nil); err != nil {
				tb.Fatal(err)
			}
		}
		pkts[i] = p
	}
	return pkts
}

func BenchmarkRelayToCarrier(b *testing.B) {
	for _, rc := range relayCases {
		b.Run(rc.name, func(b *testing.B) {
			r := newRelayAt(b, rc.secure, rc.latched)
			pkt := packet(b, 0, 0, 0, 42, make([]byte, 160))
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			b.ResetTimer()
			for i := range b.N {
				binary.BigEndian.PutUint16(pkt[2:], uint16(i))
				binary.BigEndian.PutUint32(pkt[4:], uint32(i)*160)
				r.browser.forwardPacket(r.toRTP, pkt)
			}
			b.StopTimer()
			if s, _ := r.g.Stats("c"); s.PacketsSent != uint64(b.N) {
				b.Fatalf("%d of %d packets sent", s.PacketsSent, b.N)
			}
		})
	}
}

func BenchmarkRelayFromCarrier(b *testing.B) {
	for _, rc := range relayCases {
		b.Run(rc.name, func(b *testing.B) {
			r := newRelayAt(b, rc.secure, rc.latched)
			start, _ := r.g.Stats("c")
			const n = 1 << 12 // distinct packets: SRTP refuses replays
			pkts := r.carrierPackets(b, n)
			buf := make([]byte, rtpBufferSize)
			now := time.Now()
			b.ReportAllocs()
			b.SetBytes(int64(len(pkts[0])))
			b.ResetTimer()
			for i := range b.N {
				if i > 0 && i%n == 0 {
					// Past the last distinct packet: a fresh leg
					// state takes the sequence numbers again.
					b.StopTimer()
					r.restartReceive(b)
					b.StartTimer()
				}
				m := copy(buf, pkts[i%n]) // decrypted in place, as from the socket
				r.rtp.receiveRTP(r.fromRTP, buf[:m], r.sinkAddr, now)
			}
			b.StopTimer()
			if s, _ := r.g.Stats("c"); s.PacketsReceived-start.PacketsReceived != uint64(b.N) {
				b.Fatalf("%d of %d packets received", s.PacketsReceived-start.PacketsReceived, b.N)
			}
		})
	}
}

// restartReceive gives the RTP leg fresh decryption contexts, so that the
// benchmark's packets are new to it again.
func (r *relay) restartReceive(tb testing.TB) {
	tb.Helper()
	st := *r.rtp.rtp.state.Load()
	if st.in != nil {
		in, err := newSRTPPair(st.in.suite, st.in.key, true)
		if err != nil {
			tb.Fatal(err)
		}
		st.in, st.srtpIn = in, in.rtp
	}
	r.rtp.rtp.state.Store(&st)
}

// TestRelayDoesNotAllocate: relaying plain RTP allocates nothing in either
// direction, the socket's send included, on a latched leg as well.
func TestRelayDoesNotAllocate(t *testing.T) {
	for _, latched := range []bool{false, true} {
		r := newRelayAt(t, false, latched)
		toCarrier := packet(t, 0, 0, 0, 42, make([]byte, 160))
		fromCarrier := r.carrierPackets(t, 1)[0]
		var i uint16
		allocs := testing.AllocsPerRun(1000, func() {
			i++
			binary.BigEndian.PutUint16(toCarrier[2:], i)
			binary.BigEndian.PutUint16(fromCarrier[2:], i)
			r.browser.forwardPacket(r.toRTP, toCarrier)
			r.rtp.receiveRTP(r.fromRTP, fromCarrier, r.sinkAddr, time.Now())
		})
		if allocs != 0 {
			t.Fatalf("relaying (latched %v) allocates %.1f times per packet pair", latched, allocs)
		}
		if s, _ := r.g.Stats("c"); s.PacketsSent < 1000 || s.PacketsReceived < 1000 {
			t.Fatalf("Stats(c) = %+v", s)
		}
	}
}

// BenchmarkUDPSend is the send system call alone, with a packet of the size
// BenchmarkRelayToCarrier/rtp sends, on the same kind of socket: the rest of
// that benchmark is the relay's own work.
func BenchmarkUDPSend(b *testing.B) {
	r := newRelay(b, false)
	pkt := packet(b, 0, 0, 0, 42, make([]byte, 160))
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	b.ResetTimer()
	for range b.N {
		if _, err := r.rtp.rtp.rtpConn.WriteToUDPAddrPort(pkt, r.sinkAddr); err != nil {
			b.Fatal(err)
		}
	}
}
