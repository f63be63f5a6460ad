package media

import (
	"context"
	"errors"
	"math"
	"testing"
)

// isRingback tells the gateway's ringback frames (160 bytes of G.711) from
// the tagged test audio (5 bytes).
func isRingback(p received) bool { return len(p.payload) == toneFrameSize }

// carrierFor opens RTP leg "c" with the codec of browser leg "b", the
// gateway offering and a new carrier answering, not connected to anything.
func carrierFor(t *testing.T, g *Gateway, o carrierOpts) *carrier {
	t.Helper()
	car := newCarrier(t, "carrier", o)
	offer, err := g.OfferRTP(context.Background(), "c", RTPOptions{Like: "b"})
	if err != nil {
		t.Fatalf("OfferRTP: %v", err)
	}
	car.learn(offer)
	if err := g.ApplyRTPAnswer("c", car.sdp("sendrecv")); err != nil {
		t.Fatalf("ApplyRTPAnswer: %v", err)
	}
	return car
}

// goertzelLevel is the level in dBFS of the hz component of samples taken at
// 8 kHz (the Goertzel algorithm: one bin of a DFT).
func goertzelLevel(samples []float64, hz float64) float64 {
	k := 2 * math.Cos(2*math.Pi*hz/toneRate)
	var s1, s2 float64
	for _, x := range samples {
		s1, s2 = x+k*s1-s2, s1
	}
	power := s1*s1 + s2*s2 - k*s1*s2
	amplitude := 2 * math.Sqrt(max(power, 0)) / float64(len(samples))
	return 20 * math.Log10(max(amplitude, 1e-9)/math.MaxInt16)
}

// checkRingingTone checks that frames, decoded with decode, hold 440 Hz and
// 480 Hz at about -16 dBFS each, and hardly anything at the frequencies of
// other tones. Ten frames are 200 ms: every frequency checked makes whole
// cycles in it, so that none leaks into another's bin.
func checkRingingTone(t *testing.T, frames []received, decode func(byte) int) {
	t.Helper()
	var samples []float64
	for _, p := range frames {
		for _, b := range p.payload {
			samples = append(samples, float64(decode(b)))
		}
	}
	for _, hz := range []float64{440, 480} {
		if l := goertzelLevel(samples, hz); l < ringLevel-1.5 || l > ringLevel+1.5 {
			t.Errorf("%.0f Hz at %.1f dBFS, want %.0f", hz, l, ringLevel)
		}
	}
	for _, hz := range []float64{350, 620, 1000, 1400} {
		if l := goertzelLevel(samples, hz); l > -45 {
			t.Errorf("%.0f Hz at %.1f dBFS in the ringback", hz, l)
		}
	}
}

// ringRunning reports whether leg id's ringback goroutine runs.
func ringRunning(g *Gateway, id string) bool {
	g.mu.Lock()
	l := g.legs[id]
	g.mu.Unlock()
	l.ring.mu.Lock()
	defer l.ring.mu.Unlock()
	return l.ring.running
}

// checkTimestampsRise checks that the timestamps of pkts never go back,
// and that each packet that does not follow on by step is marked.
func checkTimestampsRise(t *testing.T, pkts []received, step uint32) {
	t.Helper()
	for i := 1; i < len(pkts); i++ {
		d := int32(pkts[i].ts - pkts[i-1].ts)
		switch {
		case d < 0:
			t.Fatalf("timestamp goes back by %d at packet %d", -d, i)
		case uint32(d) != step && !pkts[i].marker && pkts[i].pt == pkts[i-1].pt:
			t.Fatalf("timestamp steps by %d at packet %d, unmarked", d, i)
		}
	}
}

func TestRingbackThenCarrier(t *testing.T) {
	for _, tc := range []struct {
		name   string
		codecs clientCodecs
		pcma   bool
		decode func(byte) int
	}{
		{"PCMU", chrome, false, ulawDecode},
		{"PCMA", opusAndPCMA, true, alawDecode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			testTimeout(t)
			g := newTrunkGateway(t, Config{})
			b := newClient(t, "browser", tc.codecs)
			b.dial(g, "b", KindTrunkPhone)
			wantPT := uint8(0)
			if tc.pcma {
				wantPT = 8
			}

			if err := g.Ringback("b", true); err != nil {
				t.Fatalf("Ringback: %v", err)
			}
			waitFor(t, "ringback frames", func() bool { return len(b.packets(isRingback)) >= 12 })
			ring := b.packets(isRingback)
			// Whether the very first frame is marked is not checked here: the
			// browser may drop what comes before its SRTP is ready. The frame
			// that starts the ringback again later is (below).
			checkStream(t, "ringback", ring, toneFrameSize)
			for _, p := range ring {
				if p.pt != wantPT {
					t.Fatalf("ringback with payload type %d, want %d", p.pt, wantPT)
				}
			}
			checkRingingTone(t, ring[2:12], tc.decode)
			// A frame is counted once written: the browser may have it first.
			waitFor(t, "the ringback counted", func() bool {
				s, _ := g.Stats("b")
				return s.PacketsSent >= 12 && s.BytesSent >= 12*toneFrameSize
			})

			// The carrier's early media: Connect replaces the ringback at
			// once, in the same stream.
			car := carrierFor(t, g, carrierOpts{pcma: tc.pcma})
			car.sendCounter('C')
			if err := g.Connect("b", "c"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the carrier's audio", func() bool { return b.countTagged('C') >= 10 })
			all := b.packets(nil)
			first := 0
			for !isTagged('C')(all[first]) {
				if !isRingback(all[first]) {
					t.Fatalf("packet %d is neither ringback nor the carrier's: %x", first, all[first].payload)
				}
				first++
			}
			for i, p := range all[first:] {
				if !isTagged('C')(p) {
					t.Fatalf("packet %d after the carrier's first is not the carrier's (%d bytes)", first+i, len(p.payload))
				}
				if p.pt != wantPT {
					t.Fatalf("carrier audio with payload type %d, want %d", p.pt, wantPT)
				}
			}
			checkStream(t, "toward the browser", all, 0)
			checkTimestampsRise(t, all, toneFrameSize)
			if !all[first].marker || int32(all[first].ts-all[first-1].ts) <= 0 {
				t.Fatalf("the carrier's first packet: marker %v, timestamp step %d", all[first].marker, int32(all[first].ts-all[first-1].ts))
			}

			// The carrier leg goes with the ringback still on: it comes
			// back, in the same stream.
			car.close()
			g.CloseLeg("c")
			waitFor(t, "ringback again", func() bool { return len(b.packets(isRingback)) >= len(ring)+5 })
			all = b.packets(nil)
			checkStream(t, "toward the browser", all, 0)
			checkTimestampsRise(t, all, toneFrameSize)
			back := first
			for !isRingback(all[back]) {
				back++
			}
			if !all[back].marker {
				t.Fatal("the ringback's return is not marked")
			}

			if err := g.Ringback("b", false); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the ringback's goroutine ends", func() bool { return !ringRunning(g, "b") })
			// On again, then the leg closes: CloseLeg waits for the
			// goroutine, and checkGoroutines sees it gone.
			if err := g.Ringback("b", true); err != nil {
				t.Fatal(err)
			}
			if err := g.Ringback("b", true); err != nil {
				t.Fatal(err)
			}
			n := len(b.packets(isRingback))
			waitFor(t, "ringback on again", func() bool { return len(b.packets(isRingback)) > n })
			g.CloseLeg("b")
		})
	}
}

func TestRingbackRefused(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	newClient(t, "phone", codecsA).open(g, "phone", KindPhone)
	if _, err := g.OfferRTP(context.Background(), "c", RTPOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := g.Ringback("nobody", true); !errors.Is(err, ErrNoSuchLeg) {
		t.Errorf("Ringback(unknown) = %v, want ErrNoSuchLeg", err)
	}
	for _, id := range []string{"phone", "c"} {
		if err := g.Ringback(id, true); !errors.Is(err, errNotTrunk) {
			t.Errorf("Ringback(%s) = %v, want errNotTrunk", id, err)
		}
	}
}

// BenchmarkRingbackFrame sends one ringback frame on a live trunk phone
// leg: the gateway's step (a slice of the shared table, the numbering) plus
// the library's send path to a loopback client.
func BenchmarkRingbackFrame(b *testing.B) {
	g := newTestGateway(b, Config{})
	c := newClient(b, "browser", chrome)
	c.mu.Lock()
	c.countOnly = true
	c.mu.Unlock()
	c.dial(g, "b", KindTrunkPhone)
	g.mu.Lock()
	l := g.legs["b"]
	g.mu.Unlock()
	table := ringTables()[l.audio]
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if !l.sendRingFrame(table.frame(i%ringCycleFrames), false) {
			b.Fatal("frame not sent")
		}
	}
	b.StopTimer()
	waitFor(b, "the client receives frames", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.total > 0
	})
}
