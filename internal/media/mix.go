package media

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/thesyncim/gopus"
)

// Conference mixing: the gateway is the conference's mixer (an MCU). Each
// member leg keeps the one stream it negotiated; what a member says goes
// into a mix at 16 kHz, and each member is sent the sum of the others, not
// itself, in its own codec on its own stream. The forwarding path only
// copies a member's packet into a fixed pool and queues it (mixTap, as a
// recording's tap does); the mix's one goroutine does the rest on a 20 ms
// clock: decode, sum, subtract, encode, send.

// MixMember is one leg of a conference mix.
type MixMember struct {
	Leg    string
	Speak  bool // its audio goes into the others' mix (false while muted or held)
	Listen bool // it receives the mix of the others (false while held)
}

const (
	mixRate    = 16000                 // the mix's sample rate
	mixFrame   = 20 * time.Millisecond // one tick, one packet to each listener
	mixSamples = mixRate / 50          // 320 samples a tick
	// mixFIFOMax caps what a member has decoded and not yet mixed: 80 ms.
	// Beyond it the oldest samples go, so that a sender whose clock runs
	// fast, or a burst after a stall, cannot add latency for good.
	mixFIFOMax = 4 * mixSamples
	// mixQueue is the packets a member's tap holds for the mix goroutine
	// (200 ms of 20 ms packets); when full, the oldest is dropped.
	mixQueue = 10
	// mixMaxDecoded is the longest Opus packet decoded, 120 ms at 16 kHz.
	mixMaxDecoded = 120 * mixRate / 1000
	// mixMaxBehind is how many ticks the goroutine runs back to back to
	// catch up with its clock; further behind, it skips ahead.
	mixMaxBehind = 3
	// mixTrimAfter is how long (2 s) a member's FIFO must keep whole
	// frames beyond the one taken at every tick before those frames, once
	// quiet, are dropped: they were not needed against its jitter, and
	// they delay what it says. mixQuiet is the peak of a quiet frame
	// (about -36 dBFS).
	mixTrimAfter = 100
	mixQuiet     = 512
	// mixConceal is how many ticks in a row an Opus member's late or lost
	// packets are concealed by its decoder (60 ms) before it is silent.
	mixConceal = 3

	// The Opus encoder of each Opus listener: wideband speech at 24
	// kbit/s, complexity 0 (see doc.go for the figures behind the choice).
	mixOpusBitrate    = 24000
	mixOpusComplexity = 0
)

var (
	errNotMixable = errors.New("media: leg cannot be mixed")
	errMixedTwice = errors.New("media: leg listed twice in a mix")
)

// mixPacket is a packet a member's tap hands to the mix.
type mixPacket struct {
	cl  codecClass
	n   int
	buf [rtpBufferSize]byte
}

// mixTap is where a member leg's packets go while it is in a mix: a fixed
// pool of buffers and the queue to the mix goroutine.
type mixTap struct {
	speak       atomic.Bool
	free, queue chan *mixPacket
	dropped     atomic.Uint64
}

func newMixTap() *mixTap {
	t := &mixTap{free: make(chan *mixPacket, mixQueue), queue: make(chan *mixPacket, mixQueue)}
	for range mixQueue {
		t.free <- &mixPacket{}
	}
	return t
}

// offer hands one received packet of class cl to the mix, on the forwarding
// path: audio of a speaking member is copied and queued; events, comfort
// noise and what a muted member sends are dropped. With no free buffer the
// oldest queued packet is taken over (and counted as dropped). It never
// blocks or allocates.
func (t *mixTap) offer(cl codecClass, payload []byte) {
	if !cl.audio() || !t.speak.Load() {
		return
	}
	var p *mixPacket
	select {
	case p = <-t.free:
	default:
		select {
		case p = <-t.queue:
			t.dropped.Add(1)
		default:
			// The goroutine holds every buffer for a moment.
			t.dropped.Add(1)
			return
		}
	}
	p.cl, p.n = cl, copy(p.buf[:], payload)
	t.queue <- p // never blocks: the queue holds the whole pool
}

// pcmFIFO is a member's decoded 16 kHz audio not mixed yet.
type pcmFIFO struct {
	buf [mixFIFOMax]int16
	n   int
}

// push appends s, dropping the oldest samples beyond mixFIFOMax.
func (f *pcmFIFO) push(s []int16) {
	if len(s) >= len(f.buf) {
		f.n = copy(f.buf[:], s[len(s)-len(f.buf):])
		return
	}
	if over := f.n + len(s) - len(f.buf); over > 0 {
		copy(f.buf[:], f.buf[over:f.n])
		f.n -= over
	}
	f.n += copy(f.buf[f.n:], s)
}

// pop moves up to len(out) of the oldest samples into out and returns how
// many.
func (f *pcmFIFO) pop(out []int16) int {
	k := copy(out, f.buf[:f.n])
	f.drop(k)
	return k
}

// drop drops the k oldest samples (k ≤ n).
func (f *pcmFIFO) drop(k int) {
	copy(f.buf[:], f.buf[k:f.n])
	f.n -= k
}

// quiet reports whether the k oldest samples (k ≤ n) are all below
// mixQuiet.
func (f *pcmFIFO) quiet(k int) bool {
	for _, v := range f.buf[:k] {
		if v >= mixQuiet || v <= -mixQuiet {
			return false
		}
	}
	return true
}

// mixMember is a leg in a mix: what SetMix set, and the goroutine's state
// for it (codecs, resamplers, buffers), made when it joined.
type mixMember struct {
	l   *leg
	tap *mixTap

	sendMu sync.Mutex
	active bool        // still a member; under sendMu
	listen atomic.Bool // stored under sendMu

	// The mix goroutine's own.
	codec    codecClass // the leg's codec at the last tick
	dec      *gopus.Decoder
	enc      *gopus.Encoder
	up       upsampler
	down     downsampler
	fifo     pcmFIFO
	playout  bool // its FIFO is being played out (it had a full frame)
	low      int  // the least its FIFO kept after a tick, over the last lowTicks
	lowTicks int
	hidden   int  // ticks in a row its decoder concealed a late packet
	spoke    bool // pcm went into this tick's sum
	speaking bool // it spoke at the last tick: a decoder to reset after a pause
	fresh    bool // nothing was sent to it at the last tick
	skipped  int  // ticks the goroutine skipped since the last frame sent to it
	pcm      [mixSamples]int16
	out      [mixSamples]int16
	narrow   [mixSamples / 2]int16
	decoded  [mixMaxDecoded]int16
	payload  [rtpBufferSize]byte
}

// newMixMember makes l's state: an Opus leg's decoder and encoder.
func newMixMember(l *leg) (*mixMember, error) {
	mm := &mixMember{l: l, tap: newMixTap(), active: true, fresh: true}
	if l.audioClass() == classOpus {
		if err := mm.opus(); err != nil {
			return nil, err
		}
	}
	return mm, nil
}

// opus makes the member's Opus decoder and encoder, at the mix's rate.
func (mm *mixMember) opus() error {
	dec, err := gopus.NewDecoder(gopus.DefaultDecoderConfig(mixRate, 1))
	if err != nil {
		return fmt.Errorf("opus decoder: %w", err)
	}
	enc, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: mixRate, Channels: 1, Application: gopus.ApplicationVoIP})
	if err != nil {
		return fmt.Errorf("opus encoder: %w", err)
	}
	if err := enc.SetBitrate(mixOpusBitrate); err != nil {
		return fmt.Errorf("opus encoder: %w", err)
	}
	if err := enc.SetComplexity(mixOpusComplexity); err != nil {
		return fmt.Errorf("opus encoder: %w", err)
	}
	mm.dec, mm.enc = dec, enc
	return nil
}

// mix is one conference mix and its goroutine.
type mix struct {
	id  string
	g   *Gateway
	log *slog.Logger

	mu      sync.Mutex
	members []*mixMember // the membership SetMix set, in its order
	changed atomic.Bool  // members changed since the goroutine copied them

	stop chan struct{} // closed to end the goroutine
	done chan struct{} // closed when it ended

	// The goroutine's own.
	current []*mixMember
	sum     [mixSamples]int32
}

// SetMix makes mix id carry exactly members (declarative: the switch sends
// the whole membership each time it changes). Each member hears the sum of
// the other speaking members, never itself. A leg joining leaves its peer
// (as Connect would unlink it) and any other mix; a leg dropped from the
// set stops receiving the mix and is left unlinked (the switch then
// Connects or closes it). An empty set ends the mix. Unknown legs give
// ErrNoSuchLeg and change nothing; legs of kinds that cannot be mixed
// (tone, echo) an error. An RTP leg whose codec is not negotiated yet joins
// and is mixed once it is.
//
// A member that is playing a prompt is not sent the mix meanwhile; its
// telephone-events are not mixed; forwarding turned off by SetForward
// counts as not speaking. CloseLeg drops a leg from its mix, and a mix whose
// last member closes ends; Connect takes the legs it connects out of their
// mixes.
func (g *Gateway) SetMix(id string, members []MixMember) error {
	if len(members) == 0 {
		g.endMix(id)
		return nil
	}
	legs, err := g.mixLegs(id, members)
	if err != nil {
		return err
	}
	// Codecs are made outside the gateway's lock, for the legs that are
	// not members of this mix already.
	g.mu.Lock()
	var joining []*leg
	for _, l := range legs {
		if l.mixed == nil || l.mixed != g.mixes[id] {
			joining = append(joining, l)
		}
	}
	g.mu.Unlock()
	made := make(map[*leg]*mixMember, len(joining))
	for _, l := range joining {
		mm, err := newMixMember(l)
		if err != nil {
			return fmt.Errorf("set mix %s: leg %s: %w", id, l.id, err)
		}
		made[l] = mm
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return fmt.Errorf("set mix %s: %w", id, errClosed)
	}
	for i, l := range legs {
		if g.legs[l.id] != l {
			return fmt.Errorf("set mix %s: leg %s: %w", id, members[i].Leg, ErrNoSuchLeg)
		}
	}
	m := g.mixes[id]
	if m == nil {
		m = &mix{id: id, g: g, log: g.log.With(slog.String("mix", id)),
			stop: make(chan struct{}), done: make(chan struct{})}
		if g.mixes == nil {
			g.mixes = make(map[string]*mix)
		}
		g.mixes[id] = m
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			m.run(time.Now())
		}()
	}
	m.setLocked(legs, members, made)
	m.log.Debug("mix set", slog.Int("members", len(members)))
	return nil
}

// mixLegs finds the legs of members: each once, open, of a kind that can be
// mixed.
func (g *Gateway) mixLegs(id string, members []MixMember) ([]*leg, error) {
	legs := make([]*leg, len(members))
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, fmt.Errorf("set mix %s: %w", id, errClosed)
	}
	for i, mb := range members {
		l := g.legs[mb.Leg]
		switch {
		case l == nil:
			return nil, fmt.Errorf("set mix %s: leg %s: %w", id, mb.Leg, ErrNoSuchLeg)
		case !l.kind.bridged():
			return nil, fmt.Errorf("set mix %s: leg %s (%s): %w", id, mb.Leg, l.kind, errNotMixable)
		}
		for _, other := range legs[:i] {
			if other == l {
				return nil, fmt.Errorf("set mix %s: leg %s: %w", id, mb.Leg, errMixedTwice)
			}
		}
		legs[i] = l
	}
	return legs, nil
}

// setLocked makes the mix's membership legs, as members says, taking the
// state of joining legs from made. g.mu is held.
func (m *mix) setLocked(legs []*leg, members []MixMember, made map[*leg]*mixMember) {
	keep := make(map[*leg]bool, len(legs))
	for _, l := range legs {
		keep[l] = true
	}
	m.mu.Lock()
	old := m.members
	m.mu.Unlock()
	for _, mm := range old {
		if !keep[mm.l] {
			m.dropLocked(mm)
		}
	}
	next := make([]*mixMember, 0, len(legs))
	for i, l := range legs {
		mm := m.memberOf(l)
		if mm == nil {
			mm = made[l]
			if mm == nil {
				// Another SetMix changed the mix since the codecs
				// were made.
				var err error
				if mm, err = newMixMember(l); err != nil {
					m.log.Warn("mix member", slog.String("leg", l.id), slog.Any("err", err))
					continue
				}
			}
			m.g.leaveMixLocked(l)
			m.g.unlinkLocked(l)
			l.promptSink().hold(true)
			l.mixed = m
			l.mixIn.Store(mm.tap)
		}
		mm.tap.speak.Store(members[i].Speak)
		mm.sendMu.Lock()
		mm.listen.Store(members[i].Listen)
		mm.sendMu.Unlock()
		next = append(next, mm)
	}
	m.mu.Lock()
	m.members = next
	m.mu.Unlock()
	m.changed.Store(true)
}

// memberOf returns l's state in m, if it is a member.
func (m *mix) memberOf(l *leg) *mixMember {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mm := range m.members {
		if mm.l == l {
			return mm
		}
	}
	return nil
}

// dropLocked takes mm out of the mix: its packets no longer reach the mix,
// nothing more is sent to it once this returns, and its stream is its own
// again. g.mu is held.
func (m *mix) dropLocked(mm *mixMember) {
	l := mm.l
	l.mixIn.CompareAndSwap(mm.tap, nil)
	mm.sendMu.Lock()
	wasActive := mm.active
	mm.active = false
	mm.sendMu.Unlock()
	if wasActive {
		l.promptSink().hold(false)
	}
	if l.mixed == m {
		l.mixed = nil
	}
	m.mu.Lock()
	for i, o := range m.members {
		if o == mm {
			m.members = append(m.members[:i:i], m.members[i+1:]...)
			break
		}
	}
	m.mu.Unlock()
	m.changed.Store(true)
}

// leaveMixLocked takes l out of the mix it is in, if any; a mix left with
// no member ends. g.mu is held.
func (g *Gateway) leaveMixLocked(l *leg) {
	m := l.mixed
	if m == nil {
		return
	}
	if mm := m.memberOf(l); mm != nil {
		m.dropLocked(mm)
	}
	l.mixed = nil
	m.mu.Lock()
	empty := len(m.members) == 0
	m.mu.Unlock()
	if empty && g.mixes[m.id] == m {
		delete(g.mixes, m.id)
		close(m.stop)
		m.log.Debug("mix ended: no member left")
	}
}

// endMix ends mix id, if it runs, and waits for its goroutine.
func (g *Gateway) endMix(id string) {
	g.mu.Lock()
	m := g.mixes[id]
	if m != nil {
		m.endLocked()
	}
	g.mu.Unlock()
	if m != nil {
		<-m.done
		m.log.Debug("mix ended")
	}
}

// endLocked drops every member and stops the goroutine. g.mu is held.
func (m *mix) endLocked() {
	m.mu.Lock()
	members := append([]*mixMember(nil), m.members...)
	m.mu.Unlock()
	for _, mm := range members {
		m.dropLocked(mm)
	}
	if m.g.mixes[m.id] == m {
		delete(m.g.mixes, m.id)
	}
	close(m.stop)
}

// endMixesLocked ends every mix (the gateway closes). g.mu is held.
func (g *Gateway) endMixesLocked() {
	for _, m := range g.mixes {
		m.endLocked()
	}
}

// run is the mix's goroutine: a tick every 20 ms from start, on a clock
// that does not drift, until the mix ends. A tick late by a little is made
// up at once; one late by more than mixMaxBehind ticks is skipped, the
// members' timestamps jumping by the ticks skipped.
func (m *mix) run(start time.Time) {
	defer close(m.done)
	timer := time.NewTimer(mixFrame)
	defer timer.Stop()
	var n int64 // ticks done
	for {
		select {
		case <-m.stop:
			return
		case <-timer.C:
		}
		due := int64(time.Since(start) / mixFrame)
		if due-n > mixMaxBehind {
			for _, mm := range m.current {
				mm.skipped += int(due - 1 - n)
			}
			n = due - 1
		}
		for ; n < due; n++ {
			m.tick()
		}
		timer.Reset(time.Until(start.Add(time.Duration(n+1) * mixFrame)))
	}
}

// tick mixes 20 ms: each member's audio taken from its queue, the sum of
// the speaking ones, and to each listening one the sum without its own
// voice, encoded in its codec.
func (m *mix) tick() {
	if m.changed.Swap(false) {
		m.mu.Lock()
		m.current = append(m.current[:0], m.members...)
		m.mu.Unlock()
	}
	clear(m.sum[:])
	for _, mm := range m.current {
		mm.gather()
		if mm.spoke {
			for i, v := range mm.pcm {
				m.sum[i] += int32(v)
			}
		}
	}
	for _, mm := range m.current {
		mm.hear(&m.sum)
	}
}

// gather decodes what the member's tap queued into its FIFO and, if it
// speaks, takes the tick's frame from it into pcm (spoke). A late packet
// (concealed, or silence) leaves a frame more in its FIFO from then on,
// against its jitter; frames more that its jitter has not needed for 2 s
// are dropped in a quiet moment.
func (mm *mixMember) gather() {
	mm.codec = mm.l.audioClass()
	speaking := mm.tap.speak.Load() && mm.codec.audio()
	if speaking && !mm.speaking && mm.dec != nil {
		mm.dec.Reset()
	}
	mm.speaking, mm.spoke = speaking, false
	for {
		var p *mixPacket
		select {
		case p = <-mm.tap.queue:
		default:
		}
		if p == nil {
			break
		}
		if speaking {
			mm.decode(p)
		}
		mm.tap.free <- p
	}
	if !speaking {
		mm.fifo.n, mm.playout, mm.hidden = 0, false, 0
		mm.low, mm.lowTicks = mixFIFOMax, 0
		return
	}
	if !mm.playout {
		if mm.fifo.n < mixSamples {
			return
		}
		mm.playout = true
		mm.low, mm.lowTicks = mixFIFOMax, 0
	}
	k := mm.fifo.pop(mm.pcm[:])
	switch {
	case k == mixSamples:
		mm.hidden = 0
	case mm.conceal(k):
		k = mixSamples
	default:
		clear(mm.pcm[k:])
		mm.playout = false
	}
	mm.spoke = k > 0
	mm.trim()
}

// trim drops the whole frames the member's FIFO kept through every tick of
// the last mixTrimAfter, at the first quiet moment after: they were not
// needed against its jitter, and each delays what it says by 20 ms.
func (mm *mixMember) trim() {
	mm.low = min(mm.low, mm.fifo.n)
	mm.lowTicks++
	if mm.lowTicks < mixTrimAfter {
		return
	}
	excess := mm.low / mixSamples * mixSamples
	switch {
	case excess == 0:
	case mm.fifo.quiet(excess):
		mm.fifo.drop(excess)
	default:
		return // not now: the window goes on
	}
	mm.low, mm.lowTicks = mixFIFOMax, 0
}

// conceal fills pcm from k on with what the Opus decoder makes up for a
// packet late or lost (what it makes beyond the frame goes to the FIFO,
// before the packet if it comes), so that the member's voice fades rather
// than stops dead; for at most mixConceal ticks in a row, and not for
// G.711 members, which are left silent.
func (mm *mixMember) conceal(k int) bool {
	if mm.dec == nil || mm.hidden >= mixConceal {
		return false
	}
	const quantum = mixRate / 400 // the decoder conceals 2.5 ms at a time
	missing := mixSamples - k
	n, err := mm.dec.DecodeInt16(nil, mm.decoded[:(missing+quantum-1)/quantum*quantum])
	if err != nil || n < missing {
		return false
	}
	copy(mm.pcm[k:], mm.decoded[:missing])
	mm.fifo.push(mm.decoded[missing:n])
	mm.hidden++
	return true
}

// decode appends a packet's audio, at 16 kHz, to the FIFO.
func (mm *mixMember) decode(p *mixPacket) {
	payload := p.buf[:p.n]
	switch p.cl {
	case classOpus:
		if mm.dec == nil {
			return
		}
		n, err := mm.dec.DecodeInt16(payload, mm.decoded[:])
		if err != nil || n <= 0 {
			return
		}
		mm.fifo.push(mm.decoded[:n])
	case classPCMU, classPCMA:
		table := &ulawPCM
		if p.cl == classPCMA {
			table = &alawPCM
		}
		for len(payload) > 0 {
			chunk := payload[:min(len(payload), len(mm.narrow))]
			payload = payload[len(chunk):]
			for i, c := range chunk {
				mm.narrow[i] = table[c]
			}
			wide := mm.decoded[:2*len(chunk)]
			mm.up.run(mm.narrow[:len(chunk)], wide)
			mm.fifo.push(wide)
		}
	}
}

// hear sends the member the tick's sum without its own voice, if it
// listens, in its codec.
func (mm *mixMember) hear(sum *[mixSamples]int32) {
	if !mm.listen.Load() || !mm.codec.audio() || mm.l.playing.Load() {
		mm.fresh = true
		return
	}
	for i, v := range sum {
		if mm.spoke {
			v -= int32(mm.pcm[i])
		}
		mm.out[i] = int16(max(math.MinInt16, min(math.MaxInt16, v)))
	}
	var payload []byte
	var advance uint32
	switch mm.codec {
	case classOpus:
		if mm.enc == nil {
			if err := mm.opus(); err != nil {
				mm.fresh = true
				return
			}
		}
		n, err := mm.enc.EncodeInt16(mm.out[:], mm.payload[:])
		if err != nil || n <= 0 {
			mm.fresh = true
			return
		}
		payload, advance = mm.payload[:n], opusRate/50*uint32(1+mm.skipped)
	default:
		encode := ulaw
		if mm.codec == classPCMA {
			encode = alaw
		}
		mm.down.run(mm.out[:], mm.narrow[:])
		for i, v := range mm.narrow {
			mm.payload[i] = encode(v)
		}
		payload, advance = mm.payload[:len(mm.narrow)], g711ClockRate/50*uint32(1+mm.skipped)
	}
	mm.send(payload, advance)
}

// send sends one frame on the member's stream, unless it left the mix or
// stopped listening (checked under sendMu, so that nothing follows SetMix),
// or it plays a prompt.
func (mm *mixMember) send(payload []byte, advance uint32) {
	mm.sendMu.Lock()
	defer mm.sendMu.Unlock()
	sent := false
	if mm.active && mm.listen.Load() && !mm.l.playing.Load() {
		if t := mm.l.out; t != nil {
			sent = t.sendMixed(payload, advance, mm.fresh)
		} else if mm.l.rtp != nil {
			sent = mm.l.rtp.out.send(payload, advance, mm.fresh)
		}
	}
	mm.fresh, mm.skipped = !sent, 0
	if sent {
		mm.l.packetsSent.Add(1)
		mm.l.bytesSent.Add(uint64(len(payload)))
	}
}

// sendMixed is send for a mix frame, which waits while the gateway sends a
// telephone-event of its own.
func (t *outTrack) sendMixed(payload []byte, advance uint32, fresh bool) bool {
	return t.sendOwn(payload, advance, fresh, writerMix, true)
}

// Resampling between G.711's 8 kHz and the mix's 16 kHz: a half-band
// low-pass FIR (cut at 4 kHz, 63 taps, Blackman window). Every other tap
// but the centre one is zero, so upsampling passes the input samples
// through and interpolates the ones between, and downsampling filters only
// the outputs it keeps.
const halfBandK = 16 // non-zero taps on each side of the centre

// halfBand holds the taps at odd distances 1, 3, 5, … from the centre,
// whose sum is ¼ (the centre tap being ½: unity gain at DC).
var halfBand = func() (g [halfBandK]float32) {
	const n = 4*halfBandK - 1
	var sum float64
	v := make([]float64, halfBandK)
	for j := range v {
		k := float64(2*j + 1) // distance from the centre
		sinc := math.Sin(math.Pi*k/2) / (math.Pi * k)
		x := float64(n/2) + k // tap index
		w := 0.42 - 0.5*math.Cos(2*math.Pi*x/(n-1)) + 0.08*math.Cos(4*math.Pi*x/(n-1))
		v[j] = sinc * w
		sum += v[j]
	}
	for j := range g {
		g[j] = float32(v[j] * 0.25 / sum)
	}
	return g
}()

// upsampler doubles the rate of 8 kHz audio, with a delay of halfBandK
// input samples (2 ms).
type upsampler struct {
	x [2*halfBandK + mixSamples/2]float32 // history, then the input
}

// run writes 2·len(in) samples to out; len(in) ≤ 160.
func (u *upsampler) run(in []int16, out []int16) {
	const h = 2 * halfBandK
	for i, v := range in {
		u.x[h+i] = float32(v)
	}
	for i := range in {
		a := h + i - halfBandK // out[2i] is x[a], out[2i+1] halfway to x[a+1]
		var acc float32
		for j, c := range halfBand {
			acc += c * (u.x[a-j] + u.x[a+1+j])
		}
		out[2*i] = int16(u.x[a])
		out[2*i+1] = saturate(2 * acc)
	}
	copy(u.x[:h], u.x[len(in):len(in)+h])
}

// downsampler halves the rate of 16 kHz audio, with a delay of
// 2·halfBandK−1 input samples (2 ms).
type downsampler struct {
	z [4*halfBandK - 2 + mixSamples]float32 // history, then the input
}

// run writes len(in)/2 samples to out; len(in) is mixSamples.
func (d *downsampler) run(in []int16, out []int16) {
	const h = 4*halfBandK - 2
	for i, v := range in {
		d.z[h+i] = float32(v)
	}
	for m := range out {
		p := h + 2*m + 1 - (2*halfBandK - 1) // the centre tap's sample
		acc := 0.5 * d.z[p]
		for j, c := range halfBand {
			acc += c * (d.z[p-2*j-1] + d.z[p+2*j+1])
		}
		out[m] = saturate(acc)
	}
	copy(d.z[:h], d.z[len(in):len(in)+h])
}

// saturate rounds v to the nearest 16-bit sample.
func saturate(v float32) int16 {
	switch {
	case v >= math.MaxInt16:
		return math.MaxInt16
	case v <= math.MinInt16:
		return math.MinInt16
	case v >= 0:
		return int16(v + 0.5)
	}
	return int16(v - 0.5)
}
