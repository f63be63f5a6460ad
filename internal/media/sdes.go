package media

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/srtp/v2"
)

// SDES keying for SRTP toward carriers (RFC 4568): each side sends the key it
// encrypts with in an a=crypto line of its SDP. Only the SIP signalling's
// own protection (TLS) keeps those keys secret.

// sdesSuite is a crypto suite the gateway speaks (RFC 4568 §6.2).
type sdesSuite struct {
	name    string
	profile srtp.ProtectionProfile
}

// sdesSuites are those accepted in a carrier's offer, in the order the
// gateway prefers; the first is the one it offers.
var sdesSuites = []sdesSuite{
	{"AES_CM_128_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80},
	{"AES_CM_128_HMAC_SHA1_32", srtp.ProtectionProfileAes128CmHmacSha1_32},
}

// srtpMaxOverhead bounds what SRTP adds to an RTP packet: the 80-bit tag.
const srtpMaxOverhead = 10

// sdesKeyLen is the length of a suite's master key and salt together: 16
// and 14 bytes for both suites.
const sdesKeyLen = 30

// sdesCrypto is one a=crypto line the gateway can use.
type sdesCrypto struct {
	tag   int
	suite sdesSuite
	key   []byte // master key then master salt
}

// parseCrypto reads the value of an a=crypto attribute: "tag suite
// inline:key[|lifetime]" (RFC 4568 §9.1). It refuses, by returning false, a
// suite the gateway does not speak, several keys, a master key identifier
// (MKI) and any session parameter (KDR, UNENCRYPTED_SRTP, ...), whose
// meaning it would not honour.
func parseCrypto(value string) (sdesCrypto, bool) {
	fields := strings.Fields(value)
	if len(fields) != 3 {
		return sdesCrypto{}, false
	}
	tag, err := strconv.Atoi(fields[0])
	if err != nil || tag < 0 || tag > 999999999 {
		return sdesCrypto{}, false
	}
	var suite sdesSuite
	for _, s := range sdesSuites {
		if s.name == fields[1] {
			suite = s
		}
	}
	if suite.name == "" {
		return sdesCrypto{}, false
	}
	inline, ok := strings.CutPrefix(fields[2], "inline:")
	if !ok || strings.Contains(inline, ";") {
		return sdesCrypto{}, false
	}
	parts := strings.Split(inline, "|")
	if len(parts) > 2 || (len(parts) == 2 && strings.Contains(parts[1], ":")) {
		return sdesCrypto{}, false // an MKI, with or without a lifetime
	}
	key, err := base64.StdEncoding.DecodeString(parts[0])
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(parts[0])
	}
	if err != nil || len(key) != sdesKeyLen {
		return sdesCrypto{}, false
	}
	return sdesCrypto{tag: tag, suite: suite, key: key}, true
}

// attribute is the value of the a=crypto line for c.
func (c sdesCrypto) attribute() string {
	return fmt.Sprintf("%d %s inline:%s", c.tag, c.suite.name, base64.StdEncoding.EncodeToString(c.key))
}

// newSDESKey draws a master key and salt.
func newSDESKey() ([]byte, error) {
	key := make([]byte, sdesKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("srtp key: %w", err)
	}
	return key, nil
}

// srtpPair is the SRTP and SRTCP contexts of one direction under one key:
// a context is used by one goroutine at a time, and RTP and RTCP are
// handled by different ones.
type srtpPair struct {
	suite     sdesSuite
	key       []byte
	rtp, rtcp *srtp.Context
}

// newSRTPPair derives the contexts of key. Decrypting contexts refuse
// replayed packets (RFC 3711 §3.3.2).
func newSRTPPair(suite sdesSuite, key []byte, decrypt bool) (*srtpPair, error) {
	if len(key) != sdesKeyLen {
		return nil, fmt.Errorf("srtp key of %d bytes", len(key))
	}
	master, salt := key[:16], key[16:]
	var rtpOpts, rtcpOpts []srtp.ContextOption
	if decrypt {
		rtpOpts = append(rtpOpts, srtp.SRTPReplayProtection(srtpReplayWindow))
		rtcpOpts = append(rtcpOpts, srtp.SRTCPReplayProtection(srtpReplayWindow))
	}
	r, err := srtp.CreateContext(master, salt, suite.profile, rtpOpts...)
	if err != nil {
		return nil, fmt.Errorf("srtp context: %w", err)
	}
	c, err := srtp.CreateContext(master, salt, suite.profile, rtcpOpts...)
	if err != nil {
		return nil, fmt.Errorf("srtcp context: %w", err)
	}
	return &srtpPair{suite: suite, key: key, rtp: r, rtcp: c}, nil
}

// srtpReplayWindow is how many packets back a decrypting context remembers.
const srtpReplayWindow = 128

// same reports whether p was made for suite and key.
func (p *srtpPair) same(suite sdesSuite, key []byte) bool {
	return p != nil && p.suite == suite && bytes.Equal(p.key, key)
}
