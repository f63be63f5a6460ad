package media

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Recording: what the gateway receives from one leg or two, written to a
// file as it comes, without decoding Opus. Opus legs give an Ogg Opus file:
// mono for one leg; for two, one stream of channel mapping family 1 with
// two uncoupled streams (RFC 7845 §5.1.1.2), the first leg left and the
// second right, each Ogg packet a multistream packet of both legs' packets
// (RFC 6716 Appendix B), so that a browser plays both voices from one file.
// G.711 legs give a 16-bit PCM WAV file at 8 kHz, mono or stereo the same
// way.
//
// The forwarding path hands each packet a recorded leg receives to the
// leg's tap: a copy into a buffer from a fixed pool, queued for the
// recording's goroutine, or dropped (and counted) when none is free, so
// that a slow disk never holds up forwarding and nothing is allocated per
// packet. The goroutine keeps one clock of 20 ms slots from the moment
// Record was called: each slot takes the next queued packet of each leg,
// or silence for a leg that sends nothing (held, muted, closed, or not
// forwarding), so that the legs stay aligned and the file's timeline is the
// call's. A leg starts playing out once it has two packets queued (40 ms
// against jitter), and one that is more than recordMaxLag packets behind
// once the goroutine caught up with its clock loses its oldest.

// RecordReason says why a recording stopped.
type RecordReason string

// Reasons a recording stops.
const (
	RecordStopped   RecordReason = "Stopped"   // StopRecording, or a write error (RecordResult.Err)
	RecordLegClosed RecordReason = "LegClosed" // its only leg, or every leg, closed
	RecordLimit     RecordReason = "Limit"     // it reached RecordOptions.MaxDuration
	RecordDigit     RecordReason = "Digit"     // a key of RecordOptions.StopDigits was pressed
)

// Content types of recordings.
const (
	ContentTypeOgg = "audio/ogg"
	ContentTypeWAV = "audio/wav"
)

// RecordOptions says what Record records, where, and whom it tells.
type RecordOptions struct {
	// Path is the file written (created, or truncated), mode 0600.
	Path string
	// Legs are one leg, or two: the first is left, the second right.
	// They must all be Opus legs (an Ogg Opus file) or all G.711 legs (a
	// WAV file).
	Legs []string
	// MaxDuration ends the recording once the file holds that much audio
	// (Reason Limit); 0 for no limit.
	MaxDuration time.Duration
	// StopDigits are keys (RFC 4733 events received on a recorded leg)
	// that end the recording (Reason Digit), after OnDigit is called.
	StopDigits string
	// OnDigit is called once per key pressed on a recorded leg, when the
	// key is released, in order, from a goroutine of the recording's.
	OnDigit func(rune)
	// OnStop is called exactly once, after the file is complete and
	// closed, from the same goroutine as OnDigit (after every OnDigit),
	// under no lock of the gateway.
	OnStop func(RecordResult)
}

// RecordResult is what a recording left.
type RecordResult struct {
	Duration    time.Duration // audio in the file
	Bytes       int64         // the file's size
	ContentType string        // ContentTypeOgg or ContentTypeWAV
	Reason      RecordReason
	Dropped     uint64 // packets lost because the recording fell behind
	// Err is the write error that stopped the recording; what was written
	// before it is kept (an Ogg file is cut back to its last whole page,
	// a WAV file's header gives the frames written).
	// errors.Is(Err, syscall.ENOSPC) holds for a full disk.
	Err error
}

var (
	// ErrNoSuchRecording reports an id that names no running recording
	// (one that stopped, or never started).
	ErrNoSuchRecording = errors.New("media: no such recording")

	errRecordingExists = errors.New("media: recording already exists")
	errRecordLegs      = errors.New("media: a recording takes one leg or two")
	errLegRecorded     = errors.New("media: leg is already recorded")
	errNoPath          = errors.New("media: recording without a path")
)

const (
	recordFrame    = 20 * time.Millisecond
	recordSamples  = opusRate / 50      // an Opus slot, 48 kHz
	recordPCMFrame = g711ClockRate / 50 // a G.711 slot, 8 kHz
	recordQueue    = 25                 // packets a tap holds for the recording: 500 ms
	recordStart    = 2                  // packets a leg gathers before it plays out
	recordMaxLag   = 10                 // packets a leg may have waiting
	recordEvents   = 32                 // telephone-events waiting
	recordDigits   = 32                 // keys waiting for OnDigit
)

// opusSilence is a 20 ms CELT frame that decodes to silence, written for a
// leg with nothing to give.
var opusSilence = []byte{0xF8, 0xFF, 0xFE}

// recordFile is a recording's file.
type recordFile interface {
	Write([]byte) (int, error)
	Seek(offset int64, whence int) (int64, error)
	Truncate(size int64) error
	Sync() error
	Close() error
}

// createRecordFile creates a recording's file.
var createRecordFile = func(path string) (recordFile, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
}

// recPacket is a packet a tap hands to its recording.
type recPacket struct {
	cl  codecClass
	n   int
	buf [rtpBufferSize]byte
}

// recEvent is the end of a telephone-event received on a recorded leg.
type recEvent struct {
	tap  *recordTap
	ts   uint32
	code uint8
}

// recordTap is where a recorded leg's packets go: a fixed pool of buffers
// and the queue to the recording.
type recordTap struct {
	r           *recording
	l           *leg
	free, queue chan *recPacket
	dropped     atomic.Uint64
}

func newRecordTap(r *recording, l *leg) *recordTap {
	t := &recordTap{r: r, l: l, free: make(chan *recPacket, recordQueue), queue: make(chan *recPacket, recordQueue)}
	for range recordQueue {
		t.free <- &recPacket{}
	}
	return t
}

// offer hands one received packet of class cl to the recording, on the
// forwarding path: audio of the recording's codec is copied and queued,
// the end of a telephone-event is passed on; without a free buffer the
// packet is dropped.
func (t *recordTap) offer(h *rtp.Header, cl codecClass, payload []byte) {
	switch cl {
	case classEvent8k, classEvent48k:
		if len(payload) >= 4 && payload[1]&0x80 != 0 {
			select {
			case t.r.events <- recEvent{tap: t, ts: h.Timestamp, code: payload[0]}:
			default:
			}
		}
		return
	case classOpus:
		if !t.r.opus {
			return
		}
	case classPCMU, classPCMA:
		if t.r.opus {
			return
		}
	default:
		return
	}
	select {
	case p := <-t.free:
		p.cl, p.n = cl, copy(p.buf[:], payload)
		t.queue <- p // never blocks: the queue holds the whole pool
	default:
		t.dropped.Add(1)
	}
}

// recChannel is the recording goroutine's view of one channel.
type recChannel struct {
	tap      *recordTap
	playing  bool    // playing out: a packet a slot
	waited   int     // slots waited with one packet before playing out
	pcm      []int16 // G.711: decoded samples not written yet
	ended    bool    // an event ended on this channel: lastCode at timestamp lastEnd
	lastEnd  uint32
	lastCode uint8
}

// pop takes the channel's next packet, if it plays out; flush takes what
// is queued whether it does or not.
func (c *recChannel) pop(flush bool) *recPacket {
	t := c.tap
	if t == nil {
		return nil
	}
	n := len(t.queue)
	if n == 0 {
		c.playing, c.waited = false, 0
		return nil
	}
	if !c.playing && !flush {
		c.waited++
		if n < recordStart && c.waited <= recordStart {
			return nil
		}
		c.playing = true
	}
	return <-t.queue
}

// trim drops the oldest packets of a leg that has more than recordMaxLag
// waiting once the recording caught up with its clock: a sender whose
// clock runs fast, or a burst after a stall of the network.
func (c *recChannel) trim() {
	if c.tap == nil {
		return
	}
	for len(c.tap.queue) > recordMaxLag {
		c.tap.free <- <-c.tap.queue
		c.tap.dropped.Add(1)
	}
}

// drain drops what the channel has queued (while paused).
func (c *recChannel) drain() {
	c.playing, c.waited, c.pcm = false, 0, c.pcm[:0]
	if c.tap == nil {
		return
	}
	for len(c.tap.queue) > 0 {
		c.tap.free <- <-c.tap.queue
	}
}

// pauseAt is a pause or a resume, and when it was asked for.
type pauseAt struct {
	paused bool
	at     time.Time
}

// recording is one running recording.
type recording struct {
	id       string
	g        *Gateway
	log      *slog.Logger
	opts     RecordOptions
	opus     bool
	channels int
	file     recordFile
	ogg      *oggWriter
	wav      *wavWriter

	mu       sync.Mutex
	taps     []*recordTap // a channel's tap; nil: no leg
	finished bool

	pauses  chan pauseAt
	paused  bool          // the goroutine's own
	dropped atomic.Uint64 // by taps SetRecordingLegs took off
	stop    chan RecordReason
	events  chan recEvent
	digits  chan rune
	done    chan struct{} // closed once result is set
	result  RecordResult
	ch      []recChannel // the goroutine's own
	frames  int64        // slots written
	scratch []byte
	pcm     []int16
}

// RecordingType is the content type a recording of legs is written in:
// ContentTypeOgg for Opus legs, ContentTypeWAV for G.711 legs; the errors
// of Record for legs it cannot record together.
func (g *Gateway) RecordingType(legs []string) (string, error) {
	if n := len(legs); n < 1 || n > 2 {
		return "", errRecordLegs
	}
	_, opus, err := g.recordLegs(legs)
	switch {
	case err != nil:
		return "", err
	case opus:
		return ContentTypeOgg, nil
	}
	return ContentTypeWAV, nil
}

// recordLegs finds the legs ids, which must all carry Opus or all G.711.
func (g *Gateway) recordLegs(ids []string) (legs []*leg, opus bool, err error) {
	legs = make([]*leg, len(ids))
	g.mu.Lock()
	for i, lid := range ids {
		legs[i] = g.legs[lid]
	}
	g.mu.Unlock()
	for i, l := range legs {
		if l == nil {
			return nil, false, fmt.Errorf("leg %s: %w", ids[i], ErrNoSuchLeg)
		}
		cl := l.audioClass()
		if !cl.audio() {
			return nil, false, fmt.Errorf("leg %s (%s) has no audio codec: %w", l.id, l.kind, ErrCodecMismatch)
		}
		if i == 0 {
			opus = cl == classOpus
		} else if opus != (cl == classOpus) {
			return nil, false, fmt.Errorf("legs of both Opus and G.711: %w", ErrCodecMismatch)
		}
	}
	return legs, opus, nil
}

// Record starts recording id: from now on, the audio each of o.Legs
// receives, while it is forwarded (silence while it is held or muted), is
// written to o.Path; see RecordOptions. An unknown leg gives ErrNoSuchLeg;
// Opus and G.711 legs together, or a leg whose codec is not negotiated,
// ErrCodecMismatch; a leg another recording takes, or an id in use, an
// error; so does a file that cannot be created or written (with the cause,
// ENOSPC for a full disk). OnStop is not called when Record returns an
// error.
func (g *Gateway) Record(id string, o RecordOptions) error {
	if n := len(o.Legs); n < 1 || n > 2 {
		return fmt.Errorf("record %s: %w", id, errRecordLegs)
	}
	if o.Path == "" {
		return fmt.Errorf("record %s: %w", id, errNoPath)
	}
	g.mu.Lock()
	exists := g.recs[id] != nil
	g.mu.Unlock()
	if exists {
		return fmt.Errorf("record %s: %w", id, errRecordingExists)
	}
	legs, opus, err := g.recordLegs(o.Legs)
	if err != nil {
		return fmt.Errorf("record %s: %w", id, err)
	}

	r := &recording{
		id:       id,
		g:        g,
		log:      g.log.With(slog.String("recording", id)),
		opts:     o,
		opus:     opus,
		channels: len(legs),
		stop:     make(chan RecordReason, 1),
		pauses:   make(chan pauseAt, 8),
		events:   make(chan recEvent, recordEvents),
		digits:   make(chan rune, recordDigits),
		done:     make(chan struct{}),
		ch:       make([]recChannel, len(legs)),
		taps:     make([]*recordTap, len(legs)),
	}
	if err := r.create(); err != nil {
		return fmt.Errorf("record %s: %w", id, err)
	}
	for i, l := range legs {
		t := newRecordTap(r, l)
		if !l.rec.CompareAndSwap(nil, t) {
			r.detach()
			r.discard()
			return fmt.Errorf("record %s: leg %s: %w", id, l.id, errLegRecorded)
		}
		r.taps[i] = t
	}

	g.mu.Lock()
	switch {
	case g.closed:
		g.mu.Unlock()
		r.detach()
		r.discard()
		return fmt.Errorf("record %s: %w", id, errClosed)
	case g.recs[id] != nil:
		g.mu.Unlock()
		r.detach()
		r.discard()
		return fmt.Errorf("record %s: %w", id, errRecordingExists)
	}
	if g.recs == nil {
		g.recs = make(map[string]*recording)
	}
	g.recs[id] = r
	g.wg.Add(2)
	go func() {
		defer g.wg.Done()
		r.run(time.Now())
	}()
	go func() {
		defer g.wg.Done()
		r.callbacks()
	}()
	g.mu.Unlock()
	r.log.Debug("recording started", slog.Any("legs", o.Legs))
	return nil
}

// create creates the file and writes its headers.
func (r *recording) create() error {
	f, err := createRecordFile(r.opts.Path)
	if err != nil {
		return err
	}
	r.file = f
	if !r.opus {
		r.wav, err = newWAVWriter(f, r.channels)
		if err != nil {
			r.discard()
		}
		return err
	}
	head := opusHead{channels: uint8(r.channels), preSkip: opusPreSkip, inputRate: opusRate}
	if r.channels == 2 {
		head.family, head.streams, head.coupled, head.channelMapping = 1, 2, 0, []byte{0, 1}
	}
	r.ogg = newOggWriter(f, rand.Uint32())
	if err = r.ogg.header(head.marshal(), true); err == nil {
		err = r.ogg.header(opusTags(), false)
	}
	if err != nil {
		r.discard()
	}
	return err
}

// discard closes and removes the file of a recording that did not start.
func (r *recording) discard() {
	_ = r.file.Close()
	if fi, err := os.Lstat(r.opts.Path); err == nil && fi.Mode().IsRegular() {
		_ = os.Remove(r.opts.Path)
	}
}

// detach takes the recording's taps off their legs.
func (r *recording) detach() {
	for _, t := range r.taps {
		if t != nil {
			t.l.rec.CompareAndSwap(t, nil)
		}
	}
}

// run is the recording's goroutine: a slot every 20 ms from start, a
// telephone-event's end when it comes, until the recording stops.
func (r *recording) run(start time.Time) {
	timer := time.NewTimer(recordFrame)
	defer timer.Stop()
	var slot int64 // slots gone by, paused ones included
	var reason RecordReason
	var err error
	// catchUp writes the slots that ended by now: whatever comes late
	// (this goroutine, a pause, a stop) applies from its own time.
	catchUp := func(now time.Time) {
		due := int64(now.Sub(start) / recordFrame)
		for ; slot < due && reason == "" && err == nil; slot++ {
			reason, err = r.slot(false)
		}
	}
	for reason == "" && err == nil {
		select {
		case now := <-timer.C:
			catchUp(now)
			// Caught up: what a leg still has waiting is lag.
			for i := range r.ch {
				r.ch[i].trim()
			}
			if reason == "" && err == nil && r.legsGone() {
				reason = RecordLegClosed
			}
			if reason == "" && err == nil {
				timer.Reset(time.Until(start.Add(time.Duration(slot+1) * recordFrame)))
			}
		case p := <-r.pauses:
			catchUp(p.at)
			if p.paused && !r.paused && reason == "" && err == nil {
				// What came before the pause is kept.
				err = r.flush()
			}
			r.paused = p.paused
		case ev := <-r.events:
			catchUp(time.Now())
			if reason == "" && err == nil {
				reason = r.event(ev)
			}
		case why := <-r.stop:
			catchUp(time.Now())
			if reason == "" {
				reason = why
			}
		}
	}
	if err != nil {
		reason = RecordStopped
	}
	if err == nil && reason != RecordLimit {
		err = r.flush()
	}
	r.finish(reason, err)
}

// legsGone reports whether no channel has an open leg.
func (r *recording) legsGone() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.taps {
		if t != nil && t.l.ctx.Err() == nil {
			return false
		}
	}
	return true
}

// slot writes one 20 ms slot, unless paused. It reports RecordLimit when
// the file reached its limit.
func (r *recording) slot(flush bool) (RecordReason, error) {
	r.mu.Lock()
	for i, t := range r.taps {
		if c := &r.ch[i]; c.tap != t {
			*c = recChannel{tap: t, pcm: c.pcm[:0]}
		}
	}
	r.mu.Unlock()
	if r.paused {
		for i := range r.ch {
			r.ch[i].drain()
		}
		return "", nil
	}
	var err error
	if r.opus {
		err = r.writeOpus(flush)
	} else {
		err = r.writePCM(flush)
	}
	if err != nil {
		return "", err
	}
	r.frames++
	if max := r.opts.MaxDuration; max > 0 && time.Duration(r.frames)*recordFrame >= max {
		return RecordLimit, nil
	}
	return "", nil
}

// flush writes what the legs had queued when the recording stopped or
// paused.
func (r *recording) flush() error {
	if r.paused {
		return nil
	}
	for range recordQueue {
		queued := false
		for i := range r.ch {
			if t := r.ch[i].tap; t != nil && len(t.queue) > 0 || len(r.ch[i].pcm) > 0 {
				queued = true
			}
		}
		if !queued {
			return nil
		}
		reason, err := r.slot(true)
		if err != nil || reason != "" {
			return err
		}
	}
	return nil
}

// writeOpus writes a slot of Opus: a leg's packet if it is 20 ms, silence
// otherwise.
func (r *recording) writeOpus(flush bool) error {
	var got [2]*recPacket
	var payload [2][]byte
	for i := range r.ch {
		payload[i] = opusSilence
		if p := r.ch[i].pop(flush); p != nil {
			got[i] = p
			if pk := p.buf[:p.n]; opusSamples(pk) == recordSamples {
				payload[i] = pk
			}
		}
	}
	defer func() {
		for i, p := range got {
			if p != nil {
				r.ch[i].tap.free <- p
			}
		}
	}()
	if r.channels == 1 {
		return r.ogg.add(payload[0], recordSamples)
	}
	b, ok := appendSelfDelimited(r.scratch[:0], payload[0])
	if !ok {
		b, _ = appendSelfDelimited(r.scratch[:0], opusSilence)
	}
	b = append(b, payload[1]...)
	r.scratch = b
	return r.ogg.add(b, recordSamples)
}

// writePCM writes a slot of 16-bit PCM: each leg's G.711 decoded, silence
// where it has none.
func (r *recording) writePCM(flush bool) error {
	for i := range r.ch {
		c := &r.ch[i]
		for len(c.pcm) < recordPCMFrame {
			p := c.pop(flush)
			if p == nil {
				break
			}
			table := &ulawPCM
			if p.cl == classPCMA {
				table = &alawPCM
			}
			for _, b := range p.buf[:p.n] {
				c.pcm = append(c.pcm, table[b])
			}
			c.tap.free <- p
		}
	}
	out := r.pcm[:0]
	for k := range recordPCMFrame {
		for i := range r.ch {
			v := int16(0)
			if k < len(r.ch[i].pcm) {
				v = r.ch[i].pcm[k]
			}
			out = append(out, v)
		}
	}
	r.pcm = out
	for i := range r.ch {
		c := &r.ch[i]
		n := copy(c.pcm, c.pcm[min(recordPCMFrame, len(c.pcm)):])
		c.pcm = c.pcm[:n]
	}
	return r.wav.write(out)
}

// event handles the end of a telephone-event: once per key press (its end
// packets repeat), OnDigit, and RecordDigit for a stop digit.
func (r *recording) event(ev recEvent) RecordReason {
	var c *recChannel
	r.mu.Lock()
	for i, t := range r.taps {
		if t == ev.tap {
			c = &r.ch[i]
			if c.tap != t {
				*c = recChannel{tap: t, pcm: c.pcm[:0]}
			}
		}
	}
	r.mu.Unlock()
	if c == nil || (c.ended && c.lastEnd == ev.ts && c.lastCode == ev.code) {
		return ""
	}
	c.ended, c.lastEnd, c.lastCode = true, ev.ts, ev.code
	d, ok := dtmfDigit(ev.code)
	if !ok {
		return ""
	}
	select {
	case r.digits <- d:
	default:
	}
	if strings.ContainsRune(r.opts.StopDigits, d) {
		return RecordDigit
	}
	return ""
}

// dtmfDigit is the key of an RFC 4733 event code (dtmfEvent's inverse).
func dtmfDigit(code uint8) (rune, bool) {
	switch {
	case code <= 9:
		return rune('0' + code), true
	case code == 10:
		return '*', true
	case code == 11:
		return '#', true
	case code <= 15:
		return rune('A' + code - 12), true
	case code == 16:
		return 'F', true
	}
	return 0, false
}

// finish completes and closes the file, takes the recording off its legs
// and the gateway, and hands over the result.
func (r *recording) finish(reason RecordReason, err error) {
	r.mu.Lock()
	r.finished = true
	r.detach()
	r.mu.Unlock()

	res := RecordResult{Reason: reason, Err: err}
	if r.opus {
		res.ContentType = ContentTypeOgg
		if e := r.ogg.finish(); res.Err == nil {
			res.Err = e
		}
		res.Bytes = r.ogg.written
		if r.ogg.whole < r.ogg.written && r.file.Truncate(r.ogg.whole) == nil {
			// A page cut short by the error: the file ends with the
			// last whole one, which players read to its end.
			res.Bytes = r.ogg.whole
		}
		if s := r.ogg.kept; s > opusPreSkip {
			res.Duration = time.Duration(s-opusPreSkip) * time.Second / opusRate
		}
	} else {
		res.ContentType = ContentTypeWAV
		if e := r.wav.finish(); res.Err == nil {
			res.Err = e
		}
		res.Bytes = wavHeaderSize + int64(r.wav.data)
		if end, e := r.file.Seek(0, io.SeekEnd); e == nil {
			res.Bytes = end
		}
		res.Duration = time.Duration(r.wav.data/uint32(2*r.channels)) * time.Second / g711ClockRate
	}
	// On the disk before OnStop, which may record the file as kept: a
	// filesystem that allocates late reports a full disk here.
	if e := r.file.Sync(); res.Err == nil {
		res.Err = e
	}
	if e := r.file.Close(); res.Err == nil {
		res.Err = e
	}
	res.Dropped = r.dropped.Load()
	for _, t := range r.taps {
		if t != nil {
			res.Dropped += t.dropped.Load()
		}
	}
	if res.Err != nil {
		res.Err = fmt.Errorf("recording %s: %w", r.id, res.Err)
	}
	r.result = res

	r.g.mu.Lock()
	if r.g.recs[r.id] == r {
		delete(r.g.recs, r.id)
	}
	r.g.mu.Unlock()
	r.log.Debug("recording stopped", slog.String("reason", string(reason)),
		slog.Duration("duration", res.Duration), slog.Any("err", res.Err))
	close(r.done)
	close(r.digits)
}

// callbacks calls OnDigit for each key, then OnStop.
func (r *recording) callbacks() {
	for d := range r.digits {
		if r.opts.OnDigit != nil {
			r.opts.OnDigit(d)
		}
	}
	if r.opts.OnStop != nil {
		r.opts.OnStop(r.result)
	}
}

// recording returns the running recording id.
func (g *Gateway) recording(id string) *recording {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.recs[id]
}

// StopRecording stops recording id, writes what its legs had queued,
// completes the file and returns what it left (Reason Stopped). A
// recording that stopped already (by a call before, or on its own) gives
// ErrNoSuchRecording.
func (g *Gateway) StopRecording(id string) (RecordResult, error) {
	r := g.recording(id)
	if r == nil {
		return RecordResult{}, fmt.Errorf("stop recording %s: %w", id, ErrNoSuchRecording)
	}
	select {
	case r.stop <- RecordStopped:
	default:
	}
	<-r.done
	return r.result, nil
}

// PauseRecording pauses recording id, or resumes it: while it is paused,
// nothing is written, and the time is left out of the file.
func (g *Gateway) PauseRecording(id string, paused bool) error {
	r := g.recording(id)
	if r == nil {
		return fmt.Errorf("pause recording %s: %w", id, ErrNoSuchRecording)
	}
	select {
	case r.pauses <- pauseAt{paused: paused, at: time.Now()}:
		return nil
	case <-r.done:
		return fmt.Errorf("pause recording %s: %w", id, ErrNoSuchRecording)
	}
}

// SetRecordingLegs gives recording id new legs, as many as it started with,
// each in the channel of the one it replaces (a transfer replaced a party).
// A leg that is not open gives silence in its channel (and when none is,
// the recording ends, Reason LegClosed). A leg of the other
// codec gives ErrCodecMismatch, one another recording takes an error; the
// legs are then left as they were.
func (g *Gateway) SetRecordingLegs(id string, legs []string) error {
	r := g.recording(id)
	if r == nil {
		return fmt.Errorf("set recording legs %s: %w", id, ErrNoSuchRecording)
	}
	if len(legs) != r.channels {
		return fmt.Errorf("set recording legs %s: %d legs for %d channels: %w", id, len(legs), r.channels, errRecordLegs)
	}
	next := make([]*leg, len(legs))
	g.mu.Lock()
	for i, lid := range legs {
		next[i] = g.legs[lid]
	}
	g.mu.Unlock()

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return fmt.Errorf("set recording legs %s: %w", id, ErrNoSuchRecording)
	}
	for _, l := range next {
		if l == nil {
			continue
		}
		if cl := l.audioClass(); !cl.audio() || (cl == classOpus) != r.opus {
			return fmt.Errorf("set recording legs %s: leg %s: %w", id, l.id, ErrCodecMismatch)
		}
		if t := l.rec.Load(); t != nil && t.r != r {
			return fmt.Errorf("set recording legs %s: leg %s: %w", id, l.id, errLegRecorded)
		}
	}
	changed := make([]bool, len(next))
	for i, l := range next {
		old := r.taps[i]
		if old != nil && old.l == l {
			continue
		}
		changed[i] = true
		if old != nil {
			old.l.rec.CompareAndSwap(old, nil)
			r.dropped.Add(old.dropped.Load())
		}
		r.taps[i] = nil
	}
	for i, l := range next {
		if !changed[i] || l == nil {
			continue
		}
		t := newRecordTap(r, l)
		if l.rec.CompareAndSwap(nil, t) {
			r.taps[i] = t
		}
	}
	r.log.Debug("recording legs changed", slog.Any("legs", legs))
	return nil
}
