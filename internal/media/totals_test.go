package media

import (
	"sync"
	"testing"
)

// TestTotalsCountEveryLeg: the gateway's totals count the open legs by
// kind and the packets of every leg, open or closed, and never go back when
// a leg closes; OnLegClosed hears of each closed leg once, with its final
// figures.
func TestTotalsCountEveryLeg(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	var mu sync.Mutex
	closed := map[Kind][]LegStats{}
	g := newTestGateway(t, Config{OnLegClosed: func(k Kind, s LegStats) {
		mu.Lock()
		closed[k] = append(closed[k], s)
		mu.Unlock()
	}})
	ca := newClient(t, "a", codecsA)
	cb := newClient(t, "b", codecsB)
	ca.dial(g, "a", KindPhone)
	cb.dial(g, "b", KindPhone)
	if err := g.Connect("a", "b"); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	ca.sendCounter('A')
	cb.sendCounter('B')
	waitFor(t, "b receives a's packets", func() bool { return cb.countTagged('A') >= 20 })

	// A packet is counted once written: the client may have it first.
	waitFor(t, "the forwarded packets counted", func() bool { return g.Totals().PacketsSent >= 20 })
	open := g.Totals()
	if open.Legs[KindPhone] != 2 || len(open.Legs) != 1 {
		t.Fatalf("open legs = %v, want 2 phone legs", open.Legs)
	}
	if open.PacketsReceived < 20 || open.PacketsSent < 20 || open.BytesReceived == 0 || open.BytesSent == 0 {
		t.Fatalf("totals while open = %+v, want the packets forwarded", open)
	}
	waitFor(t, "the totals grow", func() bool { return g.Totals().PacketsSent > open.PacketsSent })

	g.CloseLeg("a")
	after := g.Totals()
	if after.Legs[KindPhone] != 1 {
		t.Fatalf("open legs after a closed = %v, want 1", after.Legs)
	}
	if after.PacketsReceived < open.PacketsReceived || after.PacketsSent < open.PacketsSent ||
		after.BytesReceived < open.BytesReceived || after.BytesSent < open.BytesSent {
		t.Fatalf("totals went back when a leg closed: %+v, then %+v", open, after)
	}
	g.CloseLeg("b")
	g.CloseLeg("b") // once only
	end := g.Totals()
	if len(end.Legs) != 0 {
		t.Fatalf("open legs at the end = %v", end.Legs)
	}
	if end.PacketsSent < after.PacketsSent || end.PacketsReceived < after.PacketsReceived {
		t.Fatalf("totals went back: %+v, then %+v", after, end)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(closed[KindPhone]) != 2 {
		t.Fatalf("legs closed = %v, want the two phone legs once each", closed)
	}
	var sent uint64
	for _, s := range closed[KindPhone] {
		sent += s.PacketsSent
	}
	if sent != end.PacketsSent {
		t.Errorf("closed legs sent %d packets, the totals say %d", sent, end.PacketsSent)
	}
}
