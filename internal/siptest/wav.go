package siptest

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
)

// SampleRate is the rate of G.711 and of the WAV files WriteWAV writes:
// baresip's aufile wants the codec's rate.
const SampleRate = 8000

// WriteWAV writes samples to path as a WAV file, 8 kHz mono 16-bit PCM.
func WriteWAV(t testing.TB, path string, samples []int16) {
	t.Helper()
	n := uint32(2 * len(samples))
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, 36+n)
	b.WriteString("WAVEfmt ")
	// The format chunk: PCM, one channel, the rate, bytes a second, bytes
	// a frame, bits a sample.
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(SampleRate), uint32(2 * SampleRate), uint16(2), uint16(16)} {
		binary.Write(&b, le, v)
	}
	b.WriteString("data")
	binary.Write(&b, le, n)
	binary.Write(&b, le, samples)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
