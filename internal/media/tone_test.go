package media

import (
	"math"
	"testing"
)

// ulawDecode is the G.711 μ-law decoder, to check the encoder against.
func ulawDecode(u byte) int {
	u = ^u
	sign := u & 0x80
	exp := int(u>>4) & 0x07
	mantissa := int(u & 0x0F)
	v := ((mantissa << 3) + 0x84) << exp
	v -= 0x84
	if sign != 0 {
		return -v
	}
	return v
}

func TestULawKnownValues(t *testing.T) {
	for _, tc := range []struct {
		in   int16
		want byte
	}{
		{0, 0xFF}, {-1, 0x7F}, {math.MaxInt16, 0x80}, {math.MinInt16, 0x00}, {1000, 0xCE}, {-1000, 0x4E},
	} {
		if got := ulaw(tc.in); got != tc.want {
			t.Errorf("ulaw(%d) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

func TestULawRoundTrip(t *testing.T) {
	for s := math.MinInt16; s <= math.MaxInt16; s += 7 {
		got := ulawDecode(ulaw(int16(s)))
		tolerance := max(8, abs(s)/16+8) // one quantisation step of the segment
		if abs(got-s) > tolerance && abs(s) < 32635 {
			t.Fatalf("ulaw round trip of %d gave %d", s, got)
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestToneTableIs440Hz(t *testing.T) {
	table := toneTable()
	if len(table) != tonePeriod {
		t.Fatalf("table of %d samples", len(table))
	}
	// Count rising zero crossings over the loop: 11 cycles in 200 samples
	// is 440 Hz at 8 kHz.
	crossings := 0
	for i := range table {
		prev, cur := ulawDecode(table[(i+len(table)-1)%len(table)]), ulawDecode(table[i])
		if prev < 0 && cur >= 0 {
			crossings++
		}
	}
	if crossings != 11 {
		t.Fatalf("%d cycles per loop, want 11", crossings)
	}
}

// alawDecode is the G.711 A-law decoder, to check the encoder against.
func alawDecode(a byte) int {
	a ^= 0x55
	v := int(a&0x0F)<<4 | 8
	switch seg := int(a>>4) & 0x07; seg {
	case 0:
	case 1:
		v += 0x100
	default:
		v = (v + 0x100) << (seg - 1)
	}
	if a&0x80 != 0 {
		return v
	}
	return -v
}

func TestALawKnownValues(t *testing.T) {
	for _, tc := range []struct {
		in   int16
		want byte
	}{
		{0, 0xD5}, {-1, 0x55}, {-16, 0x55}, {-17, 0x54}, {math.MaxInt16, 0xAA}, {math.MinInt16, 0x2A}, {1000, 0xFA}, {-1000, 0x7A},
	} {
		if got := alaw(tc.in); got != tc.want {
			t.Errorf("alaw(%d) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

func TestALawRoundTrip(t *testing.T) {
	for s := math.MinInt16; s <= math.MaxInt16; s += 7 {
		got := alawDecode(alaw(int16(s)))
		tolerance := max(16, abs(s)/16+16) // one quantisation step of the segment
		if abs(got-s) > tolerance {
			t.Fatalf("alaw round trip of %d gave %d", s, got)
		}
	}
}
