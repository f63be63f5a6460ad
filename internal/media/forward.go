package media

import (
	"errors"
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
	classPCMU                       // PCMU/8000 (tone legs only)
	numClasses
)

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
// (another peer after Connect) or pauses (forwarding off): sequence numbers
// carry on from the last one sent and timestamps jump by the time elapsed.
type rewriter struct {
	started  bool
	srcSSRC  uint32
	seqOff   uint16
	tsOff    uint32
	lastSeq  uint16
	lastTS   uint32
	lastSent time.Time
}

// next maps a source packet's sequence number and timestamp. resync says that
// packets of the same source were dropped before this one.
func (r *rewriter) next(ssrc uint32, seq uint16, ts uint32, resync bool, clockRate uint32, now time.Time) (uint16, uint32, bool) {
	newSource := !r.started || ssrc != r.srcSSRC
	switch {
	case !r.started:
		r.started = true
	case newSource:
		elapsed := now.Sub(r.lastSent)
		if elapsed < 0 || elapsed > time.Minute {
			elapsed = 20 * time.Millisecond
		}
		step := uint32(elapsed.Seconds() * float64(clockRate))
		r.tsOff = r.lastTS + max(step, 1) - ts
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

// answerCodecs picks, from the codecs of an offer's audio section, those the
// answer lists: the kind's audio codec (Opus, or PCMU for tone legs) and one
// telephone-event, at 8000 Hz when offered. Setting them as the transceiver's
// preferences keeps each at its own payload type: the library matches codecs
// by name and format parameters only, and would otherwise answer
// telephone-event/8000 with the payload type of telephone-event/48000.
func answerCodecs(kind Kind, negotiated []webrtc.RTPCodecParameters) []webrtc.RTPCodecParameters {
	audio := classOpus
	if kind == KindTone {
		audio = classPCMU
	}
	var out []webrtc.RTPCodecParameters
	var event *webrtc.RTPCodecParameters
	for i, c := range negotiated {
		switch cl := classify(c); {
		case cl == audio && len(out) == 0:
			out = append(out, c)
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

// outTrack is a leg's local audio track for forwarded and echoed packets: a
// minimal TrackLocal that writes RTP headers it rewrote itself straight to
// the sender's stream.
type outTrack struct {
	id, streamID string
	codec        webrtc.RTPCodecCapability
	bound        atomic.Pointer[binding]
	// answered are the codecs of the answer, set before the track is
	// bound; only their payload types are written.
	answered []webrtc.RTPCodecParameters

	mu  sync.Mutex // serialises writes and the rewriter
	rw  rewriter
	hdr rtp.Header
}

func newOutTrack(streamID string) *outTrack {
	return &outTrack{
		id:       "audio",
		streamID: streamID,
		codec:    opusCapability,
	}
}

var errNoOpus = errors.New("media: opus not negotiated")

// Bind implements webrtc.TrackLocal.
func (t *outTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	pts := newPayloadTypes(t.answered)
	for _, c := range ctx.CodecParameters() {
		if classify(c) == classOpus && uint8(c.PayloadType) == pts[classOpus] {
			t.bound.Store(&binding{
				id:   ctx.ID(),
				w:    ctx.WriteStream(),
				ssrc: uint32(ctx.SSRC()),
				pts:  pts,
			})
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, errNoOpus
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
func (t *outTrack) write(in *rtp.Header, payload []byte, cl codecClass, resync bool) bool {
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
	seq, ts, jumped := t.rw.next(in.SSRC, in.SequenceNumber, in.Timestamp, resync, t.codec.ClockRate, time.Now())
	t.hdr = rtp.Header{
		Version:        2,
		Padding:        in.Padding,
		Marker:         in.Marker || (jumped && cl == classOpus),
		PayloadType:    pt,
		SequenceNumber: seq,
		Timestamp:      ts,
		SSRC:           b.ssrc,
	}
	_, err := b.w.WriteRTP(&t.hdr, payload)
	return err == nil
}

// source is the read side of one remote track: the reused header and the
// classes of the payload types the remote negotiated.
type source struct {
	hdr     rtp.Header
	classes [128]codecClass
	dropped bool // packets were held back since the last one forwarded
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
	payload := pkt[n:]
	from.packetsReceived.Add(1)
	from.bytesReceived.Add(uint64(len(payload)))

	var to *leg
	switch from.kind {
	case KindPhone:
		to = from.peer.Load()
	case KindEcho:
		to = from
	}
	if to == nil || to.out == nil || !from.forward.Load() {
		s.dropped = true
		return
	}
	cl := s.classes[s.hdr.PayloadType&0x7F]
	if cl == classNone {
		return
	}
	if to.out.write(&s.hdr, payload, cl, s.dropped) {
		s.dropped = false
		to.packetsSent.Add(1)
		to.bytesSent.Add(uint64(len(payload)))
	}
}
