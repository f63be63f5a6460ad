package media

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
)

// SRTP for the direct path, done in place with no allocation (the
// library's context allocates its nonce and a replay closure per packet):
// AES-GCM (RFC 7714) and AES-CM with HMAC-SHA1 (RFC 3711). Other profiles
// use the library's context (srtpLibIn, srtpLibOut).

// srtpIn decrypts one direction's received RTP in place.
type srtpIn interface {
	// decrypt authenticates and decrypts pkt in place and returns the
	// plain packet (a prefix of pkt); a replayed or forged packet is an
	// error.
	decrypt(pkt []byte) ([]byte, error)
}

// srtpOut encrypts one direction's sent RTP.
type srtpOut interface {
	// encrypt writes the packet of hdr and payload, encrypted with
	// rollover counter roc, into buf (grown when short) and returns it.
	encrypt(buf []byte, hdr *rtp.Header, payload []byte, roc uint32) ([]byte, error)
}

var (
	errSRTPAuth   = errors.New("srtp: authentication failed")
	errSRTPReplay = errors.New("srtp: replayed or too old")
	errSRTPShort  = errors.New("srtp: packet too short")
)

// gcmTagLen is the AEAD profiles' authentication tag.
const gcmTagLen = 16

// gcmSRTP is the AEAD state of one direction.
type gcmSRTP struct {
	aead  cipher.AEAD
	salt  [12]byte
	nonce [12]byte // the packet's, kept here so that it does not escape
}

// newGCMSRTP derives the session key and salt (RFC 7714 §11: RFC 3711's
// key derivation, labels 0x00 and 0x02) of a master key and salt.
func newGCMSRTP(masterKey, masterSalt []byte) (*gcmSRTP, error) {
	if len(masterSalt) != 12 {
		return nil, fmt.Errorf("srtp: master salt of %d bytes, want 12", len(masterSalt))
	}
	prf, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, err
	}
	key := make([]byte, len(masterKey))
	var salt [12]byte
	kdf(prf, masterSalt, 0x00, key)
	kdf(prf, masterSalt, 0x02, salt[:])
	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &gcmSRTP{aead: aead, salt: salt}, nil
}

// setNonce makes the nonce of a packet (RFC 7714 §8.1): 00 00 | SSRC | ROC
// | SEQ, XOR the session salt.
func (g *gcmSRTP) setNonce(ssrc, roc uint32, seq uint16) {
	n := &g.nonce
	n[0], n[1] = 0, 0
	binary.BigEndian.PutUint32(n[2:], ssrc)
	binary.BigEndian.PutUint32(n[6:], roc)
	binary.BigEndian.PutUint16(n[10:], seq)
	for i := range n {
		n[i] ^= g.salt[i]
	}
}

// gcmIn is the receiving side: the AEAD state and each SSRC's rollover
// and replay state.
type gcmIn struct {
	g       *gcmSRTP
	streams map[uint32]*replayState
}

// gcmStreamsMax bounds the SSRCs a leg's receiving side keeps state for.
const gcmStreamsMax = 16

func newGCMIn(masterKey, masterSalt []byte) (*gcmIn, error) {
	g, err := newGCMSRTP(masterKey, masterSalt)
	if err != nil {
		return nil, err
	}
	return &gcmIn{g: g, streams: make(map[uint32]*replayState)}, nil
}

// newSRTP makes both sides of a profile done here; ok is false for a
// profile left to the library.
func newSRTP(profile srtp.ProtectionProfile, localKey, localSalt, remoteKey, remoteSalt []byte) (in srtpIn, out srtpOut, ok bool, err error) {
	switch profile {
	case srtp.ProtectionProfileAeadAes128Gcm, srtp.ProtectionProfileAeadAes256Gcm:
		g, err := newGCMIn(remoteKey, remoteSalt)
		if err != nil {
			return nil, nil, true, err
		}
		o, err := newGCMSRTP(localKey, localSalt)
		if err != nil {
			return nil, nil, true, err
		}
		return g, gcmOut{o}, true, nil
	case srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAes128CmHmacSha1_32:
		tagLen, err := profile.AuthTagRTPLen()
		if err != nil {
			return nil, nil, true, err
		}
		r, err := newCMSRTP(remoteKey, remoteSalt, tagLen)
		if err != nil {
			return nil, nil, true, err
		}
		o, err := newCMSRTP(localKey, localSalt, tagLen)
		if err != nil {
			return nil, nil, true, err
		}
		return &cmIn{c: r, streams: make(map[uint32]*replayState)}, cmOut{o}, true, nil
	}
	return nil, nil, false, nil
}

// rtpHeaderLen is the length of pkt's RTP header (CSRCs and extension
// included), or 0 when pkt is shorter than it says.
func rtpHeaderLen(pkt []byte) int {
	if len(pkt) < 12 {
		return 0
	}
	n := 12 + 4*int(pkt[0]&0x0F)
	if pkt[0]&0x10 != 0 {
		if len(pkt) < n+4 {
			return 0
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(pkt[n+2:]))
	}
	if n > len(pkt) {
		return 0
	}
	return n
}

// srtpHeader reads a received packet's header: its length, sequence number
// and SSRC, the SSRC's state (made on first sight, for at most
// gcmStreamsMax SSRCs) and the packet's index, refused when it was seen or
// is older than the replay window.
func srtpHeader(pkt []byte, tagLen int, streams map[uint32]*replayState) (n int, seq uint16, ssrc uint32, st *replayState, index uint64, err error) {
	n = rtpHeaderLen(pkt)
	if n == 0 || len(pkt) < n+tagLen {
		return 0, 0, 0, nil, 0, errSRTPShort
	}
	seq = binary.BigEndian.Uint16(pkt[2:])
	ssrc = binary.BigEndian.Uint32(pkt[8:])
	st = streams[ssrc]
	if st == nil {
		if len(streams) >= gcmStreamsMax {
			clear(streams)
		}
		st = &replayState{}
		streams[ssrc] = st
	}
	index, ok := st.check(seq)
	if !ok {
		return 0, 0, 0, nil, 0, errSRTPReplay
	}
	return n, seq, ssrc, st, index, nil
}

func (in *gcmIn) decrypt(pkt []byte) ([]byte, error) {
	n, seq, ssrc, st, index, err := srtpHeader(pkt, gcmTagLen, in.streams)
	if err != nil {
		return nil, err
	}
	in.g.setNonce(ssrc, uint32(index>>16), seq)
	plain, err := in.g.aead.Open(pkt[n:n], in.g.nonce[:], pkt[n:], pkt[:n])
	if err != nil {
		return nil, errSRTPAuth
	}
	st.accept(index)
	return pkt[:n+len(plain)], nil
}

// gcmOut is the sending side.
type gcmOut struct{ g *gcmSRTP }

// plainPacket writes the packet of hdr and payload into buf (grown when it
// cannot also hold trailer bytes more) and returns it and its header's
// length.
func plainPacket(buf []byte, hdr *rtp.Header, payload []byte, trailer int) ([]byte, int, error) {
	n := hdr.MarshalSize()
	if need := n + len(payload) + trailer; cap(buf) < need {
		buf = make([]byte, need)
	}
	buf = buf[:n+len(payload)]
	if _, err := hdr.MarshalTo(buf); err != nil {
		return nil, 0, err
	}
	copy(buf[n:], payload)
	return buf, n, nil
}

func (o gcmOut) encrypt(buf []byte, hdr *rtp.Header, payload []byte, roc uint32) ([]byte, error) {
	buf, n, err := plainPacket(buf, hdr, payload, gcmTagLen)
	if err != nil {
		return nil, err
	}
	o.g.setNonce(hdr.SSRC, roc, hdr.SequenceNumber)
	return o.g.aead.Seal(buf[:n], o.g.nonce[:], buf[n:], buf[:n]), nil
}

// replayState is a received stream's packet index estimate (RFC 3711
// Appendix A) and replay window (§3.3.2), 64 packets as the library's.
type replayState struct {
	started bool
	highest uint64 // the highest index accepted: ROC << 16 | SEQ
	window  uint64 // bit i: highest - i was accepted
}

// check estimates the index of seq and reports whether it may be
// accepted (not seen, not older than the window).
func (r *replayState) check(seq uint16) (uint64, bool) {
	if !r.started {
		return uint64(seq), true
	}
	roc, last := r.highest>>16, uint16(r.highest)
	v := roc
	switch {
	case last < 1<<15:
		if int(seq)-int(last) > 1<<15 {
			if roc == 0 {
				return 0, false // before the first packet's rollover period
			}
			v = roc - 1
		}
	case int(last)-(1<<15) > int(seq):
		v = roc + 1
	}
	index := v<<16 | uint64(seq)
	if index > r.highest {
		return index, true
	}
	d := r.highest - index
	return index, d < 64 && r.window&(1<<d) == 0
}

// accept records index as received (after authentication).
func (r *replayState) accept(index uint64) {
	if !r.started {
		r.started, r.highest, r.window = true, index, 1
		return
	}
	if index > r.highest {
		shift := index - r.highest
		if shift >= 64 {
			r.window = 0
		} else {
			r.window <<= shift
		}
		r.window |= 1
		r.highest = index
		return
	}
	r.window |= 1 << (r.highest - index)
}

// srtpLibIn and srtpLibOut are the library's context for the profiles
// done by it.
type srtpLibIn struct {
	ctx *srtp.Context
	hdr rtp.Header
}

func (in *srtpLibIn) decrypt(pkt []byte) ([]byte, error) {
	return in.ctx.DecryptRTP(pkt, pkt, &in.hdr)
}

type srtpLibOut struct {
	ctx    *srtp.Context
	rocSet bool
}

func (o *srtpLibOut) encrypt(buf []byte, hdr *rtp.Header, payload []byte, roc uint32) ([]byte, error) {
	if !o.rocSet {
		if roc > 0 {
			o.ctx.SetROC(hdr.SSRC, roc)
		}
		o.rocSet = true
	}
	plain, _, err := plainPacket(buf, hdr, payload, srtpTrailerMax)
	if err != nil {
		return nil, err
	}
	return o.ctx.EncryptRTP(plain, plain, hdr)
}

// SRTP with AES-CM and HMAC-SHA1 (RFC 3711), the profiles browsers pick
// most: AES128_CM_HMAC_SHA1_80 and _32, in place with no allocation.

// cmSRTP is the AES-CM state of one direction.
type cmSRTP struct {
	block  cipher.Block
	salt   [14]byte
	mac    hash.Hash
	tagLen int
	iv, ks [16]byte
	roc    [4]byte
	sum    [sha1.Size]byte
}

func newCMSRTP(masterKey, masterSalt []byte, tagLen int) (*cmSRTP, error) {
	if len(masterSalt) != 14 {
		return nil, fmt.Errorf("srtp: master salt of %d bytes, want 14", len(masterSalt))
	}
	prf, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, err
	}
	key, auth := make([]byte, len(masterKey)), make([]byte, 20)
	var salt [14]byte
	kdf(prf, masterSalt, 0x00, key)
	kdf(prf, masterSalt, 0x01, auth)
	kdf(prf, masterSalt, 0x02, salt[:])
	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	c := &cmSRTP{block: block, salt: salt, mac: hmac.New(sha1.New, auth), tagLen: tagLen}
	clear(auth)
	return c, nil
}

// kdf is RFC 3711's key derivation (§4.3) at key derivation rate 0: the
// AES-CM keystream of the master key at IV (master salt XOR label at
// byte 7) · 2^16.
func kdf(prf cipher.Block, masterSalt []byte, label byte, out []byte) {
	var iv, ks [16]byte
	copy(iv[:], masterSalt)
	iv[7] ^= label
	for i := 0; i*16 < len(out); i++ {
		binary.BigEndian.PutUint16(iv[14:], uint16(i))
		prf.Encrypt(ks[:], iv[:])
		copy(out[i*16:], ks[:])
	}
}

// xorKeystream en- or decrypts data, the payload of packet index of ssrc
// (§4.1.1: IV = salt · 2^16 XOR SSRC · 2^64 XOR index · 2^16).
func (c *cmSRTP) xorKeystream(data []byte, ssrc uint32, index uint64) {
	iv := &c.iv
	copy(iv[:14], c.salt[:])
	iv[14], iv[15] = 0, 0
	iv[4] ^= byte(ssrc >> 24)
	iv[5] ^= byte(ssrc >> 16)
	iv[6] ^= byte(ssrc >> 8)
	iv[7] ^= byte(ssrc)
	for i := range 6 {
		iv[8+i] ^= byte(index >> (40 - 8*i))
	}
	for off, ctr := 0, uint16(0); off < len(data); off, ctr = off+16, ctr+1 {
		binary.BigEndian.PutUint16(iv[14:], ctr)
		c.block.Encrypt(c.ks[:], iv[:])
		subtle.XORBytes(data[off:], data[off:], c.ks[:])
	}
}

// tag is the authentication tag of an SRTP packet's authenticated portion
// with rollover counter roc (§4.2), truncated to tagLen.
func (c *cmSRTP) tag(portion []byte, roc uint32) []byte {
	c.mac.Reset()
	c.mac.Write(portion)
	binary.BigEndian.PutUint32(c.roc[:], roc)
	c.mac.Write(c.roc[:])
	return c.mac.Sum(c.sum[:0])[:c.tagLen]
}

// cmIn is the receiving side.
type cmIn struct {
	c       *cmSRTP
	streams map[uint32]*replayState
}

func (in *cmIn) decrypt(pkt []byte) ([]byte, error) {
	n, _, ssrc, st, index, err := srtpHeader(pkt, in.c.tagLen, in.streams)
	if err != nil {
		return nil, err
	}
	end := len(pkt) - in.c.tagLen
	if !hmac.Equal(in.c.tag(pkt[:end], uint32(index>>16)), pkt[end:]) {
		return nil, errSRTPAuth
	}
	in.c.xorKeystream(pkt[n:end], ssrc, index)
	st.accept(index)
	return pkt[:end], nil
}

// cmOut is the sending side.
type cmOut struct{ c *cmSRTP }

func (o cmOut) encrypt(buf []byte, hdr *rtp.Header, payload []byte, roc uint32) ([]byte, error) {
	buf, n, err := plainPacket(buf, hdr, payload, o.c.tagLen)
	if err != nil {
		return nil, err
	}
	o.c.xorKeystream(buf[n:], hdr.SSRC, uint64(roc)<<16|uint64(hdr.SequenceNumber))
	return append(buf, o.c.tag(buf, roc)...), nil
}
