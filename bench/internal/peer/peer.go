// Package peer is a browser-like WebRTC client for the load tools: a pion
// PeerConnection on loopback with one sendrecv audio track (Opus, or PCMU as
// a browser calling a phone number is answered) whose RTP headers it writes
// itself, and a receive loop with a reused buffer.
package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/ice/v2"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

// Codec is the one audio codec a leg offers, and how its 20 ms packets
// advance the RTP timestamp.
type Codec struct {
	Capability  webrtc.RTPCodecCapability
	PayloadType webrtc.PayloadType
	Ticks       uint32 // timestamp units in 20 ms
}

var (
	// Opus is what browsers use between themselves.
	Opus = Codec{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, 111, 960}
	// PCMU is G.711 µ-law, which the gateway answers calls that leave
	// through a SIP trunk with.
	PCMU = Codec{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, 0, 160}
)

// SRTPProfiles are the choices of the tools' -srtp flag: the profiles a
// client accepts, which decide the profile of its calls.
var SRTPProfiles = map[string][]dtls.SRTPProtectionProfile{
	"default": nil, // the library's order: AES-256-GCM, AES-128-GCM, AES-128-CM-HMAC-SHA1-80
	"gcm128":  {dtls.SRTP_AEAD_AES_128_GCM},
	"gcm256":  {dtls.SRTP_AEAD_AES_256_GCM},
	"cm":      {dtls.SRTP_AES128_CM_HMAC_SHA1_80},
}

// Leg is one client PeerConnection with a sendrecv audio track.
type Leg struct {
	pc       *webrtc.PeerConnection
	track    *rawTrack
	onPacket func(payload []byte, at time.Time)
	got      atomic.Bool // a packet arrived from the other side
	wg       sync.WaitGroup
}

// API builds the API of one browser-like client: Opus only, RTCP
// reports (as browsers send them), loopback host candidates only.
func API(profiles []dtls.SRTPProtectionProfile) (*webrtc.API, error) {
	return APIWith(Opus, profiles)
}

// APIWith is API with codec instead of Opus.
func APIWith(codec Codec, profiles []dtls.SRTPProtectionProfile) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: codec.Capability, PayloadType: codec.PayloadType}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.LoggerFactory = quietLogger{}
	if len(profiles) > 0 {
		se.SetSRTPProtectionProfiles(profiles...)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir)), nil
}

// New creates a PeerConnection with one sendrecv audio track and returns
// it with its complete offer. onPacket, if not nil, gets the payload of
// every RTP packet received.
func New(profiles []dtls.SRTPProtectionProfile, onPacket func(payload []byte, at time.Time)) (*Leg, string, error) {
	return NewWith(Opus, profiles, onPacket)
}

// NewWith is New with a track of codec instead of Opus.
func NewWith(codec Codec, profiles []dtls.SRTPProtectionProfile, onPacket func(payload []byte, at time.Time)) (*Leg, string, error) {
	api, err := APIWith(codec, profiles)
	if err != nil {
		return nil, "", err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", err
	}
	l := &Leg{pc: pc, track: &rawTrack{codec: codec}, onPacket: onPacket}
	tr, err := pc.AddTransceiverFromTrack(l.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	l.start(func() { drain(tr.Sender()) })
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		l.start(func() { l.read(t) })
		l.start(func() { drain(r) })
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		pc.Close()
		return nil, "", err
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		pc.Close()
		return nil, "", errors.New("ICE gathering did not complete")
	}
	return l, pc.LocalDescription().SDP, nil
}

func (l *Leg) start(f func()) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
}

// Answer applies the gateway's answer and waits until media can flow.
func (l *Leg) Answer(ctx context.Context, sdp string) error {
	if err := l.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		return err
	}
	for {
		if l.pc.ConnectionState() == webrtc.PeerConnectionStateConnected && l.track.bound.Load() != nil {
			return nil
		}
		if s := l.pc.ConnectionState(); s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			return fmt.Errorf("peer connection %s", s)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not connected: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// read is the receive loop: one goroutine per leg, reused buffer and header.
func (l *Leg) read(t *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	hdr := rtp.Header{CSRC: make([]uint32, 0, 15)}
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		hl, err := hdr.Unmarshal(buf[:n])
		if err != nil || hl > n {
			continue
		}
		l.got.Store(true)
		if l.onPacket != nil {
			l.onPacket(buf[hl:n], now)
		}
	}
}

type rtcpReader interface {
	Read([]byte) (int, interceptor.Attributes, error)
}

// drain reads RTCP so that the report interceptors see it.
func drain(r rtcpReader) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := r.Read(buf); err != nil {
			return
		}
	}
}

// Close closes the PeerConnection and waits for the leg's goroutines.
func (l *Leg) Close() {
	_ = l.pc.Close()
	l.wg.Wait()
}

// Send writes one packet carrying payload; one goroutine at a time.
func (l *Leg) Send(payload []byte) bool { return l.track.send(payload) }

// rawTrack is the client's outgoing audio track: it writes RTP headers it
// builds itself straight to the sender's stream.
type rawTrack struct {
	codec Codec
	bound atomic.Pointer[trackBinding]
	seq   uint16
	ts    uint32
	hdr   rtp.Header
}

type trackBinding struct {
	w    webrtc.TrackLocalWriter
	ssrc uint32
	pt   uint8
}

func (t *rawTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, t.codec.Capability.MimeType) {
			t.bound.Store(&trackBinding{w: ctx.WriteStream(), ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType)})
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

func (t *rawTrack) Unbind(webrtc.TrackLocalContext) error { t.bound.Store(nil); return nil }
func (t *rawTrack) ID() string                            { return "audio" }
func (t *rawTrack) RID() string                           { return "" }
func (t *rawTrack) StreamID() string                      { return "load" }
func (t *rawTrack) Kind() webrtc.RTPCodecType             { return webrtc.RTPCodecTypeAudio }

// send writes one 20 ms packet; only the scheduler's shard that owns the
// track calls it.
func (t *rawTrack) send(payload []byte) bool {
	b := t.bound.Load()
	if b == nil {
		return false
	}
	t.hdr = rtp.Header{Version: 2, PayloadType: b.pt, SequenceNumber: t.seq, Timestamp: t.ts, SSRC: b.ssrc}
	t.seq++
	t.ts += t.codec.Ticks
	_, err := b.w.WriteRTP(&t.hdr, payload)
	return err == nil
}

// quietLogger drops the library's logs: at load, its warnings about late
// packets would cost more than they tell.
type quietLogger struct{}

func (quietLogger) NewLogger(string) logging.LeveledLogger { return quietLog{} }

type quietLog struct{}

func (quietLog) Trace(string)          {}
func (quietLog) Tracef(string, ...any) {}
func (quietLog) Debug(string)          {}
func (quietLog) Debugf(string, ...any) {}
func (quietLog) Info(string)           {}
func (quietLog) Infof(string, ...any)  {}
func (quietLog) Warn(string)           {}
func (quietLog) Warnf(string, ...any)  {}
func (quietLog) Error(string)          {}
func (quietLog) Errorf(string, ...any) {}

// Got reports whether a packet has arrived.
func (l *Leg) Got() bool { return l.got.Load() }

// PC is the leg's PeerConnection.
func (l *Leg) PC() *webrtc.PeerConnection { return l.pc }
