package media

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// newTrunkGateway is a test gateway whose RTP legs report every 50 ms.
func newTrunkGateway(t *testing.T, cfg Config) *Gateway {
	t.Helper()
	g := newTestGateway(t, cfg)
	g.rtcpInterval = 50 * time.Millisecond
	return g
}

// trunkCall opens browser leg "b" (a trunk phone) and RTP leg "c" toward a
// carrier, and connects them. Outbound, the gateway offers (SRTP when the
// carrier speaks it) and the carrier answers; inbound, the carrier offers
// and the browser leg takes the RTP leg's codec.
func trunkCall(t *testing.T, g *Gateway, inbound bool, o carrierOpts, codecs clientCodecs) (*client, *carrier) {
	t.Helper()
	ctx := context.Background()
	b := newClient(t, "browser", codecs)
	car := newCarrier(t, "carrier", o)
	if inbound {
		answer, err := g.AnswerRTP(ctx, "c", car.sdp("sendrecv"), RTPOptions{})
		if err != nil {
			t.Fatalf("AnswerRTP: %v", err)
		}
		car.learn(answer)
		b.openLike(g, "b", "c")
	} else {
		b.open(g, "b", KindTrunkPhone)
		offer, err := g.OfferRTP(ctx, "c", RTPOptions{Like: "b", SRTP: o.srtp})
		if err != nil {
			t.Fatalf("OfferRTP: %v", err)
		}
		car.learn(offer)
		if err := g.ApplyRTPAnswer("c", car.sdp("sendrecv")); err != nil {
			t.Fatalf("ApplyRTPAnswer: %v", err)
		}
	}
	waitFor(t, "browser connected", b.connected)
	if err := g.Connect("b", "c"); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return b, car
}

// audioLine is the m=audio line of an SDP.
func audioLine(t *testing.T, sdp string) string {
	t.Helper()
	for line := range strings.Lines(sdp) {
		if strings.HasPrefix(line, "m=audio") {
			return strings.TrimSpace(line)
		}
	}
	t.Fatalf("no m=audio line in\n%s", sdp)
	return ""
}

// checkStream checks that packets form one continuous stream: one SSRC,
// sequence numbers that step by one, and audio timestamps by step.
func checkStream(t *testing.T, who string, pkts []received, step uint32) {
	t.Helper()
	for i := 1; i < len(pkts); i++ {
		p, q := pkts[i-1], pkts[i]
		if q.ssrc != p.ssrc {
			t.Fatalf("%s: SSRC changes from %x to %x at packet %d", who, p.ssrc, q.ssrc, i)
		}
		if q.seq != p.seq+1 {
			t.Fatalf("%s: sequence jumps from %d to %d at packet %d", who, p.seq, q.seq, i)
		}
		if step != 0 && q.ts-p.ts != step {
			t.Fatalf("%s: timestamp steps by %d at packet %d, want %d", who, q.ts-p.ts, i, step)
		}
	}
}

func isTagged(tag byte) func(received) bool {
	return func(p received) bool { return len(p.payload) == 5 && p.payload[0] == tag }
}

func TestTrunkPhoneAnswersG711(t *testing.T) {
	for _, tc := range []struct {
		name   string
		codecs clientCodecs
		want   string // the answer's m=audio formats; "" = refused
	}{
		{"PCMU when offered", chrome, "0 126"},
		{"else PCMA", opusAndPCMA, "8 126"},
		{"neither", codecsA, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			testTimeout(t)
			g := newTestGateway(t, Config{})
			c := newClient(t, "browser", tc.codecs)
			if tc.want == "" {
				_, err := g.OpenLeg(context.Background(), "b", c.offer(), KindTrunkPhone)
				if !errors.Is(err, ErrBadOffer) || !strings.Contains(err.Error(), "PCMU/8000 or PCMA/8000") {
					t.Fatalf("OpenLeg = %v, want ErrBadOffer naming PCMU and PCMA", err)
				}
				return
			}
			c.dial(g, "b", KindTrunkPhone)
			if got := audioLine(t, c.pc.RemoteDescription().SDP); !strings.HasSuffix(got, " "+tc.want) {
				t.Fatalf("answer's audio line %q, want formats %q", got, tc.want)
			}
		})
	}
}

func TestTrunkCallRelaysBothWays(t *testing.T) {
	for _, tc := range []struct {
		name    string
		inbound bool
		o       carrierOpts
		codec   codecClass
	}{
		{"outbound RTP", false, carrierOpts{}, classPCMU},
		{"outbound SRTP", false, carrierOpts{srtp: true}, classPCMU},
		{"inbound RTP with rtcp-mux", true, carrierOpts{mux: true}, classPCMU},
		{"inbound SRTP with rtcp-mux", true, carrierOpts{srtp: true, mux: true}, classPCMU},
		{"inbound PCMA only", true, carrierOpts{pcma: true}, classPCMA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			testTimeout(t)
			g := newTrunkGateway(t, Config{})
			b, car := trunkCall(t, g, tc.inbound, tc.o, chrome)
			wantPT := uint8(0)
			if tc.codec == classPCMA {
				wantPT = 8
			}
			b.sendCounterAs(tc.codec, 'B')
			car.sendCounter('C')
			waitFor(t, "the carrier receives the browser's audio", func() bool { return car.countTagged('B') >= 20 })
			waitFor(t, "the browser receives the carrier's audio", func() bool { return b.countTagged('C') >= 20 })

			// Toward the carrier: the carrier's payload type, the RTP
			// leg's own SSRC, one stream at 20 ms of G.711 a packet.
			toCarrier := car.packets(isTagged('B'))
			browserSSRC := b.track.bound.Load().ssrc
			for _, p := range toCarrier {
				if p.pt != wantPT {
					t.Fatalf("carrier got payload type %d, want %d", p.pt, wantPT)
				}
				if p.ssrc == browserSSRC {
					t.Fatal("the browser's SSRC reached the carrier")
				}
			}
			checkStream(t, "toward the carrier", toCarrier, 160)
			checkStream(t, "toward the browser", b.packets(isTagged('C')), 160)
			for _, p := range b.packets(isTagged('C')) {
				if p.pt != wantPT {
					t.Fatalf("browser got payload type %d, want %d", p.pt, wantPT)
				}
				if p.ssrc == car.ssrc {
					t.Fatal("the carrier's SSRC reached the browser")
				}
			}

			s, ok := g.Stats("c")
			if !ok || s.PacketsReceived < 20 || s.PacketsSent < 20 || s.BytesSent != 5*s.PacketsSent || s.BytesReceived != 5*s.PacketsReceived {
				t.Fatalf("Stats(c) = %+v", s)
			}
		})
	}
}

func TestTrunkTelephoneEventMapped(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	ctx := context.Background()
	b := newClient(t, "browser", chrome)
	b.dial(g, "b", KindTrunkPhone)
	offer, err := g.OfferRTP(ctx, "c", RTPOptions{Like: "b"})
	if err != nil {
		t.Fatal(err)
	}
	// Offered: the browser's codec only, and telephone-event/8000.
	if got := audioLine(t, offer); !strings.HasSuffix(got, "RTP/AVP 0 101") || !strings.Contains(offer, "a=rtpmap:101 telephone-event/8000\r\n") {
		t.Fatalf("offer:\n%s", offer)
	}
	car := newCarrier(t, "carrier", carrierOpts{}) // telephone-event at 96
	car.learn(offer)
	if err := g.ApplyRTPAnswer("c", car.sdp("sendrecv")); err != nil {
		t.Fatal(err)
	}
	if err := g.Connect("b", "c"); err != nil {
		t.Fatal(err)
	}

	// RFC 4733 event: digit 5, end bit, volume 10, duration 800.
	event := []byte{5, 0x80 | 10, 0x03, 0x20}
	isEvent := func(p received) bool { return len(p.payload) == 4 && p.payload[0] == 5 }
	for range 3 {
		if !b.track.send(classEvent8k, event) {
			t.Fatal("the browser could not send telephone-event")
		}
	}
	waitFor(t, "the carrier receives the event", func() bool { return len(car.packets(isEvent)) >= 3 })
	for _, p := range car.packets(isEvent) {
		if p.pt != car.event || string(p.payload) != string(event) {
			t.Fatalf("event reached the carrier with payload type %d (want %d) and payload %x", p.pt, car.event, p.payload)
		}
	}
	for range 3 {
		car.send(car.event, event, false)
	}
	waitFor(t, "the browser receives the event", func() bool { return len(b.packets(isEvent)) >= 3 })
	for _, p := range b.packets(isEvent) {
		if p.pt != 126 { // chrome's telephone-event/8000
			t.Fatalf("event reached the browser with payload type %d, want 126", p.pt)
		}
	}
}

func TestTrunkRewritesCarrierStream(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	b, car := trunkCall(t, g, false, carrierOpts{}, chrome)

	// From sequence number 65500 past the wrap, then a new SSRC starting
	// over at unrelated numbers: the browser sees one stream.
	car.sendAudio('C', 0, 50)
	waitFor(t, "the first 50 packets", func() bool { return b.countTagged('C') >= 50 })
	car.newSource()
	car.sendAudio('C', 50, 10)
	waitFor(t, "the new source's packets", func() bool { return b.countTagged('C') >= 60 })
	pkts := b.packets(isTagged('C'))
	checkStream(t, "toward the browser", pkts, 0)
	before, after := pkts[49], pkts[50]
	if !after.marker || int32(after.ts-before.ts) <= 0 {
		t.Fatalf("the new source starts with marker %v and timestamp step %d", after.marker, int32(after.ts-before.ts))
	}
	for i := 51; i < len(pkts); i++ {
		if pkts[i].ts-pkts[i-1].ts != 160 {
			t.Fatalf("timestamp step %d within the new source", pkts[i].ts-pkts[i-1].ts)
		}
	}
}

func TestTrunkHoldAndResume(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	ctx := context.Background()
	b, car := trunkCall(t, g, false, carrierOpts{}, chrome)
	b.sendCounterAs(classPCMU, 'B')
	car.sendCounter('C')
	waitFor(t, "audio both ways", func() bool { return car.countTagged('B') >= 10 && b.countTagged('C') >= 10 })
	l, _ := g.rtpLeg("c")
	port := strconv.Itoa(l.rtp.port)

	reoffer := func(c *carrier, dir, want string) {
		t.Helper()
		answer, err := g.AnswerRTP(ctx, "c", c.sdp(dir), RTPOptions{})
		if err != nil {
			t.Fatalf("AnswerRTP(%s): %v", dir, err)
		}
		if !strings.Contains(answer, "a="+want+"\r\n") {
			t.Fatalf("answer to %s does not say %s:\n%s", dir, want, answer)
		}
		if got := strings.Fields(audioLine(t, answer))[1]; got != port {
			t.Fatalf("answer moved the leg from port %s to %s", port, got)
		}
		c.learn(answer)
	}

	// The carrier holds the call: it still sends (music), the gateway
	// sends nothing.
	reoffer(car, "sendonly", "recvonly")
	heldWhile(t, g, "b", "c", 10)
	fromCarrier := b.countTagged('C')
	waitFor(t, "the carrier's audio while it holds", func() bool { return b.countTagged('C') >= fromCarrier+10 })

	// Inactive: nothing either way.
	reoffer(car, "inactive", "inactive")
	heldWhile(t, g, "c", "b", 10)
	heldWhile(t, g, "b", "c", 10)
	atHold := car.countTagged('B')

	// The carrier resumes from another address.
	car.close()
	moved := newCarrier(t, "moved", carrierOpts{})
	reoffer(moved, "sendrecv", "sendrecv")
	moved.sendCounter('D')
	waitFor(t, "audio both ways at the new address", func() bool {
		return moved.countTagged('B') >= 10 && b.countTagged('D') >= 10
	})
	if n := car.countTagged('B'); n != atHold {
		t.Fatalf("%d packets reached the old address after the hold", n-atHold)
	}
	// The stream toward the carrier went on across the hold: same SSRC,
	// next sequence number, later timestamp, marked.
	old := car.packets(isTagged('B'))
	last, first := old[len(old)-1], moved.packets(isTagged('B'))[0]
	if first.ssrc != last.ssrc || first.seq != last.seq+1 || int32(first.ts-last.ts) < 160 || !first.marker {
		t.Fatalf("after the hold: SSRC %x→%x, seq %d→%d, ts step %d, marker %v",
			last.ssrc, first.ssrc, last.seq, first.seq, int32(first.ts-last.ts), first.marker)
	}
	checkStream(t, "toward the moved carrier", moved.packets(isTagged('B')), 160)
	// Toward the browser, the carrier's stream from the new address
	// (same SSRC, its numbers started over) follows on as well.
	pkts := b.packets(nil)
	checkStream(t, "toward the browser", pkts, 0)
}

func TestTrunkGatewayHoldsCarrier(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	ctx := context.Background()
	b, car := trunkCall(t, g, true, carrierOpts{srtp: true, mux: true}, chrome)
	b.sendCounterAs(classPCMU, 'B')
	waitFor(t, "audio to the carrier", func() bool { return car.countTagged('B') >= 5 })

	// The gateway re-offers sendonly (the browser holds); the carrier
	// answers recvonly. The key and codec stay.
	offer, err := g.OfferRTP(ctx, "c", RTPOptions{Direction: SendOnly})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(offer, "a=sendonly\r\n") || !strings.Contains(audioLine(t, offer), "RTP/SAVP 0 101") {
		t.Fatalf("hold offer:\n%s", offer)
	}
	car.learn(offer) // the same key as before: its contexts carry on
	if err := g.ApplyRTPAnswer("c", car.sdp("recvonly")); err != nil {
		t.Fatal(err)
	}
	// The gateway still sends what it is given (the browser's audio here;
	// music on hold in a call) and takes nothing from the carrier.
	car.sendCounter('C')
	heldWhile(t, g, "c", "b", 10)
	n := car.countTagged('B')
	waitFor(t, "audio to the carrier while holding it", func() bool { return car.countTagged('B') >= n+10 })
}

func TestTrunkRTCP(t *testing.T) {
	for _, mux := range []bool{false, true} {
		t.Run(fmt.Sprintf("mux=%v", mux), func(t *testing.T) {
			checkGoroutines(t)
			testTimeout(t)
			g := newTrunkGateway(t, Config{})
			b, car := trunkCall(t, g, true, carrierOpts{srtp: mux, mux: mux}, chrome)
			b.sendCounterAs(classPCMU, 'B')
			waitFor(t, "audio to the carrier", func() bool { return car.countTagged('B') >= 5 })
			ours := car.packets(nil)[0].ssrc

			// Ten packets with three missing in the middle.
			car.sendAudio('C', 0, 5)
			car.sendMu.Lock()
			car.seq += 3
			car.sendMu.Unlock()
			car.sendAudio('C', 5, 5)
			var sr *rtcp.SenderReport
			highest := uint32(65500 + 12)
			waitFor(t, "a sender report that counts the loss", func() bool {
				for _, p := range car.rtcpOf(func(p rtcp.Packet) bool { _, ok := p.(*rtcp.SenderReport); return ok }) {
					r := p.(*rtcp.SenderReport)
					if r.SSRC == ours && len(r.Reports) == 1 && r.Reports[0].SSRC == car.ssrc && r.Reports[0].LastSequenceNumber == highest {
						sr = r
						return true
					}
				}
				return false
			})
			if sr.Reports[0].TotalLost != 3 || sr.PacketCount == 0 || sr.OctetCount != 5*sr.PacketCount {
				t.Fatalf("sender report %+v, want 3 lost", sr)
			}
			if len(car.rtcpOf(func(p rtcp.Packet) bool {
				sd, ok := p.(*rtcp.SourceDescription)
				return ok && len(sd.Chunks) == 1 && sd.Chunks[0].Source == ours && strings.HasSuffix(sd.Chunks[0].Items[0].Text, "@callbridge")
			})) == 0 {
				t.Fatal("no CNAME with the reports")
			}
			if s, _ := g.Stats("c"); s.InboundLost != 3 {
				t.Fatalf("InboundLost %d, want 3", s.InboundLost)
			}

			// The carrier reports on the gateway's stream.
			lsr := uint32(sr.NTPTime >> 16)
			car.sendRTCP(&rtcp.ReceiverReport{SSRC: car.ssrc, Reports: []rtcp.ReceptionReport{
				{SSRC: ours, TotalLost: 7, Jitter: 800, LastSenderReport: lsr},
			}})
			waitFor(t, "the carrier's report in Stats", func() bool {
				s, _ := g.Stats("c")
				return s.PacketsLost == 7
			})
			if s, _ := g.Stats("c"); s.JitterMs != 100 || s.RTTMs <= 0 {
				t.Fatalf("Stats(c) = %+v, want jitter 100 ms and a round trip", s)
			}

			// Closing the leg says goodbye.
			g.CloseLeg("c")
			waitFor(t, "a BYE", func() bool {
				return len(car.rtcpOf(func(p rtcp.Packet) bool {
					bye, ok := p.(*rtcp.Goodbye)
					return ok && len(bye.Sources) == 1 && bye.Sources[0] == ours
				})) > 0
			})
		})
	}
}

// TestTrunkToTrunkRelay is a call from the phone network transferred or
// forwarded to another outside number: RTP leg "a" answers carrier A's
// offer, RTP leg "b" offers carrier B the same codec (Like "a"), and the two
// are connected. Each carrier sees one stream of the gateway's own on its
// leg, with its own payload types; a hold on one leg stops only what comes
// from that carrier; both legs report.
func TestTrunkToTrunkRelay(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pcma   bool
		a, b   carrierOpts
		wantPT uint8
	}{
		{"PCMU plain", false, carrierOpts{}, carrierOpts{mux: true}, 0},
		{"PCMA SRTP", true, carrierOpts{pcma: true, srtp: true, mux: true}, carrierOpts{pcma: true, srtp: true}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			testTimeout(t)
			g := newTrunkGateway(t, Config{})
			ctx := context.Background()
			carA := newCarrier(t, "A", tc.a)
			carA.event, carA.ssrc = 101, 0xA11CE
			carB := newCarrier(t, "B", tc.b)
			carB.event, carB.ssrc, carB.seq, carB.ts = 96, 0xB0B, 100, 5000
			formats := fmt.Sprintf(" %d 101", tc.wantPT)

			answer, err := g.AnswerRTP(ctx, "a", carA.sdp("sendrecv"), RTPOptions{})
			if err != nil {
				t.Fatalf("AnswerRTP: %v", err)
			}
			if !strings.HasSuffix(audioLine(t, answer), formats) {
				t.Fatalf("answer to carrier A:\n%s", answer)
			}
			carA.learn(answer)
			offer, err := g.OfferRTP(ctx, "b", RTPOptions{Like: "a", SRTP: tc.b.srtp})
			if err != nil {
				t.Fatalf("OfferRTP: %v", err)
			}
			// Offered: leg a's codec only, and telephone-event.
			if !strings.HasSuffix(audioLine(t, offer), formats) {
				t.Fatalf("offer to carrier B:\n%s", offer)
			}
			carB.learn(offer)
			if err := g.ApplyRTPAnswer("b", carB.sdp("sendrecv")); err != nil {
				t.Fatalf("ApplyRTPAnswer: %v", err)
			}
			if err := g.Connect("a", "b"); err != nil {
				t.Fatalf("Connect: %v", err)
			}
			la, _ := g.rtpLeg("a")
			lb, _ := g.rtpLeg("b")
			ssrcA, ssrcB := la.rtp.out.ssrc, lb.rtp.out.ssrc

			// Audio: 50 packets each way, carrier A's across its sequence
			// number wrap.
			carA.sendAudio('A', 0, 50)
			carB.sendAudio('B', 0, 50)
			waitFor(t, "audio both ways", func() bool { return carB.countTagged('A') >= 50 && carA.countTagged('B') >= 50 })
			for _, d := range []struct {
				who        string
				to         *carrier
				tag        byte
				ssrc, from uint32
			}{
				{"toward carrier B", carB, 'A', ssrcB, carA.ssrc},
				{"toward carrier A", carA, 'B', ssrcA, carB.ssrc},
			} {
				pkts := d.to.packets(isTagged(d.tag))
				checkStream(t, d.who, pkts, 160)
				for i, p := range pkts {
					if p.pt != tc.wantPT || p.ssrc != d.ssrc {
						t.Fatalf("%s: payload type %d and SSRC %x, want %d and the leg's own %x (the source's is %x)",
							d.who, p.pt, p.ssrc, tc.wantPT, d.ssrc, d.from)
					}
					if got := binary.BigEndian.Uint32(p.payload[1:]); got != uint32(i) {
						t.Fatalf("%s: packet %d carries counter %d", d.who, i, got)
					}
				}
			}
			if ssrcA == ssrcB {
				t.Fatal("both legs send under one SSRC")
			}

			// RFC 4733 events, digit 5 then digit 7, mapped between the
			// carriers' payload types.
			event5, event7 := []byte{5, 0x80 | 10, 0x03, 0x20}, []byte{7, 0x80 | 10, 0x03, 0x20}
			isDigit := func(d byte) func(received) bool {
				return func(p received) bool { return len(p.payload) == 4 && p.payload[0] == d }
			}
			for range 3 {
				carA.send(carA.event, event5, false)
				carB.send(carB.event, event7, false)
			}
			waitFor(t, "events both ways", func() bool {
				return len(carB.packets(isDigit(5))) >= 3 && len(carA.packets(isDigit(7))) >= 3
			})
			for _, d := range []struct {
				who   string
				to    *carrier
				digit byte
				ssrc  uint32
				sent  []byte
			}{
				{"toward carrier B", carB, 5, ssrcB, event5},
				{"toward carrier A", carA, 7, ssrcA, event7},
			} {
				for _, p := range d.to.packets(isDigit(d.digit)) {
					if p.pt != d.to.event || p.ssrc != d.ssrc || string(p.payload) != string(d.sent) {
						t.Fatalf("%s: event with payload type %d (want %d), SSRC %x (want %x), payload %x (want %x)",
							d.who, p.pt, d.to.event, p.ssrc, d.ssrc, p.payload, d.sent)
					}
				}
				// The events follow on from the audio in one stream.
				checkStream(t, d.who, d.to.packets(nil), 0)
			}

			// Both legs report to their carriers: their own SSRC, with a
			// block about the carrier's stream; the carriers' reports
			// about the gateway's reach Stats.
			for _, d := range []struct {
				id   string
				car  *carrier
				ssrc uint32
				lost uint32
			}{
				{"a", carA, ssrcA, 3},
				{"b", carB, ssrcB, 5},
			} {
				waitFor(t, "a sender report to carrier "+d.car.name, func() bool {
					return len(d.car.rtcpOf(func(p rtcp.Packet) bool {
						sr, ok := p.(*rtcp.SenderReport)
						return ok && sr.SSRC == d.ssrc && sr.PacketCount >= 53 &&
							len(sr.Reports) == 1 && sr.Reports[0].SSRC == d.car.ssrc && sr.Reports[0].TotalLost == 0
					})) > 0
				})
				d.car.sendRTCP(&rtcp.ReceiverReport{SSRC: d.car.ssrc, Reports: []rtcp.ReceptionReport{
					{SSRC: d.ssrc, TotalLost: d.lost},
				}})
				waitFor(t, "carrier "+d.car.name+"'s report in Stats", func() bool {
					s, _ := g.Stats(d.id)
					return s.PacketsLost == int64(d.lost)
				})
			}

			// Hold on leg b: the gateway re-offers sendonly, carrier B
			// answers recvonly. Carrier B's audio no longer reaches
			// carrier A; carrier A's still reaches carrier B.
			carA.sendCounter('a')
			carB.sendCounter('b')
			waitFor(t, "counters both ways", func() bool { return carB.countTagged('a') >= 5 && carA.countTagged('b') >= 5 })
			hold, err := g.OfferRTP(ctx, "b", RTPOptions{Direction: SendOnly})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(hold, "a=sendonly\r\n") || !strings.HasSuffix(audioLine(t, hold), formats) {
				t.Fatalf("hold offer:\n%s", hold)
			}
			carB.learn(hold)
			if err := g.ApplyRTPAnswer("b", carB.sdp("recvonly")); err != nil {
				t.Fatal(err)
			}
			heldWhile(t, g, "b", "a", 10)
			n := carB.countTagged('a')
			waitFor(t, "carrier A's audio to held carrier B", func() bool { return carB.countTagged('a') >= n+10 })
			atHold := len(carA.packets(nil))

			// Resume: carrier B's audio reaches carrier A again, in the
			// same stream, marked, its timestamp moved on by the pause.
			resume, err := g.OfferRTP(ctx, "b", RTPOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(resume, "a=sendrecv\r\n") {
				t.Fatalf("resume offer:\n%s", resume)
			}
			carB.learn(resume)
			if err := g.ApplyRTPAnswer("b", carB.sdp("sendrecv")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "carrier B's audio after the hold", func() bool { return len(carA.packets(nil)) >= atHold+10 })
			pkts := carA.packets(nil)
			checkStream(t, "toward carrier A across the hold", pkts, 0)
			last, first := pkts[atHold-1], pkts[atHold]
			if !first.marker || int32(first.ts-last.ts) <= 5*160 {
				t.Fatalf("after the hold: marker %v, timestamp step %d", first.marker, int32(first.ts-last.ts))
			}
			checkStream(t, "toward carrier B across the hold", carB.packets(nil), 0)
		})
	}
}

func TestRTPPortRange(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{RTPPorts: PortRange{Min: 41001, Max: 41005}}) // pairs 41002 and 41004
	ctx := context.Background()
	portOf := func(sdp string) string { return strings.Fields(audioLine(t, sdp))[1] }
	offer := func(id string) (string, error) { return g.OfferRTP(ctx, id, RTPOptions{}) }

	o1, err := offer("r1")
	if err != nil {
		t.Fatal(err)
	}
	o2, err := offer("r2")
	if err != nil {
		t.Fatal(err)
	}
	if portOf(o1) != "41002" || portOf(o2) != "41004" {
		t.Fatalf("ports %s and %s, want 41002 and 41004", portOf(o1), portOf(o2))
	}
	// RTCP has the odd port above.
	if c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 41003}); err == nil {
		_ = c.Close()
		t.Fatal("the RTCP port of the second leg is free")
	}
	_, err = offer("r3")
	if !errors.Is(err, ErrNoPorts) || !strings.Contains(err.Error(), "41001-41005") {
		t.Fatalf("third leg: %v, want ErrNoPorts naming the range", err)
	}
	if _, ok := g.Stats("r3"); ok {
		t.Fatal("a leg without ports stayed open")
	}

	g.CloseLeg("r1")
	if n := g.ports.taken(); n != 1 {
		t.Fatalf("%d pairs taken after closing one of two", n)
	}
	o3, err := offer("r3")
	if err != nil || portOf(o3) != "41002" {
		t.Fatalf("after a close: %v, port %s", err, portOf(o3))
	}

	// A port another program holds is passed over.
	g.CloseLeg("r2")
	g.CloseLeg("r3")
	busy, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 41004})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	o4, err := offer("r4")
	if err != nil || portOf(o4) != "41002" {
		t.Fatalf("with 41004 busy: %v, port %s", err, portOf(o4))
	}
	if _, err := offer("r5"); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("with 41004 busy and 41002 taken: %v, want ErrNoPorts", err)
	}

	// The default range.
	d := newTestGateway(t, Config{})
	o, err := d.OfferRTP(ctx, "x", RTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var p int
	if _, err := fmt.Sscan(portOf(o), &p); err != nil || p < 20000 || p > 20998 || p%2 != 0 {
		t.Fatalf("default range gave port %s", portOf(o))
	}
	if !regexp.MustCompile(`(?m)^c=IN IP4 127\.0\.0\.1\r$`).MatchString(o) {
		t.Fatalf("offer does not advertise the listen address:\n%s", o)
	}
}

func TestRTPLegRefusals(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	ctx := context.Background()
	phone := newClient(t, "phone", codecsA)
	phone.dial(g, "opus", KindPhone)

	if _, err := g.OpenLeg(ctx, "x", phone.offer(), KindRTP); err == nil {
		t.Error("OpenLeg opened an RTP leg")
	}
	if _, err := g.OfferRTP(ctx, "opus", RTPOptions{}); !errors.Is(err, errNotRTP) {
		t.Errorf("OfferRTP on a browser leg: %v", err)
	}
	if err := g.ApplyRTPAnswer("nope", "v=0"); !errors.Is(err, ErrNoSuchLeg) {
		t.Errorf("ApplyRTPAnswer on no leg: %v", err)
	}
	if _, err := g.OfferRTP(ctx, "r", RTPOptions{Like: "opus"}); !errors.Is(err, ErrCodecMismatch) {
		t.Errorf("OfferRTP like an Opus leg: %v", err)
	}
	if _, err := g.OfferRTP(ctx, "r", RTPOptions{Direction: Direction(9)}); err == nil {
		t.Error("OfferRTP with an unknown direction")
	}

	// An RTP leg whose answer has not come has no codec yet.
	if _, err := g.OfferRTP(ctx, "pending", RTPOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.OpenLegLike(ctx, "b", newClient(t, "b", chrome).offer(), "pending"); !errors.Is(err, ErrCodecMismatch) {
		t.Errorf("OpenLegLike an unanswered leg: %v", err)
	}

	// No transcoding: Opus does not connect to G.711.
	car := newCarrier(t, "carrier", carrierOpts{})
	answer, err := g.AnswerRTP(ctx, "c", car.sdp("sendrecv"), RTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Connect("opus", "c"); !errors.Is(err, ErrCodecMismatch) {
		t.Errorf("Connect(opus, PCMU) = %v, want ErrCodecMismatch", err)
	}
	// A browser that offers no PCMA cannot take a PCMA carrier.
	pcma := newCarrier(t, "pcma", carrierOpts{pcma: true})
	if _, err := g.AnswerRTP(ctx, "a", pcma.sdp("sendrecv"), RTPOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.OpenLegLike(ctx, "pb", newClient(t, "pb", pcmuOnly).offer(), "a"); !errors.Is(err, ErrBadOffer) || !strings.Contains(err.Error(), "PCMA/8000") {
		t.Errorf("OpenLegLike a PCMA leg with a PCMU-only browser: %v", err)
	}

	// A re-offer without the leg's codec is refused and changes nothing.
	lc, _ := g.rtpLeg("c")
	before := lc.rtp.state.Load()
	if _, err := g.AnswerRTP(ctx, "c", strings.Replace(car.sdp("sendrecv"), " 0 8 96", " 8 96", 1), RTPOptions{}); !errors.Is(err, ErrBadOffer) {
		t.Errorf("re-offer without PCMU: %v", err)
	}
	if lc.rtp.state.Load() != before {
		t.Error("a refused re-offer changed the leg")
	}
	// An answer with no offer of the gateway pending.
	if err := g.ApplyRTPAnswer("c", answer); !errors.Is(err, ErrBadAnswer) {
		t.Errorf("answer without an offer: %v", err)
	}
}

func TestRTPBadSDP(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	ctx := context.Background()
	car := newCarrier(t, "carrier", carrierOpts{})
	good := car.sdp("sendrecv")
	sec := newCarrier(t, "secure", carrierOpts{srtp: true}).sdp("sendrecv")
	for _, tc := range []struct{ name, sdp string }{
		{"empty", ""},
		{"garbage", "hello, carrier"},
		{"binary", "\x00\xff\x10v=0\r\n"},
		{"oversized", good + strings.Repeat("a=x-pad:"+strings.Repeat("p", 100)+"\r\n", 700)},
		{"no media", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"},
		{"video only", strings.Replace(good, "m=audio", "m=video", 1)},
		{"audio refused", regexp.MustCompile(`m=audio \d+`).ReplaceAllString(good, "m=audio 0")},
		{"DTLS profile", strings.Replace(good, "RTP/AVP", "UDP/TLS/RTP/SAVPF", 1)},
		{"G.729 only", strings.Replace(good, " 0 8 96", " 18", 1)},
		{"SRTP without a key", regexp.MustCompile(`a=crypto:[^\r]*\r\n`).ReplaceAllString(sec, "")},
		{"SRTP with another suite", strings.Replace(sec, "AES_CM_128_HMAC_SHA1_80", "AES_256_CM_HMAC_SHA1_80", 1)},
		{"SRTP key with an MKI", strings.Replace(sec, "|2^31", "|2^31|1:4", 1)},
		{"SRTP short key", regexp.MustCompile(`inline:\S+`).ReplaceAllString(sec, "inline:AAAA")},
		{"IPv6", strings.ReplaceAll(good, "IN IP4 127.0.0.1", "IN IP6 ::1")},
		{"host name", strings.ReplaceAll(good, "c=IN IP4 127.0.0.1", "c=IN IP4 carrier.example")},
		{"no address", strings.Replace(good, "c=IN IP4 127.0.0.1\r\n", "", 1)},
	} {
		t.Run("offer/"+tc.name, func(t *testing.T) {
			if _, err := g.AnswerRTP(ctx, "bad", tc.sdp, RTPOptions{}); !errors.Is(err, ErrBadOffer) {
				t.Fatalf("AnswerRTP = %v, want ErrBadOffer", err)
			}
			if _, ok := g.Stats("bad"); ok || g.ports.taken() != 0 {
				t.Fatal("a refused offer left a leg or its ports")
			}
		})
	}

	// Answers to the gateway's offer (crypto tag 1, when SRTP).
	sec = strings.Replace(sec, "a=crypto:7 ", "a=crypto:1 ", 1)
	for _, tc := range []struct {
		name, sdp string
		srtp      bool
	}{
		{"garbage", "v=0\r\nm=", false},
		{"audio refused", regexp.MustCompile(`m=audio \d+`).ReplaceAllString(good, "m=audio 0"), false},
		{"codec not offered", strings.Replace(good, " 0 8 96", " 18 96", 1), false},
		{"plain answer to SRTP", good, true},
		{"SRTP answer to plain", sec, false},
		{"another tag", strings.Replace(sec, "a=crypto:1 ", "a=crypto:2 ", 1), true},
		{"another suite", strings.Replace(sec, "_80 ", "_32 ", 1), true},
	} {
		t.Run("answer/"+tc.name, func(t *testing.T) {
			if _, err := g.OfferRTP(ctx, "out", RTPOptions{SRTP: tc.srtp}); err != nil {
				t.Fatal(err)
			}
			defer g.CloseLeg("out")
			if err := g.ApplyRTPAnswer("out", tc.sdp); !errors.Is(err, ErrBadAnswer) {
				t.Fatalf("ApplyRTPAnswer = %v, want ErrBadAnswer", err)
			}
			// Nothing was negotiated: a good answer still applies.
			good := good
			if tc.srtp {
				good = sec
			}
			if err := g.ApplyRTPAnswer("out", good); err != nil {
				t.Fatalf("a good answer after a bad one: %v", err)
			}
		})
	}
}

func TestTrunkCloseFreesEverything(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	b, car := trunkCall(t, g, false, carrierOpts{srtp: true}, chrome)
	b.sendCounterAs(classPCMU, 'B')
	car.sendCounter('C')
	waitFor(t, "audio both ways", func() bool { return car.countTagged('B') >= 5 && b.countTagged('C') >= 5 })
	g.CloseLeg("c")
	g.CloseLeg("c")
	if g.ports.taken() != 0 {
		t.Fatal("ports still taken after CloseLeg")
	}
	if _, err := g.OfferRTP(context.Background(), "again", RTPOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if g.ports.taken() != 0 {
		t.Fatal("ports still taken after Close")
	}
}
