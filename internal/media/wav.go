package media

import (
	"encoding/binary"
	"errors"
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
// sets when it finishes. Samples are written a second at a time.
type wavWriter struct {
	w        io.WriteSeeker
	channels int
	data     uint32 // bytes of samples written
	buf      []byte // samples not written yet
}

// wavBatch is how many bytes of samples a wavWriter gathers before it
// writes them: a second of the channels.
func (v *wavWriter) wavBatch() int { return g711ClockRate * 2 * v.channels }

func newWAVWriter(w io.WriteSeeker, channels int) (*wavWriter, error) {
	if _, err := w.Write(wavHeader(channels, g711ClockRate, 0)); err != nil {
		return nil, err
	}
	return &wavWriter{w: w, channels: channels}, nil
}

// write appends interleaved samples, and writes them once a second's
// worth is gathered.
func (v *wavWriter) write(samples []int16) error {
	for _, s := range samples {
		v.buf = binary.LittleEndian.AppendUint16(v.buf, uint16(s))
	}
	if len(v.buf) < v.wavBatch() {
		return nil
	}
	return v.flush()
}

// flush writes the samples gathered.
func (v *wavWriter) flush() error {
	n, err := v.w.Write(v.buf)
	// Only whole frames count, whatever a short write left behind.
	frame := 2 * v.channels
	v.data += uint32(n / frame * frame)
	v.buf = v.buf[:0]
	return err
}

// finish writes what is gathered, then the header again with the sizes of
// what was written.
func (v *wavWriter) finish() error {
	err := v.flush()
	if _, e := v.w.Seek(0, io.SeekStart); e != nil {
		return errors.Join(err, e)
	}
	_, e := v.w.Write(wavHeader(v.channels, g711ClockRate, v.data))
	return errors.Join(err, e)
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
