package media

import (
	"encoding/binary"
	"testing"
)

// BenchmarkForwardThroughLeg forwards one packet from leg a to leg b of a
// live bridge: the gateway's forwarding step plus the library's send path
// (RTCP report interceptor, SRTP, the UDP socket) to a loopback client. The
// allocations reported beyond BenchmarkForward's zero are the library's.
func BenchmarkForwardThroughLeg(b *testing.B) {
	forwardThroughLeg(b, newTestGateway(b, Config{}))
}

// forwardThroughLeg bridges two loopback clients through g and forwards
// b.N packets from leg a to leg b, then checks they were sent and arrive.
func forwardThroughLeg(b *testing.B, g *Gateway) {
	ca := newClient(b, "a", codecsA)
	cb := newClient(b, "b", codecsB)
	cb.mu.Lock()
	cb.countOnly = true
	cb.mu.Unlock()
	ca.dial(g, "a", KindPhone)
	cb.dial(g, "b", KindPhone)
	if err := g.Connect("a", "b"); err != nil {
		b.Fatal(err)
	}
	g.mu.Lock()
	la := g.legs["a"]
	g.mu.Unlock()
	s := newSource(la.answered)
	pkt := packet(b, 111, 0, 0, 42, make([]byte, 80))

	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	b.ResetTimer()
	for i := range b.N {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i)*960)
		la.forwardPacket(s, pkt)
	}
	b.StopTimer()
	if st, _ := g.Stats("b"); st.PacketsSent < uint64(b.N) {
		b.Fatalf("b sent %d of %d packets", st.PacketsSent, b.N)
	}
	waitFor(b, "client b receives packets", func() bool {
		cb.mu.Lock()
		defer cb.mu.Unlock()
		return cb.total > 0
	})
}
