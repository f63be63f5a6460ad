package media

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

// codecClass is what a payload type carries, independent of its number on a
// given leg. Forwarding maps a packet's class on the source leg to the payload
// type of the same class on the destination leg.
type codecClass uint8

const (
	classNone     codecClass = iota // not forwarded
	classOpus                       // opus/48000/2
	classEvent8k                    // telephone-event/8000 (RFC 4733)
	classEvent48k                   // telephone-event/48000
	classPCMU                       // PCMU/8000 (G.711 μ-law)
	classPCMA                       // PCMA/8000 (G.711 A-law)
	numClasses
)

// audio reports whether packets of the class carry sound (rather than
// events): a jump in such a stream is marked (RFC 3551 §4.1).
func (c codecClass) audio() bool {
	return c == classOpus || c == classPCMU || c == classPCMA
}

func (c codecClass) String() string {
	switch c {
	case classOpus:
		return "opus/48000"
	case classEvent8k:
		return "telephone-event/8000"
	case classEvent48k:
		return "telephone-event/48000"
	case classPCMU:
		return "PCMU/8000"
	case classPCMA:
		return "PCMA/8000"
	}
	return "none"
}

// noPT marks a class the leg did not negotiate (valid payload types are < 128).
const noPT = 0xFF

// classify names the class of a negotiated codec.
func classify(c webrtc.RTPCodecParameters) codecClass {
	switch {
	case strings.EqualFold(c.MimeType, webrtc.MimeTypeOpus) && c.ClockRate == 48000:
		return classOpus
	case strings.EqualFold(c.MimeType, mimeTelephoneEvent) && c.ClockRate == 8000:
		return classEvent8k
	case strings.EqualFold(c.MimeType, mimeTelephoneEvent) && c.ClockRate == 48000:
		return classEvent48k
	case strings.EqualFold(c.MimeType, webrtc.MimeTypePCMU) && c.ClockRate == 8000:
		return classPCMU
	case strings.EqualFold(c.MimeType, webrtc.MimeTypePCMA) && c.ClockRate == 8000:
		return classPCMA
	}
	return classNone
}

const mimeTelephoneEvent = "audio/telephone-event"

// payloadTypes maps each class to the leg's payload type for it.
type payloadTypes [numClasses]uint8

func newPayloadTypes(codecs []webrtc.RTPCodecParameters) payloadTypes {
	var pts payloadTypes
	for i := range pts {
		pts[i] = noPT
	}
	for _, c := range codecs {
		if cl := classify(c); cl != classNone && pts[cl] == noPT && c.PayloadType < 128 {
			pts[cl] = uint8(c.PayloadType)
		}
	}
	return pts
}

// lookup returns the payload type for a packet of class cl. An event packet
// with no payload type of its own clock rate takes the other one: its timing
// is then off, but the digit still arrives.
func (p *payloadTypes) lookup(cl codecClass) uint8 {
	pt := p[cl]
	if pt != noPT {
		return pt
	}
	switch cl {
	case classEvent8k:
		return p[classEvent48k]
	case classEvent48k:
		return p[classEvent8k]
	}
	return noPT
}

// binding is what the local track learned when the PeerConnection bound it.
type binding struct {
	id   string
	w    webrtc.TrackLocalWriter
	ssrc uint32
	pts  payloadTypes
}

// rewriter keeps the outgoing stream continuous while its source changes
// (another peer after Connect, or the gateway's own ringback and events) or
// pauses (forwarding off): sequence numbers carry on from the last one sent
// and timestamps jump by the time elapsed.
type rewriter struct {
	started  bool
	srcSSRC  uint32
	seqOff   uint16
	tsOff    uint32
	lastSeq  uint16
	lastTS   uint32
	lastSent time.Time
	// local: the last packet was made by the gateway (nextLocal); the
	// next forwarded one is taken as a new source's.
	local bool
}

// gap says what came between a source's packet and the last one forwarded.
type gap uint8

const (
	gapNone gap = iota
	// gapDropped: packets of the same source were dropped (hold, mute).
	gapDropped
	// gapRestart: the source was renegotiated (a carrier's re-INVITE), and
	// its sequence numbers and timestamps may start afresh under the same
	// SSRC, so it is taken as a new source.
	gapRestart
)

// next maps a source packet's sequence number and timestamp. g says what
// came before it.
func (r *rewriter) next(ssrc uint32, seq uint16, ts uint32, g gap, clockRate uint32, now time.Time) (uint16, uint32, bool) {
	newSource := !r.started || r.local || ssrc != r.srcSSRC || g == gapRestart
	resync := g == gapDropped
	r.local = false
	switch {
	case !r.started:
		r.started = true
	case newSource:
		r.tsOff = r.lastTS + r.elapsed(clockRate, now) - ts
		r.seqOff = r.lastSeq + 1 - seq
	case resync:
		// Same source: its timestamps kept running, only the
		// sequence numbers need closing up.
		r.seqOff = r.lastSeq + 1 - seq
	}
	r.srcSSRC = ssrc
	outSeq, outTS := seq+r.seqOff, ts+r.tsOff
	if int16(outSeq-r.lastSeq) > 0 || newSource || resync {
		r.lastSeq, r.lastTS = outSeq, outTS
	}
	r.lastSent = now
	return outSeq, outTS, newSource || resync
}

// elapsed is the time since the last packet sent in units of clockRate: how
// far the timestamp of a packet that does not follow on from it advances (at
// least 1, 20 ms for a clock that went backwards or a pause over a minute).
func (r *rewriter) elapsed(clockRate uint32, now time.Time) uint32 {
	d := now.Sub(r.lastSent)
	if d < 0 || d > time.Minute {
		d = 20 * time.Millisecond
	}
	return max(uint32(d.Seconds()*float64(clockRate)), 1)
}

// nextLocal numbers a packet the gateway makes itself (ringback,
// telephone-event): the sequence number after the last one sent and, when it
// follows on from the gateway's previous packet, the last timestamp plus
// advance (0 for an event's repeats); when it does not, the timestamp
// advances by the time elapsed, as a new source's would. A stream the gateway starts
// begins at random numbers (RFC 3550 §5.1). It reports whether the packet
// does not follow on (a jump, to be marked for audio).
func (r *rewriter) nextLocal(advance uint32, followsOn bool, clockRate uint32, now time.Time) (uint16, uint32, bool) {
	jumped := !followsOn || !r.started
	switch {
	case !r.started:
		r.started = true
		r.lastSeq, r.lastTS = uint16(rand.Uint32()), rand.Uint32()
	case followsOn:
		r.lastSeq++
		r.lastTS += advance
	default:
		r.lastSeq++
		r.lastTS += r.elapsed(clockRate, now)
	}
	r.lastSent, r.local = now, true
	return r.lastSeq, r.lastTS, jumped
}

// answerCodecs picks, from the codecs of an offer's audio section, those the
// answer lists: the kind's audio codec (audioChoices) and one
// telephone-event, at 8000 Hz when offered. Setting them as the transceiver's
// preferences keeps each at its own payload type: the library matches codecs
// by name and format parameters only, and would otherwise answer
// telephone-event/8000 with the payload type of telephone-event/48000.
func answerCodecs(kind Kind, negotiated []webrtc.RTPCodecParameters) []webrtc.RTPCodecParameters {
	return answerCodecsFor(audioChoices(kind), negotiated)
}

// answerCodecsFor is answerCodecs with the first of choices that is offered
// as the audio codec.
func answerCodecsFor(choices []codecClass, negotiated []webrtc.RTPCodecParameters) []webrtc.RTPCodecParameters {
	var out []webrtc.RTPCodecParameters
	for _, want := range choices {
		if c, ok := firstOfClass(negotiated, want); ok {
			out = append(out, c)
			break
		}
	}
	var event *webrtc.RTPCodecParameters
	for i, c := range negotiated {
		switch cl := classify(c); {
		case cl == classEvent8k && (event == nil || classify(*event) != classEvent8k):
			event = &negotiated[i]
		case cl == classEvent48k && event == nil:
			event = &negotiated[i]
		}
	}
	if len(out) == 0 {
		return nil
	}
	if event != nil {
		out = append(out, *event)
	}
	return out
}

// firstOfClass returns the first codec of class cl in list.
func firstOfClass(list []webrtc.RTPCodecParameters, cl codecClass) (webrtc.RTPCodecParameters, bool) {
	for _, c := range list {
		if classify(c) == cl {
			return c, true
		}
	}
	return webrtc.RTPCodecParameters{}, false
}

// outTrack is a leg's local audio track for forwarded and echoed packets: a
// minimal TrackLocal that writes RTP headers it rewrote itself straight to
// the sender's stream.
type outTrack struct {
	id, streamID string
	codec        webrtc.RTPCodecCapability
	audio        codecClass // the class of codec
	bound        atomic.Pointer[binding]
	// answered are the codecs of the answer, set before the track is
	// bound; only their payload types are written.
	answered []webrtc.RTPCodecParameters

	mu  sync.Mutex // serialises writes and the rewriter
	rw  rewriter
	hdr rtp.Header
	// writer made the last packet written; event holds while the gateway
	// sends a telephone-event of its own (dtmf.go), during which nothing
	// else is written.
	writer writer
	event  bool
	// prompt holds while the gateway plays a prompt on the track
	// (prompt.go) or sends it a conference mix (mix.go): nothing else is
	// written. holds counts the holders.
	prompt bool
	holds  int
	// sent is what the gateway's sender reports say of the stream
	// (rtcp.go).
	sent senderCounts
	// direct, once set, sends in place of the library (direct.go);
	// lastSeq and wraps follow the sequence numbers written, for its
	// rollover counter.
	direct  *directOut
	sentAny bool
	lastSeq uint16
	wraps   uint32
}

// writer is what made the packets of an outTrack.
type writer uint8

const (
	writerRelay  writer = iota // forwarded from a peer, or echoed
	writerRing                 // the gateway's ringback (ringback.go)
	writerEvent                // the gateway's telephone-event (dtmf.go)
	writerPrompt               // the gateway's prompt (prompt.go)
	writerMix                  // a conference mix (mix.go)
)

func newOutTrack(streamID string) *outTrack {
	return newOutTrackFor(streamID, classOpus)
}

// newOutTrackFor makes a track that sends audio of class audio: Opus, PCMU
// or PCMA.
func newOutTrackFor(streamID string, audio codecClass) *outTrack {
	codec := opusCapability
	switch audio {
	case classPCMU:
		codec = pcmuCapability
	case classPCMA:
		codec = pcmaCapability
	}
	return &outTrack{
		id:       "audio",
		streamID: streamID,
		codec:    codec,
		audio:    audio,
	}
}

var errNoCodec = errors.New("media: the track's codec is not negotiated")

// Bind implements webrtc.TrackLocal.
func (t *outTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	pts := newPayloadTypes(t.answered)
	for _, c := range ctx.CodecParameters() {
		if classify(c) == t.audio && uint8(c.PayloadType) == pts[t.audio] {
			t.bound.Store(&binding{
				id:   ctx.ID(),
				w:    ctx.WriteStream(),
				ssrc: uint32(ctx.SSRC()),
				pts:  pts,
			})
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, errNoCodec
}

// Unbind implements webrtc.TrackLocal.
func (t *outTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	if b := t.bound.Load(); b != nil && b.id == ctx.ID() {
		t.bound.CompareAndSwap(b, nil)
	}
	return nil
}

func (t *outTrack) ID() string                { return t.id }
func (t *outTrack) RID() string               { return "" }
func (t *outTrack) StreamID() string          { return t.streamID }
func (t *outTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// write sends one packet of class cl, received with header in, on this
// track. It reports whether the packet was written.
func (t *outTrack) write(in *rtp.Header, payload []byte, cl codecClass, g gap) bool {
	b := t.bound.Load()
	if b == nil {
		return false
	}
	pt := b.pts.lookup(cl)
	if pt == noPT {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.event || t.prompt {
		return false
	}
	now := time.Now()
	seq, ts, jumped := t.rw.next(in.SSRC, in.SequenceNumber, in.Timestamp, g, t.codec.ClockRate, now)
	t.writer = writerRelay
	t.hdr = rtp.Header{
		Version:        2,
		Padding:        in.Padding,
		Marker:         in.Marker || (jumped && cl.audio()),
		PayloadType:    pt,
		SequenceNumber: seq,
		Timestamp:      ts,
		SSRC:           b.ssrc,
	}
	if !t.writeOut(b, payload) {
		return false
	}
	t.sent.count(ts, len(payload), now)
	return true
}

// writeFrame sends a frame the gateway made of a stream of its own that
// nothing else writes to (a tone leg's): numbered on from the last, the
// timestamp advanced by advance.
func (t *outTrack) writeFrame(cl codecClass, payload []byte, advance uint32) bool {
	b := t.bound.Load()
	if b == nil {
		return false
	}
	pt := b.pts.lookup(cl)
	if pt == noPT {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	seq, ts, jumped := t.rw.nextLocal(advance, true, t.codec.ClockRate, time.Now())
	return t.writeLocked(b, pt, jumped && cl.audio(), seq, ts, payload)
}

// writeLocked sends a packet the gateway made, numbered by
// rw.nextLocal, with binding b. t.mu is held.
func (t *outTrack) writeLocked(b *binding, pt uint8, marker bool, seq uint16, ts uint32, payload []byte) bool {
	t.hdr = rtp.Header{
		Version:        2,
		Marker:         marker,
		PayloadType:    pt,
		SequenceNumber: seq,
		Timestamp:      ts,
		SSRC:           b.ssrc,
	}
	if !t.writeOut(b, payload) {
		return false
	}
	t.sent.count(ts, len(payload), time.Now())
	return true
}

// writeOut writes the packet of t.hdr and payload: through the gateway's own
// SRTP path once the leg has one, else through the library. t.mu is held.
func (t *outTrack) writeOut(b *binding, payload []byte) bool {
	seq := t.hdr.SequenceNumber
	if t.sentAny && seq < t.lastSeq && t.lastSeq-seq > 1<<15 {
		t.wraps++
	}
	t.sentAny, t.lastSeq = true, seq
	if t.direct != nil {
		return t.direct.send(&t.hdr, payload, t.wraps)
	}
	_, err := b.w.WriteRTP(&t.hdr, payload)
	return err == nil
}

// useDirect makes t send through o from its next packet on, with the
// rollover counter of what the library sent before (wraps).
func (t *outTrack) useDirect(o *directOut) {
	t.mu.Lock()
	t.direct = o
	t.mu.Unlock()
}

// source is the read side of one remote stream: the reused header and the
// classes of the payload types the remote negotiated.
type source struct {
	hdr     rtp.Header
	classes [128]codecClass
	gap     gap // what came since the last packet forwarded
	// negotiation is the RTP leg negotiation classes were taken from
	// (rtpState.negotiation; 0 for none): a new one brings new payload
	// types.
	negotiation uint64
}

func newSource(codecs []webrtc.RTPCodecParameters) *source {
	s := &source{hdr: rtp.Header{CSRC: make([]uint32, 0, 15)}}
	for _, c := range codecs {
		if c.PayloadType < 128 {
			s.classes[c.PayloadType] = classify(c)
		}
	}
	return s
}

// forwardPacket handles one RTP packet received from leg from: counts it and, when
// forwarding is on, writes it to the leg's destination (its peer, or itself
// for an echo leg). It never allocates.
func (from *leg) forwardPacket(s *source, pkt []byte) {
	n, err := s.hdr.Unmarshal(pkt)
	if err != nil || n > len(pkt) {
		return
	}
	from.forwardPayload(s, pkt[n:], true)
}

// forwardPayload is forwardPacket once s.hdr holds the packet's header.
// receiving is false while the leg's negotiated direction refuses what the
// remote sends (an RTP leg the carrier holds): the packet is counted, not
// forwarded.
func (from *leg) forwardPayload(s *source, payload []byte, receiving bool) {
	from.packetsReceived.Add(1)
	from.bytesReceived.Add(uint64(len(payload)))

	cl := s.classes[s.hdr.PayloadType&0x7F]
	forwarding := receiving && from.forward.Load()
	if tap := from.rec.Load(); tap != nil && forwarding {
		tap.offer(&s.hdr, cl, payload)
	}
	if tap := from.mixIn.Load(); tap != nil {
		// A conference member: its audio goes to the mix only.
		if forwarding {
			tap.offer(cl, payload)
		}
		s.gap = max(s.gap, gapDropped)
		return
	}

	var to *leg
	switch from.kind {
	case KindPhone, KindTrunkPhone, KindRTP:
		to = from.peer.Load()
	case KindEcho:
		to = from
	}
	if to == nil || !forwarding {
		s.gap = max(s.gap, gapDropped)
		return
	}
	if cl == classNone {
		// Not forwarded (comfort noise, say): the sequence numbers it
		// took are closed up.
		s.gap = max(s.gap, gapDropped)
		return
	}
	var sent bool
	switch {
	case to.out != nil:
		sent = to.out.write(&s.hdr, payload, cl, s.gap)
	case to.rtp != nil:
		sent = to.rtp.out.write(&s.hdr, payload, cl, s.gap)
	}
	if !sent {
		s.gap = max(s.gap, gapDropped)
		return
	}
	s.gap = gapNone
	to.packetsSent.Add(1)
	to.bytesSent.Add(uint64(len(payload)))
}

// g711ClockRate is the RTP clock of PCMU, PCMA and their telephone-event.
const g711ClockRate = 8000

// rtpOut is an RTP leg's sending side: it rewrites headers as outTrack
// does, encrypts when SRTP was negotiated, and writes to the carrier's
// address from the leg's RTP socket. Its SSRC, sequence numbers and
// timestamps carry on across hold and re-negotiation.
type rtpOut struct {
	conn  *net.UDPConn
	ssrc  uint32
	state *atomic.Pointer[rtpState]

	mu     sync.Mutex // serialises writes, the rewriter and the counts
	rw     rewriter
	hdr    rtp.Header
	encHdr rtp.Header // the library's scratch copy of hdr
	buf    [rtpBufferSize]byte
	enc    []byte // the encrypted packet; reused
	sent   senderCounts
	// prompt holds while the gateway plays a prompt to the carrier
	// (prompt.go) or sends it a conference mix (mix.go): nothing else is
	// sent. holds counts the holders.
	prompt bool
	holds  int
}

// senderCounts are what a sender report says of the stream (RFC 3550
// §6.4.1).
type senderCounts struct {
	packets, octets uint32 // since the start, wrapping
	lastTS          uint32 // timestamp of the last packet sent
	lastAt          time.Time
	since           bool // something was sent since the last report
}

// count notes a packet sent with timestamp ts and size bytes of payload.
func (c *senderCounts) count(ts uint32, size int, now time.Time) {
	c.packets++
	c.octets += uint32(size)
	c.lastTS, c.lastAt, c.since = ts, now, true
}

func newRTPOut(conn *net.UDPConn, ssrc uint32, state *atomic.Pointer[rtpState]) *rtpOut {
	return &rtpOut{
		conn:   conn,
		ssrc:   ssrc,
		state:  state,
		encHdr: rtp.Header{CSRC: make([]uint32, 0, 15)},
		enc:    make([]byte, 0, rtpBufferSize+srtpMaxOverhead),
	}
}

// write sends one packet of class cl, received with header in, to the
// carrier. It reports whether the packet was sent: not while the carrier
// holds the call or has no address, nor for a class it did not negotiate.
func (o *rtpOut) write(in *rtp.Header, payload []byte, cl codecClass, g gap) bool {
	st := o.state.Load()
	if st == nil || !st.send {
		return false
	}
	pt := st.pts.lookup(cl)
	if pt == noPT {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.prompt {
		return false
	}
	now := time.Now()
	seq, ts, jumped := o.rw.next(in.SSRC, in.SequenceNumber, in.Timestamp, g, g711ClockRate, now)
	o.hdr = rtp.Header{
		Version:        2,
		Padding:        in.Padding,
		Marker:         in.Marker || (jumped && cl.audio()),
		PayloadType:    pt,
		SequenceNumber: seq,
		Timestamp:      ts,
		SSRC:           o.ssrc,
	}
	return o.sendLocked(st, payload, now)
}

// sendLocked sends o.hdr and payload to the carrier, encrypted when SRTP
// was negotiated, and counts it. o.mu is held.
func (o *rtpOut) sendLocked(st *rtpState, payload []byte, now time.Time) bool {
	n, err := o.hdr.MarshalTo(o.buf[:])
	if err != nil || n+len(payload) > len(o.buf) {
		return false
	}
	n += copy(o.buf[n:], payload)
	pkt := o.buf[:n]
	if st.srtpOut != nil {
		enc, err := st.srtpOut.EncryptRTP(o.enc[:0], pkt, &o.encHdr)
		if err != nil {
			return false
		}
		o.enc, pkt = enc, enc
	}
	if _, err := o.conn.WriteToUDPAddrPort(pkt, st.remote); err != nil {
		return false
	}
	o.sent.count(o.hdr.Timestamp, len(payload), now)
	return true
}

// readRTPSocket is an RTP leg's receive loop on its RTP port: RTP from the
// carrier, and its RTCP when multiplexed (RFC 5761). One buffer is reused;
// SRTP is decrypted in place.
func (l *leg) readRTPSocket() {
	s := newSource(nil)
	buf := make([]byte, rtpBufferSize)
	for {
		n, from, err := l.rtp.rtpConn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		l.receiveRTP(s, buf[:n], from, time.Now())
	}
}

// receiveRTP handles one datagram that reached an RTP leg's RTP port from
// address from at time now. It never allocates for RTP, but to latch
// (latch.go).
func (l *leg) receiveRTP(s *source, pkt []byte, from netip.AddrPort, now time.Time) {
	st := l.rtp.state.Load()
	if st == nil {
		return
	}
	from = unmapped(from)
	latching := false
	switch {
	case st.accepts(from):
		if isRTCP(pkt) {
			l.receiveRTCP(st, pkt, now)
			return
		}
	case st.awaitsLatch() && !isRTCP(pkt):
		latching = true
	default:
		return
	}
	if st.srtpIn != nil {
		var err error
		if pkt, err = st.srtpIn.DecryptRTP(pkt, pkt, &s.hdr); err != nil {
			return
		}
	}
	n, err := s.hdr.Unmarshal(pkt)
	if err != nil || n > len(pkt) {
		return
	}
	if latching {
		if s.hdr.Version != 2 || st.classes[s.hdr.PayloadType&0x7F] == classNone {
			return
		}
		if st = l.latchRTP(st, from); st == nil {
			return
		}
	}
	if s.negotiation != st.negotiation {
		if s.negotiation != 0 {
			s.gap = gapRestart
		}
		s.classes, s.negotiation = st.classes, st.negotiation
	}
	cl := s.classes[s.hdr.PayloadType&0x7F]
	l.rtp.recv.note(&s.hdr, cl, now)
	l.forwardPayload(s, pkt[n:], st.recv)
}

// isRTCP tells RTCP from RTP on a shared port by the second octet: RTCP
// packet types 192-223 fall where RTP's marker bit and payload type could
// only say 64-95, which no leg negotiates (RFC 5761 §4).
func isRTCP(pkt []byte) bool {
	return len(pkt) >= 8 && pkt[1] >= 192 && pkt[1] <= 223
}

// recvStats counts the RTP a leg receives from the peer's current source
// (the carrier's, the browser's), for the reception reports the gateway
// sends it (RFC 3550 A.1, A.3, A.8) and for Stats.
type recvStats struct {
	rate uint32 // the RTP clock of the audio; 0: g711ClockRate. Set before any packet.
	mu   sync.Mutex
	c    recvCounts
}

// clockRate is the RTP clock the jitter is measured in.
func (r *recvStats) clockRate() uint32 {
	if r.rate == 0 {
		return g711ClockRate
	}
	return r.rate
}

type recvCounts struct {
	started   bool
	ssrc      uint32
	baseSeq   uint32
	maxSeq    uint16
	cycles    uint32 // count of sequence wraps, shifted by 16
	received  uint32
	epoch     time.Time // arrival times are counted from here, in RTP units
	transit   int64
	hasTrans  bool
	jitter    float64 // in timestamp units
	expPrior  uint32  // expected and received at the last report
	recvPrior uint32
	lastSR    uint32 // middle 32 bits of the NTP time of the source's last sender report
	lastSRAt  time.Time
}

// note counts one packet of class cl with header h, arrived at now.
func (r *recvStats) note(h *rtp.Header, cl codecClass, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := &r.c
	if !c.started || h.SSRC != c.ssrc {
		// A new source: its counts start over (RFC 3550 A.1).
		*c = recvCounts{started: true, ssrc: h.SSRC, baseSeq: uint32(h.SequenceNumber),
			maxSeq: h.SequenceNumber, epoch: now}
	} else if d := h.SequenceNumber - c.maxSeq; d != 0 && d < 1<<15 {
		if h.SequenceNumber < c.maxSeq {
			c.cycles += 1 << 16
		}
		c.maxSeq = h.SequenceNumber
	}
	c.received++
	if !cl.audio() {
		// Events repeat their timestamp: they would read as jitter.
		return
	}
	arrival := int64(now.Sub(c.epoch) * time.Duration(r.clockRate()) / time.Second)
	transit := arrival - int64(h.Timestamp)
	if c.hasTrans {
		// RFC 3550 A.8, with the difference taken modulo 2^32.
		d := uint32(transit - c.transit)
		if d > 1<<31 {
			d = -d
		}
		c.jitter += (float64(d) - c.jitter) / 16
	}
	c.transit, c.hasTrans = transit, true
}
