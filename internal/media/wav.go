package media

import (
	"encoding/binary"
	"io"
)

// WAV (RIFF, 16-bit PCM) for recordings of G.711 legs, and G.711 decoding.

const wavHeaderSize = 44

// wavHeader is the header of a 16-bit PCM file of channels at rate whose
// sample data is dataBytes long.
func wavHeader(channels, rate int, dataBytes uint32) []byte {
	b := make([]byte, 0, wavHeaderSize)
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, 36+dataBytes)
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 1) // PCM
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*channels*2))
	b = binary.LittleEndian.AppendUint16(b, uint16(channels*2))
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	return binary.LittleEndian.AppendUint32(b, dataBytes)
}

// wavWriter writes interleaved 16-bit frames after a header whose sizes it
// sets when it finishes.
type wavWriter struct {
	w        io.WriteSeeker
	channels int
	data     uint32 // bytes of samples written
	buf      []byte
}

func newWAVWriter(w io.WriteSeeker, channels int) (*wavWriter, error) {
	if _, err := w.Write(wavHeader(channels, g711ClockRate, 0)); err != nil {
		return nil, err
	}
	return &wavWriter{w: w, channels: channels}, nil
}

// write appends interleaved samples.
func (v *wavWriter) write(samples []int16) error {
	b := v.buf[:0]
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	v.buf = b
	n, err := v.w.Write(b)
	// Only whole frames count, whatever a short write left behind.
	frame := 2 * v.channels
	v.data += uint32(n / frame * frame)
	return err
}

// finish writes the header again with the sizes of what was written.
func (v *wavWriter) finish() error {
	if _, err := v.w.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := v.w.Write(wavHeader(v.channels, g711ClockRate, v.data))
	return err
}

// ulawPCM and alawPCM map G.711 codes to linear 16-bit samples.
var ulawPCM, alawPCM = func() (u, a [256]int16) {
	for i := range 256 {
		c := ^byte(i)
		t := (int(c&0x0F)<<3 + 0x84) << ((c & 0x70) >> 4)
		if c&0x80 != 0 {
			u[i] = int16(0x84 - t)
		} else {
			u[i] = int16(t - 0x84)
		}

		c = byte(i) ^ 0x55
		seg := int(c&0x70) >> 4
		v := int(c&0x0F) << 4
		switch seg {
		case 0:
			v += 8
		case 1:
			v += 0x108
		default:
			v = (v + 0x108) << (seg - 1)
		}
		if c&0x80 != 0 {
			a[i] = int16(v)
		} else {
			a[i] = int16(-v)
		}
	}
	return u, a
}()
