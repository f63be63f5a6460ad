package media

import (
	"math"
	"time"

	"github.com/pion/webrtc/v3"
)

const (
	toneHz        = 440
	toneRate      = 8000                  // PCMU sample rate
	toneFrame     = 20 * time.Millisecond // one packet
	toneFrameSize = toneRate * 20 / 1000  // 160 samples
	tonePeriod    = toneRate / 40         // 200 samples = 11 whole cycles of 440 Hz (gcd 8000, 440 = 40)
	toneAmplitude = 0.3 * math.MaxInt16   // about -10 dBFS
)

// toneTable is one seamless loop of the tone, μ-law encoded.
func toneTable() []byte {
	t := make([]byte, tonePeriod)
	for i := range t {
		v := toneAmplitude * math.Sin(2*math.Pi*toneHz*float64(i)/toneRate)
		t[i] = ulaw(int16(math.Round(v)))
	}
	return t
}

// ulaw encodes one linear 16-bit sample as G.711 μ-law.
func ulaw(sample int16) byte {
	const (
		bias = 0x84
		clip = 32635
	)
	v := int(sample)
	sign := 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mantissa := (v >> (exp + 3)) & 0x0F
	return ^byte(sign | exp<<4 | mantissa)
}

// alaw encodes one linear 16-bit sample as G.711 A-law (ITU-T G.711 §A):
// the top 13 bits, a segment number and four bits of mantissa, even bits
// inverted.
func alaw(sample int16) byte {
	v := int(sample) >> 3 // 13-bit
	sign := 0x80
	if v < 0 {
		v, sign = -v-1, 0
	}
	// Segment 0 and 1 share a step of 2; each later one doubles it.
	seg := 0
	for limit := 0x1F; v > limit && seg < 8; limit = limit<<1 | 1 {
		seg++
	}
	var code int
	switch {
	case seg >= 8:
		code = 0x7F
	case seg < 2:
		code = seg<<4 | (v>>1)&0x0F
	default:
		code = seg<<4 | (v>>seg)&0x0F
	}
	return byte(sign|code) ^ 0x55
}

// playTone sends the tone in 20 ms frames while the leg is open and
// connected.
func (l *leg) playTone() {
	table := toneTable()
	frame := make([]byte, toneFrameSize)
	pos := 0
	ticker := time.NewTicker(toneFrame)
	defer ticker.Stop()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-ticker.C:
		}
		if l.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
			continue
		}
		for i := range frame {
			frame[i] = table[pos]
			pos = (pos + 1) % len(table)
		}
		if !l.tone.writeFrame(classPCMU, frame, toneFrameSize) {
			continue
		}
		l.packetsSent.Add(1)
		l.bytesSent.Add(uint64(len(frame)))
	}
}
