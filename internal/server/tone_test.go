package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
	"github.com/thesyncim/gopus"
)

// Audio the server keeps, checked as sound: a tonePeer is a widget's
// audio sending real Opus (a sine, or silence), the files the server
// serves are decoded, and a tone's frequency and length are measured.

const (
	opusRate    = 48000
	frameLength = 20 * time.Millisecond
	frameSize   = opusRate / 50 // samples of a 20 ms frame
)

// opusFrames encodes n 20 ms frames of a sine at hz (-10 dBFS) as a
// browser would send them; hz 0 is silence.
func opusFrames(t testing.TB, hz float64, n int) [][]byte {
	t.Helper()
	enc, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: opusRate, Channels: 1, Application: gopus.ApplicationVoIP})
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]float32, frameSize)
	out := make([][]byte, 0, n)
	for i := range n {
		for k := range pcm {
			pcm[k] = float32(0.3 * math.Sin(2*math.Pi*hz*float64(i*frameSize+k)/opusRate))
		}
		buf := make([]byte, 1500)
		m, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:m])
	}
	return out
}

// opusTrack is a tonePeer's outgoing track: it writes the RTP headers
// itself, so that telephone-events go on the same stream as the audio.
type opusTrack struct {
	stream string
	mu     sync.Mutex
	w      webrtc.TrackLocalWriter
	ssrc   uint32
	opusPT uint8
	evPT   uint8 // telephone-event at 8 kHz; 0 when not negotiated
	seq    uint16
	ts     uint32
}

func (o *opusTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var opus *webrtc.RTPCodecParameters
	var ev uint8
	for _, c := range ctx.CodecParameters() {
		switch {
		case strings.EqualFold(c.MimeType, webrtc.MimeTypeOpus) && opus == nil:
			opus = &c
		case strings.EqualFold(c.MimeType, "audio/telephone-event") && c.ClockRate == 8000:
			ev = uint8(c.PayloadType)
		}
	}
	if opus == nil {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.w, o.ssrc, o.opusPT, o.evPT = ctx.WriteStream(), uint32(ctx.SSRC()), uint8(opus.PayloadType), ev
	return *opus, nil
}

func (o *opusTrack) Unbind(webrtc.TrackLocalContext) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.w = nil
	return nil
}

func (o *opusTrack) ID() string                { return "audio" }
func (o *opusTrack) RID() string               { return "" }
func (o *opusTrack) StreamID() string          { return o.stream }
func (o *opusTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// sendOpus writes one 20 ms Opus frame and reports its sequence number;
// false before the track is bound.
func (o *opusTrack) sendOpus(frame []byte) (uint16, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.w == nil {
		return 0, false
	}
	o.seq++
	o.ts += frameSize
	h := rtp.Header{Version: 2, PayloadType: o.opusPT, SequenceNumber: o.seq, Timestamp: o.ts, SSRC: o.ssrc}
	_, err := o.w.WriteRTP(&h, frame)
	return o.seq, err == nil
}

// sendDigit writes a key press as RFC 4733 events (a marked start, an
// update, three end packets, one timestamp), as a browser's DTMF sender.
func (o *opusTrack) sendDigit(code uint8) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.w == nil || o.evPT == 0 {
		return errors.New("no telephone-event negotiated")
	}
	for i, p := range [][]byte{
		{code, 10, 0, 160}, {code, 10, 0x01, 0x40},
		{code, 0x80 | 10, 0x01, 0x90}, {code, 0x80 | 10, 0x01, 0x90}, {code, 0x80 | 10, 0x01, 0x90},
	} {
		o.seq++
		h := rtp.Header{Version: 2, PayloadType: o.evPT, SequenceNumber: o.seq, Timestamp: o.ts, SSRC: o.ssrc, Marker: i == 0}
		if _, err := o.w.WriteRTP(&h, p); err != nil {
			return err
		}
	}
	return nil
}

// tonePeer is a widget's audio that sends real Opus every 20 ms: its loop
// over and over, except for frames queued to go first. It counts what it
// receives and follows the gateway's receiver reports.
type tonePeer struct {
	*peer
	track *opusTrack

	mu       sync.Mutex
	loop     [][]byte
	next     int      // of the loop
	queue    [][]byte // sent before the loop goes on
	lastSent uint16   // sequence number of the last frame sent
	queueEnd uint16   // sequence number of the last queued frame, once sent
	reported uint32   // highest sequence number the gateway reports it read
	received int      // audio packets from the gateway
	sentAt   []time.Time
	more     chan struct{}
	heard    [][]byte // Opus payloads received, while keeping (hear)
	keeping  bool
}

// newTonePeer makes a peer that sends loop (20 ms Opus frames) from the
// moment it is connected.
func newTonePeer(t *testing.T, name string, loop [][]byte) *tonePeer {
	t.Helper()
	tp := &tonePeer{track: &opusTrack{stream: name}, loop: loop, more: make(chan struct{}, 1)}
	tp.peer = newPeerWith(t, func(pc *webrtc.PeerConnection) error {
		pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			for {
				p, _, err := remote.ReadRTP()
				if err != nil {
					return
				}
				if len(p.Payload) == 0 || !strings.EqualFold(remote.Codec().MimeType, webrtc.MimeTypeOpus) {
					continue
				}
				tp.mu.Lock()
				tp.received++
				if tp.keeping {
					tp.heard = append(tp.heard, append([]byte(nil), p.Payload...))
				}
				tp.mu.Unlock()
				tp.signal()
			}
		})
		sender, err := pc.AddTrack(tp.track)
		if err != nil {
			return err
		}
		go func() {
			for {
				pkts, _, err := sender.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if reports := receptionReports(p); reports != nil {
						tp.mu.Lock()
						for _, r := range reports {
							tp.reported = max(tp.reported, r.LastSequenceNumber)
						}
						tp.mu.Unlock()
						tp.signal()
					}
				}
			}
		}()
		return nil
	})
	done, stopped := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(done); <-stopped })
	go func() {
		defer close(stopped)
		tick := time.NewTicker(frameLength)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			tp.mu.Lock()
			var f []byte
			queued := len(tp.queue) > 0
			if queued {
				f = tp.queue[0]
			} else {
				f = tp.loop[tp.next%len(tp.loop)]
			}
			tp.mu.Unlock()
			seq, ok := tp.track.sendOpus(f)
			if !ok {
				continue
			}
			tp.mu.Lock()
			tp.lastSent = seq
			tp.sentAt = append(tp.sentAt, time.Now())
			if queued {
				tp.queue = tp.queue[1:]
				if len(tp.queue) == 0 {
					tp.queueEnd = seq
				}
			} else {
				tp.next++
			}
			tp.mu.Unlock()
			tp.signal()
		}
	}()
	return tp
}

func (tp *tonePeer) signal() {
	select {
	case tp.more <- struct{}{}:
	default:
	}
}

// await waits, on the peer's own events, until cond holds.
func (tp *tonePeer) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(patience)
	for {
		tp.mu.Lock()
		ok := cond()
		tp.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-tp.more:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// say queues frames to be sent before the loop goes on, and returns once
// all of them have been sent and the gateway reports it read them.
func (tp *tonePeer) say(t *testing.T, frames [][]byte) {
	t.Helper()
	tp.mu.Lock()
	tp.queue, tp.queueEnd = append([][]byte(nil), frames...), 0
	tp.mu.Unlock()
	var last uint16
	tp.await(t, "the queued frames sent", func() bool { last = tp.queueEnd; return last != 0 })
	tp.awaitRead(t, last)
}

// lateBetween is how much later than every 20 ms the peer sent its frames
// between from and to: on a loaded machine its ticks come late, and the
// gateway fills the gaps with silence.
func (tp *tonePeer) lateBetween(from, to time.Time) time.Duration {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	var late time.Duration
	for i := 1; i < len(tp.sentAt); i++ {
		if a, b := tp.sentAt[i-1], tp.sentAt[i]; !b.Before(from) && !a.After(to) {
			late += max(0, b.Sub(a)-frameLength)
		}
	}
	return late
}

// mark returns the sequence number of the last frame sent.
func (tp *tonePeer) mark() uint16 {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.lastSent
}

// receptionReports are the reception report blocks of a sender or
// receiver report (the gateway puts them in its sender report while it
// sends, RFC 3550 §6.4.1), nil for other packets.
func receptionReports(p rtcp.Packet) []rtcp.ReceptionReport {
	switch p := p.(type) {
	case *rtcp.SenderReport:
		return p.Reports
	case *rtcp.ReceiverReport:
		return p.Reports
	}
	return nil
}

// awaitRead waits until the gateway reports it read frame seq (and so every
// frame before it).
func (tp *tonePeer) awaitRead(t *testing.T, seq uint16) {
	t.Helper()
	tp.await(t, fmt.Sprintf("the gateway to read frame %d", seq), func() bool { return tp.reported >= uint32(seq) })
}

// awaitFrames waits until n more frames than at mark have been sent and read.
func (tp *tonePeer) awaitFrames(t *testing.T, from uint16, n int) {
	t.Helper()
	want := from + uint16(n)
	tp.await(t, "frames sent", func() bool { return tp.lastSent >= want })
	tp.awaitRead(t, want)
}

// oggOpus is a decoded Ogg Opus file: each channel's samples at 48 kHz as
// decoded, so that each 20 ms block is one packet, and its length: from
// the pre-skip to the last granule position.
type oggOpus struct {
	family   byte
	channels [][]float64
	length   time.Duration
}

func (o oggOpus) duration() time.Duration { return o.length }

// tone is how long channel ch carries hz, counted in packets: a packet the
// recorder wrote between two of the sender's (silence, where the sender
// was late) costs only itself.
func (o oggOpus) tone(ch int, hz float64) time.Duration { return toneTime(o.channels[ch], hz) }

// decodeOggOpus reads an Ogg Opus file of one logical stream (RFC 7845)
// and decodes it with gopus.
func decodeOggOpus(data []byte) (oggOpus, error) {
	var packets [][]byte
	var pending []byte
	var last uint64
	for len(data) > 0 {
		if len(data) < 27 || string(data[:4]) != "OggS" {
			return oggOpus{}, errors.New("not an Ogg page")
		}
		granule := binary.LittleEndian.Uint64(data[6:])
		nseg := int(data[26])
		if len(data) < 27+nseg {
			return oggOpus{}, io.ErrUnexpectedEOF
		}
		lacing := data[27 : 27+nseg]
		body := data[27+nseg:]
		for _, l := range lacing {
			if len(body) < int(l) {
				return oggOpus{}, io.ErrUnexpectedEOF
			}
			pending = append(pending, body[:l]...)
			body = body[l:]
			if l < 255 {
				packets = append(packets, pending)
				pending = nil
			}
		}
		if granule != ^uint64(0) {
			last = max(last, granule)
		}
		data = body
	}
	if len(packets) < 3 || len(packets[0]) < 19 || string(packets[0][:8]) != "OpusHead" || string(packets[1][:8]) != "OpusTags" {
		return oggOpus{}, errors.New("no Opus headers")
	}
	head := packets[0]
	channels, preSkip, family := int(head[9]), int(binary.LittleEndian.Uint16(head[10:])), head[18]
	var decode func(p []byte, pcm []int16) (int, error)
	switch {
	case family == 0 && channels == 1:
		dec, err := gopus.NewDecoder(gopus.DefaultDecoderConfig(opusRate, 1))
		if err != nil {
			return oggOpus{}, err
		}
		decode = dec.DecodeInt16
	case family == 1 && channels == 2 && len(head) >= 23:
		dec, err := gopus.NewMultistreamDecoder(opusRate, 2, int(head[19]), int(head[20]), head[21:23])
		if err != nil {
			return oggOpus{}, err
		}
		decode = dec.DecodeInt16
	default:
		return oggOpus{}, fmt.Errorf("%d channels, mapping family %d", channels, family)
	}
	out := oggOpus{family: family, channels: make([][]float64, channels)}
	buf := make([]int16, 5760*channels)
	for i, p := range packets[2:] {
		n, err := decode(p, buf)
		if err != nil {
			return oggOpus{}, fmt.Errorf("packet %d: %w", i, err)
		}
		for k := range n * channels {
			out.channels[k%channels] = append(out.channels[k%channels], float64(buf[k]))
		}
	}
	if n := min(len(out.channels[0]), int(last)); n > preSkip {
		out.length = time.Duration(n-preSkip) * time.Second / opusRate
	}
	return out, nil
}

// goertzel is the power of frequency hz in x, sampled at rate.
func goertzel(x []float64, hz, rate float64) float64 {
	w := 2 * math.Cos(2*math.Pi*hz/rate)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+w*s1-s2, s1
	}
	return s1*s1 + s2*s2 - w*s1*s2
}

// toneTime is how long x (at 48 kHz) carries hz.
func toneTime(x []float64, hz float64) time.Duration { return toneTimeAt(x, hz, opusRate) }

// toneTimeAt is how long x, sampled at rate, carries hz: the 20 ms blocks
// loud enough (above -30 dBFS) whose power lies mostly at hz.
func toneTimeAt(x []float64, hz float64, rate int) time.Duration {
	block := rate / 50
	var n int
	for i := 0; i+block <= len(x); i += block {
		b := x[i : i+block]
		var energy float64
		for _, v := range b {
			energy += v * v
		}
		rms := math.Sqrt(energy / float64(block))
		if rms > 0.03*math.MaxInt16 && goertzel(b, hz, float64(rate)) > 0.5*energy*float64(block)/2 {
			n++
		}
	}
	return time.Duration(n) * frameLength
}

// logCounter is a log handler that counts the lines of each message, so a
// test can wait for the nth time something is logged.
// With -v it writes the log to stderr too, as the server's does.
type logCounter struct {
	mu      *sync.Mutex
	counts  map[string]int
	changed chan struct{}
	out     slog.Handler // nil: the log is not written
}

func newLogCounter() logCounter {
	l := logCounter{mu: &sync.Mutex{}, counts: map[string]int{}, changed: make(chan struct{}, 1)}
	if testing.Verbose() {
		l.out = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	return l
}

func (l logCounter) Enabled(context.Context, slog.Level) bool { return true }

func (l logCounter) WithGroup(name string) slog.Handler {
	if l.out != nil {
		l.out = l.out.WithGroup(name)
	}
	return l
}

func (l logCounter) WithAttrs(as []slog.Attr) slog.Handler {
	if l.out != nil {
		l.out = l.out.WithAttrs(as)
	}
	return l
}

func (l logCounter) Handle(ctx context.Context, r slog.Record) error {
	if l.out != nil {
		_ = l.out.Handle(ctx, r)
	}
	l.mu.Lock()
	l.counts[r.Message]++
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return nil
}

func (l logCounter) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[msg]
}

// wait returns once msg has been logged n times.
func (l logCounter) wait(t *testing.T, msg string, n int) {
	t.Helper()
	deadline := time.After(patience)
	for l.count(msg) < n {
		select {
		case <-l.changed:
		case <-deadline:
			t.Fatalf("%q logged %d times, want %d", msg, l.count(msg), n)
		}
	}
}
