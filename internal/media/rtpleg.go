package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/srtp/v2"
	"github.com/pion/webrtc/v3"
)

// RTP legs carry a call's audio to and from a carrier through a SIP trunk:
// G.711 over plain RTP (RTP/AVP), or SRTP keyed by SDES (RTP/SAVP, RFC 4568)
// when the carrier offers it or the trunk asks for it. Each leg has a port
// pair of its own from Config.RTPPorts. Connected to a KindTrunkPhone leg,
// or to another RTP leg, its packets are relayed to the peer and back
// without transcoding (forward.go); it sends the carrier RTCP reports of its
// own (rtcp.go).
//
// Signalling stays with the caller: the gateway writes and reads SDP, and
// the SIP side carries it. For an outbound INVITE the caller takes OfferRTP's
// offer and gives the carrier's answer (in a 183 or a 200) to ApplyRTPAnswer;
// for an inbound INVITE, AnswerRTP answers the carrier's offer. A re-INVITE
// from the carrier is AnswerRTP again on the open leg; one of ours is
// OfferRTP again, then ApplyRTPAnswer.

// RTPOptions says how an RTP leg offers or answers.
type RTPOptions struct {
	// Like names the leg whose G.711 codec the RTP leg must carry: the
	// browser leg it will be connected to, or another RTP leg. Empty:
	// PCMU, else PCMA. A leg whose codec is negotiated keeps it, and
	// ignores Like.
	Like string
	// SRTP makes an offer RTP/SAVP with an SDES key for
	// AES_CM_128_HMAC_SHA1_80. An answer follows the offer's profile, and
	// a re-offer the leg's current one.
	SRTP bool
	// Direction is what the gateway's side of the call wants: SendOnly or
	// Inactive while the browser holds the carrier. An answer narrows it to
	// what the offer allows (RFC 3264 §6.1).
	Direction Direction
	// Latch makes the leg take its media address from the first valid
	// packet it receives rather than from the SDP (symmetric RTP,
	// latch.go), whatever address the SDP gives: for desk phones and
	// softphones, which may sit behind a NAT that keeps their address.
	// Without it a leg latches only when the SDP's address is one the
	// internet cannot reach (private, shared, link-local, 0.0.0.0). Once
	// given, it holds for the leg's life.
	Latch bool
}

var (
	errNoAddress    = errors.New("media: no IPv4 address to advertise for RTP (set RTPAdvertiseIP)")
	errBadDirection = errors.New("media: unknown direction")
)

// rtpLeg is the RTP side of a KindRTP leg.
type rtpLeg struct {
	rtpConn, rtcpConn *net.UDPConn
	port              int // even; RTCP on port+1
	ports             *portPool
	advertise         netip.Addr
	cname             string // RFC 7022: random, one per leg

	state  atomic.Pointer[rtpState] // nil until the first negotiation
	out    *rtpOut
	recv   recvStats
	rtcpMu sync.Mutex // SRTCP decryption: RTCP may reach either port

	reportMu sync.Mutex // one report at a time; none after the BYE
	byeSent  bool

	mu        sync.Mutex // negotiation
	sessionID uint64
	version   uint64
	keys      map[sdesSuite]*srtpPair // the gateway's own, by suite, for the leg's life
	offer     *rtpOffer               // the gateway's last offer, while it is the latest

	negotiations uint64 // settled so far; numbers rtpState.negotiation
	latch        bool   // RTPOptions.Latch was given once
}

// rtpOffer is an offer the gateway made and what it allows in the answer.
type rtpOffer struct {
	sdp     localSDP
	choices []codecClass
}

// rtpState is what an RTP leg's packet path reads of its negotiated
// session. Each negotiation stores a new one, and so does a latch (a copy
// with the source filled in, latch.go); none is changed once stored.
type rtpState struct {
	negotiation uint64 // which negotiation made it; a latch keeps it
	audio       codecClass
	remote      netip.AddrPort // where RTP goes; invalid while the carrier gave no address or the latch waits
	remoteRTCP  netip.AddrPort // where RTCP goes
	mux         bool           // RTCP shares the RTP ports (RFC 5761)
	peer        netip.Addr     // the only address packets are taken from
	send, recv  bool           // what the negotiated directions allow; send also needs remote
	canSend     bool           // what the directions allow, remote or not
	pts         payloadTypes   // the carrier's payload types, for what the gateway sends
	classes     [128]codecClass
	out, in     *srtpPair     // nil for plain RTP
	srtpOut     *srtp.Context // out.rtp and in.rtp, for the packet path
	srtpIn      *srtp.Context

	// Symmetric RTP (latch.go).
	sdp        netip.AddrPort // the carrier's media address as its SDP gives it; invalid for c=0.0.0.0
	latch      bool           // media goes to and comes from source, not sdp
	source     netip.AddrPort // the latched source; invalid until the first valid packet
	rtcpSource netip.AddrPort // the latched source of RTCP on its own port, once seen
	held       bool           // an old-style hold (c=0.0.0.0 on a renegotiation): nothing goes to the carrier
}

// accepts reports whether a packet from from (unmapped) belongs to the
// negotiated session: it must come from the latched source of a leg that
// latches, else from the carrier's media address (any port, for a carrier
// whose RTCP leaves from elsewhere than it listens).
func (s *rtpState) accepts(from netip.AddrPort) bool {
	if s.latch {
		return s.source.IsValid() && from == s.source
	}
	return s.peer.IsValid() && from.Addr() == s.peer
}

// OfferRTP opens RTP leg id toward a carrier and returns its SDP offer, for
// an INVITE: G.711 (the codec of o.Like, else PCMU and PCMA) with
// telephone-event, RTCP multiplexing offered, SDES-SRTP when o.SRTP.
// ApplyRTPAnswer takes the carrier's answer. Called on an open RTP leg it
// makes a new offer (for a re-INVITE: hold, resume) that keeps the leg's
// port, SSRC, key and codec.
func (g *Gateway) OfferRTP(ctx context.Context, id string, o RTPOptions) (offerSDP string, err error) {
	if o.Direction > Inactive {
		return "", fmt.Errorf("offer rtp %s: %w", id, errBadDirection)
	}
	l, err := g.rtpLeg(id)
	if err != nil {
		return "", fmt.Errorf("offer rtp %s: %w", id, err)
	}
	if l != nil {
		offer, err := l.rtp.makeOffer(o, nil)
		if err != nil {
			return "", fmt.Errorf("offer rtp %s: %w", id, err)
		}
		l.log.Debug("rtp re-offer", slog.String("direction", o.Direction.String()))
		return offer, nil
	}
	choices, err := g.g711Like(o.Like)
	if err != nil {
		return "", fmt.Errorf("offer rtp %s: %w", id, err)
	}
	l, err = g.newRTPLeg(ctx, id)
	if err != nil {
		return "", fmt.Errorf("offer rtp %s: %w", id, err)
	}
	offer, err := l.rtp.makeOffer(o, choices)
	if err == nil {
		err = g.addLeg(l)
	}
	if err != nil {
		l.close()
		return "", fmt.Errorf("offer rtp %s: %w", id, err)
	}
	l.startRTP()
	l.log.Debug("rtp leg offered", slog.Int("port", l.rtp.port), slog.Bool("srtp", o.SRTP))
	return offer, nil
}

// AnswerRTP opens RTP leg id for a carrier's offer (an inbound INVITE) and
// returns the answer: the first audio section with RTP/AVP or RTP/SAVP (then
// with a crypto suite the gateway speaks), the codec of o.Like (else the
// first of PCMU and PCMA the carrier lists) and telephone-event when offered;
// other sections are refused.
// An offer the gateway cannot take is refused with ErrBadOffer, and no leg
// stays open. Called on an open RTP leg it answers the carrier's re-offer (a
// re-INVITE: hold with sendonly, recvonly or inactive, resume, a new
// address); a re-offer without the leg's codec is refused with ErrBadOffer
// and changes nothing.
func (g *Gateway) AnswerRTP(ctx context.Context, id, offerSDP string, o RTPOptions) (answerSDP string, err error) {
	if o.Direction > Inactive {
		return "", fmt.Errorf("answer rtp %s: %w", id, errBadDirection)
	}
	sections, err := parseSDP(offerSDP)
	if err != nil {
		return "", fmt.Errorf("answer rtp %s: %w: %v", id, ErrBadOffer, err)
	}
	l, err := g.rtpLeg(id)
	if err != nil {
		return "", fmt.Errorf("answer rtp %s: %w", id, err)
	}
	if l != nil {
		answer, err := l.rtp.answerOffer(sections, o, nil)
		if err != nil {
			return "", fmt.Errorf("answer rtp %s: %w", id, err)
		}
		st := l.rtp.state.Load()
		l.log.Debug("rtp re-offer answered", slog.Bool("send", st.send), slog.Bool("receive", st.recv),
			slog.String("sdp", sdpAddr(st)), slog.Bool("latch", st.latch))
		return answer, nil
	}
	choices, err := g.g711Like(o.Like)
	if err != nil {
		return "", fmt.Errorf("answer rtp %s: %w", id, err)
	}
	if _, _, err := pickAudio(sections, choices); err != nil {
		return "", fmt.Errorf("answer rtp %s: %w: %v", id, ErrBadOffer, err)
	}
	l, err = g.newRTPLeg(ctx, id)
	if err != nil {
		return "", fmt.Errorf("answer rtp %s: %w", id, err)
	}
	answer, err := l.rtp.answerOffer(sections, o, choices)
	if err == nil {
		err = g.addLeg(l)
	}
	if err != nil {
		l.close()
		return "", fmt.Errorf("answer rtp %s: %w", id, err)
	}
	l.startRTP()
	st := l.rtp.state.Load()
	l.log.Debug("rtp leg answered", slog.Int("port", l.rtp.port), slog.Bool("srtp", st.out != nil),
		slog.String("sdp", sdpAddr(st)), slog.Bool("latch", st.latch))
	return answer, nil
}

// ApplyRTPAnswer applies a carrier's answer to the last offer of RTP leg id
// (in a 183 or a 200 response). A later answer to the same offer (the 200
// after a 183, or another fork's) replaces it. An answer that does not fit
// the offer is refused with ErrBadAnswer and changes nothing.
func (g *Gateway) ApplyRTPAnswer(id, answerSDP string) error {
	l, err := g.rtpLeg(id)
	switch {
	case err != nil:
		return fmt.Errorf("apply rtp answer %s: %w", id, err)
	case l == nil:
		return fmt.Errorf("apply rtp answer %s: %w", id, ErrNoSuchLeg)
	}
	if err := l.rtp.applyAnswer(answerSDP); err != nil {
		return fmt.Errorf("apply rtp answer %s: %w", id, err)
	}
	st := l.rtp.state.Load()
	l.log.Debug("rtp answer applied", slog.String("sdp", sdpAddr(st)), slog.Bool("latch", st.latch), slog.Bool("srtp", st.out != nil))
	return nil
}

// rtpLeg returns open leg id when it is an RTP leg, nil when there is none,
// and an error for a leg of another kind.
func (g *Gateway) rtpLeg(id string) (*leg, error) {
	g.mu.Lock()
	l := g.legs[id]
	g.mu.Unlock()
	switch {
	case l == nil:
		return nil, nil
	case l.rtp == nil:
		return nil, fmt.Errorf("%s is a %s leg: %w", id, l.kind, errNotRTP)
	}
	return l, nil
}

// g711Like returns the G.711 codecs a leg like leg like may carry: its own,
// or PCMU then PCMA when like is empty.
func (g *Gateway) g711Like(like string) ([]codecClass, error) {
	if like == "" {
		return []codecClass{classPCMU, classPCMA}, nil
	}
	g.mu.Lock()
	l := g.legs[like]
	g.mu.Unlock()
	if l == nil {
		return nil, fmt.Errorf("like %s: %w", like, ErrNoSuchLeg)
	}
	switch c := l.audioClass(); c {
	case classPCMU, classPCMA:
		return []codecClass{c}, nil
	case classNone:
		return nil, fmt.Errorf("like %s: its codec is not negotiated yet: %w", like, ErrCodecMismatch)
	default:
		return nil, fmt.Errorf("like %s carries %s, not G.711: %w", like, c, ErrCodecMismatch)
	}
}

// newRTPLeg binds a port pair for a new RTP leg; nothing runs yet.
func (g *Gateway) newRTPLeg(ctx context.Context, id string) (*leg, error) {
	if !g.advertise.IsValid() {
		return nil, errNoAddress
	}
	rc, cc, port, err := g.ports.open()
	if err != nil {
		return nil, err
	}
	ssrc := rand.Uint32() | 1 // RFC 3550 §8.1: random; never 0
	l := &leg{
		id:            id,
		kind:          KindRTP,
		g:             g,
		log:           g.log.With(legAttrs(ctx, id, KindRTP)...),
		sendSSRC:      ssrc,
		sendClockRate: g711ClockRate,
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.forward.Store(true)
	r := &rtpLeg{
		rtpConn:   rc,
		rtcpConn:  cc,
		port:      port,
		ports:     g.ports,
		advertise: g.advertise,
		cname:     fmt.Sprintf("%016x@callbridge", rand.Uint64()),
		sessionID: rand.Uint64() >> 2, // positive as a signed 64-bit number too
		keys:      map[sdesSuite]*srtpPair{},
	}
	r.out = newRTPOut(rc, ssrc, &r.state)
	l.rtp = r
	return l, nil
}

// startRTP starts the leg's goroutines: a reader per port and the RTCP
// reports.
func (l *leg) startRTP() {
	l.start(l.readRTPSocket)
	l.start(l.readRTCPSocket)
	l.start(l.reportRTCP)
}

// close sends the carrier an RTCP BYE and closes the sockets, which ends the
// readers. The caller releases the ports once they have ended.
func (r *rtpLeg) close() {
	r.sendReport(true)
	_ = r.rtpConn.Close()
	_ = r.rtcpConn.Close()
}

// ourKey returns the gateway's key for suite, made the first time.
func (r *rtpLeg) ourKey(suite sdesSuite) (*srtpPair, error) {
	if p := r.keys[suite]; p != nil {
		return p, nil
	}
	key, err := newSDESKey()
	if err != nil {
		return nil, err
	}
	p, err := newSRTPPair(suite, key, false)
	if err != nil {
		return nil, err
	}
	r.keys[suite] = p
	return p, nil
}

// theirKey returns decrypting contexts for the carrier's key: the current
// ones when the key is unchanged, so that replay protection and rollover
// counts carry on.
func (r *rtpLeg) theirKey(c sdesCrypto) (*srtpPair, error) {
	if st := r.state.Load(); st != nil && st.in.same(c.suite, c.key) {
		return st.in, nil
	}
	return newSRTPPair(c.suite, c.key, true)
}

// Payload types of the gateway's offers: G.711's static ones, and the
// dynamic one browsers and most carriers give telephone-event/8000.
const (
	ptPCMU  = 0
	ptPCMA  = 8
	ptEvent = 101
)

func offeredCodec(cl codecClass) webrtc.RTPCodecParameters {
	switch cl {
	case classPCMA:
		return webrtc.RTPCodecParameters{RTPCodecCapability: pcmaCapability, PayloadType: ptPCMA}
	case classEvent8k:
		return webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeTelephoneEvent, ClockRate: g711ClockRate, SDPFmtpLine: "0-16"},
			PayloadType:        ptEvent,
		}
	}
	return webrtc.RTPCodecParameters{RTPCodecCapability: pcmuCapability, PayloadType: ptPCMU}
}

// codecChoices returns the codecs the leg may carry: the negotiated one,
// else those of its pending offer, else choices, else PCMU then PCMA.
func (r *rtpLeg) codecChoices(choices []codecClass) []codecClass {
	switch {
	case r.state.Load() != nil:
		return []codecClass{r.state.Load().audio}
	case r.offer != nil:
		return r.offer.choices
	case len(choices) > 0:
		return choices
	}
	return []codecClass{classPCMU, classPCMA}
}

// makeOffer writes an offer and keeps it for the answer. choices are the
// codecs a new leg may carry; an open one keeps its own.
func (r *rtpLeg) makeOffer(o RTPOptions, choices []codecClass) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latch = r.latch || o.Latch
	secure := o.SRTP
	st := r.state.Load()
	if st != nil {
		secure = st.out != nil
	}
	choices = r.codecChoices(choices)
	sdp := localSDP{
		sessionID: r.sessionID,
		version:   r.version + 1,
		addr:      r.advertise,
		port:      r.port,
		secure:    secure,
		rtcpMux:   true,
		dir:       o.Direction,
	}
	for _, cl := range choices {
		sdp.codecs = append(sdp.codecs, offeredCodec(cl))
	}
	sdp.codecs = append(sdp.codecs, offeredCodec(classEvent8k))
	if secure {
		suite := sdesSuites[0]
		if st != nil && st.out != nil {
			suite = st.out.suite
		}
		p, err := r.ourKey(suite)
		if err != nil {
			return "", err
		}
		sdp.crypto = &sdesCrypto{tag: 1, suite: suite, key: p.key}
	}
	r.version++
	r.offer = &rtpOffer{sdp: sdp, choices: choices}
	return sdp.render(nil, 0), nil
}

// applyAnswer takes the carrier's answer to the last offer.
func (r *rtpLeg) applyAnswer(text string) error {
	sections, err := parseSDP(text)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadAnswer, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.offer
	if o == nil {
		return fmt.Errorf("%w: no offer of the gateway awaits an answer", ErrBadAnswer)
	}
	sec := &sections[0]
	switch {
	case sec.media != "audio":
		return fmt.Errorf("%w: first section is %s, not audio", ErrBadAnswer, sec.media)
	case sec.port == 0:
		return fmt.Errorf("%w: the carrier refused the audio (port 0)", ErrBadAnswer)
	case !sec.rtpProfile() || sec.secure() != o.sdp.secure:
		return fmt.Errorf("%w: profile %s answers an offer of %s", ErrBadAnswer, sec.proto, o.sdp.protoName())
	case sec.addrErr != nil:
		return fmt.Errorf("%w: %v", ErrBadAnswer, sec.addrErr)
	}
	var audio webrtc.RTPCodecParameters
	found := false
	for _, c := range sec.codecs {
		if cl := classify(c); !found && (cl == classPCMU || cl == classPCMA) && hasClass(o.choices, cl) {
			audio, found = c, true
		}
	}
	if !found {
		return fmt.Errorf("%w: no codec of the offer (%s)", ErrBadAnswer, choiceNames(o.choices))
	}
	var in, out *srtpPair
	if o.sdp.secure {
		for _, c := range sec.cryptos {
			if c.tag == o.sdp.crypto.tag && c.suite == o.sdp.crypto.suite {
				if in, err = r.theirKey(c); err != nil {
					return fmt.Errorf("%w: %v", ErrBadAnswer, err)
				}
				break
			}
		}
		if in == nil {
			return fmt.Errorf("%w: no a=crypto line answers tag %d (%s)", ErrBadAnswer, o.sdp.crypto.tag, o.sdp.crypto.suite.name)
		}
		out = r.keys[o.sdp.crypto.suite]
	}
	event, hasEvent := sec.codec(classEvent8k)
	var ev *webrtc.RTPCodecParameters
	if hasEvent {
		ev = &event
	}
	r.settle(sec, audio, ev, o.sdp.codecs,
		o.sdp.dir.sends() && sec.dir.receives(), o.sdp.dir.receives() && sec.dir.sends(),
		sec.rtcpMux, out, in)
	return nil
}

func hasClass(list []codecClass, cl codecClass) bool {
	for _, c := range list {
		if c == cl {
			return true
		}
	}
	return false
}

// protoName is the profile an offer was written with.
func (l *localSDP) protoName() string {
	if l.secure {
		return "RTP/SAVP"
	}
	return "RTP/AVP"
}

// answerOffer answers a carrier's offer. choices are the codecs a new leg
// may carry; an open one keeps its own.
func (r *rtpLeg) answerOffer(sections []sdpSection, o RTPOptions, choices []codecClass) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	idx, audio, err := pickAudio(sections, r.codecChoices(choices))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	r.latch = r.latch || o.Latch
	sec := &sections[idx]
	sdp := localSDP{
		sessionID: r.sessionID,
		version:   r.version + 1,
		addr:      r.advertise,
		port:      r.port,
		secure:    sec.secure(),
		proto:     sec.proto,
		codecs:    []webrtc.RTPCodecParameters{audio},
		rtcpMux:   sec.rtcpMux,
		dir:       o.Direction.answerTo(sec.dir),
	}
	event, hasEvent := sec.codec(classEvent8k)
	var ev *webrtc.RTPCodecParameters
	if hasEvent {
		sdp.codecs = append(sdp.codecs, event)
		ev = &event
	}
	var in, out *srtpPair
	if sec.secure() {
		c := sec.cryptos[0]
		if out, err = r.ourKey(c.suite); err != nil {
			return "", err
		}
		if in, err = r.theirKey(c); err != nil {
			return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
		}
		sdp.crypto = &sdesCrypto{tag: c.tag, suite: c.suite, key: out.key}
	}
	r.version++
	// Should an offer of the gateway cross this one (glare), the SIP side
	// refuses one of them (491); an answer to the gateway's that still
	// came is refused here.
	r.offer = nil
	r.settle(sec, audio, ev, sdp.codecs, sdp.dir.sends(), sdp.dir.receives(), sec.rtcpMux, out, in)
	return sdp.render(sections, idx), nil
}

// settle stores the state of a finished negotiation: the carrier's section
// sec, the codec and telephone-event chosen (with the carrier's payload
// types), the gateway's own codecs (the payload types it told the carrier
// to send), the directions, RTCP multiplexing and the SRTP contexts. r.mu
// is held.
func (r *rtpLeg) settle(sec *sdpSection, audio webrtc.RTPCodecParameters, event *webrtc.RTPCodecParameters,
	local []webrtc.RTPCodecParameters, send, recv, mux bool, out, in *srtpPair) {
	r.negotiations++
	base := rtpState{negotiation: r.negotiations, audio: classify(audio), mux: mux, recv: recv, canSend: send, out: out, in: in}
	if out != nil {
		base.srtpOut, base.srtpIn = out.rtp, in.rtp
	}
	for i := range base.pts {
		base.pts[i] = noPT
	}
	base.pts[base.audio] = uint8(audio.PayloadType)
	if event != nil {
		base.pts[classEvent8k] = uint8(event.PayloadType)
	}
	// What arrives is read with the carrier's numbers, then the gateway's
	// own: a carrier sends what the answer's side listed (RFC 3264 §5.1),
	// and some use their own numbers regardless.
	for _, c := range sec.codecs {
		if c.PayloadType < 128 {
			base.classes[c.PayloadType] = classify(c)
		}
	}
	for _, c := range local {
		if c.PayloadType < 128 {
			base.classes[c.PayloadType] = classify(c)
		}
	}
	// The packet path may latch the previous state meanwhile: what is
	// kept of it must be what is replaced.
	for {
		prev := r.state.Load()
		st := base
		r.place(&st, sec, prev)
		if r.state.CompareAndSwap(prev, &st) {
			return
		}
	}
}

// place fills in where st's media goes and comes from: the carrier's SDP
// address sec gives, or a latch (latch.go). prev is the state it replaces.
func (r *rtpLeg) place(st *rtpState, sec *sdpSection, prev *rtpState) {
	switch {
	case sec.addr.IsValid() && !sec.addr.IsUnspecified():
		st.sdp = netip.AddrPortFrom(sec.addr, uint16(sec.port))
		st.latch = r.latch || behindNAT(sec.addr)
		if st.latch {
			st.keepLatch(prev)
			break
		}
		st.peer = sec.addr
		st.remote = st.sdp
		switch {
		case st.mux:
			st.remoteRTCP = st.remote
		case sec.rtcp.IsValid():
			st.remoteRTCP = sec.rtcp
		case sec.port < 65535:
			st.remoteRTCP = netip.AddrPortFrom(sec.addr, uint16(sec.port+1))
		}
	case prev != nil:
		// An old-style hold (c=0.0.0.0): nothing goes to the carrier,
		// what it still sends is taken from where it came before.
		st.held = true
		st.peer, st.sdp, st.latch, st.source, st.rtcpSource = prev.peer, prev.sdp, prev.latch, prev.source, prev.rtcpSource
	default:
		// No address from the start: only the first packet can tell.
		st.latch = true
	}
	st.send = st.canSend && st.remote.IsValid()
}
