// Package rawleg is a browser-like call leg for the load tools without a
// WebRTC stack: one UDP socket on loopback (connected to the gateway once
// the answer names its address), an SDP offer it writes itself
// (Opus, one host candidate), ICE by hand as the controlling agent
// (pion/stun), one DTLS handshake as the DTLS server (pion/dtls) for the
// SRTP keys, and then SRTP (pion/srtp) encrypted and decrypted in place in
// reused buffers, with one reading goroutine per leg. Per packet it costs a
// small share of what a PeerConnection costs, so that a load tool on the
// same machine as the server measures the server rather than itself.
//
// It speaks to a peer that answers as the media gateway does: full ICE as
// the controlled agent, setup:active (the DTLS client), rtcp-mux.
package rawleg

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/dtls/v2/pkg/crypto/fingerprint"
	"github.com/pion/dtls/v2/pkg/crypto/selfsign"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
	"github.com/pion/stun"
)

// DefaultProfiles are the SRTP profiles a leg accepts when given none: a
// browser's, in pion's order.
var DefaultProfiles = []dtls.SRTPProtectionProfile{dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80}

// Identity is the DTLS certificate every leg of a run presents (ECDSA
// P-256, self-signed, made once) and its fingerprint for the offers.
type Identity struct {
	cert        tls.Certificate
	fingerprint string // "sha-256 AB:CD:…"
}

// NewIdentity makes a run's certificate.
func NewIdentity() (*Identity, error) {
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		return nil, err
	}
	x, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, err
	}
	fp, err := fingerprint.Fingerprint(x, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &Identity{cert: cert, fingerprint: "sha-256 " + fp}, nil
}

// Timing of the leg's own ICE checks.
const checkInterval = 50 * time.Millisecond

// rtcpEvery is how many RTP packets a leg sends between two sender
// reports: one a second at 50 packets/s, as the pion client's report
// interceptor sends them.
const rtcpEvery = 50

// Leg is one client leg: create it with New, give Answer the gateway's
// answer, then Send from one goroutine.
type Leg struct {
	id       *Identity
	profiles []dtls.SRTPProtectionProfile
	onPacket func(payload []byte, at time.Time)
	sock     *net.UDPConn
	desc     localDesc
	local    iceCreds // local half only: enough to answer the other side's checks
	tie      uint64

	ice     atomic.Pointer[iceState]
	iceDone chan struct{}
	iceOnce sync.Once
	dconn   atomic.Pointer[dtlsConn]
	recv    atomic.Pointer[srtp.Context]
	got     atomic.Bool
	// What the reader last received, for the receiver report.
	lastSSRC, lastSeq atomic.Uint32

	mu       sync.Mutex // guards dtls and the closing
	dtls     *dtls.Conn
	closed   chan struct{}
	isClosed bool
	wg       sync.WaitGroup

	tx sender // the sending side: only Send touches it once ready is set
	// ready is set once Answer has the SRTP keys.
	ready atomic.Bool
	// Profile is the SRTP profile the handshake chose, once Answer returns.
	Profile dtls.SRTPProtectionProfile
}

// sender is the state of the leg's sending goroutine.
type sender struct {
	ctx     *srtp.Context
	buf     []byte
	hdr     rtp.Header
	seq     uint16
	ts      uint32
	packets uint32
	octets  uint32
}

// iceState is the ICE of an answered leg: both sides' credentials, the
// remote candidate it checks, and the transaction ids of its last checks.
type iceState struct {
	creds  iceCreds
	remote netip.AddrPort
	mu     sync.Mutex
	ids    [16][stun.TransactionIDSize]byte
	next   int
}

func (s *iceState) remember(id [stun.TransactionIDSize]byte) {
	s.mu.Lock()
	s.ids[s.next%len(s.ids)] = id
	s.next++
	s.mu.Unlock()
}

func (s *iceState) sent(id [stun.TransactionIDSize]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.ids[:min(s.next, len(s.ids))] {
		if v == id {
			return true
		}
	}
	return false
}

// New opens a leg's socket on 127.0.0.1 and returns the leg with its
// offer. profiles are the SRTP profiles it accepts (none: DefaultProfiles);
// onPacket, if not nil, gets the payload of every RTP packet received, on
// the leg's reading goroutine, in a buffer reused after it returns.
func New(id *Identity, profiles []dtls.SRTPProtectionProfile, onPacket func(payload []byte, at time.Time)) (*Leg, string, error) {
	if len(profiles) == 0 {
		profiles = DefaultProfiles
	}
	sock, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, "", err
	}
	l := &Leg{id: id, profiles: profiles, onPacket: onPacket, sock: sock, iceDone: make(chan struct{}), closed: make(chan struct{})}
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		sock.Close()
		return nil, "", err
	}
	l.local = iceCreds{localUfrag: iceString(8), localPwd: iceString(24)}
	l.tie = binary.BigEndian.Uint64(r[:8])
	l.desc = localDesc{ufrag: l.local.localUfrag, pwd: l.local.localPwd, fingerprint: id.fingerprint,
		ssrc: binary.BigEndian.Uint32(r[8:12]), cname: iceString(16), addr: sock.LocalAddr().(*net.UDPAddr).AddrPort()}
	sdp, err := offer(l.desc)
	if err != nil {
		sock.Close()
		return nil, "", err
	}
	l.tx.buf = make([]byte, 1500)
	l.tx.hdr.CSRC = make([]uint32, 0, 15)
	l.tx.seq = binary.BigEndian.Uint16(r[12:14])
	l.tx.ts = binary.BigEndian.Uint32(r[12:16])
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.read()
	}()
	return l, sdp, nil
}

// iceString is n random characters of the ICE alphabet (RFC 8445 §15.1:
// ALPHA / DIGIT / "+" / "/"), which has 64 of them.
func iceString(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	for i := range b {
		b[i] = alphabet[b[i]%64]
	}
	return string(b)
}

// Answer applies the gateway's answer: it runs ICE with the answer's first
// host candidate (loopback first) and the DTLS handshake as the server,
// checks the gateway's certificate against the answer's fingerprint, and
// derives the SRTP keys. Then media can flow.
func (l *Leg) Answer(ctx context.Context, answer string) error {
	r, err := parseAnswer(answer)
	if err != nil {
		return err
	}
	if r.setup != "active" {
		return fmt.Errorf("answer: setup:%s, want active (the gateway as DTLS client)", r.setup)
	}
	st := &iceState{creds: l.local, remote: r.candidates[0]}
	st.creds.remoteUfrag, st.creds.remotePwd = r.ufrag, r.pwd
	// Everything goes to the one remote address from now on: a connected
	// socket saves the kernel a route lookup per packet sent.
	if err := connect(l.sock, st.remote); err != nil {
		return err
	}
	l.ice.Store(st)
	dc := newDTLSConn(l.sock, st.remote)
	l.dconn.Store(dc)

	if !l.spawn(func() { l.check(ctx, st) }) {
		return net.ErrClosed
	}
	conn, err := dtls.ServerWithContext(ctx, dc, &dtls.Config{
		Certificates:           []tls.Certificate{l.id.cert},
		SRTPProtectionProfiles: l.profiles,
		ClientAuth:             dtls.RequireAnyClientCert,
		InsecureSkipVerify:     true, // self-signed: the fingerprint below is the check
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyFingerprint(raw, r.fingerprint)
		},
		LoggerFactory: &logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelDisabled}, // the DTLS library's logs are dropped
	})
	if err != nil {
		return fmt.Errorf("DTLS: %w", err)
	}
	l.mu.Lock()
	if l.isClosed {
		l.mu.Unlock()
		conn.Close()
		return net.ErrClosed
	}
	l.dtls = conn
	l.mu.Unlock()
	select {
	case <-l.iceDone:
	case <-ctx.Done():
		return fmt.Errorf("ICE: no answer to the checks: %w", ctx.Err())
	}
	profile, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return errors.New("DTLS: no SRTP profile negotiated")
	}
	state := conn.ConnectionState()
	local, remote, err := srtpContexts(&state, profile, true)
	if err != nil {
		return err
	}
	l.Profile = profile
	l.tx.ctx = local
	l.recv.Store(remote)
	l.ready.Store(true)
	return nil
}

// spawn runs f on a goroutine of the leg unless it is closed.
func (l *Leg) spawn(f func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.isClosed {
		return false
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
	return true
}

// check sends connectivity checks until one is answered.
func (l *Leg) check(ctx context.Context, st *iceState) {
	m := new(stun.Message)
	t := time.NewTicker(checkInterval)
	defer t.Stop()
	for {
		if err := buildCheck(m, st.creds, l.tie); err == nil {
			st.remember(m.TransactionID)
			_, _ = l.sock.Write(m.Raw)
		}
		select {
		case <-l.iceDone:
			return
		case <-l.closed:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// read is the leg's one reading goroutine: it answers STUN, hands DTLS to
// the handshake, decrypts RTP in place and drops RTCP.
func (l *Leg) read() {
	buf := make([]byte, 1500)
	hdr := rtp.Header{CSRC: make([]uint32, 0, 15)}
	req, resp := new(stun.Message), new(stun.Message)
	for {
		n, from, err := l.sock.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		b := buf[:n]
		switch classify(b) {
		case classRTP:
			ctx := l.recv.Load()
			if ctx == nil {
				continue
			}
			out, err := ctx.DecryptRTP(b, b, &hdr)
			if err != nil {
				continue
			}
			now := time.Now()
			hl := hdr.MarshalSize()
			if hl > len(out) {
				continue
			}
			l.lastSSRC.Store(hdr.SSRC)
			l.lastSeq.Store(uint32(hdr.SequenceNumber))
			l.got.Store(true)
			if l.onPacket != nil {
				l.onPacket(out[hl:], now)
			}
		case classSTUN:
			l.handleSTUN(b, from, req, resp)
		case classDTLS:
			if c := l.dconn.Load(); c != nil && from == c.remote {
				c.push(b)
			}
		}
	}
}

// handleSTUN answers the other side's Binding requests and notes the
// answer to the leg's own checks.
func (l *Leg) handleSTUN(b []byte, from netip.AddrPort, req, resp *stun.Message) {
	req.Raw = append(req.Raw[:0], b...)
	if err := req.Decode(); err != nil {
		return
	}
	switch req.Type.Class {
	case stun.ClassRequest:
		if buildReply(resp, req, l.local, from) == nil {
			_, _ = l.sock.WriteToUDPAddrPort(resp.Raw, from)
		}
	case stun.ClassSuccessResponse:
		if st := l.ice.Load(); st != nil && from == st.remote && checkAnswered(req, st.creds, st.sent) {
			l.iceOnce.Do(func() { close(l.iceDone) })
		}
	}
}

// Send encrypts one 20 ms Opus packet carrying payload in place and sends
// it, and a sender report every rtcpEvery packets; one goroutine at a
// time. It reports false until Answer has returned, and once the leg is
// closed.
func (l *Leg) Send(payload []byte) bool {
	if !l.ready.Load() {
		return false
	}
	s := &l.tx
	const hl = 12
	pkt := s.buf[:hl+len(payload)]
	pkt[0], pkt[1] = 0x80, opusPayloadType
	binary.BigEndian.PutUint16(pkt[2:], s.seq)
	binary.BigEndian.PutUint32(pkt[4:], s.ts)
	binary.BigEndian.PutUint32(pkt[8:], l.desc.ssrc)
	copy(pkt[hl:], payload)
	out, err := s.ctx.EncryptRTP(s.buf[:0], pkt, &s.hdr)
	if err != nil {
		return false
	}
	if _, err := l.sock.Write(out); err != nil {
		return false
	}
	s.seq++
	s.ts += opusTicks
	s.packets++
	s.octets += uint32(len(payload))
	if s.packets%rtcpEvery == 0 {
		l.sendReport()
	}
	return true
}

// sendReport sends a sender report with a reception report of what the
// leg last received, as a browser does about once a second.
func (l *Leg) sendReport() {
	s := &l.tx
	sr := rtcp.SenderReport{SSRC: l.desc.ssrc, NTPTime: ntpTime(time.Now()), RTPTime: s.ts, PacketCount: s.packets, OctetCount: s.octets}
	if ssrc := l.lastSSRC.Load(); ssrc != 0 {
		sr.Reports = []rtcp.ReceptionReport{{SSRC: ssrc, LastSequenceNumber: l.lastSeq.Load()}}
	}
	raw, err := sr.Marshal()
	if err != nil {
		return
	}
	out, err := s.ctx.EncryptRTCP(nil, raw, nil)
	if err != nil {
		return
	}
	_, _ = l.sock.Write(out)
}

// ntpTime is t as a 64-bit NTP timestamp (RFC 3550 §4).
func ntpTime(t time.Time) uint64 {
	const unixToNTP = 2208988800
	secs := uint64(t.Unix()) + unixToNTP
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// ProfileName names the SRTP profile the handshake chose, once Answer
// has returned.
func (l *Leg) ProfileName() string { return srtp.ProtectionProfile(l.Profile).String() }

// Got reports whether an RTP packet has arrived and decrypted.
func (l *Leg) Got() bool { return l.got.Load() }

// Close ends the leg: a DTLS close_notify, then its socket, and waits for
// its goroutines.
func (l *Leg) Close() {
	l.mu.Lock()
	if l.isClosed {
		l.mu.Unlock()
		return
	}
	l.isClosed = true
	close(l.closed)
	conn := l.dtls
	l.mu.Unlock()
	l.ready.Store(false)
	if conn != nil {
		_ = conn.Close()
	}
	if c := l.dconn.Load(); c != nil {
		_ = c.Close()
	}
	_ = l.sock.Close()
	l.wg.Wait()
}

// connect connects the leg's socket to remote: its sends without an
// address go there, and it receives from there only. (The net package's
// connected sockets are made by dialing, which would not let the socket
// exist before the remote address is known.)
func connect(sock *net.UDPConn, remote netip.AddrPort) error {
	rc, err := sock.SyscallConn()
	if err != nil {
		return err
	}
	sa := &syscall.SockaddrInet4{Port: int(remote.Port()), Addr: remote.Addr().As4()}
	var cerr error
	if err := rc.Control(func(fd uintptr) { cerr = syscall.Connect(int(fd), sa) }); err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("connect to %s: %w", remote, cerr)
	}
	return nil
}

// verifyFingerprint checks the peer's certificate against the answer's
// a=fingerprint ("sha-256 AB:CD:…").
func verifyFingerprint(rawCerts [][]byte, want string) error {
	if len(rawCerts) == 0 {
		return errors.New("no certificate")
	}
	algo, value, ok := strings.Cut(want, " ")
	if !ok {
		return fmt.Errorf("fingerprint %q", want)
	}
	hash, err := fingerprint.HashFromString(algo)
	if err != nil {
		return fmt.Errorf("fingerprint %q: %w", want, err)
	}
	cert, err := x509.ParseCertificate(rawCerts[0])
	if err != nil {
		return err
	}
	got, err := fingerprint.Fingerprint(cert, hash)
	if err != nil {
		return err
	}
	if !strings.EqualFold(got, value) {
		return fmt.Errorf("certificate fingerprint %s %s does not match the answer's %s", algo, got, value)
	}
	return nil
}
