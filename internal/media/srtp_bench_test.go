package media

import (
	"encoding/binary"
	"testing"

	"github.com/pion/dtls/v2"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
	"github.com/pion/webrtc/v3"
)

// Per-packet costs the gateway pays in the library for every forwarded
// packet, one piece at a time, to find what to change: the SRTP profile,
// the interceptors, and the whole leg with each SRTP profile. Sizes are those
// of a 20 ms Opus frame at ~32 kbit/s (80 bytes) behind a 12-byte header.

var benchProfiles = []struct {
	name string
	srtp srtp.ProtectionProfile
	dtls dtls.SRTPProtectionProfile
}{
	{"aes128cm-sha1-80", srtp.ProtectionProfileAes128CmHmacSha1_80, dtls.SRTP_AES128_CM_HMAC_SHA1_80},
	{"aes128gcm", srtp.ProtectionProfileAeadAes128Gcm, dtls.SRTP_AEAD_AES_128_GCM},
	{"aes256gcm", srtp.ProtectionProfileAeadAes256Gcm, dtls.SRTP_AEAD_AES_256_GCM},
}

func srtpContext(b *testing.B, p srtp.ProtectionProfile) *srtp.Context {
	b.Helper()
	keyLen, err := p.KeyLen()
	if err != nil {
		b.Fatal(err)
	}
	saltLen, err := p.SaltLen()
	if err != nil {
		b.Fatal(err)
	}
	key, salt := make([]byte, keyLen), make([]byte, saltLen)
	for i := range key {
		key[i] = byte(i)
	}
	c, err := srtp.CreateContext(key, salt, p)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkSRTP is one packet's protection and unprotection under each
// profile the gateway may negotiate: every forwarded packet is decrypted
// once and encrypted once.
func BenchmarkSRTP(b *testing.B) {
	for _, p := range benchProfiles {
		b.Run("encrypt/"+p.name, func(b *testing.B) {
			c := srtpContext(b, p.srtp)
			hdr := rtp.Header{Version: 2, PayloadType: 111, SSRC: 42}
			plain := packet(b, 111, 0, 0, 42, make([]byte, 80))
			dst := make([]byte, 0, rtpBufferSize)
			b.ReportAllocs()
			b.SetBytes(int64(len(plain)))
			for i := range b.N {
				binary.BigEndian.PutUint16(plain[2:], uint16(i))
				hdr.SequenceNumber = uint16(i)
				var err error
				if dst, err = c.EncryptRTP(dst[:0], plain, &hdr); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("decrypt/"+p.name, func(b *testing.B) {
			enc, dec := srtpContext(b, p.srtp), srtpContext(b, p.srtp)
			const n = 1 << 12 // distinct packets: the replay check refuses repeats
			pkts := make([][]byte, n)
			for i := range pkts {
				plain := packet(b, 111, uint16(i), uint32(i)*960, 42, make([]byte, 80))
				out, err := enc.EncryptRTP(nil, plain, nil)
				if err != nil {
					b.Fatal(err)
				}
				pkts[i] = out
			}
			dst := make([]byte, 0, rtpBufferSize)
			hdr := &rtp.Header{}
			b.ReportAllocs()
			b.SetBytes(int64(len(pkts[0])))
			for i := range b.N {
				if i > 0 && i%n == 0 {
					b.StopTimer()
					dec = srtpContext(b, p.srtp)
					b.StartTimer()
				}
				var err error
				if dst, err = dec.DecryptRTP(dst[:0], pkts[i%n], hdr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// interceptorChains are the interceptor sets compared: none, the RTCP
// reports the gateway configures, and what a general-purpose stack adds
// (NACK responder and generator with their buffers, transport-wide
// congestion control header extension and feedback).
var interceptorChains = []struct {
	name      string
	configure func(*webrtc.MediaEngine, *interceptor.Registry) error
}{
	{"none", func(*webrtc.MediaEngine, *interceptor.Registry) error { return nil }},
	{"reports", func(_ *webrtc.MediaEngine, ir *interceptor.Registry) error { return webrtc.ConfigureRTCPReports(ir) }},
	{"reports+nack", func(me *webrtc.MediaEngine, ir *interceptor.Registry) error {
		if err := webrtc.ConfigureRTCPReports(ir); err != nil {
			return err
		}
		return webrtc.ConfigureNack(me, ir)
	}},
	{"reports+twcc", func(me *webrtc.MediaEngine, ir *interceptor.Registry) error {
		if err := webrtc.ConfigureRTCPReports(ir); err != nil {
			return err
		}
		if err := webrtc.ConfigureTWCCHeaderExtensionSender(me, ir); err != nil {
			return err
		}
		return webrtc.ConfigureTWCCSender(me, ir)
	}},
	{"reports+nack+twcc", func(me *webrtc.MediaEngine, ir *interceptor.Registry) error {
		if err := webrtc.ConfigureRTCPReports(ir); err != nil {
			return err
		}
		if err := webrtc.ConfigureNack(me, ir); err != nil {
			return err
		}
		if err := webrtc.ConfigureTWCCHeaderExtensionSender(me, ir); err != nil {
			return err
		}
		return webrtc.ConfigureTWCCSender(me, ir)
	}},
}

const twccURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

func benchStreamInfo() *interceptor.StreamInfo {
	return &interceptor.StreamInfo{
		SSRC: 42, ClockRate: 48000, MimeType: webrtc.MimeTypeOpus, PayloadType: 111,
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: twccURI, ID: 5}},
		RTCPFeedback:        []interceptor.RTCPFeedback{{Type: "nack"}, {Type: "transport-cc"}},
	}
}

// nopRTPWriter is the end of an interceptor chain: the SRTP stream.
type nopRTPWriter struct{}

func (nopRTPWriter) Write(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
	return len(payload), nil
}

// buildChain builds an interceptor chain as configure sets it up, bound to
// an RTCP writer that drops what it is given: feedback generators run once
// they can write RTCP, as on a leg. It is closed when b ends.
func buildChain(b *testing.B, configure func(*webrtc.MediaEngine, *interceptor.Registry) error) interceptor.Interceptor {
	me, ir := &webrtc.MediaEngine{}, &interceptor.Registry{}
	if err := configure(me, ir); err != nil {
		b.Fatal(err)
	}
	ic, err := ir.Build("bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ic.Close() })
	ic.BindRTCPWriter(interceptor.RTCPWriterFunc(func([]rtcp.Packet, interceptor.Attributes) (int, error) { return 0, nil }))
	return ic
}

// BenchmarkInterceptorWrite is the cost per sent packet of each
// interceptor chain.
func BenchmarkInterceptorWrite(b *testing.B) {
	for _, tc := range interceptorChains {
		b.Run(tc.name, func(b *testing.B) {
			ic := buildChain(b, tc.configure)
			w := ic.BindLocalStream(benchStreamInfo(), nopRTPWriter{})
			hdr := &rtp.Header{Version: 2, PayloadType: 111, SSRC: 42}
			payload := make([]byte, 80)
			attrs := interceptor.Attributes{}
			b.ReportAllocs()
			for i := range b.N {
				hdr.SequenceNumber = uint16(i)
				hdr.Timestamp = uint32(i) * 960
				hdr.Extensions = hdr.Extensions[:0]
				hdr.Extension = false
				if _, err := w.Write(hdr, payload, attrs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkForwardThroughLegSRTP is BenchmarkForwardThroughLeg with each
// SRTP profile forced on the gateway's side (the gateway answers as the
// DTLS client, and the offerer picks the first of the client's profiles that
// it supports): the profile's share of the whole send path.
func BenchmarkForwardThroughLegSRTP(b *testing.B) {
	for _, p := range benchProfiles {
		b.Run(p.name, func(b *testing.B) {
			g := newTestGateway(b, Config{})
			g.settings.SetSRTPProtectionProfiles(p.dtls)
			forwardThroughLeg(b, g)
		})
	}
}

// BenchmarkInterceptorRead is the cost per received packet of each
// interceptor chain; the packets carry a transport-wide sequence number, as
// a browser's do when TWCC is negotiated.
func BenchmarkInterceptorRead(b *testing.B) {
	for _, tc := range interceptorChains {
		b.Run(tc.name, func(b *testing.B) {
			ic := buildChain(b, tc.configure)
			hdr := rtp.Header{Version: 2, PayloadType: 111, SSRC: 42}
			if err := hdr.SetExtension(5, []byte{0, 0}); err != nil {
				b.Fatal(err)
			}
			raw, err := (&rtp.Packet{Header: hdr, Payload: make([]byte, 80)}).Marshal()
			if err != nil {
				b.Fatal(err)
			}
			extAt := len(raw) - 80 - 4 // the 2-byte sequence and its padding
			var seq uint16
			src := interceptor.RTPReaderFunc(func(buf []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
				seq++
				binary.BigEndian.PutUint16(raw[2:], seq)
				binary.BigEndian.PutUint32(raw[4:], uint32(seq)*960)
				binary.BigEndian.PutUint16(raw[extAt+1:], seq)
				return copy(buf, raw), a, nil
			})
			r := ic.BindRemoteStream(benchStreamInfo(), src)
			buf := make([]byte, rtpBufferSize)
			b.ReportAllocs()
			for range b.N {
				if _, _, err := r.Read(buf, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
