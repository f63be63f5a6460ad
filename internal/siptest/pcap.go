package siptest

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"time"
)

// WriteTonePCAP writes a capture of RTP, as SIPp's play_pcap_audio replays
// it: Ethernet frames of IPv4 UDP packets, each an RTP packet of payload
// type 0 (PCMU) carrying 20 ms of a 1 kHz tone, for duration d.
func WriteTonePCAP(path string, d time.Duration) error {
	const (
		frame   = 20 * time.Millisecond
		samples = 160 // 20 ms at 8 kHz
		ssrc    = 0x5eed7011
		port    = 6000
	)
	be, le := binary.BigEndian, binary.LittleEndian
	var b bytes.Buffer
	// The file header: pcap 2.4, microseconds, Ethernet.
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xa1b2c3d4)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535)
	le.PutUint32(hdr[20:], 1)
	b.Write(hdr)
	loopback := []byte{127, 0, 0, 1}
	for i := 0; i < int(d/frame); i++ {
		const rtpLen = 12 + samples
		const udpLen = 8 + rtpLen
		const ipLen = 20 + udpLen
		pkt := make([]byte, 14+ipLen)
		be.PutUint16(pkt[12:], 0x0800) // IPv4
		ip := pkt[14 : 14+20]
		ip[0] = 0x45 // version 4, 20-byte header
		be.PutUint16(ip[2:], ipLen)
		ip[8], ip[9] = 64, 17 // TTL, UDP
		copy(ip[12:], loopback)
		copy(ip[16:], loopback)
		be.PutUint16(ip[10:], ipChecksum(ip))
		udp := pkt[34 : 34+8]
		be.PutUint16(udp[0:], port)
		be.PutUint16(udp[2:], port)
		be.PutUint16(udp[4:], udpLen) // no checksum: SIPp computes it
		rtp := pkt[42:]
		rtp[0] = 0x80 // version 2
		if i == 0 {
			rtp[1] = 0x80 // marker: the talkspurt begins; payload type 0
		}
		be.PutUint16(rtp[2:], uint16(i+1))
		be.PutUint32(rtp[4:], uint32(i*samples))
		be.PutUint32(rtp[8:], ssrc)
		for n := range samples {
			// 1 kHz at 8 kHz: a period is 8 samples.
			rtp[12+n] = EncodeULaw(int16(8000 * math.Sin(2*math.Pi*float64(n%8)/8)))
		}
		at := time.Duration(i) * frame
		rec := make([]byte, 16)
		le.PutUint32(rec[0:], uint32(at/time.Second))
		le.PutUint32(rec[4:], uint32(at%time.Second/time.Microsecond))
		le.PutUint32(rec[8:], uint32(len(pkt)))
		le.PutUint32(rec[12:], uint32(len(pkt)))
		b.Write(rec)
		b.Write(pkt)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// ipChecksum is the IPv4 header checksum of h (its checksum field zero).
func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
