package media

import (
	"encoding/binary"
	"syscall"
	"testing"
	"time"
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

// BenchmarkRelayThroughGateway sends b.N packets from loopback client a
// through the gateway to client b, the whole way a browser's packet takes:
// the gateway's receive chain (socket, ICE, SRTP, the leg), forwarding and
// its send path. The clients run in the same process, so allocs/op and
// cpu-ns/op (the process's CPU time per packet, from getrusage) count
// theirs too; the gateway's share is what changes between two runs. At most
// a window of packets is in flight, so that no socket buffer overflows.
func BenchmarkRelayThroughGateway(b *testing.B) {
	g := newTestGateway(b, Config{})
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
	delivered := func() int {
		cb.mu.Lock()
		defer cb.mu.Unlock()
		return cb.total
	}
	// The first packet opens the stream at the gateway (its track); the
	// gateway sends on its own SRTP path to a leg once that leg's packets
	// authenticated there, so b sends a few too.
	waitFor(b, "the first packet through", func() bool {
		ca.track.send(classOpus, make([]byte, 80))
		return delivered() > 0
	})
	waitFor(b, "both legs on the own SRTP path", func() bool {
		cb.track.send(classOpus, make([]byte, 80))
		return directOn(g, "a") && directOn(g, "b")
	})
	const window = 64
	payload := make([]byte, 80)
	base := delivered()
	cpu0 := processCPU(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload) + 12))
	b.ResetTimer()
	for i := range b.N {
		if !ca.track.send(classOpus, payload) {
			b.Fatal("client a could not send")
		}
		if i%window == window-1 {
			waitFor(b, "the window delivered", func() bool { return delivered()-base >= i+1-window })
		}
	}
	waitFor(b, "every packet delivered", func() bool { return delivered()-base >= b.N })
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the user and system CPU time the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
