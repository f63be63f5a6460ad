package media

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"net/netip"
	"sync/atomic"

	"github.com/pion/dtls/v2/pkg/crypto/prf"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
)

// The direct SRTP path of a browser leg.
//
// The WebRTC library keeps a leg's SRTP keys to itself and hands each
// received packet through three goroutines (the mux's reader, the ICE
// candidate's, the SRTP session's) with several allocations on the way;
// sending allocates again. The gateway's mux (udpmux.go) sees every
// datagram of the leg, including the DTLS handshake's hellos, whose
// randoms, cipher suite and SRTP profile travel in clear; the library
// hands the handshake's master secret to the key log writer of the
// settings, which is the mux's, in memory. With the three the gateway
// derives the same SRTP keys as the library (RFC 5764 §4.2, the TLS 1.2
// exporter of RFC 5705), and from then on:
//
//   - received RTP of a stream the library has announced is decrypted in
//     place on the mux's reading goroutine and forwarded there (the leg's
//     trackBuffer, as the library would have given it);
//   - the leg's sent RTP is encrypted into a buffer of the leg's track and
//     written to the socket, on the goroutine that forwards it.
//
// RTCP, STUN and DTLS stay with the library. The first packet decrypted
// checks the keys: until one authenticates, a packet that does not is
// handed to the library, so nothing is lost, and a leg whose packets never
// authenticate keeps the library's path; the leg's sending moves to the
// own path only once one has.
// Nothing here leaves the process: the master secret is used once and
// dropped.

// dtlsHello is what a DTLS handshake's hellos said.
type dtlsHello struct {
	client        bool // clientRandom is known
	clientRandom  [32]byte
	gatewayClient bool // the gateway sent the ClientHello
	server        bool // the rest is known
	serverRandom  [32]byte
	suite         uint16
	profile       uint16
}

const (
	dtlsContentHandshake = 22
	dtlsClientHello      = 1
	dtlsServerHello      = 2
	dtlsExtUseSRTP       = 14
	dtlsRecordHeader     = 13
	dtlsHandshakeHeader  = 12
)

// isDTLSHandshake reports whether pkt starts with a DTLS handshake record
// (RFC 7983's demultiplexing: 20–63 is DTLS).
func isDTLSHandshake(pkt []byte) bool {
	return len(pkt) > dtlsRecordHeader && pkt[0] == dtlsContentHandshake
}

// isSRTP reports whether pkt is RTP (version 2, 128–191 by RFC 7983) and
// not RTCP (payload types 192–223 by RFC 5761).
func isSRTP(pkt []byte) bool {
	return len(pkt) >= 12 && pkt[0]&0xC0 == 0x80 && (pkt[1] < 192 || pkt[1] > 223)
}

// sniff notes the hellos in a datagram of the handshake; sent says the
// gateway wrote it.
func (c *muxConn) sniff(pkt []byte, sent bool) {
	for len(pkt) >= dtlsRecordHeader {
		typ, epoch := pkt[0], binary.BigEndian.Uint16(pkt[3:5])
		n := int(binary.BigEndian.Uint16(pkt[11:13]))
		rest := pkt[dtlsRecordHeader:]
		if n > len(rest) {
			return
		}
		body := rest[:n]
		pkt = rest[n:]
		if typ != dtlsContentHandshake || epoch != 0 || len(body) < dtlsHandshakeHeader {
			continue
		}
		msg := body[0]
		fragOffset := uint32(body[6])<<16 | uint32(body[7])<<8 | uint32(body[8])
		fragLen := int(uint32(body[9])<<16 | uint32(body[10])<<8 | uint32(body[11]))
		hs := body[dtlsHandshakeHeader:]
		if fragOffset != 0 || fragLen > len(hs) {
			continue
		}
		hs = hs[:fragLen]
		switch msg {
		case dtlsClientHello:
			c.noteClientHello(hs, sent)
		case dtlsServerHello:
			c.noteServerHello(hs)
		}
	}
}

func (c *muxConn) noteClientHello(hs []byte, sent bool) {
	if len(hs) < 34 {
		return
	}
	var random [32]byte
	copy(random[:], hs[2:34])
	c.mu.Lock()
	if c.hello.client {
		// A retransmission, or one after a HelloVerifyRequest: the same
		// random. The first is kept, so that a conn names one handshake.
		c.mu.Unlock()
		return
	}
	c.hello.client, c.hello.clientRandom, c.hello.gatewayClient = true, random, sent
	c.mu.Unlock()
	c.m.mu.Lock()
	if !c.m.closed && !c.isClosed() {
		c.m.randoms[random] = c
	}
	c.m.mu.Unlock()
}

func (c *muxConn) noteServerHello(hs []byte) {
	// server_version(2) random(32) session_id<0..32> cipher_suite(2)
	// compression_method(1) extensions<0..2^16-1>
	if len(hs) < 35 {
		return
	}
	var random [32]byte
	copy(random[:], hs[2:34])
	p := 34 + 1 + int(hs[34])
	if len(hs) < p+3 {
		return
	}
	suite := binary.BigEndian.Uint16(hs[p:])
	p += 3
	var profile uint16
	if len(hs) >= p+2 {
		ext := hs[p+2:]
		if n := int(binary.BigEndian.Uint16(hs[p:])); n < len(ext) {
			ext = ext[:n]
		}
		for len(ext) >= 4 {
			typ, n := binary.BigEndian.Uint16(ext), int(binary.BigEndian.Uint16(ext[2:]))
			if len(ext) < 4+n {
				break
			}
			data := ext[4 : 4+n]
			ext = ext[4+n:]
			// use_srtp: SRTPProtectionProfiles<2..2^16-1> srtp_mki<0..255>;
			// a server names exactly one profile.
			if typ == dtlsExtUseSRTP && len(data) >= 4 && binary.BigEndian.Uint16(data) == 2 {
				profile = binary.BigEndian.Uint16(data[2:])
			}
		}
	}
	c.mu.Lock()
	if !c.hello.server {
		c.hello.server, c.hello.serverRandom, c.hello.suite, c.hello.profile = true, random, suite, profile
	}
	c.mu.Unlock()
}

// suiteHash is the PRF hash of a TLS 1.2 cipher suite the library may
// negotiate (nil for one it does not know).
func suiteHash(suite uint16) func() hash.Hash {
	switch suite {
	case 0xC02B, 0xC02F, // ECDHE_{ECDSA,RSA}_WITH_AES_128_GCM_SHA256
		0xC00A, 0xC014, // ECDHE_{ECDSA,RSA}_WITH_AES_256_CBC_SHA (TLS 1.2's PRF)
		0xC0AC, 0xC0AE: // ECDHE_ECDSA_WITH_AES_128_CCM(_8)
		return sha256.New
	case 0xC02C, 0xC030: // ECDHE_{ECDSA,RSA}_WITH_AES_256_GCM_SHA384
		return sha512.New384
	}
	return nil
}

// keyLogLabel starts the key log line of a TLS 1.2 master secret.
var keyLogLabel = []byte("CLIENT_RANDOM ")

// Write takes the library's key log lines ("CLIENT_RANDOM <client random>
// <master secret>", hex) and gives the conn of that handshake its keys. It
// never fails: a line it cannot use leaves the library's path.
func (m *sockMux) Write(line []byte) (int, error) {
	n := len(line)
	rest, ok := bytes.CutPrefix(bytes.TrimSpace(line), keyLogLabel)
	if !ok {
		return n, nil
	}
	randomHex, secretHex, ok := bytes.Cut(rest, []byte{' '})
	var random [32]byte
	if !ok || hex.DecodedLen(len(randomHex)) != len(random) {
		return n, nil
	}
	if _, err := hex.Decode(random[:], randomHex); err != nil {
		return n, nil
	}
	secret := make([]byte, hex.DecodedLen(len(secretHex)))
	if _, err := hex.Decode(secret, secretHex); err != nil {
		return n, nil
	}
	m.mu.RLock()
	c := m.randoms[random]
	var l *leg
	if c != nil {
		l = c.leg
	}
	m.mu.RUnlock()
	if c == nil || l == nil {
		return n, nil
	}
	c.mu.Lock()
	h := c.hello
	c.mu.Unlock()
	d, err := newDirectPath(c, l, h, secret)
	clear(secret)
	if err != nil {
		l.log.Debug("media: SRTP keys not derived, the library's path stays", slog.Any("err", err))
		return n, nil
	}
	c.direct.Store(d)
	return n, nil
}

// exporterLabel is the label of DTLS-SRTP's keying material (RFC 5764 §4.2).
const exporterLabel = "EXTRACTOR-dtls_srtp"

// newDirectPath derives the SRTP contexts of a handshake from its hellos
// and master secret.
func newDirectPath(c *muxConn, l *leg, h dtlsHello, secret []byte) (*directPath, error) {
	if !h.client || !h.server {
		return nil, errors.New("hellos not seen")
	}
	hf := suiteHash(h.suite)
	if hf == nil {
		return nil, fmt.Errorf("cipher suite %#04x", h.suite)
	}
	profile := srtp.ProtectionProfile(h.profile)
	keyLen, err := profile.KeyLen()
	if err != nil {
		return nil, fmt.Errorf("SRTP profile %#04x: %w", h.profile, err)
	}
	saltLen, err := profile.SaltLen()
	if err != nil {
		return nil, fmt.Errorf("SRTP profile %#04x: %w", h.profile, err)
	}
	seed := make([]byte, 0, len(exporterLabel)+64)
	seed = append(seed, exporterLabel...)
	seed = append(seed, h.clientRandom[:]...)
	seed = append(seed, h.serverRandom[:]...)
	material, err := prf.PHash(secret, seed, 2*keyLen+2*saltLen, hf)
	if err != nil {
		return nil, err
	}
	defer clear(material)
	if directKeysHook != nil {
		directKeysHook(material)
	}
	// client key | server key | client salt | server salt
	clientKey, serverKey := material[:keyLen], material[keyLen:2*keyLen]
	clientSalt, serverSalt := material[2*keyLen:2*keyLen+saltLen], material[2*keyLen+saltLen:]
	localKey, localSalt, remoteKey, remoteSalt := serverKey, serverSalt, clientKey, clientSalt
	if h.gatewayClient {
		localKey, localSalt, remoteKey, remoteSalt = clientKey, clientSalt, serverKey, serverSalt
	}
	in, out, ours, err := newSRTP(profile, localKey, localSalt, remoteKey, remoteSalt)
	if err != nil {
		return nil, err
	}
	if !ours {
		octx, err := srtp.CreateContext(localKey, localSalt, profile)
		if err != nil {
			return nil, err
		}
		ictx, err := srtp.CreateContext(remoteKey, remoteSalt, profile, srtp.SRTPReplayProtection(srtpReplayWindow))
		if err != nil {
			return nil, err
		}
		in, out = &srtpLibIn{ctx: ictx}, &srtpLibOut{ctx: octx}
	}
	return &directPath{c: c, l: l, profile: profile, in: in, out: &directOut{enc: out, m: c.m}}, nil
}

// directPath is a browser leg's SRTP path of its own. Its receiving side
// is used by the mux's reading goroutine only.
type directPath struct {
	c        *muxConn
	l        *leg
	profile  srtp.ProtectionProfile
	in       srtpIn
	verified bool // a packet authenticated: the keys are the library's
	failures int  // packets that did not, before one did
	scratch  []byte
	ssrc     uint32
	buf      *trackBuffer // of ssrc
	out      *directOut
}

// receive decrypts and forwards one received RTP packet, in place. It
// reports false for a packet the library is to have: one of a stream the
// library has not announced yet, or the first one, should it not
// authenticate (the keys are then dropped).
func (d *directPath) receive(pkt []byte, from netip.AddrPort) bool {
	ssrc := binary.BigEndian.Uint32(pkt[8:12])
	if d.buf == nil || d.ssrc != ssrc {
		b := d.l.buffer(ssrc)
		if b == nil {
			return false
		}
		d.ssrc, d.buf = ssrc, b
	}
	if !d.verified {
		d.scratch = append(d.scratch[:0], pkt...)
		plain, err := d.in.decrypt(d.scratch)
		if err != nil {
			// The library has the packet. One forged packet does not
			// turn the path off; keys that never authenticate do.
			if d.failures++; d.failures == directTrials {
				d.c.direct.CompareAndSwap(d, nil)
				d.l.log.Debug("media: SRTP keys did not authenticate, the library's path stays", slog.Any("err", err))
			}
			return false
		}
		d.verified = true
		d.l.log.Debug("media: own SRTP path", slog.String("profile", d.profile.String()))
		first := from
		d.out.dest.Store(&first)
		d.l.sendTrack().useDirect(d.out)
		d.c.m.directIn.Add(1)
		_, _ = d.buf.Write(plain)
		return true
	}
	plain, err := d.in.decrypt(pkt)
	if err != nil {
		// Replayed, or not from the browser: dropped, as by the library.
		return true
	}
	if dest := d.out.dest.Load(); *dest != from {
		// The browser moved to another candidate pair: its
		// authenticated packets say where it is.
		moved := from
		d.out.dest.Store(&moved)
	}
	d.c.m.directIn.Add(1)
	_, _ = d.buf.Write(plain)
	return true
}

// directOut is a browser leg's sending side: used under its outTrack's
// lock.
type directOut struct {
	enc  srtpOut
	m    *sockMux
	dest atomic.Pointer[netip.AddrPort]
	buf  []byte
}

// send encrypts the packet of hdr and payload, whose rollover counter is
// roc, and writes it.
func (o *directOut) send(hdr *rtp.Header, payload []byte, roc uint32) bool {
	enc, err := o.enc.encrypt(o.buf, hdr, payload, roc)
	if err != nil {
		return false
	}
	o.buf = enc[:0]
	if err = o.m.writeTo(enc, *o.dest.Load()); err != nil {
		return false
	}
	o.m.directOut.Add(1)
	return true
}

// directKeysHook, set by tests only, sees the keying material derived.
var directKeysHook func(material []byte)

// directTrials is how many received packets that do not authenticate turn
// a leg's own path off before one has.
const directTrials = 16

// srtpTrailerMax is the most SRTP adds to a packet (a 16-byte tag, an MKI
// the library never sends).
const srtpTrailerMax = 16
