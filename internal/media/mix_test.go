package media

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/thesyncim/gopus"
)

// mixTones are the conference tests' tones, one a member. No two are
// closer than 350 Hz, so that the spread of a tone cut short (a member's
// late packet) stays off the others, and none lies within 150 Hz of
// another's second or third harmonic or of a sum, difference or 2f₁−f₂
// product of two others, so that what a codec's distortion makes of the
// others never reads as a tone that should be absent. All are multiples of
// 50 Hz, whole bins of a 20 ms packet's analysis at 8 and 16 kHz, and
// within what G.711 carries.
var mixTones = [5]float64{1150, 1650, 2000, 2600, 3000}

const (
	mixToneLevel = 0.15 * math.MaxInt16 // each tone at about -16.5 dBFS: four summed do not clip
	// Thresholds on a tone's share of a window's energy: four tones of
	// one level take about a quarter each.
	tonePresent = 0.05
	toneAbsent  = 0.01
	// mixSettle is the packets a listener receives after a change (the
	// members' FIFOs, the codecs' memory) before it is looked at; mixWindow
	// the packets then looked at.
	mixSettle = 10
	mixWindow = 15
)

// sendTone makes the client send a sine at hz, encoded live in class cl
// (Opus with the gopus encoder, or G.711), one 20 ms packet every 20 ms,
// until it closes.
func (c *client) sendTone(cl codecClass, hz float64) {
	c.t.Helper()
	var enc *gopus.Encoder
	if cl == classOpus {
		var err error
		enc, err = gopus.NewEncoder(gopus.EncoderConfig{SampleRate: mixRate, Channels: 1, Application: gopus.ApplicationVoIP})
		if err != nil {
			c.t.Fatal(err)
		}
	}
	c.start(func() {
		ticker := time.NewTicker(20 * time.Millisecond)
		defer ticker.Stop()
		pcm := make([]int16, mixSamples)
		buf := make([]byte, 1500)
		for frame := 0; ; {
			select {
			case <-c.ctx.Done():
				return
			case <-ticker.C:
			}
			payload := toneFrameOf(cl, hz, frame, pcm, buf, enc)
			if payload != nil && c.track.send(cl, payload) {
				frame++
			}
		}
	})
}

// toneFrameOf is the frame-th 20 ms of a sine at hz in class cl, in buf.
func toneFrameOf(cl codecClass, hz float64, frame int, pcm []int16, buf []byte, enc *gopus.Encoder) []byte {
	rate := mixRate
	if cl != classOpus {
		rate = g711ClockRate
	}
	n := rate / 50
	for k := range n {
		pcm[k] = int16(math.Round(mixToneLevel * math.Sin(2*math.Pi*hz*float64(frame*n+k)/float64(rate))))
	}
	switch cl {
	case classOpus:
		m, err := enc.EncodeInt16(pcm[:n], buf)
		if err != nil {
			return nil
		}
		return buf[:m]
	case classPCMA:
		for k := range n {
			buf[k] = alaw(pcm[k])
		}
	default:
		for k := range n {
			buf[k] = ulaw(pcm[k])
		}
	}
	return buf[:n]
}

// decodeFrames decodes the packets a listener received, in class cl, in
// order: each packet's samples, and their rate.
func decodeFrames(t testing.TB, pkts []received, cl codecClass) ([][]float64, float64) {
	t.Helper()
	var dec *gopus.Decoder
	rate := float64(g711ClockRate)
	if cl == classOpus {
		var err error
		if dec, err = gopus.NewDecoder(gopus.DefaultDecoderConfig(mixRate, 1)); err != nil {
			t.Fatal(err)
		}
		rate = mixRate
	}
	buf := make([]int16, mixMaxDecoded)
	out := make([][]float64, len(pkts))
	for i, p := range pkts {
		var pcm []int16
		switch cl {
		case classOpus:
			n, err := dec.DecodeInt16(p.payload, buf)
			if err != nil {
				t.Fatalf("packet %d does not decode: %v", i, err)
			}
			pcm = buf[:n]
		case classPCMA:
			for _, b := range p.payload {
				buf[len(pcm)] = alawPCM[b]
				pcm = buf[:len(pcm)+1]
			}
		default:
			for _, b := range p.payload {
				buf[len(pcm)] = ulawPCM[b]
				pcm = buf[:len(pcm)+1]
			}
		}
		for _, v := range pcm {
			out[i] = append(out[i], float64(v))
		}
	}
	return out, rate
}

// toneShare is the share of x's energy at hz (x sampled at rate), under a
// Hann window: 1 for a pure tone at hz, 0 for silence.
func toneShare(x []float64, hz, rate float64) float64 {
	n := len(x)
	if n < 2 {
		return 0
	}
	y := make([]float64, n)
	var sw, sw2, energy float64
	for i, v := range x {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		y[i] = v * w
		sw += w
		sw2 += w * w
		energy += y[i] * y[i]
	}
	if energy == 0 {
		return 0
	}
	// A tone of amplitude A gives Goertzel power (A·Σw/2)² and energy
	// A²·Σw²/2.
	return goertzel(y, hz, rate) / (energy * sw * sw / (2 * sw2))
}

// mixPeer is a test browser in a conference: its leg, codec and tone.
type mixPeer struct {
	*client
	id   string
	cl   codecClass
	tone float64
}

// mixPeers dials the first n of five browsers, three Opus phone legs and
// two trunk phone legs (PCMU and PCMA), each sending its tone of mixTones,
// and waits until the gateway receives each.
func mixPeers(t *testing.T, g *Gateway, n int) []*mixPeer {
	t.Helper()
	pcmaOnly := clientCodecs{pcma: 8, usePCMA: true, event8k: 101}
	specs := []struct {
		codecs clientCodecs
		kind   Kind
		cl     codecClass
	}{
		{codecsA, KindPhone, classOpus},
		{codecsB, KindPhone, classOpus},
		{codecsA, KindPhone, classOpus},
		{pcmuOnly, KindTrunkPhone, classPCMU},
		{pcmaOnly, KindTrunkPhone, classPCMA},
	}
	var peers []*mixPeer
	for i, s := range specs[:n] {
		id := fmt.Sprintf("p%d", i)
		p := &mixPeer{client: newClient(t, id, s.codecs), id: id, cl: s.cl, tone: mixTones[i]}
		p.dial(g, id, s.kind)
		p.sendTone(s.cl, p.tone)
		peers = append(peers, p)
	}
	for _, p := range peers {
		waitReceived(t, g, p.id, 10)
	}
	return peers
}

// all makes every peer a speaking, listening member.
func all(peers []*mixPeer) []MixMember {
	var out []MixMember
	for _, p := range peers {
		out = append(out, MixMember{Leg: p.id, Speak: true, Listen: true})
	}
	return out
}

// sentTo is the packets the gateway has sent to each peer's leg.
func sentTo(t testing.TB, g *Gateway, peers []*mixPeer) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, p := range peers {
		s, ok := g.Stats(p.id)
		if !ok {
			t.Fatalf("no leg %s", p.id)
		}
		out[p.id] = int(s.PacketsSent)
	}
	return out
}

// heardAfter waits until peer p received mixSettle+mixWindow packets past
// its leg's count from, and returns the decoded packets from mixSettle past
// it on.
func heardAfter(t testing.TB, p *mixPeer, from int) ([][]float64, float64) {
	t.Helper()
	start := from + mixSettle
	waitFor(t, p.id+" receives the mix", func() bool { return len(p.packets(nil)) >= start+mixWindow })
	frames, rate := decodeFrames(t, p.packets(nil), p.cl)
	return frames[start:], rate
}

// checkHears checks that frames (the first mixWindow of them, as one
// window) carry each tone of present and none of absent, and that no frame
// alone carries a tone of absent.
//
// A frame the mix made while others' packets were late on a loaded machine
// is near silence with the spread of the tones cut short: no tone can be
// told in it, and one that should be absent would make it loud. Frames
// under a quarter of the median level are not judged alone; at least half
// must be.
func checkHears(t testing.TB, who string, frames [][]float64, rate float64, present, absent []float64) {
	t.Helper()
	var window []float64
	for _, f := range frames[:mixWindow] {
		window = append(window, f...)
	}
	for _, hz := range present {
		if s := toneShare(window, hz, rate); s < tonePresent {
			t.Errorf("%s: %v Hz takes %.3f of the audio, want at least %v", who, hz, s, tonePresent)
		}
	}
	levels := make([]float64, len(frames))
	for i, f := range frames {
		for _, v := range f {
			levels[i] += v * v
		}
		levels[i] = math.Sqrt(levels[i] / float64(max(len(f), 1)))
	}
	median := slices.Clone(levels)
	slices.Sort(median)
	floor := median[len(median)/2] / 4
	for _, hz := range absent {
		if s := toneShare(window, hz, rate); s > toneAbsent {
			t.Errorf("%s: %v Hz takes %.4f of the audio, want at most %v", who, hz, s, toneAbsent)
		}
		judged, traced := 0, false
		for i, f := range frames {
			if levels[i] < floor {
				continue
			}
			judged++
			if s := toneShare(f, hz, rate); s > 2*toneAbsent {
				t.Errorf("%s: packet %d holds %.4f of %v Hz (RMS %.0f)", who, i, s, hz, levels[i])
				traced = true
				break
			}
		}
		if !traced && judged < len(frames)/2 {
			t.Errorf("%s: %d packets of %d loud enough to judge", who, judged, len(frames))
		}
	}
}

// tonesOf are the tones of peers, but the one of skip (nil: none).
func tonesOf(peers []*mixPeer, skip ...*mixPeer) []float64 {
	var out []float64
	for _, p := range peers {
		if !slices.Contains(skip, p) {
			out = append(out, p.tone)
		}
	}
	return out
}

// mixMembers are the legs of mix id's members, in order.
func (g *Gateway) mixMembers(id string) []string {
	g.mu.Lock()
	m := g.mixes[id]
	g.mu.Unlock()
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, mm := range m.members {
		out = append(out, mm.l.id)
	}
	return out
}

func TestMixEveryoneHearsTheOthers(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTestGateway(t, Config{})
	peers := mixPeers(t, g, 5)
	if err := g.SetMix("conf", all(peers)); err != nil {
		t.Fatal(err)
	}
	marks := sentTo(t, g, peers)
	for _, p := range peers {
		frames, rate := heardAfter(t, p, marks[p.id])
		checkHears(t, p.id, frames, rate, tonesOf(peers, p), []float64{p.tone})
	}
	for _, p := range peers {
		checkStream(t, p.id, p.packets(nil), 0)
	}

	t.Run("removed", func(t *testing.T) {
		gone, rest := peers[4], peers[:4]
		if err := g.SetMix("conf", all(rest)); err != nil {
			t.Fatal(err)
		}
		marks := sentTo(t, g, peers)
		for _, p := range rest {
			frames, rate := heardAfter(t, p, marks[p.id])
			checkHears(t, p.id, frames, rate, tonesOf(rest, p), []float64{p.tone, gone.tone})
		}
		if s, _ := g.Stats(gone.id); int(s.PacketsSent) != marks[gone.id] {
			t.Errorf("%s was sent %d packets after it left the mix", gone.id, int(s.PacketsSent)-marks[gone.id])
		}
		g.mu.Lock()
		l := g.legs[gone.id]
		inMix, peer := l.mixIn.Load() != nil || l.mixed != nil, l.peer.Load()
		g.mu.Unlock()
		if inMix || peer != nil {
			t.Errorf("the removed leg is still in the mix (%v) or linked (%v)", inMix, peer)
		}
	})

	t.Run("muted and deaf", func(t *testing.T) {
		rest := peers[:4]
		muted, deaf := rest[0], rest[1]
		set := all(rest)
		set[0].Speak = false
		set[1].Listen = false
		if err := g.SetMix("conf", set); err != nil {
			t.Fatal(err)
		}
		marks := sentTo(t, g, peers)
		for _, p := range rest {
			if p == deaf {
				continue
			}
			frames, rate := heardAfter(t, p, marks[p.id])
			checkHears(t, p.id, frames, rate, tonesOf(rest, p, muted), []float64{p.tone, muted.tone})
		}
		if s, _ := g.Stats(deaf.id); int(s.PacketsSent) != marks[deaf.id] {
			t.Errorf("%s, not listening, was sent %d packets", deaf.id, int(s.PacketsSent)-marks[deaf.id])
		}
	})

	t.Run("refused", func(t *testing.T) {
		before := g.mixMembers("conf")
		err := g.SetMix("conf", append(all(peers), MixMember{Leg: "nobody", Speak: true, Listen: true}))
		if !errors.Is(err, ErrNoSuchLeg) {
			t.Errorf("SetMix with an unknown leg: %v, want ErrNoSuchLeg", err)
		}
		tone := newClient(t, "tone", pcmuOnly)
		tone.open(g, "tone", KindTone)
		if err := g.SetMix("conf", append(all(peers[:2]), MixMember{Leg: "tone"})); !errors.Is(err, errNotMixable) {
			t.Errorf("SetMix with a tone leg: %v, want errNotMixable", err)
		}
		if err := g.SetMix("conf", append(all(peers[:2]), all(peers[:1])...)); !errors.Is(err, errMixedTwice) {
			t.Errorf("SetMix with a leg twice: %v, want errMixedTwice", err)
		}
		if got := g.mixMembers("conf"); !slices.Equal(got, before) {
			t.Errorf("members %v after refused changes, want %v", got, before)
		}
	})

	t.Run("member closed", func(t *testing.T) {
		g.CloseLeg(peers[3].id)
		if got, want := g.mixMembers("conf"), []string{"p0", "p1", "p2"}; !slices.Equal(got, want) {
			t.Errorf("members %v after a member closed, want %v", got, want)
		}
	})

	t.Run("ended", func(t *testing.T) {
		g.mu.Lock()
		m := g.mixes["conf"]
		g.mu.Unlock()
		if err := g.SetMix("conf", nil); err != nil {
			t.Fatal(err)
		}
		select {
		case <-m.done:
		default:
			t.Error("the mix's goroutine runs on after the mix ended")
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if len(g.mixes) != 0 {
			t.Errorf("%d mixes after the last ended", len(g.mixes))
		}
		for _, p := range peers[:3] {
			if l := g.legs[p.id]; l.mixIn.Load() != nil || l.mixed != nil {
				t.Errorf("leg %s still in a mix", p.id)
			}
		}
	})
}

// A carrier's leg joins before its codec is negotiated and is mixed once it
// is: it hears the browsers, and they hear it.
func TestMixCarrierJoinsBeforeItsAnswer(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTrunkGateway(t, Config{})
	peers := mixPeers(t, g, 2)
	offer, err := g.OfferRTP(context.Background(), "c", RTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	members := append(all(peers), MixMember{Leg: "c", Speak: true, Listen: true})
	if err := g.SetMix("conf", members); err != nil {
		t.Fatal(err)
	}
	car := newCarrier(t, "carrier", carrierOpts{pcma: true})
	car.learn(offer)
	if err := g.ApplyRTPAnswer("c", car.sdp("sendrecv")); err != nil {
		t.Fatal(err)
	}
	carTone := mixTones[4]
	frames := g711Tone(carTone, 1000, 0, alaw) // 20 s: more than the test needs
	car.sendFrames(frames)

	waitFor(t, "the carrier hears the mix", func() bool { return len(car.packets(nil)) >= mixSettle+mixWindow })
	pkts := car.packets(nil)
	for _, p := range pkts {
		if p.pt != 8 {
			t.Fatalf("the carrier got payload type %d, want PCMA's 8", p.pt)
		}
	}
	heard, rate := decodeFrames(t, pkts[mixSettle:], classPCMA)
	checkHears(t, "carrier", heard, rate, tonesOf(peers), []float64{carTone})
	checkStream(t, "toward the carrier", pkts, 0)
	for i := 1; i < len(pkts); i++ {
		// 20 ms a packet; more where the mix skipped ticks it was late for.
		if d := pkts[i].ts - pkts[i-1].ts; d == 0 || d%toneFrameSize != 0 || d > 100*toneFrameSize {
			t.Fatalf("toward the carrier: timestamp steps by %d at packet %d", d, i)
		}
	}

	// Once the carrier's packets flow, the browsers hear it.
	waitReceived(t, g, "c", 5)
	marks := sentTo(t, g, peers)
	for _, p := range peers {
		frames, rate := heardAfter(t, p, marks[p.id])
		checkHears(t, p.id, frames, rate, append(tonesOf(peers, p), carTone), []float64{p.tone})
	}
}

// Joining a mix unlinks a leg from its peer and takes it out of another
// mix, which ends when left empty; Connect takes legs out of their mix.
func TestMixJoinLeavesPeerAndOtherMix(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g, ca, _ := bridged(t)
	waitFor(t, "b's audio reaching a", func() bool { return ca.countTagged('B') >= 5 })
	if err := g.SetMix("m1", []MixMember{{Leg: "a", Speak: true, Listen: true}}); err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	la, lb := g.legs["a"], g.legs["b"]
	linked := la.peer.Load() != nil || lb.peer.Load() != nil
	g.mu.Unlock()
	if linked {
		t.Error("a joined a mix and is still linked to b")
	}
	if err := g.SetMix("m2", []MixMember{{Leg: "a", Speak: true, Listen: true}, {Leg: "b", Speak: true, Listen: true}}); err != nil {
		t.Fatal(err)
	}
	if got := g.mixMembers("m1"); got != nil {
		t.Errorf("m1 has %v after its one member left", got)
	}
	if got := g.mixMembers("m2"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("m2 has %v", got)
	}
	if err := g.Connect("a", "b"); err != nil {
		t.Fatal(err)
	}
	if got := g.mixMembers("m2"); got != nil {
		t.Errorf("m2 has %v after Connect took both out", got)
	}
	after := ca.countTagged('B')
	waitFor(t, "b's audio relayed to a again", func() bool { return ca.countTagged('B') >= after+5 })
}

// A member playing a prompt gets the prompt, not the mix; the mix comes
// back after it, and the relay does not.
func TestMixHeldWhileAPromptPlays(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTestGateway(t, Config{})
	peers := mixPeers(t, g, 2)
	if err := g.SetMix("conf", all(peers)); err != nil {
		t.Fatal(err)
	}
	p := peers[0]
	waitFor(t, "the mix reaches p0", func() bool { return len(p.packets(nil)) >= 5 })
	done := make(chan error, 1)
	beep := Beep()
	if err := g.Play(p.id, []*Prompt{beep}, func(err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	if err := await(t, "the prompt", done); err != nil {
		t.Fatal(err)
	}
	n := len(p.packets(nil))
	waitFor(t, "the mix again", func() bool { return len(p.packets(nil)) >= n+mixSettle })
	all := p.packets(nil)
	first := slices.IndexFunc(all, isPrompt(beep))
	if first < 0 {
		t.Fatal("no prompt frame")
	}
	for i, q := range all[first : first+len(beep.opus)] {
		if !isPrompt(beep)(q) {
			t.Fatalf("packet %d of the prompt is not a prompt frame", i)
		}
	}
	checkStream(t, p.id, all, 0)
	if rest := all[first+len(beep.opus):]; !rest[0].marker {
		t.Error("the mix's return after the prompt is not marked")
	}
}

// The resamplers keep what G.711 carries and nothing of what it cannot.
func TestMixResamplers(t *testing.T) {
	const n = 50 // 20 ms frames
	// Up: 1 kHz at 8 kHz stays 1 kHz at 16 kHz, with no image at 7 kHz.
	var up upsampler
	var wide []float64
	in, out := make([]int16, mixSamples/2), make([]int16, mixSamples)
	for f := range n {
		for k := range in {
			in[k] = int16(8000 * math.Sin(2*math.Pi*1000*float64(f*len(in)+k)/g711ClockRate))
		}
		up.run(in, out)
		for _, v := range out {
			wide = append(wide, float64(v))
		}
	}
	wide = wide[len(wide)/2:]
	if s := toneShare(wide, 1000, mixRate); s < 0.99 {
		t.Errorf("upsampled: 1 kHz takes %.4f", s)
	}
	if s := toneShare(wide, 7000, mixRate); s > 1e-4 {
		t.Errorf("upsampled: the 7 kHz image takes %.6f", s)
	}
	// Down: 1 kHz passes, 6 kHz does not fold to 2 kHz.
	var down downsampler
	var narrow []float64
	in, out = make([]int16, mixSamples), make([]int16, mixSamples/2)
	for f := range n {
		for k := range in {
			x := float64(f*len(in)+k) / mixRate
			in[k] = int16(8000*math.Sin(2*math.Pi*1000*x) + 8000*math.Sin(2*math.Pi*6000*x))
		}
		down.run(in, out)
		for _, v := range out {
			narrow = append(narrow, float64(v))
		}
	}
	narrow = narrow[len(narrow)/2:]
	if s := toneShare(narrow, 1000, g711ClockRate); s < 0.99 {
		t.Errorf("downsampled: 1 kHz takes %.4f", s)
	}
	if s := toneShare(narrow, 2000, g711ClockRate); s > 1e-4 {
		t.Errorf("downsampled: 6 kHz folded to 2 kHz takes %.6f", s)
	}
}

// The forwarding path hands a member's packets to its mix without
// allocating, drops its events, and drops the oldest packet when the mix
// falls behind.
func TestMixTapAllocatesNothingAndDropsOldest(t *testing.T) {
	from, s, _ := pair(codecList(111, 126, 0), codecList(109, 101, 0))
	tap := newMixTap()
	tap.speak.Store(true)
	from.mixIn.Store(tap)
	pkt := packet(t, 111, 1, 960, 42, []byte{1, 2, 3})
	allocs := testing.AllocsPerRun(1000, func() {
		from.forwardPacket(s, pkt)
		tap.free <- <-tap.queue // the mix takes it
	})
	if allocs != 0 {
		t.Errorf("%v allocations a packet", allocs)
	}
	from.forwardPacket(s, packet(t, 126, 2, 960, 42, []byte{1, 0x80, 0, 160}))
	if len(tap.queue) != 0 {
		t.Error("a telephone-event reached the mix")
	}
	for i := range mixQueue + 3 {
		from.forwardPacket(s, packet(t, 111, uint16(3+i), 960, 42, []byte{byte(i)}))
	}
	if len(tap.queue) != mixQueue || tap.dropped.Load() != 3 {
		t.Fatalf("queue %d, dropped %d; want %d and 3", len(tap.queue), tap.dropped.Load(), mixQueue)
	}
	if p := <-tap.queue; p.buf[0] != 3 {
		t.Errorf("the oldest queued packet is %d, want 3: the oldest go first", p.buf[0])
	}
	tap.speak.Store(false)
	n := len(tap.queue)
	from.forwardPacket(s, pkt)
	if len(tap.queue) != n {
		t.Error("a muted member's packet reached the mix")
	}
}

// A tick allocates nothing of its own once the members' codecs have warmed
// up. The Opus decoder allocates now and then by itself (when a packet
// makes it conceal inside, about one packet in twenty here): fewer than
// one allocation in ten packets is let through for Opus.
func TestMixTickAllocatesNothing(t *testing.T) {
	const members, ticks = 5, 500
	for _, cl := range []codecClass{classOpus, classPCMU} {
		m, feed := benchMix(t, members, cl)
		// The codecs make their scratch buffers as they first need them.
		for range 100 {
			feed()
			m.tick()
		}
		allocs := testing.AllocsPerRun(1, func() {
			for range ticks {
				feed()
				m.tick()
			}
		})
		limit := 0.0
		if cl == classOpus {
			limit = members * ticks / 10
		}
		if allocs > limit {
			t.Errorf("%s: %v allocations in %d ticks of %d members, want at most %v", cl, allocs, ticks, members, limit)
		}
		for _, mm := range m.current {
			if mm.l.packetsSent.Load() == 0 {
				t.Errorf("%s: nothing sent to %s", cl, mm.l.id)
			}
		}
	}
}

// Frames more in a member's FIFO that its jitter has not needed for
// mixTrimAfter ticks go in a quiet moment, never while it speaks.
func TestMixTrimsUnneededFramesWhenQuiet(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hz    float64
		ahead int // frames that came with the first one
		want  int // samples left in the FIFO after a tick
	}{
		{"a frame, quiet", 0, 1, 0},
		{"two frames, quiet", 0, 2, 0},
		{"speaking", 1000, 2, 2 * mixSamples},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := benchMix(t, 1, classPCMU)
			mm := m.members[0]
			frames := g711Tone(tc.hz, 2*mixTrimAfter, 0, ulaw)
			// The first packet came late: the others wait with it.
			for _, f := range frames[:1+tc.ahead] {
				mm.tap.offer(classPCMU, f)
			}
			m.tick()
			if mm.fifo.n != tc.ahead*mixSamples {
				t.Fatalf("%d samples left after the first tick, want %d", mm.fifo.n, tc.ahead*mixSamples)
			}
			for _, f := range frames[1+tc.ahead:] {
				mm.tap.offer(classPCMU, f)
				m.tick()
			}
			if mm.fifo.n != tc.want {
				t.Errorf("%d samples left after %d ticks, want %d", mm.fifo.n, len(frames)-tc.ahead, tc.want)
			}
		})
	}
}

// An Opus member whose packet is late is concealed by its decoder for a
// few ticks, fading, and then silent.
func TestMixConcealsALatePacket(t *testing.T) {
	m, feed := benchMix(t, 1, classOpus)
	for range 20 {
		feed()
		m.tick()
	}
	mm := m.members[0]
	peak := func() int {
		p := 0
		for _, v := range mm.pcm {
			p = max(p, abs(int(v)))
		}
		return p
	}
	speaking := peak()
	for i := range mixConceal {
		m.tick()
		if p := peak(); !mm.spoke || p == 0 || p > 2*speaking {
			t.Fatalf("tick %d without a packet: spoke %v, peak %d (speaking: %d)", i, mm.spoke, p, speaking)
		}
	}
	m.tick()
	if mm.spoke {
		t.Errorf("concealed for more than %d ticks", mixConceal)
	}
	feed()
	m.tick()
	if !mm.spoke || mm.hidden != 0 {
		t.Errorf("the member's next packet: spoke %v, hidden %d", mm.spoke, mm.hidden)
	}
}

// A member's recording goes on getting what the member says.
func TestMixMemberStillRecorded(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTestGateway(t, Config{})
	peers := mixPeers(t, g, 2)
	if err := g.SetMix("conf", all(peers)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "member.ogg")
	if err := g.Record("r", RecordOptions{Path: path, Legs: []string{peers[0].id}}); err != nil {
		t.Fatal(err)
	}
	s, _ := g.Stats(peers[0].id)
	waitReceived(t, g, peers[0].id, s.PacketsReceived+40)
	res, err := g.StopRecording("r")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ch := checkOgg(t, data, 1)
	// The 40 frames it said while recorded are in the file: half of them at
	// least, whatever gaps a loaded machine left between them (the file
	// runs on the clock, so it may be much longer than what was said).
	if got := toneTime(ch[0], peers[0].tone, opusRate); got < 20*20*time.Millisecond {
		t.Errorf("%v of %v Hz in a recording of %v", got, peers[0].tone, res.Duration)
	}
}
