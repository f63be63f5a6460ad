package media

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// bridged opens phone legs a and b for two clients with different payload
// type numbers, connects them and starts both sending.
func bridged(t *testing.T) (*Gateway, *client, *client) {
	t.Helper()
	g := newTestGateway(t, Config{})
	ca := newClient(t, "a", codecsA)
	cb := newClient(t, "b", codecsB)
	ca.dial(g, "a", KindPhone)
	cb.dial(g, "b", KindPhone)
	if err := g.Connect("a", "b"); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	ca.sendCounter('A')
	cb.sendCounter('B')
	return g, ca, cb
}

// counters returns the counters of the packets tagged tag, in arrival order.
func counters(c *client, tag byte) []uint32 {
	var out []uint32
	for _, p := range c.packets(func(p received) bool { return len(p.payload) == 5 && p.payload[0] == tag }) {
		out = append(out, binary.BigEndian.Uint32(p.payload[1:]))
	}
	return out
}

func TestConnectForwardsBothWays(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g, ca, cb := bridged(t)

	waitFor(t, "b receives a's packets", func() bool { return cb.countTagged('A') >= 20 })
	waitFor(t, "a receives b's packets", func() bool { return ca.countTagged('B') >= 20 })

	for _, tc := range []struct {
		c    *client
		tag  byte
		opus uint8
	}{{cb, 'A', 109}, {ca, 'B', 111}} {
		got := counters(tc.c, tc.tag)
		for i := 1; i < len(got); i++ {
			if got[i] <= got[i-1] {
				t.Errorf("client %s: counters of %c not increasing: %v", tc.c.name, tc.tag, got)
				break
			}
		}
		for _, p := range tc.c.packets(nil) {
			if p.pt != tc.opus {
				t.Errorf("client %s got payload type %d, want its Opus type %d", tc.c.name, p.pt, tc.opus)
				break
			}
		}
		if tc.c.countTagged(tc.c.name[0]-'a'+'A') != 0 {
			t.Errorf("client %s received its own packets", tc.c.name)
		}
	}

	for _, id := range []string{"a", "b"} {
		if !directOn(g, id) {
			t.Errorf("leg %s does not send on its own SRTP path", id)
		}
	}
	if g.mux.directIn.Load() == 0 || g.mux.directOut.Load() == 0 {
		t.Errorf("own SRTP path: %d packets received, %d sent", g.mux.directIn.Load(), g.mux.directOut.Load())
	}

	first, ok := g.Stats("a")
	if !ok || first.PacketsReceived == 0 || first.BytesReceived == 0 || first.PacketsSent == 0 || first.BytesSent == 0 {
		t.Fatalf("Stats(a) = %+v, %v; want traffic both ways", first, ok)
	}
	waitFor(t, "BytesReceived grows", func() bool {
		s, _ := g.Stats("a")
		return s.BytesReceived > first.BytesReceived
	})
	if _, ok := g.Stats("nope"); ok {
		t.Error("Stats of an unknown leg reported ok")
	}
}

// directOn reports whether leg id sends on its own SRTP path.
func directOn(g *Gateway, id string) bool {
	g.mu.Lock()
	l := g.legs[id]
	g.mu.Unlock()
	if l == nil {
		return false
	}
	t := l.sendTrack()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.direct != nil
}

func TestSetForwardHoldsOneDirection(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g, ca, cb := bridged(t)
	waitFor(t, "audio both ways", func() bool { return cb.countTagged('A') >= 10 && ca.countTagged('B') >= 10 })

	g.SetForward("a", false)
	fromB := ca.countTagged('B')
	heldWhile(t, g, "a", "b", 10)
	waitFor(t, "b's audio reaching a while a is held", func() bool { return ca.countTagged('B') >= fromB+10 })
	heldAt := cb.countTagged('A')

	g.SetForward("a", true)
	waitFor(t, "a's audio resumes", func() bool { return cb.countTagged('A') >= heldAt+10 })

	// The gateway closes the gap in sequence numbers that the hold left.
	pkts := cb.packets(nil)
	for i := 1; i < len(pkts); i++ {
		if d := pkts[i].seq - pkts[i-1].seq; d != 1 {
			t.Fatalf("sequence jumps by %d at packet %d (%d -> %d)", d, i, pkts[i-1].seq, pkts[i].seq)
		}
	}
	g.SetForward("unknown", false) // ignored
}

func TestToneLeg(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTestGateway(t, Config{})
	c := newClient(t, "tone", pcmuOnly)
	c.dial(g, "t", KindTone)

	waitFor(t, "tone packets", func() bool { return len(c.packets(nil)) >= 5 })

	// The tone keeps playing, never faster than one frame per 20 ms:
	// counted at the gateway within a span the test measures around the
	// counts, a loaded machine can only make it slower. (A tick that came
	// just before the span and one buffered by the ticker may fall in it.)
	start := time.Now()
	s0, _ := g.Stats("t")
	n0 := len(c.packets(nil))
	waitFor(t, "25 more tone packets", func() bool { return len(c.packets(nil)) >= n0+25 })
	s1, _ := g.Stats("t")
	elapsed := time.Since(start)
	if sent, most := s1.PacketsSent-s0.PacketsSent, uint64(elapsed/toneFrame)+2; sent > most {
		t.Errorf("%d tone packets sent in %v, at most %d at one per %v", sent, elapsed, most, toneFrame)
	}
	// Each packet carries 20 ms of audio, by its RTP clock.
	pkts := c.packets(nil)
	for i, p := range pkts {
		if p.pt != 0 || len(p.payload) != toneFrameSize {
			t.Fatalf("tone packet with payload type %d and %d bytes, want 0 and %d", p.pt, len(p.payload), toneFrameSize)
		}
		if i > 0 && p.seq == pkts[i-1].seq+1 && p.ts-pkts[i-1].ts != toneFrameSize {
			t.Fatalf("tone timestamps step by %d, want %d", p.ts-pkts[i-1].ts, toneFrameSize)
		}
	}
	// The two counts move one after the other, after each frame.
	waitFor(t, "the tone counted", func() bool {
		s, _ := g.Stats("t")
		return s.PacketsSent > 0 && s.BytesSent == s.PacketsSent*toneFrameSize
	})
}

func TestEchoLeg(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTestGateway(t, Config{})
	c := newClient(t, "echo", codecsA)
	c.dial(g, "e", KindEcho)
	c.sendCounter('E')

	waitFor(t, "echoed packets", func() bool { return c.countTagged('E') >= 20 })
	got := counters(c, 'E')
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("echoed counters not increasing: %v", got)
		}
	}

	g.SetForward("e", false)
	heldWhile(t, g, "e", "e", 10)
}

// heldWhile checks that, once forwarding from leg from is off, the gateway
// sends nothing of it to leg to while it receives n more packets from from.
// It counts at the gateway, so no packet in flight can blur the count: at
// most the one packet being handled when forwarding went off may still be
// sent.
func heldWhile(t *testing.T, g *Gateway, from, to string, n uint64) {
	t.Helper()
	src, _ := g.Stats(from)
	dst, _ := g.Stats(to)
	waitFor(t, fmt.Sprintf("%d packets from %s while held", n, from), func() bool {
		s, _ := g.Stats(from)
		return s.PacketsReceived >= src.PacketsReceived+n
	})
	if now, _ := g.Stats(to); now.PacketsSent > dst.PacketsSent+1 {
		t.Fatalf("%s's audio reached %s while held: %d packets sent to it while %d more came from %s",
			from, to, now.PacketsSent-dst.PacketsSent, n, from)
	}
}

func TestTelephoneEventMapped(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	_, ca, cb := bridged(t)
	waitFor(t, "audio a to b", func() bool { return cb.countTagged('A') >= 5 })

	// a offered telephone-event at 48000 (110) and 8000 (126): the answer
	// keeps 8000 at the offer's own number.
	answer := ca.pc.RemoteDescription().SDP
	if !strings.Contains(answer, "a=rtpmap:126 telephone-event/8000") || strings.Contains(answer, "telephone-event/48000") {
		t.Fatalf("answer to a does not carry telephone-event/8000 at 126:\n%s", answer)
	}

	// RFC 4733 event: digit 5, end bit, volume 10, duration 800.
	event := []byte{5, 0x80 | 10, 0x03, 0x20}
	for range 3 {
		if !ca.track.send(classEvent8k, event) {
			t.Fatal("client a could not send telephone-event")
		}
	}
	isEvent := func(p received) bool { return len(p.payload) == 4 && p.payload[0] == 5 }
	waitFor(t, "b receives the event", func() bool { return len(cb.packets(isEvent)) >= 3 })
	for _, p := range cb.packets(isEvent) {
		if p.pt != 101 { // codecsB's telephone-event/8000
			t.Fatalf("event reached b with payload type %d, want 101", p.pt)
		}
		if string(p.payload) != string(event) {
			t.Fatalf("event payload %x, want %x", p.payload, event)
		}
	}

	// And the other way, onto a's telephone-event/8000 type.
	for range 3 {
		cb.track.send(classEvent8k, event)
	}
	waitFor(t, "a receives the event", func() bool { return len(ca.packets(isEvent)) >= 3 })
	for _, p := range ca.packets(isEvent) {
		if p.pt != 126 { // codecsA's telephone-event/8000
			t.Fatalf("event reached a with payload type %d, want 126", p.pt)
		}
	}
}

func TestBadOffers(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTestGateway(t, Config{})
	valid := newClient(t, "valid", codecsA).offer()
	ctx := context.Background()

	var candidates strings.Builder
	for i := range maxOfferCandidates + 1 {
		candidates.WriteString("a=candidate:1 1 udp 2130706431 127.0.0.1 ")
		candidates.WriteString(strings.Repeat("1", 1+i%4))
		candidates.WriteString(" typ host\r\n")
	}
	for _, tc := range []struct {
		name, offer string
		kind        Kind
	}{
		{"empty", "", KindPhone},
		{"garbage", "hello, gateway", KindPhone},
		{"binary", "\x00\xff\x10v=0\r\n", KindPhone},
		{"oversized", valid + strings.Repeat("a=x-pad:"+strings.Repeat("p", 100)+"\r\n", 700), KindPhone},
		{"too many candidates", valid + candidates.String(), KindPhone},
		{"no audio", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", KindPhone},
		{"opus offer to tone leg", valid, KindTone},
		{"no fingerprint", strings.ReplaceAll(valid, "a=fingerprint:", "a=x-fp:"), KindPhone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := g.OpenLeg(ctx, "bad", tc.offer, tc.kind)
			if !errors.Is(err, ErrBadOffer) {
				t.Fatalf("OpenLeg = %v, want ErrBadOffer", err)
			}
			if _, ok := g.Stats("bad"); ok {
				t.Fatal("a refused leg stayed open")
			}
		})
	}

	if _, err := g.OpenLeg(ctx, "x", valid, Kind(9)); err == nil {
		t.Error("OpenLeg accepted an unknown kind")
	}
	if err := g.Connect("x", "y"); !errors.Is(err, ErrNoSuchLeg) {
		t.Errorf("Connect of unknown legs = %v, want ErrNoSuchLeg", err)
	}
}

func TestCloseLegAndClose(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	failed := make(chan string, 4)
	g := newTestGateway(t, Config{OnLegFailed: func(id string) { failed <- id }})
	ca := newClient(t, "a", codecsA)
	cb := newClient(t, "b", codecsB)
	ca.dial(g, "a", KindPhone)
	cb.dial(g, "b", KindPhone)
	if err := g.Connect("a", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.OpenLeg(context.Background(), "a", newClient(t, "dup", codecsA).offer(), KindPhone); err == nil {
		t.Error("OpenLeg reused an open id")
	}

	g.CloseLeg("a")
	g.CloseLeg("a")
	g.CloseLeg("never opened")
	if _, ok := g.Stats("a"); ok {
		t.Error("Stats of a closed leg reported ok")
	}
	if err := g.Connect("a", "b"); !errors.Is(err, ErrNoSuchLeg) {
		t.Errorf("Connect to a closed leg = %v, want ErrNoSuchLeg", err)
	}

	if err := g.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, ok := g.Stats("b"); ok {
		t.Error("a leg survived Close")
	}
	if _, err := g.OpenLeg(context.Background(), "c", newClient(t, "c", codecsA).offer(), KindPhone); err == nil {
		t.Error("OpenLeg succeeded after Close")
	}
	// Close has waited for every failure handler: any report would be in.
	select {
	case id := <-failed:
		t.Errorf("OnLegFailed(%s) for a leg the gateway closed", id)
	default:
	}
}

func TestOnLegFailed(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	failed := make(chan string, 4)
	g := newTestGateway(t, Config{
		ICEDisconnectedTimeout: 300 * time.Millisecond,
		ICEFailedTimeout:       600 * time.Millisecond,
		OnLegFailed:            func(id string) { failed <- id },
	})
	c := newClient(t, "gone", codecsA)
	c.open(g, "gone", KindEcho)
	// The browser vanishes once connected — or before, should the short
	// timeouts fail the leg first on a slow machine: either way the leg
	// fails and is reported once.
	var id string
	waitFor(t, "the client connected or the leg failed", func() bool {
		select {
		case id = <-failed:
			return true
		default:
			return c.connected()
		}
	})
	c.close()
	if id == "" {
		select {
		case id = <-failed:
		case <-time.After(patience):
			t.Fatal("OnLegFailed not called")
		}
	}
	if id != "gone" {
		t.Fatalf("OnLegFailed(%q), want gone", id)
	}
	if _, ok := g.Stats("gone"); ok {
		t.Fatal("failed leg still open when reported")
	}
	// Close waits for every failure handler: a second report would be in.
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-failed:
		t.Fatalf("OnLegFailed(%q) called twice", id)
	default:
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{ListenIP: "not an ip"},
		{ListenIP: "::1"},
		{ListenIP: "127.0.0.1", UDPPort: 70000},
	} {
		if g, err := New(cfg); err == nil {
			_ = g.Close()
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestGatewayReportsPortAndICEServers(t *testing.T) {
	g := newTestGateway(t, Config{ICEServers: []string{"stun:stun.example.org:3478"}})
	if g.UDPPort() == 0 {
		t.Error("UDPPort is 0")
	}
	servers := g.ICEServers()
	if len(servers) != 1 || servers[0] != "stun:stun.example.org:3478" {
		t.Errorf("ICEServers = %v", servers)
	}
	servers[0] = "changed"
	if g.ICEServers()[0] == "changed" {
		t.Error("ICEServers exposes the gateway's slice")
	}
}

func TestListenAddrsHideLoopback(t *testing.T) {
	any4 := &net.UDPAddr{IP: net.IPv4zero, Port: 3478}
	for _, loopback := range []bool{false, true} {
		got, err := listenAddrs(any4, loopback)
		if err != nil {
			t.Fatal(err)
		}
		sawLoopback := false
		for _, a := range got {
			ua := a.(*net.UDPAddr)
			if ua.IP.To4() == nil || ua.Port != 3478 || ua.IP.IsUnspecified() {
				t.Errorf("listen address %v", ua)
			}
			sawLoopback = sawLoopback || ua.IP.IsLoopback()
		}
		if sawLoopback != loopback {
			t.Errorf("includeLoopback %v: addresses %v", loopback, got)
		}
	}
	one := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3478}
	if got, _ := listenAddrs(one, false); len(got) != 1 || got[0] != one {
		t.Errorf("bound to one address: %v", got)
	}
}

// TestWrongSRTPKeysKeepTheLibrarysPath: keys that do not authenticate
// (here made wrong on purpose) turn a leg's own path off and lose nothing:
// the audio flows through the library both ways.
func TestWrongSRTPKeysKeepTheLibrarysPath(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	directKeysHook = func(material []byte) {
		for i := range material {
			material[i] ^= 0xA5
		}
	}
	t.Cleanup(func() { directKeysHook = nil })
	g, ca, cb := bridged(t)
	waitFor(t, "b receives a's packets", func() bool { return cb.countTagged('A') >= directTrials+20 })
	waitFor(t, "a receives b's packets", func() bool { return ca.countTagged('B') >= directTrials+20 })
	for _, id := range []string{"a", "b"} {
		if directOn(g, id) {
			t.Errorf("leg %s sends on its own SRTP path with keys that do not authenticate", id)
		}
	}
	if n := g.mux.directIn.Load(); n != 0 {
		t.Errorf("%d packets taken by the own SRTP path", n)
	}
	for c, tag := range map[*client]byte{ca: 'B', cb: 'A'} {
		got := counters(c, tag)
		for i := 1; i < len(got); i++ {
			if got[i] != got[i-1]+1 {
				t.Errorf("client %s: counters %d then %d: a packet lost", c.name, got[i-1], got[i])
				break
			}
		}
	}
}
