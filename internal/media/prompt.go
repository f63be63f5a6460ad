package media

import (
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/thesyncim/gopus"
)

// Prompts: sounds the gateway plays to a leg itself (a voicemail greeting,
// the beep after it). A prompt is kept in both forms a leg may need, so that
// playing it never encodes: the Opus packets of its file for browser legs
// answered in Opus, and 8 kHz PCM, decoded once when the prompt is parsed,
// for G.711 legs (browser legs answered in G.711, and RTP legs), which is
// turned into μ-law or A-law frame by frame as it is sent.

// opusRate is the rate of Opus timestamps and granule positions.
const opusRate = 48000

var (
	// ErrLegClosed reports a leg that closed before a prompt finished.
	ErrLegClosed = errors.New("media: leg closed")

	errPlaying  = errors.New("media: the leg is already playing a prompt")
	errNoPrompt = errors.New("media: no prompt to play")
	errNoAudio  = errors.New("media: the leg takes no audio the gateway can play")
)

// Prompt is a pre-encoded sound, ready for both kinds of leg.
type Prompt struct {
	opus    [][]byte // Opus packets, as the file holds them
	samples []int    // the duration of each, in 48 kHz samples
	pcm     []int16  // the whole sound at 8 kHz, pre-skip removed
}

// Duration is the length of the prompt's sound.
func (p *Prompt) Duration() time.Duration {
	return time.Duration(len(p.pcm)) * time.Second / g711ClockRate
}

// ParseOggOpus reads an Ogg Opus file of channel mapping family 0, mono
// (the recordings Record makes of one leg, the shipped prompts) or stereo (a
// browser's MediaRecorder may write that): its Opus packets as they are,
// and its sound decoded to 8 kHz mono PCM (pre-skip and the end trimmed as
// the last granule position says, stereo mixed down). The output gain of
// the header is not applied.
func ParseOggOpus(data []byte) (*Prompt, error) {
	pages, err := readOggPages(data)
	if err != nil {
		return nil, err
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("%w: empty", errBadOgg)
	}
	packets, err := oggPackets(pages)
	if err != nil {
		return nil, err
	}
	if len(packets) < 2 {
		return nil, fmt.Errorf("%w: no headers", errBadOgg)
	}
	head, err := parseOpusHead(packets[0])
	if err != nil {
		return nil, err
	}
	channels := int(head.channels)
	if (channels != 1 && channels != 2) || head.family != 0 {
		return nil, fmt.Errorf("%w: %d channels, mapping family %d; want mono or stereo", errBadOgg, head.channels, head.family)
	}
	if len(packets[1]) < 8 || string(packets[1][:8]) != "OpusTags" {
		return nil, fmt.Errorf("%w: no OpusTags", errBadOgg)
	}
	var last uint64
	for _, pg := range pages {
		if pg.serial == pages[0].serial && pg.granule != ^uint64(0) {
			last = max(last, pg.granule)
		}
	}

	dec, err := gopus.NewDecoder(gopus.DefaultDecoderConfig(g711ClockRate, channels))
	if err != nil {
		return nil, fmt.Errorf("media: opus decoder: %w", err)
	}
	p := &Prompt{}
	buf := make([]int16, channels*120*g711ClockRate/1000) // the longest packet, 120 ms
	var total uint64
	for i, pkt := range packets[2:] {
		n := opusSamples(pkt)
		if n == 0 || n > 120*opusRate/1000 {
			return nil, fmt.Errorf("%w: bad Opus packet %d", errBadOgg, i)
		}
		got, err := dec.DecodeInt16(pkt, buf)
		if err != nil {
			return nil, fmt.Errorf("%w: packet %d: %v", errBadOgg, i, err)
		}
		p.opus = append(p.opus, pkt)
		p.samples = append(p.samples, n)
		if channels == 1 {
			p.pcm = append(p.pcm, buf[:got]...)
		} else {
			for k := range got {
				p.pcm = append(p.pcm, int16((int(buf[2*k])+int(buf[2*k+1]))/2))
			}
		}
		total += uint64(n)
	}
	if len(p.opus) == 0 {
		return nil, fmt.Errorf("%w: no audio", errBadOgg)
	}
	// The sound runs from pre-skip to the last granule position (RFC 7845
	// §4.4); a file cut short keeps all it has.
	end := total
	if last > uint64(head.preSkip) && last < total {
		end = last
	}
	from := min(int(head.preSkip)/6, len(p.pcm))
	to := max(min(int(end/6), len(p.pcm)), from)
	p.pcm = p.pcm[from:to]
	return p, nil
}

var (
	//go:embed assets/greeting.opus
	greetingOpus []byte
	//go:embed assets/beep.opus
	beepOpus []byte

	defaultGreeting = sync.OnceValue(func() *Prompt { return mustPrompt(greetingOpus) })
	beep            = sync.OnceValue(func() *Prompt { return mustPrompt(beepOpus) })
)

// mustPrompt parses a shipped prompt; the tests see that each parses, so an
// error gives an empty prompt rather than a panic.
func mustPrompt(data []byte) *Prompt {
	p, err := ParseOggOpus(data)
	if err != nil {
		return &Prompt{}
	}
	return p
}

// DefaultGreeting is the voicemail greeting shipped with the server: "The
// person you called is not available. Please leave a message after the
// tone." (scripts/prompts.sh makes it).
func DefaultGreeting() *Prompt { return defaultGreeting() }

// Beep is the tone after a greeting: 1 kHz for 400 ms.
func Beep() *Prompt { return beep() }

// Play plays prompts one after the other to leg id, in 20 ms frames (or the
// frames of the file, for Opus legs) paced in real time, on the leg's own
// stream, numbered on from what it sent before. While they play, nothing
// else is sent to the leg: its peer's audio, ringback and telephone-events
// are dropped. done is called once, from a goroutine of its own: with nil
// when the last prompt ended, with ErrLegClosed when the leg closed first.
// An unknown id gives ErrNoSuchLeg; a tone leg or an RTP leg whose codec is
// not negotiated, an error; a leg already playing, an error. done is not
// called when Play returns an error.
func (g *Gateway) Play(id string, ps []*Prompt, done func(error)) error {
	if len(ps) == 0 {
		return fmt.Errorf("play %s: %w", id, errNoPrompt)
	}
	g.mu.Lock()
	l := g.legs[id]
	g.mu.Unlock()
	if l == nil {
		return fmt.Errorf("play %s: %w", id, ErrNoSuchLeg)
	}
	cl := l.audioClass()
	if (l.out == nil && l.rtp == nil) || !cl.audio() {
		return fmt.Errorf("play %s (%s): %w", id, l.kind, errNoAudio)
	}
	if !l.playing.CompareAndSwap(false, true) {
		return fmt.Errorf("play %s: %w", id, errPlaying)
	}
	ps = append([]*Prompt(nil), ps...)
	ok := g.spawn(func() {
		err := l.playPrompts(ps, cl)
		l.playing.Store(false)
		l.log.Debug("prompt played", slog.Any("err", err))
		if done != nil {
			done(err)
		}
	})
	if !ok {
		l.playing.Store(false)
		return fmt.Errorf("play %s: %w", id, errClosed)
	}
	return nil
}

// playPrompts sends the frames of ps on the leg, each at its time, and
// waits for the last to end.
func (l *leg) playPrompts(ps []*Prompt, cl codecClass) error {
	s := l.promptSink()
	s.hold(true)
	defer s.hold(false)

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := time.Now()
	var at time.Duration // when the next frame is due, from start
	var advance uint32   // the duration of the frame before, in the leg's clock
	fresh := true
	var frame [toneFrameSize]byte
	send := func(payload []byte, d time.Duration, ticks uint32) error {
		if at > 0 && !l.sleepUntil(timer, start.Add(at)) {
			return ErrLegClosed
		}
		if l.ctx.Err() != nil {
			return ErrLegClosed
		}
		if s.send(payload, advance, fresh) {
			fresh = false
			l.packetsSent.Add(1)
			l.bytesSent.Add(uint64(len(payload)))
		}
		at += d
		advance = ticks
		return nil
	}
	for _, p := range ps {
		if cl == classOpus {
			for i, pkt := range p.opus {
				d := time.Duration(p.samples[i]) * time.Second / opusRate
				if err := send(pkt, d, uint32(p.samples[i])); err != nil {
					return err
				}
			}
			continue
		}
		encode := ulaw
		if cl == classPCMA {
			encode = alaw
		}
		for off := 0; off < len(p.pcm); off += toneFrameSize {
			chunk := p.pcm[off:min(off+toneFrameSize, len(p.pcm))]
			for i := range frame {
				v := int16(0)
				if i < len(chunk) {
					v = chunk[i]
				}
				frame[i] = encode(v)
			}
			if err := send(frame[:], toneFrame, toneFrameSize); err != nil {
				return err
			}
		}
	}
	if !l.sleepUntil(timer, start.Add(at)) {
		return ErrLegClosed
	}
	return nil
}

// promptSink is where a leg's prompt frames go: its browser track or its
// carrier.
type promptSink interface {
	// hold keeps everything else off the stream while a prompt plays
	// (or a conference mix is sent): holds nest.
	hold(on bool)
	// send sends one frame of the leg's audio codec; advance is the
	// duration of the frame before, fresh says none came before.
	send(payload []byte, advance uint32, fresh bool) bool
}

func (l *leg) promptSink() promptSink {
	if l.rtp != nil {
		return l.rtp.out
	}
	return l.out
}

func (t *outTrack) hold(on bool) {
	t.mu.Lock()
	t.holds = nextHolds(t.holds, on)
	t.prompt = t.holds > 0
	t.mu.Unlock()
}

// nextHolds counts a hold taken (on) or released.
func nextHolds(n int, on bool) int {
	if on {
		return n + 1
	}
	return max(n-1, 0)
}

func (t *outTrack) send(payload []byte, advance uint32, fresh bool) bool {
	return t.sendOwn(payload, advance, fresh, writerPrompt, false)
}

// sendOwn sends one frame of the gateway's own audio on the track as
// writer w: numbered on from w's last frame, or jumping when fresh or when
// something else was written since. yieldToEvent drops the frame while
// the gateway sends a telephone-event of its own.
func (t *outTrack) sendOwn(payload []byte, advance uint32, fresh bool, w writer, yieldToEvent bool) bool {
	b := t.bound.Load()
	if b == nil {
		return false
	}
	pt := b.pts[t.audio]
	if pt == noPT {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if yieldToEvent && t.event {
		return false
	}
	followsOn := !fresh && t.writer == w
	seq, ts, jumped := t.rw.nextLocal(advance, followsOn, t.codec.ClockRate, time.Now())
	t.writer = w
	return t.writeLocked(b, pt, jumped, seq, ts, payload)
}

func (o *rtpOut) hold(on bool) {
	o.mu.Lock()
	o.holds = nextHolds(o.holds, on)
	o.prompt = o.holds > 0
	o.mu.Unlock()
}

func (o *rtpOut) send(payload []byte, advance uint32, fresh bool) bool {
	st := o.state.Load()
	if st == nil || !st.send || !st.audio.audio() {
		return false
	}
	pt := st.pts[st.audio]
	if pt == noPT {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	seq, ts, jumped := o.rw.nextLocal(advance, !fresh && o.rw.local, g711ClockRate, now)
	o.hdr = rtp.Header{
		Version:        2,
		Marker:         jumped,
		PayloadType:    pt,
		SequenceNumber: seq,
		Timestamp:      ts,
		SSRC:           o.ssrc,
	}
	return o.sendLocked(st, payload, now)
}
