package media

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/webrtc/v3"
)

// Kind selects what the gateway does with a leg's audio.
type Kind int

const (
	// KindPhone is a browser whose audio is bridged to another KindPhone leg by Connect.
	KindPhone Kind = iota
	// KindTone is a leg to which the gateway plays a 440 Hz tone (PCMU).
	KindTone
	// KindEcho is a leg whose own audio the gateway sends back to it.
	KindEcho
	// KindTrunkPhone is a browser on a call that leaves through a SIP
	// trunk: its answer carries G.711 (PCMU, else PCMA) and
	// telephone-event, so that its audio is relayed to a KindRTP leg
	// without transcoding (every browser supports G.711, RFC 7874).
	KindTrunkPhone
	// KindRTP is a leg toward a carrier: plain RTP or SDES-SRTP on a UDP
	// port pair of its own (rtpleg.go). It is opened by OfferRTP or
	// AnswerRTP, never by OpenLeg.
	KindRTP
)

// String names the kind for logs.
func (k Kind) String() string {
	switch k {
	case KindPhone:
		return "phone"
	case KindTone:
		return "tone"
	case KindEcho:
		return "echo"
	case KindTrunkPhone:
		return "trunkPhone"
	case KindRTP:
		return "rtp"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

var (
	// ErrBadOffer reports an SDP offer the gateway refuses: unparsable, too
	// large, too many candidates, or without an audio section carrying the
	// codec the leg's kind needs.
	ErrBadOffer = errors.New("media: bad offer")
	// ErrBadAnswer reports an SDP answer from a carrier that does not fit
	// the offer it answers: unparsable, rejecting the audio, or choosing
	// what was not offered.
	ErrBadAnswer = errors.New("media: bad answer")
	// ErrNoSuchLeg reports an id that names no open leg.
	ErrNoSuchLeg = errors.New("media: no such leg")
	// ErrNoPorts reports that every RTP port pair of the configured range
	// is in use.
	ErrNoPorts = errors.New("media: no free RTP port")
	// ErrCodecMismatch reports two legs that cannot be connected without
	// transcoding, or a leg whose codec another cannot take.
	ErrCodecMismatch = errors.New("media: legs have no codec in common")

	errClosed     = errors.New("media: gateway closed")
	errLegExists  = errors.New("media: leg already exists")
	errNotPhone   = errors.New("media: leg is not a phone leg")
	errNotRTP     = errors.New("media: leg is not an RTP leg")
	errNotTrunk   = errors.New("media: leg is not a trunk phone leg")
	errSelfBridge = errors.New("media: cannot connect a leg to itself")
)

// Config configures a Gateway.
type Config struct {
	UDPPort         int      // single UDP port for all ICE traffic (ICE UDP mux); 0 = pick a free one
	ListenIP        string   // IP to bind the UDP socket ("127.0.0.1" in tests; "" = all)
	NAT1To1IPs      []string // public IPs to advertise as host candidates (optional)
	IncludeLoopback bool     // advertise loopback candidates (tests, the local demo)
	ICEServers      []string // STUN/TURN URLs given to browsers (returned by ICEServers(), not used by the gateway)
	Logger          *slog.Logger
	OnLegFailed     func(legID string) // called once when a leg's ICE/DTLS fails or disconnects for good (on a goroutine Close waits for: it must not call Close)
	// OnLegClosed is told of each leg once it has closed, with its final
	// figures (for metrics); it must not block, nor call the gateway.
	OnLegClosed func(kind Kind, s LegStats)

	// ICEDisconnectedTimeout and ICEFailedTimeout override the ICE agent's
	// timeouts (0 = the library defaults, 5 s and 25 s). A leg that is
	// Disconnected for more than 5 s, or Failed, is closed and reported to
	// OnLegFailed; tests shorten these to see failures quickly.
	ICEDisconnectedTimeout time.Duration
	ICEFailedTimeout       time.Duration

	// RTP legs toward carriers (rtpleg.go) each bind an even port of
	// RTPPorts for RTP and the next for RTCP, on RTPListenIP.
	RTPPorts       PortRange // zero = DefaultRTPPorts
	RTPListenIP    string    // IPv4 address RTP legs bind ("" = ListenIP; "" there too = every interface)
	RTPAdvertiseIP string    // address RTP legs write in their SDP ("" = the first NAT1To1IPs, else the bound address, else the host's first non-loopback IPv4 address)
}

// Defaults of the ICE agent, restated so that overriding one timeout keeps
// the others.
const (
	defaultICEDisconnectedTimeout = 5 * time.Second
	defaultICEFailedTimeout       = 25 * time.Second
	defaultICEKeepalive           = 2 * time.Second

	// disconnectedGrace is how long a leg may stay Disconnected before the
	// gateway gives up on it.
	disconnectedGrace = 5 * time.Second
)

// Gateway owns the UDP socket and every leg answered on it.
type Gateway struct {
	cfg      Config
	log      *slog.Logger
	mux      *sockMux
	port     int
	settings webrtc.SettingEngine

	ports        *portPool  // RTP legs' port pairs
	advertise    netip.Addr // the address RTP legs write in their SDP (invalid: none found)
	rtcpInterval time.Duration

	mu     sync.Mutex
	legs   map[string]*leg
	recs   map[string]*recording // running recordings (record.go)
	mixes  map[string]*mix       // running conference mixes (mix.go)
	closed bool
	wg     sync.WaitGroup // failure handlers
	ended  legCounts      // of the legs no longer in legs (Totals)
}

// udpReadBuffer is the receive buffer asked for the shared UDP socket.
const udpReadBuffer = 4 << 20

// New opens the gateway's UDP socket and prepares the shared settings.
func New(cfg Config) (*Gateway, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String("component", "media"))

	var listenIP net.IP
	if cfg.ListenIP != "" {
		listenIP = net.ParseIP(cfg.ListenIP)
		if listenIP == nil || listenIP.To4() == nil {
			return nil, fmt.Errorf("media: listen IP %q is not an IPv4 address", cfg.ListenIP)
		}
	}
	if cfg.UDPPort < 0 || cfg.UDPPort > 65535 {
		return nil, fmt.Errorf("media: UDP port %d out of range", cfg.UDPPort)
	}
	ports, advertise, err := rtpSetup(cfg)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: listenIP, Port: cfg.UDPPort})
	if err != nil {
		return nil, fmt.Errorf("media: listen udp: %w", err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	// Every call shares this one socket: the kernel's default receive buffer
	// (about 200 KB) overflows in bursts from about 150 calls on, which is
	// where loss began in docs/performance.md. The kernel caps the request
	// at net.core.rmem_max.
	if err := conn.SetReadBuffer(udpReadBuffer); err != nil {
		log.Warn("media: could not enlarge the UDP receive buffer", "err", err)
	}

	loggers := newPionLoggers(log)
	listen, err := listenAddrs(conn.LocalAddr().(*net.UDPAddr), cfg.IncludeLoopback)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("media: list addresses: %w", err)
	}
	mux, err := newSockMux(conn, listen, log)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("media: %w", err)
	}

	var se webrtc.SettingEngine
	se.LoggerFactory = loggers
	se.SetICEUDPMux(mux)
	// The handshakes' master secrets go to the mux, which derives the
	// legs' SRTP keys from them (direct.go); nothing is written out.
	se.SetDTLSKeyLogWriter(mux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	// A server has no use for mDNS: browsers reach it through its host
	// candidates and their own .local names resolve as peer-reflexive.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if len(cfg.NAT1To1IPs) > 0 {
		se.SetNAT1To1IPs(cfg.NAT1To1IPs, webrtc.ICECandidateTypeHost)
	}
	switch {
	case listenIP != nil && listenIP.IsLoopback():
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	case listenIP != nil:
		se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(listenIP) })
	}
	if cfg.ICEDisconnectedTimeout > 0 || cfg.ICEFailedTimeout > 0 {
		disc, failed := cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout
		if disc <= 0 {
			disc = defaultICEDisconnectedTimeout
		}
		if failed <= 0 {
			failed = defaultICEFailedTimeout
		}
		keepalive := min(defaultICEKeepalive, disc/3)
		se.SetICETimeouts(disc, failed, keepalive)
	}

	log.Info("media gateway listening", slog.String("addr", conn.LocalAddr().String()))
	return &Gateway{
		cfg:          cfg,
		log:          log,
		mux:          mux,
		port:         port,
		settings:     se,
		ports:        ports,
		advertise:    advertise,
		rtcpInterval: rtcpInterval,
		legs:         make(map[string]*leg),
	}, nil
}

// UDPPort is the port of the gateway's single ICE socket.
func (g *Gateway) UDPPort() int { return g.port }

// ICEServers returns the STUN/TURN URLs browsers should use.
func (g *Gateway) ICEServers() []string {
	return append([]string(nil), g.cfg.ICEServers...)
}

// Connect bridges two legs: audio received from a is forwarded to b and
// audio received from b to a. A leg bridged before is unbridged from its old
// peer. Phone, trunk phone and RTP legs can be connected when they carry the
// same codec (Opus between browsers; PCMU or PCMA between a trunk phone leg
// and an RTP leg, or two of those), else ErrCodecMismatch: the gateway never
// transcodes. An RTP leg whose codec is not negotiated yet connects to
// anything of those kinds; its packets flow once it is. A leg in a
// conference mix leaves it.
func (g *Gateway) Connect(a, b string) error {
	if a == b {
		return fmt.Errorf("connect %s: %w", a, errSelfBridge)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	la, lb := g.legs[a], g.legs[b]
	switch {
	case la == nil:
		return fmt.Errorf("connect %s: %w", a, ErrNoSuchLeg)
	case lb == nil:
		return fmt.Errorf("connect %s: %w", b, ErrNoSuchLeg)
	case !la.kind.bridged():
		return fmt.Errorf("connect %s (%s): %w", a, la.kind, errNotPhone)
	case !lb.kind.bridged():
		return fmt.Errorf("connect %s (%s): %w", b, lb.kind, errNotPhone)
	}
	if ca, cb := la.audioClass(), lb.audioClass(); ca != classNone && cb != classNone && ca != cb {
		return fmt.Errorf("connect %s (%s) and %s (%s): %w", a, ca, b, cb, ErrCodecMismatch)
	}
	g.leaveMixLocked(la)
	g.leaveMixLocked(lb)
	g.unlinkLocked(la)
	g.unlinkLocked(lb)
	// Under the legs' track locks: no ringback frame follows a packet
	// relayed from the new peer.
	unlock := lockTracks(la, lb)
	la.peer.Store(lb)
	lb.peer.Store(la)
	unlock()
	la.peerChanged()
	lb.peerChanged()
	g.log.Debug("legs connected", slog.String("leg", a), slog.String("peer", b))
	return nil
}

// bridged reports whether legs of the kind forward to a peer set by Connect.
func (k Kind) bridged() bool {
	return k == KindPhone || k == KindTrunkPhone || k == KindRTP
}

// unlinkLocked detaches l from its peer in both directions.
func (g *Gateway) unlinkLocked(l *leg) {
	p := l.peer.Swap(nil)
	if p != nil {
		p.peer.CompareAndSwap(l, nil)
		p.peerChanged()
		l.peerChanged()
	}
}

// SetForward turns forwarding of the audio received from id on or off (hold
// and mute): to its peer for a phone, trunk phone or RTP leg, back to it for
// an echo leg; a tone leg forwards nothing and keeps playing. Forwarding is on when a leg opens.
// An unknown id is ignored.
func (g *Gateway) SetForward(id string, on bool) {
	g.mu.Lock()
	l := g.legs[id]
	g.mu.Unlock()
	if l != nil {
		l.forward.Store(on)
	}
}

// CloseLeg closes a leg and waits for its goroutines; a member of a
// conference mix leaves it. It is idempotent; an unknown id is a no-op.
func (g *Gateway) CloseLeg(id string) {
	g.mu.Lock()
	l := g.legs[id]
	if l != nil {
		delete(g.legs, id)
		g.retireLocked(l)
		g.leaveMixLocked(l)
		g.unlinkLocked(l)
	}
	g.mu.Unlock()
	if l != nil {
		l.close()
		g.log.Debug("leg closed", slog.String("leg", id))
	}
}

// removeLeg drops l from the table if it is still registered under its id.
func (g *Gateway) removeLeg(l *leg) {
	g.mu.Lock()
	if g.legs[l.id] == l {
		delete(g.legs, l.id)
		g.retireLocked(l)
	}
	g.leaveMixLocked(l)
	g.unlinkLocked(l)
	g.mu.Unlock()
}

// Stats returns the counters of an open leg.
func (g *Gateway) Stats(id string) (LegStats, bool) {
	g.mu.Lock()
	l := g.legs[id]
	g.mu.Unlock()
	if l == nil {
		return LegStats{}, false
	}
	return l.stats(), true
}

// Ready reports whether the gateway carries calls: its UDP port is bound
// and it is not closed.
func (g *Gateway) Ready() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return errors.New("media gateway closed")
	}
	if g.port == 0 {
		return errors.New("media gateway has no UDP port")
	}
	return nil
}

// Close ends every conference mix and closes every leg and the socket.
// Calls after the first return nil.
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	g.endMixesLocked()
	legs := make([]*leg, 0, len(g.legs))
	for id, l := range g.legs {
		legs = append(legs, l)
		delete(g.legs, id)
		g.retireLocked(l)
		g.unlinkLocked(l)
	}
	g.mu.Unlock()

	var wg sync.WaitGroup
	for _, l := range legs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.close()
		}()
	}
	wg.Wait()
	g.wg.Wait()
	err := g.mux.Close()
	g.log.Info("media gateway closed", slog.Int("legs", len(legs)))
	return err
}

// spawn runs f on a goroutine that Close waits for, unless the gateway is
// already closed.
func (g *Gateway) spawn(f func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f()
	}()
	return true
}
