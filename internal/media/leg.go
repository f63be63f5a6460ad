package media

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v3"

	"github.com/callbridge/widget-server/internal/logctx"
)

var (
	opusCapability = webrtc.RTPCodecCapability{
		MimeType:    webrtc.MimeTypeOpus,
		ClockRate:   48000,
		Channels:    2,
		SDPFmtpLine: "minptime=10;useinbandfec=1",
	}
	pcmuCapability = webrtc.RTPCodecCapability{
		MimeType:  webrtc.MimeTypePCMU,
		ClockRate: 8000,
	}
	pcmaCapability = webrtc.RTPCodecCapability{
		MimeType:  webrtc.MimeTypePCMA,
		ClockRate: 8000,
	}
	eventCapability = webrtc.RTPCodecCapability{
		MimeType:    mimeTelephoneEvent,
		ClockRate:   8000,
		SDPFmtpLine: "0-15",
	}
)

// rtpBufferSize holds any packet the receive MTU lets through.
const rtpBufferSize = 1500

// leg is one browser's PeerConnection, or one RTP leg's sockets, and the
// goroutines that serve it.
type leg struct {
	id    string
	kind  Kind
	g     *Gateway
	log   *slog.Logger
	pc    *webrtc.PeerConnection // browser legs
	out   *outTrack              // KindPhone, KindEcho, KindTrunkPhone
	tone  *outTrack              // KindTone
	rtp   *rtpLeg                // KindRTP
	audio codecClass             // browser legs: the codec answered
	ufrag string                 // browser legs: the local ICE credentials
	pwd   string

	peer    atomic.Pointer[leg] // KindPhone: where received audio goes
	forward atomic.Bool
	ring    ringback                  // KindTrunkPhone
	dtmf    dtmfQueue                 // KindTrunkPhone
	playing atomic.Bool               // a prompt is being played (prompt.go)
	rec     atomic.Pointer[recordTap] // the recording that takes the leg's audio (record.go)
	mixIn   atomic.Pointer[mixTap]    // the conference mix that takes the leg's audio (mix.go)
	mixed   *mix                      // the mix the leg is a member of; under g.mu

	packetsReceived, bytesReceived atomic.Uint64
	packetsSent, bytesSent         atomic.Uint64
	sendSSRC                       uint32 // set before any goroutine starts
	sendClockRate                  uint32
	answered                       []webrtc.RTPCodecParameters // set before any goroutine starts
	reports                        reportStats
	recv                           recvStats               // browser legs: the browser's stream (RTP legs count in rtp.recv)
	retired                        *legCounts              // under g.mu: the counters when the leg left the table (Totals)
	buffers                        map[uint32]*trackBuffer // under mu: the library's buffers of the RTP received, by SSRC

	ctx    context.Context // ends when the leg closes
	cancel context.CancelFunc

	mu        sync.Mutex
	closing   bool
	discTimer *time.Timer
	wg        sync.WaitGroup // every goroutine of the leg
	closeOnce sync.Once
	failed    atomic.Bool
}

// OpenLeg answers a browser's offer and returns the answer SDP once ICE
// gathering is complete (host candidates only, so at once). KindPhone and
// KindEcho negotiate Opus/48000/2, KindTone PCMU/8000, KindTrunkPhone PCMU/8000
// if offered, else PCMA/8000, each with telephone-event. An offer over 64
// KiB, with more than 64 candidate lines or without a usable audio section is
// refused with ErrBadOffer. RTP legs are opened by OfferRTP and AnswerRTP.
func (g *Gateway) OpenLeg(ctx context.Context, id string, offerSDP string, kind Kind) (answerSDP string, err error) {
	switch {
	case kind == KindRTP:
		return "", fmt.Errorf("open leg %s: RTP legs open with OfferRTP or AnswerRTP", id)
	case kind < KindPhone || kind > KindTrunkPhone:
		return "", fmt.Errorf("open leg %s: unknown kind %d", id, int(kind))
	}
	return g.openLeg(ctx, id, offerSDP, kind, audioChoices(kind))
}

// OpenLegLike opens a KindTrunkPhone leg whose G.711 codec is that of leg
// like (an RTP leg whose codec is negotiated, or another G.711 leg): the
// browser side of a call whose carrier answered, or offered, before the
// browser. An offer without that codec is refused with ErrBadOffer; a like
// leg without a G.711 codec gives ErrCodecMismatch.
func (g *Gateway) OpenLegLike(ctx context.Context, id, offerSDP, like string) (answerSDP string, err error) {
	choices, err := g.g711Like(like)
	if err != nil {
		return "", fmt.Errorf("open leg %s: %w", id, err)
	}
	return g.openLeg(ctx, id, offerSDP, KindTrunkPhone, choices)
}

// openLeg opens a browser leg of kind whose audio codec is the first of
// choices the offer holds.
func (g *Gateway) openLeg(ctx context.Context, id string, offerSDP string, kind Kind, choices []codecClass) (answerSDP string, err error) {
	audio, err := checkOfferFor(offerSDP, choices)
	if err != nil {
		return "", fmt.Errorf("open leg %s: %w", id, err)
	}
	l := &leg{
		id:    id,
		kind:  kind,
		g:     g,
		log:   g.log.With(legAttrs(ctx, id, kind)...),
		audio: classify(audio.answer[0]),
	}
	l.ufrag, l.pwd = iceCredentials()
	api, err := g.newAPI(kind, l)
	if err != nil {
		return "", fmt.Errorf("open leg %s: %w", id, err)
	}
	// The mux knows the leg by its ufrag before the first check arrives.
	g.mux.attach(l.ufrag, l)
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		g.mux.detach(l.ufrag)
		return "", fmt.Errorf("open leg %s: new peer connection: %w", id, err)
	}
	l.pc = pc
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.forward.Store(true)
	if kind == KindTone {
		l.tone = newOutTrackFor(id, classPCMU)
		l.sendClockRate = l.tone.codec.ClockRate
	} else {
		l.out = newOutTrackFor(id, l.audio)
		l.sendClockRate = l.out.codec.ClockRate
	}
	l.recv.rate = l.sendClockRate
	if kind == KindTrunkPhone {
		l.ring.wake = make(chan struct{}, 1)
	}

	if err = g.addLeg(l); err != nil {
		l.cancel()
		_ = pc.Close()
		return "", fmt.Errorf("open leg %s: %w", id, err)
	}

	answer, err := l.negotiate(ctx, offerSDP, audio)
	if err != nil {
		g.removeLeg(l)
		l.close()
		return "", fmt.Errorf("open leg %s: %w", id, err)
	}
	l.log.Debug("leg opened")
	return answer, nil
}

// addLeg registers l under its id, unless the gateway is closed or the id
// taken.
func (g *Gateway) addLeg(l *leg) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.closed:
		return errClosed
	case g.legs[l.id] != nil:
		return errLegExists
	}
	g.legs[l.id] = l
	return nil
}

// audioClass is the audio codec of the leg: the answered one of a browser
// leg, the negotiated one of an RTP leg (none before its first
// negotiation).
func (l *leg) audioClass() codecClass {
	if l.rtp != nil {
		if st := l.rtp.state.Load(); st != nil {
			return st.audio
		}
		return classNone
	}
	return l.audio
}

// newAPI builds a leg's API: the shared settings (the one UDP socket) with
// the leg's own buffers for the RTP it receives (trackbuf.go), a
// MediaEngine with only the codecs of its kind, and no interceptors: the
// gateway writes and reads the leg's RTCP reports itself (rtcp.go), as for
// RTP legs.
func (g *Gateway) newAPI(kind Kind, l *leg) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	audio := []webrtc.RTPCodecParameters{{RTPCodecCapability: opusCapability, PayloadType: 111}}
	switch kind {
	case KindTone:
		audio = []webrtc.RTPCodecParameters{{RTPCodecCapability: pcmuCapability, PayloadType: 0}}
	case KindTrunkPhone:
		audio = []webrtc.RTPCodecParameters{
			{RTPCodecCapability: pcmuCapability, PayloadType: 0},
			{RTPCodecCapability: pcmaCapability, PayloadType: 8},
		}
	}
	for _, c := range audio {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("register codec: %w", err)
		}
	}
	event := webrtc.RTPCodecParameters{RTPCodecCapability: eventCapability, PayloadType: 101}
	if err := me.RegisterCodec(event, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("register codec: %w", err)
	}
	se := g.settings
	se.BufferFactory = l.newBuffer
	se.SetICECredentials(l.ufrag, l.pwd)
	return webrtc.NewAPI(
		webrtc.WithSettingEngine(se),
		webrtc.WithMediaEngine(me),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}),
	), nil
}

// negotiate applies the offer, attaches the leg's track to the offered
// audio transceiver and returns the complete answer.
func (l *leg) negotiate(ctx context.Context, offerSDP string, audio offeredAudio) (string, error) {
	l.pc.OnConnectionStateChange(l.onState)
	l.pc.OnTrack(l.onTrack)

	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offerSDP}
	if err := l.pc.SetRemoteDescription(offer); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	sender, err := l.pc.AddTrack(l.sendTrack())
	if err != nil {
		return "", fmt.Errorf("add track: %w", err)
	}
	tr := transceiverOf(l.pc, sender)
	if tr == nil || tr.Mid() == "" || tr.Mid() != audio.mid {
		// Not the offer's first audio section: the answer could not
		// carry it.
		return "", fmt.Errorf("%w: no audio section to send on", ErrBadOffer)
	}
	// The answer lists the kind's codecs at the offer's own payload types
	// (see answerCodecs); forwarding reads and writes those.
	l.answered = audio.answer
	if err := tr.SetCodecPreferences(l.answered); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	l.sendTrack().answered = l.answered
	if enc := sender.GetParameters().Encodings; len(enc) > 0 {
		l.sendSSRC = uint32(enc[0].SSRC)
	}
	l.start(func() { l.readRTCP(sender) })
	l.start(l.reportRTCP)

	answer, err := l.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("create answer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(l.pc)
	if err := l.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	case <-l.ctx.Done():
		return "", errClosed
	}
	if l.tone != nil {
		l.start(l.playTone)
	}
	local := l.pc.LocalDescription()
	if local == nil {
		return "", errClosed
	}
	return local.SDP, nil
}

// transceiverOf finds the transceiver that holds sender.
func transceiverOf(pc *webrtc.PeerConnection, sender *webrtc.RTPSender) *webrtc.RTPTransceiver {
	for _, tr := range pc.GetTransceivers() {
		if tr.Sender() == sender {
			return tr
		}
	}
	return nil
}

func (l *leg) onTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	if track.Kind() != webrtc.RTPCodecTypeAudio {
		return
	}
	l.start(func() { l.readRTCP(receiver) })
	if b := l.buffer(uint32(track.SSRC())); b != nil {
		l.start(func() { l.takeOver(track, b) })
		return
	}
	l.start(func() { l.readRTP(track, l.answered) })
}

// takeOver makes the track's buffer forward what it receives: it forwards
// what the library and the buffer hold (the packets that came before the
// track was announced) and returns once the buffer forwards by itself.
func (l *leg) takeOver(track *webrtc.TrackRemote, b *trackBuffer) {
	s := newSource(l.answered)
	b.handOver(s)
	buf := make([]byte, rtpBufferSize)
	for {
		n, _, err := track.Read(buf)
		switch {
		case err == nil:
			l.receiveTrackPacket(s, buf[:n])
		case errors.Is(err, errHandedOver), errors.Is(err, io.EOF), n == 0:
			return
		}
		// else a packet the library would not take (an unknown
		// payload type): skipped.
	}
}

// sendTrack is the browser leg's outgoing track.
func (l *leg) sendTrack() *outTrack {
	if l.tone != nil {
		return l.tone
	}
	return l.out
}

// readRTP is the one goroutine of a remote track whose buffer is not the
// leg's own: read into a reused buffer, count, forward.
func (l *leg) readRTP(track *webrtc.TrackRemote, codecs []webrtc.RTPCodecParameters) {
	s := newSource(codecs)
	buf := make([]byte, rtpBufferSize)
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		l.receiveTrackPacket(s, buf[:n])
	}
}

// receiveTrackPacket counts one packet of the browser's stream for the
// gateway's reports and forwards it.
func (l *leg) receiveTrackPacket(s *source, pkt []byte) {
	n, err := s.hdr.Unmarshal(pkt)
	if err != nil || n > len(pkt) {
		return
	}
	l.recv.note(&s.hdr, s.classes[s.hdr.PayloadType&0x7F], time.Now())
	l.forwardPayload(s, pkt[n:], true)
}

func (l *leg) onState(s webrtc.PeerConnectionState) {
	l.log.Debug("leg state", slog.String("state", s.String()))
	switch s {
	case webrtc.PeerConnectionStateFailed:
		l.fail("failed")
	case webrtc.PeerConnectionStateClosed:
		l.fail("closed by peer")
	case webrtc.PeerConnectionStateDisconnected:
		l.mu.Lock()
		if !l.closing && l.discTimer == nil {
			l.discTimer = time.AfterFunc(disconnectedGrace, func() {
				if l.pc.ConnectionState() == webrtc.PeerConnectionStateDisconnected {
					l.fail("disconnected")
				}
			})
		}
		l.mu.Unlock()
	case webrtc.PeerConnectionStateConnected:
		l.mu.Lock()
		if l.discTimer != nil {
			l.discTimer.Stop()
			l.discTimer = nil
		}
		l.mu.Unlock()
	}
}

// fail closes a leg the gateway did not close itself and reports it to
// OnLegFailed, once, from a goroutine of its own.
func (l *leg) fail(reason string) {
	l.mu.Lock()
	closing := l.closing
	l.mu.Unlock()
	if closing || !l.failed.CompareAndSwap(false, true) {
		return
	}
	l.g.spawn(func() {
		l.g.removeLeg(l)
		l.close()
		l.log.Warn("leg failed", slog.String("reason", reason))
		if cb := l.g.cfg.OnLegFailed; cb != nil {
			cb(l.id)
		}
	})
}

// start runs f on a goroutine the leg owns, unless the leg is closing. It
// reports whether f runs.
func (l *leg) start(f func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		return false
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
	return true
}

// close stops the leg: its PeerConnection or sockets (whose ports it then
// releases), timers and goroutines.
func (l *leg) close() {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closing = true
		if l.discTimer != nil {
			l.discTimer.Stop()
			l.discTimer = nil
		}
		l.mu.Unlock()
		l.cancel()
		if l.pc != nil {
			if err := l.pc.Close(); err != nil {
				l.log.Warn("close peer connection", slog.Any("err", err))
			}
		}
		if l.rtp != nil {
			l.rtp.close()
		}
		if l.ufrag != "" {
			l.g.mux.detach(l.ufrag)
		}
		l.wg.Wait()
		if l.rtp != nil {
			l.rtp.ports.release(l.rtp.port)
		}
		l.g.settle(l)
	})
}

// legAttrs are the attributes of every line about a leg: its id and kind,
// after those its opener's context carries (the call's telephonySessionId).
func legAttrs(ctx context.Context, id string, kind Kind) []any {
	var out []any
	for _, a := range logctx.Attrs(ctx) {
		out = append(out, a)
	}
	return append(out, slog.String("leg", id), slog.String("kind", kind.String()))
}

// iceCredentials makes a leg's local ICE ufrag and password: 96 and 192
// random bits in ice-chars (RFC 8445 §5.3 asks for at least 24 and 128;
// the ufrag names the leg on the shared socket, so it is long enough
// never to repeat).
func iceCredentials() (ufrag, pwd string) {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, 16+32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = chars[b[i]&63]
	}
	return string(b[:16]), string(b[16:])
}
