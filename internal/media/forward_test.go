package media

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

// captureWriter stands in for a sender's stream: it marshals the header as
// the real one does and keeps the last packet.
type captureWriter struct {
	hdr     rtp.Header
	payload []byte
	buf     [rtpBufferSize]byte
	n       int
}

func (w *captureWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	n, err := h.MarshalTo(w.buf[:])
	if err != nil {
		return 0, err
	}
	n += copy(w.buf[n:], payload)
	w.hdr, w.payload, w.n = *h, payload, n
	return n, nil
}

func (w *captureWriter) Write(b []byte) (int, error) { return len(b), nil }

func codecList(opus, ev8k, ev48k webrtc.PayloadType) []webrtc.RTPCodecParameters {
	list := []webrtc.RTPCodecParameters{{RTPCodecCapability: opusCapability, PayloadType: opus}}
	if ev8k != 0 {
		list = append(list, webrtc.RTPCodecParameters{RTPCodecCapability: eventCapability, PayloadType: ev8k})
	}
	if ev48k != 0 {
		list = append(list, webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeTelephoneEvent, ClockRate: 48000}, PayloadType: ev48k})
	}
	return list
}

// pair builds two phone legs without PeerConnections: from's packets go to
// to's track, which writes into w.
func pair(fromCodecs, toCodecs []webrtc.RTPCodecParameters) (*leg, *source, *captureWriter) {
	w := &captureWriter{}
	to := &leg{kind: KindPhone, out: newOutTrack("to")}
	to.out.bound.Store(&binding{w: w, ssrc: 0xCAFE, pts: newPayloadTypes(toCodecs)})
	from := &leg{kind: KindPhone}
	from.peer.Store(to)
	from.forward.Store(true)
	return from, newSource(fromCodecs), w
}

func packet(t testing.TB, pt uint8, seq uint16, ts, ssrc uint32, payload []byte) []byte {
	t.Helper()
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}, Payload: payload}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestForwardMapsPayloadTypes(t *testing.T) {
	from, s, w := pair(codecList(111, 126, 110), codecList(109, 101, 0))
	for _, tc := range []struct {
		name    string
		inPT    uint8
		wantPT  uint8
		dropped bool
	}{
		{"opus", 111, 109, false},
		{"event 8k", 126, 101, false},
		{"event 48k onto the only event type", 110, 101, false},
		{"unknown type", 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.n = 0
			from.forwardPacket(s, packet(t, tc.inPT, 7, 1000, 42, []byte{1, 2, 3}))
			if tc.dropped {
				if w.n != 0 {
					t.Fatalf("forwarded payload type %d", tc.inPT)
				}
				return
			}
			if w.hdr.PayloadType != tc.wantPT || w.hdr.SSRC != 0xCAFE || string(w.payload) != "\x01\x02\x03" {
				t.Fatalf("wrote PT %d SSRC %x payload %x", w.hdr.PayloadType, w.hdr.SSRC, w.payload)
			}
		})
	}

	// No telephone-event at all on the destination: events are dropped.
	from, s, w = pair(codecList(111, 126, 0), codecList(109, 0, 0))
	from.forwardPacket(s, packet(t, 126, 1, 1, 1, []byte{5, 0x8a, 0, 1}))
	if w.n != 0 {
		t.Fatal("event forwarded to a leg without telephone-event")
	}
}

func TestForwardIgnoresMalformedPackets(t *testing.T) {
	from, s, w := pair(codecList(111, 0, 0), codecList(111, 0, 0))
	for _, pkt := range [][]byte{nil, {0x80}, make([]byte, 11), {0x8F, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}, {0x90, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0, 9}} {
		from.forwardPacket(s, pkt)
	}
	if w.n != 0 {
		t.Fatal("a malformed packet was forwarded")
	}
}

func TestRewriterKeepsStreamContinuous(t *testing.T) {
	var r rewriter
	now := time.Unix(1000, 0)
	seq, ts, jumped := r.next(1, 100, 5000, gapNone, 48000, now)
	if seq != 100 || ts != 5000 || !jumped {
		t.Fatalf("first packet mapped to %d/%d/%v", seq, ts, jumped)
	}
	seq, ts, jumped = r.next(1, 101, 5960, gapNone, 48000, now.Add(20*time.Millisecond))
	if seq != 101 || ts != 5960 || jumped {
		t.Fatalf("second packet mapped to %d/%d/%v", seq, ts, jumped)
	}
	// Held for 50 packets: same source, sequence closes up, time runs on.
	seq, ts, jumped = r.next(1, 152, 5960+51*960, gapDropped, 48000, now.Add(time.Second))
	if seq != 102 || ts != 5960+51*960 || !jumped {
		t.Fatalf("after hold mapped to %d/%d/%v", seq, ts, jumped)
	}
	// A new source 100 ms later: sequence continues, timestamp advances 100 ms.
	seq, ts, _ = r.next(2, 65530, 7, gapNone, 48000, now.Add(1100*time.Millisecond))
	if seq != 103 || ts != 5960+51*960+4800 {
		t.Fatalf("new source mapped to %d/%d", seq, ts)
	}
	// Its next packets follow on, across the 16-bit wrap.
	for i := range uint16(10) {
		seq, _, _ = r.next(2, 65531+i, 7+960*uint32(i+1), gapNone, 48000, now.Add(1120*time.Millisecond))
		if seq != 104+i {
			t.Fatalf("packet %d of new source mapped to seq %d", i, seq)
		}
	}
}

// BenchmarkForward measures the gateway's own forwarding step for one packet
// (parse, map, rewrite, hand to the sender's stream); the stream here only
// marshals the header. It must report 0 allocs/op.
func BenchmarkForward(b *testing.B) {
	from, s, _ := pair(codecList(111, 126, 0), codecList(109, 101, 0))
	pkt := packet(b, 111, 0, 0, 42, make([]byte, 80)) // a 20 ms Opus frame at ~32 kbit/s
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	b.ResetTimer()
	for i := range b.N {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i)*960)
		from.forwardPacket(s, pkt)
	}
}

func TestForwardDoesNotAllocate(t *testing.T) {
	from, s, _ := pair(codecList(111, 126, 0), codecList(109, 101, 0))
	pkt := packet(t, 111, 0, 0, 42, make([]byte, 80))
	var i uint16
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		binary.BigEndian.PutUint16(pkt[2:], i)
		from.forwardPacket(s, pkt)
	})
	if allocs != 0 {
		t.Fatalf("forwarding allocates %.1f times per packet", allocs)
	}
}
